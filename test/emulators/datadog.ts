import { Emulator, json, type RecordedRequest, type Reply } from './emulator.js'

/**
 * Datadog Logs HTTP intake v2 (https://docs.datadoghq.com/api/latest/logs/send-logs/), as the
 * real one behaves: `POST /api/v2/logs` only; the key in `DD-API-KEY` (401 without it, 403
 * `{"errors":["Forbidden"]}` for any other key, which is also what a key of another site
 * gets); `Content-Type: application/json`; a JSON array of log objects, or one object (which
 * Datadog stores as one log, whatever its shape); at most 1,000 logs (400) and 5 MB
 * uncompressed (413, final). "5 MB" is read as 5,000,000 bytes, the decimal figure Datadog's
 * own Agent (`DefaultBatchMaxContentSize = 5000000`, pkg/config/setup/config.go in
 * DataDog/datadog-agent) and Vector (`MAX_PAYLOAD_BYTES = 5_000_000`, src/sinks/datadog/logs/
 * config.rs) batch to: the strictest reading of the documented limit. The 413 carries the
 * documented `{"errors": [...]}` shape (HTTPLogErrors) with the documented meaning "Payload
 * too large (batch is above 5MB uncompressed)".
 * A log over 1 MB (1,000,000 bytes, likewise) is accepted and silently truncated, as Datadog
 * does; each truncation is recorded so tests can prove cavra never lets one through. Logs whose
 * official date is more than 18 h old are likewise accepted and dropped (recorded in
 * `dropped`). Answers 202 `{}`.
 * The API's `GET /api/v1/validate` (Validate API key,
 * https://docs.datadoghq.com/api/latest/authentication/#validate-api-key) answers 200
 * `{"valid":true}` for the key and 403 `{"errors":["Forbidden"]}` for any other or none.
 */

export interface DatadogIntakeOptions {
  apiKey: string
  maxBodyBytes?: number
  maxLogs?: number
  maxLogBytes?: number
}

export interface Truncation {
  request: number
  index: number
  bytes: number
}

/** The request body and single-log limits, in bytes (uncompressed). */
export const DATADOG_MAX_BODY_BYTES = 5_000_000
export const DATADOG_MAX_LOG_BYTES = 1_000_000

/** The intake's answer to a body over the limit (Send logs, "Response", 413). */
export const PAYLOAD_TOO_LARGE = {
  errors: [
    {
      status: '413',
      title: 'Payload Too Large',
      detail: 'Payload too large (batch is above 5MB uncompressed)',
    },
  ],
}

/** The attributes Datadog reads the official date from, in order (Log Date Remapper). */
const DATE_ATTRIBUTES = ['timestamp', 'date', '_timestamp', 'Timestamp', 'eventTime', 'published_date']
const PAST_WINDOW_MS = 18 * 3_600_000

export class DatadogIntake extends Emulator {
  readonly logs: Array<Record<string, unknown>> = []
  readonly truncated: Truncation[] = []
  readonly dropped: Array<Record<string, unknown>> = []
  private readonly limits: Required<Omit<DatadogIntakeOptions, 'apiKey'>>

  constructor(readonly options: DatadogIntakeOptions) {
    super('datadog-logs-intake')
    this.limits = {
      maxBodyBytes: options.maxBodyBytes ?? DATADOG_MAX_BODY_BYTES,
      maxLogs: options.maxLogs ?? 1000,
      maxLogBytes: options.maxLogBytes ?? DATADOG_MAX_LOG_BYTES,
    }
    this.route('POST', '/api/v2/logs', (request) => this.intake(request))
    this.route('GET', '/api/v1/validate', (request) =>
      request.headers['dd-api-key'] === this.options.apiKey
        ? json(200, { valid: true })
        : json(403, { errors: ['Forbidden'] }),
    )
  }

  get endpoint(): string {
    return `${this.url}/api/v2/logs`
  }

  override reset(): void {
    super.reset()
    this.logs.length = 0
    this.truncated.length = 0
    this.dropped.length = 0
  }

  /** The tags of a stored log, split the way Datadog splits `ddtags`. */
  static tagsOf(log: Record<string, unknown>): string[] {
    return typeof log.ddtags === 'string' ? log.ddtags.split(',').filter(Boolean) : []
  }

  private intake(request: RecordedRequest): Reply {
    const key = request.headers['dd-api-key']
    if (key === undefined || key === '') return json(401, { errors: ['Unauthorized'] })
    if (key !== this.options.apiKey) return json(403, { errors: ['Forbidden'] })
    if (request.body.length > this.limits.maxBodyBytes) return json(413, PAYLOAD_TOO_LARGE)
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    if (type !== 'application/json')
      return json(400, { errors: [`Unsupported content type: ${type || 'none'}`] })
    let parsed: unknown
    try {
      parsed = JSON.parse(request.text)
    } catch {
      return json(400, { errors: ['Malformed JSON payload'] })
    }
    const entries = Array.isArray(parsed) ? parsed : [parsed]
    if (entries.length > this.limits.maxLogs) {
      return json(400, {
        errors: [`Too many logs in the payload: ${entries.length} > ${this.limits.maxLogs}`],
      })
    }
    if (entries.some((entry) => entry === null || typeof entry !== 'object' || Array.isArray(entry))) {
      return json(400, { errors: ['Each log must be a JSON object'] })
    }
    const requestNumber = this.requests.indexOf(request)
    for (const [index, entry] of (entries as Array<Record<string, unknown>>).entries()) {
      const bytes = Buffer.byteLength(JSON.stringify(entry), 'utf8')
      let log = entry
      if (bytes > this.limits.maxLogBytes) {
        this.truncated.push({ request: requestNumber, index, bytes })
        log = truncateLog(entry, bytes - this.limits.maxLogBytes)
      }
      if (isTooOld(log)) this.dropped.push(log)
      else this.logs.push(log)
    }
    return json(202, {})
  }
}

/** Cuts the longest string in the log by `excess` bytes: data loss, answered with 2xx all the same. */
function truncateLog(log: Record<string, unknown>, excess: number): Record<string, unknown> {
  const copy = structuredClone(log)
  let longest: { holder: Record<string, unknown>; key: string; length: number } | undefined
  const visit = (holder: Record<string, unknown>) => {
    for (const [key, value] of Object.entries(holder)) {
      if (typeof value === 'string' && (!longest || value.length > longest.length)) {
        longest = { holder, key, length: value.length }
      } else if (value && typeof value === 'object') visit(value as Record<string, unknown>)
    }
  }
  visit(copy)
  if (longest) {
    const text = longest.holder[longest.key] as string
    longest.holder[longest.key] = text.slice(0, Math.max(0, text.length - excess - 16))
  }
  return copy
}

function isTooOld(log: Record<string, unknown>, now = Date.now()): boolean {
  for (const name of DATE_ATTRIBUTES) {
    const value = log[name]
    if (value === undefined) continue
    const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN
    return !Number.isNaN(ms) && ms < now - PAST_WINDOW_MS
  }
  return false
}
