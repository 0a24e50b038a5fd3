/**
 * The retry policy as pure functions: which answers are transient, how long to wait, and how
 * a server's Retry-After is read. The loop that applies them is in retry-loop.ts.
 */

/**
 * Transient HTTP statuses: 408 Request Timeout, 429 Too Many Requests, 500 Internal Server
 * Error, 502 Bad Gateway, 503 Service Unavailable, 504 Gateway Timeout. Every other 4xx means
 * the request itself is wrong and resending it cannot help.
 */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504])

/** First backoff step; doubles per retry. */
export const BACKOFF_BASE_MS = 500
/** No computed backoff waits longer than this. */
export const BACKOFF_CAP_MS = 30_000
/** A server's Retry-After is followed up to this long; a longer ask is capped. */
export const MAX_RETRY_AFTER_MS = 60_000

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status)
}

/**
 * "Full jitter" (AWS Architecture Blog, Exponential Backoff And Jitter): a uniform wait
 * between 0 and min(cap, base * 2^retry), which spreads out clients that failed together.
 */
export function backoffDelayMs(retryIndex: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** retryIndex)
  return Math.floor(random() * ceiling)
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in milliseconds. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - nowMs)
}

/**
 * How long a server asked to wait: `Retry-After`, else `X-RateLimit-Reset`, which vendors
 * write either as an ISO 8601 time (Jira Cloud, "Rate limiting") or as Unix seconds
 * (ServiceNow, "Inbound REST API rate limiting").
 */
export function serverWaitMs(headers: Record<string, string>, nowMs: number): number | undefined {
  const retryAfter = parseRetryAfter(headers['retry-after'], nowMs)
  if (retryAfter !== undefined) return retryAfter
  const reset = headers['x-ratelimit-reset']?.trim()
  if (!reset) return undefined
  const at = /^\d+(\.\d+)?$/.test(reset) ? Number(reset) * 1000 : Date.parse(reset)
  return Number.isNaN(at) || at <= 0 ? undefined : Math.max(0, at - nowMs)
}

/** The wait before the next attempt: the server's Retry-After (capped) or a jittered backoff. */
export function nextDelayMs(
  retryIndex: number,
  retryAfterMs: number | undefined,
  random?: () => number,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, MAX_RETRY_AFTER_MS)
  return backoffDelayMs(retryIndex, random)
}

/** The total time budget of a command (`--deadline`). */
export class Deadline {
  private readonly endsAt: number

  constructor(
    totalMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.endsAt = now() + totalMs
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - this.now())
  }

  expired(): boolean {
    return this.remainingMs() <= 0
  }
}
