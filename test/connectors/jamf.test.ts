import { afterEach, describe, expect, it } from 'vitest'
import {
  type JamfConfig,
  jamf,
  jamfErrorText,
  policyLookupRequest,
  policyXml,
  readAccountToken,
  readPolicyLookup,
  readPolicySaved,
  readScriptSaved,
  readScriptSearch,
  rsqlName,
  scriptBody,
  scriptSearchRequest,
} from '../../src/connectors/jamf.js'
import { CookieJar, splitSetCookie } from '../../src/connectors/shared/cookies.js'
import { escapeXml, parseXml } from '../../src/connectors/shared/xml.js'
import { TokenCache } from '../../src/delivery/tokens.js'
import type { JamfPolicy, PublicationFields } from '../../src/events/endpoint-export.js'
import type { DeliveryEvent } from '../../src/events/event.js'
import { JamfEmulator, parseStrictXml, statusPage } from '../emulators/jamf.js'
import { CANARY } from '../support/canaries.js'
import { firstEvent, publicationFixtureEvent } from '../support/deliver.js'
import { deliveryTo, useEmulators } from '../support/harness.js'

const CLIENT_ID = '3f1c9a2e-5b7d-4c1a-9e8f-0a1b2c3d4e5f'
const SECRET = CANARY.jamfSecret
const server = new JamfEmulator({
  clients: [{ clientId: CLIENT_ID, clientSecret: SECRET }],
  accounts: [{ username: 'cavra-publisher', password: SECRET }],
  computerGroups: [12, 31],
  categories: [5],
})

useEmulators(server)
afterEach(() => {
  server.options.unstorablePolicyNames = undefined
  server.options.deny = undefined
  server.options.tokenLifetimeSeconds = undefined
})

const SETTINGS = { computer_group_ids: [12, 31], category_id: 5 }

async function publication(policy: Partial<JamfPolicy> = {}): Promise<DeliveryEvent> {
  const event = await publicationFixtureEvent(['jamf'])
  const fields = event.fields as PublicationFields
  return { ...event, fields: { ...fields, jamf_policy: { ...fields.jamf_policy!, ...policy } } }
}

const deliver = deliveryTo('jamf', () => ({
  settings: {
    url_env: 'JAMF_URL',
    client_id_env: 'JAMF_CLIENT_ID',
    client_secret_env: 'JAMF_CLIENT_SECRET',
    ...SETTINGS,
  },
  env: { JAMF_URL: server.url, JAMF_CLIENT_ID: CLIENT_ID, JAMF_CLIENT_SECRET: SECRET },
  event: () => publicationFixtureEvent(['jamf']),
}))

function configure(settings: Record<string, unknown>, warnings: string[] = []): JamfConfig {
  return jamf.configure(settings, { name: 'jamf', warn: (message) => warnings.push(message) })
}

const CONFIG = configure({
  url: 'https://acme.jamfcloud.com/',
  client_id: CLIENT_ID,
  client_secret: SECRET,
  ...SETTINGS,
})
const reply = (status: number, body = '', headers: Record<string, string> = {}) => ({
  status,
  body,
  headers,
  truncated: false,
})
const steps = (result: Awaited<ReturnType<typeof deliver>>) =>
  result.deliveries[0]!.attempts.map((a) => `${a.step} ${a.status_code ?? '-'} ${a.outcome}`)

