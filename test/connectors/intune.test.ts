import { describe, expect, it } from 'vitest'
import {
  graphReason,
  type IntunePublication,
  installScript,
  intune,
  mergeAssignments,
  psQuote,
  publicationOf,
  readGraph,
  readScriptPage,
  scriptBody,
} from '../../src/connectors/intune.js'
import type { HttpResponse } from '../../src/delivery/http.js'
import { TokenCache } from '../../src/delivery/tokens.js'
import { EntraEmulator } from '../emulators/entra.js'
import { GraphEmulator } from '../emulators/graph.js'
import { CANARY } from '../support/canaries.js'
import {
  firstEvent,
  promotionFixtureEvent,
  publicationFixtureEvent,
  rollbackFixtureEvent,
} from '../support/deliver.js'
import { deliveryTo, useEmulators } from '../support/harness.js'

const TENANT = '9a1b2c3d-0000-4000-8000-00000000c0de'
const CLIENT = '0f1e2d3c-0000-4000-8000-0000000a11ce'
const GROUP = 'b7c8d9e0-0000-4000-8000-000000009999'
const OTHER_GROUP = 'a1a1a1a1-0000-4000-8000-000000000001'
const DISPLAY_NAME = 'CAVRA Go Runtime stable'
const SCRIPTS = '/beta/deviceManagement/deviceManagementScripts'

const entra = new EntraEmulator([{ tenantId: TENANT, clientId: CLIENT, clientSecret: CANARY.intuneSecret }])
const graph = new GraphEmulator(entra, { pageSize: 2 })

useEmulators(entra, graph)

const deliver = deliveryTo('intune', () => ({
  settings: {
    tenant_id: TENANT,
    client_id: CLIENT,
    client_secret_env: 'INTUNE_CLIENT_SECRET',
    authority_url_env: 'ENTRA_URL',
    graph_url_env: 'GRAPH_URL',
  },
  env: { INTUNE_CLIENT_SECRET: CANARY.intuneSecret, ENTRA_URL: entra.url, GRAPH_URL: graph.url },
  event: () => publicationFixtureEvent(['intune']),
}))

async function samplePublication(): Promise<IntunePublication> {
  const publication = publicationOf(await publicationFixtureEvent(['intune']))
  if (typeof publication === 'string') throw new Error(publication)
  return publication
}

function response(status: number, body: unknown = '', headers: Record<string, string> = {}): HttpResponse {
  return { status, headers, body: typeof body === 'string' ? body : JSON.stringify(body), truncated: false }
}

type GraphAnswer = { id: string; error: { code: string; message: string } }

const SINGLE_QUOTES = /['\u2018\u2019\u201a\u201b]/

/**
 * Reads the PowerShell single-quoted literal that starts `text`, as PowerShell's tokenizer
 * does: any of the four single-quote characters ends it unless the next one is a quote too.
 */
function readSingleQuoted(text: string): { value: string; rest: string } {
  if (!SINGLE_QUOTES.test(text[0] ?? '')) throw new Error(`not a single-quoted literal: ${text.slice(0, 20)}`)
  let value = ''
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!
    if (SINGLE_QUOTES.test(c)) {
      if (SINGLE_QUOTES.test(text[i + 1] ?? '')) {
        value += c
        i++
        continue
      }
      return { value, rest: text.slice(i + 1) }
    }
    value += c
  }
  throw new Error('unterminated literal')
}

/** The value PowerShell assigns to `$name` in the script, and what follows it on that line. */
function assigned(script: string, name: string): { value: string; rest: string } {
  const marker = `\n$${name} = `
  const at = script.indexOf(marker)
  if (at === -1) throw new Error(`no $${name} in the script`)
  const literal = readSingleQuoted(script.slice(at + marker.length))
  return { value: literal.value, rest: literal.rest.split('\n')[0]! }
}

