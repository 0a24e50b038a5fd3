import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Stack } from '../emulators/stack.js'
import { CANARY, canaryStackSecrets, leakedCanaries } from '../support/canaries.js'
import { BIN, filesUnder, PROJECT_ROOT, runCli } from '../support/cli.js'
import { Workspace } from '../support/workspace.js'

/**
 * `cavra serve` as a subprocess against every vendor emulator: the earlier tool's curl
 * examples with a bearer token (what the emulators received, the store, history and
 * dashboards, compared with the commands' own output), authentication, validation and
 * problem answers, the OpenAPI document (and every answer checked against it), 20 concurrent
 * deliveries on one store, a SIGTERM during a delivery, and no secret anywhere.
 */

type Parsed = ReturnType<typeof JSON.parse>

const TOKEN = 'cavra-api-token-canary-7f3a9c1e5b'
/** A second token, as during a rotation. */
const OLD_TOKEN = 'cavra-api-token-canary-old-2d8e4b'
const TOKENS = [TOKEN, OLD_TOKEN]
const STORE = 'store/metadata.json'

const stack = new Stack(canaryStackSecrets())
let ws: Workspace
let server: Served

/** Every answer of the suite: scanned for secrets, and checked against the OpenAPI document. */
const answers: Answer[] = []

interface Answer {
  method: string
  path: string
  status: number
  headers: Headers
  text: string
  contentType: string
}

interface Served {
  child: ChildProcessWithoutNullStreams
  url: string
  stderr(): string
  stdout(): string
  exit: Promise<number>
}

/** Starts `cavra serve --port 0` and waits for the address it logs. */
async function serve(args: string[], env: Record<string, string>, cwd = ws.dir): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  child.stdin.end()
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => {
    stdout += chunk
  })
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  const exit = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cavra serve did not start:\n${stderr}`)), 30_000)
    child.stderr.on('data', () => {
      const match = /listening on (http:\/\/[^"\s]+)/.exec(stderr)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    void exit.then((code) => {
      clearTimeout(timer)
      reject(new Error(`cavra serve exited ${code}:\n${stderr}`))
    })
  })
  return { child, url, exit, stderr: () => stderr, stdout: () => stdout }
}

interface Call {
  body?: unknown
  /** Raw body text (sent as is). */
  raw?: string | Buffer
  token?: string | null
  headers?: Record<string, string>
  on?: Served
}

async function call(method: string, path: string, options: Call = {}): Promise<Answer & { json: Parsed }> {
  const target = options.on ?? server
  const token = options.token === undefined ? TOKEN : options.token
  const response = await fetch(`${target.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(options.body !== undefined || options.raw !== undefined
        ? { 'content-type': 'application/json' }
        : {}),
      ...options.headers,
    },
    body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  })
  const text = await response.text()
  const answer: Answer = {
    method,
    path: path.replace(/\?.*$/, ''),
    status: response.status,
    headers: response.headers,
    text,
    contentType: (response.headers.get('content-type') ?? '').split(';')[0]!,
  }
  answers.push(answer)
  let json: Parsed
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { ...answer, json }
}

const post = (path: string, body?: unknown, options: Call = {}) => call('POST', path, { ...options, body })
const get = (path: string, options: Call = {}) => call('GET', path, options)

/** The CLI on the same workspace and environment, for comparing documents. */
const cavra = (args: string[]) => runCli(args, { cwd: ws.dir, env: stack.env() })

function expectProblem(answer: Answer & { json: Parsed }, status: number): Parsed {
  expect(answer.status, answer.text).toBe(status)
  expect(answer.contentType).toBe('application/problem+json')
  expect(answer.json).toMatchObject({
    type: expect.stringMatching(/^urn:cavra:problem:/),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    request_id: expect.any(String),
  })
  expect(answer.text).not.toMatch(/\bat .+\.(c?js|ts):\d+/)
  return answer.json
}

const storeItems = (): Parsed[] => JSON.parse(readFileSync(ws.path(STORE), 'utf8')).items

