import { isUtf8 } from 'node:buffer'
import { InputError } from '../common/errors.js'
import { locateJsonError, MAX_JSON_DEPTH } from './json-scan.js'

/**
 * The limits every JSON input is held to before any of it is used, and the one way each
 * breach is reported: what, where (line and column, counted in characters) and what to do.
 */

export interface TextPosition {
  /** 1-based. */
  line: number
  /** 1-based, in characters (code points), as editors count. */
  column: number
}

/**
 * Counts lines and characters over UTF-8 bytes fed in order, so a position can be found by
 * streaming a file instead of loading it. Continuation bytes (10xxxxxx) start no character.
 */
export class PositionCounter {
  private newlines = 0
  private characters = 0

  advance(bytes: Uint8Array): void {
    for (const byte of bytes) {
      if (byte === 0x0a) {
        this.newlines++
        this.characters = 0
      } else if ((byte & 0xc0) !== 0x80) this.characters++
    }
  }

  get position(): TextPosition {
    return { line: this.newlines + 1, column: this.characters + 1 }
  }
}

export function positionInBytes(bytes: Uint8Array, offset: number): TextPosition {
  const counter = new PositionCounter()
  counter.advance(bytes.subarray(0, Math.max(0, Math.min(offset, bytes.length))))
  return counter.position
}

/**
 * Offset of the first byte that does not start a well-formed UTF-8 sequence (Unicode table
 * 3-7: no overlong forms, no surrogates, nothing above U+10FFFF), or -1. A sequence cut short
 * by the end of `bytes` counts as malformed.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let at = 0
  while (at < bytes.length) {
    const lead = bytes[at]!
    if (lead < 0x80) {
      at++
      continue
    }
    let size: number
    let low = 0x80
    let high = 0xbf
    if (lead >= 0xc2 && lead <= 0xdf) size = 2
    else if (lead === 0xe0) [size, low] = [3, 0xa0]
    else if (lead === 0xed) [size, high] = [3, 0x9f]
    else if (lead >= 0xe1 && lead <= 0xef) size = 3
    else if (lead === 0xf0) [size, low] = [4, 0x90]
    else if (lead === 0xf4) [size, high] = [4, 0x8f]
    else if (lead >= 0xf1 && lead <= 0xf3) size = 4
    else return at
    if (at + size > bytes.length) return at
    const second = bytes[at + 1]!
    if (second < low || second > high) return at
    for (let next = at + 2; next < at + size; next++) {
      if ((bytes[next]! & 0xc0) !== 0x80) return at
    }
    at += size
  }
  return -1
}

/**
 * Checks UTF-8 over chunks as they stream past: a character split between two chunks is held
 * back until the next one completes it. Records the first malformed byte and keeps going, so
 * the caller can finish hashing or spooling first.
 */
export class Utf8Validator {
  /** Byte offset of the first malformed sequence, or -1. */
  invalidAt = -1
  /** The byte found there. */
  invalidByte = 0
  private carry: Buffer = Buffer.alloc(0)
  private consumed = 0

  update(chunk: Buffer): void {
    if (this.invalidAt >= 0) return
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk
    const complete = completeLength(data)
    const body = data.subarray(0, complete)
    // isUtf8 (simdutf) is the fast path; the byte-by-byte scan only runs to find the offset.
    if (!isUtf8(body)) {
      const at = Math.max(0, firstInvalidUtf8(body))
      this.invalidAt = this.consumed + at
      this.invalidByte = body[at] ?? 0
      return
    }
    this.consumed += complete
    this.carry = Buffer.from(data.subarray(complete))
  }

  end(): void {
    if (this.invalidAt < 0 && this.carry.length > 0) {
      this.invalidAt = this.consumed
      this.invalidByte = this.carry[0]!
    }
  }
}

/** Length of `data` without a multi-byte sequence its last bytes begin but do not finish. */
function completeLength(data: Buffer): number {
  for (let back = 1; back <= Math.min(3, data.length); back++) {
    const byte = data[data.length - back]!
    if ((byte & 0xc0) === 0x80) continue
    const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1
    return size > back ? data.length - back : data.length
  }
  return data.length
}

/**
 * Byte offset of the `[` or `{` that opens level `max + 1`, or -1. Brackets inside strings do
 * not count; UTF-8 never uses bytes below 0x80 inside a multi-byte character, so scanning bytes
 * is exact. It does not check the syntax (JSON.parse does that next); it only makes sure that
 * nothing deeper than the limit is ever built.
 */
export function excessiveNesting(bytes: Uint8Array, max = MAX_JSON_DEPTH): number {
  let depth = 0
  let inString = false
  let escaped = false
  for (let at = 0; at < bytes.length; at++) {
    const byte = bytes[at]!
    if (inString) {
      if (escaped) escaped = false
      else if (byte === 0x5c) escaped = true
      else if (byte === 0x22) inString = false
    } else if (byte === 0x22) inString = true
    else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > max) return at
    } else if (byte === 0x5d || byte === 0x7d) depth--
  }
  return -1
}

/** What to do about a file that is not UTF-8; shared by every input. */
export function notUtf8Error(name: string, offset: number, byte: number, at: TextPosition): InputError {
  const hex = byte.toString(16).toUpperCase().padStart(2, '0')
  return new InputError(
    `${name}: not UTF-8 text: invalid byte 0x${hex} at byte offset ${offset} (line ${at.line}, column ${at.column}).`,
    [
      'JSON must be UTF-8: re-encode the file (for example `iconv -f LATIN1 -t UTF-8 FILE`) or fix what wrote it.',
    ],
  )
}

export function tooDeepError(name: string, at: TextPosition): InputError {
  return new InputError(
    `${name}: nested deeper than ${MAX_JSON_DEPTH} levels at line ${at.line}, column ${at.column}; cavra reads JSON nested at most ${MAX_JSON_DEPTH} levels deep.`,
    [
      'Check the producer of the file: no governance artifact nests this deep, so the file is corrupt or hostile.',
    ],
  )
}

export function syntaxError(name: string, at: TextPosition, problem: string, jsonPath?: string): InputError {
  const where = jsonPath ? ` (${jsonPath})` : ''
  return new InputError(`${name}: line ${at.line}, column ${at.column}${where}: ${problem}.`, [
    'Fix the JSON (a linter such as `jq . FILE` shows the same spot), then run the command again.',
  ])
}

/**
 * Parses a whole JSON document read into memory (release artifacts, export manifests and
 * provider files, all small): UTF-8 first, then the depth limit, then the syntax, each
 * reported with its position. Only then is the value built, by JSON.parse.
 */
export function parseJsonDocument(bytes: Buffer, name: string): unknown {
  if (!isUtf8(bytes)) {
    const offset = Math.max(0, firstInvalidUtf8(bytes))
    throw notUtf8Error(name, offset, bytes[offset] ?? 0, positionInBytes(bytes, offset))
  }
  const deep = excessiveNesting(bytes)
  if (deep >= 0) throw tooDeepError(name, positionInBytes(bytes, deep))
  try {
    return JSON.parse(bytes.toString('utf8'))
  } catch (error) {
    // JSON.parse's messages name a UTF-16 index at best, and none at all for some errors
    // ("Unexpected token"), so the streaming tokenizer finds the byte where reading stops.
    const located = locateJsonError(bytes)
    if (located) throw syntaxError(name, positionInBytes(bytes, located.offset), located.problem)
    const detail = (error as Error).message.replace(/ in JSON at position \d+.*$/, '')
    throw syntaxError(name, positionInBytes(bytes, bytes.length), `not valid JSON: ${detail}`)
  }
}
