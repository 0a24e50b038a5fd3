import { describe, expect, it } from 'vitest'
import type { Severity } from '../../src/common/severity.js'
import {
  DATADOG_SITES,
  type DatadogConfig,
  datadog,
  datadogLog,
  datadogTag,
  intakeEndpoint,
  readIntakeResponse,
  requestBodies,
} from '../../src/connectors/datadog.js'
import { decisionRecord, siemRecords, summaryRecord } from '../../src/connectors/shared/siem-records.js'
import type { Decision, DeliveryEvent } from '../../src/events/event.js'
import { DatadogIntake, PAYLOAD_TOO_LARGE } from '../emulators/datadog.js'
import { CANARY } from '../support/canaries.js'
import {
  deliverInProcess,
  firstEvent,
  promotionFixtureEvent,
  rollbackFixtureEvent,
} from '../support/deliver.js'
import { deliveryTo, useEmulators } from '../support/harness.js'
import { cut } from '../support/huge-fields.js'

const KEY = CANARY.datadogKey
const intake = new DatadogIntake({ apiKey: KEY })

useEmulators(intake)

const deliver = deliveryTo('datadog', () => ({
  settings: { url_env: 'DD_URL', api_key_env: 'DD_API_KEY' },
  env: { DD_URL: intake.url, DD_API_KEY: KEY },
}))

function configure(settings: Record<string, unknown> = {}, warnings: string[] = []): DatadogConfig {
  return datadog.configure({ api_key: KEY, ...settings }, { name: 'datadog', warn: (w) => warnings.push(w) })
}

/** An evidence bundle with `count` decisions, streamed like a real file (nothing held in memory). */
function syntheticEvent(
  count: number,
  decision: (index: number) => Decision = (index) => ({
    decision_id: `dec-${index}`,
    action_type: 'shell_command',
    command: `echo ${index}`,
    decision: 'allow',
    severity: 'low',
    reason: 'harmless',
    policy_id: 'baseline',
  }),
  timestamp = new Date().toISOString(),
  severity: Severity = 'medium',
): DeliveryEvent {
  return {
    eventId: 'sess-synthetic-1',
    eventType: 'cavra.evidence_bundle',
    sessionId: 'sess-synthetic-1',
    severity,
    timestamp,
    product: 'CAVRA',
    fields: { event_type: 'cavra.evidence_bundle', session_id: 'sess-synthetic-1', decision_count: count },
    decisionCount: count,
    decisions: async function* () {
      for (let index = 0; index < count; index++) yield decision(index)
    },
    view: {
      title: `AI agent evidence sess-synthetic-1: ${count} decisions`,
      summary: '',
      facts: [],
      highlights: null,
      references: [],
    },
    source: null,
  }
}

/** The request bodies exactly as sent, pretty-printed, at a fixed "now" one minute after the event. */
async function goldenText(event: DeliveryEvent, config: DatadogConfig): Promise<string> {
  const bodies: unknown[] = []
  for await (const { body } of requestBodies(event, config, Date.parse(event.timestamp) + 60_000)) {
    bodies.push(JSON.parse(body.toString('utf8')))
  }
  expect(bodies).toHaveLength(1)
  return `${JSON.stringify(bodies[0], null, 2)}\n`
}