describe('Jamf Pro: configuration', () => {
  it('takes exactly one credential pair', () => {
    const url = 'https://acme.jamfcloud.com'
    expect(() => configure({ url })).toThrow(/credentials are required/)
    expect(() =>
      configure({ url, client_id: 'a', client_secret: 'b', username: 'u', password: 'p' }),
    ).toThrow(/not both/)
    expect(() => configure({ url, client_id: 'a' })).toThrow(/client_id is set but client_secret is not/)
    expect(() => configure({ url, password: 'p' })).toThrow(/password is set but username is not/)
    const warnings: string[] = []
    const legacy = configure({ url, username: 'u', password: 'p', computer_group_ids: ['7'] }, warnings)
    expect(legacy.credentials).toEqual({ kind: 'account', username: 'u', password: 'p' })
    expect(legacy.computerGroupIds).toEqual([7])
    expect(warnings.join('\n')).toMatch(/legacy account tokens/)
  })

  it('wants the instance base URL and warns about an unscoped policy', () => {
    const creds = { client_id: 'a', client_secret: 'b' }
    expect(() => configure(creds)).toThrow(/url is required/)
    expect(() => configure({ url: 'https://acme.jamfcloud.com/JSSResource', ...creds })).toThrow(/base URL/)
    expect(() => configure({ url: 'https://acme.jamfcloud.com/api/v1', ...creds })).toThrow(/base URL/)
    expect(() => configure({ url: 'not a url', ...creds })).toThrow(/not a valid URL/)
    const warnings: string[] = []
    const config = configure({ url: 'http://jss.example.com:8443/', ...creds }, warnings)
    expect(config.baseUrl).toBe('http://jss.example.com:8443')
    expect(warnings.join('\n')).toMatch(/computer_group_ids is empty/)
    expect(warnings.join('\n')).toMatch(/http:\/\//)
    expect(CONFIG).toMatchObject({
      baseUrl: 'https://acme.jamfcloud.com',
      computerGroupIds: [12, 31],
      categoryId: 5,
    })
  })
})

describe('Jamf Pro: requests (pure)', () => {
  it('quotes and escapes the RSQL name filter, then URL-encodes it', () => {
    expect(rsqlName('CAVRA Go Runtime stable')).toBe('name=="CAVRA Go Runtime stable"')
    expect(rsqlName('say "hi" \\ bye')).toBe('name=="say \\"hi\\" \\\\ bye"')
    const request = scriptSearchRequest(CONFIG, 'R&D "beta"')
    expect(request.url).toBe(
      'https://acme.jamfcloud.com/api/v1/scripts?page=0&page-size=100&filter=name%3D%3D%22R%26D%20%5C%22beta%5C%22%22',
    )
    expect(new URL(request.url).searchParams.get('filter')).toBe('name=="R&D \\"beta\\""')
  })

  it('looks a policy up by its encoded name, or in the list when the name holds a slash', () => {
    expect(policyLookupRequest(CONFIG, 'R&D <beta>').url).toBe(
      'https://acme.jamfcloud.com/JSSResource/policies/name/R%26D%20%3Cbeta%3E',
    )
    expect(policyLookupRequest(CONFIG, 'macOS 15/16').url).toBe(
      'https://acme.jamfcloud.com/JSSResource/policies',
    )
    expect(policyLookupRequest(CONFIG, 'x').headers.accept).toBe('application/xml')
  })

  it('escapes XML exactly once and the document reads back to the same values', () => {
    const name = `R&D <beta> "it's" &amp;`
    expect(escapeXml(name)).toBe('R&amp;D &lt;beta&gt; &quot;it&apos;s&quot; &amp;amp;')
    const xml = policyXml({ policy_name: name, trigger: 'a<b', install_script: 'x' }, '7', CONFIG)
    expect(xml).toContain('<name>R&amp;D &lt;beta&gt; &quot;it&apos;s&quot; &amp;amp;</name>')
    const doc = parseXml(xml)!
    const general = doc.children.find((c) => typeof c === 'object' && c.name === 'general')
    expect(JSON.stringify(general)).toContain(JSON.stringify(name))
    expect(parseStrictXml(xml)).toHaveProperty('root')
  })

  it('reads only well-formed XML', () => {
    expect(parseXml('<policy><id>1</id></policy>')).toEqual({
      name: 'policy',
      children: [{ name: 'id', children: ['1'] }],
    })
    expect(parseXml('<?xml version="1.0"?><a x="1"><b/><!-- c --><![CDATA[<&>]]>&#x41;</a>')).toEqual({
      name: 'a',
      children: [{ name: 'b', children: [] }, '<&>', 'A'],
    })
    for (const bad of [
      '<a>R&D</a>',
      '<a><b></a></b>',
      '<a>x</a><b/>',
      '<a>1 < 2</a>',
      '<a>',
      'text',
      '<a>&#x110000;</a>',
    ])
      expect(parseXml(bad), bad).toBeUndefined()
  })
})

describe('Jamf Pro: golden requests for the sample export', () => {
  it('builds the script JSON and the policy XML', async () => {
    const event = await publicationFixtureEvent(['jamf'])
    const fields = event.fields as PublicationFields
    const body = scriptBody(fields, fields.jamf_policy!, CONFIG)
    await expect(`${JSON.stringify(body, null, 2)}\n`).toMatchFileSnapshot('./__golden__/jamf/script.json')
    await expect(policyXml(fields.jamf_policy!, '42', CONFIG)).toMatchFileSnapshot(
      './__golden__/jamf/policy.xml',
    )
    expect(body).toMatchObject({
      name: 'CAVRA Go Runtime stable',
      categoryId: '5',
      priority: 'AFTER',
      scriptContents: fields.jamf_policy!.install_script,
    })
  })
})

describe('Jamf Pro: reading answers (pure)', () => {
  const jamfError = (status: number, code: string, description: string) =>
    reply(
      status,
      JSON.stringify({ httpStatus: status, errors: [{ code, description, field: null, id: '0' }] }),
    )
  const page = (status: number, title: string, detail: string) => {
    const { body } = statusPage(status, title, detail)
    return reply(status, String(body))
  }

  it('matches script names exactly and refuses a name that differs only in case', () => {
    const read = readScriptSearch('CAVRA Go Runtime stable')
    const results = (...names: string[]) =>
      reply(
        200,
        JSON.stringify({
          totalCount: names.length,
          results: names.map((name, i) => ({ id: String(i + 1), name })),
        }),
      )
    expect(read(results())).toEqual({ kind: 'ok', value: null })
    expect(read(results('CAVRA Go Runtime stable-old', 'CAVRA Go Runtime stable'))).toEqual({
      kind: 'ok',
      value: '2',
    })
    expect(read(results('cavra go runtime STABLE'))).toMatchObject({
      kind: 'failed',
      reason: expect.stringMatching(/script 1 named "cavra go runtime STABLE".*rename one of them/),
    })
    expect(read(reply(200, '{}')).kind).toBe('failed')
  })

  it('maps every documented status of the Jamf Pro API', () => {
    const read = readScriptSaved
    expect(read(reply(201, '{"id":"17","href":"https://x/api/v1/scripts/17"}'))).toEqual({
      kind: 'ok',
      value: '17',
    })
    expect(read(reply(200, '{"id":"17","name":"n"}'))).toEqual({ kind: 'ok', value: '17' })
    expect(read(reply(201, '{}')).kind).toBe('failed')
    expect(read(jamfError(400, 'INVALID_FIELD', 'name is required'))).toEqual({
      kind: 'failed',
      reason: 'INVALID_FIELD name is required (Jamf Pro refused the request as malformed)',
    })
    expect(read(jamfError(401, 'INVALID_TOKEN', 'Unauthorized')).kind).toBe('failed')
    expect(read(jamfError(403, 'FORBIDDEN', 'Forbidden'))).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('lacks the Read, Create and Update Scripts privileges'),
    })
    expect(read(jamfError(404, 'INVALID_ID', 'Script with id 9 not found')).kind).toBe('failed')
    expect(read(jamfError(409, 'DUPLICATE_FIELD', 'duplicate name'))).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('another script already has this name'),
    })
    for (const status of [429, 500, 502, 503, 504])
      expect(read(reply(status, 'busy')).kind, String(status)).toBe('retryable')
  })

  it('reads the Classic API: policy XML, 404 for a new name, and status pages', () => {
    const read = readPolicyLookup('R&D')
    expect(
      read(page(404, 'Not Found', 'The server has not found anything matching the request URI')),
    ).toEqual({
      kind: 'ok',
      value: null,
    })
    expect(
      read(
        reply(200, '<?xml version="1.0"?><policy><general><id>9</id><name>R&amp;D</name></general></policy>'),
      ),
    ).toEqual({
      kind: 'ok',
      value: '9',
    })
    expect(
      read(
        reply(
          200,
          '<policies><size>2</size><policy><id>3</id><name>x</name></policy><policy><id>4</id><name>R&amp;D</name></policy></policies>',
        ),
      ),
    ).toEqual({ kind: 'ok', value: '4' })
    expect(read(reply(200, '{"policy":{}}')).kind).toBe('failed')
    expect(
      readPolicySaved(reply(201, '<?xml version="1.0" encoding="UTF-8"?><policy><id>12</id></policy>')),
    ).toEqual({
      kind: 'ok',
      value: '12',
    })
    expect(readPolicySaved(reply(201, 'ok')).kind).toBe('failed')
    const conflict = readPolicySaved(page(409, 'Conflict', 'Error: Unable to update the database'))
    expect(conflict).toMatchObject({ kind: 'failed' })
    expect(conflict.kind === 'failed' && conflict.reason).toMatch(
      /^Conflict: Error: Unable to update the database \(the Classic API refused to store the policy: it answers 409 for XML it cannot read, a name another policy has/,
    )
    expect(readPolicySaved(page(403, 'Forbidden', 'x'))).toMatchObject({
      reason: expect.stringContaining('Read, Create and Update Policies'),
    })
    expect(readPolicySaved(page(503, 'Service Unavailable', 'x')).kind).toBe('retryable')
    expect(jamfErrorText(reply(502, '<html>gateway</html>'))).toBe('<html>gateway</html>')
  })

  it('reads the legacy token answer', () => {
    expect(readAccountToken(reply(200, '{"token":"abc","expires":"2026-11-28T16:30:00Z"}'))).toEqual({
      kind: 'ok',
      value: 'abc',
    })
    expect(readAccountToken(reply(200, '{}')).kind).toBe('failed')
    expect(readAccountToken(reply(401, '{"httpStatus":401,"errors":[]}'))).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('refused the username or password'),
    })
    expect(readAccountToken(reply(503, '')).kind).toBe('retryable')
  })
})

