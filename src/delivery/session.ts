import { createHash, type Hash } from 'node:crypto'
import type { AttemptRecord, DryRunRequest, RequestRecord } from './evidence-types.js'
import type { HttpRequest, HttpResponse, NetworkFailure, Transport } from './http.js'
import type { Redactor } from './redact.js'
import { type Deadline, isRetryableStatus, nextDelayMs, parseRetryAfter } from './retry.js'

/**
 * A connector's view of the network for one delivery. `exchange()` sends one logical request
 * with the retry policy of SPEC §5.1, records every attempt as evidence, attaches cached
 * tokens (refreshing once on 401), and, before resending a create that may already have
 * landed, runs the connector's duplicate check.
 */

/** How a connector reads a response: pure, from status, headers and body. */
export type Verdict<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'retryable'; reason: string; retryAfterMs?: number }
  | { kind: 'failed'; reason: string }

export interface Exchange<T> {
  /** Names the request in the evidence: `send batch 1/3`, `create issue`. */
  step: string
  /** Builds the request for an attempt (1-based); called again per attempt, so signatures stay fresh. */
  build(attempt: number): HttpRequest
  read(response: HttpResponse): Verdict<T>
  /** Bearer token to attach per attempt; a 401 invalidates it and the attempt is repeated once. */
  auth?: TokenSource
  /**
   * The delivery's main request(s): described in the evidence `request` record, and their
   * bytes are hashed into `body_sha256`.
   */
  primary?: boolean
  /**
   * The duplicate check after an ambiguous failure (the request may have been stored): run
   * before resending, and once more when no attempt is left. `found` ends the exchange as a
   * success; `absent` allows the resend; `unknown` (the check itself failed) stops without
   * resending, since a second create could duplicate the first.
   */
  recover?: () => Promise<Recovery<T>>
  /** What a blind resend could create twice ("issue", "change request"), for messages. */
  creates?: string
  /** The value `exchange` returns under --dry-run, where nothing is sent. */
  dryRun: T
}

export type Recovery<T> = { found: T } | { absent: true } | { unknown: string }

/** A lookup's answer as a Recovery: a hit is `found`, a miss `absent`, a failed lookup `unknown`. */
export function recoveryOf<T>(lookup: ExchangeResult<T | null | undefined>, what: string): Recovery<T> {
  if (!lookup.ok) return { unknown: `the lookup for ${what} failed (${lookup.error})` }
  return lookup.value === null || lookup.value === undefined ? { absent: true } : { found: lookup.value }
}

export type ExchangeResult<T> =
  | { ok: true; value: T; status: number | null; recovered: boolean }
  | { ok: false; status: number | null; error: string; ambiguous: boolean }

export interface Clock {
  now(): number
  sleep(ms: number): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}

export interface AttemptObserver {
  attempt(record: AttemptRecord): void
  waiting?(delayMs: number, reason: string): void
}

export type TokenResult = { ok: true; token: string } | { ok: false; error: string }

/** A bearer credential fetched at run time and shared by every connector that needs it. */
export interface TokenSource {
  /** Cache key: the same key means the same credential. */
  key: string
  /** Fetches a fresh token through the session (recorded as a `token` step). */
  fetch(session: Session): Promise<TokenResult>
  /** The header that carries the token. */
  header?(token: string): Record<string, string>
}

/** Tokens of the run, keyed by credential; a fetch in flight is shared. */
export class TokenCache {
  private readonly entries = new Map<string, Promise<TokenResult>>()

  get(source: TokenSource, session: Session): Promise<TokenResult> {
    let entry = this.entries.get(source.key)
    if (!entry) {
      entry = source.fetch(session).then((result) => {
        if (result.ok) session.addSecret(result.token)
        else this.entries.delete(source.key)
        return result
      })
      this.entries.set(source.key, entry)
    }
    return entry
  }

  /** Drops a token the destination rejected, so the next get() fetches a new one. */
  invalidate(source: TokenSource): void {
    this.entries.delete(source.key)
  }
}

