import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { siemRecords } from '../../src/connectors/shared/siem-records.js'
import { hecEvent, hecUrls, readHecResponse, splunk } from '../../src/connectors/splunk.js'
import { SplunkHecEmulator } from '../emulators/splunk-hec.js'
import { CANARY } from '../support/canaries.js'
import {
  deliverInProcess,
  firstEvent,
  promotionFixtureEvent,
  rollbackFixtureEvent,
} from '../support/deliver.js'

const TOKEN = CANARY.splunkToken
const hec = new SplunkHecEmulator({ token: TOKEN, allowedIndexes: ['cavra', 'main'], defaultIndex: 'main' })

beforeAll(async () => {
  await hec.start()
})
afterAll(async () => {
  await hec.stop()
})
afterEach(async () => {
  await hec.idle()
  hec.clearFaults()
  hec.events.length = 0
  hec.requests.length = 0
})

function deliver(
  settings: Record<string, unknown> = {},
  extra: Partial<Parameters<typeof deliverInProcess>[0]> = {},
) {
  return deliverInProcess({
    connectors: { splunk: { url_env: 'SPLUNK_URL', token_env: 'SPLUNK_TOKEN', index: 'cavra', ...settings } },
    env: { SPLUNK_URL: hec.url, SPLUNK_TOKEN: TOKEN },
    ...extra,
  })
}

describe('Splunk HEC: request building (pure)', () => {
  it('accepts a base URL or a full collector URL', () => {
    expect(hecUrls('https://splunk.example.com:8088')).toEqual({
      eventUrl: 'https://splunk.example.com:8088/services/collector/event',
      ackUrl: 'https://splunk.example.com:8088/services/collector/ack',
    })
    expect(hecUrls('https://http-inputs-acme.splunkcloud.com/services/collector/event').eventUrl).toBe(
      'https://http-inputs-acme.splunkcloud.com/services/collector/event',
    )
    expect(hecUrls('https://proxy.example/splunk/services/collector').eventUrl).toBe(
      'https://proxy.example/splunk/services/collector',
    )
    expect(hecUrls('https://proxy.example/splunk/').ackUrl).toBe(
      'https://proxy.example/splunk/services/collector/ack',
    )
  })

  it('builds a summary record and one record per decision, with flat indexed fields', async () => {
    const event = await firstEvent()
    const config = splunk.configure(
      { url: 'https://s:8088', token: TOKEN, index: 'cavra' },
      { name: 'splunk', warn: () => {} },
    )
    const records = []
    for await (const record of siemRecords(event)) records.push(hecEvent(record, config))
    expect(records).toHaveLength(8)
    expect(records[0]).toMatchObject({
      time: Date.parse('2026-11-28T14:03:11Z') / 1000,
      source: 'cavra',
      sourcetype: 'cavra:evidence:json',
      index: 'cavra',
      fields: { event_id: 'sess-2026-11-28-ci-4812', record_type: 'summary', severity: 'high' },
      event: { record_type: 'summary', blocked_count: 4, decision_count: 7, severity: 'high' },
    })
    expect(records[7]).toMatchObject({
      time: Date.parse('2026-11-28T14:03:05Z') / 1000,
      fields: { record_type: 'decision', severity: 'critical' },
      event: { decision_id: 'dec-07', decision: 'block', command: 'rm -rf /', decision_index: 6 },
    })
  })

  it('maps every documented HEC code to success, retry or a final error', () => {
    const answer = (status: number, body: object) =>
      readHecResponse({ status, headers: {}, body: JSON.stringify(body), truncated: false })
    expect(answer(200, { text: 'Success', code: 0, ackId: 3 })).toEqual({ kind: 'ok', value: { ackId: 3 } })
    for (const code of [8, 9, 18, 19, 20])
      expect(answer(503, { text: 'x', code }).kind, String(code)).toBe('retryable')
    for (const code of [1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16]) {
      expect(answer(400, { text: 'x', code }).kind, String(code)).toBe('failed')
    }
    expect(answer(400, { text: 'Incorrect index', code: 7 })).toEqual({
      kind: 'failed',
      reason: "HEC code 7 (Incorrect index): set index to one of the token's allowed indexes",
    })
    expect(
      readHecResponse({ status: 502, headers: {}, body: '<html>bad gateway</html>', truncated: false }).kind,
    ).toBe('retryable')
    expect(readHecResponse({ status: 404, headers: {}, body: '', truncated: false })).toMatchObject({
      kind: 'failed',
    })
  })

  it('refuses a scheme other than Splunk and a channel that is not a GUID', () => {
    const warn = () => {}
    expect(() =>
      splunk.configure({ url: 'https://s', token: 't', authorization_scheme: 'Bearer' }, { name: 's', warn }),
    ).toThrow(/code 3/)
    expect(() =>
      splunk.configure({ url: 'https://s', token: 't', channel: 'abc' }, { name: 's', warn }),
    ).toThrow(/not a GUID/)
    expect(() => splunk.configure({ token: 't' }, { name: 's', warn })).toThrow(/url is required/)
  })
})