describe('Intune: configuration', () => {
  const warn = () => {}
  const base = { tenant_id: TENANT, client_id: CLIENT, client_secret: 'x' }

  it('defaults to the global cloud: Entra token endpoint and the Graph .default scope', () => {
    const config = intune.configure(base, { name: 'intune', warn })
    expect(config.graphUrl).toBe('https://graph.microsoft.com')
    expect(config.auth.key).toBe(
      `oauth:https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token:${CLIENT}:https://graph.microsoft.com/.default`,
    )
    expect(config.groupId).toBeUndefined()
  })

  it('names each missing credential key', () => {
    for (const key of ['tenant_id', 'client_id']) {
      const settings: Record<string, unknown> = { ...base }
      delete settings[key]
      expect(() => intune.configure(settings, { name: 'intune', warn }), key).toThrow(
        new RegExp(`^${key} is required`),
      )
    }
    const { client_secret: _, ...withoutSecret } = base
    expect(() => intune.configure(withoutSecret, { name: 'intune', warn })).toThrow(
      /^a credential is required: set one of client_secret_env, client_certificate_file, federated_token_file or federated_token: github-actions\./,
    )
  })

  it('refuses a Graph URL with a version path, a group name and a non-GUID client id', () => {
    expect(() =>
      intune.configure({ ...base, graph_url: 'https://graph.microsoft.com/beta' }, { name: 'i', warn }),
    ).toThrow(/graph_url must be a root URL/)
    expect(() => intune.configure({ ...base, group_id: 'Windows devices' }, { name: 'i', warn })).toThrow(
      /group_id .* object ID/,
    )
    expect(() => intune.configure({ ...base, client_id: 'my-app' }, { name: 'i', warn })).toThrow(/client_id/)
  })

  it('accepts a national cloud and a tenant domain, and warns about http:// off this machine', () => {
    const warnings: string[] = []
    const config = intune.configure(
      {
        ...base,
        tenant_id: 'contoso.onmicrosoft.us',
        authority_url: 'https://login.microsoftonline.us/',
        graph_url: 'http://graph.example.internal',
      },
      { name: 'intune-gov', warn: (w) => warnings.push(w) },
    )
    expect(config.auth.key).toContain(
      'https://login.microsoftonline.us/contoso.onmicrosoft.us/oauth2/v2.0/token',
    )
    expect(config.auth.key).toMatch(/:http:\/\/graph\.example\.internal\/\.default$/)
    expect(warnings).toEqual(['connector intune-gov: graph_url uses http://; tokens travel unencrypted.'])
  })
})

