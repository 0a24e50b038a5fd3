import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { StoreError } from '../../src/common/errors.js'
import { seal, verifyChain } from '../../src/metadata/chain.js'
import { expectedHash } from '../support/independent-hash.js'
import { appendItem, assertWritable, readStore } from '../support/store.js'
import { Workspace } from '../support/workspace.js'

/** The metadata store (docs/metadata-store.md) on real files in a temporary folder. */

const ZEROS = '0'.repeat(64)
const workspaces: Workspace[] = []
afterEach(() => {
  for (const ws of workspaces.splice(0)) ws.remove()
})
function workspace(): Workspace {
  const ws = new Workspace('cavra-store-')
  workspaces.push(ws)
  return ws
}

function item(n: number): Record<string, unknown> {
  return {
    schema_version: 'cavra.evidence.metadata.v1',
    product: 'CAVRA',
    session_id: `rcd-rpe-${n}-0123456789ab`,
    metadata_kind: 'release-connector-delivery',
    created_at: new Date(Date.UTC(2026, 10, 28, 12, 0, n)).toISOString(),
    event_id: `rpe_${n}`,
    event_type: 'cavra.rollout_promotion_execution',
    delivery_success: true,
    providers: ['webhook'],
    failed_providers: [],
    deliveries: [{ provider: 'webhook', provider_type: 'webhook', success: true, attempt_count: 1 }],
  }
}

function readJson(path: string): { items: Array<Record<string, unknown>>; [key: string]: unknown } {
  return JSON.parse(readFileSync(path, 'utf8'))
}

async function storeError(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof StoreError) return error
    throw error
  }
  throw new Error('expected a StoreError')
}

/** Leftovers of a write: temp files and lock folders beside the store. */
function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((name) => name !== 'metadata.json')
}

describe('appendItem', () => {
  it('creates the store (and its folder) as {schema_version, product, items} with a sealed item', async () => {
    const ws = workspace()
    const path = ws.path('.cavra', 'evidence', 'metadata.json')
    const written = await appendItem(path, item(1))
    const document = readJson(path)
    expect(Object.keys(document).sort()).toEqual(['items', 'product', 'schema_version'])
    expect(document.schema_version).toBe('cavra.evidence.metadata.v1')
    expect(document.product).toBe('CAVRA')
    expect(document.items).toHaveLength(1)
    const stored = document.items[0]!
    expect(stored).toEqual(written)
    expect(stored.prev_hash).toBe(ZEROS)
    expect(stored.record_hash).toBe(expectedHash(stored))
    const { prev_hash: _p, record_hash: _r, ...rest } = stored
    expect(rest).toEqual(item(1))
  })

  it('links each appended item to the one before and keeps earlier items byte for byte', async () => {
    const ws = workspace()
    const path = ws.path('metadata.json')
    const first = await appendItem(path, item(1))
    const second = await appendItem(path, item(2))
    const third = await appendItem(path, item(3))
    const { items } = readJson(path)
    expect(items).toEqual([first, second, third])
    expect(second.prev_hash).toBe(first.record_hash)
    expect(third.prev_hash).toBe(second.record_hash)
    for (const stored of items) expect(stored.record_hash).toBe(expectedHash(stored))
    expect(verifyChain(items)).toMatchObject({ total: 3, chained: 3, legacy: 0, broken: null })
  })

  it('appends after a store of the earlier format, keeping its items and starting the chain at zeros', async () => {
    const ws = workspace()
    const legacy = [
      {
        session_id: 'rcd-rpe-old-111111111111',
        metadata_kind: 'release-connector-delivery',
        created_at: '2025-01-01T00:00:00+00:00',
        delivery_success: false,
        providers: ['jira', 'webhook'],
        failed_providers: ['jira'],
      },
      { session_id: 'evidence-bundle-1', signer: 'ci', decision_count: 3 },
    ]
    const path = ws.write('metadata.json', `${JSON.stringify({ items: legacy }, null, 2)}\n`)
    const appended = await appendItem(path, item(1))
    const document = readJson(path)
    expect(document.items).toHaveLength(3)
    expect(document.items.slice(0, 2)).toEqual(legacy)
    expect(appended.prev_hash).toBe(ZEROS)
    expect(document.items[2]).toEqual(appended)
    expect(verifyChain(document.items)).toMatchObject({ legacy: 2, chained: 1, broken: null })
    const next = await appendItem(path, item(2))
    expect(next.prev_hash).toBe(appended.record_hash)
  })

  it('keeps other top-level fields of an existing document', async () => {
    const ws = workspace()
    const path = ws.write('metadata.json', { note: 'kept', items: [] })
    await appendItem(path, item(1))
    expect(readJson(path).note).toBe('kept')
  })

  it('leaves no temp file or lock behind', async () => {
    const ws = workspace()
    const path = ws.path('metadata.json')
    for (let n = 1; n <= 5; n++) await appendItem(path, item(n))
    expect(leftovers(ws.dir)).toEqual([])
    expect(readdirSync(ws.dir).some((name) => /^\.metadata\.json\..*\.tmp$/.test(name))).toBe(false)
  })

  it('30 appends started at once from one process all land, in one valid chain', async () => {
    const ws = workspace()
    const path = ws.path('metadata.json')
    const results = await Promise.all(Array.from({ length: 30 }, (_, n) => appendItem(path, item(n + 1))))
    const { items } = readJson(path)
    expect(items).toHaveLength(30)
    expect(new Set(items.map((stored) => stored.session_id)).size).toBe(30)
    expect(items.map((stored) => stored.session_id).sort()).toEqual(
      results.map((result) => result.session_id).sort(),
    )
    const report = verifyChain(items)
    expect(report.broken).toBeNull()
    expect(report.chained).toBe(30)
    expect(leftovers(ws.dir)).toEqual([])
  })
})

