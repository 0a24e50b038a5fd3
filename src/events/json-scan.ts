import {
  type ParsedTokenInfo,
  Tokenizer,
  TokenizerError,
  TokenParser,
  TokenParserError,
  TokenType,
} from '@streamparser/json'
import { type ByteSource, chunksOf } from './byte-source.js'
import { FastScanFailure, fastReadDecisions, fastScanEvents, parseElement } from './json-fast-scan.js'

/**
 * Streaming reader for event files: one JSON object, a JSON array of objects, or JSON Lines.
 *
 * The `decisions` array of each event is never materialised: its elements are handed to
 * `onDecision` one at a time and its byte range is remembered, so connectors can stream it
 * again later (`readDecisions`). Memory therefore stays bounded by the largest single
 * decision, not by the size of the file.
 *
 * A well-formed file is read by the quick scanner (json-fast-scan.ts), which leaves building
 * values to `JSON.parse`. Should it give up (a malformed file, or one it does not read), the
 * token-by-token parser below reads the file from the start instead, passing over what was
 * already handed on, so the caller sees the same values either way, and the exact error.
 */

export interface ByteRange {
  start: number
  end: number
}

export interface ScannedEvent {
  /** 0-based position of the event in the file. */
  index: number
  /** 1-based line where the event starts (JSON Lines errors name it). */
  line: number
  /** The event object without its `decisions` (see `decisions`). */
  fields: Record<string, unknown>
  /** Where the streamed `decisions` array sits in the file, if the event has one. */
  decisions: (ByteRange & { count: number }) | null
  /** Whether the file holds an array (paths start `$[i]`) or objects (`$`). */
  layout: 'object' | 'array'
}

export type DecisionVisitor = (
  event: { index: number; line: number; layout: 'object' | 'array' },
  decision: unknown,
  position: number,
) => void

/**
 * A malformed file: `offset` is the byte where reading stopped. `depth` marks a document nested
 * deeper than the limit, which is reported in its own words.
 */
export class JsonScanError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly jsonPath?: string,
    readonly kind: 'syntax' | 'depth' = 'syntax',
  ) {
    super(message)
  }
}

/**
 * How deeply a JSON input may nest. Real governance artifacts nest a handful of levels; the
 * limit exists so that a hostile or corrupt file (100,000 `[`) is refused up front, instead of
 * overflowing the stack in whatever later walks the value recursively (JSON.stringify in the
 * connectors, canonical JSON for event identity and the store's hash chain, redaction). 256
 * leaves those walkers a wide margin while accepting anything a producer plausibly writes.
 */
export const MAX_JSON_DEPTH = 256

const CHUNK_BYTES = 64 * 1024

export interface ScanOptions {
  /**
   * Events whose decisions the caller already knows (from an earlier pass over the same
   * file, which checked them): the quick scanner finds their range and counts them without
   * parsing them, and `onDecision` may not hear of them.
   */
  skipDecisionsOf?: (eventIndex: number) => boolean
}

export async function* scanEvents(
  source: ByteSource,
  onDecision?: DecisionVisitor,
  options: ScanOptions = {},
): AsyncGenerator<ScannedEvent> {
  const ready: ScannedEvent[] = []
  let current = { index: 0, line: 1, layout: 'object' as 'object' | 'array' }
  let visits = 0
  let yielded = 0
  const skip = options.skipDecisionsOf
  try {
    const scan = fastScanEvents(
      source,
      {
        eventStart(index, line, layout) {
          current = { index, line, layout }
          visits = 0
        },
        decision(value, position) {
          visits++
          onDecision?.(current, value, position)
        },
        eventEnd(fields, decisions) {
          ready.push({ ...current, fields, decisions })
        },
      },
      {
        maxDepth: MAX_JSON_DEPTH,
        // Every decision is parsed (and so checked) unless the caller knows it already.
        parseDecisionsOf: (index) => !skip?.(index),
      },
    )
    for await (const _ of scan) {
      while (ready.length > 0) {
        yielded++
        yield ready.shift()!
      }
    }
    return
  } catch (error) {
    if (!(error instanceof FastScanFailure)) throw error
  }
  // Events read whole before the quick scanner gave up are handed on; the token parser
  // takes over after them, and after the decisions of the next event already visited.
  while (ready.length > 0) {
    yielded++
    yield ready.shift()!
  }
  const resume = yielded
  const visited = visits
  const visitor: DecisionVisitor | undefined = onDecision
    ? (event, decision, position) => {
        if (event.index < resume) return
        if (event.index === resume && position < visited) return
        onDecision(event, decision, position)
      }
    : undefined
  for await (const event of scanEventsExactly(source, visitor)) {
    if (event.index >= resume) yield event
  }
}

