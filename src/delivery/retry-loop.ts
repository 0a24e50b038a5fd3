import { inertText, stripControl } from '../common/text.js'
import type { AttemptLog } from './attempt-log.js'
import type { Clock } from './clock.js'
import {
  type Exchange,
  type ExchangeResult,
  type Exchanger,
  type TokenResult,
  withToken,
} from './exchange.js'
import type { HttpRequest, HttpResponse, HttpResult, Transport } from './http.js'
import type { RequestLog } from './request-log.js'
import { type Deadline, nextDelayMs, parseRetryAfter } from './retry.js'
import type { TokenCache } from './tokens.js'
import type { Verdict } from './verdict.js'

/**
 * The retry loop around one exchange: send, read the verdict, and either stop or wait
 * (the server's Retry-After, capped, or a full-jitter backoff) and send again, never starting
 * an attempt after the deadline. A rejected token is refreshed once, outside the retry
 * budget; after an ambiguous failure the connector's duplicate check runs before any resend.
 */

export interface RetryLoopContext {
  /** The vendor product name, for messages: "HTTP 503 from Jira after 3 attempts". */
  title: string
  transport: Transport
  retries: number
  timeoutMs: number
  deadline: Deadline
  clock: Clock
  random?: () => number
  tokens: TokenCache
  /** Runs the token request itself (through this same loop). */
  exchanger: Exchanger
  onTokenIssued(token: string): void
  attempts: AttemptLog
  requests: RequestLog
  /** For text that is recorded: whole secrets and their beginnings. */
  scrub(text: string): string
  /** For an answer a connector still reads: whole secrets only. */
  scrubWhole(text: string): string
}

interface Sent<T> {
  request: HttpRequest
  result: HttpResult
  status: number | null
  startedAt: number
  durationMs: number
  verdict: Verdict<T>
  ambiguous: boolean
}

export async function exchangeWithRetries<T>(
  spec: Exchange<T>,
  context: RetryLoopContext,
): Promise<ExchangeResult<T>> {
  const { retries, deadline, attempts, clock } = context
  let refreshedToken = false
  let retryIndex = 0
  for (let attempt = 1; ; attempt++) {
    if (deadline.expired()) {
      return failure(
        spec,
        context,
        attempt - 1,
        null,
        `the --deadline ran out before attempt ${attempt}`,
        false,
      )
    }
    const token = spec.auth
      ? await context.tokens.get(spec.auth, context.exchanger, context.onTokenIssued)
      : undefined
    if (token && !token.ok) return { ok: false, status: null, error: token.error, ambiguous: false }
    const sent = await sendOnce(spec, context, attempt, token)
    const entry = {
      step: spec.step,
      attempt,
      startedAt: sent.startedAt,
      durationMs: sent.durationMs,
      status: sent.status,
    }

    if (sent.status === 401 && spec.auth && token?.ok && !refreshedToken) {
      refreshedToken = true
      context.tokens.invalidate(spec.auth)
      attempts.record({
        ...entry,
        outcome: 'retryable',
        retryAfterMs: 0,
        error: 'HTTP 401: token rejected; refreshing it once',
      })
      continue
    }
    if (sent.verdict.kind === 'ok') {
      attempts.record({ ...entry, outcome: 'success', retryAfterMs: null, error: null })
      return { ok: true, value: sent.verdict.value, status: sent.status, recovered: false }
    }
    const reason = context.scrub(inertText(sent.verdict.reason))
    if (sent.verdict.kind === 'failed' || retryIndex >= retries) {
      attempts.record({ ...entry, outcome: 'failed', retryAfterMs: null, error: reason })
      return settle(spec, context, attempt, sent.status, reason, sent.ambiguous)
    }
    const delay = nextDelayMs(
      retryIndex,
      sent.verdict.retryAfterMs ?? retryAfterOf(sent.result, clock.now()),
      context.random,
    )
    if (delay >= deadline.remainingMs()) {
      attempts.record({ ...entry, outcome: 'failed', retryAfterMs: null, error: reason })
      const late = `${reason} (the next attempt, due in ${Math.ceil(delay / 1000)} s, would start after the --deadline)`
      return settle(spec, context, attempt, sent.status, late, sent.ambiguous)
    }
    attempts.record({ ...entry, outcome: 'retryable', retryAfterMs: delay, error: reason })
    attempts.waiting(delay, reason)
    await clock.sleep(delay)
    retryIndex++
    if (sent.ambiguous) {
      const ended = await recover(spec, context, attempt, sent.status, reason)
      if (ended) return ended
    }
  }
}

