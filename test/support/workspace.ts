import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { PROJECT_ROOT } from './cli.js'

/** A throwaway working directory for one test: config files, inputs, evidence. */
export class Workspace {
  readonly dir: string

  constructor(prefix = 'cavra-test-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix))
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts)
  }

  write(name: string, content: string | Buffer | object): string {
    const path = this.path(name)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(
      path,
      typeof content === 'string' || Buffer.isBuffer(content) ? content : JSON.stringify(content, null, 2),
    )
    return path
  }

  /** Copies a file shipped in the project (examples/…) into the workspace. */
  copy(projectRelative: string, name = projectRelative.split('/').pop()!): string {
    const path = this.path(name)
    mkdirSync(dirname(path), { recursive: true })
    copyFileSync(join(PROJECT_ROOT, projectRelative), path)
    return path
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}

export const SIEM_EVENT = 'examples/events/siem-event.json'
