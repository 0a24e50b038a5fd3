import { z } from 'zod'
import { randomUuid } from '../common/digest.js'
import { ConfigError } from '../common/errors.js'
import type { HttpResponse } from '../delivery/http.js'
import { isRetryableStatus } from '../delivery/retry.js'
import type { Session } from '../delivery/session.js'
import { excerpt, statusText, type Verdict } from '../delivery/verdict.js'
import type { DeliveryEvent } from '../events/event.js'
import { configuredHeaders } from './shared/auth.js'
import { batchBodies, type EncodedRecord } from './shared/batching.js'
import { jsonObject } from './shared/json.js'
import { type Fitted, fitFields } from './shared/shorten.js'
import { epochSeconds, type SiemRecord, siemRecords } from './shared/siem-records.js'
import { isPlainHttpOffHost, parseUrlSetting } from './shared/urls.js'
import { type ConnectorResult, defineConnector, type ProbeResult } from './types.js'

/**
 * Splunk HTTP Event Collector.
 * Docs: https://help.splunk.com/en/splunk-enterprise/get-data-in/collect-http-event-data/http-event-collector-rest-api-endpoints
 * Events are JSON objects concatenated back to back (no array) and batched under
 * `max_batch_bytes`; the HEC `code` in each answer decides success, retry or a final error.
 * Each event is kept within `max_event_bytes` (the sourcetype's props.conf `TRUNCATE`), so
 * Splunk never cuts one at indexing.
 */

export interface SplunkConfig {
  eventUrl: string
  ackUrl: string
  authorization: string
  index?: string
  source: string
  sourcetype: string
  host?: string
  channel: string
  maxBatchBytes: number
  /** Largest `event` JSON in bytes (the sourcetype's TRUNCATE); 0 = no limit. */
  maxEventBytes: number
  ack: boolean
  headers: Record<string, string>
}

const EVENT_PATH = '/services/collector/event'

/**
 * props.conf `TRUNCATE`: "The default maximum line length, in bytes. [...] Set to 0 if you
 * never want truncation. Default: 10000" (https://docs.splunk.com/Documentation/Splunk/latest/Admin/Propsconf).
 * Splunk applies it to `_raw` at indexing, after HEC has answered Success, and says nothing to
 * the sender beyond a LineBreakingProcessor warning in its own _internal index.
 */
export const DEFAULT_MAX_EVENT_BYTES = 10_000
/** Below this a record cannot even be replaced by its stand-in. */
const MIN_MAX_EVENT_BYTES = 1_000

/**
 * HEC reply codes ("Possible error codes", Troubleshoot HTTP Event Collector):
 * https://help.splunk.com/en/splunk-enterprise/get-data-in/collect-http-event-data/troubleshoot-http-event-collector
 * 8 (internal error), 9 (server busy) and 18–20 (HEC unhealthy: queues full, ack service
 * unavailable) are back-pressure and worth retrying; everything else needs a fix first.
 */
const HEC_CODES: Record<number, { meaning: string; retry?: true; fix?: string }> = {
  1: { meaning: 'Token disabled', fix: 'enable the HEC token in Splunk' },
  2: { meaning: 'Token is required', fix: 'set token (or token_env)' },
  3: { meaning: 'Invalid authorization', fix: 'check the token; HEC wants "Authorization: Splunk <token>"' },
  4: { meaning: 'Invalid token', fix: 'check the token value' },
  5: { meaning: 'No data' },
  6: { meaning: 'Invalid data format' },
  7: { meaning: 'Incorrect index', fix: "set index to one of the token's allowed indexes" },
  8: { meaning: 'Internal server error', retry: true },
  9: { meaning: 'Server is busy', retry: true },
  10: {
    meaning: 'Data channel is missing',
    fix: 'the token requires a channel; keep channel unset or set a GUID',
  },
  11: { meaning: 'Invalid data channel', fix: 'channel must be a GUID' },
  12: { meaning: 'Event field is required' },
  13: { meaning: 'Event field cannot be blank' },
  14: { meaning: 'ACK is disabled', fix: 'set ack: false or enable indexer acknowledgement on the token' },
  15: { meaning: 'Error in handling indexed fields' },
  16: {
    meaning: 'Query string authorization is not enabled',
    fix: 'send the token in the header (the default)',
  },
  18: { meaning: 'HEC is unhealthy, queues are full', retry: true },
  19: { meaning: 'HEC is unhealthy, ack service unavailable', retry: true },
  20: { meaning: 'HEC is unhealthy, queues are full and ack service unavailable', retry: true },
}

