import { describe, expect, it } from 'vitest'
import {
  buildRecord,
  correlationId,
  instanceOf,
  lookupUrl,
  readCreateResponse,
  readLookupResponse,
  type ServiceNowConfig,
  servicenow,
  severityLevel,
} from '../../src/connectors/servicenow.js'
import type { HttpResponse } from '../../src/delivery/http.js'
import type { DeliveryEvent } from '../../src/events/event.js'
import { ServiceNowEmulator, sysId, UNAUTHENTICATED } from '../emulators/servicenow.js'
import { CANARY } from '../support/canaries.js'
import {
  deliverInProcess,
  firstEvent,
  promotionFixtureEvent,
  rollbackFixtureEvent,
} from '../support/deliver.js'
import { deliveryTo, useEmulators } from '../support/harness.js'

const PASSWORD = CANARY.servicenowPassword
const USER = 'cavra.integration'
const BLOB = Buffer.from(`${USER}:${PASSWORD}`).toString('base64')
const BEARER = 'snow-oauth-access-token-5e0c7a1f'
const TEMPLATE = '7d3c9a1e5b2f4c6d8e0a1b2c3d4e5f60'

const snow = new ServiceNowEmulator({
  users: [
    { username: USER, password: PASSWORD, roles: ['itil'] },
    { username: 'cavra.reader', password: PASSWORD, roles: ['sn_change_read'] },
    { username: 'cavra.oauth', token: BEARER, roles: ['itil'] },
  ],
  templates: {
    [TEMPLATE]: {
      short_description: 'Deploy the cavra runtime',
      description: 'Standard release of the cavra runtime through its rings.',
      correlation_id: '',
      correlation_display: '',
      impact: '3',
      urgency: '3',
    },
  },
  // A custom table that does not extend task: it has no correlation fields at all.
  tables: {
    u_cavra_event: {
      prefix: null,
      fields: ['sys_id', 'sys_class_name', 'sys_created_on', 'short_description'],
    },
  },
})

useEmulators(snow)

const deliver = deliveryTo('servicenow', () => ({
  settings: { url_env: 'SNOW_URL', username: USER, password_env: 'SNOW_PASSWORD' },
  env: { SNOW_URL: snow.url, SNOW_PASSWORD: PASSWORD },
}))

function configure(settings: Record<string, unknown> = {}, warnings: string[] = []): ServiceNowConfig {
  return servicenow.configure(
    { url: 'https://acme.service-now.com', username: USER, password: PASSWORD, ...settings },
    { name: 'servicenow', warn: (message) => warnings.push(message) },
  )
}

function reply(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers, body: typeof body === 'string' ? body : JSON.stringify(body), truncated: false }
}

function error(message: string, detail: string | null = null) {
  return { error: { message, detail }, status: 'failure' }
}

const posts = () => snow.requests.filter((request) => request.method === 'POST')
const onlyPosts = (request: { method: string }) => request.method === 'POST'