describe('Intune: the platform script (pure)', () => {
  it('builds the sample export into the golden Graph body and PowerShell script', async () => {
    const publication = await samplePublication()
    const body = scriptBody(publication)
    const content = Buffer.from(body.scriptContent as string, 'base64')
    expect([...content.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    expect(content.subarray(3).toString('utf8')).toBe(installScript(publication))
    await expect(`${JSON.stringify(body, null, 2)}\n`).toMatchFileSnapshot(
      './__golden__/intune/script-body.json',
    )
    await expect(installScript(publication)).toMatchFileSnapshot('./__golden__/intune/install-script.ps1')
    expect(body).toMatchObject({
      '@odata.type': '#microsoft.graph.deviceManagementScript',
      displayName: DISPLAY_NAME,
      runAsAccount: 'system',
      enforceSignatureCheck: false,
      runAs32Bit: false,
      fileName: 'cavra-stable.ps1',
    })
    expect(body.description).toContain('apr_5e1f0a2b9c88 (approved)')
  })

  it('assigns every export value as one inert PowerShell literal', async () => {
    const script = installScript(await samplePublication())
    expect(assigned(script, 'InstallCommand')).toEqual({
      value: 'powershell.exe -ExecutionPolicy Bypass -File install-cavra-runtime.ps1',
      rest: '',
    })
    expect(assigned(script, 'DetectionPath')).toEqual({
      value: '%ProgramFiles%\\CAVRA\\cavra-runtime.exe',
      rest: '',
    })
    expect(script).toContain("  '7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b'\n)")
  })

  it('keeps quotes, $ and smart quotes in a path or command from breaking out of the literal', async () => {
    const sample = await samplePublication()
    const hostile = {
      command: `cmd /c "echo it's $(Remove-Item C:\\ -Recurse)"'; Stop-Computer; '\u2019; Stop-Computer #\n$env:x = 1`,
      path: `%ProgramFiles%\\O'Brien $HOME \u2018x\u2019 \`$(calc)\\app.exe`,
    }
    const script = installScript({
      ...sample,
      app: {
        ...sample.app,
        install_command: hostile.command,
        detection_rule: { ...sample.app.detection_rule, path: hostile.path },
      },
    })
    expect(assigned(script, 'InstallCommand').value).toBe(hostile.command)
    expect(assigned(script, 'DetectionPath')).toEqual({ value: hostile.path, rest: '' })
    expect(psQuote("it's")).toBe("'it''s'")
    expect(psQuote('a\u2019b')).toBe("'a\u2019\u2019b'")
    expect(psQuote('$x `n $(y)')).toBe("'$x `n $(y)'")
  })

  it('refuses events that are not Intune publications', async () => {
    for (const event of [await firstEvent(), await promotionFixtureEvent(), await rollbackFixtureEvent()]) {
      expect(publicationOf(event)).toMatch(/no valid intune_app/)
    }
    expect(publicationOf(await publicationFixtureEvent(['jamf']))).toMatch(/no valid intune_app/)
  })
})

describe('Intune: reading Graph answers (pure)', () => {
  const graphBody = (code: string, message: string) => ({
    error: { code, message, innerError: { 'request-id': 'req-1', date: '2026-11-28T12:00:00' } },
  })

  it('maps every documented status to success, retry or a final error with Graph’s own text', () => {
    const id = (status: number, body: unknown = '', headers = {}) =>
      readGraph(response(status, body, headers), (b) => (typeof b.id === 'string' ? b.id : undefined))
    expect(id(201, { id: 'abc' })).toEqual({ kind: 'ok', value: 'abc' })
    expect(id(200, { id: 'abc' })).toEqual({ kind: 'ok', value: 'abc' })
    expect(id(201, {}).kind).toBe('failed')
    expect(id(400, graphBody('BadRequest', 'Invalid property\r\nmore'))).toEqual({
      kind: 'failed',
      reason: 'BadRequest: Invalid property (request-id req-1)',
    })
    expect(id(401, graphBody('InvalidAuthenticationToken', 'Access token is empty.'))).toMatchObject({
      kind: 'failed',
      reason: expect.stringMatching(/^InvalidAuthenticationToken: .*check tenant_id and graph_url/),
    })
    const forbidden = id(
      403,
      graphBody('Forbidden', 'Application is not authorized to perform this operation.'),
    )
    expect(forbidden.kind).toBe('failed')
    expect(forbidden.kind === 'failed' && forbidden.reason).toMatch(
      /DeviceManagementScripts\.ReadWrite\.All .*DeviceManagementConfiguration\.ReadWrite\.All.*admin consent/,
    )
    expect(id(404, graphBody('ResourceNotFound', 'Resource not found'))).toMatchObject({ kind: 'failed' })
    expect(id(409, graphBody('Conflict', 'x')).kind).toBe('failed')
    for (const status of [429, 500, 502, 503, 504]) {
      expect(id(status, graphBody('TooManyRequests', 'x')).kind, String(status)).toBe('retryable')
    }
    expect(graphReason(response(502, '<html>Bad gateway</html>'))).toBe('<html>Bad gateway</html>')
  })

  it('reads a page of scripts and its nextLink', () => {
    expect(
      readScriptPage(
        response(200, {
          value: [{ id: 's1', displayName: 'A' }, { displayName: 'no id' }],
          '@odata.nextLink': 'https://graph.microsoft.com/beta/x?$skiptoken=2',
        }),
      ),
    ).toEqual({
      kind: 'ok',
      value: {
        items: [{ id: 's1', displayName: 'A' }],
        nextLink: 'https://graph.microsoft.com/beta/x?$skiptoken=2',
      },
    })
    expect(readScriptPage(response(200, { nope: true })).kind).toBe('failed')
  })

  it('merges our group into the existing assignments once, and never over an exclusion', async () => {
    const other = { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId: OTHER_GROUP }
    const all = { '@odata.type': '#microsoft.graph.allDevicesAssignmentTarget' }
    const merged = mergeAssignments([other, all], GROUP)
    expect(merged.kind).toBe('merged')
    if (merged.kind === 'merged') {
      await expect(`${JSON.stringify(merged.body, null, 2)}\n`).toMatchFileSnapshot(
        './__golden__/intune/assign-body.json',
      )
    }
    expect(
      mergeAssignments(
        [other, { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId: GROUP.toUpperCase() }],
        GROUP,
      ),
    ).toEqual({ kind: 'present' })
    expect(
      mergeAssignments(
        [{ '@odata.type': '#microsoft.graph.exclusionGroupAssignmentTarget', groupId: GROUP }],
        GROUP,
      ),
    ).toEqual({ kind: 'excluded' })
  })
})

describe('Intune: delivery against Entra and Graph emulators', () => {
  it('creates the script on the first publication, with a Graph token for the configured scope', async () => {
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: true, status_code: 201, records_sent: 1, category: 'endpoint' })
    expect(graph.scripts.size).toBe(1)
    const [script] = [...graph.scripts.values()]
    expect(delivery.remote_reference).toBe(script!.id)
    expect(script).toMatchObject({
      displayName: DISPLAY_NAME,
      runAsAccount: 'system',
      fileName: 'cavra-stable.ps1',
    })
    expect(graph.decoded(script!.id)).toBe(installScript(await samplePublication()))
    const form = new URLSearchParams(entra.tokenRequests()[0]!.text)
    expect(form.get('scope')).toBe(`${graph.url}/.default`)
    const list = graph.requestsTo(SCRIPTS).find((r) => r.method === 'GET')!
    expect(list.query.get('$select')).toBe('id,displayName')
    expect(list.query.has('$filter')).toBe(false)
    expect(delivery.request).toMatchObject({ method: 'POST', headers: { authorization: 'REDACTED' } })
    expect(delivery.attempts.map((a) => a.step)).toEqual(['token', 'find script', 'create script'])
  })

  it('updates the same object on re-publication instead of creating a second one', async () => {
    const first = await deliver()
    const id = first.deliveries[0]!.remote_reference!
    const created = graph.scripts.get(id)!.createdDateTime
    const second = await deliver()
    expect(second.deliveries[0]).toMatchObject({ success: true, status_code: 200, remote_reference: id })
    expect(graph.scripts.size).toBe(1)
    expect(graph.scripts.get(id)!.createdDateTime).toBe(created)
    expect(graph.requests.filter((r) => r.method === 'PATCH').map((r) => r.path)).toEqual([
      `${SCRIPTS}/${id}`,
    ])
  })

  it('finds the script on a later page by following @odata.nextLink', async () => {
    for (let i = 0; i < 5; i++) graph.seed(`Other script ${i}`)
    const existing = graph.seed(DISPLAY_NAME)
    const result = await deliver()
    expect(result.deliveries[0]).toMatchObject({ success: true, remote_reference: existing.id })
    const pages = graph.requestsTo(SCRIPTS).filter((r) => r.method === 'GET')
    expect(pages.map((r) => r.query.get('$skiptoken'))).toEqual([null, '2', '4'])
    expect(graph.scripts.size).toBe(6)
    expect(graph.decoded(existing.id)).toContain('$InstallCommand = ')
  })

  it('never follows a nextLink to another host with the token', async () => {
    for (let i = 0; i < 3; i++) graph.seed(`Other script ${i}`)
    graph.nextLinkOrigin = 'http://127.0.0.2:9'
    const result = await deliver()
    expect(result.deliveries[0]!.success).toBe(false)
    expect(result.deliveries[0]!.error).toMatch(/paging went .* off http:\/\/127\.0\.0\.1/)
    expect(graph.requests.some((r) => r.method === 'POST')).toBe(false)
  })

  it('refuses to guess between two scripts with the export’s display name', async () => {
    const a = graph.seed(DISPLAY_NAME)
    const b = graph.seed(DISPLAY_NAME)
    const result = await deliver()
    expect(result.deliveries[0]!.success).toBe(false)
    expect(result.deliveries[0]!.error).toContain(
      `2 Intune scripts are named "${DISPLAY_NAME}" (${a.id}, ${b.id})`,
    )
    expect(graph.requests.some((r) => r.method !== 'GET')).toBe(false)
  })

  it('keeps a pre-existing assignment and adds our group exactly once', async () => {
    const existing = graph.seed(DISPLAY_NAME)
    const other = { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId: OTHER_GROUP }
    graph.assignments.set(existing.id, [other])
    const result = await deliver({ group_id: GROUP })
    expect(result.deliveries[0]).toMatchObject({ success: true, remote_reference: existing.id })
    expect(graph.assignments.get(existing.id)).toEqual([
      other,
      { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId: GROUP },
    ])
    const [assign] = graph.requestsTo(`${SCRIPTS}/${existing.id}/assign`)
    const sent = JSON.parse(assign!.text).deviceManagementScriptAssignments as Array<{
      target: { groupId?: string }
    }>
    expect(sent.filter((a) => a.target.groupId === GROUP)).toHaveLength(1)

    const again = await deliver({ group_id: GROUP })
    expect(again.deliveries[0]!.success).toBe(true)
    expect(graph.requestsTo(`${SCRIPTS}/${existing.id}/assign`)).toHaveLength(1)
    expect(graph.assignments.get(existing.id)).toHaveLength(2)
  })

  it('does not assign over an exclusion of the same group, and says the script was still updated', async () => {
    const existing = graph.seed(DISPLAY_NAME)
    graph.assignments.set(existing.id, [
      { '@odata.type': '#microsoft.graph.exclusionGroupAssignmentTarget', groupId: GROUP },
    ])
    const result = await deliver({ group_id: GROUP })
    expect(result.deliveries[0]).toMatchObject({
      success: false,
      remote_reference: existing.id,
      records_sent: 1,
    })
    expect(result.deliveries[0]!.error).toMatch(/was updated but not assigned .* excluded/)
    expect(graph.requestsTo(`${SCRIPTS}/${existing.id}/assign`)).toHaveLength(0)
  })

  it('backs off on 429 without Retry-After, as Intune sometimes answers', async () => {
    graph.throttle(1)
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery.success).toBe(true)
    const throttled = delivery.attempts.find((a) => a.status_code === 429)!
    expect(throttled).toMatchObject({
      step: 'find script',
      outcome: 'retryable',
      error: 'TooManyRequests: Too many requests. (request-id 3c0b8a2e-0000-0000-0000-000000000000)',
    })
    expect(throttled.retry_after_ms).toBeLessThan(500)
  })

  it('refreshes an expired token exactly once', async () => {
    const tokens = new TokenCache()
    await deliver({}, { tokens })
    entra.revokeAll()
    const before = entra.tokenRequests().length
    const result = await deliver({}, { tokens })
    const delivery = result.deliveries[0]!
    expect(delivery.success).toBe(true)
    expect(entra.tokenRequests().length - before).toBe(1)
    expect(delivery.attempts.slice(0, 3).map((a) => [a.step, a.status_code, a.outcome])).toEqual([
      ['find script', 401, 'retryable'],
      ['token', 200, 'success'],
      ['find script', 200, 'success'],
    ])
  })

  it('fails, naming the audience problem, when Graph refuses the refreshed token too', async () => {
    graph.audience = 'https://graph.microsoft.us/.default'
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: false, status_code: 401 })
    expect(delivery.error).toMatch(
      /InvalidAuthenticationToken: Access token validation failure\. Invalid audience/,
    )
    expect(delivery.attempts.filter((a) => a.step === 'token')).toHaveLength(2)
  })

  it('fails with AADSTS7000215 on a wrong client secret, without showing it', async () => {
    const wrong = 'not-the-intune-secret-4f2a9c'
    const result = await deliver({}, { env: { INTUNE_CLIENT_SECRET: wrong } })
    const delivery = result.deliveries[0]!
    expect(delivery.success).toBe(false)
    expect(delivery.error).toMatch(
      /could not obtain an Entra access token: .*AADSTS7000215: Invalid client secret/,
    )
    expect(JSON.stringify(result)).not.toContain(wrong)
    expect(graph.requests).toHaveLength(0)
  })

  it('explains the missing application permission on 403', async () => {
    graph.readOnly = true
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: false, status_code: 403 })
    expect(delivery.error).toMatch(
      /^HTTP 403 from Microsoft Intune after 1 attempt: Forbidden: Application is not authorized/,
    )
    expect(delivery.error).toMatch(
      /application permission DeviceManagementScripts\.ReadWrite\.All .* admin consent/,
    )
    expect(delivery.attempts.filter((a) => a.step === 'create script')).toHaveLength(1)
  })
})

