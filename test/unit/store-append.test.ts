import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { StoreError } from '../../src/common/errors.js'
import { type StoreItem, verifyChain } from '../../src/metadata/chain.js'
import { openStore } from '../../src/metadata/store.js'
import { CLOSING, itemLine } from '../../src/metadata/store-layout.js'
import { expectedHash } from '../support/independent-hash.js'
import { readStore } from '../support/store.js'
import { Workspace } from '../support/workspace.js'

/**
 * The append-in-place write path of the store: what a kill at any byte of an append leaves,
 * how it is read and repaired, links, read-only stores, full disks and older layouts.
 */

const workspaces: Workspace[] = []
afterEach(() => {
  for (const ws of workspaces.splice(0)) ws.remove()
})
function workspace(): Workspace {
  const ws = new Workspace('cavra-append-')
  workspaces.push(ws)
  return ws
}

const item = (n: number, filler = ''): StoreItem => ({
  session_id: `rcd-${n}`,
  metadata_kind: 'release-connector-delivery',
  created_at: new Date(Date.UTC(2026, 10, 28, 12, 0, n)).toISOString(),
  event_id: `rpe_${n}`,
  note: `ünïcödé ${n} ${filler}`,
})

async function storeError(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof StoreError) return error
    throw error
  }
  throw new Error('expected a StoreError')
}

describe('a kill at any byte of an append', () => {
  it('leaves a store every reader reads, and the next append repairs it, losing no complete item', async () => {
    const ws = workspace()
    const base = ws.path('base.json')
    const store = openStore(base)
    for (let n = 1; n <= 3; n++) await store.append(item(n))
    const before = readFileSync(base)
    // The bytes an append of item 4 writes over the old closing, as the writer builds them.
    const head = String(verifyChain((await readStore(base)).items).head)
    const { seal } = await import('../../src/metadata/chain.js')
    const fourth = seal(item(4, 'x'.repeat(300)), head)
    const payload = Buffer.from(`,${itemLine(fourth)}\n${CLOSING}`, 'utf8')
    const position = before.length - CLOSING.length
    // Every byte near both ends of the write, and every 7th in between.
    const points = [...Array(payload.length + 1).keys()].filter(
      (n) => n < 40 || n > payload.length - 40 || n % 7 === 0,
    )
    for (const written of points) {
      // What the file holds when the writer dies after `written` bytes of its single write.
      const torn = Buffer.concat([
        before.subarray(0, position),
        payload.subarray(0, written),
        written < CLOSING.length ? before.subarray(position + written) : Buffer.alloc(0),
      ])
      const path = ws.path(`torn-${written}.json`)
      writeFileSync(path, torn)
      const notices: string[] = []
      const items: StoreItem[] = []
      for await (const read of openStore(path, (m) => notices.push(m)).items()) items.push(read)
      // The item counts once its line is whole, with or without its newline.
      const complete = written >= payload.length - CLOSING.length - 1
      expect(items.map((i) => i.session_id)).toEqual([
        'rcd-1',
        'rcd-2',
        'rcd-3',
        ...(complete ? ['rcd-4'] : []),
      ])
      // The next writer repairs (moving any torn bytes aside) and appends after the complete items.
      await openStore(path).append(item(5))
      const document = JSON.parse(readFileSync(path, 'utf8')) as { items: StoreItem[] }
      expect(verifyChain(document.items).broken, `after ${written} bytes`).toBeNull()
      expect(document.items.map((i) => i.session_id)).toEqual([
        'rcd-1',
        'rcd-2',
        'rcd-3',
        ...(complete ? ['rcd-4'] : []),
        'rcd-5',
      ])
    }
    // Torn bytes are kept for review, never deleted.
    expect(readdirSync(ws.dir).filter((name) => name.includes('.torn-')).length).toBeGreaterThan(50)
  })
})

