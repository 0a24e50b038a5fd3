import { z } from 'zod'
import { ConfigError } from '../common/errors.js'
import type { Severity } from '../common/severity.js'
import type { HttpResponse } from '../delivery/http.js'
import { isRetryableStatus } from '../delivery/retry.js'
import type { Session } from '../delivery/session.js'
import { excerpt, type Verdict } from '../delivery/verdict.js'
import type { DeliveryEvent } from '../events/event.js'
import { configuredHeaders } from './shared/auth.js'
import { batchBodies, type EncodedRecord } from './shared/batching.js'
import { jsonObject } from './shared/json.js'
import { severityWord, truncate } from './shared/presentation.js'
import { type Fitted, fitFields, jsonBytes } from './shared/shorten.js'
import { type SiemRecord, siemRecords } from './shared/siem-records.js'
import { isPlainHttpOffHost, parseUrlSetting } from './shared/urls.js'
import { type ConnectorResult, defineConnector, type ProbeResult } from './types.js'

/**
 * Datadog Logs, HTTP intake v2.
 * Docs: https://docs.datadoghq.com/api/latest/logs/send-logs/
 * `POST https://http-intake.logs.<site>/api/v2/logs` with `DD-API-KEY` and a JSON array of log
 * objects: one for the event, one per decision. Limits per request are 5 MB uncompressed and
 * 1,000 logs; a log over 1 MB is accepted with 2xx and silently truncated, so cavra shortens
 * such a log itself first, with a marker, and counts it. Bodies are not gzipped: the limits
 * apply to the uncompressed bytes anyway, and the evidence hash and --dry-run show the JSON as
 * sent.
 */

export interface DatadogConfig {
  url: string
  /** Datadog's API (not the intake), where `integration check` validates the key. */
  apiUrl: string
  /** The Datadog site the key must belong to, for messages; null when the URL does not say. */
  site: string | null
  apiKey: string
  service: string
  ddsource: string
  tags: string[]
  hostname?: string
  headers: Record<string, string>
}

/** The documented sites (Send logs, endpoint table); the intake host is `http-intake.logs.<site>`. */
export const DATADOG_SITES = [
  'datadoghq.com',
  'us3.datadoghq.com',
  'us5.datadoghq.com',
  'datadoghq.eu',
  'ap1.datadoghq.com',
  'ap2.datadoghq.com',
  'uk1.datadoghq.com',
  'ddog-gov.com',
  'us2.ddog-gov.com',
] as const

const INTAKE_PATH = '/api/v2/logs'
const INTAKE_HOST_PREFIX = 'http-intake.logs.'
/**
 * "Maximum content size per payload (uncompressed): 5MB" (Send logs), read as 5,000,000 bytes,
 * what Datadog's own Agent batches to (`DefaultBatchMaxContentSize = 5000000`,
 * https://github.com/DataDog/datadog-agent/blob/main/pkg/config/setup/config.go) and Vector's
 * Datadog logs sink too (`MAX_PAYLOAD_BYTES = 5_000_000`,
 * https://github.com/vectordotdev/vector/blob/master/src/sinks/datadog/logs/config.rs). A 413 is
 * final, so a body over the intake's real limit would lose its batch and every later one.
 */
export const MAX_REQUEST_BYTES = 5_000_000
/** "Maximum array size if sending multiple logs in an array: 1000 entries" (Send logs). */
export const MAX_LOGS_PER_REQUEST = 1000
/** "Maximum size for a single log: 1MB" (Send logs), in decimal bytes likewise. */
export const MAX_LOG_BYTES = 1_000_000

/** Datadog's own status words; a critical event stays critical. */
export const DATADOG_STATUS: Record<Severity, string> = {
  critical: 'critical',
  high: 'error',
  medium: 'warning',
  low: 'info',
  info: 'info',
}

/**
 * Log Date Remapper, Notes: logs are taken up to 18 h in the past and 2 h in the future, and
 * older ones are "dropped at intake" after a 2xx (Logs troubleshooting). A record outside that
 * window is sent without an official date, so Datadog stamps its arrival instead of losing it;
 * its real time stays in the `cavra` attributes. The margin covers retries and clock skew.
 */
