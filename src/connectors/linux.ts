import { z } from 'zod'
import { ConfigError } from '../common/errors.js'
import type { HttpResponse } from '../delivery/http.js'
import type { Session } from '../delivery/session.js'
import { excerpt, statusText, type Verdict } from '../delivery/verdict.js'
import type { PublicationFields } from '../events/endpoint-export.js'
import type { DeliveryEvent } from '../events/event.js'
import { configuredHeaders } from './shared/auth.js'
import { jsonObject } from './shared/json.js'
import { AttemptCounter, recoveredWarnings } from './shared/outcomes.js'
import { messageId, signingKey, signMessage } from './shared/standard-webhooks.js'
import { isPlainHttpOffHost, parseUrlSetting } from './shared/urls.js'
import { defineConnector, type ProbeResult } from './types.js'

/**
 * Linux fleet publication: the verified `linux-fleet-manifest.json`
 * and `linux-install-cavra-runtime.sh` of an endpoint export, posted in one JSON document to
 * the fleet's publication receiver. There is no single Linux fleet API (FleetDM, Landscape,
 * Salt and AWX each differ), so cavra speaks one documented contract that a thin adapter in
 * front of any of them can accept; it is authenticated like a Standard Webhooks message.
 * Docs: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */

export interface LinuxConfig {
  name: string
  url: string
  /** The receiver's health endpoint (fleet receiver contract: 200 when up). */
  healthUrl: string
  key?: Buffer
  token?: string
  headers: Record<string, string>
}

export const FLEET_SCHEMA = 'cavra.linux-fleet.publication.v1'

/** The files a fleet publication carries, in the order they are sent. */
export const FLEET_ARTIFACTS = ['linux-fleet-manifest.json', 'linux-install-cavra-runtime.sh'] as const

export interface FleetArtifact {
  name: string
  sha256: string
  bytes: number
  content_base64: string
}

export interface FleetPublication {
  schema_version: typeof FLEET_SCHEMA
  publication_id: string
  export_id: string
  channel: string
  release: PublicationFields['release']
  approval_id: string | null
  targets: unknown[]
  artifacts: FleetArtifact[]
}

export interface FleetReceipt {
  deliveryId: string | null
  duplicate: boolean
}

