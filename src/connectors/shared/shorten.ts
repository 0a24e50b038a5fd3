/**
 * Shortening records to a destination's size limits. SIEMs cut what is over their limits
 * silently and after a success answer (Splunk's props.conf `TRUNCATE`, Azure Monitor's column
 * value limits, Datadog's 1 MB log), which loses the end of a record and leaves JSON that no
 * longer parses. cavra cuts first, visibly: a shortened text keeps its beginning and ends with
 * `…[truncated N bytes]`, N being the UTF-8 bytes removed, and the connector counts the records
 * it shortened. The full record stays in the source artifact. Every size is in UTF-8 bytes, as
 * the vendors measure. Pure functions; the input is never changed.
 */

/** The marker that ends a shortened text. */
export function truncationMark(removedBytes: number): string {
  return `…[truncated ${removedBytes} bytes]`
}

/** The smallest budget a text can be shortened to: the longest marker plus some text. */
export const MIN_SHORTENED_BYTES = 48

/** Identifying fields kept in a stand-in, each cut to this many bytes of JSON. */
const STAND_IN_ID_BYTES = 100

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

/** Bytes of the value as JSON text. */
export function jsonBytes(value: unknown): number {
  return utf8Bytes(JSON.stringify(value) ?? '')
}

/** A result and whether anything was shortened to get it. */
export interface Fitted<T> {
  value: T
  shortened: boolean
}

/**
 * `text` itself when it has at most `maxBytes` UTF-8 bytes; otherwise its beginning, cut at a
 * whole character, followed by the marker, all within `maxBytes`.
 */
export function shortenText(text: string, maxBytes: number): string {
  if (maxBytes < MIN_SHORTENED_BYTES) throw new RangeError(`cannot shorten a text to ${maxBytes} bytes`)
  const bytes = utf8Bytes(text)
  if (bytes <= maxBytes) return text
  // The marker for the whole length is the longest one this text can need.
  const room = maxBytes - utf8Bytes(truncationMark(bytes))
  // `room` UTF-16 units encode to at least `room` bytes; never split a surrogate pair.
  let end = Math.min(room, text.length)
  const last = text.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  const head = Buffer.from(text.slice(0, end), 'utf8')
  let keep = Math.min(room, head.length)
  // Back up to the first byte of a character (continuation bytes are 10xxxxxx).
  while (keep > 0 && ((head[keep] ?? 0) & 0xc0) === 0x80) keep--
  return `${head.subarray(0, keep).toString('utf8')}${truncationMark(bytes - keep)}`
}

/**
 * Like `shortenText`, with the budget for the text as a JSON string: quotes and escapes count.
 * A text of escapes alone (control characters take 6 bytes each) may stay over a budget near
 * the minimum; `fitJson` checks the result.
 */
export function shortenJsonString(text: string, maxJsonBytes: number): string {
  let budget = Math.max(MIN_SHORTENED_BYTES, maxJsonBytes - 2)
  for (;;) {
    const shortened = shortenText(text, budget)
    const size = jsonBytes(shortened)
    if (size <= maxJsonBytes || budget === MIN_SHORTENED_BYTES) return shortened
    // Escapes (quotes, backslashes, control characters) made it longer: scale the budget down
    // by that ratio, and by at least a byte, so the loop ends.
    budget = Math.max(MIN_SHORTENED_BYTES, Math.min(budget - 1, Math.floor((budget * maxJsonBytes) / size)))
  }
}

interface Leaf {
  holder: Record<string, unknown> | unknown[]
  key: string | number
  text: string
  bytes: number
}

function stringLeaves(value: unknown, leaves: Leaf[] = []): Leaf[] {
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      if (typeof item === 'string')
        leaves.push({ holder: value, key: index, text: item, bytes: jsonBytes(item) })
      else stringLeaves(item, leaves)
    })
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (typeof item === 'string') {
        leaves.push({ holder: value as Record<string, unknown>, key, text: item, bytes: jsonBytes(item) })
      } else stringLeaves(item, leaves)
    }
  }
  return leaves
}

/**
 * The largest cap such that the strings, each cut to at most `cap` JSON bytes, fit in `room`
 * (water filling: the longest strings give way first, short identifying ones stay whole).
 * Undefined when every string already fits.
 */
function commonCap(sizes: number[], room: number): number | undefined {
  const ascending = [...sizes].sort((a, b) => a - b)
  let left = room
  for (let index = 0; index < ascending.length; index++) {
    const size = ascending[index]!
    const remaining = ascending.length - index
    if (size * remaining <= left) {
      left -= size
      continue
    }
    return Math.floor(left / remaining)
  }
  return undefined
}

/**
 * `value` with its longest strings (at any depth) shortened so that its JSON is at most
 * `maxBytes`; undefined when cutting strings cannot make it fit (the keys, numbers and
 * structure alone are too large).
 */
export function fitJson<T extends Record<string, unknown>>(
  value: T,
  maxBytes: number,
): Fitted<T> | undefined {
  const total = jsonBytes(value)
  if (total <= maxBytes) return { value, shortened: false }
  const copy = structuredClone(value)
  const leaves = stringLeaves(copy)
  const strings = leaves.reduce((sum, leaf) => sum + leaf.bytes, 0)
  const cap = commonCap(
    leaves.map((leaf) => leaf.bytes),
    maxBytes - (total - strings),
  )
  if (cap === undefined || cap < MIN_SHORTENED_BYTES + 2) return undefined
  for (const leaf of leaves) {
    if (leaf.bytes <= cap) continue
    const shortened = shortenJsonString(leaf.text, cap)
    if (Array.isArray(leaf.holder)) leaf.holder[leaf.key as number] = shortened
    else leaf.holder[leaf.key as string] = shortened
  }
  return jsonBytes(copy) <= maxBytes ? { value: copy, shortened: true } : undefined
}

/**
 * What stands in for a record that no shortening of its strings can fit: a small JSON object
 * that says so, how large the record was, and which record it is. Fits any budget of 1,000
 * bytes or more.
 */
export function standIn(
  fields: Record<string, unknown>,
  originalBytes: number,
  maxBytes: number,
): Record<string, unknown> {
  const id = (value: unknown) =>
    typeof value === 'number' && Number.isFinite(value)
      ? value
      : typeof value === 'string'
        ? shortenJsonString(value, STAND_IN_ID_BYTES)
        : undefined
  return {
    shortened: truncationMark(originalBytes),
    original_bytes: originalBytes,
    limit_bytes: maxBytes,
    note: 'too large for the destination; the full record is in the source artifact',
    record_type: id(fields.record_type),
    event_id: id(fields.event_id),
    event_type: id(fields.event_type),
    decision_index: id(fields.decision_index),
    decision_id: id(fields.decision_id),
  }
}

/** A record's fields within `maxBytes` of JSON: shortened strings first, a stand-in as the last resort. */
export function fitFields(
  fields: Record<string, unknown>,
  maxBytes: number,
): Fitted<Record<string, unknown>> {
  return fitJson(fields, maxBytes) ?? { value: standIn(fields, jsonBytes(fields), maxBytes), shortened: true }
}