const PAST_WINDOW_MS = 18 * 3_600_000
const FUTURE_WINDOW_MS = 2 * 3_600_000
const WINDOW_MARGIN_MS = 10 * 60_000

export const datadog = defineConnector({
  provider: 'datadog',
  category: 'siem',
  title: 'Datadog Logs',
  docs: 'https://docs.datadoghq.com/api/latest/logs/send-logs/',
  settings: () => ({
    site: z.string().min(1).optional().describe('Datadog site, e.g. datadoghq.eu (default datadoghq.com).'),
    api_key: z.string().min(1).optional().describe('Datadog API key (an application key is not needed).'),
    api_key_header: z
      .string()
      .min(1)
      .optional()
      .describe('Accepted for compatibility; Datadog reads only DD-API-KEY.'),
    service: z.string().min(1).optional().describe('Log `service` (default cavra).'),
    ddsource: z.string().min(1).optional().describe('Log `ddsource` (default cavra).'),
    tags: z
      .array(z.string())
      .optional()
      .describe('Tags added to every log, e.g. ["env:prod", "team:secops"].'),
    hostname: z.string().min(1).optional().describe('Log `hostname` (not sent when unset).'),
    api_url: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Datadog API base where integration check validates the key (default https://api.<site>; with a url of no known site, its origin).',
      ),
  }),
  secrets: ['api_key'],
  urlIsSecret: false,

  configure(settings, context): DatadogConfig {
    const apiKey = settings.api_key
    if (!apiKey) throw new ConfigError('api_key is required (a Datadog API key); set api_key_env.')
    const header = settings.api_key_header
    if (header && header.toLowerCase() !== 'dd-api-key') {
      throw new ConfigError(
        `api_key_header "${header}" would be ignored by Datadog, which reads the key only from the DD-API-KEY header; remove api_key_header or set it to "DD-API-KEY".`,
      )
    }
    const { url, site } = intakeEndpoint(settings.site, settings.url)
    if (site && !settings.url && !(DATADOG_SITES as readonly string[]).includes(site)) {
      context.warn(
        `connector ${context.name}: site "${site}" is not a documented Datadog site (${DATADOG_SITES.join(', ')}); logs go to ${url}.`,
      )
    }
    if (isPlainHttpOffHost(url))
      context.warn(`connector ${context.name}: url uses http://; the API key travels unencrypted.`)
    const tags = ((settings.tags as string[] | undefined) ?? []).map((tag, index) => {
      // Getting Started with Tags, "Define tags": https://docs.datadoghq.com/getting_started/tagging/
      if (!/^\p{L}/u.test(tag)) throw new ConfigError(`tags[${index}] "${tag}" must start with a letter.`)
      const normal = datadogTag(tag)
      if (normal !== tag)
        context.warn(`connector ${context.name}: tags[${index}] "${tag}" is sent as "${normal}".`)
      return normal
    })
    return {
      url,
      apiUrl: apiBase(settings.api_url, site, url),
      site,
      apiKey,
      service: settings.service ?? 'cavra',
      ddsource: settings.ddsource ?? 'cavra',
      tags,
      hostname: settings.hostname,
      headers: configuredHeaders(settings),
    }
  },

  async deliver(event, config, session) {
    return deliverLogs(event, config, session)
  },

  probe: probeApiKey,
})

/**
 * The intake URL: `site` gives `https://http-intake.logs.<site>/api/v2/logs`; a configured `url`
 * is the full intake URL, and one without a path gets `/api/v2/logs`.
 */
