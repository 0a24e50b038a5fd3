import { describe, expect, it } from 'vitest'
import { CONNECTORS } from '../../src/connectors/index.js'
import type { AttemptRecord, DeliveryRecord } from '../../src/delivery/evidence-types.js'
import type { Fault, RecordedRequest } from '../emulators/emulator.js'
import { randomSecrets, Stack } from '../emulators/stack.js'
import { leakedCanaries } from '../support/canaries.js'
import { deliveryTo, useEmulators } from '../support/harness.js'
import { CONFORMANCE, matches } from './conformance.js'

/**
 * The behaviours every connector shares, driven through the real delivery flow against each
 * connector's emulator: one row of `conformance.ts` per registered connector. The rows run
 * side by side; the tests of one row run in order on its own emulators.
 */

/** The per-attempt timeout of the timing tests, and how late the slow answers come. */
const TIMEOUT_MS = 500
const LATE_MS = 1000
const TIMED_OUT = 'no response within 0.5 s'
const MESSAGE = 'conformance check: the vendor refused field summary'
/** An echoed error shown whole, with what it echoed scrubbed. */
const ECHOED = /echo: .*REDACTED.* :end/
/** Headers that carry a credential whenever they are present. */
const CREDENTIAL_HEADERS = ['authorization', 'dd-api-key', 'x-api-key', 'webhook-signature']
/** The tests of one row share its emulators: they run one after another. */
const inOrder = { concurrent: false } as const

describe('the conformance table', () => {
  const registered = CONNECTORS.map((connector) => connector.provider)

  it('has one row per registered connector and none for anything else', () => {
    expect(Object.keys(CONFORMANCE).sort()).toEqual([...registered].sort())
  })

  it('matches the emulator stack the demo and the end-to-end tests deliver to', () => {
    const configured = Object.keys(new Stack(randomSecrets()).connectors())
    expect(configured.sort()).toEqual([...registered].sort())
  })
})

