import {
  access,
  chmod,
  chown,
  constants,
  type FileHandle,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
} from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { type Adapter, Low } from 'lowdb'
import { randomBytes } from '../common/digest.js'
import { StoreError } from '../common/errors.js'
import { fsReason } from '../common/fs-errors.js'
import { type ChainReport, ChainWalker, GENESIS_HASH, hashMatches, type StoreItem, seal } from './chain.js'
import { acquireLock } from './file-lock.js'
import { readLineGroups } from './line-reader.js'
import type { MetadataStore, StoreVerification } from './metadata-store.js'
import { CLOSING, itemLine, parseHeaderLine, parseItemLine, wholeDocument } from './store-layout.js'

/**
 * The metadata store as one JSON file (docs/metadata-store.md). Appends write only the new
 * item at the end of the file (store-layout.ts), under an exclusive cross-process lock on
 * the file's real path; reads stream the file line by line and check the hash chain as they
 * go, so neither costs in proportion to the history held in memory.
 *
 * Crash safety: a process killed during an append leaves the old items followed by an
 * incomplete tail. The next writer, under the lock, moves the bytes after the last complete
 * item to `metadata.json.torn-<UTC time>` (kept for review) and closes the document again;
 * readers meanwhile read the complete items and say a repair is pending. Anything else that
 * does not parse is damage: never written, reported with exit 5.
 */

/** Temp files older than this were left by a process killed mid-write. */
const ORPHAN_TEMP_MS = 60_000
/** The end of the file read to find the last item; doubled while an item is longer. */
const TAIL_WINDOW = 64 * 1024

export class JsonFileStore implements MetadataStore {
  constructor(
    readonly path: string,
    private readonly notify: (message: string) => void = () => {},
  ) {}

  get description(): string {
    return this.path
  }

  /** Checks before anything is sent that an append will be possible (exit 5 otherwise). */
  async prepareAppend(): Promise<void> {
    const target = await this.target()
    await assertFolderWritable(this.path, dirname(target.real))
    if (!target.exists) return
    await assertFileWritable(this.path, target.real)
    const handle = await openStore(this.path, target.real, 'r')
    try {
      if (await isLineLayout(handle)) await this.inspectTail(handle, (await handle.stat()).size)
      else verifiedOrThrow(this.path, await readWholeDocument(this.path, target.real))
    } finally {
      await handle.close()
    }
  }

  /** Appends one item under the lock, sealing it into the chain. */
  async append(item: StoreItem): Promise<StoreItem> {
    const target = await this.target()
    await mkdir(dirname(target.real), { recursive: true }).catch((error) => {
      throw fsError(this.path, 'cannot create its folder', error)
    })
    const release = await lockOf(this.path, target.real)
    try {
      if (!(await exists(target.real))) return await this.create(target.real, item)
      await assertFileWritable(this.path, target.real)
      await this.convertIfOlderLayout(target.real)
      const handle = await openStore(this.path, target.real, 'r+')
      try {
        let size = (await handle.stat()).size
        let tail = await this.inspectTail(handle, size)
        if (tail.torn) {
          if (tail.closed) await writeAtEnd(this.path, handle, Buffer.from(CLOSING, 'utf8'), tail.cut, size)
          else await this.repair(handle, target.real, tail, size)
          size = tail.cut + (tail.unterminated ? 1 : 0) + CLOSING.length
          tail = await this.inspectTail(handle, size)
        }
        const sealed = seal(item, tail.head)
        const payload = Buffer.from(`${tail.hasItems ? ',' : ''}${itemLine(sealed)}\n${CLOSING}`, 'utf8')
        await writeAtEnd(this.path, handle, payload, size - CLOSING.length, size)
        return sealed
      } finally {
        await handle.close()
      }
    } finally {
      await release().catch(() => {})
      await removeOrphanTemps(target.real)
    }
  }

  /** Every item in store order, the chain checked as they pass; a break is a StoreError. */
  async *items(): AsyncGenerator<StoreItem> {
    const walker = new ChainWalker()
    for await (const group of this.read()) {
      for (const { item, text } of group) {
        const broken = walker.push(item, text)
        if (broken) throw brokenChain(this.path, walker.report())
        yield item
      }
    }
  }

  /**
   * Items as stored, with the line each was read from when the store has one per line, the
   * chain NOT checked: for a reader that walks the chain itself (an import keeps each line
   * the walk proves canonical instead of serialising its item again).
   */
  async *storedItems(): AsyncGenerator<StoredEntry> {
    for await (const group of this.read()) yield* group
  }