export function intakeEndpoint(site?: string, url?: string): { url: string; site: string | null } {
  // The docs name US1 "app.datadoghq.com"; the intake host drops the "app." part.
  const named = site
    ?.trim()
    .toLowerCase()
    .replace(/^app\./, '')
  if (named !== undefined && !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(named)) {
    throw new ConfigError(
      `site "${site}" is not a host name like datadoghq.eu; put a full intake URL in url.`,
    )
  }
  if (!url) {
    const chosen = named ?? 'datadoghq.com'
    return { url: `https://${INTAKE_HOST_PREFIX}${chosen}${INTAKE_PATH}`, site: chosen }
  }
  const parsed = parseUrlSetting(url)
  if (parsed.pathname === '' || parsed.pathname === '/') parsed.pathname = INTAKE_PATH
  const host = parsed.hostname.toLowerCase()
  const urlSite = host.startsWith(INTAKE_HOST_PREFIX) ? host.slice(INTAKE_HOST_PREFIX.length) : null
  if (named && urlSite && named !== urlSite) {
    throw new ConfigError(`url points at site ${urlSite} but site is ${named}; keep one of them.`)
  }
  return { url: parsed.toString(), site: urlSite ?? named ?? null }
}

/**
 * Tag syntax (Getting Started with Tags, "Define tags"): lower-case; letters, digits, `_ - : . /`;
 * anything else becomes `_`, as Datadog would store it; at most 200 characters.
 */
export function datadogTag(tag: string): string {
  return tag
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\-:./]/gu, '_')
    .slice(0, 200)
}

/** One log object; the record's fields sit under `cavra` so they never override a reserved attribute. */
export function datadogLog(
  record: SiemRecord,
  config: DatadogConfig,
  nowMs: number,
): Record<string, unknown> {
  const f = record.fields
  const tags = [
    ...config.tags,
    `event_id:${f.event_id}`,
    `event_type:${f.event_type}`,
    `severity:${record.severity}`,
    `record_type:${record.kind}`,
  ]
  const date = officialDate(record.time, nowMs)
  return {
    ddsource: config.ddsource,
    ddtags: tags.map(datadogTag).join(','),
    ...(config.hostname ? { hostname: config.hostname } : {}),
    service: config.service,
    message: logMessage(record),
    status: DATADOG_STATUS[record.severity],
    ...(date ? { date } : {}),
    cavra: f,
  }
}

const VERDICT_WORDS: Record<string, string> = {
  allow: 'Allowed',
  block: 'Blocked',
  require_approval: 'Required approval for',
}

/** `[HIGH] AI agent evidence …` for the event; `[CRITICAL] Blocked shell_command "rm -rf /" …` per decision. */
export function logMessage(record: SiemRecord): string {
  const f = record.fields
  const prefix = `[${severityWord(record.severity)}]`
  if (record.kind === 'summary') return `${prefix} ${oneLine(f.title, 500)}`
  const verdict = VERDICT_WORDS[String(f.decision)] ?? `Decided ${oneLine(f.decision, 40) || 'nothing'} on`
  const action = oneLine(f.action_type, 60)
  const command = oneLine(f.command, 200)
  const what = command ? `"${command}"` : `decision ${oneLine(f.decision_id, 80) || f.decision_index}`
  const policy = oneLine(f.policy_id, 120)
  const reason = oneLine(f.reason, 300)
  return `${prefix} ${verdict} ${action ? `${action} ` : ''}${what}${policy ? ` under policy ${policy}` : ''}${reason ? `: ${reason}` : ''}`
}

function oneLine(value: unknown, max: number): string {
  if (typeof value !== 'string' && typeof value !== 'number') return ''
  // Cut first: a command may be megabytes long, and its full text is in the attributes.
  return truncate(
    String(value)
      .slice(0, max * 2)
      .replace(/\s+/g, ' ')
      .trim(),
    max,
  )
}

function officialDate(time: string, nowMs: number): string | undefined {
  const ms = Date.parse(time)
  if (Number.isNaN(ms)) return undefined
  if (ms < nowMs - PAST_WINDOW_MS + WINDOW_MARGIN_MS || ms > nowMs + FUTURE_WINDOW_MS - WINDOW_MARGIN_MS)
    return undefined
  return new Date(ms).toISOString()
}