export interface SessionOptions {
  /** The vendor product name, for messages: "HTTP 503 from Jira after 3 attempts". */
  title: string
  urlIsSecret: boolean
  transport: Transport
  retries: number
  timeoutMs: number
  deadline: Deadline
  redactor: Redactor
  tokens: TokenCache
  observer?: AttemptObserver
  clock?: Clock
  random?: () => number
  dryRun?: boolean
}

interface PrimaryRequest {
  request: HttpRequest
  bodies: Hash
  bytes: number
  batches: number
}

export class Session {
  readonly attempts: AttemptRecord[] = []
  readonly dryRunRequests: DryRunRequest[] = []
  lastStatus: number | null = null
  idempotencyKey: string | null = null
  private primary: PrimaryRequest | undefined
  /** The last request of any step: stands in for the record when no primary request was sent. */
  private lastRequest: HttpRequest | undefined
  private readonly clock: Clock

  constructor(private readonly options: SessionOptions) {
    this.clock = options.clock ?? systemClock
  }

  get title(): string {
    return this.options.title
  }

  get dryRun(): boolean {
    return this.options.dryRun === true
  }

  /** Waits `ms` unless that would pass the deadline; false means the deadline is too close. */
  async pause(ms: number): Promise<boolean> {
    if (ms >= this.options.deadline.remainingMs()) return false
    await this.clock.sleep(ms)
    return true
  }

  /** Registers a credential derived at run time (a Basic blob, a signature) for scrubbing. */
  addSecret(value: string): void {
    this.options.redactor.addSecret(value)
  }

  scrub(text: string): string {
    return this.options.redactor.scrub(text)
  }

  /** The session's clock, for timestamps that go on the wire (webhook signatures). */
  now(): number {
    return this.clock.now()
  }

  async exchange<T>(spec: Exchange<T>): Promise<ExchangeResult<T>> {
    if (this.dryRun) return this.recordDryRun(spec)
    const { retries, deadline } = this.options
    let refreshedToken = false
    let retryIndex = 0
    for (let attempt = 1; ; attempt++) {
      if (deadline.expired()) {
        return this.fail(spec, attempt - 1, null, `the --deadline ran out before attempt ${attempt}`, false)
      }
      const token = await this.tokenFor(spec)
      if (token && !token.ok) return { ok: false, status: null, error: token.error, ambiguous: false }
      const request = withAuth(spec.build(attempt), spec, token?.ok ? token.token : undefined)
      const startedAt = this.clock.now()
      const result = await this.options.transport.send(
        request,
        Math.min(this.options.timeoutMs, Math.max(1, deadline.remainingMs())),
      )
      const duration = Math.max(0, this.clock.now() - startedAt)
      if (spec.primary) this.notePrimary(request, attempt)
      this.lastRequest = request

      if (result.kind === 'response') this.lastStatus = result.response.status
      const status = result.kind === 'response' ? result.response.status : null

      // A rejected token is refreshed once, outside the retry budget (SPEC §5.1).
      if (result.kind === 'response' && status === 401 && spec.auth && token?.ok && !refreshedToken) {
        refreshedToken = true
        this.options.tokens.invalidate(spec.auth)
        this.record(
          spec,
          attempt,
          startedAt,
          duration,
          status,
          'retryable',
          0,
          'HTTP 401: token rejected; refreshing it once',
        )
        continue
      }

      const verdict = this.verdictOf(spec, result)
      const ambiguous = result.kind === 'network' && result.failure.ambiguous
      if (verdict.kind === 'ok') {
        this.record(spec, attempt, startedAt, duration, status, 'success', null, null)
        return { ok: true, value: verdict.value, status, recovered: false }
      }
      const reason = this.scrub(verdict.reason)
      if (verdict.kind === 'failed' || retryIndex >= retries) {
        this.record(spec, attempt, startedAt, duration, status, 'failed', null, reason)
        return this.settle(spec, attempt, status, reason, ambiguous)
      }
      const delay = nextDelayMs(
        retryIndex,
        verdict.retryAfterMs ?? retryAfterOf(result, this.clock.now()),
        this.options.random,
      )
      if (delay >= deadline.remainingMs()) {
        this.record(spec, attempt, startedAt, duration, status, 'failed', null, reason)
        return this.settle(
          spec,
          attempt,
          status,
          `${reason} (the next attempt, due in ${Math.ceil(delay / 1000)} s, would start after the --deadline)`,
          ambiguous,
        )
      }
      this.record(spec, attempt, startedAt, duration, status, 'retryable', delay, reason)
      this.options.observer?.waiting?.(delay, reason)
      await this.clock.sleep(delay)
      retryIndex++
      if (ambiguous) {
        const ended = await this.recover(spec, attempt, status, reason)
        if (ended) return ended
      }
    }
  }