describe('the append path', () => {
  it('writes each item as its canonical JSON on its own line, which an independent hash confirms', async () => {
    const ws = workspace()
    const path = ws.path('metadata.json')
    const store = openStore(path)
    for (let n = 1; n <= 3; n++) await store.append(item(n))
    const lines = readFileSync(path, 'utf8').split('\n')
    expect(lines[0]).toBe('{"schema_version":"cavra.evidence.metadata.v1","product":"CAVRA","items":[')
    expect(lines.at(-2)).toBe(']}')
    for (const line of lines.slice(1, -2)) {
      const parsed = JSON.parse(line.replace(/^,/, '')) as StoreItem
      expect(parsed.record_hash).toBe(expectedHash(parsed))
    }
  })

  it('reads only the end of the store: damage in the middle does not stop an append, verify finds it', async () => {
    const ws = workspace()
    const path = ws.path('metadata.json')
    const store = openStore(path)
    for (let n = 1; n <= 5; n++) await store.append(item(n))
    writeFileSync(path, readFileSync(path, 'utf8').replace('"event_id":"rpe_2"', '"event_id":"rpe_X"'))
    await store.append(item(6))
    const { report } = await store.verify()
    expect(report.broken).toMatchObject({ position: 2, field: 'record_hash' })
    expect(report.total).toBe(6)
  })

  it('follows a link to the store: the target gets the item, the link stays a link', async () => {
    const ws = workspace()
    mkdirSync(ws.path('real'))
    const real = ws.path('real', 'metadata.json')
    await openStore(real).append(item(1))
    symlinkSync(real, ws.path('link.json'))
    await openStore(ws.path('link.json')).append(item(2))
    expect(statSync(ws.path('link.json'), { throwIfNoEntry: true }).isFile()).toBe(true)
    const { lstatSync } = await import('node:fs')
    expect(lstatSync(ws.path('link.json')).isSymbolicLink()).toBe(true)
    expect(JSON.parse(readFileSync(real, 'utf8')).items).toHaveLength(2)
  })

  it('locks the real path, so two links to one store exclude each other', async () => {
    const ws = workspace()
    const real = ws.path('metadata.json')
    await openStore(real).append(item(0))
    symlinkSync(real, ws.path('a.json'))
    symlinkSync(real, ws.path('b.json'))
    await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        openStore(ws.path(n % 2 ? 'a.json' : 'b.json')).append(item(n + 1)),
      ),
    )
    const { items, chain } = await readStore(real)
    expect(items).toHaveLength(21)
    expect(chain.broken).toBeNull()
  })

  it('refuses a link to nothing and a read-only store (even for root), leaving them as they were', async () => {
    const ws = workspace()
    symlinkSync(ws.path('missing.json'), ws.path('dangling.json'))
    expect((await storeError(openStore(ws.path('dangling.json')).prepareAppend())).message).toMatch(
      /link to nothing/,
    )
    const path = ws.path('metadata.json')
    await openStore(path).append(item(1))
    chmodSync(path, 0o444)
    const before = readFileSync(path)
    expect((await storeError(openStore(path).prepareAppend())).message).toMatch(/read-only \(mode 444\)/)
    expect((await storeError(openStore(path).append(item(2)))).message).toMatch(/read-only/)
    expect(readFileSync(path).equals(before)).toBe(true)
    expect(statSync(path).mode & 0o777).toBe(0o444)
  })

  it('rewrites a store of an older layout once, keeping every item and hash, its mode and owner', async () => {
    const ws = workspace()
    const path = ws.path('metadata.json')
    const { seal, GENESIS_HASH } = await import('../../src/metadata/chain.js')
    const first = seal(item(1), GENESIS_HASH)
    const second = seal(item(2), String(first.record_hash))
    const legacy = { session_id: 'legacy', metadata_kind: 'release-connector-delivery' }
    writeFileSync(path, JSON.stringify({ note: 'kept', items: [legacy, first, second] }, null, 2))
    chmodSync(path, 0o640)
    await openStore(path).append(item(3))
    const text = readFileSync(path, 'utf8')
    expect(text.split('\n')[0]).toBe(
      '{"schema_version":"cavra.evidence.metadata.v1","product":"CAVRA","note":"kept","items":[',
    )
    const document = JSON.parse(text) as { items: StoreItem[] }
    expect(document.items.slice(0, 3)).toEqual([legacy, first, second])
    expect(verifyChain(document.items)).toMatchObject({ legacy: 1, chained: 3, broken: null })
    expect(statSync(path).mode & 0o777).toBe(0o640)
  })
})

describe('a full disk', () => {
  // A small tmpfs of our own, in a private mount namespace (as root, or as a user namespace).
  const tmpfs = (() => {
    const probe = spawnSync(
      'unshare',
      ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /tmp && echo ok'],
      {
        encoding: 'utf8',
      },
    )
    return probe.stdout.includes('ok')
  })()

  it.runIf(tmpfs)('leaves the store as it was and says so, exit 5, when an append does not fit', async () => {
    const ws = workspace()
    const script = ws.write(
      'fill.mts',
      `import { openStore } from ${JSON.stringify(join(process.cwd(), 'src/metadata/store.ts'))}
import { readFileSync, writeFileSync } from 'node:fs'
const path = process.argv[2] + '/metadata.json'
const store = openStore(path)
await store.append({ session_id: 'a', metadata_kind: 'x' })
await store.append({ session_id: 'b', metadata_kind: 'x' })
const before = readFileSync(path)
// Fill what is left of the disk, then try an item that cannot fit.
try { writeFileSync(process.argv[2] + '/filler', Buffer.alloc(1024 * 1024)) } catch {}
let error
try { await store.append({ session_id: 'c', metadata_kind: 'x', filler: 'y'.repeat(20000) }) } catch (e) { error = e }
const after = readFileSync(path)
process.stdout.write(JSON.stringify({ name: error?.constructor?.name, message: error?.message, same: before.equals(after), items: JSON.parse(after.toString()).items.length }))
`,
    )
    mkdirSync(ws.path('disk'), { recursive: true })
    const run = spawnSync(
      'unshare',
      [
        '-rm',
        'sh',
        '-c',
        `mount -t tmpfs -o size=64k tmpfs "$1" && "$2" --import tsx "$3" "$1"`,
        'sh',
        ws.path('disk'),
        process.execPath,
        script,
      ],
      { encoding: 'utf8', cwd: process.cwd() },
    )
    expect(run.stderr).toBe('')
    const outcome = JSON.parse(run.stdout) as { name: string; message: string; same: boolean; items: number }
    expect(outcome).toMatchObject({ name: 'StoreError', same: true, items: 2 })
    expect(outcome.message).toMatch(/left as it was \(no space left on the device, ENOSPC\)/)
  })
})
