import { Emulator, json, type RecordedRequest, type Reply } from './emulator.js'

/**
 * Splunk HTTP Event Collector, as strict as the real one (Troubleshoot HTTP Event Collector,
 * "Possible error codes"): `Authorization: Splunk <token>`; events as JSON objects
 * concatenated back to back; `event` required and not blank; indexed `fields` flat; the
 * index in the token's allowed list; a GUID channel, required when the token has indexer
 * acknowledgement; `max_content_length` enforced with 413; sequential ackIds per channel.
 *
 * Indexing cuts what the sourcetype's `TRUNCATE` allows (props.conf, default 10000 bytes:
 * https://docs.splunk.com/Documentation/Splunk/latest/Admin/Propsconf), after HEC has answered
 * `Success`: the `event` value becomes `_raw` (time, host, source, sourcetype, index and
 * `fields` are metadata, not part of it: https://help.splunk.com/en/splunk-enterprise/get-data-in/collect-http-event-data/format-events-for-http-event-collector),
 * and a `_raw` over the limit is cut there, rounded down to a whole UTF-8 character. The
 * stored event is then that cut text, no longer JSON, and each cut is listed in
 * `truncations` so a test can see the data loss Splunk never reports to the sender.
 *
 * `htmlProxy` puts a reverse proxy in front that answers every request with its HTML sign-in
 * page and 200, as an SSO gateway or captive portal in front of HEC does; nothing is stored.
 */

export interface HecEvent {
  time?: number
  host?: string
  source?: string
  sourcetype?: string
  index?: string
  fields?: Record<string, unknown>
  /** The event as indexed: the object sent, or the text `TRUNCATE` left of it. */
  event: Record<string, unknown> | string
}

/** An event `TRUNCATE` cut at indexing: data lost after a `Success` answer. */
export interface HecTruncation {
  /** The request's position among all requests received. */
  request: number
  /** The event's position in that request. */
  index: number
  /** Bytes of `_raw` as sent. */
  bytes: number
  /** Bytes kept. */
  kept: number
}

export interface SplunkHecOptions {
  token: string
  allowedIndexes?: string[]
  defaultIndex?: string
  /** The token has indexer acknowledgement on (useACK=1). */
  ackEnabled?: boolean
  /** Polls that answer false before an ackId reads true. */
  pollsBeforeIndexed?: number
  maxContentLength?: number
  /** The sourcetype's props.conf `TRUNCATE` in bytes (default 10000, Splunk's; 0 = never cut). */
  truncate?: number
}

/** props.conf `TRUNCATE` default. */
export const SPLUNK_DEFAULT_TRUNCATE = 10_000