describe('Intune: the Graph emulator is strict', () => {
  async function token(): Promise<string> {
    const answer = await fetch(`${entra.url}/${TENANT}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: CLIENT,
        client_secret: CANARY.intuneSecret,
        scope: graph.scope,
      }),
    })
    return ((await answer.json()) as { access_token: string }).access_token
  }

  async function post(path: string, body: unknown, bearer?: string) {
    const answer = await fetch(`${graph.url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      },
      body: JSON.stringify(body),
    })
    return {
      status: answer.status,
      body: (answer.status === 204 ? null : await answer.json()) as GraphAnswer,
    }
  }

  it('rejects requests without a Graph token, and bodies Graph would reject', async () => {
    const valid = scriptBody(await samplePublication())
    expect((await post(SCRIPTS, valid)).body.error.code).toBe('InvalidAuthenticationToken')
    const bearer = await token()
    expect(
      (await post(SCRIPTS, { ...valid, scriptContent: 'not base64!' }, bearer)).body.error.message,
    ).toMatch(/Edm\.Binary/)
    expect((await post(SCRIPTS, { ...valid, runAsAccount: 'admin' }, bearer)).status).toBe(400)
    expect((await post(SCRIPTS, { ...valid, '@odata.type': undefined }, bearer)).status).toBe(400)
    expect((await post(SCRIPTS, { ...valid, detectionRule: {} }, bearer)).body.error.message).toMatch(
      /property 'detectionRule' does not exist/,
    )
    const created = await post(SCRIPTS, valid, bearer)
    expect(created.status).toBe(201)
    const assign = `${SCRIPTS}/${created.body.id}/assign`
    expect(
      (await post(assign, { deviceManagementScriptAssignments: [{ target: { groupId: GROUP } }] }, bearer))
        .status,
    ).toBe(400)
    expect((await post(assign, { assignments: [] }, bearer)).status).toBe(400)
    expect((await post(assign, { deviceManagementScriptAssignments: [] }, bearer)).status).toBe(204)
  })
})