describe('Datadog Logs: configuration (pure)', () => {
  it('derives the intake URL from the site, or keeps a configured url', () => {
    expect(intakeEndpoint()).toEqual({
      url: 'https://http-intake.logs.datadoghq.com/api/v2/logs',
      site: 'datadoghq.com',
    })
    for (const site of DATADOG_SITES) {
      expect(intakeEndpoint(site).url).toBe(`https://http-intake.logs.${site}/api/v2/logs`)
    }
    expect(intakeEndpoint('app.datadoghq.eu').url).toBe('https://http-intake.logs.datadoghq.eu/api/v2/logs')
    expect(intakeEndpoint(undefined, 'https://dd-proxy.example:8443').url).toBe(
      'https://dd-proxy.example:8443/api/v2/logs',
    )
    expect(intakeEndpoint(undefined, 'https://dd-proxy.example/intake/logs')).toEqual({
      url: 'https://dd-proxy.example/intake/logs',
      site: null,
    })
    expect(intakeEndpoint(undefined, 'https://http-intake.logs.us5.datadoghq.com/api/v2/logs').site).toBe(
      'us5.datadoghq.com',
    )
    expect(() => intakeEndpoint('https://datadoghq.eu')).toThrow(/not a host name/)
    expect(() => intakeEndpoint('datadoghq.eu', 'https://http-intake.logs.datadoghq.com')).toThrow(
      /url points at site datadoghq.com but site is datadoghq.eu/,
    )
  })

  it('warns about an unknown site and plain http, and requires the API key', () => {
    const warnings: string[] = []
    expect(configure({ site: 'datadoghq.co' }, warnings).url).toBe(
      'https://http-intake.logs.datadoghq.co/api/v2/logs',
    )
    expect(warnings[0]).toMatch(/site "datadoghq.co" is not a documented Datadog site/)
    configure({ site: 'us3.datadoghq.com', url: 'http://dd.example/api/v2/logs' }, warnings)
    expect(warnings[1]).toMatch(/http:\/\/; the API key travels unencrypted/)
    expect(warnings).toHaveLength(2)
    expect(() => datadog.configure({ site: 'datadoghq.eu' }, { name: 'd', warn() {} })).toThrow(
      /api_key is required/,
    )
  })

  it('accepts the earlier tool’s dd-api-key header and refuses any other', () => {
    expect(configure({ api_key_header: 'dd-api-key' }).apiKey).toBe(KEY)
    expect(configure({ api_key_header: 'DD-API-KEY' }).apiKey).toBe(KEY)
    expect(() => configure({ api_key_header: 'x-api-key' })).toThrow(
      /Datadog.*reads the key only from the DD-API-KEY header/,
    )
  })

  it('keeps tags in Datadog syntax, saying when one changes', () => {
    expect(datadogTag('Team:SecOps Blue')).toBe('team:secops_blue')
    expect(datadogTag('event_id:rpe_4c1d2e9a7b30')).toBe('event_id:rpe_4c1d2e9a7b30')
    expect(datadogTag(`k:${'v'.repeat(300)}`)).toHaveLength(200)
    const warnings: string[] = []
    expect(configure({ tags: ['env:prod', 'Team:Sec,Ops'] }, warnings).tags).toEqual([
      'env:prod',
      'team:sec_ops',
    ])
    expect(warnings).toEqual(['connector datadog: tags[1] "Team:Sec,Ops" is sent as "team:sec_ops".'])
    expect(() => configure({ tags: ['1team'] })).toThrow(/tags\[0\] "1team" must start with a letter/)
  })
})

