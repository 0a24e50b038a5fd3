import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  ChainWalker,
  GENESIS_HASH,
  recordHash,
  type StoreItem,
  seal,
  verifyChain,
} from '../../src/metadata/chain.js'
import { expectedHash, sortedJson } from '../support/independent-hash.js'

/**
 * The hash chain of the metadata store (docs/metadata-store.md), checked against hashes computed here from
 * the documented rule: sha256 of the item's JSON with object keys sorted recursively and no
 * whitespace, without `record_hash`.
 */

const ZEROS = '0000000000000000000000000000000000000000000000000000000000000000'

function record(n: number, extra: Record<string, unknown> = {}): StoreItem {
  return {
    session_id: `rcd-rpe-${n}-abcdef012345`,
    metadata_kind: 'release-connector-delivery',
    created_at: `2026-11-28T12:00:0${n % 10}.000Z`,
    event_id: `rpe_${n}`,
    delivery_success: n % 2 === 0,
    providers: ['jira', 'webhook'],
    deliveries: [{ provider: 'jira', success: true, status_code: 201, attempt_count: 1 }],
    ...extra,
  }
}

/** Seals items one after another, as appends do. */
function chainOf(items: StoreItem[], start = GENESIS_HASH): StoreItem[] {
  const sealed: StoreItem[] = []
  let previous = start
  for (const item of items) {
    const next = seal(item, previous)
    sealed.push(next)
    previous = next.record_hash as string
  }
  return sealed
}

