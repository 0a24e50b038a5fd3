import { arch, platform } from 'node:os'
import isWsl from 'is-wsl'
import pjson from '../package.json'

/**
 * What `cavra --version` prints, without loading oclif: the line oclif's run() prints for
 * `--version` (its Config.userAgent), built the same way, WSL detected by the same package
 * oclif asks. bin/bundles.js answers `--version` with this bundle (dist/version.cjs), which
 * is a few kilobytes against the hundreds that oclif's start-up reads, compiles and runs.
 * test/unit/version-line.test.ts keeps it equal to oclif's own line.
 */
export function versionLine(): string {
  const cpu = arch() === 'ia32' ? 'x86' : arch()
  return `${pjson.name}/${pjson.version} ${isWsl ? 'wsl' : platform()}-${cpu} node-${process.version}`
}

/** Prints it as oclif does, after oclif's own start-up check of the working directory. */
export function printVersion(): void {
  try {
    process.cwd()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write('WARNING: current directory does not exist\n')
    }
  }
  process.stdout.write(`${versionLine()}\n`)
}
