import { createHmac, timingSafeEqual } from 'node:crypto'
import { Emulator, json, type RecordedRequest, type Reply } from './emulator.js'
import type { EntraEmulator } from './entra.js'

/**
 * Azure Monitor's two ways into a Sentinel workspace, as strict as the real services.
 *
 * Logs Ingestion API (logs-ingestion-api-overview; REST spec DataCollectionRules.json):
 * `POST /dataCollectionRules/{immutableId}/streams/{stream}?api-version=2023-01-01` with a
 * Bearer token the Entra emulator issued for the monitor scope; a JSON array of objects, each
 * with TimeGenerated; at most 1,000,000 bytes (413); 403 OperationFailed when the principal
 * lacks the Monitoring Metrics Publisher role; errors as `{"error":{"code","message"}}` plus
 * `x-ms-error-code`; 204 on success. Columns the DCR stream does not declare are dropped
 * silently (as Azure does) and listed in `dropped`, so a test can see a wrong column name.
 *
 * HTTP Data Collector API (data-collector-api): `POST /api/logs?api-version=2016-04-01` with
 * `Log-Type`, `x-ms-date` and `Authorization: SharedKey {workspace}:{signature}`, the
 * signature recomputed here from the bytes received; reserved field names refused; the
 * documented `{"Error","Message"}` answers.
 *
 * Both cut long values silently after a success answer: Logs Ingestion "Maximum size for
 * field values: 64 KB. Fields longer than 64 KB are truncated"
 * (https://learn.microsoft.com/azure/azure-monitor/service-limits#logs-ingestion-api), the
 * Data Collector "Maximum of 32 KB limit for field values. If the field value is greater than
 * 32 KB, the data will be truncated"
 * (https://learn.microsoft.com/azure/azure-monitor/logs/data-collector-api#data-limits).
 * Microsoft does not say whether a KB is 1,000 or 1,024 bytes, so the emulator takes the
 * stricter reading (64,000 and 32,000 UTF-8 bytes). A cut value is stored cut (a cut
 * `RawEvent` is no longer JSON) and listed in `truncations`, the data loss Azure never reports.
 */

export interface SentinelEmulatorOptions {
  entra: EntraEmulator
  scope?: string
  dcrImmutableId: string
  streamName: string
  /** Column name → type of the DCR's stream declaration. */
  columns: Record<string, 'string' | 'int' | 'long' | 'real' | 'boolean' | 'datetime' | 'dynamic'>
  workspaceId: string
  /** The workspace key, base64 as Azure shows it. */
  sharedKey: string
  /** A receiver in front of Sentinel (custom mode) that wants this value in x-api-key. */
  customApiKey?: string
  /** Logs Ingestion: longest string value kept whole, in UTF-8 bytes (default 64,000). */
  maxValueBytes?: number
  /** Data Collector: longest string value kept whole, in UTF-8 bytes (default 32,000). */
  collectorMaxValueBytes?: number
}

/** A value Azure cut after answering success: data lost without a word to the sender. */
export interface ValueTruncation {
  api: 'logs-ingestion' | 'data-collector'
  /** The request's position among all requests received. */
  request: number
  /** The record's position in that request. */
  index: number
  column: string
  bytes: number
  kept: number
}

export const MONITOR_SCOPE = 'https://monitor.azure.com//.default'
const INGESTION_LIMIT = 1_000_000
const COLLECTOR_LIMIT = 30_000_000
export const INGESTION_VALUE_LIMIT = 64_000
export const COLLECTOR_VALUE_LIMIT = 32_000
/** Clock skew tolerated on x-ms-date, as for Azure Storage's SharedKey. */
const MAX_SKEW_MS = 15 * 60 * 1000
const RESERVED = ['TimeGenerated', 'RawData', 'tenant']