  async verify(): Promise<StoreVerification> {
    const target = await this.target()
    if (!target.exists) return { exists: false, report: new ChainWalker().report() }
    const walker = new ChainWalker()
    for await (const group of this.read()) for (const { item, text } of group) walker.push(item, text)
    return { exists: true, report: walker.report() }
  }

  async close(): Promise<void> {}

  /**
   * Items as stored, with the line each was read from (line layout only), in groups: the
   * items of one read of the file, so that a store's worth of items costs one async step per
   * megabyte instead of one per item.
   */
  private async *read(): AsyncGenerator<Iterable<StoredEntry>> {
    const target = await this.target()
    if (!target.exists) return
    const handle = await openStore(this.path, target.real, 'r')
    let lineLayout: boolean
    try {
      lineLayout = await isLineLayout(handle)
    } finally {
      await handle.close()
    }
    if (!lineLayout) {
      yield (await readWholeDocument(this.path, target.real)).items.map((item) => ({ item }))
      return
    }
    yield* this.readLines(target.real)
  }

  private async *readLines(file: string): AsyncGenerator<Iterable<Required<StoredEntry>>> {
    const walk: LineWalk = { number: 0, closed: false, items: 0 }
    // Each group is parsed as it is consumed, a line at a time: only the item in hand is held.
    for await (const lines of readLineGroups(file)) yield this.entriesOf(lines, walk)
    if (!walk.closed) {
      this.notify(
        `${this.path}: the end of the store is incomplete (an append in progress, or one that was interrupted); the ${walk.items} complete items were read. The next delivery into this store moves the incomplete end aside and closes the document.`,
      )
    }
  }

  /** The items of a group of lines, `walk` carrying what the lines before them showed. */
  private *entriesOf(lines: string[], walk: LineWalk): Generator<Required<StoredEntry>> {
    for (const line of lines) {
      const number = ++walk.number
      if (number === 1) continue
      if (walk.closed) {
        if (line.trim() !== '') throw damaged(this.path, `line ${number}: text after the end of the document`)
        continue
      }
      if (walk.incomplete !== undefined)
        throw damaged(this.path, `line ${walk.incomplete} is not a whole item`)
      if (line === ']}') {
        walk.closed = true
        continue
      }
      const parsed = parseItemLine(line)
      if (!parsed) {
        walk.incomplete = number
        continue
      }
      if (parsed.leadingComma !== walk.items > 0) {
        throw damaged(
          this.path,
          `line ${number} ${walk.items > 0 ? 'lacks' : 'has'} the comma that separates items`,
        )
      }
      walk.items++
      yield { item: parsed.item, text: parsed.text }
    }
  }

  private async target(): Promise<{ real: string; exists: boolean }> {
    try {
      const info = await lstat(this.path)
      if (!info.isSymbolicLink()) return { real: this.path, exists: true }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        // The folder may itself be reached through links; the lock must be on the real path.
        const folder = await realpath(dirname(this.path)).catch(() => dirname(this.path))
        return { real: join(folder, basename(this.path)), exists: false }
      }
      throw fsError(this.path, 'cannot be read', error)
    }
    try {
      return { real: await realpath(this.path), exists: true }
    } catch (error) {
      throw new StoreError(
        `${this.path}: is a link to ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'nothing' : 'a path that cannot be read'}; it was left untouched.`,
        ['Point --metadata-json at the store itself, or fix the link.'],
      )
    }
  }

  /** The first item of a new store: the whole document, written atomically. */
  private async create(real: string, item: StoreItem): Promise<StoreItem> {
    const sealed = seal(item, GENESIS_HASH)
    await writeWholeFile(this.path, real, wholeDocument([itemLine(sealed)]))
    return sealed
  }

  /**
   * A store in an older layout (the earlier two-space indent, the earlier tool's files) is
   * rewritten once into the line layout, atomically, keeping its items verbatim (their hashes
   * cover their canonical JSON, which does not depend on the layout) and its mode and owner.
   */
  private async convertIfOlderLayout(real: string): Promise<void> {
    const handle = await openStore(this.path, real, 'r')
    try {
      if (await isLineLayout(handle)) return
    } finally {
      await handle.close()
    }
    const document = verifiedOrThrow(this.path, await readWholeDocument(this.path, real))
    const { items, ...fields } = document
    await writeWholeFile(this.path, real, wholeDocument(items.map(itemLine), fields))
  }

  /** Finds the last item; a torn tail is located for repair, damage is a StoreError. */
  private async inspectTail(handle: FileHandle, size: number): Promise<Tail> {
    for (let window = TAIL_WINDOW; ; window *= 2) {
      const start = Math.max(0, size - window)
      const buffer = Buffer.alloc(size - start)
      await handle.read(buffer, 0, buffer.length, start)
      const tail = analyseTail(buffer, start)
      if (tail === 'need-more' && start > 0) continue
      if (tail === 'need-more' || tail === 'damaged') {
        // Only on this error path is the whole store read, to say exactly where the damage is.
        const { report } = await this.verify()
        if (report.broken) throw brokenChain(this.path, report)
        throw damaged(this.path, 'the end of the document is neither a whole item nor an interrupted append')
      }
      return tail
    }
  }

  private async repair(handle: FileHandle, real: string, tail: Tail, size: number): Promise<void> {
    const closing = `${tail.unterminated ? '\n' : ''}${CLOSING}`
    if (tail.cut === size) {
      // Only the newline and the closing were missing: nothing to keep aside.
      await writeAtEnd(this.path, handle, Buffer.from(closing, 'utf8'), tail.cut, size)
      this.notify(
        `${this.path}: an earlier append was interrupted after its item was written; the document was closed again.`,
      )
      return
    }
    const torn = Buffer.alloc(size - tail.cut)
    await handle.read(torn, 0, torn.length, tail.cut)
    const aside = await keepAside(real, torn)
    await writeAtEnd(this.path, handle, Buffer.from(closing, 'utf8'), tail.cut, size)
    this.notify(
      `${this.path}: an earlier append was interrupted; its incomplete end (${torn.length} bytes) was moved to ${aside} and the document closed again. Every complete item is kept.`,
    )
  }
}

