import { describe, expect, it } from 'vitest'
import { batchBodies, type EncodedRecord } from '../../src/connectors/shared/batching.js'

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

  it('takes turns with two bodies, so a batch stays whole while the next is encoded', async () => {
    const seen: { body: Buffer; text: string }[] = []
    for await (const batch of batchBodies(recordsOf(['"a"', '"b"', '"c"', '"d"']), {
      maxBytes: 5,
      framing: 'json-array',
    })) {
      const text = batch.body.toString('utf8')
      // The next batch is being encoded while the caller holds this one (as over a request's
      // round trip): this body must not change under it.
      await new Promise((resolve) => setTimeout(resolve, 5))
      expect(batch.body.toString('utf8')).toBe(text)
      seen.push({ body: batch.body, text })
    }
    expect(seen.map((s) => s.text)).toEqual(['["a"]', '["b"]', '["c"]', '["d"]'])
    const memory = (b: Buffer) => `${b.byteOffset}@${b.buffer.byteLength}`
    const [first, second, third, fourth] = seen.map((s) => s.body)
    expect(first!.buffer === second!.buffer && first!.byteOffset === second!.byteOffset).toBe(false)
    expect([memory(third!), third!.buffer]).toEqual([memory(first!), first!.buffer])
    expect([memory(fourth!), fourth!.buffer]).toEqual([memory(second!), second!.buffer])
  })

  it('encodes the next batch while the caller still holds the current one', async () => {
    const pulled: string[] = []
    async function* watched(): AsyncGenerator<EncodedRecord> {
      for (const text of ['"a"', '"b"', '"c"']) {
        pulled.push(text)
        yield { text, bytes: 3, shortened: false }
      }
    }
    const batches = batchBodies(watched(), { maxBytes: 5, framing: 'json-array' })
    const first = await batches.next()
    expect(first.value?.body.toString('utf8')).toBe('["a"]')
    // The caller is busy with the first batch (a request in flight): the source is read on.
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(pulled).toEqual(['"a"', '"b"', '"c"'])
    expect((await batches.next()).value?.body.toString('utf8')).toBe('["b"]')
    await batches.return(undefined)
  })

  it('reports a failure met while reading ahead when the caller asks for that batch', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      async function* failing(): AsyncGenerator<EncodedRecord> {
        yield { text: '"a"', bytes: 3, shortened: false }
        yield { text: '"b"', bytes: 3, shortened: false }
        throw new Error('decision 3 is not JSON')
      }
      const batches = batchBodies(failing(), { maxBytes: 5, framing: 'json-array' })
      expect((await batches.next()).value?.body.toString('utf8')).toBe('["a"]')
      // The failure is met while the caller holds the first batch, and waits for it to ask.
      await new Promise((resolve) => setTimeout(resolve, 5))
      await expect(batches.next()).rejects.toThrow('decision 3 is not JSON')
      await new Promise((resolve) => setTimeout(resolve, 5))
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('closes the source when the caller stops early', async () => {
    let closed = false
    async function* source(): AsyncGenerator<EncodedRecord> {
      try {
        for (let i = 0; ; i++) yield { text: `"${i}"`, bytes: 3, shortened: false }
      } finally {
        closed = true
      }
    }
    for await (const batch of batchBodies(source(), { maxBytes: 5, framing: 'json-array' })) {
      expect(batch.body.toString('utf8')).toBe('["0"]')
      break
    }
    expect(closed).toBe(true)
  })
})
