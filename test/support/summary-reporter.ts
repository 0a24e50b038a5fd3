import { mkdirSync, writeFileSync } from 'node:fs'
import type { Reporter, TestModule } from 'vitest/node'

/** Ends every run with the plain `N passed, N failed` line that CI reads. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0
    let failed = 0
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state
        if (state === 'passed') passed++
        else if (state === 'failed') failed++
      }
      // A file that fails to load has no tests but must not pass silently.
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) failed++
    }
    const line = `${passed} passed, ${failed} failed`
    process.stdout.write(`\n${line}\n`)
    // .ci/run repeats it as its closing line, after coverage output.
    mkdirSync('test-results', { recursive: true })
    writeFileSync('test-results/summary.txt', `${line}\n`)
  }
}
