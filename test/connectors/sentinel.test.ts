import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  DATA_COLLECTOR_MAX_BYTES,
  dataCollectorRequest,
  dataCollectorUrl,
  INGESTION_MAX_BYTES,
  readDataCollectorResponse,
  readIngestionResponse,
  type SentinelConfig,
  selectMode,
  sentinel,
  sentinelRecord,
  sentinelRow,
  sentinelSeverity,
  sharedKeySignature,
} from '../../src/connectors/sentinel.js'
import { decisionRecord, siemRecords, summaryRecord } from '../../src/connectors/shared/siem-records.js'
import type { HttpResponse } from '../../src/delivery/http.js'
import { TokenCache } from '../../src/delivery/tokens.js'
import type { Decision, DeliveryEvent } from '../../src/events/event.js'
import { EntraEmulator } from '../emulators/entra.js'
import { CAVRA_STREAM_COLUMNS, MONITOR_SCOPE, SentinelEmulator } from '../emulators/sentinel.js'
import { CANARY } from '../support/canaries.js'
import { PROJECT_ROOT } from '../support/cli.js'
import {
  deliverInProcess,
  firstEvent,
  promotionFixtureEvent,
  rollbackFixtureEvent,
} from '../support/deliver.js'
import { deliveryTo, useEmulators } from '../support/harness.js'
import { cut, HUGE_COMMAND, hugeFieldsEvent, LONG_REASON, MARK } from '../support/huge-fields.js'

const TENANT = '4f1c7e2a-9d3b-4c5e-8a6f-0b1c2d3e4f50'
const CLIENT = '6e2a0b1c-2d3e-4f50-9a8b-7c6d5e4f3a21'
const DCR = 'dcr-7d1e0a9b8c7d4e5f9a0b1c2d3e4f5a6b'
const WORKSPACE = 'b83f10c6-d2a1-4c5e-9f0a-1b2c3d4e5f60'
const STREAM = 'Custom-CAVRAEvents'

const entra = new EntraEmulator([{ tenantId: TENANT, clientId: CLIENT, clientSecret: CANARY.sentinelSecret }])
const azure = new SentinelEmulator({
  entra,
  dcrImmutableId: DCR,
  streamName: STREAM,
  columns: CAVRA_STREAM_COLUMNS,
  workspaceId: WORKSPACE,
  sharedKey: CANARY.sentinelSharedKey,
  customApiKey: CANARY.sentinelSecret,
})

useEmulators(entra, azure)

/** Logs Ingestion with an Entra client secret. */
const deliver = deliveryTo('sentinel', () => ({
  settings: {
    url_env: 'SENTINEL_DCE_URL',
    dcr_immutable_id: DCR,
    tenant_id: TENANT,
    client_id: CLIENT,
    client_secret_env: 'AZURE_CLIENT_SECRET',
    authority_url_env: 'ENTRA_URL',
  },
  env: { SENTINEL_DCE_URL: azure.url, AZURE_CLIENT_SECRET: CANARY.sentinelSecret, ENTRA_URL: entra.url },
}))

/** The retired HTTP Data Collector API with the workspace key. */
const deliverToCollector = deliveryTo('sentinel', () => ({
  settings: { url_env: 'WORKSPACE_URL', workspace_id: WORKSPACE, shared_key_env: 'WORKSPACE_KEY' },
  env: { WORKSPACE_URL: azure.url, WORKSPACE_KEY: CANARY.sentinelSharedKey },
}))

function configure(settings: Record<string, unknown>) {
  const warnings: string[] = []
  const config = sentinel.configure(settings, { name: 'sentinel', warn: (m) => warnings.push(m) })
  return { config, warnings }
}

function reply(
  status: number,
  body: string | object = '',
  headers: Record<string, string> = {},
): HttpResponse {
  return { status, headers, body: typeof body === 'string' ? body : JSON.stringify(body), truncated: false }
}