describe('Datadog Logs: log objects (pure)', () => {
  it('maps every severity to a Datadog status; a critical event is never info', async () => {
    const config = configure()
    const expected: Record<Severity, string> = {
      critical: 'critical',
      high: 'error',
      medium: 'warning',
      low: 'info',
      info: 'info',
    }
    for (const [severity, status] of Object.entries(expected) as Array<[Severity, string]>) {
      const event = syntheticEvent(0, undefined, undefined, severity)
      expect(datadogLog(summaryRecord(event), config, Date.now()).status, severity).toBe(status)
    }
    const rollback = await rollbackFixtureEvent()
    expect(datadogLog(summaryRecord(rollback), config, Date.now())).toMatchObject({
      status: 'critical',
      message: expect.stringMatching(/^\[CRITICAL\] Release .* rolled back/),
    })
  })

  it('writes a readable message, Datadog tags and the record under `cavra`', async () => {
    const event = await firstEvent()
    const config = configure({ tags: ['env:prod'], hostname: 'gha-runner-17' })
    const now = Date.parse(event.timestamp) + 60_000
    const logs = []
    for await (const record of siemRecords(event)) logs.push(datadogLog(record, config, now))
    expect(logs).toHaveLength(8)
    expect(logs[0]).toEqual({
      ddsource: 'cavra',
      ddtags:
        'env:prod,event_id:sess-2026-11-28-ci-4812,event_type:cavra.evidence_bundle,severity:high,record_type:summary',
      hostname: 'gha-runner-17',
      service: 'cavra',
      message:
        '[HIGH] AI agent evidence sess-2026-11-28-ci-4812: 4 blocked, 1 awaiting approval of 7 decisions',
      status: 'error',
      date: '2026-11-28T14:03:11.000Z',
      cavra: expect.objectContaining({ event_id: 'sess-2026-11-28-ci-4812', blocked_count: 4 }),
    })
    expect(logs[7]).toMatchObject({
      message:
        '[CRITICAL] Blocked shell_command "rm -rf /" under policy destructive.rm_root: destructive filesystem command',
      status: 'critical',
      date: '2026-11-28T14:03:05.000Z',
      cavra: { decision_id: 'dec-07', decision_index: 6, command: 'rm -rf /' },
    })
    expect(logs[3]!.message).toBe(
      '[MEDIUM] Required approval for file_write "write .github/workflows/release.yml" under policy ci.workflow_change: CI workflow modification',
    )
    expect(logs[1]).toMatchObject({ status: 'info', message: expect.stringMatching(/^\[LOW\] Allowed /) })
  })

  it('never lets an event field override a reserved attribute', () => {
    const event = syntheticEvent(0)
    event.fields = { ...event.fields, message: 'forged', status: 'ok', service: 'x', ddtags: 'y', date: 0 }
    const log = datadogLog(summaryRecord(event), configure(), Date.now())
    expect(log).toMatchObject({ status: 'warning', service: 'cavra', date: event.timestamp })
    expect(log.message).toMatch(/^\[MEDIUM\] AI agent evidence/)
    expect(log.ddtags).toMatch(/^event_id:sess-synthetic-1,/)
    expect(log.cavra).toMatchObject({ message: 'forged', status: 'ok' })
  })

  it('keeps a huge command out of the message and sends records outside the ingestion window undated', () => {
    const event = syntheticEvent(0)
    const huge = decisionRecord(event, { command: `x${' y'.repeat(50_000)}`, decision: 'block' }, 0)
    const message = datadogLog(huge, configure(), Date.now()).message as string
    expect(message).toMatch(/^\[MEDIUM\] Blocked "x y y .*… \(truncated\)"$/)
    expect(message.length).toBeLessThan(250)
    const now = Date.parse('2026-11-28T12:00:00Z')
    const at = (time: string) =>
      datadogLog({ ...summaryRecord(event), time }, configure(), now).date as string | undefined
    expect(at('2026-11-27T19:00:00Z')).toBe('2026-11-27T19:00:00.000Z')
    expect(at('2026-11-27T17:55:00Z')).toBeUndefined()
    expect(at('2026-11-28T15:00:00Z')).toBeUndefined()
  })

  it('reads every documented answer as success, retry or a final error with Datadog’s words', () => {
    const answer = (status: number, body = '') =>
      readIntakeResponse({ status, headers: {}, body, truncated: false }, 'datadoghq.eu')
    expect(answer(202, '{}')).toEqual({ kind: 'ok', value: null })
    expect(answer(200, '{}')).toEqual({ kind: 'ok', value: null })
    expect(answer(400, '{"errors":["Malformed payload"]}')).toEqual({
      kind: 'failed',
      reason: 'Malformed payload (Datadog refused the payload)',
    })
    expect(answer(401, '{"errors":["Unauthorized"]}')).toMatchObject({ kind: 'failed' })
    expect(answer(403, '{"errors":["Forbidden"]}')).toEqual({
      kind: 'failed',
      reason:
        "Forbidden (the API key is wrong, or the key is not valid for site datadoghq.eu (a key works only on its organisation's site); check api_key and site)",
    })
    expect(answer(413, '{"errors":["Request Entity Too Large"]}').kind).toBe('failed')
    for (const status of [408, 429, 500, 502, 503, 504, 507])
      expect(answer(status).kind, String(status)).toBe('retryable')
    expect(
      answer(503, '{"errors":[{"status":"503","title":"Service Unavailable","detail":"try later"}]}'),
    ).toEqual({
      kind: 'retryable',
      reason: 'Service Unavailable: try later',
    })
    expect(answer(404, '<html>not found</html>')).toEqual({
      kind: 'failed',
      reason: '<html>not found</html>',
    })
  })
})

