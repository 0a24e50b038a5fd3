import { describe, expect, it } from 'vitest'
import type { TokenSource } from '../../src/delivery/exchange.js'
import type { HttpResponse, HttpResult } from '../../src/delivery/http.js'
import { Redactor } from '../../src/delivery/redact.js'
import { Deadline } from '../../src/delivery/retry.js'
import { TokenCache } from '../../src/delivery/tokens.js'
import { readStatus } from '../../src/delivery/verdict.js'
import { response, ScriptedTransport, testSession, virtualClock } from '../support/scripted.js'

/**
 * The retry loop judged against a scripted transport and a virtual clock: which answers are
 * retried, how long it waits, when it stops, and what it records.
 */

const timeout: HttpResult = {
  kind: 'network',
  failure: { code: 'TIMEOUT', message: 'no response within 10 s', ambiguous: true, timedOut: true },
}
const refused: HttpResult = {
  kind: 'network',
  failure: {
    code: 'ECONNREFUSED',
    message: 'ECONNREFUSED: connect refused',
    ambiguous: false,
    timedOut: false,
  },
}

const session = testSession

const post = {
  step: 'create issue',
  build: () => ({
    method: 'POST' as const,
    url: 'https://jira.example/rest/api/3/issue',
    headers: {},
    body: '{}',
  }),
  read: (r: HttpResponse) => readStatus(r, r.status),
  dryRun: 0,
}