/** The token-by-token reading of an event file: slower, and exact about every error. */
export async function* scanEventsExactly(
  source: ByteSource,
  onDecision?: DecisionVisitor,
): AsyncGenerator<ScannedEvent> {
  const ready: ScannedEvent[] = []
  const scanner = new EventScanner(onDecision, (event) => ready.push(event))
  for await (const chunk of chunksOf(source, CHUNK_BYTES)) {
    scanner.write(chunk)
    yield* ready.splice(0)
  }
  scanner.end()
  yield* ready.splice(0)
}

/** Streams the elements of one `decisions` array found by `scanEvents`. */
export async function* readDecisions(source: ByteSource, range: ByteRange): AsyncGenerator<unknown> {
  if (range.end <= range.start) return
  let yielded = 0
  try {
    for await (const { data, count, starts, ends } of fastReadDecisions(source, range, MAX_JSON_DEPTH)) {
      for (let i = 0; i < count; i++) {
        const value = parseElement(data, starts[i]!, ends[i]!)
        yielded++
        yield value
      }
    }
    return
  } catch (error) {
    if (!(error instanceof FastScanFailure)) throw error
  }
  let position = 0
  for await (const value of readDecisionsExactly(source, range)) {
    if (position++ >= yielded) yield value
  }
}

/** The token-by-token reading of one `decisions` array. */
export async function* readDecisionsExactly(source: ByteSource, range: ByteRange): AsyncGenerator<unknown> {
  if (range.end <= range.start) return
  const ready: unknown[] = []
  const tokenizer = new Tokenizer()
  const parser = new TokenParser({ paths: ['$.*'], keepStack: false })
  tokenizer.onToken = (token) => parser.write(token)
  parser.onValue = ({ value }) => ready.push(value)
  for await (const chunk of chunksOf(source, CHUNK_BYTES, range.start, range.end)) {
    tokenizer.write(chunk)
    yield* ready.splice(0)
  }
  tokenizer.end()
  yield* ready.splice(0)
}

class EventScanner {
  private readonly tokenizer = new Tokenizer({ separator: '' })
  private eventParser: TokenParser | undefined
  private layout: 'object' | 'array' | undefined
  private depth = 0
  private previous: ParsedTokenInfo | undefined
  private beforePrevious: ParsedTokenInfo | undefined
  private eventIndex = 0
  private eventStartLine = 1
  // Line tracking: newlines before `lineCursor` (an index into `chunk`) are in `linesBefore`.
  private chunk: Buffer = Buffer.alloc(0)
  private chunkBase = 0
  private lineCursor = 0
  private linesBefore = 0
  private bytesSeen = 0
  private arrayClosed = false
  // The decisions array currently being streamed out of the event.
  private decisionParser: TokenParser | undefined
  private decisionStart = 0
  private decisionCount = 0
  private pendingDecisions: (ByteRange & { count: number }) | null = null
  private lastTokenOffset = 0

  constructor(
    private readonly onDecision: DecisionVisitor | undefined,
    private readonly onEvent: (event: ScannedEvent) => void,
  ) {
    this.tokenizer.onToken = (token) => this.route(token)
  }

  write(chunk: Buffer): void {
    this.chunk = chunk
    this.chunkBase = this.bytesSeen
    this.lineCursor = 0
    try {
      this.tokenizer.write(chunk)
    } catch (error) {
      throw this.translate(error)
    }
    this.lineAt(this.chunkBase + chunk.length)
    this.bytesSeen += chunk.length
  }

  end(): void {
    if (this.layout === undefined) throw new JsonScanError('the file holds no JSON value', 0)
    if (this.depth > 0 || (this.layout === 'array' && !this.arrayClosed)) {
      throw new JsonScanError(TRUNCATED, this.bytesSeen)
    }
    try {
      this.tokenizer.end()
    } catch (error) {
      throw this.translate(error)
    }
  }

  private translate(error: unknown): unknown {
    // Errors thrown by our own callbacks (a decision that fails validation) pass through.
    const problem = describeStreamError(error, this.lastTokenOffset, this.bytesSeen)
    return problem ? new JsonScanError(problem.problem, problem.offset) : error
  }