export const linux = defineConnector({
  provider: 'linux',
  category: 'endpoint',
  title: 'Linux fleet',
  docs: 'https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md',
  settings: () => ({
    signing_secret: z
      .string()
      .min(1)
      .optional()
      .describe('Standard Webhooks secret (whsec_…) the receiver verifies every publication with.'),
    token: z.string().min(1).optional().describe('Sent as `Authorization: Bearer <token>`.'),
    health_url: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The receiver's health endpoint, asked by integration check (default: url's origin + /health).",
      ),
  }),
  secrets: ['signing_secret', 'token'],
  urlIsSecret: false,

  configure(settings, context): LinuxConfig {
    const url = settings.url
    if (!url) throw new ConfigError('url is required (the fleet publication endpoint); set url or url_env.')
    const { protocol } = parseUrlSetting(url)
    if (protocol !== 'https:' && protocol !== 'http:') {
      throw new ConfigError(`url must be an https:// URL, not ${protocol}//.`)
    }
    const secret = settings.signing_secret
    const token = settings.token
    if (!secret && !token) {
      throw new ConfigError(
        'signing_secret or token is required: an unauthenticated publication endpoint would let anyone push binaries and install scripts to the fleet; set signing_secret_env and/or token_env.',
      )
    }
    if (isPlainHttpOffHost(url)) {
      context.warn(
        `connector ${context.name}: url uses http://; the publication (install script included)${token ? ' and the bearer token' : ''} would travel unencrypted; use https://.`,
      )
    }
    const healthUrl = settings.health_url
      ? parseUrlSetting(settings.health_url, 'health_url').toString()
      : `${new URL(url).origin}/health`
    return {
      name: context.name,
      url,
      healthUrl,
      key: secret ? signingKey(secret) : undefined,
      token,
      headers: configuredHeaders(settings),
    }
  },

  async deliver(event, config, session) {
    const built = fleetPublication(event)
    if ('error' in built) return { ok: false, error: built.error }
    const body = Buffer.from(JSON.stringify(built.publication), 'utf8')
    // One id per connector and publication: retries and later re-publications of the same export
    // carry it, so the receiver drops duplicates instead of rolling the fleet out twice.
    const id = messageId(config.name, built.publication.publication_id)
    session.setIdempotencyKey(id)
    const attempts = new AttemptCounter()
    const result = await session.exchange({
      step: 'publish to fleet',
      primary: true,
      // Built per attempt: the timestamp and signature are fresh, so a retry is never refused as
      // a replay by the receiver's tolerance window (Standard Webhooks, "Verifying webhook authenticity").
      build: () => {
        attempts.sending()
        return {
          method: 'POST',
          url: config.url,
          headers: fleetHeaders(config, id, body, session, Math.floor(session.now() / 1000)),
          body,
        }
      },
      read: (response) => {
        const lostBefore = attempts.answering()
        const verdict = readFleetResponse(response)
        return verdict.kind === 'ok' ? { kind: 'ok', value: { ...verdict.value, lostBefore } } : verdict
      },
      dryRun: { deliveryId: null, duplicate: false, lostBefore: false },
      // No `recover` hook: an ambiguous attempt is resent with the same webhook-id, and the
      // receiver's duplicate check answers with the delivery it already stored.
    })
    if (!result.ok) return { ok: false, error: result.error }
    const { deliveryId, duplicate, lostBefore } = result.value
    // A duplicate answer to the first attempt is an earlier publication's: nothing new reached
    // the fleet. After an unanswered attempt it is that attempt, stored but unanswered.
    if (duplicate && !lostBefore) {
      return { ok: true, remoteReference: deliveryId, recordsSent: 0, deduplicated: true }
    }
    return {
      ok: true,
      remoteReference: deliveryId,
      recordsSent: built.publication.artifacts.length,
      ...recoveredWarnings(duplicate),
    }
  },
  probe: probeReceiver,
})

/**
 * The publication document. The artifacts come from `event.files`, the bytes verified against
 * checksums.txt when the event was built, never from a second read of the folder, so what is
 * published is exactly what was checked.
 */
export function fleetPublication(
  event: DeliveryEvent,
): { publication: FleetPublication } | { error: string } {
  const fields = event.fields as Partial<PublicationFields>
  const manifest = fields.linux_fleet_manifest
  if (typeof fields.publication_id !== 'string' || !manifest) {
    return {
      error: `${event.eventType} ${event.eventId} is not an endpoint-export publication for linux; the Linux fleet connector publishes only endpoint exports (cavra release deliver-endpoint-export).`,
    }
  }
  const artifacts: FleetArtifact[] = []
  for (const name of FLEET_ARTIFACTS) {
    const file = event.files?.find((candidate) => candidate.name === name)
    if (!file) return { error: `publication ${fields.publication_id} lacks the verified file ${name}.` }
    artifacts.push({
      name,
      sha256: file.sha256,
      bytes: file.bytes,
      content_base64: file.content.toString('base64'),
    })
  }
  return {
    publication: {
      schema_version: FLEET_SCHEMA,
      publication_id: fields.publication_id,
      export_id: String(fields.export_id),
      channel: String(fields.channel),
      release: fields.release as PublicationFields['release'],
      approval_id: fields.approval?.approval_id ?? null,
      targets: manifest.targets,
      artifacts,
    },
  }
}

/** Headers of one attempt; the signature is a run-time credential and is registered for scrubbing. */
export function fleetHeaders(
  config: LinuxConfig,
  id: string,
  body: Buffer,
  secrets: { addSecret(value: string): void },
  nowSeconds = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const headers: Record<string, string> = {
    ...config.headers,
    'content-type': 'application/json',
    // Sent even without a signing secret: the id is the receiver's duplicate key either way.
    'webhook-id': id,
  }
  if (config.key) {
    const signed = signMessage(config.key, id, nowSeconds, body)
    secrets.addSecret(signed['webhook-signature'].slice('v1,'.length))
    Object.assign(headers, signed)
  }
  if (config.token) headers.authorization = `Bearer ${config.token}`
  return headers
}