export class SentinelEmulator extends Emulator {
  /** Rows stored by the Logs Ingestion endpoint, reduced to the declared columns. */
  readonly rows: Record<string, unknown>[] = []
  /** Undeclared columns that arrived (and were dropped) or values of the wrong type. */
  readonly dropped = new Set<string>()
  /** Records stored by the Data Collector endpoint, with their Log-Type. */
  readonly collected: Array<{ logType: string; record: Record<string, unknown> }> = []
  /** Records received by the custom receiver. */
  readonly custom: Record<string, unknown>[] = []
  /** Values stored cut short because they were over the field value limit. */
  readonly truncations: ValueTruncation[] = []
  /** False: the principal lacks the Monitoring Metrics Publisher role on the DCR. */
  roleAssigned = true

  constructor(readonly options: SentinelEmulatorOptions) {
    super('sentinel')
    this.route(
      'POST',
      /^\/dataCollectionRules\/(?<dcr>[^/]+)\/streams\/(?<stream>[^/]+)$/,
      (request, params) => this.ingest(request, params.dcr!, params.stream!),
    )
    this.route('POST', '/api/logs', (request) => this.collect(request))
    this.route('POST', '/custom/cavra', (request) => this.receiveCustom(request))
  }

  override reset(): void {
    super.reset()
    this.rows.length = 0
    this.dropped.clear()
    this.collected.length = 0
    this.custom.length = 0
    this.truncations.length = 0
    this.roleAssigned = true
  }