for (const connector of CONNECTORS) {
  describe(`${connector.title} (${connector.provider})`, { concurrent: true }, () => {
    const make = CONFORMANCE[connector.provider]
    if (!make) {
      it('has a row in test/connectors/conformance.ts', () => {
        expect.fail(`add a conformance row for ${connector.provider}`)
      })
      return
    }
    const row = make()
    const [primary] = row.primary
    useEmulators(...row.emulators)
    const delivery = deliveryTo(connector.provider, () => ({
      settings: row.settings,
      env: row.env(),
      event: row.event,
    }))
    /** The one delivery record, with `text`: the whole result and evidence, to scan for leaks. */
    const deliver = async (...args: Parameters<typeof delivery>) => {
      const result = await delivery(...args)
      expect(result.deliveries).toHaveLength(1)
      return Object.assign(result.deliveries[0]!, { text: `${JSON.stringify(result)}\n${result.evidence}` })
    }
    const onPrimary = matches(primary)
    const primaryAttempts = (record: DeliveryRecord) => record.attempts.filter((a) => a.step === primary.step)
    const primaryRequests = () => row.vendor.requests.filter(onPrimary)
    const inject = (fault: Fault, match = onPrimary) => row.vendor.inject(fault, 1, match)
    /** A vendor error whose message echoes `values` (taken from the request it answers). */
    const echo = (status: number, values: (request: RecordedRequest) => string[]): Fault => ({
      kind: 'status',
      status,
      body: (request) => row.errorBody(status, `echo: ${values(request).join(' ')} :end`),
    })

    it('retries a connection reset on the primary request, then succeeds', inOrder, async () => {
      inject({ kind: 'reset' })
      const result = await deliver()
      expect(result.success, result.error ?? '').toBe(true)
      expect(primaryAttempts(result).map((a) => [a.status_code, a.outcome])).toEqual([
        [null, 'retryable'],
        [expect.any(Number), 'success'],
      ])
      expect(primaryRequests()).toHaveLength(2)
      expect(row.stored()).toBe(result.records_sent)
    })

    // A slow answer to a create is the stored-but-unanswered case below; where the connector
    // checks for duplicates, the slow answer here is to that check, whose late arrival is harmless.
    const slow = row.lookup ?? primary
    it(`records a slow answer to "${slow.step}" as a timeout and retries it`, inOrder, async () => {
      inject({ kind: 'delay', ms: LATE_MS }, matches(slow))
      const result = await deliver({}, { timeoutMs: TIMEOUT_MS })
      expect(result.success, result.error ?? '').toBe(true)
      expect(result.attempts.filter((a) => a.step === slow.step).map((a) => [a.outcome, a.error])).toEqual([
        ['retryable', TIMED_OUT],
        ['success', null],
      ])
      // The late attempt reaches the vendor all the same.
      await row.vendor.idle()
      if (row.creates === 'plain') {
        // Plain ingestion has no idempotency key: the attempt cavra gave up on is stored too.
        expect(row.stored()).toBe(2 * result.records_sent)
      } else {
        expect(row.stored()).toBe(result.records_sent)
      }
    })

    it('retries a 503, then succeeds', inOrder, async () => {
      inject({ kind: 'status', status: 503, body: row.errorBody(503, MESSAGE) })
      const result = await deliver()
      expect(result.success, result.error ?? '').toBe(true)
      expect(primaryAttempts(result).map((a) => [a.status_code, a.outcome])).toEqual([
        [503, 'retryable'],
        [expect.any(Number), 'success'],
      ])
      expect(row.stored()).toBe(result.records_sent)
    })

    it('waits the Retry-After of a 429 before the next attempt', inOrder, async () => {
      inject({
        kind: 'status',
        status: 429,
        headers: { 'retry-after': '1' },
        body: row.errorBody(429, MESSAGE),
      })
      const result = await deliver()
      expect(result.success, result.error ?? '').toBe(true)
      expect(primaryAttempts(result).map((a) => [a.status_code, a.outcome, a.retry_after_ms])).toEqual([
        [429, 'retryable', 1000],
        [expect.any(Number), 'success', null],
      ])
      const [limited, resent] = primaryRequests()
      expect(resent!.at - limited!.at).toBeGreaterThanOrEqual(950)
      expect(row.stored()).toBe(result.records_sent)
    })

    it('gives up at once on a final 400, with the vendor’s message', inOrder, async () => {
      inject({ kind: 'status', status: 400, body: row.errorBody(400, MESSAGE) })
      const result = await deliver()
      expect(result).toMatchObject({ success: false, status_code: 400 })
      expect(primaryAttempts(result).map((a) => [a.status_code, a.outcome])).toEqual([[400, 'failed']])
      expect(primaryRequests()).toHaveLength(1)
      expect(result.error).toContain(MESSAGE)
      expect(row.stored()).toBe(0)
    })

    it('keeps every credential a server echoes in its error bodies out of the result', inOrder, async () => {
      const secrets = [...row.secrets, ...(row.urlPath ? [row.urlPath] : [])]
      const plain = [...secrets, ...(row.basic ? [`Basic ${row.basic}`] : [])]
      const base64 = row.secrets.map((secret) => Buffer.from(secret).toString('base64'))
      const urlEncoded = secrets.map((secret) => encodeURIComponent(secret))
      // Each body short enough to be shown whole, so only scrubbing can hide what it echoes;
      // the last one echoes the credentials of the request itself (tokens, signatures, URLs).
      const bodies = [plain, base64, urlEncoded]
        .filter((values) => values.length > 0)
        .map((values) => (_request: RecordedRequest) => values)
      bodies.push((request) => [...credentialsOf(request), request.path])
      const echoed: string[] = []
      // Two deliveries: a 500 (retried) then a final 400 each, every answer echoing.
      for (const pair of [bodies.slice(0, 2), bodies.slice(2)]) {
        for (const [index, values] of pair.entries())
          inject(echo(index < pair.length - 1 ? 500 : 400, values))
        const result = await deliver({}, { retries: pair.length - 1 })
        expect(result).toMatchObject({ success: false, status_code: 400 })
        const attempts = primaryAttempts(result)
        expect(attempts.map((a) => a.status_code)).toEqual([...Array(pair.length - 1).fill(500), 400])
        for (const attempt of attempts) expect(attempt.error).toMatch(ECHOED)
        expect(result.error).toMatch(ECHOED)
        echoed.push(...primaryRequests().flatMap(credentialsOf))
        expect(leakedCanaries(result.text, [...(row.basic ? [row.basic] : []), ...echoed])).toEqual([])
      }
    })

    if (row.urlPath) {
      // A secret segment sits at any byte offset of the path a server encodes, so its base64
      // differs by alignment: the webhook's "/hooks/<secret>" starts 7 bytes in, Slack's 30.
      it('keeps the secret URL path a server echoes in base64 out of the result', inOrder, async () => {
        inject(echo(400, (request) => [Buffer.from(request.path).toString('base64')]))
        const result = await deliver()
        expect(result.error).toMatch(ECHOED)
        expect(leakedCanaries(result.text)).toEqual([])
      })
    }

    it('under --dry-run sends nothing and shows every request, redacted', inOrder, async () => {
      const result = await deliver({}, { dryRun: true })
      for (const emulator of row.emulators) expect(emulator.requests, emulator.name).toEqual([])
      expect(result.success, result.error ?? '').toBe(true)
      const shown = result.dry_run_requests ?? []
      expect(shown.map((request) => request.step)).toEqual(
        expect.arrayContaining(row.primary.map((p) => p.step)),
      )
      for (const request of shown) {
        for (const name of CREDENTIAL_HEADERS) {
          if (name in request.headers)
            expect(request.headers[name], `${request.step}: ${name}`).toBe('REDACTED')
        }
      }
      expect(leakedCanaries(result.text, row.basic ? [row.basic] : [])).toEqual([])
      // What a real delivery does is exactly what the dry run showed.
      const real = await deliver()
      expect(real.success, real.error ?? '').toBe(true)
      expect(stepsOf(real.attempts)).toEqual(stepsOf(shown))
    })

    for (const fault of [
      { kind: 'reset-after-handling' },
      { kind: 'delay-after-handling', ms: LATE_MS },
    ] as const) {
      it(
        `handles a create stored but unanswered (${fault.kind}) without storing it twice`,
        inOrder,
        async () => {
          inject(fault)
          const result = await deliver({}, { timeoutMs: TIMEOUT_MS })
          await row.vendor.idle()
          expect(result.success, result.error ?? '').toBe(true)
          expect(primaryAttempts(result)[0]).toMatchObject({
            status_code: null,
            outcome: 'retryable',
            ...(fault.kind === 'delay-after-handling' ? { error: TIMED_OUT } : {}),
          })
          // `deduplicated` means "an earlier delivery had stored it": a create of this delivery
          // found after its answer was lost is new, and the warning says why it had no answer.
          expect([
            result.deduplicated,
            (result.warnings ?? []).some((w) => w.includes('its answer was lost')),
          ]).toEqual([false, row.creates !== 'plain'])
          const sent = primaryRequests()
          switch (row.creates) {
            case 'duplicate-check':
              // The check after the ambiguous failure finds the record: the create is never resent.
              expect(sent).toHaveLength(1)
              expect(primaryAttempts(result)).toHaveLength(1)
              expect(row.stored()).toBe(result.records_sent)
              expect(result.remote_reference).not.toBeNull()
              break
            case 'idempotency-key': {
              // The resend carries the same key, and the receiver drops it as a repeat.
              const header = row.idempotencyHeader!
              expect(sent).toHaveLength(2)
              expect(sent[1]!.headers[header]).toBe(sent[0]!.headers[header])
              expect(result.request?.idempotency_key).toBe(sent[0]!.headers[header])
              expect(row.stored()).toBe(result.records_sent)
              break
            }
            case 'plain':
              // Nothing tells the resend from a new request: the vendor stores it twice. This is
              // the documented behaviour of SIEM ingestion and chat posts (a duplicate beats a loss).
              expect(sent).toHaveLength(2)
              expect(row.stored()).toBe(2 * result.records_sent)
              break
          }
        },
      )
    }

    if (row.creates === 'duplicate-check') {
      it('looks once more for a create unanswered on its last attempt, and finds it', inOrder, async () => {
        inject({ kind: 'delay-after-handling', ms: LATE_MS })
        const result = await deliver({}, { timeoutMs: TIMEOUT_MS, retries: 0 })
        await row.vendor.idle()
        expect(result.success, result.error ?? '').toBe(true)
        expect(primaryRequests()).toHaveLength(1)
        expect(row.stored()).toBe(result.records_sent)
      })
    }
  })
}

/** The credentials a request carries in its headers and query (the secret paths are canaries). */
function credentialsOf(request: RecordedRequest): string[] {
  const values: string[] = []
  for (const name of CREDENTIAL_HEADERS) {
    const value = request.headers[name]
    if (value) values.push(value.replace(/^(Basic|Bearer|Splunk|SharedKey) /, '').replace(/^v1,/, ''))
  }
  for (const [name, value] of request.query) if (/sig|token|key|secret/i.test(name)) values.push(value)
  return values
}

/** The steps of a delivery, each once, in the order first taken. */
function stepsOf(records: ReadonlyArray<Pick<AttemptRecord, 'step'>>): string[] {
  return [...new Set(records.map((record) => record.step))]
}