/** An item as stored, with the line it was read from when the store has one item per line. */
export interface StoredEntry {
  item: StoreItem
  text?: string
}

/** Where a line-by-line read of the store stands. */
interface LineWalk {
  number: number
  closed: boolean
  items: number
  /** A line that is not a whole item: a torn tail only if nothing follows it. */
  incomplete?: number
}

export interface StoreDocument {
  items: StoreItem[]
  [field: string]: unknown
}

interface Tail {
  /** The document does not end exactly with its closing: an interrupted append, or other white space. */
  torn: boolean
  /** It ends with `]}` nonetheless: only the white space differs, nothing to keep aside. */
  closed: boolean
  hasItems: boolean
  /** The record_hash the next item links to. */
  head: string
  /** Where the complete part of the document ends. */
  cut: number
  /** The last whole item was written without its newline (a kill just before it). */
  unterminated?: boolean
}

/**
 * Reads the end of a line-layout document: `buffer` holds the file from byte `start` to its
 * end. A closed document ends with a `]}` line after its last item (or the header). Otherwise
 * the last whole line that is an item, whose hash verifies and that links to the line before
 * it, ends the complete part (`cut`, just after its newline), and what follows is a torn
 * tail. Lines are found on newline bytes, which never occur inside a UTF-8 character, so
 * offsets stay exact.
 */
function analyseTail(buffer: Buffer, start: number): Tail | 'need-more' | 'damaged' {
  let end = buffer.length
  while (end > 0 && [0x20, 0x09, 0x0d, 0x0a].includes(buffer[end - 1]!)) end--
  const closed = end >= 3 && buffer[end - 1] === 0x7d && buffer[end - 2] === 0x5d && buffer[end - 3] === 0x0a
  const exact = closed && end === buffer.length - 1 && buffer[buffer.length - 1] === 0x0a
  // Whole lines (each ending with a newline) before the closing line; in a torn end, also the
  // last line when it lacks only its newline (a kill just before it): a whole item is kept.
  let searchEnd = closed ? end - 2 : buffer.lastIndexOf(0x0a) + 1
  const lines: Array<{ text: string; after: number; unterminated?: boolean }> = []
  if (!closed && searchEnd < buffer.length && (searchEnd > 0 || start === 0)) {
    lines.push({
      text: buffer.subarray(searchEnd).toString('utf8'),
      after: start + buffer.length,
      unterminated: true,
    })
  }
  while (searchEnd > 0 && lines.length < 64) {
    const newline = searchEnd - 1
    const previous = buffer.lastIndexOf(0x0a, newline - 1)
    // The first line of the window may be cut, unless the window starts the file.
    if (previous < 0 && start > 0) break
    lines.push({ text: buffer.subarray(previous + 1, newline).toString('utf8'), after: start + newline + 1 })
    searchEnd = previous + 1
  }
  for (const [index, line] of lines.entries()) {
    if (parseHeaderLine(line.text)) {
      return { torn: !exact, closed, hasItems: false, head: GENESIS_HASH, cut: line.after }
    }
    const parsed = parseItemLine(line.text)
    const head = parsed ? headOf(parsed.item, parsed.text) : undefined
    if (!parsed || head === undefined) {
      // In a closed document the last line must be whole; only a torn end may hold broken lines.
      if (closed) return 'damaged'
      continue
    }
    const before = lines[index + 1]
    if (!before) return 'need-more'
    const previous = parseHeaderLine(before.text) ? GENESIS_HASH : headOfLine(before.text)
    if (parsed.item.prev_hash !== undefined && parsed.item.prev_hash !== previous) return 'damaged'
    return { torn: !exact, closed, hasItems: true, head, cut: line.after, unterminated: line.unterminated }
  }
  return start > 0 ? 'need-more' : 'damaged'
}

