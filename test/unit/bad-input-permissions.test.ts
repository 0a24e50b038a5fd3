import { execFileSync } from 'node:child_process'
import { chmodSync, cpSync, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../support/cli.js'
import { Workspace } from '../support/workspace.js'

/**
 * Unreadable inputs (EACCES) end as input errors saying "permission denied". The suite runs as
 * root, which ignores file modes, so the reading runs in a child process as an unprivileged
 * user (setpriv, else runuser); as any other user the child simply runs as that user.
 */

const NOBODY = 65534

/** The command prefix that runs a program as an unprivileged user, or why there is none. */
function unprivileged(): string[] | string {
  if (process.getuid?.() !== 0) return []
  for (const [tool, prefix] of [
    ['setpriv', ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups']],
    ['runuser', ['runuser', '-u', 'nobody', '--']],
  ] as const) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' })
      return [...prefix]
    } catch {}
  }
  return 'running as root and neither setpriv nor runuser is installed, so no unprivileged user can be used'
}

const prefix = unprivileged()
const TSX = join(PROJECT_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs')

/** Reads `path` through the real sources as the unprivileged user; returns the error it ends with. */
const SCRIPT = `
import { openArtifact } from ${JSON.stringify(`${PROJECT_ROOT}/src/events/artifact.js`)}
import { buildPublication, readExportManifest } from ${JSON.stringify(`${PROJECT_ROOT}/src/events/endpoint-export.js`)}
const [mode, path] = process.argv.slice(2)
try {
  const artifact = await openArtifact(path)
  if (mode === 'export') await buildPublication(artifact, await readExportManifest(artifact), ['jamf'])
  console.log(JSON.stringify({ ok: true }))
} catch (error) {
  console.log(JSON.stringify({ name: error.name, message: error.message, actions: error.actions }))
}
`

const workspaces: Workspace[] = []
afterEach(() => {
  for (const ws of workspaces.splice(0)) ws.remove()
})

function workspace(): Workspace {
  const ws = new Workspace('cavra-bad-input-perm-')
  workspaces.push(ws)
  // The unprivileged user must reach the workspace, its files and the script.
  chmodSync(ws.dir, 0o755)
  ws.write('read.mts', SCRIPT)
  return ws
}

function readAsNobody(
  ws: Workspace,
  mode: 'artifact' | 'export',
  path: string,
): { name?: string; message?: string; ok?: boolean } {
  const command = [...(prefix as string[]), process.execPath, TSX, ws.path('read.mts'), mode, path]
  const output = execFileSync(command[0]!, command.slice(1), {
    cwd: ws.dir,
    env: { PATH: process.env.PATH, HOME: ws.dir },
    encoding: 'utf8',
  })
  return JSON.parse(output.trim().split('\n').at(-1)!)
}

describe.skipIf(typeof prefix === 'string')('unreadable files (EACCES)', () => {
  it('an artifact the user may not read ends as "permission denied", exit 4', () => {
    const ws = workspace()
    const path = ws.write('locked.json', readFileSync(`${PROJECT_ROOT}/examples/events/siem-event.json`))
    chmodSync(path, 0o000)
    expect(readAsNobody(ws, 'artifact', path)).toMatchObject({
      name: 'InputError',
      message: `${path}: cannot read the file (permission denied).`,
      actions: [expect.stringMatching(/readable by the user running cavra/)],
    })
  })

  it('an unreadable provider file or checksums.txt of an export ends the same way', () => {
    const ws = workspace()
    const folder = ws.path('export')
    cpSync(`${PROJECT_ROOT}/examples/endpoint-export/stable`, folder, { recursive: true })
    const manifest = join(folder, 'endpoint-management-export-manifest.json')
    expect(readAsNobody(ws, 'export', manifest)).toEqual({ ok: true })
    chmodSync(join(folder, 'jamf-policy.json'), 0o000)
    expect(readAsNobody(ws, 'export', manifest)).toMatchObject({
      name: 'InputError',
      message: `${manifest}: cannot read jamf-policy.json in the export folder (permission denied).`,
    })
    chmodSync(join(folder, 'checksums.txt'), 0o000)
    expect(readAsNobody(ws, 'export', manifest)).toMatchObject({
      name: 'InputError',
      message: `${manifest}: cannot read checksums.txt in the export folder (permission denied).`,
    })
  })
})

it('says why the permission tests are skipped, when they are', () => {
  if (typeof prefix === 'string') console.warn(`bad-input-permissions: skipped: ${prefix}`)
  expect(typeof prefix === 'string' || existsSync(TSX)).toBe(true)
})