describe('Datadog Logs: golden request bodies', () => {
  const config = () => configure({ tags: ['team:secops', 'env:prod'] })

  it('sample evidence bundle: one JSON array of 8 logs', async () => {
    const text = await goldenText(await firstEvent(), config())
    expect(JSON.parse(text)).toHaveLength(8)
    await expect(text).toMatchFileSnapshot('./__golden__/datadog/evidence-bundle.json')
  })

  it('promotion execution', async () => {
    const text = await goldenText(await promotionFixtureEvent(), config())
    expect(JSON.parse(text)).toMatchObject([{ status: 'error' }])
    await expect(text).toMatchFileSnapshot('./__golden__/datadog/promotion-execution.json')
  })

  it('rollback execution arrives as critical', async () => {
    const text = await goldenText(await rollbackFixtureEvent(), config())
    expect(JSON.parse(text)).toMatchObject([
      { status: 'critical', ddtags: expect.stringContaining('severity:critical') },
    ])
    await expect(text).toMatchFileSnapshot('./__golden__/datadog/rollback-execution.json')
  })
})

describe('Datadog Logs: delivery against the intake emulator', () => {
  it('delivers the sample bundle as one array of 8 logs with DD-API-KEY', async () => {
    const result = await deliver({ tags: ['env:prod'] })
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({
      success: true,
      status_code: 202,
      records_sent: 8,
      records_shortened: 0,
      accepted_async: true,
      attempt_count: 1,
    })
    expect(intake.requests).toHaveLength(1)
    const request = intake.requests[0]!
    expect(request.path).toBe('/api/v2/logs')
    expect(request.headers['dd-api-key']).toBe(KEY)
    expect(request.headers['content-type']).toBe('application/json')
    expect(Array.isArray(JSON.parse(request.text))).toBe(true)
    expect(intake.logs.map((log) => (log.cavra as { record_type: string }).record_type)).toEqual([
      'summary',
      ...Array(7).fill('decision'),
    ])
    expect(DatadogIntake.tagsOf(intake.logs[0]!)).toContain('event_id:sess-2026-11-28-ci-4812')
    expect(intake.truncated).toEqual([])
    expect(intake.dropped).toEqual([])
    expect(delivery.request).toMatchObject({
      method: 'POST',
      url: `${intake.url}/api/v2/logs`,
      headers: { 'dd-api-key': 'REDACTED', 'content-type': 'application/json' },
      body_bytes: request.body.length,
    })
    expect(delivery.remote_reference).toBeNull()
  })

  it('delivers the rollback as a critical log', async () => {
    const result = await deliver({}, { event: await rollbackFixtureEvent() })
    expect(result.deliveries[0]).toMatchObject({ success: true, records_sent: 1 })
    expect(intake.logs[0]).toMatchObject({ status: 'critical', service: 'cavra', ddsource: 'cavra' })
  })

  it('splits 2,500 decisions into requests of at most 1,000 logs', async () => {
    const result = await deliver({}, { event: syntheticEvent(2500) })
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: true, records_sent: 2501 })
    expect(intake.requests.map((r) => (JSON.parse(r.text) as unknown[]).length)).toEqual([1000, 1000, 501])
    expect(intake.logs).toHaveLength(2501)
    expect(delivery.request?.batches).toBe(3)
  })

  it('keeps every request within 5,000,000 bytes, so the intake never answers 413', async () => {
    // Logs of about 850,000 bytes (two-byte characters): six of them make about 5.1 MB, under
    // 5 MiB (5,242,880) but over the 5,000,000 bytes Datadog's Agent and Vector stay within.
    const event = syntheticEvent(7, (index) => ({
      decision_id: `big-${index}`,
      command: 'é'.repeat(425_000),
    }))
    const result = await deliver({}, { event })
    expect(result.deliveries[0]).toMatchObject({ success: true, records_sent: 8, records_shortened: 0 })
    expect(intake.requests.map((r) => (JSON.parse(r.text) as unknown[]).length)).toEqual([6, 2])
    for (const request of intake.requests) expect(request.body.length).toBeLessThanOrEqual(5_000_000)
    expect(intake.requests[0]!.body.length).toBeGreaterThan(4_000_000)
    expect(intake.truncated).toEqual([])
    expect(intake.logs).toHaveLength(8)
  })

  it('shortens a log over 1,000,000 bytes with a visible marker, so Datadog cuts nothing', async () => {
    // 1,020,000 bytes: under 1 MiB, over the 1,000,000 bytes a log may have.
    const event = syntheticEvent(3, (index) =>
      index === 1
        ? {
            decision_id: 'dec-huge',
            command: 'A'.repeat(1_020_000),
            decision: 'block',
            reason: 'exfiltration',
          }
        : { decision_id: `dec-${index}`, command: 'ls', decision: 'allow' },
    )
    const result = await deliver({}, { event })
    expect(result.deliveries[0]).toMatchObject({ success: true, records_sent: 4, records_shortened: 1 })
    expect(intake.truncated).toEqual([])
    for (const log of intake.logs)
      expect(Buffer.byteLength(JSON.stringify(log))).toBeLessThanOrEqual(1_000_000)
    const huge = intake.logs[2]!.cavra as Record<string, unknown>
    expect(huge).toMatchObject({ decision_id: 'dec-huge', decision: 'block', reason: 'exfiltration' })
    const command = cut(huge.command)
    expect(command.kept).toMatch(/^A+$/)
    expect(command.kept.length + command.removed).toBe(1_020_000)
    expect(intake.logs[2]!.message).toMatch(/^\[MEDIUM\] Blocked "AAAA.*… \(truncated\)": exfiltration$/)
  })

  it('shortens a decision of several MB far into the stream instead of refusing the delivery', async () => {
    // The oversized decision comes after more than a full batch; it no longer stops the other 1,499.
    const event = syntheticEvent(1500, (index) =>
      index === 1400
        ? { decision_id: 'dec-huge', command: 'A'.repeat(3_000_000), decision: 'block' }
        : { decision_id: `dec-${index}`, command: 'ls', decision: 'allow' },
    )
    const result = await deliver({}, { event })
    expect(result.deliveries[0]).toMatchObject({ success: true, records_sent: 1501, records_shortened: 1 })
    expect(intake.truncated).toEqual([])
    const huge = intake.logs.find((log) => (log.cavra as Record<string, unknown>).decision_id === 'dec-huge')!
    expect(cut((huge.cavra as Record<string, unknown>).command).removed).toBeGreaterThan(2_000_000)
  })

  it('sends an event outside the 18 h window undated, so Datadog keeps it', async () => {
    const old = new Date(Date.now() - 3 * 86_400_000).toISOString()
    const result = await deliver({}, { event: syntheticEvent(2, undefined, old) })
    expect(result.deliveries[0]!.success).toBe(true)
    expect(intake.dropped).toEqual([])
    expect(intake.logs).toHaveLength(3)
    expect(intake.logs[0]).not.toHaveProperty('date')
    expect(intake.logs[0]!.cavra).toMatchObject({ timestamp: old })
  })

  it('explains a 403 as a wrong key or a key of another site, without showing the key', async () => {
    const wrong = 'canary-datadog-wrong-key-7781'
    const result = await deliver({ site: 'datadoghq.eu' }, { env: { DD_API_KEY: wrong } })
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: false, status_code: 403, attempt_count: 1 })
    expect(delivery.error).toBe(
      "HTTP 403 from Datadog Logs after 1 attempt: Forbidden (the API key is wrong, or the key is not valid for site datadoghq.eu (a key works only on its organisation's site); check api_key and site)",
    )
    expect(JSON.stringify(result)).not.toContain(wrong)
  })

  it('gives up at once on 413 and on 400, with Datadog’s error text', async () => {
    intake.inject({ kind: 'status', status: 413, body: { errors: ['Request Entity Too Large'] } })
    const tooLarge = await deliver()
    expect(tooLarge.deliveries[0]).toMatchObject({ success: false, status_code: 413, attempt_count: 1 })
    expect(tooLarge.deliveries[0]!.error).toContain('Request Entity Too Large')
    intake.inject({ kind: 'status', status: 400, body: { errors: ['Invalid tag format'] } })
    const bad = await deliver()
    expect(bad.deliveries[0]!.error).toBe(
      'HTTP 400 from Datadog Logs after 1 attempt: Invalid tag format (Datadog refused the payload)',
    )
  })

  it('reports which batches were accepted when a later one fails', async () => {
    intake.inject(
      { kind: 'status', status: 400, body: { errors: ['Bad Request'] } },
      1,
      (r) => intake.requests.indexOf(r) === 1,
    )
    const result = await deliver({}, { event: syntheticEvent(1500) })
    expect(result.deliveries[0]).toMatchObject({ success: false, records_sent: 1000 })
    expect(result.deliveries[0]!.error).toMatch(/\(1 earlier batch\(es\), 1000 logs, were accepted\)$/)
  })

  it('delivers with the earlier tool’s config shape', async () => {
    const result = await deliverInProcess({
      connectors: {
        datadog: {
          url_env: 'DATADOG_LOG_INTAKE_URL',
          api_key_env: 'DATADOG_API_KEY',
          api_key_header: 'dd-api-key',
          service: 'cavra-runtime',
        },
      },
      env: { DATADOG_LOG_INTAKE_URL: intake.endpoint, DATADOG_API_KEY: KEY },
    })
    expect(result.deliveries[0]).toMatchObject({ success: true, records_sent: 8 })
    expect(intake.logs.every((log) => log.service === 'cavra-runtime')).toBe(true)
  })
})