  /** The end of an exchange that failed: an ambiguous last attempt may still have landed, so look once more. */
  private async settle<T>(
    spec: Exchange<T>,
    attempts: number,
    status: number | null,
    reason: string,
    ambiguous: boolean,
  ): Promise<ExchangeResult<T>> {
    const ended = ambiguous ? await this.recover(spec, attempts, status, reason) : undefined
    return ended ?? this.fail(spec, attempts, status, reason, ambiguous)
  }

  /** Runs the duplicate check: an end to the exchange (found, or unknown), or undefined to go on. */
  private async recover<T>(
    spec: Exchange<T>,
    attempts: number,
    status: number | null,
    reason: string,
  ): Promise<ExchangeResult<T> | undefined> {
    if (!spec.recover) return undefined
    const recovery = await spec.recover()
    if ('found' in recovery) return { ok: true, value: recovery.found, status: null, recovered: true }
    if ('unknown' in recovery) {
      return this.fail(spec, attempts, status, notResent(reason, recovery.unknown, spec.creates), true)
    }
    return undefined
  }

  /**
   * The evidence `request` record: the last primary request, redacted. A delivery that found
   * its record already there (a duplicate check) sent no primary request: its last request (the
   * lookup) is recorded instead, so the idempotency key stays in the evidence.
   */
  requestRecord(): RequestRecord | null {
    const { redactor, urlIsSecret } = this.options
    const primary = this.primary
    if (!primary) {
      if (!this.lastRequest) return null
      const body = this.lastRequest.body === undefined ? undefined : Buffer.from(this.lastRequest.body)
      return {
        method: this.lastRequest.method,
        url: redactor.redactUrl(this.lastRequest.url, urlIsSecret),
        headers: redactor.redactHeaders(this.lastRequest.headers),
        body_sha256: body ? createHash('sha256').update(body).digest('hex') : null,
        body_bytes: body?.length ?? 0,
        idempotency_key: this.idempotencyKey,
      }
    }
    return {
      method: primary.request.method,
      url: redactor.redactUrl(primary.request.url, urlIsSecret),
      headers: redactor.redactHeaders(primary.request.headers),
      body_sha256: primary.bytes > 0 || primary.batches > 0 ? primary.bodies.copy().digest('hex') : null,
      body_bytes: primary.bytes,
      ...(primary.batches > 1 ? { batches: primary.batches } : {}),
      idempotency_key: this.idempotencyKey,
    }
  }

  private notePrimary(request: HttpRequest, attempt: number): void {
    // Hash each distinct request body once (its first attempt), in the order they were sent.
    if (attempt > 1 && this.primary) {
      this.primary.request = request
      return
    }
    const body = request.body === undefined ? Buffer.alloc(0) : Buffer.from(request.body)
    if (!this.primary) this.primary = { request, bodies: createHash('sha256'), bytes: 0, batches: 0 }
    this.primary.request = request
    this.primary.bodies.update(body)
    this.primary.bytes += body.length
    this.primary.batches++
  }

  private async tokenFor<T>(spec: Exchange<T>): Promise<TokenResult | undefined> {
    if (!spec.auth) return undefined
    return this.options.tokens.get(spec.auth, this)
  }

  private verdictOf<T>(spec: Exchange<T>, result: Awaited<ReturnType<Transport['send']>>): Verdict<T> {
    if (result.kind === 'network') return { kind: 'retryable', reason: networkReason(result.failure) }
    return spec.read(result.response)
  }

