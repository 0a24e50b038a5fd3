import { describe, expect, it } from 'vitest'
import { type BodyBatch, batchBodies, type EncodedRecord } from '../../src/connectors/shared/batching.js'

async function* recordsOf(texts: string[]): AsyncGenerator<EncodedRecord> {
  for (const text of texts)
    yield { text, bytes: Buffer.byteLength(text, 'utf8'), shortened: text.includes('"cut":true') }
}

/** Each batch as the caller sees it when it is handed over (bodies are reused afterwards). */
async function batchesOf(texts: string[], limits: Parameters<typeof batchBodies>[1]) {
  const seen: { body: string; records: number; shortened: number }[] = []
  for await (const batch of batchBodies(recordsOf(texts), limits))
    seen.push({ body: batch.body.toString('utf8'), records: batch.records, shortened: batch.shortened })
  return seen
}

describe('batchBodies', () => {
  it('frames a JSON array and fills each body up to the byte limit exactly', async () => {
    // '[' + 5 + ',' + 5 + ']' = 13 bytes: two fit in 13, a third would make 19.
    const texts = ['{"a":1}', '{"b":2}', '{"c":3}'].map((t) => t.slice(0, 5))
    const batches = await batchesOf(texts, { maxBytes: 13, framing: 'json-array' })
    expect(batches.map((b) => b.body)).toEqual([`[${texts[0]},${texts[1]}]`, `[${texts[2]}]`])
    expect(batches.every((b) => Buffer.byteLength(b.body) <= 13)).toBe(true)
    const tight = await batchesOf(texts, { maxBytes: 12, framing: 'json-array' })
    expect(tight.map((b) => b.records)).toEqual([1, 1, 1])
  })

  it('produces JSON a parser reads back, counting UTF-8 bytes, not characters', async () => {
    const records = Array.from({ length: 50 }, (_, i) =>
      JSON.stringify({ i, note: 'é€😀'.repeat(i % 7), cut: i % 5 === 0 }),
    )
    const batches = await batchesOf(records, { maxBytes: 300, framing: 'json-array' })
    expect(batches.length).toBeGreaterThan(5)
    expect(batches.flatMap((b) => JSON.parse(b.body))).toEqual(records.map((r) => JSON.parse(r)))
    for (const b of batches) expect(Buffer.byteLength(b.body, 'utf8')).toBeLessThanOrEqual(300)
    expect(batches.reduce((n, b) => n + b.shortened, 0)).toBe(
      records.filter((r) => r.includes('"cut":true')).length,
    )
  })

  it('concatenates without framing and keeps the count limit', async () => {
    const texts = ['{"e":1}', '{"e":2}', '{"e":3}', '{"e":4}', '{"e":5}']
    expect((await batchesOf(texts, { maxBytes: 14, framing: 'concatenated' })).map((b) => b.body)).toEqual([
      '{"e":1}{"e":2}',
      '{"e":3}{"e":4}',
      '{"e":5}',
    ])
    const counted = await batchesOf(texts, { maxBytes: 1000, maxItems: 2, framing: 'json-array' })
    expect(counted.map((b) => b.records)).toEqual([2, 2, 1])
  })

  it('sends a record larger than the limit alone, for the caller to judge', async () => {
    const big = `"${'x'.repeat(40)}"`
    const batches = await batchesOf(['1', big, '2'], { maxBytes: 10, framing: 'json-array' })
    expect(batches.map((b) => b.body)).toEqual(['[1]', `[${big}]`, '[2]'])
  })

  it('reuses one body: a batch is only read after the caller is done with the last', async () => {
    const bodies: BodyBatch['body'][] = []
    for await (const batch of batchBodies(recordsOf(['"a"', '"b"', '"c"']), {
      maxBytes: 5,
      framing: 'json-array',
    }))
      bodies.push(batch.body)
    expect(bodies.map((b) => b.buffer)).toEqual([bodies[0]!.buffer, bodies[0]!.buffer, bodies[0]!.buffer])
  })
})