async function monitorToken(): Promise<string> {
  const response = await fetch(`${entra.url}/${TENANT}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: CLIENT,
      client_secret: CANARY.sentinelSecret,
      scope: MONITOR_SCOPE,
    }),
  })
  return ((await response.json()) as { access_token: string }).access_token
}

/** An evidence bundle with `count` decisions whose text is multi-byte, so bytes ≠ characters. */
function largeEvent(count: number): DeliveryEvent {
  return {
    eventId: 'sess-large-3000',
    eventType: 'cavra.evidence_bundle',
    sessionId: 'sess-large-3000',
    severity: 'high',
    timestamp: '2026-11-28T14:03:11Z',
    product: 'CAVRA',
    fields: { session_id: 'sess-large-3000', environment: 'ci', decision_count: count },
    decisionCount: count,
    async *decisions(): AsyncIterable<Decision> {
      for (let i = 0; i < count; i++) {
        yield {
          decision_id: `dec-${i}`,
          timestamp: '2026-11-28T14:03:00Z',
          action_type: 'shell_command',
          command: `echo café → ${'ü'.repeat(40)} ${i}`,
          decision: i % 3 === 0 ? 'block' : 'allow',
          severity: i % 3 === 0 ? 'high' : 'low',
          reason: `naïve → égress ${'→'.repeat(60)}`,
          policy_id: 'egress.allowlist',
        }
      }
    },
    view: {
      title: 'AI agent evidence sess-large-3000',
      summary: '',
      facts: [],
      highlights: null,
      references: [],
    },
    source: null,
  }
}

/** 200 KB of two-byte text in a command, 50 KB of quotes and newlines in two reasons. */

/** Every string value of every row is within `limit` UTF-8 bytes and RawEvent is JSON. */
function expectWithinLimits(rows: Record<string, unknown>[], limit: number): void {
  for (const row of rows) {
    for (const [column, value] of Object.entries(row)) {
      if (typeof value === 'string') expect(Buffer.byteLength(value), column).toBeLessThanOrEqual(limit)
    }
    expect(() => JSON.parse(row.RawEvent as string)).not.toThrow()
  }
}

function pretty(text: string): string {
  return `${JSON.stringify(JSON.parse(text), null, 2)}\n`
}

describe('Sentinel: configuration (pure)', () => {
  it('picks the mode from explicit mode, then from the keys present', () => {
    expect(selectMode({ mode: 'custom', dcr_immutable_id: DCR })).toBe('custom')
    expect(selectMode({ dcr_immutable_id: DCR, api_key: 'k', url: 'https://x' })).toBe('logs-ingestion')
    expect(selectMode({ workspace_id: WORKSPACE, shared_key: 'a2V5' })).toBe('data-collector')
    expect(selectMode({ url: 'https://x', api_key: 'k', api_key_header: 'x-api-key' })).toBe('custom')
    expect(selectMode({ url: 'https://x', authorization: 'Bearer t' })).toBe('custom')
    expect(selectMode({ url: 'https://x', tenant_id: TENANT })).toBe('logs-ingestion')
    expect(selectMode({})).toBe('logs-ingestion')
  })

  it('builds the ingestion URL and an Entra client-credentials token source with the defaults', () => {
    const { config, warnings } = configure({
      url: 'https://my-dce-5kyl.eastus-1.ingest.monitor.azure.com/',
      dcr_immutable_id: DCR,
      tenant_id: TENANT,
      client_id: CLIENT,
      client_secret: CANARY.sentinelSecret,
    })
    expect(warnings).toEqual([])
    expect(config.mode).toBe('logs-ingestion')
    expect(config.url).toBe(
      `https://my-dce-5kyl.eastus-1.ingest.monitor.azure.com/dataCollectionRules/${DCR}/streams/Custom-CAVRAEvents?api-version=2023-01-01`,
    )
    const auth = (config as Extract<SentinelConfig, { mode: 'logs-ingestion' }>).auth
    expect(typeof auth === 'string' ? auth : auth.key).toBe(
      `oauth:https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token:${CLIENT}:https://monitor.azure.com//.default`,
    )
  })

  it('takes a bearer token obtained elsewhere instead of client credentials', () => {
    const { config } = configure({ url: 'https://dce.example', dcr_immutable_id: DCR, token: 'eyJ.t.s' })
    expect(config).toMatchObject({ mode: 'logs-ingestion', auth: 'Bearer eyJ.t.s' })
  })

  it('refuses missing or malformed settings, naming the key', () => {
    const base = { url: 'https://dce.example', dcr_immutable_id: DCR, tenant_id: TENANT, client_id: CLIENT }
    expect(() => configure({ dcr_immutable_id: DCR })).toThrow(/url is required/)
    expect(() => configure(base)).toThrow(
      /a credential is required: set one of client_secret_env, .* or token/,
    )
    expect(() => configure({ ...base, client_secret: 's', dcr_immutable_id: 'cavra-dcr' })).toThrow(
      /dcr_immutable_id "cavra-dcr" is not an immutable id/,
    )
    expect(() => configure({ ...base, client_secret: 's', stream_name: 'CAVRA_CL' })).toThrow(/stream_name/)
    expect(() => configure({ ...base, client_secret: 's', scope: 'https://monitor.azure.com' })).toThrow(
      /must end in \/\.default/,
    )
    expect(() => configure({ ...base, client_secret: 's', token: 't' })).toThrow(
      /client_secret and token are each a credential and an entry takes exactly one/,
    )
    expect(() => configure({ ...base, token: 't' })).toThrow(
      /either token .* or tenant_id, client_id, not both/,
    )
    expect(() =>
      configure({ url: 'https://d', dcr_immutable_id: DCR, token: 't', authorization_scheme: 'Splunk' }),
    ).toThrow(/authorization_scheme/)
    expect(() =>
      configure({ ...base, client_secret: 's', url: `https://d/dataCollectionRules/${DCR}/streams/x` }),
    ).toThrow(/ingestion endpoint only/)
    const collector = { workspace_id: WORKSPACE, shared_key: CANARY.sentinelSharedKey }
    expect(() => configure({ ...collector, workspace_id: 'acme-workspace' })).toThrow(
      /workspace_id is required/,
    )
    expect(() => configure({ ...collector, shared_key: 'not base64!' })).toThrow(/shared_key is not base64/)
    expect(() => configure({ ...collector, log_type: 'cavra-events' })).toThrow(/log_type "cavra-events"/)
    expect(() => configure({ ...collector, log_type: 'x'.repeat(101) })).toThrow(/at most 100/)
  })

  it('warns about the legacy APIs, clear-text URLs and keys the mode does not use', () => {
    const legacy = configure({ url: 'https://sentinel-proxy.example/ingest', api_key: 'k' })
    expect(legacy.config.mode).toBe('custom')
    expect(legacy.warnings.join('\n')).toMatch(/Logs Ingestion API: set dcr_immutable_id/)
    const collector = configure({
      workspace_id: WORKSPACE,
      shared_key: CANARY.sentinelSharedKey,
      client_id: CLIENT,
    })
    expect(collector.warnings.join('\n')).toMatch(/retired it in September 2026; move to mode logs-ingestion/)
    expect(collector.warnings.join('\n')).toMatch(/client_id: not used in data-collector mode/)
    const plain = configure({ url: 'http://dce.example', dcr_immutable_id: DCR, token: 't' })
    expect(plain.warnings.join('\n')).toMatch(/url uses http:\/\//)
    const local = configure({ url: 'http://127.0.0.1:9', dcr_immutable_id: DCR, token: 't' })
    expect(local.warnings).toEqual([])
  })

  it('builds the Data Collector URL from the workspace id, or from a configured url', () => {
    expect(dataCollectorUrl(WORKSPACE)).toBe(
      `https://${WORKSPACE}.ods.opinsights.azure.com/api/logs?api-version=2016-04-01`,
    )
    expect(dataCollectorUrl(WORKSPACE, 'https://proxy.example/la/')).toBe(
      'https://proxy.example/la/api/logs?api-version=2016-04-01',
    )
    expect(dataCollectorUrl(WORKSPACE, `https://${WORKSPACE}.ods.opinsights.azure.cn/api/logs`)).toBe(
      `https://${WORKSPACE}.ods.opinsights.azure.cn/api/logs?api-version=2016-04-01`,
    )
  })
})