describe('readStore', () => {
  it('reads a missing file as an empty store without creating it', async () => {
    const ws = workspace()
    const path = ws.path('nowhere', 'metadata.json')
    const snapshot = await readStore(path)
    expect(snapshot.exists).toBe(false)
    expect(snapshot.document.items).toEqual([])
    expect(snapshot.chain).toMatchObject({ total: 0, broken: null })
    expect(existsSync(path)).toBe(false)
  })

  it('reads an existing store with its chain report', async () => {
    const ws = workspace()
    const path = ws.path('metadata.json')
    await appendItem(path, item(1))
    await appendItem(path, item(2))
    const snapshot = await readStore(path)
    expect(snapshot.exists).toBe(true)
    expect(snapshot.document.items.map((stored) => stored.session_id)).toEqual([
      'rcd-rpe-1-0123456789ab',
      'rcd-rpe-2-0123456789ab',
    ])
    expect(snapshot.chain).toMatchObject({ total: 2, chained: 2, legacy: 0, broken: null })
  })

  it('reads a legacy store', async () => {
    const ws = workspace()
    const path = ws.write('metadata.json', { items: [{ session_id: 'a' }, { session_id: 'b' }] })
    const snapshot = await readStore(path)
    expect(snapshot.exists).toBe(true)
    expect(snapshot.chain).toMatchObject({ total: 2, legacy: 2, chained: 0, broken: null })
  })

  it('with requireIntact false, reports a broken chain instead of throwing', async () => {
    const ws = workspace()
    const first = seal(item(1), ZEROS)
    const path = ws.write('metadata.json', { items: [{ ...first, event_id: 'edited' }] })
    const snapshot = await readStore(path, { requireIntact: false })
    expect(snapshot.chain.broken).toMatchObject({ position: 1, field: 'record_hash' })
  })
})