/**
 * A log within 1,000,000 bytes. Datadog would keep a longer one with a 2xx and cut it silently
 * ("Any log exceeding 1MB is accepted and truncated by Datadog", Send logs), losing its end; so
 * the longest fields of its `cavra` attribute are shortened here with a visible marker (the
 * message and tags are short already), and a record that still cannot fit is replaced by a
 * stand-in naming it. Shortening is better for an operator than refusing: one oversized
 * command no longer keeps every other decision of the event out of Datadog, the log says
 * where it was cut, and the full record is in the source artifact.
 */
export function fitDatadogLog(
  log: Record<string, unknown>,
  bytes = jsonBytes(log),
): Fitted<Record<string, unknown>> {
  if (bytes <= MAX_LOG_BYTES) return { value: log, shortened: false }
  const cavra = log.cavra as Record<string, unknown>
  const cavraBudget = MAX_LOG_BYTES - (bytes - jsonBytes(cavra))
  return { value: { ...log, cavra: fitFields(cavra, cavraBudget).value }, shortened: true }
}

/** The encoded logs, one at a time. */
async function* encodedLogs(
  event: DeliveryEvent,
  config: DatadogConfig,
  nowMs: number,
): AsyncGenerator<EncodedRecord> {
  for await (const record of siemRecords(event)) {
    const log = datadogLog(record, config, nowMs)
    const text = JSON.stringify(log)
    const bytes = Buffer.byteLength(text, 'utf8')
    if (bytes <= MAX_LOG_BYTES) {
      yield { text, bytes, shortened: false }
      continue
    }
    const fitted = JSON.stringify(fitDatadogLog(log, bytes).value)
    yield { text: fitted, bytes: Buffer.byteLength(fitted, 'utf8'), shortened: true }
  }
}

/**
 * The request bodies: JSON arrays within 1,000 logs and 5,000,000 bytes, measured in UTF-8
 * bytes, each with how many of its logs were shortened. A body is valid until the next is
 * asked for.
 */
export async function* requestBodies(
  event: DeliveryEvent,
  config: DatadogConfig,
  nowMs: number,
): AsyncGenerator<{ body: Buffer; logs: number; shortened: number }> {
  const limits = {
    maxBytes: MAX_REQUEST_BYTES,
    maxItems: MAX_LOGS_PER_REQUEST,
    framing: 'json-array',
  } as const
  for await (const batch of batchBodies(encodedLogs(event, config, nowMs), limits)) {
    yield { body: batch.body, logs: batch.records, shortened: batch.shortened }
  }
}

export function intakeHeaders(config: DatadogConfig): Record<string, string> {
  return { ...config.headers, 'dd-api-key': config.apiKey, 'content-type': 'application/json' }
}

/**
 * Send logs, "Response": 202 Accepted (the v1 intake answered 200, so any 2xx is success);
 * 400 bad payload, 401 no key, 403 bad key or wrong site, 413 over 5 MB are final; 408, 429
 * and 5xx are retried (the Datadog Agent does the same, DataDog/documentation#32394). Errors
 * come as `{"errors": [...]}`. No Retry-After contract is documented; the session honours one
 * if it comes and otherwise backs off. The 202 means "accepted for processing": the delivery
 * reports it as accepted, not yet searchable.
 */
export function readIntakeResponse(response: HttpResponse, site: string | null): Verdict<null> {
  const { status } = response
  if (status >= 200 && status < 300) return { kind: 'ok', value: null }
  const said = datadogErrors(response.body) ?? excerpt(response)
  if (isRetryableStatus(status) || status >= 500) return { kind: 'retryable', reason: said }
  const where = site ? `site ${site}` : 'the Datadog site this url belongs to'
  const hint: Record<number, string> = {
    400: 'Datadog refused the payload',
    401: 'no API key reached Datadog; check api_key',
    403: `the API key is wrong, or the key is not valid for ${where} (a key works only on its organisation's site); check api_key and site`,
    413: `a request was over ${MAX_REQUEST_BYTES.toLocaleString('en-US')} bytes uncompressed`,
  }
  return { kind: 'failed', reason: hint[status] ? `${said} (${hint[status]})` : said }
}