describe('Sentinel: records and signatures (pure)', () => {
  it('says the severity in Sentinel terms, critical as High', () => {
    expect(sentinelSeverity('critical')).toBe('High')
    expect(sentinelSeverity('high')).toBe('High')
    expect(sentinelSeverity('medium')).toBe('Medium')
    expect(sentinelSeverity('low')).toBe('Low')
    expect(sentinelSeverity('info')).toBe('Informational')
  })

  it('turns the sample bundle into a summary row and seven flat decision rows', async () => {
    const event = await firstEvent()
    const rows = []
    for await (const record of siemRecords(event)) rows.push(sentinelRecord(record, event, 'TimeGenerated'))
    expect(rows).toHaveLength(8)
    expect(rows[0]).toMatchObject({
      TimeGenerated: '2026-11-28T14:03:11.000Z',
      EventId: 'sess-2026-11-28-ci-4812',
      RecordType: 'summary',
      Severity: 'High',
      CavraSeverity: 'high',
      DecisionCount: 7,
      BlockedCount: 4,
      Environment: 'ci',
      Repository: 'acme/payments-api',
    })
    expect(rows[7]).toMatchObject({
      RecordType: 'decision',
      Severity: 'High',
      CavraSeverity: 'critical',
      DecisionId: 'dec-07',
      DecisionIndex: 6,
      Decision: 'block',
      Command: 'rm -rf /',
      Title: 'BLOCK [critical] rm -rf / (destructive.rm_root): destructive filesystem command',
    })
    expect(JSON.parse(rows[7]!.RawEvent as string)).toMatchObject({
      decision_id: 'dec-07',
      severity: 'critical',
    })
    for (const row of rows) for (const value of Object.values(row)) expect(typeof value).not.toBe('object')
  })

  it('keeps the reserved Data Collector names out and puts the time in EventTime', async () => {
    const event = await rollbackFixtureEvent()
    for await (const record of siemRecords(event)) {
      const row = sentinelRecord(record, event, 'EventTime')
      expect(row).toMatchObject({ EventTime: '2026-11-28T18:42:00.000Z', Severity: 'High' })
      for (const reserved of ['TimeGenerated', 'RawData', 'tenant']) expect(row).not.toHaveProperty(reserved)
    }
  })

  it('signs the UTF-8 byte length, as the documented SharedKey formula requires', () => {
    const key = Buffer.from('cavra-test-workspace-key-0123456789abcdef')
    const date = 'Sat, 28 Nov 2026 14:03:11 GMT'
    const body = '[{"Reason":"café → blocked"}]'
    const bytes = Buffer.byteLength(body, 'utf8')
    expect([bytes, body.length]).toEqual([32, 29])
    const sign = (length: number) =>
      createHmac('sha256', key)
        .update(`POST\n${length}\napplication/json\nx-ms-date:${date}\n/api/logs`, 'utf8')
        .digest('base64')
    expect(sign(bytes)).toBe('PY1NiWlc6aDhvPs802Gq3zOHMwy4STKSKKm/Qrc+mQE=')
    expect(sharedKeySignature(key, date, bytes)).toBe(sign(bytes))
    // A JS string length gives another signature, which the service refuses with 403.
    expect(sign(body.length)).not.toBe(sign(bytes))
    const config = {
      mode: 'data-collector',
      url: dataCollectorUrl(WORKSPACE),
      workspaceId: WORKSPACE,
      key,
      logType: 'CAVRA',
      headers: { 'content-type': 'text/plain' },
    } as const
    const { request, signature } = dataCollectorRequest(config, Buffer.from(body, 'utf8'), new Date(date))
    expect(signature).toBe(sign(bytes))
    expect(request.headers).toEqual({
      'content-type': 'application/json',
      'log-type': 'CAVRA',
      'x-ms-date': date,
      'time-generated-field': 'EventTime',
      authorization: `SharedKey ${WORKSPACE}:${sign(bytes)}`,
    })
  })

  it('reads every documented Logs Ingestion answer', () => {
    const error = (status: number, code: string, message: string) =>
      readIngestionResponse(reply(status, { error: { code, message } }, { 'x-ms-error-code': code }))
    expect(readIngestionResponse(reply(204))).toEqual({ kind: 'ok', value: null })
    expect(error(400, 'InvalidPayload', 'bad column')).toEqual({
      kind: 'failed',
      reason:
        'InvalidPayload: bad column (the records do not match the stream declaration of the DCR, or the body is not a JSON array)',
    })
    expect(readIngestionResponse(reply(400, '', { 'x-ms-error-code': 'InvalidJson' }))).toMatchObject({
      kind: 'failed',
      reason: expect.stringMatching(/^InvalidJson \(/),
    })
    expect(error(401, 'InvalidAudience', 'wrong audience')).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('must be a live token for https://monitor.azure.com'),
    })
    const role = error(
      403,
      'OperationFailed',
      'The authentication token provided does not have access to ingest data',
    )
    expect(role.kind).toBe('failed')
    expect(role.kind === 'failed' && role.reason).toMatch(
      /Monitoring Metrics Publisher role .* up to 30 minutes/,
    )
    expect(error(403, 'Forbidden', 'denied')).toEqual({ kind: 'failed', reason: 'Forbidden: denied' })
    expect(error(404, 'NotFound', 'no such DCR')).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('check url (the logs ingestion endpoint of the DCR or its DCE)'),
    })
    expect(error(413, 'ContentLengthLimitExceeded', 'too big')).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('1,000,000-byte limit'),
    })
    for (const status of [408, 429, 500, 502, 503, 504]) {
      expect(error(status, 'ServiceUnavailable', 'later').kind, String(status)).toBe('retryable')
    }
    expect(readIngestionResponse(reply(502, '<html>bad gateway</html>'))).toEqual({
      kind: 'retryable',
      reason: '<html>bad gateway</html>',
    })
  })

  it('reads every documented Data Collector answer', () => {
    const error = (status: number, code: string) =>
      readDataCollectorResponse(reply(status, { Error: code, Message: `${code} text` }))
    expect(readDataCollectorResponse(reply(200))).toEqual({ kind: 'ok', value: null })
    for (const code of [
      'InactiveCustomer',
      'InvalidApiVersion',
      'InvalidCustomerId',
      'InvalidDataFormat',
      'InvalidLogType',
      'MissingApiVersion',
      'MissingContentType',
      'MissingLogType',
      'UnsupportedContentType',
    ]) {
      const verdict = error(400, code)
      expect(verdict.kind, code).toBe('failed')
      expect(verdict.kind === 'failed' && verdict.reason, code).toMatch(
        new RegExp(`^${code}: ${code} text \\(.+\\)$`),
      )
    }
    expect(error(403, 'InvalidAuthorization')).toMatchObject({
      kind: 'failed',
      reason: expect.stringMatching(/InvalidAuthorization: .*check workspace_id, shared_key .* clock/),
    })
    expect(readDataCollectorResponse(reply(404))).toEqual({
      kind: 'failed',
      reason: 'Not Found (the URL is wrong or the request is too large)',
    })
    expect(readDataCollectorResponse(reply(429)).kind).toBe('retryable')
    expect(error(500, 'UnspecifiedError').kind).toBe('retryable')
    expect(error(503, 'ServiceUnavailable').kind).toBe('retryable')
    expect(DATA_COLLECTOR_MAX_BYTES).toBe(30_000_000)
  })
})

