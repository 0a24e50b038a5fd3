import { z } from 'zod'
import { hmacSha256 } from '../common/digest.js'
import { ConfigError } from '../common/errors.js'
import type { Severity } from '../common/severity.js'
import type { TokenSource } from '../delivery/exchange.js'
import type { HttpRequest, HttpResponse } from '../delivery/http.js'
import type { Session } from '../delivery/session.js'
import { excerpt, readStatus, type Verdict } from '../delivery/verdict.js'
import { type Decision, type DeliveryEvent, describeDecision } from '../events/event.js'
import { objectField, textField } from '../events/views.js'
import { compatibilityHeaders, configuredHeaders } from './shared/auth.js'
import { batchBodies, type EncodedRecord, ONE_RECORD_ARRAY_FRAMING } from './shared/batching.js'
import {
  ENTRA_CREDENTIAL_KEYS,
  ENTRA_CREDENTIAL_SECRETS,
  entraCredential,
  entraCredentialSettings,
  entraFormsGiven,
  entraToken,
  twoFormsError,
} from './shared/entra-credentials.js'
import { jsonObject } from './shared/json.js'
import { type Fitted, fitFields, fitJson, jsonBytes, shortenText, utf8Bytes } from './shared/shorten.js'
import { type SiemRecord, siemRecords } from './shared/siem-records.js'
import { isPlainHttpOffHost, parseUrlSetting } from './shared/urls.js'
import {
  type ConfigureContext,
  type ConnectorResult,
  defineConnector,
  type ProbeResult,
  type SettingsOf,
} from './types.js'

/**
 * Microsoft Sentinel through Azure Monitor Logs.
 * Logs Ingestion API (default): https://learn.microsoft.com/azure/azure-monitor/logs/logs-ingestion-api-overview
 * HTTP Data Collector API (legacy): https://learn.microsoft.com/azure/azure-monitor/logs/data-collector-api
 * Every event becomes flat records (a summary plus one per decision) sent as JSON arrays,
 * batched by UTF-8 bytes under each API's per-call limit. Both APIs cut long column values
 * silently, so no value is sent over their limit: cavra shortens it first, with a marker.
 */

export type SentinelMode = 'logs-ingestion' | 'data-collector' | 'custom'

export type SentinelConfig =
  | { mode: 'logs-ingestion'; url: string; auth: TokenSource | string; headers: Record<string, string> }
  | {
      mode: 'data-collector'
      url: string
      workspaceId: string
      key: Buffer
      logType: string
      headers: Record<string, string>
    }
  | { mode: 'custom'; url: string; headers: Record<string, string> }

export const INGESTION_API_VERSION = '2023-01-01'
export const DATA_COLLECTOR_API_VERSION = '2016-04-01'
/** Logs Ingestion: 1 MB per call, the limit Microsoft's own SDKs chunk at (service limits, "Logs Ingestion API"). */
export const INGESTION_MAX_BYTES = 1_000_000
/** Data Collector: "Maximum of 30 MB per post" (data-collector-api, "Data limits"). */
export const DATA_COLLECTOR_MAX_BYTES = 30_000_000
/**
 * Logs Ingestion: "Maximum size for field values: 64 KB. Fields longer than 64 KB are
 * truncated." (https://learn.microsoft.com/azure/azure-monitor/service-limits#logs-ingestion-api).
 * Microsoft does not say whether that KB is 1,000 or 1,024 bytes; 64,000 UTF-8 bytes fits both.
 */
export const INGESTION_MAX_VALUE_BYTES = 64_000
/**
 * Data Collector: "Maximum of 32 KB limit for field values. If the field value is greater than
 * 32 KB, the data will be truncated." (https://learn.microsoft.com/azure/azure-monitor/logs/data-collector-api#data-limits);
 * 32,000 UTF-8 bytes, likewise.
 */
export const DATA_COLLECTOR_MAX_VALUE_BYTES = 32_000

/** The sizes a row must keep: each string value, and the row as JSON (within one call). */
export interface SentinelLimits {
  valueBytes: number
  rowBytes?: number
}

