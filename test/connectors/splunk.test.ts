import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { shortenJsonString, shortenText } from '../../src/connectors/shared/shorten.js'
import { siemRecords } from '../../src/connectors/shared/siem-records.js'
import {
  encodeHecEvent,
  fitHecEvent,
  hecEvent,
  hecUrls,
  readHecResponse,
  splunk,
} from '../../src/connectors/splunk.js'
import { SplunkHecEmulator } from '../emulators/splunk-hec.js'
import { CANARY } from '../support/canaries.js'
import { firstEvent, promotionFixtureEvent, rollbackFixtureEvent } from '../support/deliver.js'
import { deliveryTo, useEmulators } from '../support/harness.js'
import { cut, HUGE_COMMAND, hugeFieldsEvent, LONG_REASON } from '../support/huge-fields.js'

const TOKEN = CANARY.splunkToken
const hec = new SplunkHecEmulator({ token: TOKEN, allowedIndexes: ['cavra', 'main'], defaultIndex: 'main' })
/** Tokens with indexer acknowledgement on: one that confirms at the second poll, one that never does. */
const acked = new SplunkHecEmulator({ token: TOKEN, ackEnabled: true, pollsBeforeIndexed: 1 })
const neverIndexed = new SplunkHecEmulator({ token: TOKEN, ackEnabled: true, pollsBeforeIndexed: 100 })
/** Indexes whose sourcetype has TRUNCATE lifted (0) or raised to 100,000 bytes in props.conf. */
const lifted = new SplunkHecEmulator({ token: TOKEN, truncate: 0 })
const raised = new SplunkHecEmulator({ token: TOKEN, truncate: 100_000 })
useEmulators(hec, acked, neverIndexed, lifted, raised)

/** 200 KB of two-byte text in a command, 50 KB of quotes and newlines in two reasons. */