describe('Sentinel: values within the column limits (pure)', () => {
  it('shortens long columns with a marker and keeps RawEvent JSON, shortening inside it', async () => {
    const event = hugeFieldsEvent()
    const rows = []
    for await (const record of siemRecords(event))
      rows.push(sentinelRow(record, event, 'TimeGenerated', { valueBytes: 64_000 }))
    expect(rows.map((row) => row.shortened)).toEqual([false, false, true, false, false])
    expectWithinLimits(
      rows.map((row) => row.value),
      64_000,
    )
    const huge = rows[2]!.value
    const command = cut(huge.Command)
    expect(command.kept.startsWith('printf "éé')).toBe(true)
    expect(Buffer.byteLength(command.kept) + command.removed).toBe(Buffer.byteLength(HUGE_COMMAND))
    expect(cut(huge.Title).kept.startsWith('BLOCK [critical] printf "é')).toBe(true)
    // A 50 KB reason fits a 64 KB column whole.
    expect(huge.Reason).toBe(LONG_REASON)
    const raw = JSON.parse(huge.RawEvent as string)
    expect(raw).toMatchObject({
      decision_id: 'dec-huge',
      decision_index: 1,
      policy_id: 'exfiltration.encoded_payload',
    })
    expect(cut(raw.command).kept.startsWith('printf "é')).toBe(true)
    expect(rows[3]!.value.Reason).toBe(LONG_REASON)
    expect(JSON.parse(rows[3]!.value.RawEvent as string).reason).toBe(LONG_REASON)
    // The Data Collector's 32 KB limit shortens the 50 KB reasons too.
    const collector = []
    for await (const record of siemRecords(event))
      collector.push(sentinelRow(record, event, 'EventTime', { valueBytes: 32_000 }))
    expect(collector.map((row) => row.shortened)).toEqual([false, false, true, true, false])
    expectWithinLimits(
      collector.map((row) => row.value),
      32_000,
    )
    expect(cut(collector[3]!.value.Reason).kept.startsWith('line "quoted"\n')).toBe(true)
  })

  it('replaces a RawEvent that no shortening can fit with a JSON object saying so', async () => {
    const event = hugeFieldsEvent()
    const wide: Decision = { decision_id: 'dec-wide', decision: 'allow' }
    for (let i = 0; i < 6_000; i++) wide[`arg_${i}`] = i % 2 === 0 ? 'x' : i
    const record = decisionRecord(event, wide, 9)
    const { value, shortened } = sentinelRow(record, event, 'TimeGenerated', { valueBytes: 64_000 })
    expect(shortened).toBe(true)
    const raw = JSON.parse(value.RawEvent as string)
    expect(raw).toEqual({
      shortened: expect.stringMatching(MARK),
      original_bytes: Buffer.byteLength(JSON.stringify(record.fields)),
      limit_bytes: 64_000,
      note: 'too large for the destination; the full record is in the source artifact',
      record_type: 'decision',
      event_id: 'sess-huge-fields',
      event_type: 'cavra.evidence_bundle',
      decision_index: 9,
      decision_id: 'dec-wide',
    })
    expect(raw.original_bytes).toBeGreaterThan(64_000)
  })

  it('shortens the widest columns further when a row would not fit one 1,000,000-byte call', async () => {
    const event = hugeFieldsEvent()
    event.fields = { ...event.fields, environment: 'e'.repeat(300_000), repository: 'r'.repeat(300_000) }
    const summary = summaryRecord(event)
    const row = sentinelRow(summary, event, 'TimeGenerated', { valueBytes: 64_000, rowBytes: 100_000 })
    expect(row.shortened).toBe(true)
    expect(Buffer.byteLength(JSON.stringify(row.value))).toBeLessThanOrEqual(100_000)
    expect(cut(row.value.Environment).kept.startsWith('eee')).toBe(true)
    expect(row.value.EventId).toBe('sess-huge-fields')
    expect(() => JSON.parse(row.value.RawEvent as string)).not.toThrow()
  })
})

