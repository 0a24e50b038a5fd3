import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/common/errors.js'
import {
  FLEET_ARTIFACTS,
  fleetHeaders,
  fleetPublication,
  type LinuxConfig,
  linux,
  readFleetResponse,
} from '../../src/connectors/linux.js'
import { messageId, signingKey } from '../../src/connectors/shared/standard-webhooks.js'
import type { DeliveryEvent } from '../../src/events/event.js'
import { FleetReceiver } from '../emulators/fleet-receiver.js'
import { CANARY } from '../support/canaries.js'
import { PROJECT_ROOT } from '../support/cli.js'
import {
  firstEvent,
  promotionFixtureEvent,
  publicationFixtureEvent,
  rollbackFixtureEvent,
} from '../support/deliver.js'
import { deliveryTo, useEmulators } from '../support/harness.js'

const EXPORT_DIR = `${PROJECT_ROOT}/examples/endpoint-export/stable`
const receiver = new FleetReceiver({ secret: CANARY.linuxSecret, bearer: CANARY.linuxToken })

/** Receivers that authenticate publications by the signature alone, or by the bearer token alone. */
const signedOnly = new FleetReceiver({ secret: CANARY.linuxSecret })
const bearerOnly = new FleetReceiver({ bearer: CANARY.linuxToken })
useEmulators(receiver, signedOnly, bearerOnly)

const warnings: string[] = []
const context = { name: 'linux', warn: (message: string) => warnings.push(message) }
afterEach(() => {
  warnings.length = 0
})

const publish = deliveryTo('linux', () => ({
  settings: { url_env: 'FLEET_URL', signing_secret_env: 'FLEET_SECRET', token_env: 'FLEET_TOKEN' },
  env: { FLEET_URL: receiver.endpoint, FLEET_SECRET: CANARY.linuxSecret, FLEET_TOKEN: CANARY.linuxToken },
  event: () => publicationFixtureEvent(['linux']),
}))

function checksums(): Map<string, string> {
  const sums = new Map<string, string>()
  for (const line of readFileSync(`${EXPORT_DIR}/checksums.txt`, 'utf8').split('\n')) {
    const match = /^([0-9a-f]{64}) {2}(.+)$/.exec(line.trim())
    if (match) sums.set(match[2]!, match[1]!)
  }
  return sums
}

/** The sample publication with one verified file's content swapped after verification. */
async function tamperedEvent(): Promise<DeliveryEvent> {
  const event = await publicationFixtureEvent(['linux'])
  const files = event.files!.map((file) => {
    if (file.name !== 'linux-install-cavra-runtime.sh') return file
    // Same length, checksum check disabled: only the hash can tell.
    const content = Buffer.from(file.content.toString('utf8').replace('sha256sum -c', 'echo skipped'))
    expect(content.length).toBe(file.bytes)
    return { ...file, content }
  })
  return { ...event, files }
}

function verifies(request: { text: string; headers: Record<string, string> }, secret: string): boolean {
  try {
    new Webhook(secret).verify(request.text, {
      'webhook-id': request.headers['webhook-id']!,
      'webhook-timestamp': request.headers['webhook-timestamp']!,
      'webhook-signature': request.headers['webhook-signature']!,
    })
    return true
  } catch {
    return false
  }
}

