import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../support/cli.js'

/**
 * The layering of src/ is checked by dependency-cruiser against the table in
 * .dependency-cruiser.cjs, and that table must be the one ARCHITECTURE.md shows.
 */

const require = createRequire(import.meta.url)
const { LAYERS } = require(join(PROJECT_ROOT, '.dependency-cruiser.cjs')) as {
  LAYERS: Record<string, string[]>
}

describe('layers', () => {
  it('has no import against the declared direction and no cycle', () => {
    const run = spawnSync(
      process.execPath,
      [
        join(PROJECT_ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'),
        'src',
        '--config',
        '.dependency-cruiser.cjs',
        '--output-type',
        'json',
      ],
      { cwd: PROJECT_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    )
    const report = JSON.parse(run.stdout) as {
      summary: {
        violations: Array<{ rule: { name: string }; from: string; to: string }>
        totalCruised: number
      }
    }
    expect(report.summary.totalCruised).toBeGreaterThan(50)
    expect(report.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([])
  })

  it('enforces exactly the layers ARCHITECTURE.md names', () => {
    const text = readFileSync(join(PROJECT_ROOT, 'ARCHITECTURE.md'), 'utf8')
    const documented: Record<string, string[]> = {}
    for (const match of text.matchAll(/^\| `src\/([a-z]+)\/` \| [^|]+\| ([^|]+) \|$/gm)) {
      const imports = match[2]!.trim()
      documented[match[1]!] = imports === 'nothing' ? [] : imports.split(',').map((name) => name.trim())
    }
    expect(documented).toEqual(LAYERS)
  })
})