describe('Sentinel: golden request bodies', () => {
  it('sends the sample bundle as one array of 8 records', async () => {
    const result = await deliver()
    expect(result.deliveries[0]).toMatchObject({ success: true, records_sent: 8 })
    const [request] = azure.ingestionRequests
    await expect(pretty(request!.text)).toMatchFileSnapshot('./__golden__/sentinel/sample-bundle.json')
  })

  it('sends the promotion with Severity High', async () => {
    const result = await deliver({}, { event: await promotionFixtureEvent() })
    expect(result.deliveries[0]).toMatchObject({ success: true, records_sent: 1 })
    expect(azure.rows).toEqual([expect.objectContaining({ Severity: 'High', CavraSeverity: 'high' })])
    await expect(pretty(azure.ingestionRequests[0]!.text)).toMatchFileSnapshot(
      './__golden__/sentinel/promotion.json',
    )
  })

  it('sends the critical rollback as High, never Low', async () => {
    const result = await deliver({}, { event: await rollbackFixtureEvent() })
    expect(result.deliveries[0]).toMatchObject({ success: true, records_sent: 1 })
    expect(azure.rows).toEqual([
      expect.objectContaining({ Severity: 'High', CavraSeverity: 'critical', TargetRing: 'canary' }),
    ])
    await expect(pretty(azure.ingestionRequests[0]!.text)).toMatchFileSnapshot(
      './__golden__/sentinel/rollback.json',
    )
  })

  it('sends the rollback to the Data Collector API with EventTime', async () => {
    const result = await deliverToCollector({}, { event: await rollbackFixtureEvent() })
    expect(result.deliveries[0]).toMatchObject({ success: true, status_code: 200 })
    await expect(pretty(azure.requestsTo('/api/logs')[0]!.text)).toMatchFileSnapshot(
      './__golden__/sentinel/rollback-data-collector.json',
    )
  })
})

