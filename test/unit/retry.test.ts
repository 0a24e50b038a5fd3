import { describe, expect, it } from 'vitest'
import {
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  backoffDelayMs,
  Deadline,
  isRetryableStatus,
  MAX_RETRY_AFTER_MS,
  nextDelayMs,
  parseRetryAfter,
} from '../../src/delivery/retry.js'

describe('retry policy', () => {
  it('retries exactly the transient statuses', () => {
    const retryable = [408, 429, 500, 502, 503, 504]
    for (let status = 400; status < 600; status++) {
      expect(isRetryableStatus(status), String(status)).toBe(retryable.includes(status))
    }
  })

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-28T12:00:00Z')
    expect(parseRetryAfter('3', now)).toBe(3000)
    expect(parseRetryAfter(' 1.5 ', now)).toBe(1500)
    expect(parseRetryAfter('Sat, 28 Nov 2026 12:00:07 GMT', now)).toBe(7000)
    expect(parseRetryAfter('Sat, 28 Nov 2026 11:00:00 GMT', now)).toBe(0)
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter(undefined, now)).toBeUndefined()
  })

  it('uses full jitter between 0 and the exponential ceiling, capped at 30 s', () => {
    expect(backoffDelayMs(0, () => 0)).toBe(0)
    expect(backoffDelayMs(0, () => 0.999999)).toBe(BACKOFF_BASE_MS - 1)
    expect(backoffDelayMs(3, () => 0.5)).toBe((BACKOFF_BASE_MS * 8) / 2)
    expect(backoffDelayMs(20, () => 0.999999)).toBeLessThan(BACKOFF_CAP_MS)
    expect(backoffDelayMs(20, () => 0.999999)).toBeGreaterThan(BACKOFF_CAP_MS - 10)
  })

  it('honours Retry-After over backoff, up to 60 s', () => {
    expect(nextDelayMs(0, 2000, () => 0.9)).toBe(2000)
    expect(nextDelayMs(0, 600_000)).toBe(MAX_RETRY_AFTER_MS)
    expect(nextDelayMs(1, undefined, () => 0.5)).toBe(500)
  })

  it('counts the deadline down with the clock it is given', () => {
    let now = 1000
    const deadline = new Deadline(500, () => now)
    expect(deadline.remainingMs()).toBe(500)
    now = 1400
    expect(deadline.expired()).toBe(false)
    now = 1600
    expect(deadline.remainingMs()).toBe(0)
    expect(deadline.expired()).toBe(true)
  })
})
