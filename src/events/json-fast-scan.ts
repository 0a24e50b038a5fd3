import { readWindows, WINDOW_BYTES } from '../common/file-windows.js'
import { keepStreamHeapFlat } from '../common/stream-heap.js'
import type { ByteSource } from './byte-source.js'

/**
 * The quick way through an event file: the structure around the events and their `decisions`
 * is followed byte by byte (strings are skipped with a native search for their closing
 * quote), and every value is built by the engine's own `JSON.parse`, one decision or one
 * event header at a time. It is several times faster than a token-by-token parser and holds
 * no more in memory: the read window grows only to fit the largest single decision.
 *
 * It knows one thing only: how to read a well-formed file. Anything else (a syntax error, a
 * nesting deeper than the limit, a byte order mark, the end of the file too soon) makes it
 * give up (`FastScanFailure`), and the token parser in json-scan.ts reads the file instead,
 * which says exactly what is wrong and where. Every byte of the file is either checked here
 * (white space and the punctuation between values) or handed to `JSON.parse`, so a file read
 * to the end here is one the token parser reads the same way, value for value.
 */

export class FastScanFailure extends Error {}

/** What the scanner reports while it reads. */
export interface FastScanSink {
  /** An event begins, on 1-based `line`. */
  eventStart(index: number, line: number, layout: 'object' | 'array'): void
  /** One element of a `decisions` array, by position (only for events `parseDecisionsOf` names). */
  decision(value: unknown, position: number): void
  /** The event ended: its fields (each `decisions` array read as `[]`) and where the last one was. */
  eventEnd(
    fields: Record<string, unknown>,
    decisions: { start: number; end: number; count: number } | null,
  ): void
}

enum S {
  Top,
  ArrayOpen,
  ArrayNext,
  ArrayElement,
  Closed,
  ObjectNext,
  EventOpen,
  EventKeyStart,
  EventKey,
  EventColon,
  EventValue,
  EventAfter,
  DecisionsOpen,
  DecisionsAfter,
  DecisionsElement,
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const NEWLINE = 0x0a
/** `"decisions"` without its quotes. */
const DECISIONS_KEY = Buffer.from('decisions')
/** Windows read before a stream counts as long and keeps its heap flat (common/stream-heap.ts). */
const STREAMING_WINDOWS = 4

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09
}

function fail(): never {
  throw new FastScanFailure('not a file the quick scanner reads')
}

/**
 * The index just after the string whose opening quote is at `from - 1`, or -1 when the
 * string does not end within `data`.
 */
function stringEnd(data: Buffer, from: number): number {
  let at = from
  for (;;) {
    const quote = data.indexOf(QUOTE, at)
    if (quote === -1) return -1
    let backslashes = 0
    while (quote - backslashes - 1 >= from && data[quote - backslashes - 1] === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return quote + 1
    at = quote + 1
  }
}

/**
 * The index just after the value starting at `start`, or -1 when it does not end within
 * `data` (and more may follow). `depth` is the nesting level the value starts at; a value
 * that would nest deeper than `maxDepth` fails.
 */
function valueEnd(data: Buffer, start: number, eof: boolean, depth: number, maxDepth: number): number {
  const first = data[start]!
  if (first === QUOTE) return stringEnd(data, start + 1)
  if (first === 0x7b || first === 0x5b) {
    let level = 0
    const end = data.length
    for (let at = start; at < end; at++) {
      const byte = data[at]!
      if (byte === QUOTE) {
        const after = stringEnd(data, at + 1)
        if (after === -1) return -1
        at = after - 1
      } else if (byte === 0x7b || byte === 0x5b) {
        if (depth + ++level > maxDepth) fail()
      } else if (byte === 0x7d || byte === 0x5d) {
        if (--level === 0) return at + 1
        if (level < 0) fail()
      }
    }
    return -1
  }
  // A number, true, false or null: it ends at the next delimiter, and is not empty.
  for (let at = start; at < data.length; at++) {
    const byte = data[at]!
    if (byte === 0x2c || byte === 0x5d || byte === 0x7d || isSpace(byte)) return at > start ? at : fail()
    if (byte === 0x7b || byte === 0x5b || byte === QUOTE || byte === 0x3a) fail()
  }
  return eof ? data.length : -1
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return fail()
  }
}