describe('Jamf Pro: publication against the emulator', () => {
  it('creates the script and the policy on first publication', async () => {
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery.error).toBeNull()
    expect(steps(result)).toEqual([
      'token 200 success',
      'find script 200 success',
      'create script 201 success',
      'find policy 404 success',
      'create policy 201 success',
    ])
    const [script] = [...server.scripts.values()]
    const [policy] = [...server.policies.values()]
    expect(delivery).toMatchObject({
      success: true,
      records_sent: 2,
      remote_reference: `policy:${policy!.id} script:${script!.id}`,
    })
    expect(script).toMatchObject({ name: 'CAVRA Go Runtime stable', categoryId: '5', priority: 'AFTER' })
    expect(script!.scriptContents).toContain(
      'install -m 0755 cavra-runtime-darwin-arm64 /usr/local/bin/cavra-runtime',
    )
    expect(policy).toMatchObject({
      name: 'CAVRA Go Runtime stable',
      enabled: 'true',
      trigger: 'EVENT',
      triggerOther: 'cavra-runtime-stable',
      frequency: 'Ongoing',
      categoryId: 5,
      allComputers: 'false',
      computerGroups: [12, 31],
      scripts: [{ id: Number(script!.id), priority: 'After' }],
    })
    const create = server.requestsTo('/JSSResource/policies/id/0')[0]!
    expect(create.headers['content-type']).toBe('application/xml')
    expect(create.headers.authorization).toBe(`Bearer ${server.tokens[0]!.token}`)
    expect(delivery.request).toMatchObject({
      method: 'POST',
      url: `${server.url}/JSSResource/policies/id/0`,
      headers: { authorization: 'REDACTED', 'content-type': 'application/xml' },
      batches: 2,
    })
  })

  it('updates the same script and policy when the export is published again', async () => {
    const first = await deliver()
    const second = await deliver()
    expect(server.scripts.size).toBe(1)
    expect(server.policies.size).toBe(1)
    expect(second.deliveries[0]!.remote_reference).toBe(first.deliveries[0]!.remote_reference)
    expect(steps(second)).toEqual([
      'token 200 success',
      'find script 200 success',
      'update script 1 200 success',
      'find policy 200 success',
      'update policy 1 201 success',
    ])
    expect(server.requestsTo('/api/v1/scripts/1')[0]!.method).toBe('PUT')
    expect(server.requestsTo('/JSSResource/policies/id/1')[0]!.method).toBe('PUT')
  })

  it('carries names with &, <, quotes and slashes through RSQL, the URL and XML unchanged', async () => {
    for (const name of [`R&D <beta> "runtime" it's`, 'macOS 15/16 & later']) {
      const event = await publication({ policy_name: name, trigger: 'cavra&<beta>' })
      const first = await deliver({}, { event })
      const again = await deliver({}, { event })
      expect(first.deliveries[0]!.error).toBeNull()
      expect(again.deliveries[0]!.remote_reference).toBe(first.deliveries[0]!.remote_reference)
    }
    expect([...server.scripts.values()].map((s) => s.name)).toEqual([
      `R&D <beta> "runtime" it's`,
      'macOS 15/16 & later',
    ])
    expect([...server.policies.values()].map((p) => [p.name, p.triggerOther])).toEqual([
      [`R&D <beta> "runtime" it's`, 'cavra&<beta>'],
      ['macOS 15/16 & later', 'cavra&<beta>'],
    ])
  })

  it('authenticates with a legacy account and keeps the Basic blob out of the evidence', async () => {
    const blob = Buffer.from(`cavra-publisher:${SECRET}`).toString('base64')
    server.inject({ kind: 'status', status: 500, body: `token service failed for Basic ${blob}` }, 1, (r) =>
      r.path.endsWith('/auth/token'),
    )
    const result = await deliver(
      {
        client_id_env: undefined,
        client_secret_env: undefined,
        username: 'cavra-publisher',
        password_env: 'JAMF_PASSWORD',
      },
      { env: { JAMF_PASSWORD: SECRET } },
    )
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: true, records_sent: 2 })
    expect(server.tokens.map((t) => t.via)).toEqual(['account'])
    expect(server.requestsTo('/api/v1/auth/token')[1]!.headers.authorization).toBe(`Basic ${blob}`)
    expect(delivery.attempts[0]!.error).toBe('token service failed for Basic REDACTED')
    expect(JSON.stringify(result)).not.toContain(blob)
  })

  it('refreshes an expired token exactly once', async () => {
    const tokens = new TokenCache()
    await deliver({}, { tokens })
    server.expireTokens()
    const result = await deliver({}, { tokens })
    expect(result.deliveries[0]!.success).toBe(true)
    expect(steps(result)).toEqual([
      'find script 401 retryable',
      'token 200 success',
      'find script 200 success',
      'update script 1 200 success',
      'find policy 200 success',
      'update policy 1 201 success',
    ])
    expect(server.tokenRequests()).toHaveLength(2)
  })

  it('fails, naming the credential, when the refreshed token cannot be obtained', async () => {
    const tokens = new TokenCache()
    await deliver({}, { tokens })
    server.expireTokens()
    server.options.clients![0]!.clientSecret = 'rotated-in-jamf-0000'
    try {
      const result = await deliver({}, { tokens })
      expect(result.deliveries[0]).toMatchObject({ success: false, records_sent: 0 })
      expect(result.deliveries[0]!.error).toBe(
        'could not obtain a Jamf Pro access token: HTTP 401 from Jamf Pro after 1 attempt: invalid_client (check the client id and secret)',
      )
    } finally {
      server.options.clients![0]!.clientSecret = SECRET
    }
  })

  it('gives up after one refresh when Jamf refuses fresh tokens too', async () => {
    server.options.tokenLifetimeSeconds = 0
    const result = await deliver()
    expect(steps(result)).toEqual([
      'token 200 success',
      'find script 401 retryable',
      'token 200 success',
      'find script 401 failed',
    ])
    expect(result.deliveries[0]!.error).toMatch(
      /^HTTP 401 from Jamf Pro after 2 attempts: INVALID_TOKEN Unauthorized \(Jamf Pro refused a freshly issued token too; .* Read, Create and Update Scripts privileges\)$/,
    )
  })

  it('fails on a wrong client secret without showing it, and sends nothing else', async () => {
    const wrong = 'canary-wrong-jamf-secret-77'
    const result = await deliver({}, { env: { JAMF_CLIENT_SECRET: wrong } })
    expect(result.deliveries[0]).toMatchObject({ success: false, status_code: 401 })
    expect(result.deliveries[0]!.error).toMatch(/invalid_client \(check the client id and secret\)/)
    expect(JSON.stringify(result)).not.toContain(wrong)
    expect(server.requests.map((r) => r.path)).toEqual(['/api/oauth/token'])
  })

  it('surfaces the Classic API 409 clearly, and says the script was saved', async () => {
    server.options.unstorablePolicyNames = ['CAVRA Go Runtime stable']
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({
      success: false,
      status_code: 409,
      records_sent: 1,
      remote_reference: 'script:1',
    })
    expect(delivery.error).toMatch(
      /^HTTP 409 from Jamf Pro after 1 attempt: Conflict: Error: Unable to update the database \(the Classic API refused to store the policy: .*\) \(script 1 was saved; the policy was not\)$/,
    )
    expect(server.policies.size).toBe(0)
  })

  it('refuses XML the emulator cannot store, as Jamf does (the escaping tests above can fail)', async () => {
    await deliver()
    const token = server.tokens[0]!.token
    const post = (xml: string) =>
      fetch(`${server.url}/JSSResource/policies/id/0`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/xml' },
        body: xml,
      })
    for (const name of ['R&D', 'R <beta>', 'R&amp D']) {
      const response = await post(`<policy><general><name>${name}</name></general></policy>`)
      expect(response.status, name).toBe(409)
      expect(await response.text()).toContain('Error: Unable to update the database')
    }
    const duplicate = await post('<policy><general><name>cavra go runtime STABLE</name></general></policy>')
    expect(await duplicate.text()).toContain('Error: Duplicate name')
    const group = await post(
      '<policy><general><name>x</name></general><scope><computer_groups><computer_group><id>99</id></computer_group></computer_groups></scope></policy>',
    )
    expect(await group.text()).toContain('Error: Problem with computer group')
  })

  it('refuses to touch a script whose name differs only in case', async () => {
    server.addScript('cavra go runtime stable')
    const result = await deliver()
    expect(result.deliveries[0]).toMatchObject({ success: false, records_sent: 0 })
    expect(result.deliveries[0]!.error).toMatch(/script 1 named "cavra go runtime stable"/)
    expect(server.requests.filter((r) => r.method !== 'GET' && !r.path.includes('token'))).toEqual([])
  })

  it('names the missing privileges on 403 without retrying', async () => {
    server.options.deny = ['policies']
    const result = await deliver()
    expect(result.deliveries[0]).toMatchObject({ success: false, status_code: 403, attempt_count: 4 })
    expect(result.deliveries[0]!.error).toContain('lacks the Read, Create and Update Policies privileges')
  })

  it('refuses an event that is not an endpoint publication, sending nothing', async () => {
    const result = await deliver({}, { event: await firstEvent() })
    expect(result.deliveries[0]).toMatchObject({ success: false, attempt_count: 0 })
    expect(result.deliveries[0]!.error).toMatch(/no Jamf policy export/)
    expect(server.requests).toHaveLength(0)
  })
})