function datadogErrors(body: string): string | undefined {
  const errors = jsonObject(body)?.errors
  if (!Array.isArray(errors) || errors.length === 0) return undefined
  return errors
    .map((error) => {
      if (typeof error === 'string') return error
      const { title, detail } = (error ?? {}) as { title?: unknown; detail?: unknown }
      return [title, detail].filter((part) => typeof part === 'string').join(': ') || JSON.stringify(error)
    })
    .join('; ')
}

async function deliverLogs(
  event: DeliveryEvent,
  config: DatadogConfig,
  session: Session,
): Promise<ConnectorResult> {
  const nowMs = Date.now()
  const headers = intakeHeaders(config)
  let sent = 0
  let shortened = 0
  let requests = 0
  let allAccepted = true
  for await (const { body, logs, shortened: cut } of requestBodies(event, config, nowMs)) {
    requests++
    const result = await session.exchange({
      step: `send batch ${requests}`,
      primary: true,
      build: () => ({ method: 'POST', url: config.url, headers, body }),
      read: (response) => readIntakeResponse(response, config.site),
      dryRun: null,
    })
    if (!result.ok) {
      const accepted = sent > 0 ? ` (${requests - 1} earlier batch(es), ${sent} logs, were accepted)` : ''
      return {
        ok: false,
        error: `${result.error}${accepted}`,
        recordsSent: sent,
        recordsShortened: shortened,
      }
    }
    sent += logs
    shortened += cut
    allAccepted &&= result.status === 202
  }
  // 202 answers `{}`: Datadog hands back no reference to keep.
  const acceptedAsync = requests > 0 && allAccepted
  return { ok: true, remoteReference: null, recordsSent: sent, recordsShortened: shortened, acceptedAsync }
}

/**
 * The API base of the key's site (`https://api.<site>`, Authentication: Validate API key,
 * https://docs.datadoghq.com/api/latest/authentication/#validate-api-key). An intake `url` of no
 * known site is a proxy or a private endpoint: the API is assumed behind the same origin.
 */
export function apiBase(configured: string | undefined, site: string | null, intakeUrl: string): string {
  if (configured) {
    const parsed = parseUrlSetting(configured, 'api_url')
    if (parsed.search || (parsed.pathname !== '/' && parsed.pathname !== '')) {
      throw new ConfigError(
        `api_url must be the API base (e.g. https://api.datadoghq.eu), not ${parsed.pathname}.`,
      )
    }
    return parsed.origin
  }
  return site ? `https://api.${site}` : new URL(intakeUrl).origin
}

/**
 * `GET /api/v1/validate` with the key alone answers 200 `{"valid": true}`; any other key (one of
 * another site too) gets 403 `{"errors": ["Forbidden"]}` (Validate API key, above).
 */
export function readValidateResponse(response: HttpResponse, site: string | null): Verdict<null> {
  if (response.status === 200) {
    if (jsonObject(response.body)?.valid === true) return { kind: 'ok', value: null }
    return { kind: 'failed', reason: `unexpected answer (is api_url the Datadog API?): ${excerpt(response)}` }
  }
  if (response.status === 404) {
    return {
      kind: 'failed',
      reason: `${excerpt(response)} (api_url does not serve /api/v1/validate; set api_url to your site's API, e.g. https://api.datadoghq.eu)`,
    }
  }
  return readIntakeResponse(response, site)
}

async function probeApiKey(config: DatadogConfig, session: Session): Promise<ProbeResult> {
  const url = `${config.apiUrl}/api/v1/validate`
  const probe = `GET ${url}`
  const result = await session.exchange({
    step: 'validate api key',
    build: () => ({
      method: 'GET',
      url,
      headers: { ...config.headers, 'dd-api-key': config.apiKey, accept: 'application/json' },
    }),
    read: (response) => readValidateResponse(response, config.site),
    dryRun: null,
  })
  if (!result.ok) return { status: 'unhealthy', probe, detail: result.error }
  const site = config.site ? ` for site ${config.site}` : ''
  return { status: 'healthy', probe, detail: `Datadog accepted the API key${site} ({"valid": true})` }
}