function setUpWorkspace(): void {
  ws = new Workspace('cavra-serve-')
  ws.write('.cavra/connectors.json', { connectors: stack.connectors() })
  // The earlier tool's examples name rpe_prod, rre_prod and eme_stable.
  const promotion = JSON.parse(
    readFileSync(`${PROJECT_ROOT}/examples/release/rollout-promotion-execution.json`, 'utf8'),
  )
  ws.write('artifacts/prod/rollout-promotion-execution.json', { ...promotion, execution_id: 'rpe_prod' })
  const rollback = JSON.parse(
    readFileSync(`${PROJECT_ROOT}/examples/release/rollout-rollback-execution.json`, 'utf8'),
  )
  ws.write('artifacts/prod/rollout-rollback-execution.json', {
    ...rollback,
    rollback_id: 'rre_prod',
    promotion_execution_id: 'rpe_prod',
  })
  cpSync(`${PROJECT_ROOT}/examples/endpoint-export/stable`, ws.path('artifacts/exports/stable'), {
    recursive: true,
  })
  const manifestPath = ws.path('artifacts/exports/stable/endpoint-management-export-manifest.json')
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))
  writeFileSync(manifestPath, JSON.stringify({ ...manifest, export_id: 'eme_stable' }, null, 2))
  // Two artifacts with one id: the server cannot choose.
  ws.write('artifacts/dup/a.json', { ...promotion, execution_id: 'rpe_dup' })
  ws.write('artifacts/dup/b/b.json', { ...promotion, execution_id: 'rpe_dup' })
}

beforeAll(async () => {
  await stack.start()
  setUpWorkspace()
  server = await serve(['--artifacts', 'artifacts', '--metadata-json', STORE], {
    ...stack.env(),
    CAVRA_API_TOKEN: ` ${OLD_TOKEN} ,${TOKEN}`,
  })
})

afterAll(async () => {
  if (server.child.exitCode === null) {
    server.child.kill('SIGKILL')
    await server.exit
  }
  await stack.stop()
  // No planted secret, and no API token, in any answer, log line or file.
  for (const answer of answers) {
    expect(leakedCanaries(answer.text, TOKENS), `${answer.method} ${answer.path}`).toEqual([])
    expect(leakedCanaries([...answer.headers].join('\n'), TOKENS)).toEqual([])
  }
  expect(leakedCanaries(server.stderr(), TOKENS)).toEqual([])
  expect(leakedCanaries(server.stdout(), TOKENS)).toEqual([])
  // (tokens.txt is the test's own token file.)
  for (const file of filesUnder(ws.dir).filter((path) => !path.endsWith('tokens.txt'))) {
    expect(leakedCanaries(readFileSync(file, 'utf8'), TOKENS), file).toEqual([])
  }
  ws.remove()
})

describe('authentication', () => {
  it('answers /healthz to anyone and everything else only with a configured bearer token', async () => {
    const health = await get('/healthz', { token: null })
    expect(health.status).toBe(200)
    expect(health.json).toEqual({ status: 'ok' })

    const anonymous = await get('/integrations', { token: null })
    expectProblem(anonymous, 401)
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer\b/)
    const wrong = await get('/integrations', { token: CANARY.jiraToken })
    expectProblem(wrong, 401)
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/)
    expect((await get('/openapi.json', { token: `${TOKEN}x` })).status).toBe(401)
    expect(
      (await get('/integrations', { headers: { authorization: `Basic ${TOKEN}` }, token: null })).status,
    ).toBe(401)
    // Unknown paths are not revealed without a token either.
    expect((await get('/no-such-endpoint', { token: null })).status).toBe(401)

    // Both tokens of a rotation work.
    expect((await get('/integrations', { token: OLD_TOKEN })).status).toBe(200)
    expect((await get('/integrations', { token: TOKEN })).status).toBe(200)
    expect(server.stderr()).toContain('"path":"/integrations","status":401')
  })
})

