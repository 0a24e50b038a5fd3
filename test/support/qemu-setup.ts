import { spawnSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import type { TestProject } from 'vitest/node'

/**
 * test/e2e/binaries.test.ts runs the linux-arm64 executable under qemu-user. This makes sure
 * the emulator and the arm64 libraries are installed (scripts/ensure-qemu.sh installs the
 * Debian packages when missing) before the tests start, so the install, which can take a
 * minute on a fresh machine, is not counted against a test's timeout.
 *
 * A run whose file filters leave that test out (`vitest run test/unit`) installs nothing.
 * Setup never fails the run: the outcome is handed to the test, which fails with the reason.
 */

export type QemuSetup = { emulator: string; sysroot: string } | { error: string } | { skipped: true }

declare module 'vitest' {
  export interface ProvidedContext {
    qemu: QemuSetup
  }
}

const root = join(import.meta.dirname, '..', '..')
const TEST_FILE = 'test/e2e/binaries.test.ts'

export default function setup(project: TestProject): void {
  project.provide('qemu', runsBinariesTest(process.argv) ? ensureQemu() : { skipped: true })
}

export function ensureQemu(): QemuSetup {
  const result = spawnSync('bash', [join(root, 'scripts', 'ensure-qemu.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const emulator = result.stdout.trim().split('\n').pop() ?? ''
  if (result.status !== 0 || emulator === '')
    return { error: `scripts/ensure-qemu.sh exited ${result.status}:\n${result.stderr.slice(-4000)}` }
  return { emulator, sysroot: '/usr/aarch64-linux-gnu' }
}

/**
 * Whether the command line could run the binaries test: vitest's file filters are the
 * arguments that are not options, and a file runs when its path contains one of them. A
 * misjudged command line (an option's value taken for a filter) only moves the install into
 * the test itself (it calls ensureQemu when setup skipped it).
 */
export function runsBinariesTest(argv: string[]): boolean {
  const command = argv.findIndex((arg) => /^(run|watch|dev|related)$/.test(arg))
  const filters = argv.slice(command === -1 ? 2 : command + 1).filter((arg) => !arg.startsWith('-'))
  const file = join(root, TEST_FILE)
  return (
    filters.length === 0 || filters.some((filter) => file.includes(filter) || file.includes(resolve(filter)))
  )
}
