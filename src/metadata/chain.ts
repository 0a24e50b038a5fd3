import { createHash } from 'node:crypto'
import { canonicalJson } from '../common/canonical-json.js'

/**
 * The hash chain of the metadata store (docs/metadata-store.md): each item's `record_hash` is the sha256 of
 * its canonical JSON (RFC 8785) without `record_hash`; `prev_hash` is the previous item's
 * `record_hash`, 64 zeros for the first. Items of the earlier tool carry no hashes and form a
 * legacy prefix; an unhashed item after the chain has started is a break.
 */

export const GENESIS_HASH = '0'.repeat(64)

export type StoreItem = Record<string, unknown>

export function recordHash(item: StoreItem): string {
  const { record_hash: _ignored, ...rest } = item
  return createHash('sha256').update(canonicalJson(rest)).digest('hex')
}

/** Adds `prev_hash` and `record_hash` to an item that follows `previous`. */
export function seal(item: StoreItem, previous: string): StoreItem {
  const withPrevious = { ...item, prev_hash: previous }
  return { ...withPrevious, record_hash: recordHash(withPrevious) }
}

export interface ChainBreak {
  /** 1-based position of the item in `items`. */
  position: number
  session_id: string | null
  field: 'prev_hash' | 'record_hash'
  expected: string
  found: string | null
  reason: string
}

export interface ChainReport {
  total: number
  legacy: number
  chained: number
  /** record_hash of the last chained item (the next prev_hash). */
  head: string
  broken: ChainBreak | null
}

const HEX64 = /^[0-9a-f]{64}$/

export function verifyChain(items: readonly StoreItem[]): ChainReport {
  let legacy = 0
  let chained = 0
  let head = GENESIS_HASH
  let started = false
  for (const [index, item] of items.entries()) {
    const position = index + 1
    const sessionId = typeof item.session_id === 'string' ? item.session_id : null
    const hasHashes = 'record_hash' in item || 'prev_hash' in item
    if (!hasHashes) {
      if (started) {
        return report(items, legacy, chained, head, {
          position,
          session_id: sessionId,
          field: 'record_hash',
          expected: recordHash({ ...item, prev_hash: head }),
          found: null,
          reason: 'an item without hashes follows the hash chain (inserted or stripped)',
        })
      }
      legacy++
      continue
    }
    started = true
    const previous = typeof item.prev_hash === 'string' ? item.prev_hash : null
    if (previous !== head) {
      return report(items, legacy, chained, head, {
        position,
        session_id: sessionId,
        field: 'prev_hash',
        expected: head,
        found: previous,
        reason: 'prev_hash does not match the previous item (an item was removed, reordered or edited)',
      })
    }
    const stored = typeof item.record_hash === 'string' ? item.record_hash : null
    const actual = recordHash(item)
    if (stored === null || !HEX64.test(stored) || stored !== actual) {
      return report(items, legacy, chained, head, {
        position,
        session_id: sessionId,
        field: 'record_hash',
        expected: actual,
        found: stored,
        reason: 'record_hash does not match the item (the item was edited after it was written)',
      })
    }
    head = stored
    chained++
  }
  return report(items, legacy, chained, head, null)
}

function report(
  items: readonly StoreItem[],
  legacy: number,
  chained: number,
  head: string,
  broken: ChainBreak | null,
): ChainReport {
  return { total: items.length, legacy, chained, head, broken }
}