describe('Jamf Cloud: the load balancer and its cookie', () => {
  const cookieOf = (request: { headers: Record<string, string> }) => request.headers.cookie

  it('keeps every call of a delivery on the node that set the cookie, so the policy finds its new script', async () => {
    // Round robin over three nodes: without the cookie the policy lands on a node that has
    // not synced the script yet ("Problem with script").
    server.useCluster({ nodes: 3 })
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery.error).toBeNull()
    expect(delivery).toMatchObject({ success: true, records_sent: 2 })
    const [first, ...later] = server.requests
    expect(cookieOf(first!)).toBeUndefined()
    expect(later).toHaveLength(4)
    for (const request of later) expect(cookieOf(request)).toMatch(/^jpro-ingress=[0-9a-f]{16}$/)
    expect(new Set(server.requests.map((request) => server.nodeOf(request)))).toEqual(new Set([0]))
    // The cookie is a credential: redacted by name in the evidence, its value nowhere.
    expect(delivery.request?.headers.cookie).toBe('REDACTED')
    const value = cookieOf(later[0]!)!.split('=')[1]!
    expect(JSON.stringify(result)).not.toContain(value)
    expect(result.evidence).not.toContain(value)
  })

  it('stays pinned behind a balancer that sets its cookie again on every answer (AWSALB)', async () => {
    // The repeated Set-Cookie reaches the connector scrubbed (the value is a registered secret).
    server.useCluster({ nodes: 3, cookie: 'AWSALB', refreshCookie: true })
    const result = await deliver()
    expect(result.deliveries[0]!.error).toBeNull()
    const [, ...later] = server.requests
    for (const request of later) expect(cookieOf(request)).toMatch(/^AWSALB=[0-9a-f]{16}$/)
    expect(new Set(server.requests.map((request) => server.nodeOf(request)))).toEqual(new Set([0]))
  })

  it('looks a script whose create answer was lost up on the node that stored it, never creating a second', async () => {
    server.useCluster({ nodes: 2 })
    server.inject(
      { kind: 'reset-after-handling' },
      1,
      (r) => r.method === 'POST' && r.path === '/api/v1/scripts',
    )
    const result = await deliver()
    expect(result.deliveries[0]!.error).toBeNull()
    expect(server.scripts.size).toBe(1)
    expect(server.requestsTo('/api/v1/scripts').filter((r) => r.method === 'POST')).toHaveLength(1)
    expect(steps(result)).toContain('find script 200 success')
  })

  it('starts every delivery without cookies: the jar lives for one delivery of one connector', async () => {
    server.useCluster({ nodes: 2, syncAfterRequests: 1 })
    await deliver()
    const before = server.requests.length
    const second = await deliver()
    expect(second.deliveries[0]!.error).toBeNull()
    const [first, ...later] = server.requests.slice(before)
    expect(cookieOf(first!)).toBeUndefined()
    for (const request of later) expect(cookieOf(request)).toBeDefined()
  })

  it('scrubs a cookie a server echoes back in an error', async () => {
    server.useCluster({ nodes: 2 })
    server.inject(
      {
        kind: 'status',
        status: 400,
        body: (request) => ({
          httpStatus: 400,
          errors: [{ code: 'INVALID', description: `echo ${request.headers.cookie}`, field: null }],
        }),
      },
      1,
      (r) => r.method === 'POST' && r.path === '/api/v1/scripts',
    )
    const result = await deliver()
    const value = cookieOf(server.requestsTo('/api/v1/scripts').at(-1)!)!.split('=')[1]!
    expect(result.deliveries[0]!.error).toContain('echo jpro-ingress=REDACTED')
    expect(JSON.stringify(result)).not.toContain(value)
  })
})