const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com'
const DEFAULT_SCOPE = 'https://monitor.azure.com//.default'
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** The keys each mode reads; any other Sentinel key set in the config is reported as unused. */
const COMPATIBILITY_KEYS = 'token authorization_scheme authorization'
const MODE_KEYS: Record<SentinelMode, string> = {
  'logs-ingestion': `dcr_immutable_id stream_name tenant_id client_id client_secret ${ENTRA_CREDENTIAL_KEYS.join(' ')} authority_url scope ${COMPATIBILITY_KEYS}`,
  'data-collector': 'workspace_id shared_key log_type',
  custom: `api_key api_key_header ${COMPATIBILITY_KEYS}`,
}

const text = () => z.string().min(1).optional()

// Built once, on first use, by defineConnector.
const sentinelSettings = () => ({
  mode: z
    .enum(['logs-ingestion', 'data-collector', 'custom'])
    .optional()
    .describe(
      'logs-ingestion (default), data-collector (legacy API, retired by Microsoft in 2026) or custom.',
    ),
  dcr_immutable_id: text().describe('Immutable id of the data collection rule (dcr-<32 hex>).'),
  stream_name: text().describe('DCR input stream (default Custom-CAVRAEvents).'),
  tenant_id: text().describe('Entra tenant of the app registration.'),
  client_id: text().describe('Application (client) id of the app registration.'),
  client_secret: text().describe('Client secret value of the app registration.'),
  ...entraCredentialSettings(),
  authority_url: text().describe('Entra authority (default https://login.microsoftonline.com).'),
  scope: text().describe('Token scope (default https://monitor.azure.com//.default).'),
  workspace_id: text().describe('Log Analytics workspace id (data-collector).'),
  shared_key: text().describe('Workspace primary or secondary key, base64 (data-collector).'),
  log_type: text().describe('Data Collector record type; the table becomes <log_type>_CL (default CAVRA).'),
  token: text().describe('A bearer token obtained elsewhere (logs-ingestion) or the custom auth token.'),
  authorization_scheme: text().describe('Scheme for token (default Bearer).'),
  authorization: text().describe('The whole Authorization header value (compatibility).'),
  api_key: text().describe('Sent in the header named by api_key_header (custom).'),
  api_key_header: text().describe('Header for api_key (default x-api-key).'),
})

type SentinelSettings = SettingsOf<ReturnType<typeof sentinelSettings>>

export const sentinel = defineConnector({
  provider: 'sentinel',
  category: 'siem',
  title: 'Microsoft Sentinel',
  docs: 'https://learn.microsoft.com/azure/azure-monitor/logs/logs-ingestion-api-overview',
  settings: sentinelSettings,
  secrets: [...ENTRA_CREDENTIAL_SECRETS, 'shared_key', 'token', 'authorization', 'api_key'],
  urlIsSecret: false,

  configure(settings, context): SentinelConfig {
    const mode = selectMode(settings)
    const warn = (message: string) => context.warn(`connector ${context.name}: ${message}`)
    if (!settings.mode && mode === 'custom') {
      warn(
        'no dcr_immutable_id is set, so records are POSTed to url with static auth headers (custom mode, as the earlier tool did); Microsoft Sentinel ingests through the Logs Ingestion API: set dcr_immutable_id, tenant_id, client_id and client_secret_env.',
      )
    }
    const used = MODE_KEYS[mode].split(' ')
    const unused = [...new Set(Object.values(MODE_KEYS).join(' ').split(' '))].filter(
      (key) => !used.includes(key) && settings[key as keyof SentinelSettings] !== undefined,
    )
    if (unused.length > 0) warn(`${unused.join(', ')}: not used in ${mode} mode.`)
    const headers = configuredHeaders(settings)
    if (mode === 'data-collector') return configureDataCollector(settings, headers, warn)
    const url = requireUrl(settings, mode)
    if (isPlainHttpOffHost(url)) warn('url uses http://; the credential and the records travel unencrypted.')
    if (mode === 'custom') {
      const auth = compatibilityHeaders(settings)
      if (Object.keys(auth).length === 0)
        warn('custom mode without token, authorization or api_key sends no credential.')
      return { mode, url, headers: { ...headers, ...auth } }
    }
    return {
      mode,
      url: ingestionUrl(url, settings),
      auth: ingestionAuth(settings, context.env, warn),
      headers,
    }
  },

  async deliver(event, config, session) {
    return deliverRecords(event, config, session)
  },

  probe: probeCredential,
})