async function sendOnce<T>(
  spec: Exchange<T>,
  context: RetryLoopContext,
  attempt: number,
  token: TokenResult | undefined,
): Promise<Sent<T>> {
  const request = withToken(await spec.build(attempt), spec, token?.ok ? token.token : undefined)
  const startedAt = context.clock.now()
  const timeoutMs = Math.min(context.timeoutMs, Math.max(1, context.deadline.remainingMs()))
  const result = await context.transport.send(request, timeoutMs)
  const durationMs = Math.max(0, context.clock.now() - startedAt)
  context.requests.sent(request, attempt, spec.primary === true)
  if (result.kind === 'network') {
    return {
      request,
      result,
      status: null,
      startedAt,
      durationMs,
      verdict: { kind: 'retryable', reason: result.failure.message },
      ambiguous: result.failure.ambiguous,
    }
  }
  const response = inertResponse(result.response, context.scrubWhole)
  return {
    request,
    result,
    status: response.status,
    startedAt,
    durationMs,
    verdict: spec.read(response),
    ambiguous: false,
  }
}

/**
 * What a connector reads of an answer: whole secrets scrubbed from the body before any excerpt
 * is cut from it (a cut that leaves a secret's beginning is caught when the reason is
 * scrubbed), and control characters removed. A body cut at the transport's size limit also
 * loses its last bytes, where a secret cut by the limit could leave its beginning. Headers are
 * read for their values (Retry-After, Set-Cookie), so only control characters go; they reach
 * the evidence only through reasons, which are scrubbed.
 */
export function inertResponse(response: HttpResponse, scrubWhole: (text: string) => string): HttpResponse {
  const body = response.truncated ? response.body.slice(0, -TRUNCATED_TAIL_CHARS) : response.body
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(response.headers)) headers[name] = stripControl(value)
  return { ...response, headers, body: scrubWhole(stripControl(body)) }
}

/** Longer than any credential cavra knows, in any encoding. */
const TRUNCATED_TAIL_CHARS = 4096

/** The end of an exchange that failed: an ambiguous last attempt may still have landed, so look once more. */
async function settle<T>(
  spec: Exchange<T>,
  context: RetryLoopContext,
  attempts: number,
  status: number | null,
  reason: string,
  ambiguous: boolean,
): Promise<ExchangeResult<T>> {
  const ended = ambiguous ? await recover(spec, context, attempts, status, reason) : undefined
  return ended ?? failure(spec, context, attempts, status, reason, ambiguous)
}

/** Runs the duplicate check: an end to the exchange (found, or unknown), or undefined to go on. */
async function recover<T>(
  spec: Exchange<T>,
  context: RetryLoopContext,
  attempts: number,
  status: number | null,
  reason: string,
): Promise<ExchangeResult<T> | undefined> {
  if (!spec.recover) return undefined
  const recovery = await spec.recover()
  if ('found' in recovery) return { ok: true, value: recovery.found, status: null, recovered: true }
  if ('unknown' in recovery) {
    const creates = spec.creates ?? 'record'
    const notResent = `${reason}; it may have been stored, and ${recovery.unknown}; not re-sent, to avoid a second ${creates}`
    return failure(spec, context, attempts, status, notResent, true)
  }
  return undefined
}

function failure<T>(
  spec: Exchange<T>,
  context: RetryLoopContext,
  attempts: number,
  status: number | null,
  reason: string,
  ambiguous: boolean,
): ExchangeResult<T> {
  const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`
  const what =
    status === null ? `${context.title} ${spec.step} failed` : `HTTP ${status} from ${context.title}`
  return {
    ok: false,
    status,
    error: context.scrub(inertText(`${what} after ${tries}: ${reason}`)),
    ambiguous,
  }
}

function retryAfterOf(result: HttpResult, now: number): number | undefined {
  if (result.kind !== 'response') return undefined
  return parseRetryAfter(result.response.headers['retry-after'], now)
}
