import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { type Adapter, Low } from 'lowdb'
import lockfile from 'proper-lockfile'
import { StoreError } from '../common/errors.js'
import { type ChainReport, type StoreItem, seal, verifyChain } from './chain.js'

/**
 * The metadata store (docs/metadata-store.md): one JSON document, read and written through lowdb. Every
 * append happens under an exclusive cross-process lock (`<file>.lock`), re-reads and verifies
 * the document, and replaces it atomically: a unique temp file in the same folder, fsync,
 * rename, fsync of the folder. A damaged document is never overwritten.
 */

export const METADATA_SCHEMA = 'cavra.evidence.metadata.v1'
export const DEFAULT_METADATA_PATH = '.cavra/evidence/metadata.json'

export interface StoreDocument {
  schema_version?: string
  product?: string
  items: StoreItem[]
  [field: string]: unknown
}

/** How long an append waits for another process's lock before giving up (exit 5). */
const LOCK_WAIT_MS = Number(process.env.CAVRA_METADATA_LOCK_WAIT_MS ?? 15_000)
/** A lock not refreshed for this long belongs to a process that died; proper-lockfile takes it over. */
const LOCK_STALE_MS = 5_000
/** Temp files older than this were left by a process killed mid-write. */
const ORPHAN_TEMP_MS = 60_000

export function metadataPathFrom(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? env.CAVRA_METADATA_JSON ?? DEFAULT_METADATA_PATH
}

/**
 * lowdb adapter with the durability the store needs. lowdb's own JSONFile writes through
 * steno, which uses one fixed temp name and never fsyncs: two processes can interleave in
 * that temp file, and a power loss can leave an empty document.
 */
export class DurableJsonFile implements Adapter<StoreDocument> {
  constructor(readonly path: string) {}

  async read(): Promise<StoreDocument | null> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw new StoreError(
        `${this.path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? error}).`,
      )
    }
    return parseDocument(this.path, text)
  }

  async write(data: StoreDocument): Promise<void> {
    const folder = dirname(this.path)
    const temp = join(folder, `.${basename(this.path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
    const handle = await open(temp, 'wx', 0o644)
    try {
      await handle.writeFile(`${JSON.stringify(data, null, 2)}\n`, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    try {
      await rename(temp, this.path)
    } catch (error) {
      await rm(temp, { force: true })
      throw error
    }
    await syncFolder(folder)
  }
}

/** Parses and shape-checks a store document; anything else is a StoreError naming the problem. */
export function parseDocument(path: string, text: string): StoreDocument {
  if (text.trim() === '') throw damaged(path, 'the file is empty (truncated?)')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw damaged(path, `not valid JSON (${(error as Error).message})`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw damaged(path, 'expected an object with an "items" array')
  }
  const document = value as StoreDocument
  if (!Array.isArray(document.items)) throw damaged(path, '"items" is missing or not an array')
  const notObject = document.items.findIndex(
    (item) => item === null || typeof item !== 'object' || Array.isArray(item),
  )
  if (notObject !== -1) throw damaged(path, `items[${notObject}] is not an object`)
  return document
}

function damaged(path: string, problem: string): StoreError {
  return new StoreError(`${path}: the metadata store is damaged: ${problem}. It was left untouched.`, [
    'Restore it from a backup or version control, or move it aside to start a new store.',
    'Run `cavra metadata verify` to see where the damage is.',
  ])
}

export interface StoreSnapshot {
  exists: boolean
  document: StoreDocument
  chain: ChainReport
}

/** Reads the store for readers: a missing file is an empty store; damage is a StoreError. */
export async function readStore(
  path: string,
  options: { requireIntact?: boolean } = {},
): Promise<StoreSnapshot> {
  const data = await new DurableJsonFile(path).read()
  const document = data ?? { schema_version: METADATA_SCHEMA, product: 'CAVRA', items: [] }
  const chain = verifyChain(document.items)
  if ((options.requireIntact ?? true) && chain.broken) throw brokenChain(path, chain)
  return { exists: data !== null, document, chain }
}

export function brokenChain(path: string, chain: ChainReport): StoreError {
  const b = chain.broken!
  return new StoreError(
    `${path}: the hash chain is broken at item ${b.position}${b.session_id ? ` (${b.session_id})` : ''}: ${b.reason}; ${b.field} expected ${b.expected}, found ${b.found ?? 'none'}. The store was left untouched.`,
    ['Restore the store from a backup; run `cavra metadata verify` for the full report.'],
  )
}

/**
 * Appends one item under the lock, sealing it into the chain. The item is built before the
 * lock is taken, so the lock is held only for reading the head and writing.
 */
export async function appendItem(path: string, item: StoreItem): Promise<StoreItem> {
  await mkdir(dirname(path), { recursive: true })
  const release = await acquireLock(path)
  try {
    const db = new Low<StoreDocument>(new DurableJsonFile(path), { items: [] })
    await db.read()
    const chain = verifyChain(db.data.items)
    if (chain.broken) throw brokenChain(path, chain)
    const sealed = seal(item, chain.head)
    db.data = {
      schema_version: METADATA_SCHEMA,
      product: 'CAVRA',
      ...db.data,
      items: [...db.data.items, sealed],
    }
    await db.write()
    await removeOrphanTemps(path)
    return sealed
  } finally {
    await release().catch(() => {})
  }
}

/** Checks before anything is sent that an append will be possible (exit 5 otherwise). */
export async function assertWritable(path: string): Promise<void> {
  await readStore(path)
  const folder = dirname(path)
  try {
    await mkdir(folder, { recursive: true })
    const probe = join(folder, `.${basename(path)}.${process.pid}.probe`)
    await (await open(probe, 'w')).close()
    await rm(probe, { force: true })
  } catch (error) {
    throw new StoreError(
      `${path}: the folder ${folder} is not writable (${(error as NodeJS.ErrnoException).code ?? error}).`,
      ['Pass --metadata-json with a writable path, or --no-metadata to skip indexing.'],
    )
  }
}

async function acquireLock(path: string): Promise<() => Promise<void>> {
  const started = Date.now()
  for (;;) {
    try {
      return await lockfile.lock(path, {
        realpath: false,
        stale: LOCK_STALE_MS,
        update: LOCK_STALE_MS / 2,
        retries: { retries: 20, minTimeout: 5, maxTimeout: 100, factor: 1.5, randomize: true },
      })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
        throw new StoreError(`${path}: cannot create its lock (${(error as Error).message}).`)
      }
      if (Date.now() - started >= LOCK_WAIT_MS) {
        throw new StoreError(
          `${path}: another process has held ${path}.lock for over ${Math.round(LOCK_WAIT_MS / 1000)} s; the delivery was made and its evidence written, but it was not indexed.`,
          [
            'Run the command again once the other cavra process has finished.',
            `If no cavra process is running, the lock is left over: remove the ${path}.lock folder.`,
          ],
        )
      }
    }
  }
}

async function syncFolder(folder: string): Promise<void> {
  try {
    const handle = await open(folder, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  }
}

async function removeOrphanTemps(path: string): Promise<void> {
  const folder = dirname(path)
  const prefix = `.${basename(path)}.`
  try {
    for (const name of await readdir(folder)) {
      if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue
      const file = join(folder, name)
      const info = await stat(file).catch(() => undefined)
      if (info && Date.now() - info.mtimeMs > ORPHAN_TEMP_MS) await rm(file, { force: true })
    }
  } catch {
    // Cleaning up is a courtesy; never fail an append for it.
  }
}