  private route(token: ParsedTokenInfo): void {
    // The token parser's own errors carry no position; this is the token it was given.
    this.lastTokenOffset = token.offset
    if (this.layout === undefined) this.start(token)
    else if (this.layout === 'array' && this.arrayClosed && token.token !== TokenType.SEPARATOR) {
      throw new JsonScanError('unexpected content after the closing "]" of the event array', token.offset)
    }

    if (this.decisionParser) {
      this.routeDecisionToken(token)
      return
    }
    const eventDepth = this.layout === 'array' ? 1 : 0
    if (this.depth === eventDepth && token.token !== TokenType.SEPARATOR) {
      if (token.token === TokenType.LEFT_BRACE) this.beginEvent(token)
      else if (!(this.layout === 'array' && this.depth === 1 && isArrayPunctuation(token))) {
        const where = this.layout === 'array' ? `$[${this.eventIndex}]` : '$'
        throw new JsonScanError(
          `expected an event object, found ${describeToken(token)}`,
          token.offset,
          where,
        )
      }
    }
    if (
      token.token === TokenType.LEFT_BRACKET &&
      this.depth === eventDepth + 1 &&
      this.previous?.token === TokenType.COLON &&
      this.beforePrevious?.token === TokenType.STRING &&
      this.beforePrevious.value === 'decisions'
    ) {
      this.beginDecisions(token)
      return
    }
    this.adjustDepth(token)
    this.remember(token)
    this.eventParser?.write(token)
    if (this.layout === 'array' && this.depth === 0 && token.token === TokenType.RIGHT_BRACKET) {
      this.arrayClosed = true
    }
  }

  private start(token: ParsedTokenInfo): void {
    if (token.token === TokenType.LEFT_BRACKET) {
      this.layout = 'array'
      this.eventParser = new TokenParser({ paths: ['$.*'], keepStack: false })
    } else if (token.token === TokenType.LEFT_BRACE) {
      this.layout = 'object'
      this.eventParser = new TokenParser({ paths: ['$'], keepStack: false, separator: '' })
    } else {
      throw new JsonScanError(
        `expected an event object, an array of event objects or JSON Lines, found ${describeToken(token)}`,
        token.offset,
        '$',
      )
    }
    this.eventParser.onValue = ({ value }) => this.finishEvent(value)
  }

  private beginEvent(token: ParsedTokenInfo): void {
    this.eventStartLine = this.lineAt(token.offset)
    this.pendingDecisions = null
  }

  /** 1-based line of a byte offset; offsets only grow, so the count advances incrementally. */
  private lineAt(offset: number): number {
    const until = Math.min(Math.max(offset - this.chunkBase, this.lineCursor), this.chunk.length)
    let at = this.chunk.indexOf(10, this.lineCursor)
    while (at !== -1 && at < until) {
      this.linesBefore++
      at = this.chunk.indexOf(10, at + 1)
    }
    this.lineCursor = until
    return this.linesBefore + 1
  }

  private beginDecisions(token: ParsedTokenInfo): void {
    this.decisionStart = token.offset
    this.decisionCount = 0
    this.decisionParser = new TokenParser({ paths: ['$.*'], keepStack: false })
    const event = { index: this.eventIndex, line: this.eventStartLine, layout: this.layout ?? 'object' }
    this.decisionParser.onValue = ({ value, key }) => {
      this.decisionCount++
      this.onDecision?.(event, value, typeof key === 'number' ? key : this.decisionCount - 1)
    }
    this.decisionParser.write(token)
    this.adjustDepth(token)
    // The event parser sees an empty array in place of the decisions.
    this.eventParser?.write(token)
  }

  private routeDecisionToken(token: ParsedTokenInfo): void {
    this.decisionParser?.write(token)
    this.adjustDepth(token)
    const eventDepth = this.layout === 'array' ? 1 : 0
    if (token.token === TokenType.RIGHT_BRACKET && this.depth === eventDepth + 1) {
      this.pendingDecisions = { start: this.decisionStart, end: token.offset + 1, count: this.decisionCount }
      this.decisionParser = undefined
      this.eventParser?.write(token)
      this.remember(token)
    }
  }