describe('record hashes', () => {
  it('the sorted-keys serialiser of this test follows the documented canonical form', () => {
    expect(sortedJson({ b: 1, a: { d: [1, 'x', { z: true, y: null }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,"x",{"y":null,"z":true}]},"b":1}',
    )
  })

  it('the genesis prev_hash is 64 zeros', () => {
    expect(GENESIS_HASH).toBe(ZEROS)
  })

  it('seal adds prev_hash and a record_hash equal to sha256 of the canonical JSON without record_hash', () => {
    const item = record(1, { nested: { zeta: [3, { b: 2, a: 1 }], alpha: 'é' } })
    const sealed = seal(item, ZEROS)
    expect(sealed.prev_hash).toBe(ZEROS)
    expect(sealed.record_hash).toMatch(/^[0-9a-f]{64}$/)
    const manual = createHash('sha256')
      .update(sortedJson({ ...item, prev_hash: ZEROS }), 'utf8')
      .digest('hex')
    expect(sealed.record_hash).toBe(manual)
    // Everything else is kept as it was.
    const { prev_hash: _p, record_hash: _r, ...rest } = sealed
    expect(rest).toEqual(item)
  })

  it('the hash does not depend on the order keys were written in', () => {
    const a = seal({ session_id: 's-1', x: 1, y: { p: 1, q: 2 } }, ZEROS)
    const b = seal({ y: { q: 2, p: 1 }, x: 1, session_id: 's-1' }, ZEROS)
    expect(a.record_hash).toBe(b.record_hash)
  })

  it('the hash covers prev_hash and every field', () => {
    const item = record(2)
    const one = seal(item, ZEROS).record_hash
    expect(seal(item, 'f'.repeat(64)).record_hash).not.toBe(one)
    expect(seal({ ...item, delivery_success: !item.delivery_success }, ZEROS).record_hash).not.toBe(one)
  })

  it('recordHash ignores a record_hash already present and matches the independent computation', () => {
    const sealed = seal(record(3), ZEROS)
    const tampered = { ...sealed, record_hash: 'not the hash' }
    expect(recordHash(tampered)).toBe(expectedHash(sealed))
    expect(recordHash(sealed)).toBe(sealed.record_hash)
  })

  it('each prev_hash is the previous record_hash', () => {
    const items = chainOf([record(1), record(2), record(3)])
    expect(items[0]!.prev_hash).toBe(ZEROS)
    expect(items[1]!.prev_hash).toBe(items[0]!.record_hash)
    expect(items[2]!.prev_hash).toBe(items[1]!.record_hash)
    for (const item of items) expect(item.record_hash).toBe(expectedHash(item))
  })
})

describe('verifyChain', () => {
  it('reports an intact chain with its head', () => {
    const items = chainOf([record(1), record(2), record(3), record(4)])
    expect(verifyChain(items)).toEqual({
      total: 4,
      legacy: 0,
      chained: 4,
      head: items[3]!.record_hash,
      broken: null,
    })
  })

  it('an empty store is intact with the genesis head', () => {
    expect(verifyChain([])).toEqual({ total: 0, legacy: 0, chained: 0, head: ZEROS, broken: null })
  })

  it('counts a legacy prefix of items without hashes and starts the chain after it at 64 zeros', () => {
    const legacy = [
      { session_id: 'rcd-old-1', metadata_kind: 'release-connector-delivery', providers: ['webhook'] },
      { session_id: 'rcd-old-2', metadata_kind: 'release-connector-delivery', providers: ['jira'] },
    ]
    const chained = chainOf([record(1), record(2), record(3)])
    expect(chained[0]!.prev_hash).toBe(ZEROS)
    const report = verifyChain([...legacy, ...chained])
    expect(report).toEqual({ total: 5, legacy: 2, chained: 3, head: chained[2]!.record_hash, broken: null })
  })

  it('a chain after a legacy prefix must still start at 64 zeros', () => {
    const legacy = [{ session_id: 'rcd-old-1' }]
    const chained = chainOf([record(1), record(2)], 'a'.repeat(64))
    const report = verifyChain([...legacy, ...chained])
    expect(report.broken).toMatchObject({
      position: 2,
      session_id: chained[0]!.session_id,
      field: 'prev_hash',
      expected: ZEROS,
      found: 'a'.repeat(64),
    })
  })

  it('an edited item is reported at its 1-based position with the recomputed hash', () => {
    const items = chainOf([record(1), record(2), record(3), record(4)])
    const original = items[1]!.record_hash
    items[1] = { ...items[1]!, delivery_success: !items[1]!.delivery_success }
    const report = verifyChain(items)
    expect(report.broken).toEqual({
      position: 2,
      session_id: 'rcd-rpe-2-abcdef012345',
      field: 'record_hash',
      expected: expectedHash(items[1]!),
      found: original,
      reason: expect.stringMatching(/edited/),
    })
    expect(report.chained).toBe(1)
    expect(report.total).toBe(4)
  })

  it('an edited item whose record_hash was recomputed breaks at the next item', () => {
    const items = chainOf([record(1), record(2), record(3)])
    const edited = { ...items[1]!, event_id: 'rpe_forged' }
    items[1] = { ...edited, record_hash: expectedHash(edited) }
    const report = verifyChain(items)
    expect(report.broken).toMatchObject({
      position: 3,
      session_id: 'rcd-rpe-3-abcdef012345',
      field: 'prev_hash',
      expected: items[1]!.record_hash,
      found: items[2]!.prev_hash,
    })
  })

  it('a removed item is reported where the link breaks', () => {
    const items = chainOf([record(1), record(2), record(3), record(4)])
    const removed = items.splice(1, 1)[0]!
    const report = verifyChain(items)
    expect(report.broken).toMatchObject({
      position: 2,
      session_id: 'rcd-rpe-3-abcdef012345',
      field: 'prev_hash',
      expected: items[0]!.record_hash,
      found: removed.record_hash,
    })
  })

  it('removing the last item leaves a valid, shorter chain (only a stored head could tell)', () => {
    const items = chainOf([record(1), record(2), record(3)])
    expect(verifyChain(items.slice(0, 2)).broken).toBeNull()
  })

  it('reordered items are reported at the first out-of-place position', () => {
    const items = chainOf([record(1), record(2), record(3), record(4)])
    const reordered = [items[0]!, items[2]!, items[1]!, items[3]!]
    const report = verifyChain(reordered)
    expect(report.broken).toMatchObject({
      position: 2,
      session_id: 'rcd-rpe-3-abcdef012345',
      field: 'prev_hash',
      expected: items[0]!.record_hash,
      found: items[1]!.record_hash,
    })
  })

  it('an item without hashes after the chain started is a break, with the hash it would need', () => {
    const items = chainOf([record(1), record(2)])
    const inserted = record(9)
    const report = verifyChain([...items, inserted, ...chainOf([record(3)], items[1]!.record_hash as string)])
    expect(report.broken).toEqual({
      position: 3,
      session_id: 'rcd-rpe-9-abcdef012345',
      field: 'record_hash',
      expected: expectedHash({ ...inserted, prev_hash: items[1]!.record_hash }),
      found: null,
      reason: expect.stringMatching(/without hashes/),
    })
    expect(report.legacy).toBe(0)
    expect(report.chained).toBe(2)
  })

  it('an item whose hashes were stripped is a break, not a legacy item', () => {
    const items = chainOf([record(1), record(2), record(3)])
    const { prev_hash: _p, record_hash: _r, ...stripped } = items[1]!
    items[1] = stripped
    const report = verifyChain(items)
    expect(report.broken).toMatchObject({ position: 2, field: 'record_hash', found: null })
    expect(report.legacy).toBe(0)
  })

  it('a record_hash that is not lowercase hex is a break even when it names the right digest', () => {
    const items = chainOf([record(1)])
    const upper = (items[0]!.record_hash as string).toUpperCase()
    const report = verifyChain([{ ...items[0]!, record_hash: upper }])
    expect(report.broken).toMatchObject({ position: 1, field: 'record_hash', found: upper })
  })

  it('an item with only a prev_hash is part of the chain and is missing its record_hash', () => {
    const report = verifyChain([{ session_id: 'half', prev_hash: ZEROS }])
    expect(report.broken).toMatchObject({
      position: 1,
      session_id: 'half',
      field: 'record_hash',
      expected: expectedHash({ session_id: 'half', prev_hash: ZEROS }),
      found: null,
    })
  })

  it('names a missing session_id as null', () => {
    const items = chainOf([{ metadata_kind: 'release-connector-delivery', n: 1 }])
    items[0] = { ...items[0]!, n: 2 }
    expect(verifyChain(items).broken).toMatchObject({ position: 1, session_id: null })
  })

  it("tells a line that is the item's canonical JSON from one that only hashes the same", () => {
    const item = seal(record(3), GENESIS_HASH)
    const canonical = sortedJson(item)
    const { record_hash: hash, ...rest } = item
    // The same members, record_hash moved to the end: the hash still matches, the line is not canonical.
    const moved = `${sortedJson(rest).slice(0, -1)},"record_hash":${JSON.stringify(hash)}}`
    const spaced = JSON.stringify(item, null, 1)
    const cases: [string, boolean][] = [
      [canonical, true],
      [moved, false],
      [spaced, false],
    ]
    for (const [line, expected] of cases) {
      const walker = new ChainWalker()
      expect(walker.push(JSON.parse(line) as StoreItem, line), line).toBeNull()
      expect(walker.lastLineCanonical, line).toBe(expected)
    }
    // An item whose keys all sort before record_hash: canonical only with record_hash last.
    const early = seal({ a: 1, metadata_kind: 'x' }, GENESIS_HASH)
    const last = sortedJson(early)
    expect(last.endsWith(`"record_hash":${JSON.stringify(early.record_hash)}}`)).toBe(true)
    const { record_hash: earlyHash, ...earlyRest } = early
    const first = `{"record_hash":${JSON.stringify(earlyHash)},${sortedJson(earlyRest).slice(1)}`
    for (const [line, expected] of [
      [last, true],
      [first, false],
    ] as const) {
      const walker = new ChainWalker()
      expect(walker.push(JSON.parse(line) as StoreItem, line)).toBeNull()
      expect(walker.lastLineCanonical, line).toBe(expected)
    }
    // A second push without a line says nothing of the first one's.
    const walker = new ChainWalker()
    walker.push(item, canonical)
    walker.push(seal(record(4), item.record_hash as string))
    expect(walker.lastLineCanonical).toBe(false)
  })
})