/** Explicit `mode` wins; otherwise the keys present say which API the config was written for. */
export function selectMode(settings: SentinelSettings): SentinelMode {
  if (settings.mode) return settings.mode
  if (settings.dcr_immutable_id) return 'logs-ingestion'
  if (settings.workspace_id && settings.shared_key) return 'data-collector'
  const legacyAuth = Boolean(settings.api_key || settings.authorization || settings.token)
  if (settings.url && legacyAuth) return 'custom'
  return 'logs-ingestion'
}

function requireUrl(settings: SentinelSettings, mode: SentinelMode): string {
  const url = settings.url
  const what =
    mode === 'custom'
      ? 'the endpoint that receives the JSON array of records'
      : 'the logs ingestion endpoint of the DCR or of its DCE, e.g. https://my-dce-5kyl.eastus-1.ingest.monitor.azure.com'
  if (!url) throw new ConfigError(`url is required (${what}); set url or url_env.`)
  parseUrlSetting(url)
  return url
}

/** `{endpoint}/dataCollectionRules/{id}/streams/{stream}?api-version=2023-01-01` (Logs Ingestion REST API). */
export function ingestionUrl(endpoint: string, settings: SentinelSettings): string {
  const dcr = settings.dcr_immutable_id ?? ''
  const stream = settings.stream_name ?? 'Custom-CAVRAEvents'
  const base = new URL(endpoint)
  const problem = ingestionProblem(dcr, stream, base)
  if (problem) throw new ConfigError(problem)
  base.pathname = `${base.pathname.replace(/\/+$/, '')}/dataCollectionRules/${dcr}/streams/${stream}`
  base.search = `api-version=${INGESTION_API_VERSION}`
  return base.toString()
}

function ingestionProblem(dcr: string, stream: string, base: URL): string | undefined {
  if (!dcr) return 'dcr_immutable_id is required (the immutableId of the data collection rule).'
  // The immutableId property (dcr- + 32 hex), not the DCR's name or ARM resource id.
  if (!/^dcr-[0-9a-f]{32}$/i.test(dcr)) {
    return `dcr_immutable_id "${dcr}" is not an immutable id (dcr- and 32 hex digits), nor the DCR's name.`
  }
  if (!/^(Custom|Microsoft)-[A-Za-z0-9_]+$/.test(stream)) {
    return `stream_name "${stream}" must name a DCR stream: Custom-<name> or Microsoft-<table>.`
  }
  if (/\/dataCollectionRules\//i.test(base.pathname)) {
    return 'url must be the ingestion endpoint only; cavra adds /dataCollectionRules/… itself.'
  }
  return undefined
}

/**
 * A fixed bearer credential, or an Entra token fetched and cached by the session with the
 * entry's one credential form (a secret, a certificate, a federated token).
 */
function ingestionAuth(
  settings: SentinelSettings,
  env: ConfigureContext['env'],
  warn: (message: string) => void,
): TokenSource | string {
  const token = settings.token
  const authorization = settings.authorization
  const given = [
    ...entraFormsGiven(settings),
    ...(token ? ['token'] : []),
    ...(authorization ? ['authorization'] : []),
  ]
  if (given.length > 1) throw twoFormsError(given)
  if (token || authorization) {
    const app = [settings.tenant_id && 'tenant_id', settings.client_id && 'client_id'].filter(Boolean)
    if (app.length > 0) {
      throw new ConfigError(`set either token (obtained elsewhere) or ${app.join(', ')}, not both.`)
    }
    const scheme = settings.authorization_scheme
    if (token && scheme && scheme.toLowerCase() !== 'bearer') {
      throw new ConfigError(`authorization_scheme "${scheme}" is refused; Logs Ingestion takes Bearer.`)
    }
    return authorization ?? `Bearer ${token}`
  }
  const { tenant_id, client_id } = settings
  const missing = (key: string) =>
    new ConfigError(
      `${key} is required for an Entra token (or set token to a bearer token obtained elsewhere); set ${key}.`,
    )
  if (!tenant_id) throw missing('tenant_id')
  if (!client_id) throw missing('client_id')
  const credential = entraCredential(settings, { env }, 'token (a bearer token obtained elsewhere)')
  const authority = (settings.authority_url ?? DEFAULT_AUTHORITY).replace(/\/+$/, '')
  if (isPlainHttpOffHost(authority)) warn('authority_url uses http://; the credential travels unencrypted.')
  const scope = settings.scope ?? DEFAULT_SCOPE
  // Client-credentials scopes must be `<resource>/.default` (Entra answers AADSTS1002012 otherwise).
  if (!scope.endsWith('/.default')) {
    throw new ConfigError(`scope "${scope}" must end in /.default, e.g. ${DEFAULT_SCOPE}.`)
  }
  return entraToken({
    tokenUrl: `${authority}/${encodeURIComponent(tenant_id)}/oauth2/v2.0/token`,
    clientId: client_id,
    scope,
    credential,
  })
}