describe('Sentinel: Logs Ingestion delivery against the emulators', () => {
  it('fetches an Entra token and delivers 8 rows the DCR keeps whole', async () => {
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({
      success: true,
      status_code: 204,
      records_sent: 8,
      remote_reference: null,
    })
    expect(delivery.attempts.map((a) => [a.step, a.status_code, a.outcome])).toEqual([
      ['token', 200, 'success'],
      ['send batch 1', 204, 'success'],
    ])
    const form = new URLSearchParams(entra.tokenRequests()[0]!.text)
    expect(form.get('scope')).toBe('https://monitor.azure.com//.default')
    expect(azure.rows).toHaveLength(8)
    expect(azure.dropped).toEqual(new Set())
    expect(azure.rows.map((row) => row.RecordType)).toEqual(['summary', ...Array(7).fill('decision')])
    const [request] = azure.ingestionRequests
    expect(request!.path).toBe(`/dataCollectionRules/${DCR}/streams/${STREAM}`)
    expect(request!.headers['content-type']).toBe('application/json')
    expect(delivery.request).toMatchObject({
      method: 'POST',
      url: `${azure.url}/dataCollectionRules/${DCR}/streams/${STREAM}?api-version=REDACTED`,
      headers: { authorization: 'REDACTED', 'content-type': 'application/json' },
      body_bytes: request!.body.length,
    })
    expect(delivery.warnings).toBeUndefined()
  })

  it('splits a 3,000-decision event into calls of at most 1,000,000 bytes', async () => {
    const result = await deliver({}, { event: largeEvent(3000) })
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: true, records_sent: 3001 })
    const calls = azure.ingestionRequests
    expect(calls.length).toBeGreaterThan(2)
    expect(delivery.request?.batches).toBe(calls.length)
    for (const call of calls) expect(call.body.length).toBeLessThanOrEqual(INGESTION_MAX_BYTES)
    // Full batches are filled by bytes: their character count is well below their byte count.
    expect(calls[0]!.body.length).toBeGreaterThan(INGESTION_MAX_BYTES - 2000)
    expect(calls[0]!.text.length).toBeLessThan(calls[0]!.body.length * 0.9)
    expect(azure.rows).toHaveLength(3001)
    expect(new Set(azure.rows.map((row) => row.DecisionId)).size).toBe(3001)
    expect(entra.tokenRequests()).toHaveLength(1)
  })

  it('reuses the cached token for a second delivery in the same run', async () => {
    const tokens = new TokenCache()
    await deliver({}, { tokens })
    const second = await deliver({}, { tokens })
    expect(second.deliveries[0]!.success).toBe(true)
    expect(second.deliveries[0]!.attempts.map((a) => a.step)).toEqual(['send batch 1'])
    expect(entra.tokenRequests()).toHaveLength(1)
    expect(azure.rows).toHaveLength(16)
  })

  it('refreshes a revoked token exactly once and then delivers', async () => {
    const tokens = new TokenCache()
    await deliver({}, { tokens })
    entra.revokeAll()
    const result = await deliver({}, { tokens })
    const delivery = result.deliveries[0]!
    expect(delivery.success).toBe(true)
    expect(delivery.attempts.map((a) => [a.step, a.status_code, a.outcome])).toEqual([
      ['send batch 1', 401, 'retryable'],
      ['token', 200, 'success'],
      ['send batch 1', 204, 'success'],
    ])
    expect(entra.tokenRequests()).toHaveLength(2)
  })

  it('fails after one refresh when the fresh token is refused too', async () => {
    const refused = { error: { code: 'InvalidAudience', message: 'wrong audience' } }
    azure.inject(
      { kind: 'status', status: 401, body: refused, headers: { 'x-ms-error-code': 'InvalidAudience' } },
      2,
    )
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: false, status_code: 401 })
    expect(delivery.error).toMatch(
      /HTTP 401 from Microsoft Sentinel after 2 attempts: InvalidAudience: wrong audience/,
    )
    expect(entra.tokenRequests()).toHaveLength(2)
  })

  it('ends as a failed delivery naming AADSTS7000215 when the client secret is wrong', async () => {
    const wrong = 'wrong-entra-secret-value-5c1d'
    const result = await deliver({}, { env: { AZURE_CLIENT_SECRET: wrong } })
    const delivery = result.deliveries[0]!
    expect(delivery.success).toBe(false)
    expect(delivery.error).toMatch(
      /^could not obtain an Entra access token: HTTP 401 .*AADSTS7000215: Invalid client secret/,
    )
    expect(delivery.error).toContain('(check the client id and secret)')
    expect(JSON.stringify(result)).not.toContain(wrong)
    expect(azure.ingestionRequests).toHaveLength(0)
  })

  it('explains a missing Monitoring Metrics Publisher role', async () => {
    azure.roleAssigned = false
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: false, status_code: 403 })
    expect(delivery.error).toContain(
      'OperationFailed: The authentication token provided does not have access to ingest data',
    )
    expect(delivery.error).toContain(
      "the app's service principal needs the Monitoring Metrics Publisher role",
    )
    expect(delivery.error).toContain('up to 30 minutes to propagate')
    expect(azure.ingestionRequests).toHaveLength(1)
  })

  it('fails at once with a hint on an unknown DCR or stream', async () => {
    const wrongDcr = await deliver({ dcr_immutable_id: 'dcr-00000000000000000000000000000000' })
    expect(wrongDcr.deliveries[0]).toMatchObject({ success: false, status_code: 404 })
    expect(wrongDcr.deliveries[0]!.error).toMatch(
      /NotFound: Data collection rule .* \(check url .*dcr_immutable_id and stream_name/,
    )
    const wrongStream = await deliver({ stream_name: 'Custom-Other' })
    expect(wrongStream.deliveries[0]!.error).toContain("InvalidStream: Stream 'Custom-Other' is not declared")
    expect(azure.ingestionRequests).toHaveLength(2)
  })

  it('delivers huge decision fields without Azure cutting any value, and counts them', async () => {
    const result = await deliver({}, { event: hugeFieldsEvent() })
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: true, records_sent: 5, records_shortened: 1 })
    expect(azure.truncations).toEqual([])
    expect(azure.dropped).toEqual(new Set())
    expect(azure.rows).toHaveLength(5)
    expectWithinLimits(azure.rows, 64_000)
    const huge = azure.rows[2]!
    expect(huge).toMatchObject({ DecisionId: 'dec-huge', Decision: 'block', Reason: LONG_REASON })
    expect(cut(huge.Command).kept.startsWith('printf "é')).toBe(true)
    expect(cut(JSON.parse(huge.RawEvent as string).command).removed).toBeGreaterThan(100_000)
    expect(azure.rows[3]).toMatchObject({ DecisionId: 'dec-reason', Reason: LONG_REASON })
  })

  it('uses a bearer token obtained elsewhere without asking Entra, and cannot refresh it', async () => {
    const token = await monitorToken()
    const settings = { url_env: 'SENTINEL_DCE_URL', dcr_immutable_id: DCR, token_env: 'MONITOR_TOKEN' }
    const env = { SENTINEL_DCE_URL: azure.url, MONITOR_TOKEN: token }
    const result = await deliverInProcess({ connectors: { sentinel: settings }, env })
    expect(result.deliveries[0]).toMatchObject({ success: true, records_sent: 8 })
    expect(entra.tokenRequests()).toHaveLength(1)
    entra.revokeAll()
    const expired = await deliverInProcess({ connectors: { sentinel: settings }, env })
    expect(expired.deliveries[0]).toMatchObject({ success: false, status_code: 401, attempt_count: 1 })
    expect(expired.deliveries[0]!.error).toContain('the bearer token was refused')
    expect(JSON.stringify(expired)).not.toContain(token)
  })
})

