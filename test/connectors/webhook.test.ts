import { readFileSync } from 'node:fs'
import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { messageId, signingKey, signMessage } from '../../src/connectors/shared/standard-webhooks.js'
import { readWebhookResponse, webhookEnvelope } from '../../src/connectors/webhook.js'
import { WebhookReceiver } from '../emulators/webhook-receiver.js'
import { CANARY } from '../support/canaries.js'
import { PROJECT_ROOT } from '../support/cli.js'
import { firstEvent, promotionFixtureEvent, rollbackFixtureEvent } from '../support/deliver.js'
import { deliveryTo, useEmulators } from '../support/harness.js'

const receiver = new WebhookReceiver({ secret: CANARY.webhookSecret, path: CANARY.webhookPath })

/** A receiver that wants the earlier tool's bearer token instead of a signature. */
const bearerOnly = new WebhookReceiver({ bearer: CANARY.webhookBearer })
useEmulators(receiver, bearerOnly)

const deliver = deliveryTo('webhook', () => ({
  settings: { url_env: 'HOOK_URL', signing_secret_env: 'HOOK_SECRET' },
  env: { HOOK_URL: receiver.endpoint, HOOK_SECRET: CANARY.webhookSecret },
}))

describe('webhook: signing (pure)', () => {
  it('signs exactly like the standardwebhooks reference library', () => {
    const key = signingKey(CANARY.webhookSecret)
    const body = '{"a":"é"}'
    const headers = signMessage(key, 'msg_abc', 1764338591, body)
    const reference = new Webhook(CANARY.webhookSecret).sign('msg_abc', new Date(1764338591 * 1000), body)
    expect(headers['webhook-signature']).toBe(reference)
  })

  it('derives a stable id per connector and event, free of dots', () => {
    expect(messageId('webhook', 'evt-1')).toBe(messageId('webhook', 'evt-1'))
    expect(messageId('webhook', 'evt-1')).not.toBe(messageId('audit', 'evt-1'))
    expect(messageId('webhook', 'evt-1')).toMatch(/^msg_[0-9a-f]{32}$/)
  })

  it('refuses secrets that are not base64, or not the spec’s 24 to 64 bytes', () => {
    const secret = (bytes: number) => `whsec_${Buffer.alloc(bytes, 7).toString('base64')}`
    expect(() => signingKey('whsec_not base64!')).toThrow(/whsec_/)
    expect(() => signingKey(`whsec_${Buffer.from('short').toString('base64')}`)).toThrow(
      /^signing_secret decodes to 5 bytes; a Standard Webhooks secret is 24 to 64 random bytes/,
    )
    expect(() => signingKey(secret(23))).toThrow(/decodes to 23 bytes/)
    expect(signingKey(secret(24))).toHaveLength(24)
    expect(signingKey(secret(64))).toHaveLength(64)
    expect(() => signingKey(secret(65))).toThrow(/decodes to 65 bytes/)
  })

  for (const bytes of [16, 65]) {
    it(`refuses a ${bytes}-byte signing secret as a configuration error (exit 3) before sending anything`, async () => {
      const secret = `whsec_${Buffer.alloc(bytes, 9).toString('base64')}`
      await expect(deliver({}, { env: { HOOK_SECRET: secret } })).rejects.toMatchObject({
        exitCode: 3,
        message: expect.stringMatching(
          new RegExp(`: connector webhook: signing_secret decodes to ${bytes} bytes`),
        ),
      })
      expect(receiver.requests).toEqual([])
    })
  }

  it('reads a 2xx receipt, refuses 410 and redirects', () => {
    const reply = (status: number, body = '', headers: Record<string, string> = {}) =>
      readWebhookResponse({ status, body, headers, truncated: false })
    expect(reply(202, '{"delivery_id":"dlv_1"}')).toEqual({
      kind: 'ok',
      value: { deliveryId: 'dlv_1', duplicate: false },
    })
    expect(reply(200, '{"delivery_id":"dlv_1","duplicate":true}')).toEqual({
      kind: 'ok',
      value: { deliveryId: 'dlv_1', duplicate: true },
    })
    expect(reply(200, 'ok')).toEqual({ kind: 'ok', value: { deliveryId: null, duplicate: false } })
    expect(reply(410).kind).toBe('failed')
    expect(reply(301, '', { location: 'https://x' }).kind).toBe('failed')
    expect(reply(429).kind).toBe('retryable')
    expect(reply(400).kind).toBe('failed')
  })

  it('wraps the whole event, decisions included, in the cavra envelope', async () => {
    const envelope = await webhookEnvelope(await firstEvent())
    const original = JSON.parse(readFileSync(`${PROJECT_ROOT}/examples/events/siem-event.json`, 'utf8'))
    expect(envelope).toEqual({
      schema_version: 'cavra.webhook.evidence.v1',
      product: 'CAVRA',
      event_type: 'cavra.evidence_bundle',
      event_id: 'sess-2026-11-28-ci-4812',
      severity: 'high',
      timestamp: '2026-11-28T14:03:11Z',
      payload: original,
    })
  })
})