function configureDataCollector(
  settings: SentinelSettings,
  headers: Record<string, string>,
  warn: (message: string) => void,
): SentinelConfig {
  warn(
    'the HTTP Data Collector API is deprecated and Microsoft retired it in September 2026; move to mode logs-ingestion (a DCR and an app registration).',
  )
  const workspaceId = settings.workspace_id
  if (!workspaceId || !GUID.test(workspaceId)) {
    throw new ConfigError('workspace_id is required: the Log Analytics workspace id (a GUID).')
  }
  const sharedKey = settings.shared_key
  if (!sharedKey) throw new ConfigError('shared_key is required (the workspace key); set shared_key_env.')
  // The key is base64 and the HMAC is keyed with its decoded bytes (data-collector-api, "Authorization").
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(sharedKey) || sharedKey.length % 4 !== 0) {
    throw new ConfigError('shared_key is not base64; copy the primary or secondary key as Azure shows it.')
  }
  // "Log-Type: letters, numbers and underscore only, up to 100 characters" (data-collector-api, headers).
  const logType = settings.log_type ?? 'CAVRA'
  if (!/^[A-Za-z0-9_]{1,100}$/.test(logType)) {
    throw new ConfigError(`log_type "${logType}" may hold only letters, digits and _, at most 100.`)
  }
  const url = dataCollectorUrl(workspaceId, settings.url)
  if (isPlainHttpOffHost(url)) warn('url uses http://; the records travel unencrypted.')
  return { mode: 'data-collector', url, workspaceId, key: Buffer.from(sharedKey, 'base64'), logType, headers }
}

/** `https://{workspace}.ods.opinsights.azure.com/api/logs?api-version=2016-04-01`; a `url` replaces the base. */
export function dataCollectorUrl(workspaceId: string, base?: string): string {
  const url = parseUrlSetting(base ?? `https://${workspaceId}.ods.opinsights.azure.com`)
  const path = url.pathname.replace(/\/+$/, '')
  url.pathname = path.endsWith('/api/logs') ? path : `${path}/api/logs`
  url.search = `api-version=${DATA_COLLECTOR_API_VERSION}`
  return url.toString()
}

/** Sentinel's own severity words; a critical event is High, never lower. */
export function sentinelSeverity(severity: Severity): 'High' | 'Medium' | 'Low' | 'Informational' {
  if (severity === 'critical' || severity === 'high') return 'High'
  if (severity === 'medium') return 'Medium'
  return severity === 'low' ? 'Low' : 'Informational'
}

/**
 * One flat row. Logs Ingestion keeps only the columns the DCR stream declares (others are
 * dropped silently), so the names are fixed; the Data Collector API reserves `TimeGenerated`,
 * `RawData` and `tenant` (data-collector-api, "Reserved properties") and reads the time from
 * the field named in `time-generated-field` instead. Values are kept within `limits` (the
 * Logs Ingestion limit unless told otherwise).
 */
export function sentinelRecord(
  record: SiemRecord,
  event: DeliveryEvent,
  timeField: 'TimeGenerated' | 'EventTime',
  limits: SentinelLimits = { valueBytes: INGESTION_MAX_VALUE_BYTES },
): Record<string, unknown> {
  return sentinelRow(record, event, timeField, limits).value
}

/**
 * The row within `limits`, and whether anything was shortened. A long column keeps its start and
 * ends with `…[truncated N bytes]`. `RawEvent` stays JSON whatever its size: the largest fields
 * inside it are shortened first, and a record that still cannot fit is replaced by a JSON object
 * saying how large it was (a cut JSON text would no longer parse). When the row as a whole is
 * over `rowBytes`, its widest columns other than `RawEvent` give way further.
 */