  get ingestionRequests(): RecordedRequest[] {
    return this.requestsTo(/^\/dataCollectionRules\//)
  }

  private ingest(request: RecordedRequest, dcr: string, stream: string): Reply {
    const version = request.query.get('api-version')
    if (version !== '2023-01-01') {
      return azureError(
        400,
        version ? 'InvalidApiVersion' : 'MissingApiVersion',
        version
          ? `The api-version '${version}' is invalid. The supported versions are '2021-11-01-preview,2023-01-01'.`
          : 'The api-version query parameter (?api-version=) is required for all requests.',
      )
    }
    if (!this.options.entra.accepts(request.headers.authorization, this.options.scope ?? MONITOR_SCOPE)) {
      return azureError(
        401,
        request.headers.authorization ? 'InvalidToken' : 'MissingAuthenticationToken',
        request.headers.authorization
          ? 'The access token is invalid, expired or not issued for the audience https://monitor.azure.com.'
          : 'The request does not carry a bearer token.',
      )
    }
    if (dcr !== this.options.dcrImmutableId) {
      return azureError(404, 'NotFound', `Data collection rule with immutable Id '${dcr}' not found.`)
    }
    if (!this.roleAssigned) {
      return azureError(
        403,
        'OperationFailed',
        `The authentication token provided does not have access to ingest data for the data collection rule with immutable Id '${dcr}' PipelineAccessResult: AccessGranted: False, IsRbacPresent: False.`,
      )
    }
    if (stream !== this.options.streamName) {
      return azureError(
        404,
        'InvalidStream',
        `Stream '${stream}' is not declared in data collection rule '${dcr}'.`,
      )
    }
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return azureError(415, 'UnsupportedMediaType', 'The content type must be application/json.')
    }
    if (request.body.length > INGESTION_LIMIT) {
      return azureError(
        413,
        'ContentLengthLimitExceeded',
        `The request is ${request.body.length} bytes; the limit is 1 MB.`,
      )
    }
    let records: unknown
    try {
      records = JSON.parse(request.text)
    } catch {
      return azureError(400, 'InvalidJson', 'The request body is not valid JSON.')
    }
    if (!Array.isArray(records) || records.length === 0) {
      return azureError(400, 'InvalidPayload', 'The request body must be a non-empty JSON array of objects.')
    }
    for (const [index, record] of records.entries()) {
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        return azureError(400, 'InvalidPayload', `Item ${index} is not a JSON object.`)
      }
      const time = (record as Record<string, unknown>).TimeGenerated
      if (typeof time !== 'string' || Number.isNaN(Date.parse(time))) {
        return azureError(400, 'InvalidPayload', `Item ${index} has no valid TimeGenerated.`)
      }
    }
    const requestNumber = this.requests.indexOf(request)
    const limit = this.options.maxValueBytes ?? INGESTION_VALUE_LIMIT
    for (const [index, record] of (records as Record<string, unknown>[]).entries()) {
      const at = { api: 'logs-ingestion', request: requestNumber, index } as const
      this.rows.push(this.truncateValues(this.project(record), limit, at))
    }
    return { status: 204 }
  }

  /** Keeps the declared columns of the right type; the rest is dropped, as the DCR does. */
  private project(record: Record<string, unknown>): Record<string, unknown> {
    const row: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(record)) {
      const type = this.options.columns[name]
      if (!type || !fits(type, value)) {
        this.dropped.add(name)
        continue
      }
      row[name] = value
    }
    return row
  }

  /** Cuts every string value over `limit` bytes at a whole UTF-8 character, recording each cut. */
  private truncateValues(
    record: Record<string, unknown>,
    limit: number,
    at: Omit<ValueTruncation, 'column' | 'bytes' | 'kept'>,
  ): Record<string, unknown> {
    const stored: Record<string, unknown> = {}
    for (const [column, value] of Object.entries(record)) {
      const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : undefined
      if (!bytes || bytes.length <= limit) {
        stored[column] = value
        continue
      }
      let kept = limit
      while (kept > 0 && (bytes[kept]! & 0xc0) === 0x80) kept--
      this.truncations.push({ ...at, column, bytes: bytes.length, kept })
      stored[column] = bytes.subarray(0, kept).toString('utf8')
    }
    return stored
  }

  private collect(request: RecordedRequest): Reply {
    const version = request.query.get('api-version')
    if (!version)
      return collectorError(400, 'MissingApiVersion', 'The api-version query parameter is missing.')
    if (version !== '2016-04-01') {
      return collectorError(400, 'InvalidApiVersion', `The API version ${version} is not recognized.`)
    }
    const contentType = request.headers['content-type']
    if (!contentType) return collectorError(400, 'MissingContentType', 'The content type was not specified.')
    if (!contentType.startsWith('application/json')) {
      return collectorError(400, 'UnsupportedContentType', 'The content type must be application/json.')
    }
    const logType = request.headers['log-type']
    if (!logType) return collectorError(400, 'MissingLogType', 'The Log-Type header was not specified.')
    if (!/^[A-Za-z0-9_]{1,100}$/.test(logType)) {
      return collectorError(
        400,
        'InvalidLogType',
        `The log type ${logType} contains characters that are not allowed.`,
      )
    }
    const denied = this.checkSharedKey(request, contentType)
    if (denied) return denied
    // "404: either the provided URL is incorrect or the request is too large."
    if (request.body.length > COLLECTOR_LIMIT) return { status: 404, body: '' }
    let records: unknown
    try {
      records = JSON.parse(request.text)
    } catch {
      return collectorError(400, 'InvalidDataFormat', 'An invalid JSON was submitted.')
    }
    const list = Array.isArray(records) ? records : [records]
    for (const record of list) {
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        return collectorError(400, 'InvalidDataFormat', 'Each record must be a JSON object.')
      }
      const reserved = Object.keys(record).find((key) => RESERVED.includes(key))
      if (reserved) {
        return collectorError(400, 'InvalidDataFormat', `The property name '${reserved}' is reserved.`)
      }
    }
    const timeField = request.headers['time-generated-field']
    for (const record of list as Record<string, unknown>[]) {
      if (timeField && typeof record[timeField] !== 'string') {
        return collectorError(
          400,
          'InvalidDataFormat',
          `The time-generated-field ${timeField} is missing in a record.`,
        )
      }
    }
    const requestNumber = this.requests.indexOf(request)
    const limit = this.options.collectorMaxValueBytes ?? COLLECTOR_VALUE_LIMIT
    for (const [index, record] of (list as Record<string, unknown>[]).entries()) {
      const at = { api: 'data-collector', request: requestNumber, index } as const
      this.collected.push({ logType, record: this.truncateValues(record, limit, at) })
    }
    return { status: 200, body: '' }
  }

  /** Recomputes the signature from the request as received: its byte length, content type and date. */
  private checkSharedKey(request: RecordedRequest, contentType: string): Reply | undefined {
    const header = request.headers.authorization
    if (!header) return collectorError(403, 'InvalidAuthorization', 'No Authorization header was specified')
    const match = /^SharedKey ([^:]+):(.+)$/.exec(header)
    if (!match)
      return collectorError(
        403,
        'InvalidAuthorization',
        'An invalid scheme was specified in the Authorization header',
      )
    const date = request.headers['x-ms-date']
    if (!date || Number.isNaN(Date.parse(date)) || Math.abs(Date.now() - Date.parse(date)) > MAX_SKEW_MS) {
      return collectorError(
        403,
        'InvalidAuthorization',
        'The x-ms-date header is missing or outside the allowed clock skew',
      )
    }
    const expected = createHmac('sha256', Buffer.from(this.options.sharedKey, 'base64'))
      .update(`POST\n${request.body.length}\n${contentType}\nx-ms-date:${date}\n/api/logs`, 'utf8')
      .digest()
    const given = Buffer.from(match[2]!, 'base64')
    if (
      match[1] !== this.options.workspaceId ||
      given.length !== expected.length ||
      !timingSafeEqual(given, expected)
    ) {
      return collectorError(
        403,
        'InvalidAuthorization',
        'An invalid signature was specified in the Authorization header',
      )
    }
    return undefined
  }

  private receiveCustom(request: RecordedRequest): Reply {
    if (!this.options.customApiKey || request.headers['x-api-key'] !== this.options.customApiKey) {
      return json(401, { error: 'missing or wrong x-api-key' })
    }
    const records = JSON.parse(request.text) as unknown
    if (!Array.isArray(records)) return json(400, { error: 'expected a JSON array of records' })
    this.custom.push(...(records as Record<string, unknown>[]))
    return json(200, { accepted: records.length })
  }
}