const PROXY_SIGN_IN_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Sign in - Corporate SSO</title></head>' +
  '<body><form method="post" action="/login"><input name="username"><input name="password" type="password">' +
  '<button>Sign in</button></form></body></html>\n'

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export class SplunkHecEmulator extends Emulator {
  readonly events: HecEvent[] = []
  /** Events indexed cut short by `TRUNCATE`: the silent data loss. */
  readonly truncations: HecTruncation[] = []
  /** A reverse proxy in front answers every request with its HTML sign-in page and 200. */
  htmlProxy = false
  /** What `/services/collector/health` reports: healthy (code 17), or queues full (503 code 18). */
  queuesFull = false
  /** The token is disabled in Splunk (403 code 1 "Token disabled"). */
  tokenDisabled = false
  private readonly acks = new Map<string, { next: number; polls: Map<number, number> }>()

  constructor(readonly options: SplunkHecOptions) {
    super('splunk-hec')
    for (const path of [
      '/services/collector/event',
      '/services/collector',
      '/services/collector/event/1.0',
    ]) {
      this.route('POST', path, (request) => this.proxied() ?? this.collect(request))
    }
    this.route('POST', '/services/collector/ack', (request) => this.proxied() ?? this.ack(request))
    this.route(
      'GET',
      '/services/collector/health',
      () =>
        this.proxied() ??
        (this.queuesFull
          ? json(503, { text: 'HEC is unhealthy, queues are full', code: 18 })
          : json(200, { text: 'HEC is healthy', code: 17 })),
    )
  }

  /** Forgets every event, channel and acknowledgement, as well as requests and faults. */
  override reset(): void {
    super.reset()
    this.events.length = 0
    this.truncations.length = 0
    this.htmlProxy = false
    this.queuesFull = false
    this.tokenDisabled = false
    this.acks.clear()
  }

  private proxied(): Reply | undefined {
    if (!this.htmlProxy) return undefined
    return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: PROXY_SIGN_IN_PAGE }
  }

  /** What the index keeps of an accepted event: `_raw` cut to `TRUNCATE` bytes, the cut recorded. */
  private indexed(event: HecEvent, request: number, index: number): HecEvent {
    const limit = this.options.truncate ?? SPLUNK_DEFAULT_TRUNCATE
    const raw = typeof event.event === 'string' ? event.event : JSON.stringify(event.event)
    const bytes = Buffer.from(raw, 'utf8')
    if (limit === 0 || bytes.length <= limit) return event
    let kept = limit
    // "rounded down when this would otherwise land mid-character for multi-byte characters"
    while (kept > 0 && (bytes[kept]! & 0xc0) === 0x80) kept--
    this.truncations.push({ request, index, bytes: bytes.length, kept })
    return { ...event, event: bytes.subarray(0, kept).toString('utf8') }
  }

  private authorise(request: RecordedRequest): Reply | undefined {
    const header = request.headers.authorization
    if (!header) return json(401, { text: 'Token is required', code: 2 })
    const match = /^Splunk (\S+)$/.exec(header)
    if (!match) return json(401, { text: 'Invalid authorization', code: 3 })
    if (match[1] !== this.options.token) return json(403, { text: 'Invalid token', code: 4 })
    if (this.tokenDisabled) return json(403, { text: 'Token disabled', code: 1 })
    return undefined
  }

  private channelOf(request: RecordedRequest): { channel?: string; reply?: Reply } {
    const channel = request.headers['x-splunk-request-channel'] ?? request.query.get('channel') ?? undefined
    if (channel === undefined) {
      return this.options.ackEnabled
        ? { reply: json(400, { text: 'Data channel is missing', code: 10 }) }
        : {}
    }
    if (!GUID.test(channel)) return { reply: json(400, { text: 'Invalid data channel', code: 11 }) }
    return { channel }
  }

  private collect(request: RecordedRequest): Reply {
    const denied = this.authorise(request)
    if (denied) return denied
    const { channel, reply } = this.channelOf(request)
    if (reply) return reply
    if (this.options.maxContentLength !== undefined && request.body.length > this.options.maxContentLength) {
      return { status: 413, body: 'Content-Length of request exceeds max_content_length' }
    }
    if (request.body.length === 0) return json(400, { text: 'No data', code: 5 })
    const parsed = parseConcatenated(request.text)
    if ('error' in parsed) {
      return json(400, { text: 'Invalid data format', code: 6, 'invalid-event-number': parsed.index })
    }
    const accepted: HecEvent[] = []
    for (const [index, event] of parsed.values.entries()) {
      if (event === null || typeof event !== 'object' || Array.isArray(event)) {
        return json(400, { text: 'Invalid data format', code: 6, 'invalid-event-number': index })
      }
      const hec = event as Record<string, unknown>
      if (!('event' in hec))
        return json(400, { text: 'Event field is required', code: 12, 'invalid-event-number': index })
      if (hec.event === '' || hec.event === null) {
        return json(400, { text: 'Event field cannot be blank', code: 13, 'invalid-event-number': index })
      }
      if (hec.fields !== undefined) {
        const nested = Object.values(hec.fields as object).some(
          (value) => value !== null && typeof value === 'object',
        )
        if (nested)
          return json(400, {
            text: 'Error in handling indexed fields',
            code: 15,
            'invalid-event-number': index,
          })
      }
      const index_ = (hec.index as string | undefined) ?? this.options.defaultIndex
      if (
        this.options.allowedIndexes &&
        index_ !== undefined &&
        !this.options.allowedIndexes.includes(index_)
      ) {
        return json(400, { text: 'Incorrect index', code: 7, 'invalid-event-number': index })
      }
      accepted.push(hec as unknown as HecEvent)
    }
    const requestNumber = this.requests.indexOf(request)
    this.events.push(...accepted.map((event, index) => this.indexed(event, requestNumber, index)))
    if (this.options.ackEnabled && channel) {
      const state = this.acks.get(channel) ?? { next: 0, polls: new Map() }
      this.acks.set(channel, state)
      const ackId = state.next++
      state.polls.set(ackId, 0)
      return json(200, { text: 'Success', code: 0, ackId })
    }
    return json(200, { text: 'Success', code: 0 })
  }

  private ack(request: RecordedRequest): Reply {
    const denied = this.authorise(request)
    if (denied) return denied
    if (!this.options.ackEnabled) return json(400, { text: 'ACK is disabled', code: 14 })
    const { channel, reply } = this.channelOf(request)
    if (reply) return reply
    let body: { acks?: unknown }
    try {
      body = JSON.parse(request.text)
    } catch {
      return json(400, { text: 'Invalid data format', code: 6 })
    }
    if (!Array.isArray(body.acks)) return json(400, { text: 'Invalid data format', code: 6 })
    const state = this.acks.get(channel ?? '')
    const result: Record<string, boolean> = {}
    for (const id of body.acks as number[]) {
      const polls = state?.polls.get(id)
      if (polls === undefined) {
        result[String(id)] = false
        continue
      }
      state!.polls.set(id, polls + 1)
      result[String(id)] = polls + 1 > (this.options.pollsBeforeIndexed ?? 0)
    }
    return json(200, { acks: result })
  }
}

/** Parses JSON objects concatenated back to back, as HEC reads its body. */
export function parseConcatenated(text: string): { values: unknown[] } | { error: string; index: number } {
  const values: unknown[] = []
  let position = 0
  while (position < text.length) {
    while (position < text.length && /\s/.test(text[position]!)) position++
    if (position >= text.length) break
    const end = endOfValue(text, position)
    if (end === -1) return { error: 'unterminated', index: values.length }
    try {
      values.push(JSON.parse(text.slice(position, end)))
    } catch {
      return { error: 'invalid', index: values.length }
    }
    position = end
  }
  return { values }
}

function endOfValue(text: string, start: number): number {
  if (text[start] !== '{' && text[start] !== '[') {
    const match = /^[^\s{[]+/.exec(text.slice(start))
    return match ? start + match[0].length : -1
  }
  let depth = 0
  let inString = false
  for (let i = start; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '{' || c === '[') depth++
    else if (c === '}' || c === ']') {
      depth--
      if (depth === 0) return i + 1
    }
  }
  return -1
}