export function sentinelRow(
  record: SiemRecord,
  event: DeliveryEvent,
  timeField: 'TimeGenerated' | 'EventTime',
  limits: SentinelLimits,
): Fitted<Record<string, unknown>> {
  const raw = fitFields(record.fields, limits.valueBytes)
  let shortened = raw.shortened
  let row = sentinelColumns(record, event, timeField)
  for (const [name, value] of Object.entries(row)) {
    if (typeof value === 'string' && utf8Bytes(value) > limits.valueBytes) {
      row[name] = shortenText(value, limits.valueBytes)
      shortened = true
    }
  }
  const rawEvent = JSON.stringify(raw.value)
  if (limits.rowBytes !== undefined && rowBytesAtMost(row, rawEvent) > limits.rowBytes) {
    const total = jsonBytes({ ...row, RawEvent: rawEvent })
    if (total > limits.rowBytes) {
      const narrower = fitJson(row, limits.rowBytes - (total - jsonBytes(row)))
      if (narrower) {
        row = narrower.value
        shortened = true
      }
    }
  }
  return { value: { ...row, RawEvent: rawEvent }, shortened }
}

/** A cheap upper bound of the row's JSON size: every character escaped at its widest (6 bytes). */
function rowBytesAtMost(row: Record<string, unknown>, rawEvent: string): number {
  let bytes = 16 + 6 * utf8Bytes(rawEvent)
  for (const [name, value] of Object.entries(row)) {
    bytes += name.length + 6 + (typeof value === 'string' ? 6 * utf8Bytes(value) : 32)
  }
  return bytes
}

/** Every column but `RawEvent`, as the record says them. */
function sentinelColumns(
  record: SiemRecord,
  event: DeliveryEvent,
  timeField: 'TimeGenerated' | 'EventTime',
): Record<string, unknown> {
  const f = record.fields
  const e = event.fields
  const release = objectField(e.release)
  const summary = record.kind === 'summary'
  return {
    [timeField]: isoTime(record.time, event.timestamp),
    EventId: event.eventId,
    RecordType: record.kind,
    EventType: event.eventType,
    Severity: sentinelSeverity(record.severity),
    CavraSeverity: record.severity,
    SessionId: event.sessionId ?? undefined,
    Product: event.product,
    Title: summary ? event.view.title : describeDecision(f as Decision),
    Environment: textField(e.environment),
    Repository: textField(e.repository) ?? textField(release?.repository),
    ...(summary
      ? {
          DecisionCount: event.decisionCount,
          BlockedCount: numberField(e.blocked_count),
          ApprovalRequiredCount: numberField(e.approval_required_count),
          ReleaseVersion: textField(release?.version),
          ReleaseCommit: textField(release?.commit),
          RolloutId: textField(e.rollout_id),
          ApprovalId: textField(e.approval_id),
          ApprovalState: textField(e.approval_state),
          CurrentRing: textField(e.current_ring),
          TargetRing: textField(e.target_ring),
          ExecutionStatus: textField(e.execution_status) ?? textField(e.rollback_status),
          RollbackReason: textField(e.rollback_reason),
          ChangeRecord: textField(e.change_record),
        }
      : {
          DecisionId: textField(f.decision_id),
          DecisionIndex: numberField(f.decision_index),
          Decision: textField(f.decision),
          ActionType: textField(f.action_type),
          Command: textField(f.command),
          PolicyId: textField(f.policy_id),
          Reason: textField(f.reason),
        }),
  }
}

/** UTC ISO 8601; the event's time when a decision's is unreadable, and now when neither is. */
function isoTime(time: string, fallback: string): string {
  const ms = [Date.parse(time), Date.parse(fallback)].find((value) => !Number.isNaN(value))
  return new Date(ms ?? Date.now()).toISOString()
}