describe('Datadog Logs: the emulator is as strict as the intake', () => {
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(intake.endpoint, {
      method: 'POST',
      headers: { 'dd-api-key': KEY, 'content-type': 'application/json', ...headers },
      body,
    })

  it('answers 401 without a key, 403 with another, and refuses other content types', async () => {
    const missing = await fetch(intake.endpoint, { method: 'POST', body: '[]' })
    expect(missing.status).toBe(401)
    const other = await post('[]', { 'dd-api-key': 'another-key' })
    expect([other.status, await other.json()]).toEqual([403, { errors: ['Forbidden'] }])
    expect((await post('[{"message":"x"}]', { 'content-type': 'text/plain' })).status).toBe(400)
  })

  it('refuses more than 1,000 logs and more than 5,000,000 bytes, with Datadog’s 413 body', async () => {
    expect((await post(JSON.stringify(Array(1001).fill({ message: 'x' })))).status).toBe(400)
    // 51 logs of 100,004 bytes: 5,100,256 bytes, under 5 MiB but over 5,000,000.
    const over = JSON.stringify(Array(51).fill({ message: 'x'.repeat(99_990) }))
    expect(Buffer.byteLength(over)).toBe(5_100_256)
    const response = await post(over)
    expect([response.status, await response.json()]).toEqual([413, PAYLOAD_TOO_LARGE])
    const within = JSON.stringify(Array(49).fill({ message: 'x'.repeat(99_990) }))
    expect((await post(within)).status).toBe(202)
    expect(intake.logs).toHaveLength(49)
  })

  it('stores a wrapped object as one log and truncates an oversized log with a 202', async () => {
    const wrapped = await post(JSON.stringify({ events: [{ message: 'a' }, { message: 'b' }] }))
    expect([wrapped.status, await wrapped.json()]).toEqual([202, {}])
    expect(intake.logs).toHaveLength(1)
    const oversized = await post(JSON.stringify([{ message: 'm'.repeat(1_100_000) }]))
    expect(oversized.status).toBe(202)
    expect(intake.truncated).toEqual([{ request: 1, index: 0, bytes: 1_100_014 }])
    expect(Buffer.byteLength(JSON.stringify(intake.logs[1]))).toBeLessThanOrEqual(1_000_000)
    const between = await post(JSON.stringify([{ message: 'm'.repeat(1_020_000) }]))
    expect(between.status).toBe(202)
    expect(intake.truncated).toHaveLength(2)
  })
})