/** The record_hash a new item links to after `item`, or undefined when `item` fails its hash. */
function headOf(item: StoreItem, text: string): string | undefined {
  if (!('record_hash' in item) && !('prev_hash' in item)) return GENESIS_HASH
  const stored = item.record_hash
  return typeof stored === 'string' && hashMatches(item, stored, text) ? stored : undefined
}

function headOfLine(line: string): string | undefined {
  const parsed = parseItemLine(line)
  return parsed ? headOf(parsed.item, parsed.text) : undefined
}

async function isLineLayout(handle: FileHandle): Promise<boolean> {
  const buffer = Buffer.alloc(64 * 1024)
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
  const text = buffer.subarray(0, bytesRead).toString('utf8')
  const newline = text.indexOf('\n')
  return newline > 0 && parseHeaderLine(text.slice(0, newline)) !== undefined
}

/** An older layout, read whole: shape-checked, never written when damaged. */
async function readWholeDocument(path: string, real: string): Promise<StoreDocument> {
  let text: string
  try {
    text = await readFile(real, 'utf8')
  } catch (error) {
    throw fsError(path, 'cannot be read', error)
  }
  return parseDocument(path, text)
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

function verifiedOrThrow(path: string, document: StoreDocument): StoreDocument {
  const walker = new ChainWalker()
  for (const item of document.items) walker.push(item)
  const report = walker.report()
  if (report.broken) throw brokenChain(path, report)
  return document
}

export function damaged(path: string, problem: string): StoreError {
  return new StoreError(`${path}: the metadata store is damaged: ${problem}. It was left untouched.`, [
    'Restore it from a backup or version control, or move it aside to start a new store.',
    'Run `cavra metadata verify` to see where the damage is.',
  ])
}

export function brokenChain(path: string, chain: ChainReport): StoreError {
  const b = chain.broken!
  return new StoreError(
    `${path}: the hash chain is broken at item ${b.position}${b.session_id ? ` (${b.session_id})` : ''}: ${b.reason}; ${b.field} expected ${b.expected}, found ${b.found ?? 'none'}. The store was left untouched.`,
    ['Restore the store from a backup; run `cavra metadata verify` for the full report.'],
  )
}

function fsError(path: string, what: string, error: unknown): StoreError {
  return new StoreError(`${path}: ${what} (${fsReason(error)}).`, [
    'Pass --metadata-json with a writable path on a disk with free space, or --no-metadata to skip indexing.',
  ])
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

async function openStore(path: string, real: string, flags: 'r' | 'r+'): Promise<FileHandle> {
  const info = await stat(real).catch((error) => {
    throw fsError(path, 'cannot be read', error)
  })
  // A FIFO or a device would block or never end; a directory is not a store.
  if (!info.isFile()) throw new StoreError(`${path}: is not a regular file; it was left untouched.`)
  return open(real, flags).catch((error) => {
    throw fsError(path, flags === 'r' ? 'cannot be read' : 'cannot be written', error)
  })
}

/**
 * A store must be writable by its mode, for root too: root would otherwise replace a file
 * made read-only on purpose (0444) and silently take it over.
 */
async function assertFileWritable(path: string, real: string): Promise<void> {
  const info = await stat(real).catch((error) => {
    throw fsError(path, 'cannot be read', error)
  })
  if (!info.isFile()) throw new StoreError(`${path}: is not a regular file; it was left untouched.`)
  const uid = process.getuid?.()
  const writable =
    uid === 0
      ? (info.mode & 0o222) !== 0
      : await access(real, constants.W_OK).then(
          () => true,
          () => false,
        )
  if (!writable) {
    throw new StoreError(
      `${path}: is read-only (mode ${(info.mode & 0o777).toString(8)}); it was left untouched.`,
      ['Make it writable if deliveries should be indexed into it, or pass --no-metadata.'],
    )
  }
}

/** The lock and any rewrite live beside the store: its folder must take new files. */
async function assertFolderWritable(path: string, folder: string): Promise<void> {
  const probe = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.probe`)
  try {
    await mkdir(folder, { recursive: true })
    await (await open(probe, 'wx', 0o600)).close()
  } catch (error) {
    throw fsError(path, `its folder ${folder} is not writable`, error)
  } finally {
    await rm(probe, { force: true }).catch(() => {})
  }
}

/**
 * Writes `payload` at `position`, the end of the document. On any failure (a full disk) the
 * original end is put back and the file cut to its old size, so the store stays as it was.
 */
async function writeAtEnd(
  path: string,
  handle: FileHandle,
  payload: Buffer,
  position: number,
  size: number,
): Promise<void> {
  const original = Buffer.alloc(size - position)
  await handle.read(original, 0, original.length, position)
  try {
    let written = 0
    while (written < payload.length) {
      const { bytesWritten } = await handle.write(
        payload,
        written,
        payload.length - written,
        position + written,
      )
      written += bytesWritten
    }
    if (position + payload.length < size) await handle.truncate(position + payload.length)
    await handle.sync()
  } catch (error) {
    // Restoring the old end needs no new disk blocks: it overwrites bytes the file already had.
    await handle.write(original, 0, original.length, position).catch(() => {})
    await handle.truncate(size).catch(() => {})
    await handle.sync().catch(() => {})
    throw fsError(path, 'the item could not be appended; the store was left as it was', error)
  }
}

/** A whole document, atomically: unique temp file, fsync, the old file's mode and owner, rename, folder fsync. */
async function writeWholeFile(path: string, real: string, text: string): Promise<void> {
  const folder = dirname(real)
  const temp = join(folder, `.${basename(real)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const previous = await stat(real).catch(() => undefined)
  try {
    const handle = await open(temp, 'wx', previous ? previous.mode & 0o777 : 0o644)
    try {
      await handle.writeFile(text, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (previous) {
      await chmod(temp, previous.mode & 0o777)
      if (process.getuid?.() === 0) await chown(temp, previous.uid, previous.gid)
    }
    await rename(temp, real)
  } catch (error) {
    await rm(temp, { force: true }).catch(() => {})
    throw fsError(path, 'could not be written; the store was left as it was', error)
  }
  await syncFolder(folder)
}

/** The bytes of an interrupted append, kept beside the store for review, never deleted. */
async function keepAside(real: string, torn: Buffer): Promise<string> {
  const stamp = new Date()
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '')
  for (let copy = 1; ; copy++) {
    const aside = `${real}.torn-${stamp}${copy === 1 ? '' : `-${copy}`}`
    try {
      const handle = await open(aside, 'wx', 0o600)
      try {
        await handle.writeFile(torn)
        await handle.sync()
      } finally {
        await handle.close()
      }
      return aside
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || copy > 100) throw error
    }
  }
}

function lockOf(path: string, real: string): Promise<() => Promise<void>> {
  return acquireLock(real, {
    cannotLock: (reason) => fsError(path, 'cannot create its lock', { message: reason }),
    heldTooLong: (seconds) =>
      new StoreError(
        `${path}: another process has held ${real}.lock for over ${seconds} s; the delivery was made and its evidence written, but it was not indexed.`,
        [
          'Run the command again once the other cavra process has finished.',
          `If no cavra process is running, the lock is left over: remove the ${real}.lock folder.`,
        ],
      ),
  })
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

async function removeOrphanTemps(real: string): Promise<void> {
  const folder = dirname(real)
  const prefix = `.${basename(real)}.`
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

/** lowdb adapter for small JSON files written whole (the integration registry): durable, atomic. */
export class DurableJsonFile<T> implements Adapter<T> {
  constructor(readonly path: string) {}

  async read(): Promise<T | null> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as T
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw error
    }
  }

  async write(data: T): Promise<void> {
    await writeWholeFile(this.path, this.path, `${JSON.stringify(data, null, 2)}\n`)
  }
}

/** A lowdb database over a small JSON file. */
export function smallJsonFile<T>(path: string, defaults: T): Low<T> {
  return new Low<T>(new DurableJsonFile<T>(path), defaults)
}