export const splunk = defineConnector({
  provider: 'splunk',
  category: 'siem',
  title: 'Splunk HEC',
  docs: 'https://help.splunk.com/en/splunk-enterprise/get-data-in/collect-http-event-data/http-event-collector-rest-api-endpoints',
  settings: () => ({
    token: z.string().min(1).optional().describe('HEC token (a GUID).'),
    authorization_scheme: z
      .string()
      .optional()
      .describe('Accepted for compatibility; HEC requires "Splunk".'),
    authorization: z.string().min(1).optional().describe('Whole Authorization header (compatibility).'),
    index: z.string().min(1).optional().describe("Target index; must be in the token's allowed indexes."),
    source: z.string().min(1).optional().describe('Event source (default cavra).'),
    sourcetype: z.string().min(1).optional().describe('Event sourcetype (default cavra:evidence:json).'),
    host: z.string().min(1).optional().describe('Event host field.'),
    channel: z
      .string()
      .min(1)
      .optional()
      .describe('X-Splunk-Request-Channel GUID (default: a new GUID per run).'),
    max_batch_bytes: z
      .number()
      .int()
      .min(1024)
      .optional()
      .describe('Largest request body in bytes (default 1000000).'),
    max_event_bytes: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        "Largest event in bytes, as the sourcetype's props.conf TRUNCATE allows; longer fields are shortened with a marker (default 10000, Splunk's TRUNCATE; 0 = no limit, when TRUNCATE = 0).",
      ),
    ack: z.boolean().optional().describe('Poll indexer acknowledgement until indexed (default false).'),
  }),
  secrets: ['token', 'authorization'],
  urlIsSecret: false,

  configure(settings, context): SplunkConfig {
    const url = settings.url
    if (!url)
      throw new ConfigError(
        'url is required (the HEC base URL, e.g. https://splunk.example.com:8088); set url or url_env.',
      )
    const token = settings.token
    const authorization = settings.authorization
    if (!token && !authorization) throw new ConfigError('token is required (the HEC token); set token_env.')
    const scheme = settings.authorization_scheme
    if (scheme && scheme.toLowerCase() !== 'splunk') {
      throw new ConfigError(
        `authorization_scheme "${scheme}" will be refused by HEC (code 3); remove it or set "Splunk".`,
      )
    }
    const channel = settings.channel ?? randomUuid()
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(channel)) {
      throw new ConfigError(`channel "${channel}" is not a GUID; HEC rejects it with code 11.`)
    }
    const maxEventBytes = settings.max_event_bytes ?? DEFAULT_MAX_EVENT_BYTES
    if (maxEventBytes !== 0 && maxEventBytes < MIN_MAX_EVENT_BYTES) {
      throw new ConfigError(
        `max_event_bytes ${maxEventBytes} is too small; set the sourcetype's TRUNCATE (at least ${MIN_MAX_EVENT_BYTES}), or 0 for no limit.`,
      )
    }
    if (isPlainHttpOffHost(url))
      context.warn(`connector ${context.name}: url uses http://; the HEC token travels unencrypted.`)
    const { eventUrl, ackUrl } = hecUrls(url)
    return {
      eventUrl,
      ackUrl,
      authorization: authorization ?? `Splunk ${token}`,
      index: settings.index,
      source: settings.source ?? 'cavra',
      sourcetype: settings.sourcetype ?? 'cavra:evidence:json',
      host: settings.host,
      channel,
      maxBatchBytes: typeof settings.max_batch_bytes === 'number' ? settings.max_batch_bytes : 1_000_000,
      maxEventBytes,
      ack: settings.ack === true,
      headers: configuredHeaders(settings),
    }
  },

  async deliver(event, config, session) {
    return deliverToHec(event, config, session)
  },

  probe: probeHec,
})

/** A base URL gets `/services/collector/event`; a full collector URL is kept. */
export function hecUrls(url: string): { eventUrl: string; ackUrl: string } {
  const parsed = parseUrlSetting(url)
  const path = parsed.pathname.replace(/\/+$/, '')
  const collector = /\/services\/collector(\/event(\/1\.0)?)?$/.exec(path)
  const prefix = collector ? path.slice(0, collector.index) : path
  const event = new URL(parsed.toString())
  event.pathname = collector ? path : `${prefix}${EVENT_PATH}`
  const ack = new URL(parsed.toString())
  ack.pathname = `${prefix}/services/collector/ack`
  return { eventUrl: event.toString(), ackUrl: ack.toString() }
}