describe('webhook: delivery against a verifying receiver', () => {
  it('delivers a signature the standardwebhooks library accepts, and records the receipt', async () => {
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(receiver.rejected).toEqual([])
    expect(receiver.deliveries).toHaveLength(1)
    expect(delivery).toMatchObject({ success: true, status_code: 202, records_sent: 1 })
    expect(delivery.remote_reference).toBe(receiver.deliveries[0]!.deliveryId)
    expect(delivery.request?.idempotency_key).toBe(messageId('webhook', 'sess-2026-11-28-ci-4812'))
    expect(delivery.request?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/REDACTED$/)
    expect(delivery.request?.headers['webhook-signature']).toBe('REDACTED')
  })

  it('keeps the webhook-id across retries with a fresh signature per attempt', async () => {
    receiver.inject({ kind: 'status', status: 503, body: 'busy' })
    receiver.inject({ kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: 'slow down' })
    const result = await deliver()
    expect(result.deliveries[0]!.success).toBe(true)
    const attempts = receiver.requests
    expect(attempts).toHaveLength(3)
    expect(new Set(attempts.map((r) => r.headers['webhook-id'])).size).toBe(1)
    expect(new Set(attempts.map((r) => r.headers['webhook-signature'])).size).toBeGreaterThan(1)
    expect(receiver.rejected).toEqual([])
  })

  it('lets the receiver drop a re-delivery of the same event, and says it was a duplicate', async () => {
    const first = await deliver()
    expect(first.deliveries[0]).toMatchObject({ deduplicated: false, records_sent: 1 })
    const second = await deliver()
    expect(receiver.deliveries).toHaveLength(1)
    expect(second.deliveries[0]).toMatchObject({
      success: true,
      deduplicated: true,
      records_sent: 0,
      remote_reference: receiver.deliveries[0]!.deliveryId,
    })
    expect(second.deliveries[0]).not.toHaveProperty('warnings')
  })

  it('counts a post stored but unanswered, then dropped as a repeat, as this delivery’s own', async () => {
    receiver.inject({ kind: 'reset-after-handling' })
    const result = await deliver()
    expect(receiver.deliveries).toHaveLength(1)
    expect(result.deliveries[0]).toMatchObject({
      success: true,
      deduplicated: false,
      records_sent: 1,
      remote_reference: receiver.deliveries[0]!.deliveryId,
      warnings: ['the create landed but its answer was lost; found by the duplicate check'],
    })
  })

  it('fails when the signing secret does not match the receiver’s', async () => {
    const other = `whsec_${Buffer.from('another-signing-key-0123456789abcdef').toString('base64')}`
    const result = await deliver({}, { env: { HOOK_SECRET: other } })
    expect(result.deliveries[0]).toMatchObject({ success: false, status_code: 401, attempt_count: 1 })
    expect(receiver.rejected[0]!.reason).toMatch(/No matching signature found/)
  })

  it('sends compatibility bearer auth and keeps it out of the evidence', async () => {
    const result = await deliver(
      { signing_secret_env: undefined, token_env: 'HOOK_TOKEN' },
      { env: { HOOK_URL: bearerOnly.endpoint, HOOK_TOKEN: CANARY.webhookBearer } },
    )
    expect(result.deliveries[0]!.success).toBe(true)
    expect(bearerOnly.requests[0]!.headers.authorization).toBe(`Bearer ${CANARY.webhookBearer}`)
    expect(result.deliveries[0]!.request?.headers.authorization).toBe('REDACTED')
  })

  it('gives up at once on 410 Gone', async () => {
    receiver.inject({ kind: 'status', status: 410, body: 'gone' })
    const result = await deliver()
    expect(result.deliveries[0]).toMatchObject({ success: false, attempt_count: 1 })
    expect(result.deliveries[0]!.error).toMatch(/no longer accepts deliveries/)
  })
})

describe('webhook: golden envelopes', () => {
  it('for the sample evidence bundle, the promotion and the rollback', async () => {
    for (const [name, event] of [
      ['evidence-bundle', await firstEvent()],
      ['promotion', await promotionFixtureEvent()],
      ['rollback', await rollbackFixtureEvent()],
    ] as const) {
      await expect(`${JSON.stringify(await webhookEnvelope(event), null, 2)}\n`).toMatchFileSnapshot(
        `./__golden__/webhook/${name}.json`,
      )
    }
  })
})