export interface FastScanOptions {
  maxDepth: number
  /** Parse each decision of the event at this index and report it; otherwise its decisions are only counted. */
  parseDecisionsOf: (eventIndex: number) => boolean
  /** Bytes read at a time (the window grows beyond it only for a larger single value). */
  chunkBytes?: number
}

/**
 * Reads `source` as event objects, an array of them or JSON Lines, reporting to `sink` as it
 * goes; yields after each window, so the caller can hand on what was reported. Throws
 * FastScanFailure when the file is not one it reads (see above).
 */
export async function* fastScanEvents(
  source: ByteSource,
  sink: FastScanSink,
  options: FastScanOptions,
): AsyncGenerator<void> {
  const scanner = new EventFileScanner(sink, options)
  for await (const _ of scanWindows(source, 0, undefined, options.chunkBytes, (data, base, eof) =>
    scanner.scan(data, base, eof),
  ))
    yield
  scanner.finish()
}

/**
 * Where the elements of a window are: `data[starts[i], ends[i])` for `i < count`, valid until
 * the next window. The offsets live in typed arrays reused from window to window: a window's
 * offsets outlive several young-generation collections while its decisions are delivered, so
 * fresh arrays per window were promoted to the old generation and piled up there as garbage.
 */
export interface ElementWindow {
  data: Buffer
  count: number
  starts: Uint32Array
  ends: Uint32Array
}

/**
 * Finds the elements of the `decisions` array at `[start, end)` of `source` (as found by a
 * scan), a window at a time; the caller parses each (`parseElement`) when it needs it, so a
 * decision is built only when its turn comes and no window's worth of them is kept alive.
 */
export async function* fastReadDecisions(
  source: ByteSource,
  range: { start: number; end: number },
  maxDepth: number,
): AsyncGenerator<ElementWindow> {
  const window: ElementWindow = {
    data: Buffer.alloc(0),
    count: 0,
    starts: new Uint32Array(1024),
    ends: new Uint32Array(1024),
  }
  const scanner = new ArrayScanner((start, end) => {
    if (window.count === window.starts.length) {
      const starts = new Uint32Array(window.count * 2)
      const ends = new Uint32Array(window.count * 2)
      starts.set(window.starts)
      ends.set(window.ends)
      window.starts = starts
      window.ends = ends
    }
    window.starts[window.count] = start
    window.ends[window.count++] = end
  }, maxDepth)
  for await (const data of scanWindows(source, range.start, range.end, undefined, (data, base, eof) =>
    scanner.scan(data, base, eof),
  )) {
    window.data = data
    yield window
    window.count = 0
  }
  if (!scanner.closed) fail()
}

/** The value at `data[start, end)`; FastScanFailure when it is not JSON. */
export function parseElement(data: Buffer, start: number, end: number): unknown {
  return parse(data.toString('utf8', start, end))
}

/**
 * Feeds `scan` windows of the source (common/file-windows.ts): kept bytes are one window.
 * Once a stream has read a few windows, its heap is kept flat (common/stream-heap.ts).
 */
async function* scanWindows(
  source: ByteSource,
  start: number,
  limit: number | undefined,
  chunkBytes = WINDOW_BYTES,
  scan: (data: Buffer, base: number, eof: boolean) => number,
): AsyncGenerator<Buffer> {
  if (typeof source !== 'string') {
    const data = source.subarray(start, limit)
    scan(data, start, true)
    yield data
    return
  }
  let windows = 0
  for await (const data of readWindows(source, start, limit, chunkBytes, scan)) {
    yield data
    if (++windows >= STREAMING_WINDOWS) keepStreamHeapFlat()
  }
}

/** The structure of an event file, followed across windows; each step consumes a whole token or value. */
class EventFileScanner {
  private state = S.Top
  private layout: 'object' | 'array' | undefined
  private eventIndex = 0
  // Lines: newlines before `lineOffset` (a file offset) are counted in `lines`.
  private lines = 0
  private lineOffset = 0
  // The event being read: its text so far (decisions arrays as `[]`); while `collecting`, the
  // text from file offset `headerFrom` on is still in the window.
  private headerParts: string[] = []
  private collecting = false
  private headerFrom = 0
  private isDecisionsKey = false
  private parseCurrent = false
  private decisionsStart = 0
  private decisionCount = 0
  private lastDecisions: { start: number; end: number; count: number } | null = null

