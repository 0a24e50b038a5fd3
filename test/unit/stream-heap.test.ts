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
    const module = join(PROJECT_ROOT, 'dist', 'common', 'stream-heap.js')
    const { held, after } = JSON.parse(
      execFileSync(process.execPath, ['-e', script, module], { encoding: 'utf8' }),
    )
    // Left alone, V8 grows it to 32 MB over the same churn.
    expect(held).toBeGreaterThanOrEqual(8 * 1024 * 1024)
    expect(held).toBeLessThan(16 * 1024 * 1024)
    expect(after).toBe(held)
  })
})

// Parses as many objects with a short, unique string value as a long stream parses decisions
// (V8 keeps such strings in its string table, in the old generation), calling
// collectOldGarbage per window's worth or not at all; prints how far the old generation grew.
const parsing = `
const v8 = require('node:v8')
import(require('node:url').pathToFileURL(process.argv[1])).then(({ collectOldGarbage }) => {
const old = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size
const collecting = process.argv[2] === 'collect'
const before = old()
let peak = 0
let kept
for (let i = 0; i < 1500000; i++) {
  kept = JSON.parse('{"id":"d' + i + '"}')
  if (i % 3000 === 0) {
    if (collecting) collectOldGarbage()
    peak = Math.max(peak, old() - before)
  }
}
process.stdout.write(JSON.stringify({ peak, id: kept.id }))
})
`

describe('collectOldGarbage', () => {
  const grow = (mode: string) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        ['-e', parsing, join(PROJECT_ROOT, 'dist', 'common', 'stream-heap.js'), mode],
        { encoding: 'utf8' },
      ),
    ) as { peak: number; id: string }

  it('keeps the old generation from filling with the short strings of parsed decisions', () => {
    const left = grow('leave')
    const collected = grow('collect')
    expect(left.id).toBe('d1499999')
    // Left alone, the string table's garbage piles up in the old generation.
    expect(left.peak).toBeGreaterThan(12 * 1024 * 1024)
    // Collected once it has grown by 4 MB (plus what a window's worth adds before the check).
    expect(collected.peak).toBeLessThan(8 * 1024 * 1024)
  })
})