describe("the earlier tool's examples, with a token", () => {
  it('registers an integration (201, then 200) and reads it back', async () => {
    const record = {
      integration_id: 'splunk',
      provider: 'splunk',
      category: 'siem',
      status: 'active',
      health_status: 'healthy',
    }
    const created = await post('/integrations', record)
    expect(created.status, created.text).toBe(201)
    expect(created.headers.get('location')).toBe('/integrations/splunk')
    expect(created.json).toMatchObject({
      ...record,
      connector: 'splunk',
      schema_version: 'cavra.integration.v1',
    })
    const updated = await post('/integrations', { ...record, owner: 'soc' })
    expect(updated.status, updated.text).toBe(200)
    expect(updated.json).toMatchObject({ owner: 'soc', created_at: created.json.created_at })

    expect((await get('/integrations/splunk')).json).toMatchObject({ integration_id: 'splunk', owner: 'soc' })
    const list = await get('/integrations')
    expect(list.json.integrations.map((r: Parsed) => r.integration_id)).toEqual(['splunk'])
    // Persisted in the default registry file, written whole.
    const registry = JSON.parse(readFileSync(ws.path('.cavra/integrations.json'), 'utf8'))
    expect(registry.integrations).toHaveLength(1)
  })

  it('delivers an event through the integration, with evidence and a store item', async () => {
    const answer = await post('/integrations/splunk/deliver', {
      event: {
        event_type: 'cavra.evidence_bundle',
        session_id: 'demo-session',
        decision_count: 7,
        blocked_count: 4,
        approval_required_count: 1,
        max_severity: 'high',
      },
      retries: 1,
    })
    expect(answer.status, answer.text).toBe(200)
    expect(answer.json).toMatchObject({
      schema_version: 'cavra.connector.delivery.v1',
      event_type: 'cavra.evidence_bundle',
      event_id: 'demo-session',
      severity: 'high',
      success: true,
      source_artifact: null,
      deliveries: [{ provider: 'splunk', success: true, records_sent: 1 }],
    })
    // Splunk received the summary record of the event.
    expect(stack.splunk.events).toHaveLength(1)
    expect(stack.splunk.events[0]!.event).toMatchObject({ session_id: 'demo-session' })
    // The evidence file of `integration deliver`, in its default folder.
    expect(answer.json.delivery_evidence).toMatch(
      /^\.cavra\/integrations\/deliveries\/demo-session-.*\.json$/,
    )
    const evidence = JSON.parse(readFileSync(ws.path(answer.json.delivery_evidence), 'utf8'))
    expect(evidence.event_id).toBe('demo-session')
    expect(answer.json.metadata).toMatchObject({
      metadata_kind: 'integration-connector-delivery',
      event_id: 'demo-session',
      record_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    })
    const record = (await get('/integrations/splunk')).json
    expect(record).toMatchObject({
      health_status: 'healthy',
      last_delivery_success: true,
      last_delivery_evidence: answer.json.delivery_evidence,
    })
  })

  it("follows the integration's health: a refused delivery answers 200 and marks it failed", async () => {
    stack.splunk.inject({ kind: 'status', status: 403, body: { text: 'Invalid token', code: 4 } }, 10)
    const answer = await post('/integrations/splunk/deliver', {
      event: { event_type: 'cavra.evidence_bundle', session_id: 'refused-session', max_severity: 'low' },
      retries: 0,
    })
    stack.splunk.clearFaults()
    expect(answer.status, answer.text).toBe(200)
    expect(answer.json.success).toBe(false)
    expect((await get('/integrations/splunk')).json.health_status).toBe('failed')
  })

  it('delivers the promotion audit of rpe_prod to the webhook and indexes it', async () => {
    const answer = await post('/promotion-executions/rpe_prod/audit-export/deliver', {
      provider: 'webhook',
      retries: 1,
    })
    expect(answer.status, answer.text).toBe(200)
    expect(answer.json).toMatchObject({
      event_type: 'cavra.rollout_promotion_execution',
      event_id: 'rpe_prod',
      severity: 'high',
      success: true,
      source_artifact: { path: ws.path('artifacts/prod/rollout-promotion-execution.json') },
      deliveries: [{ provider: 'webhook', success: true }],
    })
    expect(stack.webhook.deliveries.map((d) => d.payload.event_id)).toEqual(['rpe_prod'])
    expect(answer.json.delivery_evidence).toMatch(/^\.cavra\/release\/promotion-audit-deliveries\//)
    expect(answer.json.metadata).toMatchObject({
      metadata_kind: 'release-connector-delivery',
      connector_delivery_source: 'release_governance_promotion',
    })
  })

  it('delivers the rollback rre_prod; a failing webhook is a 200 with success false', async () => {
    stack.webhook.inject({ kind: 'status', status: 503, body: 'Service Unavailable' }, 10)
    const answer = await post('/rollback-executions/rre_prod/deliver', { provider: 'webhook', retries: 1 })
    stack.webhook.clearFaults()
    expect(answer.status, answer.text).toBe(200)
    expect(answer.json).toMatchObject({
      event_id: 'rre_prod',
      severity: 'critical',
      success: false,
      deliveries: [{ provider: 'webhook', success: false, status_code: 503, attempt_count: 2 }],
    })
    expect(answer.json.delivery_evidence).toMatch(/^\.cavra\/release\/rollback-deliveries\//)
    expect(answer.json.metadata).toMatchObject({ delivery_success: false, failed_providers: ['webhook'] })
  })

  it('publishes the export eme_stable to Jamf Pro, then records a failed publication', async () => {
    const published = await post('/endpoint-management-exports/eme_stable/publish', {
      provider: 'jamf',
      retries: 1,
    })
    expect(published.status, published.text).toBe(200)
    expect(published.json).toMatchObject({
      event_type: 'cavra.endpoint_management_export_publication',
      success: true,
      deliveries: [{ provider: 'jamf', success: true }],
    })
    expect(stack.jamf.scripts.size).toBe(1)
    expect(stack.jamf.policies.size).toBe(1)
    expect(stack.graph.requests).toEqual([])
    expect(published.json.metadata).toMatchObject({
      metadata_kind: 'endpoint-management-publication-delivery',
      export_id: 'eme_stable',
      channel: 'stable',
    })
    expect(published.json.delivery_evidence).toMatch(/^\.cavra\/release\/endpoint-publication-deliveries\//)

    stack.jamf.inject({ kind: 'status', status: 503, body: 'unavailable' }, 50)
    const failed = await post('/endpoint-management-exports/eme_stable/publish', {
      provider: 'jamf',
      retries: 1,
    })
    stack.jamf.clearFaults()
    expect(failed.status, failed.text).toBe(200)
    expect(failed.json.success).toBe(false)
  })

  it('answers the history queries with the documents of the history commands', async () => {
    const history = await get('/release-connector-deliveries?provider=webhook&success=false')
    expect(history.status, history.text).toBe(200)
    expect(history.json).toMatchObject({
      schema_version: 'cavra.release.connector_delivery_history.v1',
      total: 1,
      limit: 50,
      offset: 0,
      items: [{ event_id: 'rre_prod', provider: 'webhook', success: false, status_code: 503 }],
    })
    const cli = await cavra([
      'release',
      'connector-delivery-history',
      '--provider',
      'webhook',
      '--no-success',
      '--json',
      '--metadata-json',
      STORE,
    ])
    expect(cli.code, cli.stderr).toBe(0)
    expect(history.json).toEqual(JSON.parse(cli.stdout))
    // Integration deliveries indexed by the server are governance deliveries too.
    const all = (await get('/release-connector-deliveries?limit=2&offset=1')).json
    expect(all).toMatchObject({ total: 4, limit: 2, offset: 1 })
    expect(all.items.map((item: Parsed) => item.event_id)).toEqual(['rpe_prod', 'refused-session'])

    const publications = await get('/endpoint-management-publications?provider=jamf&success=false')
    expect(publications.json).toMatchObject({
      schema_version: 'cavra.endpoint_management.publication_history.v1',
      total: 1,
      items: [{ provider: 'jamf', success: false, export_id: 'eme_stable', channel: 'stable' }],
    })
    const cliPublications = await cavra([
      'release',
      'endpoint-publication-history',
      '--provider',
      'jamf',
      '--no-success',
      '--json',
      '--metadata-json',
      STORE,
    ])
    expect(publications.json).toEqual(JSON.parse(cliPublications.stdout))
  })

  it('answers the dashboards as the dashboard commands compute them, in JSON, markdown and HTML', async () => {
    for (const [path, command] of [
      ['/release-connector-deliveries/dashboard', 'connector-delivery-dashboard'],
      ['/endpoint-management-publications/dashboard', 'endpoint-publication-dashboard'],
    ] as const) {
      const answer = await get(path)
      expect(answer.status, answer.text).toBe(200)
      expect(answer.contentType).toBe('application/json')
      const cli = await cavra(['release', command, '--format', 'json', '--metadata-json', STORE])
      const { generated_at: _a, ...fromApi } = answer.json
      const { generated_at: _b, ...fromCli } = JSON.parse(cli.stdout)
      expect(fromApi).toEqual(fromCli)

      const markdown = await get(`${path}?format=markdown&since=2026-01-01T00:00:00Z`)
      expect(markdown.contentType).toBe('text/markdown')
      const cliMarkdown = await cavra([
        'release',
        command,
        '--format',
        'markdown',
        '--since',
        '2026-01-01T00:00:00Z',
        '--metadata-json',
        STORE,
      ])
      expect(markdown.text).toBe(cliMarkdown.stdout)

      // The offline page, with its own policy also sent as a header.
      const html = await get(`${path}?format=html&since=2026-01-01T00:00:00Z`)
      expect(html.status, html.text).toBe(200)
      expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8')
      expect(html.headers.get('content-security-policy')).toMatch(/^default-src 'none'; /)
      expect(html.headers.get('x-content-type-options')).toBe('nosniff')
      const cliHtml = await cavra([
        'release',
        command,
        '--format',
        'html',
        '--since',
        '2026-01-01T00:00:00Z',
        '--metadata-json',
        STORE,
      ])
      expect(cliHtml.code, cliHtml.stderr).toBe(0)
      expect(html.text).toMatch(/^<!DOCTYPE html>/)
      const generated = /Generated [0-9TZ:.-]+/g
      expect(html.text.replace(generated, 'Generated')).toBe(cliHtml.stdout.replace(generated, 'Generated'))
    }
    const connectors = (await get('/release-connector-deliveries/dashboard')).json
    expect(connectors.alert_level).toBe('critical')
    expect(connectors.alerts).toEqual(
      expect.arrayContaining([expect.objectContaining({ provider: 'webhook', event_id: 'rre_prod' })]),
    )
    const publications = (await get('/endpoint-management-publications/dashboard')).json
    expect(publications.alerts).toEqual([
      expect.objectContaining({ provider: 'jamf', export_id: 'eme_stable' }),
    ])
    expect(publications.latest).toHaveLength(2)
  })

  it('keeps the store chain valid', async () => {
    const verify = await cavra(['metadata', 'verify', '--metadata-json', STORE, '--json'])
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)
    expect(storeItems()).toHaveLength(6)
  })
})

describe('validation and problems', () => {
  it('validates the event exactly like an event file: 422 naming the JSON path, nothing sent', async () => {
    const sent = stack.splunk.requests.length
    const event = { event_type: 'cavra.evidence_bundle', session_id: 'bad-1', max_severity: 'extreme' }
    const bad = await post('/integrations/splunk/deliver', { event })
    const problem = expectProblem(bad, 422)
    expect(problem.json_path).toBe('$.event.max_severity')
    expect(problem.detail).toMatch(/^\$\.event\.max_severity: /)
    // The same words as the command, for the same event in a file.
    ws.write('bad-event.json', JSON.stringify(event))
    const cli = await cavra(['integration', 'deliver', 'bad-event.json', '--provider', 'splunk'])
    expect(cli.code).toBe(4)
    const words = /\$\.max_severity: ([^\n]*?)\.?\n/.exec(cli.stderr)![1]!
    expect(problem.detail).toContain(words)

    const decision = await post('/integrations/splunk/deliver', {
      event: { session_id: 'bad-2', decisions: [{ decision: 'allow' }, { decision: 'maybe' }] },
    })
    expect(expectProblem(decision, 422).json_path).toBe('$.event.decisions[1].decision')

    const body = await post('/integrations/splunk/deliver', {
      event: { session_id: 'x' },
      retries: 99,
      extra: 1,
    })
    const bodyProblem = expectProblem(body, 422)
    expect(bodyProblem.json_path).toBe('$.retries')
    expect(bodyProblem.errors.map((e: Parsed) => e.path)).toEqual(['$.retries', '$'])
    expect(expectProblem(await post('/integrations/splunk/deliver', { retries: 1 }), 422).json_path).toBe(
      '$.event',
    )
    expect(expectProblem(await post('/integrations/splunk/deliver', [1, 2]), 422).json_path).toBe('$')
    expect(
      expectProblem(await post('/rollback-executions/rre_prod/deliver', { timeout_seconds: -1 }), 422)
        .json_path,
    ).toBe('$.timeout_seconds')

    expectProblem(await call('POST', '/integrations/splunk/deliver', { raw: '{"event": {' }), 400)
    expectProblem(await call('POST', '/integrations', { raw: '{bad json' }), 400)
    expect(stack.splunk.requests.length).toBe(sent)
  })

  it('answers 404, 405, 409 and 400 where the ids, records or connectors do not fit', async () => {
    expectProblem(await post('/integrations/nope/deliver', { event: { session_id: 'x' } }), 404)
    expectProblem(await get('/integrations/nope'), 404)
    expectProblem(await post('/promotion-executions/rpe_missing/audit-export/deliver', {}), 404)
    expectProblem(await post('/rollback-executions/rre_missing/deliver', {}), 404)
    expectProblem(await post('/endpoint-management-exports/eme_missing/publish', {}), 404)
    expectProblem(await get('/no-such-endpoint'), 404)
    const method = await call('DELETE', '/integrations')
    expectProblem(method, 405)
    expect(method.headers.get('allow')).toBe('POST, GET')

    const duplicate = expectProblem(await post('/promotion-executions/rpe_dup/audit-export/deliver', {}), 409)
    expect(duplicate.files).toHaveLength(2)

    // An integration that is not active does not deliver.
    const paused = await post('/integrations', {
      integration_id: 'paused-hook',
      connector: 'webhook',
      provider: 'webhook',
      category: 'webhook',
      status: 'inactive',
    })
    expect(paused.status, paused.text).toBe(201)
    expectProblem(await post('/integrations/paused-hook/deliver', { event: { session_id: 'x' } }), 409)

    // A record must agree with the configuration.
    const wrongKind = await post('/integrations', {
      integration_id: 'splunk',
      provider: 'datadog',
      category: 'siem',
    })
    expect(expectProblem(wrongKind, 400).json_path).toBe('$.provider')
    const wrongCategory = await post('/integrations', {
      integration_id: 'splunk',
      provider: 'splunk',
      category: 'chatops',
    })
    expect(expectProblem(wrongCategory, 400).json_path).toBe('$.category')
    const unknown = await post('/integrations', {
      integration_id: 'qradar',
      provider: 'qradar',
      category: 'siem',
    })
    expect(expectProblem(unknown, 400).detail).toContain('names no connector')
    expect(
      expectProblem(
        await post('/integrations', { integration_id: 'splunk', provider: 'splunk', category: 'x' }),
        422,
      ).json_path,
    ).toBe('$.category')
    // A release body naming a connector the configuration lacks.
    const provider = await post('/rollback-executions/rre_prod/deliver', { provider: 'spunk' })
    expect(expectProblem(provider, 400).detail).toContain('did you mean "splunk"')
    // Query parameters are checked too.
    expectProblem(await get('/release-connector-deliveries?sucess=false'), 400)
    expectProblem(await get('/release-connector-deliveries?limit=0'), 400)
    expectProblem(await get('/release-connector-deliveries?since=yesterday'), 400)
  })

  it('refuses a body over 10 MB with 413', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024 + 10, 0x20)
    const answer = await call('POST', '/integrations/splunk/deliver', { raw: big })
    expectProblem(answer, 413)
    // Without a Content-Length (chunked), the count of bytes read decides.
    const chunk = Buffer.alloc(1024 * 1024, 0x20)
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 11) controller.enqueue(chunk)
        else controller.close()
      },
    })
    const chunked = await fetch(`${server.url}/integrations/splunk/deliver`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit)
    expect(chunked.status).toBe(413)
    expect(chunked.headers.get('content-type')).toBe('application/problem+json')
    await chunked.text()
  })

  it('keeps tokens and query values out of the log', async () => {
    await get(`/release-connector-deliveries?event_id=${CANARY.jiraToken}`)
    const lines = server
      .stderr()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    const requests = lines.filter((line) => line.msg === 'request')
    expect(requests.length).toBeGreaterThan(20)
    for (const line of requests) {
      expect(Object.keys(line).sort()).toEqual(
        expect.arrayContaining(['duration_ms', 'method', 'path', 'request_id', 'status']),
      )
      expect(line.path).not.toContain('?')
    }
    expect(server.stderr()).not.toContain(CANARY.jiraToken)
  })
})

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 describing every endpoint, and every answer of this suite fits it', async () => {
    const answer = await get('/openapi.json')
    expect(answer.status).toBe(200)
    const doc = answer.json
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/)
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) })
    expect(doc.components.securitySchemes.bearer).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    )
    const expected = [
      'get /healthz',
      'get /openapi.json',
      'post /integrations',
      'get /integrations',
      'get /integrations/{id}',
      'post /integrations/{id}/deliver',
      'post /promotion-executions/{execution_id}/audit-export/deliver',
      'post /rollback-executions/{rollback_id}/deliver',
      'post /endpoint-management-exports/{export_id}/publish',
      'get /release-connector-deliveries',
      'get /release-connector-deliveries/dashboard',
      'get /endpoint-management-publications',
      'get /endpoint-management-publications/dashboard',
    ]
    const documented = Object.entries(doc.paths as Record<string, Record<string, Parsed>>).flatMap(
      ([path, item]) => Object.keys(item).map((method) => `${method} ${path}`),
    )
    expect(documented.sort()).toEqual(expected.sort())

    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true })
    const operationIds = new Set<string>()
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Parsed>>)) {
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1])
      for (const [method, operation] of Object.entries(item)) {
        expect(['get', 'post']).toContain(method)
        expect(operation.operationId).toEqual(expect.any(String))
        expect(operationIds.has(operation.operationId)).toBe(false)
        operationIds.add(operation.operationId)
        // Every path parameter is declared, required.
        const declared = operation.parameters.filter((p: Parsed) => p.in === 'path')
        expect(declared.map((p: Parsed) => p.name).sort()).toEqual(templated.sort())
        for (const parameter of operation.parameters) {
          expect(['path', 'query']).toContain(parameter.in)
          ajv.compile(parameter.schema)
        }
        if (method === 'post') ajv.compile(operation.requestBody.content['application/json'].schema)
        expect(Object.keys(operation.responses).length).toBeGreaterThan(0)
        for (const [status, response] of Object.entries(operation.responses as Record<string, Parsed>)) {
          expect(status).toMatch(/^[1-5]\d\d$/)
          expect(response.description).toEqual(expect.any(String))
          for (const media of Object.values(response.content ?? {}) as Parsed[]) ajv.compile(media.schema)
        }
        if (path === '/healthz') expect(operation.security).toEqual([])
        else {
          expect(operation.security).toBeUndefined()
          expect(operation.responses['401']).toBeDefined()
        }
      }
    }

    // Every answer the suite received is documented, and its body fits the documented schema.
    const templates = Object.keys(doc.paths).map((path) => ({
      path,
      pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }))
    let checked = 0
    for (const seen of answers) {
      const template = templates.find((candidate) => candidate.pattern.test(seen.path))
      const operation = template && doc.paths[template.path][seen.method.toLowerCase()]
      if (!operation) continue
      const response = operation.responses[String(seen.status)]
      expect(response, `${seen.method} ${seen.path} ${seen.status} is documented`).toBeDefined()
      const media = response.content?.[seen.contentType]
      expect(media, `${seen.method} ${seen.path} ${seen.status} ${seen.contentType}`).toBeDefined()
      const body = seen.contentType.startsWith('text/') ? seen.text : JSON.parse(seen.text)
      const validate = ajv.compile(media.schema)
      expect(
        validate(body),
        `${seen.method} ${seen.path} ${seen.status}: ${ajv.errorsText(validate.errors)}`,
      ).toBe(true)
      checked++
    }
    expect(checked).toBeGreaterThan(50)
  })
})

