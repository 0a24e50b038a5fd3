import { z } from 'zod'
import { ConfigError } from '../common/errors.js'
import type { HttpResponse } from '../delivery/http.js'
import { excerpt, readStatus, type Verdict } from '../delivery/verdict.js'
import type { DeliveryEvent } from '../events/event.js'
import { compatibilityHeaders, configuredHeaders } from './shared/auth.js'
import { jsonObject } from './shared/json.js'
import { AttemptCounter, recoveredWarnings } from './shared/outcomes.js'
import { compatibilityAuthSettings } from './shared/settings.js'
import { messageId, signingKey, signMessage } from './shared/standard-webhooks.js'
import { parseUrlSetting } from './shared/urls.js'
import { defineConnector } from './types.js'

/**
 * Generic webhook: the cavra envelope, optionally signed with Standard Webhooks.
 * Docs: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */

export interface WebhookConfig {
  name: string
  url: string
  method: 'POST' | 'PUT' | 'PATCH'
  key?: Buffer
  headers: Record<string, string>
}

export const WEBHOOK_SCHEMA = 'cavra.webhook.evidence.v1'

export const webhook = defineConnector({
  provider: 'webhook',
  category: 'webhook',
  title: 'Webhook',
  docs: 'https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md',
  settings: () => ({
    method: z.enum(['POST', 'PUT', 'PATCH']).optional().describe('HTTP method (default POST).'),
    signing_secret: z.string().min(1).optional().describe('Standard Webhooks secret (whsec_…).'),
    ...compatibilityAuthSettings(),
  }),
  secrets: ['signing_secret', 'token', 'authorization', 'api_key'],
  urlIsSecret: true,

  configure(settings, context): WebhookConfig {
    const url = settings.url
    if (!url) throw new ConfigError('url is required (the receiver endpoint); set url_env.')
    parseUrlSetting(url, 'url', { secret: true })
    const secret = settings.signing_secret
    if (!secret && Object.keys(compatibilityHeaders(settings)).length === 0) {
      context.warn(
        `connector ${context.name}: neither signing_secret nor an authorization key is set; the receiver cannot tell cavra's deliveries from anyone else's.`,
      )
    }
    return {
      name: context.name,
      url,
      method: (settings.method as WebhookConfig['method'] | undefined) ?? 'POST',
      key: secret ? signingKey(secret) : undefined,
      headers: { ...configuredHeaders(settings), ...compatibilityHeaders(settings) },
    }
  },

  async deliver(event, config, session) {
    const body = Buffer.from(JSON.stringify(await webhookEnvelope(event)), 'utf8')
    const id = messageId(config.name, event.eventId)
    session.setIdempotencyKey(id)
    const attempts = new AttemptCounter()
    const result = await session.exchange({
      step: 'post event',
      primary: true,
      build: () => {
        attempts.sending()
        const headers: Record<string, string> = { ...config.headers, 'content-type': 'application/json' }
        if (config.key) {
          const signed = signMessage(config.key, id, Math.floor(session.now() / 1000), body)
          session.addSecret(signed['webhook-signature'].slice(3))
          Object.assign(headers, signed)
        }
        return { method: config.method, url: config.url, headers, body }
      },
      read: (response) => {
        const lostBefore = attempts.answering()
        const verdict = readWebhookResponse(response)
        if (verdict.kind !== 'ok') return verdict
        return { kind: 'ok', value: { ...verdict.value, lostBefore } }
      },
      dryRun: { deliveryId: null, duplicate: false, lostBefore: false },
    })
    if (!result.ok) return { ok: false, error: result.error }
    const { deliveryId, duplicate, lostBefore } = result.value
    // The receiver dropped a repeat of the webhook-id: an earlier delivery's, unless an attempt
    // of this one went unanswered first (then it is that attempt, stored but unanswered).
    if (duplicate && !lostBefore) {
      return { ok: true, remoteReference: deliveryId, recordsSent: 0, deduplicated: true }
    }
    return { ok: true, remoteReference: deliveryId, recordsSent: 1, ...recoveredWarnings(duplicate) }
  },
})

/** The envelope every webhook receiver gets; `payload` is the whole event, decisions included. */
export async function webhookEnvelope(event: DeliveryEvent): Promise<Record<string, unknown>> {
  const payload: Record<string, unknown> = { ...event.fields }
  if (event.decisionCount > 0 || 'decisions' in event.fields) {
    const decisions: unknown[] = []
    for await (const decision of event.decisions()) decisions.push(decision)
    payload.decisions = decisions
  }
  return {
    schema_version: WEBHOOK_SCHEMA,
    product: event.product,
    event_type: event.eventType,
    event_id: event.eventId,
    severity: event.severity,
    timestamp: event.timestamp,
    payload,
  }
}

/**
 * Any 2xx is success; 410 Gone means the receiver asks to stop sending (Standard Webhooks,
 * "Delivery"); a 3xx is not followed. The receiver's `delivery_id` (or `id`) is kept, and
 * whether it says `duplicate: true` (it had stored this `webhook-id` already).
 */
export function readWebhookResponse(
  response: HttpResponse,
): Verdict<{ deliveryId: string | null; duplicate: boolean }> {
  if (response.status >= 200 && response.status < 300) {
    return {
      kind: 'ok',
      value: {
        deliveryId: deliveryIdOf(response.body),
        duplicate: jsonObject(response.body)?.duplicate === true,
      },
    }
  }
  if (response.status === 410) {
    return {
      kind: 'failed',
      reason: `410 Gone: the receiver no longer accepts deliveries; remove or disable this connector`,
    }
  }
  if (response.status >= 300 && response.status < 400) {
    return {
      kind: 'failed',
      reason: `redirect to ${response.headers.location ? 'another location' : 'nowhere'} is not followed; configure the final URL`,
    }
  }
  return readStatus(response, { deliveryId: null, duplicate: false }, (r) => excerpt(r))
}

function deliveryIdOf(body: string): string | null {
  const parsed = jsonObject(body)
  const id = parsed?.delivery_id ?? parsed?.id
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null
}