describe('Session.exchange', () => {
  it('retries 503 and succeeds, recording every attempt with its wait', async () => {
    const clock = virtualClock()
    const transport = new ScriptedTransport([response(503, 'busy'), response(201, '{"key":"SEC-1"}')])
    const s = session(transport, { clock })
    const result = await s.exchange(post)
    expect(result).toMatchObject({ ok: true, value: 201, status: 201 })
    expect(s.attempts.map((a) => [a.attempt, a.status_code, a.outcome, a.retry_after_ms])).toEqual([
      [1, 503, 'retryable', 250],
      [2, 201, 'success', null],
    ])
    expect(clock.waits).toEqual([250])
  })

  it('does not retry a 4xx that is not transient', async () => {
    const transport = new ScriptedTransport([
      response(400, '{"errorMessages":["Field project is required"]}'),
    ])
    const s = session(transport)
    const result = await s.exchange(post)
    expect(result).toMatchObject({ ok: false, status: 400 })
    expect(!result.ok && result.error).toBe(
      'HTTP 400 from Jira after 1 attempt: {"errorMessages":["Field project is required"]}',
    )
    expect(transport.sent).toHaveLength(1)
  })

  it('honours Retry-After on 429, capped at 60 s', async () => {
    const clock = virtualClock()
    const transport = new ScriptedTransport([
      response(429, '', { 'retry-after': '7' }),
      response(429, '', { 'retry-after': '3600' }),
      response(201),
    ])
    const s = session(transport, { clock, deadline: new Deadline(600_000, clock.now) })
    await s.exchange(post)
    expect(clock.waits).toEqual([7000, 60_000])
  })

  it('gives up after --retries extra attempts with the last error', async () => {
    const transport = new ScriptedTransport([response(503), response(502), response(504)])
    const s = session(transport)
    const result = await s.exchange(post)
    expect(!result.ok && result.error).toBe('HTTP 504 from Jira after 3 attempts: Gateway Timeout')
    expect(s.attempts.at(-1)).toMatchObject({ outcome: 'failed', retry_after_ms: null })
  })

  it('starts no attempt after the deadline', async () => {
    const clock = virtualClock()
    const transport = new ScriptedTransport([response(503, '', { 'retry-after': '30' })])
    const s = session(transport, { clock, deadline: new Deadline(10_000, clock.now) })
    const result = await s.exchange(post)
    expect(transport.sent).toHaveLength(1)
    expect(!result.ok && result.error).toMatch(/would start after the --deadline/)
    expect(clock.waits).toEqual([])
  })

  it('retries network errors and reports them by name', async () => {
    const transport = new ScriptedTransport([refused, refused, refused])
    const s = session(transport)
    const result = await s.exchange(post)
    expect(!result.ok && result.error).toBe(
      'Jira create issue failed after 3 attempts: ECONNREFUSED: connect refused',
    )
    expect(!result.ok && result.ambiguous).toBe(false)
  })

  it('runs the duplicate check before resending after an ambiguous failure', async () => {
    const transport = new ScriptedTransport([timeout])
    const s = session(transport)
    let checks = 0
    const result = await s.exchange({
      ...post,
      recover: async () => {
        checks++
        return { found: 201 }
      },
    })
    expect(result).toMatchObject({ ok: true, value: 201, recovered: true })
    expect(checks).toBe(1)
    expect(transport.sent).toHaveLength(1)
  })

  it('resends when the duplicate check finds nothing', async () => {
    const transport = new ScriptedTransport([timeout, response(201)])
    const s = session(transport)
    const result = await s.exchange({ ...post, recover: async () => ({ absent: true }) })
    expect(result).toMatchObject({ ok: true, recovered: false })
    expect(transport.sent).toHaveLength(2)
  })

  it('does not run the duplicate check when the request never left (connection refused)', async () => {
    const transport = new ScriptedTransport([refused, response(201)])
    const s = session(transport)
    let checks = 0
    await s.exchange({
      ...post,
      recover: async () => {
        checks++
        return { absent: true }
      },
    })
    expect(checks).toBe(0)
  })

  it('does not resend when the duplicate check itself cannot answer', async () => {
    const transport = new ScriptedTransport([timeout, response(201)])
    const s = session(transport)
    const result = await s.exchange({
      ...post,
      creates: 'issue',
      recover: async () => ({ unknown: 'the search failed' }),
    })
    expect(transport.sent).toHaveLength(1)
    expect(result).toMatchObject({ ok: false, ambiguous: true })
    expect(!result.ok && result.error).toMatch(
      /no response within 10 s; it may have been stored, and the search failed; not re-sent, to avoid a second issue$/,
    )
  })

  it('looks once more when the last attempt got no answer', async () => {
    const transport = new ScriptedTransport([timeout])
    const found = await session(transport, { retries: 0 }).exchange({
      ...post,
      recover: async () => ({ found: 201 }),
    })
    expect(found).toMatchObject({ ok: true, value: 201, recovered: true })
    const absent = await session(new ScriptedTransport([timeout]), { retries: 0 }).exchange({
      ...post,
      recover: async () => ({ absent: true }),
    })
    expect(absent).toMatchObject({ ok: false, ambiguous: true })
  })

  it('fetches a token once, refreshes it once on 401, then fails', async () => {
    let fetches = 0
    const source: TokenSource = {
      key: 'entra:test',
      fetch: async () => ({ ok: true, token: `token-${++fetches}` }),
    }
    const tokens = new TokenCache()
    const transport = new ScriptedTransport([response(401), response(401)])
    const s = session(transport, { tokens })
    const result = await s.exchange({ ...post, auth: source })
    expect(fetches).toBe(2)
    expect(transport.sent.map((r) => r.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2'])
    expect(!result.ok && result.error).toMatch(/HTTP 401 from Jira/)
  })

  it('shares a token between sessions of one run', async () => {
    let fetches = 0
    const source: TokenSource = {
      key: 'entra:shared',
      fetch: async () => ({ ok: true, token: `t${++fetches}` }),
    }
    const tokens = new TokenCache()
    await session(new ScriptedTransport([response(200)]), { tokens }).exchange({ ...post, auth: source })
    await session(new ScriptedTransport([response(200)]), { tokens }).exchange({ ...post, auth: source })
    expect(fetches).toBe(1)
  })

  it('fails with the credential problem when no token can be had', async () => {
    const source: TokenSource = {
      key: 'entra:bad',
      fetch: async () => ({ ok: false, error: 'Entra refused the client secret (AADSTS7000215)' }),
    }
    const transport = new ScriptedTransport([])
    const result = await session(transport).exchange({ ...post, auth: source })
    expect(!result.ok && result.error).toContain('AADSTS7000215')
    expect(transport.sent).toHaveLength(0)
  })

  it('scrubs secrets echoed in error bodies', async () => {
    const redactor = new Redactor()
    redactor.addSecret('echoed-secret-token')
    const transport = new ScriptedTransport([response(401, 'bad token echoed-secret-token')])
    const s = session(transport, { redactor })
    const result = await s.exchange(post)
    expect(!result.ok && result.error).toBe('HTTP 401 from Jira after 1 attempt: bad token REDACTED')
    expect(s.attempts[0]!.error).toBe('bad token REDACTED')
  })

  it('records requests instead of sending them under --dry-run', async () => {
    const transport = new ScriptedTransport([])
    const s = session(transport, { dryRun: true })
    const result = await s.exchange({ ...post, primary: true })
    expect(result).toMatchObject({ ok: true, value: 0 })
    expect(s.report().dryRunRequests).toEqual([
      {
        step: 'create issue',
        method: 'POST',
        url: 'https://jira.example/rest/api/3/issue',
        headers: {},
        body: '{}',
      },
    ])
    expect(s.report().request).toMatchObject({ body_bytes: 2 })
  })
})