describe('Linux fleet: configuration', () => {
  it('requires a url, a valid one, over http(s)', () => {
    expect(() => linux.configure({ token: 't' }, context)).toThrow(/url is required/)
    expect(() => linux.configure({ url: 'not a url', token: 't' }, context)).toThrow(/not a valid URL/)
    expect(() => linux.configure({ url: 'ftp://fleet.example/p', token: 't' }, context)).toThrow(/https:\/\//)
  })

  it('refuses an unauthenticated publication endpoint', () => {
    const attempt = () => linux.configure({ url: 'https://fleet.example/publications' }, context)
    expect(attempt).toThrow(ConfigError)
    expect(attempt).toThrow(/signing_secret or token is required: an unauthenticated publication endpoint/)
  })

  it('accepts a signing secret, a token, or both; refuses a secret that is not whsec_ base64', () => {
    const url = 'https://fleet.example/publications'
    const signed = linux.configure({ url, signing_secret: CANARY.linuxSecret }, context)
    expect(signed.key).toEqual(signingKey(CANARY.linuxSecret))
    expect(signed.token).toBeUndefined()
    expect(linux.configure({ url, token: CANARY.linuxToken }, context)).toMatchObject({
      key: undefined,
      token: CANARY.linuxToken,
    })
    expect(() => linux.configure({ url, signing_secret: 'whsec_not base64!' }, context)).toThrow(/whsec_/)
    expect(warnings).toEqual([])
  })

  for (const bytes of [16, 65]) {
    it(`refuses a ${bytes}-byte signing secret as a configuration error (exit 3) before sending anything`, async () => {
      const secret = `whsec_${Buffer.alloc(bytes, 9).toString('base64')}`
      await expect(publish({}, { env: { FLEET_SECRET: secret } })).rejects.toMatchObject({
        exitCode: 3,
        message: expect.stringMatching(
          new RegExp(`: connector linux: signing_secret decodes to ${bytes} bytes`),
        ),
      })
      expect(receiver.requests).toEqual([])
    })
  }

  it('warns about plain http to another host, not to this machine', () => {
    linux.configure({ url: 'http://127.0.0.1:8080/p', token: 't' }, context)
    expect(warnings).toEqual([])
    linux.configure({ url: 'http://fleet.internal/p', token: 't' }, context)
    expect(warnings[0]).toMatch(
      /uses http:\/\/; the publication .* and the bearer token would travel unencrypted/,
    )
  })
})

describe('Linux fleet: the publication document (pure)', () => {
  it('matches the golden body for the sample export', async () => {
    const built = fleetPublication(await publicationFixtureEvent(['linux']))
    if ('error' in built) throw new Error(built.error)
    await expect(`${JSON.stringify(built.publication, null, 2)}\n`).toMatchFileSnapshot(
      './__golden__/linux/publication-stable.json',
    )
  })

  it('carries exactly the two verified files, in order, with the checksums.txt hashes', async () => {
    const built = fleetPublication(await publicationFixtureEvent(['linux']))
    if ('error' in built) throw new Error(built.error)
    const { publication } = built
    const sums = checksums()
    expect(publication.artifacts.map((a) => a.name)).toEqual([
      'linux-fleet-manifest.json',
      'linux-install-cavra-runtime.sh',
    ])
    for (const artifact of publication.artifacts) {
      const onDisk = readFileSync(`${EXPORT_DIR}/${artifact.name}`)
      expect(artifact.sha256).toBe(sums.get(artifact.name))
      expect(artifact.bytes).toBe(onDisk.length)
      expect(Buffer.from(artifact.content_base64, 'base64').equals(onDisk)).toBe(true)
    }
    const fleetManifest = JSON.parse(readFileSync(`${EXPORT_DIR}/linux-fleet-manifest.json`, 'utf8'))
    const expectedId = `emp_${createHash('sha256')
      .update('eme_6f0c3b2a1d9e:stable:v0.2.0:intune,jamf,linux')
      .digest('hex')
      .slice(0, 12)}`
    expect(publication).toMatchObject({
      schema_version: 'cavra.linux-fleet.publication.v1',
      publication_id: expectedId,
      export_id: 'eme_6f0c3b2a1d9e',
      channel: 'stable',
      release: { version: 'v0.2.0', repository: 'acme/cavra-runtime' },
      approval_id: 'apr_5e1f0a2b9c88',
      targets: fleetManifest.targets,
    })
  })

  it('sends the bytes it was given, never a fresh read of the folder', async () => {
    const built = fleetPublication(await tamperedEvent())
    if ('error' in built) throw new Error(built.error)
    const script = built.publication.artifacts[1]!
    expect(Buffer.from(script.content_base64, 'base64').toString()).toContain('echo skipped')
    expect(script.sha256).toBe(checksums().get('linux-install-cavra-runtime.sh'))
  })

  it('refuses events that are not a linux publication', async () => {
    for (const event of [await firstEvent(), await promotionFixtureEvent(), await rollbackFixtureEvent()]) {
      const built = fleetPublication(event)
      expect('error' in built && built.error).toMatch(/not an endpoint-export publication for linux/)
    }
    const jamfOnly = fleetPublication(await publicationFixtureEvent(['jamf']))
    expect('error' in jamfOnly).toBe(true)
    const withoutScript = await publicationFixtureEvent(['linux'])
    const missing = fleetPublication({
      ...withoutScript,
      files: withoutScript.files!.filter((f) => f.name !== FLEET_ARTIFACTS[1]),
    })
    expect('error' in missing && missing.error).toMatch(
      /lacks the verified file linux-install-cavra-runtime.sh/,
    )
  })

  it('signs id.timestamp.body verifiably and sends the bearer token', () => {
    const config: LinuxConfig = {
      name: 'linux',
      url: 'https://fleet.example/p',
      healthUrl: 'https://fleet.example/health',
      key: signingKey(CANARY.linuxSecret),
      token: CANARY.linuxToken,
      headers: { 'x-team': 'platform', authorization: 'overridden' },
    }
    const registered: string[] = []
    const body = Buffer.from('{"a":"é"}')
    const now = Math.floor(Date.now() / 1000)
    const headers = fleetHeaders(config, 'msg_1', body, { addSecret: (v) => registered.push(v) }, now)
    expect(headers).toMatchObject({
      'content-type': 'application/json',
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(now),
      authorization: `Bearer ${CANARY.linuxToken}`,
      'x-team': 'platform',
    })
    expect(verifies({ text: body.toString(), headers }, CANARY.linuxSecret)).toBe(true)
    expect(registered).toEqual([headers['webhook-signature']!.slice(3)])
    const bearerOnly = fleetHeaders({ ...config, key: undefined }, 'msg_1', body, { addSecret() {} }, now)
    expect(bearerOnly['webhook-signature']).toBeUndefined()
    expect(bearerOnly['webhook-id']).toBe('msg_1')
  })

  it('reads every documented receiver answer', () => {
    const answer = (status: number, body = '', headers: Record<string, string> = {}) =>
      readFleetResponse({ status, body, headers, truncated: false })
    expect(answer(202, '{"delivery_id":"fdl_1"}')).toEqual({
      kind: 'ok',
      value: { deliveryId: 'fdl_1', duplicate: false },
    })
    expect(answer(200, '{"delivery_id":"fdl_1","duplicate":true}')).toEqual({
      kind: 'ok',
      value: { deliveryId: 'fdl_1', duplicate: true },
    })
    expect(answer(204)).toEqual({ kind: 'ok', value: { deliveryId: null, duplicate: false } })
    expect(answer(302, '', { location: 'https://elsewhere' })).toMatchObject({
      kind: 'failed',
      reason: expect.stringMatching(/redirect to another location is not followed/),
    })
    for (const status of [401, 403]) {
      expect(answer(status, '{"error":"bad signature"}')).toEqual({
        kind: 'failed',
        reason:
          "the receiver refused cavra's credentials (bad signature); check that signing_secret and token match the receiver's",
      })
    }
    expect(answer(422, '{"error":"artifact x sha256 mismatch"}')).toEqual({
      kind: 'failed',
      reason: 'the receiver refused the publication: artifact x sha256 mismatch',
    })
    expect(answer(409, '{"message":"older release than the fleet runs"}')).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('older release than the fleet runs'),
    })
    expect(answer(410, 'gone')).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/410 Gone/) })
    expect(answer(413)).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/size limit/) })
    for (const status of [400, 404, 415, 501]) expect(answer(status).kind, String(status)).toBe('failed')
    for (const status of [408, 429, 500, 502, 503, 504, 507]) {
      expect(answer(status).kind, String(status)).toBe('retryable')
    }
    expect(answer(503, '<html>down</html>')).toEqual({ kind: 'retryable', reason: '<html>down</html>' })
    expect(answer(500)).toEqual({ kind: 'retryable', reason: 'Internal Server Error' })
  })
})

