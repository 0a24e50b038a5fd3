import { describe, expect, it } from 'vitest'
import { jsonChunks } from '../../src/common/json-chunks.js'

/** The pieces joined, next to what JSON.stringify makes of the same value. */
function both(value: unknown, slice?: number): [string, string] {
  return [[...jsonChunks(value, slice)].join(''), JSON.stringify(value, null, 2)]
}

describe('jsonChunks', () => {
  const alert = (i: number) => ({
    severity: i % 2 ? 'critical' : 'warning',
    provider: 'datadog',
    event_id: `rpe_${i}`,
    nested: { list: [1, 'two\nlines', { deep: [] }], empty: {} },
    message: `failed: "quoted" \\ back\tslash \u2028 ${'é'.repeat(i % 3)}`,
    gone: undefined,
  })

  it('joins into exactly the text JSON.stringify(value, null, 2) makes', () => {
    const document = {
      schema_version: 'cavra.release.connector_delivery_dashboard.v1',
      since: null,
      total: 7,
      rate: 0.25,
      empty: [],
      small: [1, 2],
      skipped: undefined,
      alerts: Array.from({ length: 2_345 }, (_, i) => alert(i)),
      event_types: { a: 1 },
    }
    for (const slice of [1, 7, 1_000, 5_000]) {
      const [joined, whole] = both(document, slice)
      expect(joined, `slice ${slice}`).toBe(whole)
    }
  })

  it('cuts a large array into pieces, between elements only', () => {
    const document = { items: Array.from({ length: 2_500 }, (_, i) => alert(i)) }
    const pieces = [...jsonChunks(document, 1_000)]
    expect(pieces.length).toBeGreaterThanOrEqual(4)
    for (const piece of pieces.slice(1, -2)) expect(piece).toMatch(/^(,\n|\n) {4}\{/)
  })

  it('handles any other value as JSON.stringify does', () => {
    for (const value of [
      null,
      3,
      'text',
      [1, [2]],
      {},
      { a: undefined },
      new Date(0),
      { toJSON: () => 'x' },
    ]) {
      const [joined, whole] = both(value, 1)
      expect(joined).toBe(whole)
    }
  })
})
