import { createReadStream } from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { InputError } from '../common/errors.js'
import { fsReason } from '../common/fs-errors.js'
import type { StoreItem } from './chain.js'
import { JsonFileStore } from './json-store.js'
import { CLOSING, headerLine, itemLine } from './store-layout.js'

/**
 * Moving a store's items between stores and files: `metadata import` reads a JSON store or
 * JSON Lines (one item per line, as `metadata export --format jsonl` writes) as a stream;
 * `metadata export` writes either store as either format. Items are carried as they are,
 * hashes included, so the chain is the same wherever it goes.
 */

export type ExportFormat = 'json' | 'jsonl'

/**
 * The items of a JSON store or a JSON Lines file, one at a time, with the text each was read
 * from; the chain is not checked here (the importer walks it).
 */
export async function* itemsOfFile(path: string): AsyncGenerator<{ item: StoreItem; text?: string }> {
  if (await isJsonLines(path)) {
    yield* jsonLines(path)
    return
  }
  // A JSON store in any layout it has had, with each item's line when it has one: the
  // importer walks the chain (and refuses a broken one) as items pass.
  yield* new JsonFileStore(path).storedItems()
}

/** JSON Lines: the first line is a whole JSON object that is not a store document. */
async function isJsonLines(path: string): Promise<boolean> {
  const lines = createInterface({ input: openForReading(path), crlfDelay: Number.POSITIVE_INFINITY })
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue
      try {
        const value = JSON.parse(line) as unknown
        return value !== null && typeof value === 'object' && !Array.isArray(value) && !('items' in value)
      } catch {
        return false
      }
    }
    return false
  } finally {
    lines.close()
  }
}

async function* jsonLines(path: string): AsyncGenerator<{ item: StoreItem; text: string }> {
  const lines = createInterface({ input: openForReading(path), crlfDelay: Number.POSITIVE_INFINITY })
  let number = 0
  for await (const line of lines) {
    number++
    if (line.trim() === '') continue
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      value = undefined
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new InputError(
        `${path}:${number}: not a JSON object, so the file is not a store in JSON Lines.`,
        ['Give a metadata.json store or the output of `cavra metadata export --format jsonl`.'],
      )
    }
    yield { item: value as StoreItem, text: line }
  }
}

function openForReading(path: string) {
  const stream = createReadStream(path)
  stream.on('error', () => {
    // Reported by the reader's own iteration.
  })
  return stream
}

/** Checks that the file to import can be read (exit 4 otherwise), before anything is written. */
export async function checkReadable(path: string): Promise<void> {
  try {
    await (await open(path, 'r')).close()
  } catch (error) {
    throw new InputError(`${path}: cannot read the store to import (${fsReason(error)}).`, [
      'Give the path of a metadata.json store or a JSON Lines export.',
    ])
  }
}

export interface ItemSink {
  write(text: string): Promise<void>
}

/** Writes items as a JSON store document (the layout `metadata.json` has) or as JSON Lines; returns the count. */
export async function writeItems(
  items: AsyncIterable<StoreItem>,
  format: ExportFormat,
  sink: ItemSink,
): Promise<number> {
  let count = 0
  let chunk = format === 'json' ? `${headerLine()}\n` : ''
  for await (const item of items) {
    chunk += `${format === 'json' && count > 0 ? ',' : ''}${itemLine(item)}\n`
    count++
    if (chunk.length >= 1 << 20) {
      await sink.write(chunk)
      chunk = ''
    }
  }
  if (format === 'json') chunk += CLOSING
  await sink.write(chunk)
  return count
}

/** A file written whole or not at all: a temp file beside it, renamed into place at the end. */
export async function writeFileAtomically(
  path: string,
  write: (sink: ItemSink) => Promise<number>,
): Promise<number> {
  const temp = `${path}.${process.pid}.tmp`
  const handle = await open(temp, 'wx', 0o640)
  try {
    const count = await write({ write: async (text) => void (await handle.write(text)) })
    await handle.sync()
    await handle.close()
    await rename(temp, path)
    return count
  } catch (error) {
    await handle.close().catch(() => {})
    await rm(temp, { force: true })
    throw error
  }
}