describe('the per-delivery cookie jar (RFC 6265)', () => {
  let now = Date.parse('2026-11-28T15:00:00Z')
  const secrets: string[] = []
  const jar = () => {
    secrets.length = 0
    return new CookieJar(
      () => now,
      (value) => secrets.push(value),
    )
  }
  const url = 'https://acme.jamfcloud.com/api/v1/scripts'

  it('splits Set-Cookie headers the transport joined, though Expires dates hold commas', () => {
    expect(
      splitSetCookie(
        'AWSALB=abc123def456; Expires=Wed, 02 Dec 2026 15:00:00 GMT; Path=/, AWSALBCORS=abc123def456; Path=/; Secure',
      ),
    ).toEqual([
      'AWSALB=abc123def456; Expires=Wed, 02 Dec 2026 15:00:00 GMT; Path=/',
      'AWSALBCORS=abc123def456; Path=/; Secure',
    ])
  })

  it('sends back what the server set, by path, host and scheme, longer paths first', () => {
    const j = jar()
    j.store(
      url,
      'APBALANCEID=aws.usw2-std-pelican3-tc-8; path=/, JSESSIONID=session-abcdef123; Path=/api; HttpOnly',
    )
    expect(j.header(url)).toBe('JSESSIONID=session-abcdef123; APBALANCEID=aws.usw2-std-pelican3-tc-8')
    expect(j.header('https://acme.jamfcloud.com/JSSResource/policies/id/0')).toBe(
      'APBALANCEID=aws.usw2-std-pelican3-tc-8',
    )
    expect(j.header('https://acme.jamfcloud.com/apiv2')).toBe('APBALANCEID=aws.usw2-std-pelican3-tc-8')
    expect(j.header('https://other.jamfcloud.com/api/v1/scripts')).toBeUndefined()
    // The default path is the request path up to its last "/".
    j.store('https://acme.jamfcloud.com/api/oauth/token', 'scoped=oauth-only-1234')
    expect(j.header('https://acme.jamfcloud.com/api/oauth/other')).toContain('scoped=oauth-only-1234')
    expect(j.header(url)).not.toContain('scoped=')
    expect(secrets).toEqual(['aws.usw2-std-pelican3-tc-8', 'session-abcdef123', 'oauth-only-1234'])
  })

  it('honours Max-Age over Expires, drops expired cookies and replaces one of the same name and path', () => {
    const j = jar()
    j.store(url, 'jpro-ingress=node-a-0123456789; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/')
    expect(j.header(url)).toBe('jpro-ingress=node-a-0123456789')
    j.store(url, 'jpro-ingress=node-b-0123456789; Path=/')
    expect(j.header(url)).toBe('jpro-ingress=node-b-0123456789')
    j.store(url, 'short=1; Expires=Wed, 02 Dec 2026 15:00:00 GMT; Path=/')
    expect(j.header(url)).toBe('jpro-ingress=node-b-0123456789; short=1')
    now += 5 * 24 * 3600_000
    expect(j.header(url)).toBe('jpro-ingress=node-b-0123456789')
    j.store(url, 'jpro-ingress=gone; Max-Age=0; Path=/')
    expect(j.header(url)).toBeUndefined()
    expect(secrets).toEqual(['node-a-0123456789', 'node-b-0123456789'])
  })

  it('refuses a Domain the host is not in, matches subdomains of one it is in, and keeps Secure to https', () => {
    const j = jar()
    j.store(url, 'evil=x1234567890; Domain=example.com; Path=/')
    j.store(url, 'wide=w1234567890; Domain=.jamfcloud.com; Path=/')
    j.store(url, 'safe=s1234567890; Secure; Path=/')
    expect(j.header(url)).toBe('wide=w1234567890; safe=s1234567890')
    expect(j.header('https://other.jamfcloud.com/')).toBe('wide=w1234567890')
    expect(j.header('http://acme.jamfcloud.com/')).toBe('wide=w1234567890')
    expect(j.all.map((c) => c.name)).toEqual(['wide', 'safe'])
  })

  it('keeps the value it holds when the answer shows the cookie scrubbed, and ignores one it never held', () => {
    const j = jar()
    j.store(url, 'AWSALB=node-a-0123456789; Path=/')
    j.store(url, 'AWSALB=REDACTED; Max-Age=600; Path=/, other=REDACTEDtail; Path=/')
    expect(j.header(url)).toBe('AWSALB=node-a-0123456789')
    expect(j.all[0]!.expiresAt).toBe(now + 600_000)
  })

  it('adds its cookies to a configured Cookie header instead of replacing it', () => {
    const j = jar()
    j.store(url, 'jpro-ingress=node-a-0123456789; Path=/')
    const request = j.attach({
      method: 'GET',
      url,
      headers: { Cookie: 'mine=1', accept: 'application/json' },
    })
    expect(request.headers).toEqual({
      accept: 'application/json',
      cookie: 'mine=1; jpro-ingress=node-a-0123456789',
    })
  })
})