describe('Sentinel: Data Collector and custom delivery', () => {
  it('signs each post so the workspace accepts it, and warns that the API is retired', async () => {
    const result = await deliverToCollector()
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: true, status_code: 200, records_sent: 8 })
    expect(delivery.warnings?.join('\n')).toMatch(/retired it in September 2026/)
    expect(azure.collected).toHaveLength(8)
    expect(azure.collected[0]).toMatchObject({
      logType: 'CAVRA',
      record: { RecordType: 'summary', Severity: 'High' },
    })
    const [request] = azure.requestsTo('/api/logs')
    expect(request!.headers).toMatchObject({
      'content-type': 'application/json',
      'log-type': 'CAVRA',
      'time-generated-field': 'EventTime',
      'x-ms-date': expect.stringMatching(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/),
    })
    const signature = /^SharedKey [^:]+:(.+)$/.exec(request!.headers.authorization!)![1]!
    expect(result.redactor.scrub(signature)).toBe('REDACTED')
    expect(delivery.request?.headers.authorization).toBe('REDACTED')
    expect(delivery.request?.url).toBe(`${azure.url}/api/logs?api-version=REDACTED`)
  })

  it('fails at once on a wrong shared key, pointing at the key and the clock', async () => {
    const other = Buffer.from('another-workspace-key-material-000').toString('base64')
    const result = await deliverToCollector({}, { env: { WORKSPACE_KEY: other } })
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: false, status_code: 403, attempt_count: 1 })
    expect(delivery.error).toMatch(
      /InvalidAuthorization: An invalid signature was specified in the Authorization header \(check workspace_id, shared_key .* clock/,
    )
    expect(JSON.stringify(result)).not.toContain(other)
  })

  it('keeps every value within the Data Collector’s 32 KB, so the workspace cuts nothing', async () => {
    const result = await deliverToCollector({}, { event: hugeFieldsEvent() })
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: true, records_sent: 5, records_shortened: 2 })
    expect(azure.truncations).toEqual([])
    const rows = azure.collected.map((entry) => entry.record)
    expect(rows).toHaveLength(5)
    expectWithinLimits(rows, 32_000)
    expect(cut(rows[3]!.Reason).kept.startsWith('line "quoted"\n')).toBe(true)
    expect(cut(JSON.parse(rows[3]!.RawEvent as string).reason).removed).toBeGreaterThan(18_000)
  })

  it('re-signs after a 503 and succeeds', async () => {
    azure.inject({ kind: 'status', status: 503, body: { Error: 'ServiceUnavailable', Message: 'try later' } })
    const result = await deliverToCollector()
    expect(result.deliveries[0]!.success).toBe(true)
    expect(result.deliveries[0]!.attempts[0]!.error).toBe('ServiceUnavailable: try later')
    expect(azure.collected).toHaveLength(8)
  })

  it('delivers the earlier tool’s sentinel entry (url + x-api-key) in custom mode', async () => {
    const legacy = JSON.parse(
      readFileSync(`${PROJECT_ROOT}/test/fixtures/legacy-cavra-connectors.example.json`, 'utf8'),
    )
    const result = await deliverInProcess({
      connectors: { sentinel: legacy.connectors.sentinel },
      env: { SENTINEL_LOG_INGEST_URL: `${azure.url}/custom/cavra`, SENTINEL_API_KEY: CANARY.sentinelSecret },
    })
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: true, status_code: 200, records_sent: 8 })
    expect(delivery.warnings?.join('\n')).toMatch(/custom mode.*Logs Ingestion API/)
    expect(azure.custom).toHaveLength(8)
    expect(azure.custom[0]).toMatchObject({
      TimeGenerated: '2026-11-28T14:03:11.000Z',
      RecordType: 'summary',
    })
    expect(azure.requestsTo('/custom/cavra')[0]!.headers['x-api-key']).toBe(CANARY.sentinelSecret)
    expect(delivery.request?.headers['x-api-key']).toBe('REDACTED')
  })
})