const deliver = deliveryTo('splunk', () => ({
  settings: { url_env: 'SPLUNK_URL', token_env: 'SPLUNK_TOKEN', index: 'cavra' },
  env: { SPLUNK_URL: hec.url, SPLUNK_TOKEN: TOKEN },
}))

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

  it('reads a 2xx that is not HEC JSON with code 0 as a failure from something in between', () => {
    const html = readHecResponse({
      status: 200,
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: '<!DOCTYPE html><html><head><title>Sign in</title></head></html>',
      truncated: false,
    })
    expect(html.kind).toBe('failed')
    expect(html.kind === 'failed' && html.reason).toMatch(
      /^the answer did not come from Splunk HEC \(HEC answers JSON with "code": 0; this was text\/html: <!DOCTYPE html>.*\): is a proxy or load balancer in between/,
    )
    for (const body of ['', 'OK', '{}', '{"text":"Success"}', '[0]']) {
      const verdict = readHecResponse({ status: 200, headers: {}, body, truncated: false })
      expect(verdict.kind, body).toBe('failed')
    }
    expect(
      readHecResponse({ status: 202, headers: {}, body: '{"text":"Success","code":0}', truncated: false }),
    ).toEqual({
      kind: 'ok',
      value: { ackId: null },
    })
  })

  it('shortens text at whole characters, saying how many bytes it removed', () => {
    const text = `${'😀'.repeat(100)}${'é'.repeat(50)}`
    for (let max = 48; max < 140; max++) {
      const shortened = shortenText(text, max)
      expect(Buffer.byteLength(shortened), String(max)).toBeLessThanOrEqual(max)
      const { kept, removed } = cut(shortened)
      expect(kept).not.toContain('\uFFFD')
      expect(Buffer.byteLength(kept) + removed).toBe(Buffer.byteLength(text))
    }
    expect(shortenText('short', 48)).toBe('short')
    // As a JSON string, quotes, backslashes and control characters count escaped.
    const escapes = '"\\\n\u0001'.repeat(20_000)
    for (const max of [1_000, 5_000]) {
      const size = Buffer.byteLength(JSON.stringify(shortenJsonString(escapes, max)))
      expect(size).toBeLessThanOrEqual(max)
      expect(size).toBeGreaterThan(max * 0.95)
    }
  })

  it('keeps max_event_bytes at 10000 by default, 0 for no limit, and refuses a tiny one', () => {
    const warn = () => {}
    const base = { url: 'https://s:8088', token: TOKEN }
    expect(splunk.configure(base, { name: 's', warn }).maxEventBytes).toBe(10_000)
    expect(splunk.configure({ ...base, max_event_bytes: 0 }, { name: 's', warn }).maxEventBytes).toBe(0)
    expect(() => splunk.configure({ ...base, max_event_bytes: 500 }, { name: 's', warn })).toThrow(
      /max_event_bytes 500 is too small/,
    )
  })

  it('shortens an event over max_event_bytes, largest fields first, and leaves the envelope alone', async () => {
    const event = hugeFieldsEvent()
    const config = splunk.configure({ url: 'https://s:8088', token: TOKEN }, { name: 's', warn: () => {} })
    const fitted = []
    for await (const record of siemRecords(event)) fitted.push(fitHecEvent(record, config))
    expect(fitted.map((f) => f.shortened)).toEqual([false, false, true, true, false])
    for (const { value } of fitted) {
      expect(Buffer.byteLength(JSON.stringify(value.event))).toBeLessThanOrEqual(10_000)
    }
    const huge = fitted[2]!.value
    expect(huge.fields).toEqual({
      event_id: 'sess-huge-fields',
      event_type: 'cavra.evidence_bundle',
      record_type: 'decision',
      severity: 'critical',
    })
    const event2 = huge.event as Record<string, unknown>
    expect(event2).toMatchObject({
      decision_id: 'dec-huge',
      decision_index: 1,
      policy_id: 'exfiltration.encoded_payload',
    })
    const command = cut(event2.command)
    expect(command.kept.startsWith('printf "éé')).toBe(true)
    expect(Buffer.byteLength(command.kept) + command.removed).toBe(Buffer.byteLength(HUGE_COMMAND))
    const reason = cut(event2.reason)
    expect(Buffer.byteLength(reason.kept) + reason.removed).toBe(Buffer.byteLength(LONG_REASON))
    // Without a limit nothing changes.
    const unlimited = { ...config, maxEventBytes: 0 }
    for await (const record of siemRecords(event)) {
      expect(fitHecEvent(record, unlimited)).toEqual({ value: hecEvent(record, unlimited), shortened: false })
    }
  })

  it('encodes each event as the JSON of its fitted envelope, with and without a limit', async () => {
    const event = hugeFieldsEvent()
    const limited = splunk.configure(
      { url: 'https://s:8088', token: TOKEN, host: 'h', index: 'i' },
      { name: 's', warn: () => {} },
    )
    const plain = splunk.configure(
      { url: 'https://s:8088', token: TOKEN, source: 'sé "quoted"\u2028', sourcetype: 'a\\b' },
      { name: 's', warn: () => {} },
    )
    for (const config of [limited, { ...limited, maxEventBytes: 0 }, plain]) {
      for await (const record of siemRecords(event)) {
        const fitted = fitHecEvent(record, config)
        const encoded = encodeHecEvent(record, config)
        expect(encoded.shortened).toBe(fitted.shortened)
        expect(encoded.value).toBe(JSON.stringify(fitted.value))
      }
    }
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

  it('resends a retried batch as it was and hashes each body sent, with one body buffer for every batch', async () => {
    let seen = 0
    hec.inject(
      { kind: 'status', status: 503, body: { text: 'Server is busy', code: 9 } },
      1,
      () => ++seen === 2,
    )
    const result = await deliver({ max_batch_bytes: 1500 })
    expect(result.deliveries[0]).toMatchObject({ success: true, records_sent: 8 })
    const bodies = hec.requestsTo('/services/collector/event').map((request) => request.text)
    // The second batch was refused once and sent again, byte for byte.
    expect(bodies[2]).toBe(bodies[1])
    const distinct = bodies.filter((_body, index) => index !== 2)
    expect(hec.events).toHaveLength(8)
    expect(new Set(hec.events.map((event) => JSON.stringify(event))).size).toBe(8)
    expect(result.deliveries[0]!.request).toMatchObject({
      batches: distinct.length,
      body_bytes: distinct.reduce((sum, body) => sum + Buffer.byteLength(body), 0),
      body_sha256: createHash('sha256').update(distinct.join('')).digest('hex'),
    })
  })

  it('sends an event larger than max_batch_bytes alone, in its own request', async () => {
    const event = hugeFieldsEvent()
    const result = await deliver({ max_batch_bytes: 1024, max_event_bytes: 0 }, { event })
    const requests = hec.requestsTo('/services/collector/event')
    expect(result.deliveries[0]).toMatchObject({ success: true, records_sent: hec.events.length })
    expect(requests.some((request) => request.body.length > 1024)).toBe(true)
    for (const request of requests) {
      if (request.body.length > 1024) expect(request.text.match(/"event":/g)).toHaveLength(1)
    }
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
    const result = await deliver({}, { env: { SPLUNK_TOKEN: 'canary-wrong-token-value-00' } })
    expect(result.deliveries[0]!.error).toContain('HEC code 4 (Invalid token)')
    expect(JSON.stringify(result)).not.toContain('canary-wrong-token-value-00')
  })

  it('polls indexer acknowledgement until every batch is indexed', async () => {
    const result = await deliver(
      { index: undefined, ack: true, max_batch_bytes: 3000 },
      { env: { SPLUNK_URL: acked.url } },
    )
    const delivery = result.deliveries[0]!
    expect(delivery.success).toBe(true)
    const batches = acked.requestsTo('/services/collector/event').length
    expect(batches).toBeGreaterThan(1)
    expect(delivery.remote_reference).toBe(String(batches - 1))
    const polls = delivery.attempts.filter((a) => a.step.startsWith('ack poll'))
    expect(polls).toHaveLength(2)
    expect(acked.requestsTo('/services/collector/ack')[0]!.query.get('channel')).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('fails when the deadline comes before Splunk confirms indexing', async () => {
    const result = await deliver(
      { index: undefined, ack: true },
      { env: { SPLUNK_URL: neverIndexed.url }, deadlineMs: 4000 },
    )
    expect(result.deliveries[0]!.success).toBe(false)
    expect(result.deliveries[0]!.error).toMatch(
      /had not confirmed indexing of ackId 0 .* when the --deadline ran out/,
    )
  })

  it('fails when a proxy answers 200 with its HTML sign-in page instead of HEC', async () => {
    hec.htmlProxy = true
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: false, status_code: 200, attempt_count: 1, records_sent: 0 })
    expect(delivery.error).toMatch(
      /^HTTP 200 from Splunk HEC after 1 attempt: the answer did not come from Splunk HEC/,
    )
    expect(delivery.error).toContain('is a proxy or load balancer in between')
    expect(hec.events).toHaveLength(0)
  })

  it('delivers huge decision fields within TRUNCATE, so Splunk cuts nothing, and counts them', async () => {
    const result = await deliver({}, { event: hugeFieldsEvent() })
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: true, records_sent: 5, records_shortened: 2 })
    expect(hec.truncations).toEqual([])
    expect(hec.events).toHaveLength(5)
    for (const stored of hec.events) {
      expect(typeof stored.event).toBe('object')
      expect(Buffer.byteLength(JSON.stringify(stored.event))).toBeLessThanOrEqual(10_000)
    }
    const huge = hec.events[2]!.event as Record<string, unknown>
    expect(huge).toMatchObject({ decision_id: 'dec-huge', decision: 'block', severity: 'critical' })
    expect(cut(huge.command).kept.startsWith('printf "é')).toBe(true)
    expect(cut(huge.reason).kept.startsWith('line "quoted"\n')).toBe(true)
    expect(cut((hec.events[3]!.event as Record<string, unknown>).reason).removed).toBeGreaterThan(40_000)
    expect(hec.events[1]!.event).toMatchObject({ decision_id: 'dec-1', command: 'ls' })
  })

  it('sends whole events when TRUNCATE is lifted and max_event_bytes follows it', async () => {
    const none = await deliver(
      { index: undefined, max_event_bytes: 0 },
      { event: hugeFieldsEvent(), env: { SPLUNK_URL: lifted.url } },
    )
    expect(none.deliveries[0]).toMatchObject({ success: true, records_sent: 5, records_shortened: 0 })
    expect(lifted.truncations).toEqual([])
    expect(lifted.events[2]!.event).toMatchObject({ command: HUGE_COMMAND, reason: LONG_REASON })

    const larger = await deliver(
      { index: undefined, max_event_bytes: 100_000 },
      { event: hugeFieldsEvent(), env: { SPLUNK_URL: raised.url } },
    )
    expect(larger.deliveries[0]).toMatchObject({ success: true, records_sent: 5, records_shortened: 1 })
    expect(raised.truncations).toEqual([])
    expect(raised.events[3]!.event).toMatchObject({ reason: LONG_REASON })
    expect(cut((raised.events[2]!.event as Record<string, unknown>).command).removed).toBeGreaterThan(100_000)
  })

  it('requires the channel header when the token has acknowledgement on', async () => {
    const response = await fetch(`${acked.url}/services/collector/event`, {
      method: 'POST',
      headers: { authorization: `Splunk ${TOKEN}` },
      body: '{"event":{"a":1}}',
    })
    expect(await response.json()).toEqual({ text: 'Data channel is missing', code: 10 })
  })
})

describe('Splunk HEC: the emulator is as strict as Splunk', () => {
  const post = (body: string) =>
    fetch(`${hec.url}/services/collector/event`, {
      method: 'POST',
      headers: { authorization: `Splunk ${TOKEN}` },
      body,
    })

  it('answers Success, then indexes an event over TRUNCATE cut short and records the loss', async () => {
    const message = 'ü'.repeat(6_000)
    const response = await post(JSON.stringify({ event: { message }, fields: { big: 'no' } }))
    expect(await response.json()).toEqual({ text: 'Success', code: 0 })
    expect(hec.truncations).toEqual([{ request: 0, index: 0, bytes: 12_014, kept: 10_000 }])
    const stored = hec.events[0]!.event as string
    expect(typeof stored).toBe('string')
    expect(Buffer.byteLength(stored)).toBe(10_000)
    expect(() => JSON.parse(stored)).toThrow()
  })

  it('puts an HTML sign-in page in front when htmlProxy is on', async () => {
    hec.htmlProxy = true
    const response = await post('{"event":{"a":1}}')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await response.text()).toContain('<title>Sign in')
    expect(hec.events).toHaveLength(0)
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