describe('assertWritable', () => {
  it('accepts a missing store and leaves nothing behind', async () => {
    const ws = workspace()
    const path = ws.path('sub', 'metadata.json')
    await assertWritable(path)
    expect(existsSync(path)).toBe(false)
    expect(readdirSync(ws.path('sub'))).toEqual([])
  })

  it('accepts an intact store without touching it', async () => {
    const ws = workspace()
    const path = ws.path('metadata.json')
    await appendItem(path, item(1))
    const before = readFileSync(path)
    await assertWritable(path)
    expect(readFileSync(path).equals(before)).toBe(true)
    expect(leftovers(ws.dir)).toEqual([])
  })
})

describe('a damaged store is never overwritten (exit 5)', () => {
  const sealedOne = seal(item(1), ZEROS)
  const sealedTwo = seal(item(2), sealedOne.record_hash as string)
  const intact = `${JSON.stringify({ schema_version: 'cavra.evidence.metadata.v1', product: 'CAVRA', items: [sealedOne, sealedTwo] }, null, 2)}\n`
  const cases: Array<{ name: string; content: string; problem: RegExp }> = [
    { name: 'an empty file', content: '', problem: /empty/ },
    { name: 'whitespace only', content: '  \n', problem: /empty/ },
    {
      name: 'truncated JSON',
      content: intact.slice(0, Math.floor(intact.length / 2)),
      problem: /not valid JSON/,
    },
    { name: '{not json', content: '{not json', problem: /not valid JSON/ },
    { name: 'a JSON array', content: '[]', problem: /expected an object with an "items" array/ },
    { name: 'null', content: 'null', problem: /expected an object/ },
    {
      name: 'items that is an object',
      content: '{"items":{}}',
      problem: /"items" is missing or not an array/,
    },
    { name: 'no items', content: '{"schema_version":"cavra.evidence.metadata.v1"}', problem: /"items"/ },
    { name: 'an item that is not an object', content: '{"items":[{"a":1},"x"]}', problem: /items\[1\]/ },
    {
      name: 'an edited item breaking the chain',
      content: intact.replace('"event_id": "rpe_2"', '"event_id": "rpe_X"'),
      problem: /hash chain is broken at item 2 \(rcd-rpe-2-0123456789ab\)/,
    },
  ]

  it('the edited-item case really differs from the intact store', () => {
    expect(cases.at(-1)!.content).not.toBe(intact)
  })

  const operations: Array<[string, (path: string) => Promise<unknown>]> = [
    ['appendItem', (path) => appendItem(path, item(9))],
    ['readStore', (path) => readStore(path)],
    ['assertWritable', (path) => assertWritable(path)],
  ]

  for (const { name, content, problem } of cases) {
    for (const [operation, run] of operations) {
      it(`${operation} refuses ${name}, naming the file and the problem, and leaves it byte-identical`, async () => {
        const ws = workspace()
        const path = ws.write('metadata.json', content)
        const old = new Date('2026-01-02T03:04:05Z')
        utimesSync(path, old, old)
        const before = readFileSync(path)
        const stats = statSync(path)
        const error = await storeError(run(path))
        expect(error.exitCode).toBe(5)
        expect(error.code).toBe('store')
        expect(error.message).toContain(path)
        expect(error.message).toMatch(problem)
        expect(error.message).toMatch(/untouched/)
        expect(readFileSync(path).equals(before)).toBe(true)
        const after = statSync(path)
        expect(after.mtimeMs).toBe(stats.mtimeMs)
        expect(after.ino).toBe(stats.ino)
        expect(leftovers(ws.dir)).toEqual([])
      })
    }
  }

  it('a store that breaks is not repaired by a later append either', async () => {
    const ws = workspace()
    const path = ws.path('metadata.json')
    await appendItem(path, item(1))
    await appendItem(path, item(2))
    const document = readJson(path)
    document.items[0]!.delivery_success = false
    writeFileSync(path, JSON.stringify(document))
    const before = readFileSync(path)
    await storeError(appendItem(path, item(3)))
    await storeError(appendItem(path, item(4)))
    expect(readFileSync(path).equals(before)).toBe(true)
  })
})