describe('concurrency', () => {
  it('answers 20 simultaneous deliveries and keeps one valid chain', async () => {
    const registered = await post('/integrations', {
      integration_id: 'webhook',
      provider: 'webhook',
      category: 'webhook',
      status: 'active',
      health_status: 'unknown',
    })
    expect(registered.status, registered.text).toBe(201)
    const before = storeItems().length
    const received = stack.webhook.deliveries.length
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        post('/integrations/webhook/deliver', {
          event: {
            event_type: 'cavra.evidence_bundle',
            session_id: `concurrent-${index}`,
            max_severity: 'medium',
          },
        }),
      ),
    )
    for (const result of results) {
      expect(result.status, result.text).toBe(200)
      expect(result.json.success).toBe(true)
    }
    expect(new Set(results.map((result) => result.json.delivery_evidence)).size).toBe(20)
    expect(stack.webhook.deliveries.length - received).toBe(20)
    const items = storeItems()
    expect(items.length - before).toBe(20)
    expect(new Set(items.slice(before).map((item) => item.event_id)).size).toBe(20)
    const verify = await cavra(['metadata', 'verify', '--metadata-json', STORE])
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)
    expect((await get('/integrations/webhook')).json.health_status).toBe('healthy')
  })
})

describe('starting and stopping', () => {
  it('refuses a non-loopback host without a token (exit 3); on loopback it is open and warns', async () => {
    const refused = await runCli(['serve', '--host', '0.0.0.0', '--port', '0'], { cwd: ws.dir })
    expect(refused.code).toBe(3)
    expect(refused.stderr).toMatch(/without an API token/)
    expect(refused.stderr).toContain('CAVRA_API_TOKEN')

    const open = await serve(['--artifacts', 'artifacts'], stack.env())
    try {
      expect(open.stderr()).toMatch(/"level":"warn","msg":"No API token is configured/)
      expect(open.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect((await get('/integrations', { on: open, token: null })).status).toBe(200)
    } finally {
      open.child.kill('SIGTERM')
      expect(await open.exit).toBe(0)
    }

    // Tokens from a file, one per line; an empty file is a configuration error.
    ws.write('tokens.txt', `# rotated 2026-11\n${OLD_TOKEN}\n\n${TOKEN}\n`)
    const fromFile = await serve(['--token-file', 'tokens.txt', '--host', '0.0.0.0'], stack.env())
    try {
      expect((await get('/integrations', { on: fromFile, token: OLD_TOKEN })).status).toBe(200)
      expect((await get('/integrations', { on: fromFile, token: null })).status).toBe(401)
    } finally {
      fromFile.child.kill('SIGTERM')
      expect(await fromFile.exit).toBe(0)
    }
    ws.write('empty-tokens.txt', '# none yet\n')
    expect(
      (await runCli(['serve', '--token-file', 'empty-tokens.txt', '--port', '0'], { cwd: ws.dir })).code,
    ).toBe(3)
    // An invalid configuration stops the start (exit 3), a damaged registry too (exit 5).
    ws.write('broken.json', { connectors: { splunk: { url: 'https://hec.example', tokn: 'x' } } })
    const broken = await runCli(['serve', '--port', '0', '--config', 'broken.json'], { cwd: ws.dir })
    expect(broken.code).toBe(3)
    expect(broken.stderr).toContain('tokn')
    ws.write('damaged-registry.json', '{"integrations": [')
    const damaged = await runCli(['serve', '--port', '0', '--registry', 'damaged-registry.json'], {
      cwd: ws.dir,
      env: stack.env(),
    })
    expect(damaged.code).toBe(5)
    expect(damaged.stderr).toContain('damaged-registry.json')
    expect(readFileSync(ws.path('damaged-registry.json'), 'utf8')).toBe('{"integrations": [')
    expect(leakedCanaries(fromFile.stderr() + open.stderr(), TOKENS)).toEqual([])
  })

  it('finishes a delivery in flight on SIGTERM, then exits 0', async () => {
    const before = storeItems().length
    stack.webhook.inject({ kind: 'delay', ms: 1500 })
    const requests = stack.webhook.requests.length
    const pending = post('/integrations/webhook/deliver', {
      event: { event_type: 'cavra.evidence_bundle', session_id: 'in-flight', max_severity: 'low' },
    })
    const started = Date.now()
    while (stack.webhook.requests.length === requests && Date.now() - started < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(stack.webhook.requests.length).toBe(requests + 1)
    server.child.kill('SIGTERM')
    const answer = await pending
    expect(answer.status, answer.text).toBe(200)
    expect(answer.json).toMatchObject({ event_id: 'in-flight', success: true })
    expect(await server.exit).toBe(0)
    expect(existsSync(ws.path(answer.json.delivery_evidence))).toBe(true)
    expect(storeItems().length).toBe(before + 1)
    const log = server.stderr()
    expect(log).toContain('shutting down (SIGTERM)')
    expect(log.indexOf('shutting down')).toBeLessThan(
      log.lastIndexOf('"path":"/integrations/webhook/deliver"'),
    )
    expect(log.trim().split('\n').at(-1)).toContain('"msg":"stopped"')
    // Nothing listens any more.
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow()
    expect(readdirSync(ws.path('.cavra/integrations/deliveries')).length).toBeGreaterThan(20)
  })
})
