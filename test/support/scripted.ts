import type { Clock } from '../../src/delivery/clock.js'
import type { HttpRequest, HttpResult, Transport } from '../../src/delivery/http.js'
import { Redactor } from '../../src/delivery/redact.js'
import { Deadline } from '../../src/delivery/retry.js'
import { Session, type SessionOptions } from '../../src/delivery/session.js'
import { TokenCache } from '../../src/delivery/tokens.js'

/** Test doubles for the transport and the clock, for the pure retry logic. */

type Answer = HttpResult | ((request: HttpRequest) => HttpResult | Promise<HttpResult>)

/** Answers from a list (one entry per call; failing when called more often) or from a function. */
export class ScriptedTransport implements Transport {
  readonly sent: HttpRequest[] = []
  constructor(
    private readonly script: Answer[] | ((request: HttpRequest) => HttpResult | Promise<HttpResult>),
  ) {}

  async send(request: HttpRequest): Promise<HttpResult> {
    this.sent.push(request)
    if (typeof this.script === 'function') return this.script(request)
    const next = this.script.shift()
    if (!next) throw new Error('transport called more often than scripted')
    return typeof next === 'function' ? next(request) : next
  }
}

export function response(status: number, body = '', headers: Record<string, string> = {}): HttpResult {
  return { kind: 'response', response: { status, body, headers, truncated: false } }
}

/** A clock that records every wait and advances instantly. */
export function virtualClock(): Clock & { waits: number[] } {
  let now = Date.parse('2026-11-28T12:00:00Z')
  const waits: number[] = []
  return {
    waits,
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms)
      now += ms
    },
  }
}

/** A Session named "Jira" with 2 retries, a 10 s timeout and a 120 s deadline on a virtual clock. */
export function testSession(transport: Transport, overrides: Partial<SessionOptions> = {}): Session {
  const clock = overrides.clock ?? virtualClock()
  return new Session({
    title: 'Jira',
    urlIsSecret: false,
    transport,
    retries: 2,
    timeoutMs: 10_000,
    deadline: new Deadline(120_000, clock.now),
    redactor: new Redactor(),
    tokens: new TokenCache(),
    clock,
    random: () => 0.5,
    ...overrides,
  })
}