function fits(type: SentinelEmulatorOptions['columns'][string], value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string'
    case 'int':
    case 'long':
      return Number.isInteger(value)
    case 'real':
      return typeof value === 'number'
    case 'boolean':
      return typeof value === 'boolean'
    case 'datetime':
      return typeof value === 'string' && !Number.isNaN(Date.parse(value))
    default:
      return true
  }
}

function azureError(status: number, code: string, message: string): Reply {
  return json(status, { error: { code, message } }, { 'x-ms-error-code': code })
}

function collectorError(status: number, code: string, message: string): Reply {
  return json(status, { Error: code, Message: message })
}

/** The stream declaration of the DCR the README documents. */
export const CAVRA_STREAM_COLUMNS: SentinelEmulatorOptions['columns'] = {
  TimeGenerated: 'datetime',
  EventId: 'string',
  RecordType: 'string',
  EventType: 'string',
  Severity: 'string',
  CavraSeverity: 'string',
  SessionId: 'string',
  Product: 'string',
  Title: 'string',
  Environment: 'string',
  Repository: 'string',
  DecisionCount: 'int',
  BlockedCount: 'int',
  ApprovalRequiredCount: 'int',
  ReleaseVersion: 'string',
  ReleaseCommit: 'string',
  RolloutId: 'string',
  ApprovalId: 'string',
  ApprovalState: 'string',
  CurrentRing: 'string',
  TargetRing: 'string',
  ExecutionStatus: 'string',
  RollbackReason: 'string',
  ChangeRecord: 'string',
  DecisionId: 'string',
  DecisionIndex: 'int',
  Decision: 'string',
  ActionType: 'string',
  Command: 'string',
  PolicyId: 'string',
  Reason: 'string',
  RawEvent: 'string',
}