function numberField(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

/**
 * SharedKey signature (data-collector-api, "Authorization"): base64 HMAC-SHA256, keyed with
 * the base64-decoded workspace key, over the method, the body's length in UTF-8 bytes (a JS
 * string length is wrong for multi-byte text: 403), the content type, the date and resource.
 */
export function sharedKeySignature(key: Buffer, date: string, contentLength: number): string {
  const stringToSign = `POST\n${contentLength}\napplication/json\nx-ms-date:${date}\n/api/logs`
  return hmacSha256(key, stringToSign).toString('base64')
}

export function dataCollectorRequest(
  config: Extract<SentinelConfig, { mode: 'data-collector' }>,
  body: Buffer,
  now: Date,
): { request: HttpRequest; signature: string } {
  const date = now.toUTCString()
  const signature = sharedKeySignature(config.key, date, body.length)
  return {
    signature,
    request: {
      method: 'POST',
      url: config.url,
      headers: {
        ...config.headers,
        // Exactly application/json: "; charset=utf-8" breaks the signature check (data-collector-api, C# sample).
        'content-type': 'application/json',
        'log-type': config.logType,
        'x-ms-date': date,
        // A time over two days old becomes the ingestion time in TimeGenerated; EventTime keeps it.
        'time-generated-field': 'EventTime',
        authorization: `SharedKey ${config.workspaceId}:${signature}`,
      },
      body,
    },
  }
}

/**
 * Logs Ingestion answers (REST spec DataCollectionRules.json; SDK troubleshooting guides):
 * 204 accepted; errors as `{"error":{"code","message"}}` plus `x-ms-error-code`.
 */
export function readIngestionResponse(response: HttpResponse): Verdict<null> {
  if (response.status >= 200 && response.status < 300) return { kind: 'ok', value: null }
  const body = jsonObject(response.body)
  const error = objectField(body?.error)
  const code = textField(error?.code) ?? response.headers['x-ms-error-code']
  const message = textField(error?.message)
  const vendor = code || message ? [code, message].filter(Boolean).join(': ') : excerpt(response)
  const hint: Record<number, string> = {
    400: 'the records do not match the stream declaration of the DCR, or the body is not a JSON array',
    401: "the bearer token was refused: it must be a live token for https://monitor.azure.com (or your cloud's monitor audience) from the DCR's tenant",
    404: 'check url (the logs ingestion endpoint of the DCR or its DCE), dcr_immutable_id and stream_name; DCR, DCE and workspace must be in one region',
    413: `a call exceeded the ${INGESTION_MAX_BYTES.toLocaleString('en')}-byte limit`,
  }
  // "does not have access to ingest data for the data collection rule": RBAC, not credentials.
  if (
    response.status === 403 &&
    (code === 'OperationFailed' || /does not have access/i.test(message ?? ''))
  ) {
    hint[403] =
      "the app's service principal needs the Monitoring Metrics Publisher role on the data collection rule; a new role assignment takes up to 30 minutes to propagate, so deliver again later if it was granted just now"
  }
  const reason = hint[response.status] ? `${vendor} (${hint[response.status]})` : vendor
  return readStatus(response, null, () => reason)
}

/** The Data Collector API's documented codes ("Return codes"); its body is `{"Error","Message"}`. */
const DATA_COLLECTOR_HINTS: Record<string, string> = {
  InactiveCustomer: 'the workspace has been closed',
  InvalidApiVersion: `the API version must be ${DATA_COLLECTOR_API_VERSION}`,
  InvalidCustomerId: 'check workspace_id',
  InvalidDataFormat: 'the body is not valid JSON or uses a reserved field name',
  InvalidLogType: 'log_type may hold only letters, digits and _',
  MissingApiVersion: 'the api-version query parameter is missing',
  MissingContentType: 'the Content-Type header is missing',
  MissingLogType: 'the Log-Type header is missing',
  UnsupportedContentType: 'the Content-Type must be application/json',
  InvalidAuthorization:
    "check workspace_id, shared_key (the workspace's primary or secondary key) and this machine's clock, since x-ms-date is signed",
}

export function readDataCollectorResponse(response: HttpResponse): Verdict<null> {
  if (response.status >= 200 && response.status < 300) return { kind: 'ok', value: null }
  const body = jsonObject(response.body)
  const code = textField(body?.Error)
  const vendor = code ? `${code}: ${textField(body?.Message) ?? ''}`.replace(/: $/, '') : excerpt(response)
  const hint =
    (code && DATA_COLLECTOR_HINTS[code]) ||
    (response.status === 404 ? 'the URL is wrong or the request is too large' : undefined)
  return readStatus(response, null, () => (hint ? `${vendor} (${hint})` : vendor))
}

/** The encoded rows, one at a time. */
async function* encodeRecords(
  event: DeliveryEvent,
  timeField: 'TimeGenerated' | 'EventTime',
  limits: SentinelLimits,
): AsyncGenerator<EncodedRecord> {
  for await (const record of siemRecords(event)) {
    const row = sentinelRow(record, event, timeField, limits)
    const text = JSON.stringify(row.value)
    yield { text, bytes: Buffer.byteLength(text, 'utf8'), shortened: row.shortened }
  }
}

async function deliverRecords(
  event: DeliveryEvent,
  config: SentinelConfig,
  session: Session,
): Promise<ConnectorResult> {
  const collector = config.mode === 'data-collector'
  const maxBytes = collector ? DATA_COLLECTOR_MAX_BYTES : INGESTION_MAX_BYTES
  const auth = config.mode === 'logs-ingestion' && typeof config.auth !== 'string' ? config.auth : undefined
  // The session attaches tokens without fetching them under --dry-run; show the token request too.
  const build = (body: Buffer): HttpRequest => {
    if (config.mode === 'data-collector') {
      // Date and signature per attempt: the service checks x-ms-date against its clock.
      const { request, signature } = dataCollectorRequest(config, body, new Date())
      session.addSecret(signature)
      return request
    }
    const headers: Record<string, string> = { ...config.headers, 'content-type': 'application/json' }
    if (config.mode === 'logs-ingestion' && typeof config.auth === 'string')
      headers.authorization = config.auth
    return { method: 'POST', url: config.url, headers, body }
  }
  const read =
    config.mode === 'data-collector'
      ? readDataCollectorResponse
      : config.mode === 'logs-ingestion'
        ? readIngestionResponse
        : (response: HttpResponse) => readStatus(response, null)
  let sent = 0
  let shortened = 0
  let batches = 0
  // The custom receiver stands in front of Sentinel, so the Logs Ingestion limits hold there too.
  const limits: SentinelLimits = {
    valueBytes: collector ? DATA_COLLECTOR_MAX_VALUE_BYTES : INGESTION_MAX_VALUE_BYTES,
    rowBytes: maxBytes - ONE_RECORD_ARRAY_FRAMING,
  }
  const records = encodeRecords(event, collector ? 'EventTime' : 'TimeGenerated', limits)
  for await (const batch of batchBodies(records, { maxBytes, framing: 'json-array' })) {
    batches++
    const accepted = sent > 0 ? ` (${batches - 1} earlier batch(es), ${sent} records, were accepted)` : ''
    // A body is valid until the next batch is asked for: nothing below keeps it.
    const body = batch.body
    if (body.length > maxBytes) {
      const error = `record ${sent + 1} alone is ${body.length} bytes, above the ${maxBytes}-byte limit per call; it was not sent${accepted}`
      return { ok: false, error, recordsSent: sent, recordsShortened: shortened }
    }
    // Neither API has an idempotency key: a batch resent after a timeout may land twice, and
    // `EventId` is what a query deduplicates on (summarize arg_max(TimeGenerated, *) by EventId, ...).
    const result = await session.exchange({
      step: `send batch ${batches}`,
      primary: true,
      auth,
      build: () => build(body),
      read,
      dryRun: null,
    })
    if (!result.ok) {
      return {
        ok: false,
        error: `${result.error}${accepted}`,
        recordsSent: sent,
        recordsShortened: shortened,
      }
    }
    sent += batch.records
    shortened += batch.shortened
  }
  return { ok: true, remoteReference: null, recordsSent: sent, recordsShortened: shortened }
}

/**
 * Neither ingestion API has a call that stores nothing, so the check goes as far as the
 * credential: the Entra token of the configured app (the Monitoring Metrics Publisher role
 * on the DCR shows only when records are sent).
 */
async function probeCredential(config: SentinelConfig, session: Session): Promise<ProbeResult> {
  if (config.mode !== 'logs-ingestion') {
    const api = config.mode === 'data-collector' ? 'The HTTP Data Collector API' : 'A custom receiver'
    return {
      status: 'unverified',
      probe: 'none',
      detail: `${api} has no call that stores nothing: the configuration was checked, nothing was sent`,
    }
  }
  if (typeof config.auth === 'string') {
    return {
      status: 'unverified',
      probe: 'none',
      detail:
        'a bearer token given in the configuration can be checked only by ingesting records: the configuration was checked, nothing was sent',
    }
  }
  const probe = 'obtain the Entra token'
  const token = await session.token(config.auth)
  if (!token.ok) return { status: 'unhealthy', probe, detail: token.error }
  return {
    status: 'healthy',
    probe,
    detail:
      "Entra issued a token; the DCR, its stream and the app's Monitoring Metrics Publisher role were not verified (only ingestion shows them)",
  }
}