  private record(
    spec: Exchange<unknown>,
    attempt: number,
    startedAt: number,
    duration: number,
    status: number | null,
    outcome: AttemptRecord['outcome'],
    retryAfterMs: number | null,
    error: string | null,
  ): void {
    const record: AttemptRecord = {
      attempt,
      step: spec.step,
      started_at: new Date(startedAt).toISOString(),
      duration_ms: duration,
      status_code: status,
      outcome,
      retry_after_ms: retryAfterMs,
      error: error === null ? null : this.scrub(error),
    }
    this.attempts.push(record)
    this.options.observer?.attempt(record)
  }

  private fail<T>(
    spec: Exchange<T>,
    attempts: number,
    status: number | null,
    reason: string,
    ambiguous: boolean,
  ): ExchangeResult<T> {
    const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`
    const what = status === null ? `${this.title} ${spec.step} failed` : `HTTP ${status} from ${this.title}`
    return { ok: false, status, error: this.scrub(`${what} after ${tries}: ${reason}`), ambiguous }
  }

  private readonly dryRunTokens = new Set<string>()

  private async recordDryRun<T>(spec: Exchange<T>): Promise<ExchangeResult<T>> {
    // Show the token request too, once per credential, so a dry run lists every call a run makes.
    if (spec.auth && !this.dryRunTokens.has(spec.auth.key)) {
      this.dryRunTokens.add(spec.auth.key)
      await spec.auth.fetch(this)
    }
    const request = withAuth(spec.build(1), spec, spec.auth ? 'DRY-RUN-TOKEN' : undefined)
    if (spec.primary) this.notePrimary(request, 1)
    const { redactor, urlIsSecret } = this.options
    this.dryRunRequests.push({
      step: spec.step,
      method: request.method,
      url: redactor.redactUrl(request.url, urlIsSecret),
      headers: redactor.redactHeaders(request.headers),
      body: dryRunBody(request, redactor),
    })
    return { ok: true, value: spec.dryRun, status: null, recovered: false }
  }
}

function notResent(reason: string, unknown: string, creates = 'record'): string {
  return `${reason}; it may have been stored, and ${unknown}; not re-sent, to avoid a second ${creates}`
}

function withAuth<T>(request: HttpRequest, spec: Exchange<T>, token: string | undefined): HttpRequest {
  if (!spec.auth || token === undefined) return request
  const header = spec.auth.header?.(token) ?? { authorization: `Bearer ${token}` }
  return { ...request, headers: { ...request.headers, ...header } }
}

function retryAfterOf(result: Awaited<ReturnType<Transport['send']>>, now: number): number | undefined {
  if (result.kind !== 'response') return undefined
  return parseRetryAfter(result.response.headers['retry-after'], now)
}

function networkReason(failure: NetworkFailure): string {
  return failure.message
}

/** The default reading of a status when the body carries nothing more specific. */
export function readStatus<T>(response: HttpResponse, value: T, describe = excerpt): Verdict<T> {
  if (response.status >= 200 && response.status < 300) return { kind: 'ok', value }
  const reason = describe(response)
  if (isRetryableStatus(response.status)) return { kind: 'retryable', reason }
  return { kind: 'failed', reason }
}

/** Whether a status is one of the transient classes of SPEC §5.1. */
export function isTransient(status: number): boolean {
  return isRetryableStatus(status)
}

/** A short, single-line excerpt of a response body for error messages. */
export function excerpt(response: HttpResponse, max = 300): string {
  const text = response.body.replace(/\s+/g, ' ').trim()
  if (text === '') return statusText(response.status)
  return text.length > max ? `${text.slice(0, max)}...` : text
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? `HTTP ${status}`
}

function dryRunBody(request: HttpRequest, redactor: Redactor): unknown {
  if (request.body === undefined) return null
  const text = redactor.scrub(Buffer.from(request.body).toString('utf8'))
  const type = request.headers['content-type'] ?? ''
  if (type.includes('json')) {
    try {
      return JSON.parse(text)
    } catch {
      // Concatenated JSON (Splunk HEC batches) is shown as the lines it is made of.
      return text
    }
  }
  return text
}
