import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'

/**
 * The HTML dashboards are tested in a real headless Chromium: Debian's `chromium` package,
 * driven by playwright-core (which never downloads a browser). `scripts/ensure-chromium.sh`
 * installs it when it is missing. When it cannot (not root, no package source), the other
 * tests still run and the browser tests fail with the reason, instead of being skipped.
 */

export const CHROMIUM = '/usr/bin/chromium'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why Chromium is not available, or null when it is. */
    chromiumProblem: string | null
  }
}

export default function setup(project: TestProject): void {
  const script = join(import.meta.dirname, '..', '..', 'scripts', 'ensure-chromium.sh')
  const run = spawnSync('bash', [script], { encoding: 'utf8', timeout: 600_000 })
  const problem =
    run.status === 0
      ? null
      : `${CHROMIUM} is not available (${(run.stderr || run.error?.message || `exit ${run.status}`).trim()})`
  project.provide('chromiumProblem', problem)
}