describe('Linux fleet: publication against a verifying receiver', () => {
  it('publishes both artifacts, signed and with the bearer token, and records the receipt', async () => {
    const result = await publish()
    const delivery = result.deliveries[0]!
    expect(receiver.rejected).toEqual([])
    expect(receiver.publications).toHaveLength(1)
    const stored = receiver.publications[0]!
    expect(delivery).toMatchObject({
      success: true,
      status_code: 202,
      attempt_count: 1,
      records_sent: 2,
      deduplicated: false,
      remote_reference: stored.deliveryId,
    })
    for (const name of FLEET_ARTIFACTS) {
      expect(stored.files[name]!.equals(readFileSync(`${EXPORT_DIR}/${name}`))).toBe(true)
    }
    const request = receiver.requests[0]!
    expect(request.headers.authorization).toBe(`Bearer ${CANARY.linuxToken}`)
    expect(verifies(request, CANARY.linuxSecret)).toBe(true)
    expect(request.headers['webhook-id']).toBe(messageId('linux', result.event_id))
    expect(delivery.request).toMatchObject({
      method: 'POST',
      url: receiver.endpoint,
      idempotency_key: request.headers['webhook-id'],
      body_bytes: request.body.length,
      headers: { authorization: 'REDACTED', 'webhook-signature': 'REDACTED' },
    })
  })

  it('publishes with a signature alone', async () => {
    const result = await publish({ token_env: undefined }, { env: { FLEET_URL: signedOnly.endpoint } })
    expect(result.deliveries[0]).toMatchObject({ success: true, status_code: 202 })
    expect(signedOnly.requests[0]!.headers.authorization).toBeUndefined()
    expect(signedOnly.publications).toHaveLength(1)
  })

  it('publishes with a bearer token alone, still carrying the duplicate key', async () => {
    const result = await publish(
      { signing_secret_env: undefined },
      { env: { FLEET_URL: bearerOnly.endpoint } },
    )
    expect(result.deliveries[0]).toMatchObject({ success: true, status_code: 202 })
    const request = bearerOnly.requests[0]!
    expect(request.headers['webhook-signature']).toBeUndefined()
    expect(request.headers['webhook-id']).toBe(messageId('linux', result.event_id))
  })

  it('refuses to configure without signing_secret or token (exit 3, nothing sent)', async () => {
    const attempt = publish({ signing_secret_env: undefined, token_env: undefined })
    await expect(attempt).rejects.toBeInstanceOf(ConfigError)
    await expect(publish({ signing_secret_env: undefined, token_env: undefined })).rejects.toThrow(
      /connector linux: signing_secret or token is required/,
    )
    expect(receiver.requests).toHaveLength(0)
  })

  it('gives a re-publication the same webhook-id and gets the same delivery back', async () => {
    const first = await publish()
    const second = await publish()
    expect(receiver.publications).toHaveLength(1)
    const [a, b] = receiver.requests
    expect(a!.headers['webhook-id']).toBe(b!.headers['webhook-id'])
    expect(second.deliveries[0]).toMatchObject({
      success: true,
      status_code: 200,
      deduplicated: true,
      // Nothing new reached the fleet: the receiver already held this publication.
      records_sent: 0,
      remote_reference: first.deliveries[0]!.remote_reference,
    })
  })

  it('counts a publication stored but unanswered, then dropped as a repeat, as this delivery’s own', async () => {
    receiver.inject({ kind: 'delay-after-handling', ms: 1000 })
    const result = await publish({}, { timeoutMs: 500 })
    await receiver.idle()
    expect(receiver.publications).toHaveLength(1)
    expect(result.deliveries[0]).toMatchObject({
      success: true,
      deduplicated: false,
      records_sent: 2,
      remote_reference: receiver.publications[0]!.deliveryId,
      warnings: ['the create landed but its answer was lost; found by the duplicate check'],
    })
  })

  it('fails with the receiver’s words when an artifact does not match its sha256', async () => {
    const result = await publish({}, { event: await tamperedEvent() })
    expect(receiver.publications).toHaveLength(0)
    expect(receiver.rejected.map((r) => r.status)).toEqual([422])
    expect(result.deliveries[0]).toMatchObject({ success: false, status_code: 422, attempt_count: 1 })
    expect(result.deliveries[0]!.error).toMatch(
      /^HTTP 422 from Linux fleet after 1 attempt: the receiver refused the publication: artifact linux-install-cavra-runtime.sh sha256 mismatch/,
    )
  })

  it('fails at once, naming the credentials, when the signing secret is wrong', async () => {
    const other = `whsec_${Buffer.from('another-fleet-signing-key-0123456789').toString('base64')}`
    const result = await publish({}, { env: { FLEET_SECRET: other } })
    expect(result.deliveries[0]).toMatchObject({ success: false, status_code: 401, attempt_count: 1 })
    expect(result.deliveries[0]!.error).toMatch(/refused cavra's credentials \(signature verification failed/)
    expect(receiver.publications).toHaveLength(0)
  })

  it('fails at once when the bearer token is wrong', async () => {
    const result = await publish({}, { env: { FLEET_TOKEN: 'canary-wrong-fleet-token-00' } })
    expect(result.deliveries[0]).toMatchObject({ success: false, status_code: 401, attempt_count: 1 })
    expect(JSON.stringify(result)).not.toContain('canary-wrong-fleet-token-00')
  })

  it('signs every attempt afresh under the same webhook-id, so a retry is never refused as a replay', async () => {
    // Retry-After: 1 puts the retry in another second, so its timestamp must differ.
    receiver.inject({ kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: 'slow down' })
    const result = await publish()
    expect(result.deliveries[0]!.success).toBe(true)
    const [first, second] = receiver.requests
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id'])
    expect(second!.headers['webhook-timestamp']).not.toBe(first!.headers['webhook-timestamp'])
    expect(second!.headers['webhook-signature']).not.toBe(first!.headers['webhook-signature'])
    // Each signature is valid for its own timestamp: it was computed for that attempt.
    expect(verifies(first!, CANARY.linuxSecret)).toBe(true)
    expect(verifies(second!, CANARY.linuxSecret)).toBe(true)
    expect(receiver.publications).toHaveLength(1)
  })

  it('fails on a non-publication event without sending anything', async () => {
    const result = await publish({}, { event: await rollbackFixtureEvent() })
    expect(result.deliveries[0]).toMatchObject({ success: false, attempt_count: 0 })
    expect(result.deliveries[0]!.error).toMatch(/not an endpoint-export publication for linux/)
    expect(receiver.requests).toHaveLength(0)
  })
})
