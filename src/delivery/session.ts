import { AttemptLog, type AttemptObserver } from './attempt-log.js'
import { type Clock, systemClock } from './clock.js'
import { DryRunLog } from './dry-run.js'
import type { AttemptRecord, DryRunRequest, RequestRecord } from './evidence-types.js'
import type { Exchange, ExchangeResult, Exchanger, TokenResult, TokenSource } from './exchange.js'
import type { Transport } from './http.js'
import type { Redactor } from './redact.js'
import { RequestLog } from './request-log.js'
import type { Deadline } from './retry.js'
import { exchangeWithRetries } from './retry-loop.js'
import type { TokenCache } from './tokens.js'

/**
 * A connector's view of the network for one delivery. It sends exchanges through the retry
 * loop (or only records them under --dry-run), and keeps what the evidence needs: every
 * attempt, the main request, the idempotency key. Connectors see only the methods below.
 */

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

/** What a finished session hands to the delivery record. */
export interface SessionReport {
  statusCode: number | null
  attempts: AttemptRecord[]
  request: RequestRecord | null
  dryRunRequests: DryRunRequest[] | undefined
}

export class Session implements Exchanger {
  private readonly clock: Clock
  private readonly attemptLog: AttemptLog
  private readonly requestLog = new RequestLog()
  private readonly dryRunLog: DryRunLog | undefined

  constructor(private readonly options: SessionOptions) {
    this.clock = options.clock ?? systemClock
    this.attemptLog = new AttemptLog((text) => options.redactor.scrub(text), options.observer)
    if (options.dryRun) this.dryRunLog = new DryRunLog(options.redactor, options.urlIsSecret, this.requestLog)
  }

  get title(): string {
    return this.options.title
  }

  get dryRun(): boolean {
    return this.dryRunLog !== undefined
  }

  exchange<T>(spec: Exchange<T>): Promise<ExchangeResult<T>> {
    if (this.dryRunLog) return this.dryRunLog.capture(spec, this)
    const { options } = this
    return exchangeWithRetries(spec, {
      title: options.title,
      transport: options.transport,
      retries: options.retries,
      timeoutMs: options.timeoutMs,
      deadline: options.deadline,
      clock: this.clock,
      random: options.random,
      tokens: options.tokens,
      exchanger: this,
      onTokenIssued: (token) => options.redactor.addSecret(token),
      attempts: this.attemptLog,
      requests: this.requestLog,
      scrub: (text) => options.redactor.scrub(text),
      scrubWhole: (text) => options.redactor.scrubWhole(text),
    })
  }

  /**
   * A token from `source` on its own, shared through the run's cache and registered for
   * scrubbing like any token an exchange fetches: what a check asks of an identity provider.
   */
  token(source: TokenSource): Promise<TokenResult> {
    return this.options.tokens.get(source, this, (token) => this.options.redactor.addSecret(token))
  }

  /** Waits `ms` unless that would pass the deadline; false means the deadline is too close. */
  async pause(ms: number): Promise<boolean> {
    if (ms >= this.options.deadline.remainingMs()) return false
    await this.clock.sleep(ms)
    return true
  }

  /** The session's clock, for timestamps that go on the wire (webhook signatures). */
  now(): number {
    return this.clock.now()
  }

  /** Registers a credential derived at run time (a Basic blob, a signature) for scrubbing. */
  addSecret(value: string): void {
    this.options.redactor.addSecret(value)
  }

  scrub(text: string): string {
    return this.options.redactor.scrub(text)
  }

  /** The key that makes this delivery recognisable at the destination (a label, a webhook id). */
  setIdempotencyKey(key: string): void {
    this.requestLog.setIdempotencyKey(key)
  }

  /** Attempts so far, for tests and progress. */
  get attempts(): readonly AttemptRecord[] {
    return this.attemptLog.attempts
  }

  report(): SessionReport {
    return {
      statusCode: this.attemptLog.lastStatus,
      attempts: [...this.attemptLog.attempts],
      request: this.requestLog.record(this.options.redactor, this.options.urlIsSecret),
      dryRunRequests: this.dryRunLog ? [...this.dryRunLog.requestsCaptured] : undefined,
    }
  }
}
