import { canonicalJson } from '../common/canonical-json.js'
import { sha256Hex } from '../common/digest.js'

/**
 * The hash chain of the metadata store (docs/metadata-store.md): each item's `record_hash` is
 * the sha256 of its canonical JSON (RFC 8785) without `record_hash`; `prev_hash` is the
 * previous item's `record_hash`, 64 zeros for the first. Items of the earlier tool carry no
 * hashes and form a legacy prefix; an unhashed item after the chain has started is a break.
 */

export const GENESIS_HASH = '0'.repeat(64)

export type StoreItem = Record<string, unknown>

export function recordHash(item: StoreItem): string {
  const { record_hash: _ignored, ...rest } = item
  return sha256Hex(canonicalJson(rest))
}

/** Adds `prev_hash` and `record_hash` to an item that follows `previous`. */
export function seal(item: StoreItem, previous: string): StoreItem {
  const withPrevious = { ...item, prev_hash: previous }
  return { ...withPrevious, record_hash: recordHash(withPrevious) }
}

/**
 * Whether `item`'s record_hash is the hash of the item. `canonicalLine`, when given, is the
 * text the item was parsed from: if that text is the item's canonical JSON, hashing it with
 * the record_hash member cut out gives the answer without re-serialising the item, and a
 * match proves the text canonical (sha256 admits no practical collision). Otherwise the
 * item is serialised canonically.
 */
export function hashMatches(item: StoreItem, stored: string, canonicalLine?: string): boolean {
  return hashCheck(item, stored, canonicalLine) !== 'mismatch'
}

/**
 * hashMatches, saying how: `canonical-line` when the line was hashed and is the item's
 * canonical JSON itself (so a store can keep the line as it is instead of serialising the item
 * again), `matches` when the hash matches otherwise, `mismatch` when it does not.
 */
export function hashCheck(
  item: StoreItem,
  stored: string,
  canonicalLine?: string,
): 'canonical-line' | 'matches' | 'mismatch' {
  if (canonicalLine !== undefined) {
    const member = `"record_hash":${JSON.stringify(stored)}`
    const at = canonicalLine.indexOf(member)
    if (at > 0) {
      let start = at
      let end = at + member.length
      if (canonicalLine[start - 1] === ',') start--
      else if (canonicalLine[end] === ',') end++
      const without = canonicalLine.slice(0, start) + canonicalLine.slice(end)
      if (sha256Hex(without) === stored) {
        return recordHashInPlace(item, canonicalLine, at + member.length) ? 'canonical-line' : 'matches'
      }
    }
  }
  return recordHash(item) === stored ? 'matches' : 'mismatch'
}

/**
 * Whether the record_hash member ending at `after` stands where canonical JSON puts it. The
 * line without that member was proven to be the canonical JSON of the rest of the item (its
 * hash matched), so the member is the item's own, its members are sorted, and the line is
 * canonical exactly when the member is followed by the next key in sort order (or ends the
 * object when no key sorts after it).
 */
function recordHashInPlace(item: StoreItem, line: string, after: number): boolean {
  let next: string | undefined
  for (const key of Object.keys(item)) {
    // Canonical JSON sorts keys by UTF-16 code units, as < compares strings.
    if (key > 'record_hash' && (next === undefined || key < next)) next = key
  }
  if (next === undefined) return after === line.length - 1 && line[after] === '}'
  return line.startsWith(`,${JSON.stringify(next)}:`, after)
}

export interface ChainBreak {
  /** 1-based position of the item in the store. */
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

/** Walks the chain one item at a time, so a store of any size is checked in constant memory. */
export class ChainWalker {
  private total = 0
  private legacy = 0
  private chained = 0
  private head = GENESIS_HASH
  private started = false
  private broken: ChainBreak | null = null
  private lineCanonical = false

  /** Whether the line given with the last item pushed was proven to be that item's canonical JSON. */
  get lastLineCanonical(): boolean {
    return this.lineCanonical
  }

  /** Checks the next item; the first break is kept and returned, and ends the walk. */
  push(item: StoreItem, canonicalLine?: string): ChainBreak | null {
    const position = ++this.total
    this.lineCanonical = false
    // After a break the walk only counts, so a report still says how many items there are.
    if (this.broken) return this.broken
    const sessionId = typeof item.session_id === 'string' ? item.session_id : null
    const hasHashes = 'record_hash' in item || 'prev_hash' in item
    if (!hasHashes) {
      if (this.started) {
        return this.fail({
          position,
          session_id: sessionId,
          field: 'record_hash',
          expected: recordHash({ ...item, prev_hash: this.head }),
          found: null,
          reason: 'an item without hashes follows the hash chain (inserted or stripped)',
        })
      }
      this.legacy++
      return null
    }
    this.started = true
    const previous = typeof item.prev_hash === 'string' ? item.prev_hash : null
    if (previous !== this.head) {
      return this.fail({
        position,
        session_id: sessionId,
        field: 'prev_hash',
        expected: this.head,
        found: previous,
        reason: 'prev_hash does not match the previous item (an item was removed, reordered or edited)',
      })
    }
    const stored = typeof item.record_hash === 'string' ? item.record_hash : null
    const check = stored !== null && HEX64.test(stored) ? hashCheck(item, stored, canonicalLine) : 'mismatch'
    if (check === 'mismatch') {
      return this.fail({
        position,
        session_id: sessionId,
        field: 'record_hash',
        expected: recordHash(item),
        found: stored,
        reason: 'record_hash does not match the item (the item was edited after it was written)',
      })
    }
    this.head = stored!
    this.lineCanonical = check === 'canonical-line'
    this.chained++
    return null
  }

  report(): ChainReport {
    return {
      total: this.total,
      legacy: this.legacy,
      chained: this.chained,
      head: this.head,
      broken: this.broken,
    }
  }

  private fail(broken: ChainBreak): ChainBreak {
    this.broken = broken
    return broken
  }
}

export function verifyChain(items: Iterable<StoreItem>): ChainReport {
  const walker = new ChainWalker()
  for (const item of items) walker.push(item)
  return walker.report()
}