  private finishEvent(value: unknown): void {
    const fields = value as Record<string, unknown>
    if (this.pendingDecisions) delete fields.decisions
    this.onEvent({
      index: this.eventIndex,
      line: this.eventStartLine,
      fields,
      decisions: this.pendingDecisions,
      layout: this.layout ?? 'object',
    })
    this.pendingDecisions = null
    this.eventIndex++
  }

  private adjustDepth(token: ParsedTokenInfo): void {
    if (token.token === TokenType.LEFT_BRACE || token.token === TokenType.LEFT_BRACKET) {
      // Stopping here keeps the values the token parsers build (and everything that later walks
      // them recursively: canonical JSON, JSON.stringify, redaction) within the limit.
      if (++this.depth > MAX_JSON_DEPTH) {
        throw new JsonScanError(
          `nested deeper than ${MAX_JSON_DEPTH} levels`,
          token.offset,
          undefined,
          'depth',
        )
      }
    } else if (token.token === TokenType.RIGHT_BRACE || token.token === TokenType.RIGHT_BRACKET) this.depth--
  }

  private remember(token: ParsedTokenInfo): void {
    this.beforePrevious = this.previous
    this.previous = token
  }
}

function isArrayPunctuation(token: ParsedTokenInfo): boolean {
  return token.token === TokenType.COMMA || token.token === TokenType.RIGHT_BRACKET
}

function describeToken(token: ParsedTokenInfo): string {
  switch (token.token) {
    case TokenType.LEFT_BRACKET:
      return 'an array'
    case TokenType.STRING:
      return 'a string'
    case TokenType.NUMBER:
      return 'a number'
    case TokenType.TRUE:
    case TokenType.FALSE:
      return 'a boolean'
    case TokenType.NULL:
      return 'null'
    default:
      return JSON.stringify(String(token.value))
  }
}

/**
 * What went wrong where, for an error of the tokenizer or the token parser; undefined for any
 * other error. The tokenizer names the absolute byte position in its message (its "chunk
 * position" is relative to the current chunk, hence useless here); the token parser names
 * none, so the caller passes the offset of the token it was writing.
 */
export function describeStreamError(
  error: unknown,
  tokenOffset: number,
  endOffset: number,
): { offset: number; problem: string } | undefined {
  if (error instanceof TokenizerError) {
    const absolute = /absolute position "?(\d+)"?/.exec(error.message)
    const unexpected = /^Unexpected "([\s\S]*?)" at/.exec(error.message)
    if (/ended in the middle of a token/.test(error.message)) return { offset: endOffset, problem: TRUNCATED }
    return {
      offset: absolute ? Number(absolute[1]) : tokenOffset,
      problem: `not valid JSON: ${unexpected ? `unexpected ${JSON.stringify(unexpected[1])}` : error.message}`,
    }
  }
  if (error instanceof TokenParserError) {
    // "Unexpected COMMA (\",\") in state VALUE": the parenthesis holds the token as JSON.
    const unexpected = /^Unexpected (?:partial )?\w+ \((.*)\) in state/.exec(error.message)
    return {
      offset: tokenOffset,
      problem: `not valid JSON: ${unexpected ? `unexpected ${unexpected[1]}` : error.message}`,
    }
  }
  return undefined
}

const TRUNCATED = 'the JSON ends before it is complete (is the file truncated?)'

/**
 * Finds where a document JSON.parse refused goes wrong, and why, by running it through the
 * streaming tokenizer and parser, which know the byte offset of every token. Undefined when
 * they find nothing wrong (the caller then falls back on JSON.parse's own message).
 */
export function locateJsonError(bytes: Uint8Array): { offset: number; problem: string } | undefined {
  const tokenizer = new Tokenizer()
  // No paths: nothing is emitted, the parser only checks the grammar.
  const parser = new TokenParser({ paths: [], keepStack: false })
  let offset = 0
  let tokens = 0
  tokenizer.onToken = (token) => {
    offset = token.offset
    tokens++
    if (parser.isEnded) {
      throw new TokenParserError(
        `Unexpected ${TokenType[token.token]} (${JSON.stringify(token.value)}) in state ENDED`,
      )
    }
    parser.write(token)
  }
  parser.onValue = () => {}
  try {
    tokenizer.write(bytes)
    tokenizer.end()
  } catch (error) {
    return describeStreamError(error, offset, bytes.length)
  }
  if (parser.isEnded) return undefined
  return tokens === 0
    ? { offset: 0, problem: 'the file holds no JSON value' }
    : { offset: bytes.length, problem: TRUNCATED }
}