/**
 * Standard Webhooks "Delivery" rules applied to the fleet receiver: any 2xx is success; a 3xx
 * is not followed (a redirect could move binaries to an unvetted host); 410 asks the sender to
 * stop. 429 and 5xx are back-pressure and are retried (Retry-After is honoured by the session);
 * 501 Not Implemented will not change on a retry. Everything else needs a fix first.
 */
export function readFleetResponse(response: HttpResponse): Verdict<FleetReceipt> {
  const { status } = response
  if (status >= 200 && status < 300) return { kind: 'ok', value: receiptOf(response.body) }
  const message = receiverMessage(response)
  if (status >= 300 && status < 400) {
    return {
      kind: 'failed',
      reason: `HTTP ${status} redirect${response.headers.location ? ' to another location' : ''} is not followed; configure the receiver's final URL`,
    }
  }
  if (status === 401 || status === 403) {
    return {
      kind: 'failed',
      reason: `the receiver refused cavra's credentials (${message}); check that signing_secret and token match the receiver's`,
    }
  }
  if (status === 409 || status === 422) {
    return { kind: 'failed', reason: `the receiver refused the publication: ${message}` }
  }
  if (status === 410) {
    return {
      kind: 'failed',
      reason: `410 Gone: the receiver no longer accepts publications (${message}); remove or disable this connector`,
    }
  }
  if (status === 413) {
    return { kind: 'failed', reason: `the receiver's size limit is below this publication: ${message}` }
  }
  if (status === 408 || status === 429 || (status >= 500 && status !== 501)) {
    return { kind: 'retryable', reason: message }
  }
  return { kind: 'failed', reason: message }
}

function receiptOf(text: string): FleetReceipt {
  const body = jsonObject(text)
  const id = body?.delivery_id
  return {
    deliveryId: typeof id === 'string' || typeof id === 'number' ? String(id) : null,
    duplicate: body?.duplicate === true,
  }
}

/** The receiver's own words (`error` or `message` of a JSON body), else a body excerpt. */
function receiverMessage(response: HttpResponse): string {
  const body = jsonObject(response.body)
  const said = body?.error ?? body?.message
  if (typeof said === 'string' && said.trim() !== '') return said.trim().slice(0, 300)
  return response.body.trim() === '' ? statusText(response.status) : excerpt(response)
}

/** The fleet receiver contract's health answer: 200 when the receiver is up. */
export function readHealth(response: HttpResponse): Verdict<null> {
  if (response.status === 200) return { kind: 'ok', value: null }
  const said = response.body.trim() === '' ? statusText(response.status) : excerpt(response, 200)
  const hints: Record<number, string> = {
    401: 'the receiver refused the token; check token',
    403: 'the receiver refused the token; check token',
    404: 'the receiver has no health endpoint there; set health_url to where it answers GET with 200',
  }
  const hint =
    hints[response.status] ?? (response.status >= 500 ? 'the receiver says it is not up' : undefined)
  return { kind: 'failed', reason: hint ? `${said} (${hint})` : said }
}

async function probeReceiver(config: LinuxConfig, session: Session): Promise<ProbeResult> {
  const probe = `GET ${new URL(config.healthUrl).pathname}`
  // The bearer token goes only to the receiver's own origin: a health_url elsewhere is asked without it.
  const sameOrigin = new URL(config.healthUrl).origin === new URL(config.url).origin
  const result = await session.exchange({
    step: 'health',
    build: () => ({
      method: 'GET',
      url: config.healthUrl,
      headers: {
        ...config.headers,
        ...(config.token && sameOrigin ? { authorization: `Bearer ${config.token}` } : {}),
      },
    }),
    read: readHealth,
    dryRun: null,
  })
  if (!result.ok) return { status: 'unhealthy', probe, detail: result.error }
  return {
    status: 'healthy',
    probe,
    detail: 'the fleet receiver is up; the publication signature and token are checked only on a publication',
  }
}