describe('Splunk HEC: delivery against the emulator', () => {
  it('delivers the sample bundle as 8 events with Splunk auth and a channel', async () => {
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: true, status_code: 200, records_sent: 8, attempt_count: 1 })
    expect(hec.events).toHaveLength(8)
    expect(hec.events.map((e) => e.fields?.record_type)).toEqual(['summary', ...Array(7).fill('decision')])
    const request = hec.requests[0]!
    expect(request.headers.authorization).toBe(`Splunk ${TOKEN}`)
    expect(request.headers['x-splunk-request-channel']).toMatch(/^[0-9a-f-]{36}$/)
    // Concatenated objects, not an array.
    expect(request.text.startsWith('{"time"')).toBe(true)
    expect(delivery.request).toMatchObject({
      method: 'POST',
      headers: { authorization: 'REDACTED' },
      body_bytes: request.body.length,
    })
  })

  it('splits batches by UTF-8 bytes under max_batch_bytes', async () => {
    const result = await deliver({ max_batch_bytes: 1500 })
    expect(result.deliveries[0]).toMatchObject({ success: true, records_sent: 8 })
    expect(hec.requests.length).toBeGreaterThan(3)
    for (const request of hec.requests) expect(request.body.length).toBeLessThanOrEqual(1500)
    expect(hec.events).toHaveLength(8)
    expect(result.deliveries[0]!.request?.batches).toBe(hec.requests.length)
  })

  it('retries 503 "server busy" and succeeds', async () => {
    hec.inject({ kind: 'status', status: 503, body: { text: 'Server is busy', code: 9 } })
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery.success).toBe(true)
    expect(delivery.attempts.map((a) => [a.status_code, a.outcome])).toEqual([
      [503, 'retryable'],
      [200, 'success'],
    ])
    expect(delivery.attempts[0]!.error).toBe('HEC code 9 (Server is busy)')
  })

  it('honours Retry-After on 503 before the retry', async () => {
    hec.inject({
      kind: 'status',
      status: 503,
      body: { text: 'HEC is unhealthy, queues are full', code: 18 },
      headers: { 'retry-after': '1' },
    })
    const started = Date.now()
    const result = await deliver()
    expect(result.deliveries[0]!.success).toBe(true)
    expect(result.deliveries[0]!.attempts[0]!.retry_after_ms).toBe(1000)
    expect(Date.now() - started).toBeGreaterThanOrEqual(950)
  })

  it('fails at once on an index the token may not write, with the vendor text', async () => {
    const result = await deliver({ index: 'secret_index' })
    expect(result.deliveries[0]).toMatchObject({
      success: false,
      status_code: 400,
      attempt_count: 1,
      error:
        "HTTP 400 from Splunk HEC after 1 attempt: HEC code 7 (Incorrect index): set index to one of the token's allowed indexes",
    })
  })

  it('fails at once on a wrong token, without showing it', async () => {
    const result = await deliverInProcess({
      connectors: { splunk: { url_env: 'SPLUNK_URL', token_env: 'SPLUNK_TOKEN' } },
      env: { SPLUNK_URL: hec.url, SPLUNK_TOKEN: 'canary-wrong-token-value-00' },
    })
    expect(result.deliveries[0]!.error).toContain('HEC code 4 (Invalid token)')
    expect(JSON.stringify(result)).not.toContain('canary-wrong-token-value-00')
  })

  it('scrubs a token the server echoes back in an error body', async () => {
    hec.inject(
      {
        kind: 'status',
        status: 500,
        body: `internal error handling token ${TOKEN} / ${Buffer.from(TOKEN).toString('base64')}`,
      },
      3,
    )
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery.success).toBe(false)
    expect(delivery.error).toContain('internal error handling token REDACTED / REDACTED')
  })

  it('retries a connection reset and a response slower than the timeout', async () => {
    hec.inject({ kind: 'reset' })
    hec.inject({ kind: 'delay', ms: 1500 })
    const result = await deliver({}, { timeoutMs: 500 })
    const delivery = result.deliveries[0]!
    expect(delivery.success).toBe(true)
    expect(delivery.attempts.map((a) => a.outcome)).toEqual(['retryable', 'retryable', 'success'])
    expect(delivery.attempts[1]!.error).toBe('no response within 0.5 s')
  })

  it('polls indexer acknowledgement until every batch is indexed', async () => {
    const acked = await new SplunkHecEmulator({
      token: TOKEN,
      ackEnabled: true,
      pollsBeforeIndexed: 1,
    }).start()
    try {
      const result = await deliverInProcess({
        connectors: {
          splunk: { url_env: 'SPLUNK_URL', token_env: 'SPLUNK_TOKEN', ack: true, max_batch_bytes: 3000 },
        },
        env: { SPLUNK_URL: acked.url, SPLUNK_TOKEN: TOKEN },
      })
      const delivery = result.deliveries[0]!
      expect(delivery.success).toBe(true)
      const batches = acked.requestsTo('/services/collector/event').length
      expect(batches).toBeGreaterThan(1)
      expect(delivery.remote_reference).toBe(String(batches - 1))
      const polls = delivery.attempts.filter((a) => a.step.startsWith('ack poll'))
      expect(polls).toHaveLength(2)
      expect(acked.requestsTo('/services/collector/ack')[0]!.query.get('channel')).toMatch(/^[0-9a-f-]{36}$/)
    } finally {
      await acked.stop()
    }
  })

  it('fails when the deadline comes before Splunk confirms indexing', async () => {
    const slow = await new SplunkHecEmulator({
      token: TOKEN,
      ackEnabled: true,
      pollsBeforeIndexed: 100,
    }).start()
    try {
      const result = await deliverInProcess({
        connectors: { splunk: { url_env: 'SPLUNK_URL', token_env: 'SPLUNK_TOKEN', ack: true } },
        env: { SPLUNK_URL: slow.url, SPLUNK_TOKEN: TOKEN },
        deadlineMs: 4000,
      })
      expect(result.deliveries[0]!.success).toBe(false)
      expect(result.deliveries[0]!.error).toMatch(
        /had not confirmed indexing of ackId 0 .* when the --deadline ran out/,
      )
    } finally {
      await slow.stop()
    }
  })

  it('requires the channel header when the token has acknowledgement on', async () => {
    const acked = await new SplunkHecEmulator({ token: TOKEN, ackEnabled: true }).start()
    try {
      const response = await fetch(`${acked.url}/services/collector/event`, {
        method: 'POST',
        headers: { authorization: `Splunk ${TOKEN}` },
        body: '{"event":{"a":1}}',
      })
      expect(await response.json()).toEqual({ text: 'Data channel is missing', code: 10 })
    } finally {
      await acked.stop()
    }
  })
})

describe('Splunk HEC: golden request bodies', () => {
  const config = splunk.configure(
    {
      url: 'https://splunk.example.com:8088',
      token: TOKEN,
      index: 'cavra',
      channel: '0f8fad5b-d9cb-469f-a165-70867728950e',
    },
    { name: 'splunk', warn: () => {} },
  )
  async function body(event: Awaited<ReturnType<typeof firstEvent>>): Promise<string> {
    const lines: string[] = []
    for await (const record of siemRecords(event))
      lines.push(JSON.stringify(hecEvent(record, config), null, 2))
    return `${lines.join('\n')}\n`
  }

  it('for the sample evidence bundle (summary + 7 decisions)', async () => {
    await expect(await body(await firstEvent())).toMatchFileSnapshot(
      './__golden__/splunk/evidence-bundle.json',
    )
  })

  it('for the promotion and the rollback (critical)', async () => {
    await expect(await body(await promotionFixtureEvent())).toMatchFileSnapshot(
      './__golden__/splunk/promotion.json',
    )
    const rollback = await body(await rollbackFixtureEvent())
    expect(rollback).toContain('"severity": "critical"')
    await expect(rollback).toMatchFileSnapshot('./__golden__/splunk/rollback.json')
  })
})
