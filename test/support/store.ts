import { readFileSync } from 'node:fs'
import type { ChainReport, StoreItem } from '../../src/metadata/chain.js'
import { openStore } from '../../src/metadata/store.js'

/** The store as tests see it: every item, the chain report, and the notices it gave. */

export interface StoreSnapshot {
  exists: boolean
  items: StoreItem[]
  document: { items: StoreItem[] }
  chain: ChainReport
  notices: string[]
}

export async function assertWritable(path: string): Promise<void> {
  await openStore(path).prepareAppend()
}

export async function appendItem(path: string, item: StoreItem): Promise<StoreItem> {
  return openStore(path).append(item)
}

/** Reads every item (the chain checked unless `requireIntact` is false) and the chain report. */
export async function readStore(
  path: string,
  options: { requireIntact?: boolean } = {},
): Promise<StoreSnapshot> {
  const notices: string[] = []
  const store = openStore(path, (message) => notices.push(message))
  const verification = await store.verify()
  const items: StoreItem[] = []
  if (options.requireIntact === false) {
    // Read through verify's walk: collect what parses, whatever the chain says.
    const text = verification.exists ? readFileSync(path, 'utf8') : ''
    for (const line of text.split('\n').slice(1)) {
      const body = line.startsWith(',') ? line.slice(1) : line
      if (body.startsWith('{')) items.push(JSON.parse(body) as StoreItem)
    }
  } else {
    for await (const item of store.items()) items.push(item)
  }
  return { exists: verification.exists, items, document: { items }, chain: verification.report, notices }
}

/** The document as standard tools read it: it must always be one valid JSON document. */
export function readJson(path: string): { items: StoreItem[]; [field: string]: unknown } {
  return JSON.parse(readFileSync(path, 'utf8'))
}