describe('ServiceNow: configuration (pure)', () => {
  it('takes an instance base or a full Table API URL, keeping a path prefix', () => {
    expect(instanceOf('https://acme.service-now.com/')).toEqual({ base: 'https://acme.service-now.com' })
    expect(instanceOf('https://acme.service-now.com/api/now/table/change_request')).toEqual({
      base: 'https://acme.service-now.com',
      tableUrl: 'https://acme.service-now.com/api/now/table/change_request',
      table: 'change_request',
    })
    expect(instanceOf('https://gw.example/snow/api/now/v2/table/incident').base).toBe(
      'https://gw.example/snow',
    )
    expect(() => instanceOf('https://acme.service-now.com/api/sn_chg_rest/change')).toThrow(
      /neither an instance/,
    )
    expect(() => instanceOf('not a url')).toThrow(/not a valid URL/)
  })

  it('builds the Table API and Change API endpoints', () => {
    const table = configure()
    expect(table.createUrl).toBe(
      'https://acme.service-now.com/api/now/table/change_request?sysparm_fields=sys_id%2Cnumber&sysparm_exclude_reference_link=true',
    )
    expect(table).toMatchObject({ api: 'table', table: 'change_request', category: 'software', dedupe: true })
    expect(table.correlationDisplay).toBe('CAVRA')
    expect(configure({ api: 'change' }).createUrl).toBe(
      'https://acme.service-now.com/api/sn_chg_rest/change/normal',
    )
    expect(configure({ api: 'change', change_model: 'emergency' }).createUrl).toMatch(/\/change\/emergency$/)
    const standard = configure({ api: 'change', change_model: `standard:${TEMPLATE}` })
    expect(standard.createUrl).toMatch(new RegExp(`/api/sn_chg_rest/change/standard/${TEMPLATE}$`))
    expect(standard.lookupUrl).toBe('https://acme.service-now.com/api/now/table/change_request')
  })

  it("accepts the earlier tool's full table URL with a bearer token", () => {
    const config = servicenow.configure(
      { url: 'https://acme.service-now.com/api/now/v2/table/change_request', token: BEARER },
      { name: 'servicenow', warn: () => {} },
    )
    expect(config.authorization).toBe(`Bearer ${BEARER}`)
    expect(config.lookupUrl).toBe('https://acme.service-now.com/api/now/v2/table/change_request')
    expect(config.createUrl.startsWith('https://acme.service-now.com/api/now/v2/table/change_request?')).toBe(
      true,
    )
  })

  it('sends Basic auth for username + password and keeps the blob for scrubbing', () => {
    const config = configure()
    expect(config.authorization).toBe(`Basic ${BLOB}`)
    expect(config.basicBlob).toBe(BLOB)
  })

  it('refuses settings that cannot work, naming the key', () => {
    const bare = (settings: Record<string, unknown>) =>
      servicenow.configure(settings, { name: 'servicenow', warn: () => {} })
    expect(() => bare({ username: USER, password: PASSWORD })).toThrow(/url is required/)
    expect(() => bare({ url: 'https://acme.service-now.com' })).toThrow(/a credential is required: client_id/)
    expect(() => bare({ url: 'https://a.service-now.com', username: USER })).toThrow(/password is required/)
    expect(() => configure({ token: BEARER })).toThrow(/username \+ password and token are each a credential/)
    expect(() => configure({ api: 'change', table: 'incident' })).toThrow(
      /api "change" creates change_request/,
    )
    expect(() =>
      configure({ url: 'https://a.service-now.com/api/now/table/incident', table: 'problem' }),
    ).toThrow(/table "problem" contradicts/)
    expect(() => configure({ table: 'Change Request' })).toThrow(/not a ServiceNow table name/)
    expect(() => configure({ correlation_display: 'a^b' })).toThrow(/correlation_display/)
    for (const model of ['standard', 'standard:xyz', `standard:${TEMPLATE.toUpperCase()}`, 'expedited']) {
      expect(() => configure({ api: 'change', change_model: model }), model).toThrow(/change_model/)
    }
  })

  it('warns about settings that work but surprise', () => {
    const warnings: string[] = []
    configure(
      { api: 'change', change_model: `standard:${TEMPLATE}`, assignment_group: 'CAB Approvers' },
      warnings,
    )
    configure({ url: 'http://snow.example.com', change_model: 'emergency' }, warnings)
    expect(warnings.join('\n')).toMatch(/template includes correlation_id/)
    expect(warnings.join('\n')).toMatch(/assignment_group is a reference field/)
    expect(warnings.join('\n')).toMatch(/change_model applies to api: change only/)
    expect(warnings.join('\n')).toMatch(/http:\/\//)
  })
})

describe('ServiceNow: request building (pure)', () => {
  it('uses cavra:<event_id> and keeps longer ids deterministic within 100 characters', () => {
    expect(correlationId('rre_b83f10c6d2a1')).toBe('cavra:rre_b83f10c6d2a1')
    const long = `evt-${'a'.repeat(120)}`
    const other = `evt-${'a'.repeat(119)}b`
    expect(correlationId(long)).toHaveLength(100)
    expect(correlationId(long)).toBe(correlationId(long))
    expect(correlationId(long)).not.toBe(correlationId(other))
    expect(correlationId(long)).toMatch(/^cavra:evt-a+~[0-9a-f]{32}$/)
    expect(correlationId('a^b')).toMatch(/^cavra:a_b~[0-9a-f]{32}$/)
    expect(correlationId(`${'x'.repeat(94)}`)).toBe(`cavra:${'x'.repeat(94)}`)
  })

  it('maps severity to impact and urgency', () => {
    expect(['critical', 'high', 'medium', 'low', 'info'].map((s) => severityLevel(s as never))).toEqual([
      '1',
      '2',
      '3',
      '3',
      '3',
    ])
  })

  it('cuts short_description to 160 characters, saying so, and keeps the severity word', async () => {
    const event = await firstEvent()
    const long: DeliveryEvent = { ...event, view: { ...event.view, title: 'x'.repeat(300) } }
    const record = buildRecord(long, configure())
    expect(record.short_description).toHaveLength(160)
    expect(record.short_description!.startsWith('[HIGH] ')).toBe(true)
    expect(record.short_description!.endsWith('… (truncated)')).toBe(true)
  })

  it('looks the correlation id up in the target table', () => {
    const url = new URL(lookupUrl(configure({ api: 'change' }), 'cavra:rpe_4c1d2e9a7b30'))
    expect(url.pathname).toBe('/api/now/table/change_request')
    expect(url.searchParams.get('sysparm_query')).toBe(
      'correlation_id=cavra:rpe_4c1d2e9a7b30^correlation_display=CAVRA',
    )
    expect(url.searchParams.get('sysparm_limit')).toBe('1')
    expect(url.searchParams.get('sysparm_fields')).toBe('sys_id,number,correlation_id,correlation_display')
  })

  it('leaves the template-owned fields out of a standard change', async () => {
    const record = buildRecord(
      await promotionFixtureEvent(),
      configure({ api: 'change', change_model: `standard:${TEMPLATE}` }),
    )
    expect(Object.keys(record)).not.toContain('description')
    expect(Object.keys(record)).not.toContain('implementation_plan')
    expect(Object.keys(record)).not.toContain('backout_plan')
    expect(record.correlation_id).toBe('cavra:rpe_4c1d2e9a7b30')
  })

  it('says what was rolled back, between which rings, why, and under which approval and change', async () => {
    const record = buildRecord(await rollbackFixtureEvent(), configure())
    expect(record).toMatchObject({ impact: '1', urgency: '1', correlation_id: 'cavra:rre_b83f10c6d2a1' })
    expect(record.short_description).toBe('[CRITICAL] Release v0.2.0 rolled back stable → canary in prod')
    for (const text of [
      'acme/cavra-runtime v0.2.0',
      'from stable to canary',
      'crash loop',
      'apr_c4d91e0b7a22',
    ]) {
      expect(record.description).toContain(text)
    }
    expect(record.description).toContain('CHG0031219')
    expect(record.justification).toContain('Policy engine crash loop on macOS 15.2 hosts after promotion.')
    expect(record.justification).toContain('apr_c4d91e0b7a22 (approved by ic@acme.example')
    expect(record.implementation_plan).toContain('re-scope previous Jamf policy')
  })

  const goldens: Array<[string, () => Promise<DeliveryEvent>, Record<string, unknown>]> = [
    ['table-evidence-bundle', firstEvent, {}],
    ['table-promotion', promotionFixtureEvent, { assignment_group: '287ebd7da9fe198100f92cc8d1d2154e' }],
    ['table-rollback', rollbackFixtureEvent, {}],
    ['change-normal-evidence-bundle', firstEvent, { api: 'change' }],
    ['change-normal-promotion', promotionFixtureEvent, { api: 'change' }],
    ['change-emergency-rollback', rollbackFixtureEvent, { api: 'change', change_model: 'emergency' }],
  ]
  for (const [name, load, settings] of goldens) {
    it(`builds the ${name} request as in the golden file`, async () => {
      const config = configure(settings)
      const request = { method: 'POST', url: config.createUrl, body: buildRecord(await load(), config) }
      await expect(`${JSON.stringify(request, null, 2)}\n`).toMatchFileSnapshot(
        `./__golden__/servicenow/${name}.json`,
      )
    })
  }
})

describe('ServiceNow: response reading (pure)', () => {
  const table = configure()
  const change = configure({ api: 'change' })
  const standard = configure({ api: 'change', change_model: `standard:${TEMPLATE}` })
  const sys = 'c537bae64f411200adf9f8e18110c76e'

  it('reads the Table API 201 and the Change API 200 with {value, display_value} fields', () => {
    expect(readCreateResponse(reply(201, { result: { sys_id: sys, number: 'CHG0030022' } }), table)).toEqual({
      kind: 'ok',
      value: { sysId: sys, number: 'CHG0030022' },
    })
    const wrapped = {
      result: {
        sys_id: { value: sys, display_value: sys },
        number: { value: 'CHG0030022', display_value: 'CHG0030022' },
        __meta: { ignoredFields: [] },
      },
    }
    expect(readCreateResponse(reply(200, wrapped), change)).toEqual({
      kind: 'ok',
      value: { sysId: sys, number: 'CHG0030022' },
    })
    // The documentation's examples also show `result` as a one-element array.
    expect(readCreateResponse(reply(200, { result: [wrapped.result] }), change)).toMatchObject({
      value: { number: 'CHG0030022' },
    })
    const location = { location: `https://acme.service-now.com/api/now/table/change_request/${sys}` }
    expect(readCreateResponse(reply(201, '', location), table)).toEqual({
      kind: 'ok',
      value: { sysId: sys, number: null },
    })
  })

  it('makes 400, 401, 403 and 404 final, with ServiceNow’s text and a hint', () => {
    const failed = (status: number, body: unknown, config = table) =>
      readCreateResponse(reply(status, body), config)
    expect(failed(400, error('Invalid table change_requests'))).toEqual({
      kind: 'failed',
      reason:
        'Invalid table change_requests: table "change_request" does not exist on this instance; check table or url',
    })
    expect(failed(401, UNAUTHENTICATED)).toEqual({
      kind: 'failed',
      reason:
        'User Not Authenticated (Required to provide Auth information): check username and password (Basic) or token (Bearer)',
    })
    const acl = error('Operation Failed', 'ACL Exception Insert Failed due to security constraints')
    expect(failed(403, acl, change)).toMatchObject({
      kind: 'failed',
      reason: expect.stringMatching(/security constraints\): .*itil, change_manager or admin role$/),
    })
    expect(failed(403, acl)).toMatchObject({
      reason: expect.stringMatching(/create records in change_request$/),
    })
    const missing = error('No Record found', "Record doesn't exist or ACL restricts the record retrieval")
    expect(failed(404, missing, standard)).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining(
        `standard change template ${TEMPLATE} was not found or is not published`,
      ),
    })
    expect(failed(404, missing, change)).toMatchObject({ reason: expect.stringContaining('sn_chg_rest') })
    expect(failed(400, error('Operation Failed', 'Invalid value'))).toEqual({
      kind: 'failed',
      reason: 'Operation Failed (Invalid value)',
    })
  })

  it('retries 429 until Retry-After or, without it, X-RateLimit-Reset; and 5xx', () => {
    const limited = error('Rate limit exceeded', 'Rate limit of 10 requests per hour for Table API exceeded')
    const now = 1_764_338_000_000
    expect(readCreateResponse(reply(429, limited, { 'retry-after': '7' }), table, now)).toEqual({
      kind: 'retryable',
      reason: 'Rate limit exceeded (Rate limit of 10 requests per hour for Table API exceeded)',
      retryAfterMs: 7000,
    })
    expect(
      readCreateResponse(reply(429, limited, { 'x-ratelimit-reset': '1764338012' }), table, now),
    ).toMatchObject({
      kind: 'retryable',
      retryAfterMs: 12_000,
    })
    for (const status of [500, 502, 503, 504]) {
      expect(readCreateResponse(reply(status, '<html>busy</html>'), table).kind, String(status)).toBe(
        'retryable',
      )
    }
    expect(readCreateResponse(reply(502, '<html>bad gateway</html>'), table)).toMatchObject({
      reason: '<html>bad gateway</html>',
    })
  })

  it('counts only a row that carries our correlation id and display as a duplicate', () => {
    const id = 'cavra:sess-1'
    const row = (correlation: string, display = 'CAVRA') => ({
      result: [
        { sys_id: sys, number: 'CHG0030022', correlation_id: correlation, correlation_display: display },
      ],
    })
    expect(readLookupResponse(reply(200, row(id)), table, id)).toEqual({
      kind: 'ok',
      value: { sysId: sys, number: 'CHG0030022' },
    })
    // What an instance answers when it ignored an invalid part of the query.
    expect(readLookupResponse(reply(200, row('INC-IMPORT-77')), table, id)).toEqual({
      kind: 'ok',
      value: null,
    })
    expect(readLookupResponse(reply(200, row(id, 'Splunk')), table, id)).toEqual({ kind: 'ok', value: null })
    expect(readLookupResponse(reply(200, { result: [{ sys_id: sys }] }), table, id)).toEqual({
      kind: 'ok',
      value: null,
    })
    expect(readLookupResponse(reply(200, { result: [] }), table, id)).toEqual({ kind: 'ok', value: null })
    // GET /now/v1/table answers "no match" with 404.
    expect(readLookupResponse(reply(404, error('No Record found')), table, id)).toEqual({
      kind: 'ok',
      value: null,
    })
    expect(readLookupResponse(reply(401, UNAUTHENTICATED), table, id).kind).toBe('failed')
  })
})