  constructor(
    private readonly sink: FastScanSink,
    private readonly options: FastScanOptions,
  ) {}

  private get eventDepth(): number {
    return this.layout === 'array' ? 2 : 1
  }

  scan(data: Buffer, base: number, eof: boolean): number {
    let at = 0
    const end = data.length
    const { maxDepth } = this.options
    for (;;) {
      while (at < end && isSpace(data[at]!)) at++
      if (at >= end) break
      const byte = data[at]!
      switch (this.state) {
        case S.Top:
          if (byte === 0x5b) {
            this.layout = 'array'
            this.state = S.ArrayOpen
            at++
          } else if (byte === 0x7b) {
            this.layout = 'object'
            this.beginEvent(data, base, at)
            at++
          } else fail()
          break
        case S.ArrayOpen:
          if (byte === 0x5d) {
            this.state = S.Closed
            at++
          } else if (byte === 0x7b) {
            this.beginEvent(data, base, at)
            at++
          } else fail()
          break
        case S.ArrayNext:
          if (byte === 0x2c) {
            this.state = S.ArrayElement
            at++
          } else if (byte === 0x5d) {
            this.state = S.Closed
            at++
          } else fail()
          break
        case S.ArrayElement:
        case S.ObjectNext:
          if (byte !== 0x7b) fail()
          this.beginEvent(data, base, at)
          at++
          break
        case S.Closed:
          fail()
          break
        case S.EventOpen:
          if (byte === 0x7d) {
            at = this.endEvent(data, base, at + 1)
          } else if (byte === QUOTE) this.state = S.EventKey
          else fail()
          break
        case S.EventKeyStart:
          if (byte !== QUOTE) fail()
          this.state = S.EventKey
          break
        case S.EventKey: {
          const after = stringEnd(data, at + 1)
          if (after === -1) return this.consumed(data, base, at, eof)
          this.isDecisionsKey = isDecisionsKey(data, at + 1, after - 1)
          this.state = S.EventColon
          at = after
          break
        }
        case S.EventColon:
          if (byte !== 0x3a) fail()
          this.state = S.EventValue
          at++
          break
        case S.EventValue:
          if (this.isDecisionsKey && byte === 0x5b) {
            if (this.eventDepth + 1 > maxDepth) fail()
            // The event's text keeps the `[`; its elements are read one by one.
            this.keepHeader(data, base, at + 1)
            this.collecting = false
            this.decisionsStart = base + at
            this.decisionCount = 0
            this.state = S.DecisionsOpen
            at++
          } else {
            const after = valueEnd(data, at, eof, this.eventDepth, maxDepth)
            if (after === -1) return this.consumed(data, base, at, eof)
            this.state = S.EventAfter
            at = after
          }
          break
        case S.EventAfter:
          if (byte === 0x2c) {
            this.state = S.EventKeyStart
            at++
          } else if (byte === 0x7d) {
            at = this.endEvent(data, base, at + 1)
          } else fail()
          break
        case S.DecisionsOpen:
        case S.DecisionsElement:
          if (byte === 0x5d && this.state === S.DecisionsOpen) {
            this.endDecisions(base, at)
            at++
            break
          }
          {
            const after = valueEnd(data, at, eof, this.eventDepth + 1, maxDepth)
            if (after === -1) return this.consumed(data, base, at, eof)
            if (this.parseCurrent)
              this.sink.decision(parse(data.toString('utf8', at, after)), this.decisionCount)
            this.decisionCount++
            this.state = S.DecisionsAfter
            at = after
          }
          break
        case S.DecisionsAfter:
          if (byte === 0x2c) {
            this.state = S.DecisionsElement
            at++
          } else if (byte === 0x5d) {
            this.endDecisions(base, at)
            at++
          } else fail()
          break
      }
    }
    return this.consumed(data, base, at, eof)
  }

  finish(): void {
    const done =
      this.layout === 'object'
        ? this.state === S.ObjectNext
        : this.layout === 'array' && this.state === S.Closed
    if (!done) fail()
  }

