import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { expect } from 'vitest'
import { leakedCanaries } from './canaries.js'

/** Runs the built CLI (`bin/run.js` over `dist/`) as a subprocess, the way users run it. */

export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..')
export const BIN = join(PROJECT_ROOT, 'bin', 'run.js')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

export interface CliOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  input?: string | Buffer
  /** Executable to run instead of `node bin/run.js` (the single binary). */
  executable?: string
  timeoutMs?: number
}

export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const command = options.executable ?? process.execPath
  const argv = options.executable ? args : [BIN, ...args]
  const child = spawn(command, argv, {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: Object.fromEntries(
      Object.entries({
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NO_COLOR: '1',
        ...options.env,
      }).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  child.stdout.on('data', (chunk) => stdout.push(chunk))
  child.stderr.on('data', (chunk) => stderr.push(chunk))
  child.stdin.end(options.input ?? '')
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
  const code = await new Promise<number>((resolveCode) =>
    child.on('close', (exit) => resolveCode(exit ?? -1)),
  )
  clearTimeout(timer)
  const result = {
    code,
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: Buffer.concat(stderr).toString('utf8'),
  }
  // Every run of the CLI in the test suite is scanned for the planted secrets.
  expect(leakedCanaries(result.stdout), `secret leaked on stdout of cavra ${args.join(' ')}`).toEqual([])
  expect(leakedCanaries(result.stderr), `secret leaked on stderr of cavra ${args.join(' ')}`).toEqual([])
  return result
}

/** Every file under `dir`, for scanning evidence and metadata for leaks. */
export function filesUnder(dir: string): string[] {
  const found: string[] = []
  const walk = (current: string) => {
    let names: string[]
    try {
      names = readdirSync(current)
    } catch {
      return
    }
    for (const name of names) {
      const path = join(current, name)
      if (statSync(path).isDirectory()) walk(path)
      else found.push(path)
    }
  }
  walk(dir)
  return found
}

/** Asserts that no file under `dir` holds a planted secret. */
export function expectNoLeaksUnder(dir: string): void {
  for (const file of filesUnder(dir)) {
    expect(leakedCanaries(readFileSync(file, 'utf8')), `secret leaked into ${file}`).toEqual([])
  }
}