describe('Sentinel emulator strictness', () => {
  async function ingest(
    body: string,
    headers: Record<string, string> = {},
    query = 'api-version=2023-01-01',
  ) {
    const response = await fetch(`${azure.url}/dataCollectionRules/${DCR}/streams/${STREAM}?${query}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await monitorToken()}`,
        'content-type': 'application/json',
        ...headers,
      },
      body,
    })
    return {
      status: response.status,
      code: response.headers.get('x-ms-error-code'),
      text: await response.text(),
    }
  }

  it('refuses what the Logs Ingestion API refuses', async () => {
    expect(await ingest('[{"TimeGenerated":"2026-11-28T14:03:11Z"}]')).toMatchObject({ status: 204 })
    expect(await ingest('[{"EventId":"x"}]')).toMatchObject({ status: 400, code: 'InvalidPayload' })
    expect(await ingest('{"TimeGenerated":"2026-11-28T14:03:11Z"}')).toMatchObject({ status: 400 })
    expect(await ingest('[]', {}, 'api-version=2021-01-01')).toMatchObject({
      status: 400,
      code: 'InvalidApiVersion',
    })
    expect(await ingest('[]', { authorization: 'Bearer forged' })).toMatchObject({ status: 401 })
    const big = JSON.stringify([{ TimeGenerated: '2026-11-28T14:03:11Z', RawEvent: 'x'.repeat(1_000_000) }])
    expect(await ingest(big)).toMatchObject({ status: 413 })
  })

  it('answers 204, then stores a value over 64 KB cut short and records the loss', async () => {
    const rawEvent = JSON.stringify({ command: 'x'.repeat(70_000) })
    const body = JSON.stringify([
      { TimeGenerated: '2026-11-28T14:03:11Z', EventId: 'e-1', RawEvent: rawEvent },
    ])
    expect(await ingest(body)).toMatchObject({ status: 204 })
    expect(azure.truncations).toEqual([
      { api: 'logs-ingestion', request: 0, index: 0, column: 'RawEvent', bytes: 70_014, kept: 64_000 },
    ])
    expect(azure.rows[0]!.EventId).toBe('e-1')
    expect(Buffer.byteLength(azure.rows[0]!.RawEvent as string)).toBe(64_000)
    expect(() => JSON.parse(azure.rows[0]!.RawEvent as string)).toThrow()
  })

  it('recomputes the SharedKey signature and refuses a JS-length one, reserved names and bad Log-Types', async () => {
    const post = async (body: string, length: number, headers: Record<string, string> = {}) => {
      const date = new Date().toUTCString()
      const signature = createHmac('sha256', Buffer.from(CANARY.sentinelSharedKey, 'base64'))
        .update(`POST\n${length}\napplication/json\nx-ms-date:${date}\n/api/logs`)
        .digest('base64')
      const response = await fetch(`${azure.url}/api/logs?api-version=2016-04-01`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'log-type': 'CAVRA',
          'x-ms-date': date,
          authorization: `SharedKey ${WORKSPACE}:${signature}`,
          ...headers,
        },
        body,
      })
      return { status: response.status, body: await response.text() }
    }
    const body = '[{"Reason":"café → blocked"}]'
    expect(await post(body, Buffer.byteLength(body))).toMatchObject({ status: 200 })
    expect(await post(body, body.length)).toEqual({
      status: 403,
      body: '{"Error":"InvalidAuthorization","Message":"An invalid signature was specified in the Authorization header"}',
    })
    expect(
      await post(body, Buffer.byteLength(body), { 'content-type': 'application/json; charset=utf-8' }),
    ).toMatchObject({
      status: 403,
    })
    const reserved = '[{"TimeGenerated":"2026-11-28T14:03:11Z"}]'
    expect((await post(reserved, reserved.length)).body).toContain('"Error":"InvalidDataFormat"')
    expect((await post(body, Buffer.byteLength(body), { 'log-type': 'cavra-events' })).body).toContain(
      '"Error":"InvalidLogType"',
    )
    const missing = await fetch(`${azure.url}/api/logs?api-version=2016-04-01`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    expect(await missing.json()).toEqual({
      Error: 'MissingLogType',
      Message: 'The Log-Type header was not specified.',
    })
  })
})
