import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../support/cli.js'

// Runs in a fresh Node: the flag it sets would change the heap of the test worker.
const script = `
const v8 = require('node:v8')
import(require('node:url').pathToFileURL(process.argv[1])).then(({ holdYoungGeneration }) => {
const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size
// Objects that survive scavenges (a window's worth kept alive at a time) grow the young generation.
const churn = (rounds) => {
  let kept = []
  for (let i = 0; i < rounds; i++) {
    kept.push({ i, text: 'decision ' + i })
    if (kept.length > 20000) kept = []
    holdYoungGeneration()
  }
}
churn(3e6)
const held = young()
churn(2e7)
process.stdout.write(JSON.stringify({ held, after: young() }))
})
`

describe('holdYoungGeneration', () => {
  it('stops the young generation growing once it reaches 8 MB', () => {
    const module = join(PROJECT_ROOT, 'dist', 'common', 'young-generation.js')
    const { held, after } = JSON.parse(
      execFileSync(process.execPath, ['-e', script, module], { encoding: 'utf8' }),
    )
    // Left alone, V8 grows it to 32 MB over the same churn.
    expect(held).toBeGreaterThanOrEqual(8 * 1024 * 1024)
    expect(held).toBeLessThan(16 * 1024 * 1024)
    expect(after).toBe(held)
  })
})