/** One HEC event object (Format events for HTTP Event Collector). */
export function hecEvent(record: SiemRecord, config: SplunkConfig): Record<string, unknown> {
  return {
    time: epochSeconds(record.time),
    ...(config.host ? { host: config.host } : {}),
    source: config.source,
    sourcetype: config.sourcetype,
    ...(config.index ? { index: config.index } : {}),
    fields: indexedFields(record),
    event: record.fields,
  }
}

/** Indexed fields must be flat strings (code 15 otherwise); they make tstats searches cheap. */
function indexedFields(record: SiemRecord): Record<string, string> {
  return {
    event_id: String(record.fields.event_id),
    event_type: String(record.fields.event_type),
    record_type: record.kind,
    severity: record.severity,
  }
}

/**
 * The HEC event with its `event` within `max_event_bytes`. `TRUNCATE` cuts `_raw`, and for the
 * `/event` endpoint `_raw` is the `event` value alone: `time`, `host`, `source`, `sourcetype`,
 * `index` and `fields` are metadata, never part of the indexed text ("Format events for HTTP
 * Event Collector": https://help.splunk.com/en/splunk-enterprise/get-data-in/collect-http-event-data/format-events-for-http-event-collector).
 * So the `event` JSON is what is measured; the envelope does not count. The indexed fields
 * come from the whole record.
 */
export function fitHecEvent(record: SiemRecord, config: SplunkConfig): Fitted<Record<string, unknown>> {
  const envelope = hecEvent(record, config)
  if (config.maxEventBytes === 0) return { value: envelope, shortened: false }
  const event = fitFields(record.fields, config.maxEventBytes)
  return event.shortened
    ? { value: { ...envelope, event: event.value }, shortened: true }
    : { value: envelope, shortened: false }
}

export function hecHeaders(config: SplunkConfig): Record<string, string> {
  return {
    ...config.headers,
    authorization: config.authorization,
    'content-type': 'application/json',
    // Always sent: tokens with indexer acknowledgement refuse requests without it (code 10).
    'x-splunk-request-channel': config.channel,
  }
}

export function readHecResponse(response: HttpResponse): Verdict<{ ackId: number | null }> {
  const body = jsonObject(response.body)
  const code = typeof body?.code === 'number' ? body.code : undefined
  const text = typeof body?.text === 'string' ? body.text : undefined
  const success = response.status >= 200 && response.status < 300
  if (success && code === 0) {
    return { kind: 'ok', value: { ackId: typeof body?.ackId === 'number' ? body.ackId : null } }
  }
  // HEC answers every request with JSON `{"text","code"}`, code 0 on success (Troubleshoot HTTP
  // Event Collector, above). A 2xx without it came from something else: an SSO gateway's
  // sign-in page or a captive portal answers 200 with HTML, and nothing reached Splunk.
  if (success && code === undefined) return { kind: 'failed', reason: notFromHec(response) }
  if (code !== undefined) {
    const known = HEC_CODES[code]
    const reason = `HEC code ${code} (${text ?? known?.meaning ?? 'unknown'})${known?.fix ? `: ${known.fix}` : ''}`
    return known?.retry ? { kind: 'retryable', reason } : { kind: 'failed', reason }
  }
  const reason = response.body.trim() === '' ? statusText(response.status) : excerpt(response)
  if (isRetryableStatus(response.status)) return { kind: 'retryable', reason }
  return {
    kind: 'failed',
    reason: response.status === 404 ? `${reason} (is the URL a HEC endpoint?)` : reason,
  }
}

/** The encoded events, one at a time. */
async function* encodeRecords(event: DeliveryEvent, config: SplunkConfig): AsyncGenerator<EncodedRecord> {
  for await (const record of siemRecords(event)) {
    const encoded = encodeHecEvent(record, config)
    yield {
      text: encoded.value,
      bytes: Buffer.byteLength(encoded.value, 'utf8'),
      shortened: encoded.shortened,
    }
  }
}

/**
 * The JSON text of `fitHecEvent(record, config).value`, serialising the record's fields once:
 * the size check and the body share one `JSON.stringify`, which is most of the CPU time of a
 * large bundle. `event` is the envelope's last key, so it is appended to the envelope's text.
 */