describe('ServiceNow: the emulator is as strict as an instance', () => {
  const headers = {
    authorization: `Basic ${BLOB}`,
    'content-type': 'application/json',
    accept: 'application/json',
  }

  it('answers 401 with ServiceNow’s body without valid credentials', async () => {
    const wrong = Buffer.from(`${USER}:nope`).toString('base64')
    for (const authorization of [undefined, `Basic ${wrong}`, 'Bearer unknown-token']) {
      const response = await fetch(`${snow.url}/api/now/table/change_request`, {
        headers: authorization ? { authorization } : {},
      })
      expect(response.status).toBe(401)
      expect(await response.json()).toEqual(UNAUTHENTICATED)
    }
  })

  it('refuses impact and urgency outside 1–3 and unknown tables', async () => {
    const post = (path: string, body: object) =>
      fetch(`${snow.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })
    expect((await post('/api/now/table/change_request', { impact: '4' })).status).toBe(400)
    expect((await post('/api/sn_chg_rest/change/normal', { urgency: '0' })).status).toBe(400)
    const unknown = await post('/api/now/table/change_requests', {})
    expect(unknown.status).toBe(400)
    expect(await unknown.json()).toEqual(error('Invalid table change_requests'))
    expect(snow.rows('change_request')).toHaveLength(0)
  })

  it('ignores a misspelt query field and returns unrelated rows, as ServiceNow does by default', async () => {
    snow.seed('change_request', { correlation_id: 'INC-IMPORT-77', correlation_display: 'Splunk' })
    const query = (q: string) =>
      fetch(
        `${snow.url}/api/now/table/change_request?sysparm_query=${encodeURIComponent(q)}&sysparm_limit=1`,
        {
          headers,
        },
      ).then((response) => response.json() as Promise<{ result: Array<Record<string, string>> }>)
    const misspelt = await query('correlaton_id=cavra:sess-1^correlation_dispaly=CAVRA')
    expect(misspelt.result).toHaveLength(1)
    expect(misspelt.result[0]!.correlation_id).toBe('INC-IMPORT-77')
    expect((await query('correlation_id=cavra:sess-1^correlation_display=CAVRA')).result).toEqual([])
    const config = configure()
    expect(readLookupResponse(reply(200, misspelt), config, 'cavra:sess-1')).toEqual({
      kind: 'ok',
      value: null,
    })
  })
})

describe('ServiceNow: delivery against the emulator', () => {
  it('creates a change request through the Table API with Basic auth, after a duplicate check', async () => {
    const result = await deliver()
    const delivery = result.deliveries[0]!
    const [row] = snow.rows('change_request')
    expect(row).toMatchObject({
      number: 'CHG0030001',
      correlation_id: 'cavra:sess-2026-11-28-ci-4812',
      correlation_display: 'CAVRA',
      impact: '2',
      urgency: '2',
      priority: '3',
      category: 'software',
    })
    expect(row!.sys_id).toMatch(/^[0-9a-f]{32}$/)
    expect(delivery).toMatchObject({
      success: true,
      status_code: 201,
      attempt_count: 2,
      records_sent: 1,
      deduplicated: false,
      remote_reference: `CHG0030001 (${row!.sys_id})`,
    })
    const [lookup, create] = snow.requests
    expect(lookup!.method).toBe('GET')
    expect(lookup!.query.get('sysparm_query')).toBe(
      'correlation_id=cavra:sess-2026-11-28-ci-4812^correlation_display=CAVRA',
    )
    expect(create!.headers.authorization).toBe(`Basic ${BLOB}`)
    expect(create!.query.get('sysparm_exclude_reference_link')).toBe('true')
    expect(delivery.request).toMatchObject({
      method: 'POST',
      headers: { authorization: 'REDACTED', 'content-type': 'application/json' },
      idempotency_key: 'cavra:sess-2026-11-28-ci-4812',
      body_bytes: create!.body.length,
    })
    expect(delivery.request!.url).toMatch(/\/api\/now\/table\/change_request\?sysparm_fields=REDACTED&/)
  })

  it('creates a normal change through the Change API for the promotion (impact 2)', async () => {
    const result = await deliver({ api: 'change' }, { event: await promotionFixtureEvent() })
    const delivery = result.deliveries[0]!
    const [row] = snow.rows('change_request')
    expect(row).toMatchObject({ type: 'normal', state: '-5', impact: '2', urgency: '2', priority: '3' })
    expect(row!.backout_plan).toContain('Rollback plan')
    expect(delivery).toMatchObject({ success: true, status_code: 200 })
    expect(delivery.remote_reference).toBe(`CHG0030001 (${row!.sys_id})`)
    expect(posts()[0]!.path).toBe('/api/sn_chg_rest/change/normal')
  })

  it('creates an emergency change for the critical rollback (impact and urgency 1)', async () => {
    const result = await deliver(
      { api: 'change', change_model: 'emergency' },
      { event: await rollbackFixtureEvent() },
    )
    const [row] = snow.rows('change_request')
    expect(row).toMatchObject({ type: 'emergency', impact: '1', urgency: '1', priority: '1' })
    expect(row!.short_description).toBe('[CRITICAL] Release v0.2.0 rolled back stable → canary in prod')
    expect(result.deliveries[0]!.remote_reference).toBe(`CHG0030001 (${row!.sys_id})`)
  })

  it('creates a standard change from its template, which keeps its own description', async () => {
    const settings = { api: 'change', change_model: `standard:${TEMPLATE}` }
    const event = await promotionFixtureEvent()
    const first = await deliver(settings, { event })
    const [row] = snow.rows('change_request')
    expect(row).toMatchObject({
      type: 'standard',
      description: 'Standard release of the cavra runtime through its rings.',
      short_description: '[HIGH] Release v0.2.0 promoted canary → stable in prod',
      correlation_id: 'cavra:rpe_4c1d2e9a7b30',
      impact: '2',
    })
    expect(first.deliveries[0]!.warnings?.join(' ')).toMatch(/template includes correlation_id/)
    const again = await deliver(settings, { event })
    expect(again.deliveries[0]).toMatchObject({
      deduplicated: true,
      remote_reference: first.deliveries[0]!.remote_reference,
    })
  })

  it('does not create a second record when the same event is delivered again', async () => {
    const first = await deliver()
    const second = await deliver()
    expect(snow.rows('change_request')).toHaveLength(1)
    expect(second.deliveries[0]).toMatchObject({
      success: true,
      deduplicated: true,
      records_sent: 0,
      attempt_count: 1,
      remote_reference: first.deliveries[0]!.remote_reference,
    })
    expect(posts()).toHaveLength(1)
  })

  it('recognises re-deliveries of an event whose id is longer than correlation_id holds', async () => {
    const event: DeliveryEvent = { ...(await firstEvent()), eventId: `evt-${'0123456789'.repeat(15)}` }
    await deliver({}, { event })
    const second = await deliver({}, { event })
    expect(snow.rows('change_request')).toHaveLength(1)
    expect(snow.rows('change_request')[0]!.correlation_id).toBe(correlationId(event.eventId))
    expect(second.deliveries[0]!.deduplicated).toBe(true)
  })

  it('finds its own create whose answer was lost, counting it as sent, not as a duplicate', async () => {
    snow.inject({ kind: 'delay-after-handling', ms: 1500 }, 1, onlyPosts)
    const result = await deliver({}, { timeoutMs: 500 })
    await snow.idle()
    expect(snow.rows('change_request')).toHaveLength(1)
    expect(posts()).toHaveLength(1)
    expect(result.deliveries[0]).toMatchObject({
      success: true,
      deduplicated: false,
      records_sent: 1,
      warnings: ['the create landed but its answer was lost; found by the duplicate check'],
    })
  })

  it('without dedupe, the same ambiguous failure does create a second record', async () => {
    snow.inject({ kind: 'delay-after-handling', ms: 1500 }, 1, onlyPosts)
    const result = await deliver({ dedupe: false }, { timeoutMs: 500 })
    expect(result.deliveries[0]!.success).toBe(true)
    expect(snow.requests.every((request) => request.method === 'POST')).toBe(true)
    expect(snow.rows('change_request')).toHaveLength(2)
  })

  it('does not take an unrelated row for a duplicate when the instance ignores the query', async () => {
    // u_cavra_event has no correlation fields: the instance ignores both conditions.
    snow.seed('u_cavra_event', { short_description: 'imported by another tool' })
    const result = await deliver({ table: 'u_cavra_event' })
    const delivery = result.deliveries[0]!
    expect(snow.requests[0]!.method).toBe('GET')
    expect(delivery).toMatchObject({ success: true, deduplicated: false, status_code: 201 })
    expect(snow.rows('u_cavra_event')).toHaveLength(2)
    expect(delivery.remote_reference).toBe(snow.rows('u_cavra_event')[1]!.sys_id)
  })

  it("delivers with the earlier tool's config: a full table URL and token_env", async () => {
    const result = await deliverInProcess({
      connectors: { servicenow: { url_env: 'SERVICENOW_CHANGE_URL', token_env: 'SERVICENOW_TOKEN' } },
      env: { SERVICENOW_CHANGE_URL: `${snow.url}/api/now/table/change_request`, SERVICENOW_TOKEN: BEARER },
    })
    expect(result.deliveries[0]).toMatchObject({
      success: true,
      remote_reference: expect.stringMatching(/^CHG0030001 /),
    })
    expect(posts()[0]!.headers.authorization).toBe(`Bearer ${BEARER}`)
    expect(JSON.stringify(result)).not.toContain(BEARER)
  })

  it('fails at once on wrong credentials, before creating anything', async () => {
    const wrong = 'canary-wrong-snow-password-0'
    const result = await deliver({}, { env: { SNOW_PASSWORD: wrong } })
    expect(result.deliveries[0]).toMatchObject({
      success: false,
      status_code: 401,
      attempt_count: 1,
      error:
        'duplicate check failed, nothing was created: HTTP 401 from ServiceNow after 1 attempt: User Not Authenticated (Required to provide Auth information): check username and password (Basic) or token (Bearer)',
    })
    expect(JSON.stringify(result)).not.toContain(wrong)
    expect(JSON.stringify(result)).not.toContain(Buffer.from(`${USER}:${wrong}`).toString('base64'))
  })

  it('fails at once with the role hint when the user may not create changes (403)', async () => {
    const result = await deliver({ username: 'cavra.reader', api: 'change' })
    expect(result.deliveries[0]).toMatchObject({ success: false, status_code: 403, attempt_count: 2 })
    expect(result.deliveries[0]!.error).toBe(
      'HTTP 403 from ServiceNow after 1 attempt: Operation Failed (ACL Exception Insert Failed due to security constraints): creating through the Change API needs the itil, change_manager or admin role',
    )
    expect(snow.rows('change_request')).toHaveLength(0)
  })

  it('fails at once on an unknown standard change template (404)', async () => {
    const unknown = sysId()
    const result = await deliver({ api: 'change', change_model: `standard:${unknown}` })
    expect(result.deliveries[0]).toMatchObject({ success: false, status_code: 404 })
    expect(result.deliveries[0]!.error).toContain(`standard change template ${unknown} was not found`)
  })

  it('fails at once on a table the instance does not have', async () => {
    const result = await deliver({ table: 'u_no_such_table' })
    expect(result.deliveries[0]).toMatchObject({ success: false, status_code: 400, attempt_count: 1 })
    expect(result.deliveries[0]!.error).toContain(
      'Invalid table u_no_such_table: table "u_no_such_table" does not exist',
    )
  })

  it('waits until X-RateLimit-Reset when a 429 carries no Retry-After', async () => {
    snow.limitRate(1, 1200, false)
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery.success).toBe(true)
    const limited = delivery.attempts[1]!
    expect(limited).toMatchObject({ status_code: 429, outcome: 'retryable' })
    expect(limited.error).toBe(
      'Rate limit exceeded (Rate limit of 1 requests per hour for Table API exceeded)',
    )
    const [, refused, accepted] = snow.requests
    expect(limited.retry_after_ms).toBeGreaterThan(0)
    expect(limited.retry_after_ms).toBeLessThanOrEqual(2200)
    expect(accepted!.at - refused!.at).toBeGreaterThanOrEqual(limited.retry_after_ms! - 50)
    expect(snow.rows('change_request')).toHaveLength(1)
  })
})