  /** What the window holds before `at` is consumed: the part of an event's text in it is kept as text. */
  private consumed(data: Buffer, base: number, at: number, eof: boolean): number {
    if (this.collecting) this.keepHeader(data, base, at)
    this.countLines(data, base, base + at)
    if (eof && at < data.length) fail()
    return base + at
  }

  private beginEvent(data: Buffer, base: number, at: number): void {
    this.countLines(data, base, base + at)
    this.headerParts = []
    this.collecting = true
    this.headerFrom = base + at
    this.lastDecisions = null
    this.state = S.EventOpen
    this.parseCurrent = this.options.parseDecisionsOf(this.eventIndex)
    this.sink.eventStart(this.eventIndex, this.lines + 1, this.layout ?? 'object')
  }

  private endEvent(data: Buffer, base: number, after: number): number {
    this.keepHeader(data, base, after)
    this.collecting = false
    const text = this.headerParts.length === 1 ? this.headerParts[0]! : this.headerParts.join('')
    this.headerParts = []
    const fields = parse(text) as Record<string, unknown>
    if (this.lastDecisions) delete fields.decisions
    this.sink.eventEnd(fields, this.lastDecisions)
    this.eventIndex++
    this.state = this.layout === 'array' ? S.ArrayNext : S.ObjectNext
    return after
  }

  private endDecisions(base: number, at: number): void {
    this.lastDecisions = { start: this.decisionsStart, end: base + at + 1, count: this.decisionCount }
    // The event's text goes on from the closing `]`.
    this.collecting = true
    this.headerFrom = base + at
    this.state = S.EventAfter
  }

  /** Keeps the event's text from `headerFrom` up to window index `to`. */
  private keepHeader(data: Buffer, base: number, to: number): void {
    const from = this.headerFrom - base
    if (to > from) this.headerParts.push(data.toString('utf8', from, to))
    this.headerFrom = base + to
  }

  private countLines(data: Buffer, base: number, until: number): void {
    if (until <= this.lineOffset) return
    let at = Math.max(0, this.lineOffset - base)
    const stop = until - base
    for (;;) {
      const newline = data.indexOf(NEWLINE, at)
      if (newline === -1 || newline >= stop) break
      this.lines++
      at = newline + 1
    }
    this.lineOffset = until
  }
}

/** One `decisions` array on its own, from its `[`: where each element is. */
class ArrayScanner {
  closed = false
  private state = S.Top

  constructor(
    private readonly onElement: (start: number, end: number) => void,
    private readonly maxDepth: number,
  ) {}

  scan(data: Buffer, base: number, eof: boolean): number {
    let at = 0
    const end = data.length
    for (;;) {
      while (at < end && isSpace(data[at]!)) at++
      if (at >= end) break
      const byte = data[at]!
      if (this.closed) fail()
      if (this.state === S.Top) {
        if (byte !== 0x5b) fail()
        this.state = S.DecisionsOpen
        at++
      } else if (this.state === S.DecisionsAfter) {
        if (byte === 0x2c) this.state = S.DecisionsElement
        else if (byte === 0x5d) this.closed = true
        else fail()
        at++
      } else if (byte === 0x5d && this.state === S.DecisionsOpen) {
        this.closed = true
        at++
      } else {
        // The array sits in an event (at depth 1 or 2); its elements were checked against the
        // limit by the scan that found it, so only a file changed since then can fail here.
        const after = valueEnd(data, at, eof, 2, this.maxDepth)
        if (after === -1) break
        this.onElement(at, after)
        this.state = S.DecisionsAfter
        at = after
      }
    }
    if (eof && at < data.length) fail()
    return base + at
  }
}

function isDecisionsKey(data: Buffer, from: number, to: number): boolean {
  if (data.indexOf(BACKSLASH, from) !== -1 && data.indexOf(BACKSLASH, from) < to) {
    // An escaped key ("decision\u0073") means the same key.
    return parse(data.toString('utf8', from - 1, to + 1)) === 'decisions'
  }
  return (
    to - from === DECISIONS_KEY.length && data.compare(DECISIONS_KEY, 0, DECISIONS_KEY.length, from, to) === 0
  )
}