export function encodeHecEvent(record: SiemRecord, config: SplunkConfig): Fitted<string> {
  let eventJson = JSON.stringify(record.fields)
  let shortened = false
  if (config.maxEventBytes !== 0 && Buffer.byteLength(eventJson, 'utf8') > config.maxEventBytes) {
    const fitted = fitFields(record.fields, config.maxEventBytes)
    eventJson = JSON.stringify(fitted.value)
    shortened = fitted.shortened
  }
  return { value: `${envelopeHead(record, config)},"event":${eventJson}}`, shortened }
}

/** The settings' members of the envelope's JSON (host, source, sourcetype, index), per configuration. */
const settingsMembers = new WeakMap<SplunkConfig, string>()

/**
 * The JSON text of `hecEvent(record, config)` without `event` and the closing brace, as
 * `JSON.stringify` gives it: the settings' members, which every record shares, are taken from
 * hecEvent's own envelope once per configuration and placed between `time` (its first member)
 * and `fields`, instead of serialising a fresh envelope per record.
 */
function envelopeHead(record: SiemRecord, config: SplunkConfig): string {
  let members = settingsMembers.get(config)
  if (members === undefined) {
    const { time: _time, fields: _fields, event: _event, ...settings } = hecEvent(record, config)
    members = JSON.stringify(settings).slice(1, -1)
    settingsMembers.set(config, members)
  }
  return `{"time":${JSON.stringify(epochSeconds(record.time))},${members},"fields":${JSON.stringify(indexedFields(record))}`
}

async function deliverToHec(
  event: DeliveryEvent,
  config: SplunkConfig,
  session: Session,
): Promise<ConnectorResult> {
  const headers = hecHeaders(config)
  let sent = 0
  let shortened = 0
  let batchNumber = 0
  let lastAck: number | null = null
  const acks: number[] = []
  // Batches are sent one after another, and nothing keeps a body once its exchange is over.
  // HEC's event endpoint takes events concatenated, without separators (Splunk docs, "Format
  // events for HTTP Event Collector").
  const limits = { maxBytes: config.maxBatchBytes, framing: 'concatenated' } as const
  for await (const batch of batchBodies(encodeRecords(event, config), limits)) {
    batchNumber++
    const body = batch.body
    const result = await session.exchange({
      step: `send batch ${batchNumber}`,
      primary: true,
      build: () => ({ method: 'POST', url: config.eventUrl, headers, body }),
      read: readHecResponse,
      dryRun: { ackId: null },
    })
    if (!result.ok) {
      const accepted =
        sent > 0 ? ` (${batchNumber - 1} earlier batch(es), ${sent} records, were accepted)` : ''
      return {
        ok: false,
        error: `${result.error}${accepted}`,
        recordsSent: sent,
        recordsShortened: shortened,
        remoteReference: refOf(lastAck),
      }
    }
    sent += batch.records
    shortened += batch.shortened
    if (result.value.ackId !== null) {
      lastAck = result.value.ackId
      acks.push(lastAck)
    }
  }
  if (config.ack && !session.dryRun) {
    const pending = await awaitIndexing(acks, config, session)
    if (pending.error) {
      const remoteReference = refOf(lastAck)
      return {
        ok: false,
        error: pending.error,
        recordsSent: sent,
        recordsShortened: shortened,
        remoteReference,
      }
    }
  }
  return { ok: true, remoteReference: refOf(lastAck), recordsSent: sent, recordsShortened: shortened }
}

function notFromHec(response: HttpResponse): string {
  const type = response.headers['content-type']?.split(';')[0]?.trim() || 'no content type'
  const said = response.body.trim() === '' ? 'an empty body' : `${type}: ${excerpt(response, 120)}`
  return `the answer did not come from Splunk HEC (HEC answers JSON with "code": 0; this was ${said}): is a proxy or load balancer in between? Check url (it must reach HEC itself, usually port 8088) and the proxy settings`
}

function refOf(ackId: number | null): string | null {
  return ackId === null ? null : String(ackId)
}

/**
 * Indexer acknowledgement: poll `/services/collector/ack` with the channel until every ackId
 * reads true (indexed). Splunk keeps a last partial batch in indexer buffers for a while, so
 * polling backs off from 1 s to 10 s and gives up only at the command's deadline.
 */
async function awaitIndexing(
  acks: number[],
  config: SplunkConfig,
  session: Session,
): Promise<{ error?: string }> {
  if (acks.length === 0) {
    return {
      error:
        'ack is on but Splunk returned no ackId; enable indexer acknowledgement on the HEC token or set ack: false',
    }
  }
  let pending = [...acks]
  let interval = 1000
  for (let poll = 1; ; poll++) {
    if (!(await session.pause(interval))) {
      return {
        error: `Splunk had not confirmed indexing of ackId ${pending.join(', ')} (${acks.length - pending.length} of ${acks.length} confirmed) when the --deadline ran out`,
      }
    }
    const result = await session.exchange({
      step: `ack poll ${poll}`,
      build: () => ({
        method: 'POST',
        url: withChannel(config.ackUrl, config.channel),
        headers: hecHeaders(config),
        body: JSON.stringify({ acks: pending }),
      }),
      read: readAckResponse,
      dryRun: {},
    })
    if (!result.ok) return { error: result.error }
    pending = pending.filter((id) => result.value[String(id)] !== true)
    if (pending.length === 0) return {}
    interval = Math.min(interval * 2, 10_000)
  }
}

function withChannel(url: string, channel: string): string {
  const parsed = new URL(url)
  parsed.searchParams.set('channel', channel)
  return parsed.toString()
}

export function readAckResponse(response: HttpResponse): Verdict<Record<string, boolean>> {
  const body = jsonObject(response.body)
  if (response.status >= 200 && response.status < 300 && body?.acks && typeof body.acks === 'object') {
    return { kind: 'ok', value: body.acks as Record<string, boolean> }
  }
  const verdict = readHecResponse(response)
  if (verdict.kind !== 'ok') return verdict
  return { kind: 'failed', reason: `unexpected ack answer: ${excerpt(response)}` }
}

/** `/services/collector/health` beside the configured collector (any path prefix kept). */
export function hecHealthUrl(config: SplunkConfig): string {
  const url = new URL(config.ackUrl)
  url.pathname = url.pathname.replace(/\/ack$/, '/health')
  url.search = ''
  return url.toString()
}

/**
 * The health endpoint answers 200 code 17 "HEC is healthy", or 503 with code 18–20 when its
 * queues are full or the ack service is down (Troubleshoot HTTP Event Collector, above). It
 * needs no token.
 */
export function readHecHealth(response: HttpResponse): Verdict<null> {
  const code = jsonObject(response.body)?.code
  if (response.status === 200 && code === 17) return { kind: 'ok', value: null }
  if (response.status >= 200 && response.status < 300 && typeof code !== 'number') {
    return { kind: 'failed', reason: notFromHec(response) }
  }
  const verdict = readHecResponse(response)
  return verdict.kind === 'ok'
    ? { kind: 'failed', reason: `unexpected health answer: ${excerpt(response)}` }
    : verdict
}

/**
 * HEC checks the token before it reads the body, so an empty post with the token is answered
 * 400 code 5 "No data" when the token is valid and enabled, and code 1–4 when it is not;
 * nothing is indexed either way.
 */
export function readEmptyPost(response: HttpResponse): Verdict<null> {
  const code = jsonObject(response.body)?.code
  if (response.status === 400 && code === 5) return { kind: 'ok', value: null }
  const verdict = readHecResponse(response)
  return verdict.kind === 'ok'
    ? { kind: 'failed', reason: 'HEC answered Success to an empty post; is url a HEC endpoint?' }
    : verdict
}

async function probeHec(config: SplunkConfig, session: Session): Promise<ProbeResult> {
  const probe = 'GET /services/collector/health, then an empty POST /services/collector/event'
  const health = await session.exchange({
    step: 'health',
    build: () => ({ method: 'GET', url: hecHealthUrl(config), headers: { ...config.headers } }),
    read: readHecHealth,
    dryRun: null,
  })
  if (!health.ok) return { status: 'unhealthy', probe, detail: health.error }
  const token = await session.exchange({
    step: 'empty post',
    build: () => ({ method: 'POST', url: config.eventUrl, headers: hecHeaders(config), body: '' }),
    read: readEmptyPost,
    dryRun: null,
  })
  if (!token.ok) return { status: 'unhealthy', probe, detail: token.error }
  // The index is checked against the token's allowed list only when an event arrives (code 7).
  const index = config.index
    ? `index "${config.index}" was not verified: HEC checks it only when an event is ingested`
    : "the token's default index was not verified: HEC checks it only when an event is ingested"
  return {
    status: 'healthy',
    probe,
    detail: `HEC is healthy and accepted the token (an empty post answered code 5 "No data"); ${index}`,
  }
}
