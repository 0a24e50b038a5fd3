import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/common/errors.js'
import { loadConnectorConfig } from '../../src/config/load.js'
import { prepareConnectors, selectConnectors } from '../../src/config/select.js'
import { REGISTRY } from '../../src/connectors/index.js'
import {
  adfDescription,
  dedupeLabel,
  issueFields,
  type JiraConfig,
  jira,
  jiraSite,
  readCreateResponse,
  readSearchResponse,
  searchRequest,
  wikiDescription,
} from '../../src/connectors/jira.js'
import { TRUNCATION_MARK } from '../../src/connectors/shared/presentation.js'
import type { HttpResponse } from '../../src/delivery/http.js'
import type { DeliveryEvent } from '../../src/events/event.js'
import { adfProblem, JiraEmulator } from '../emulators/jira.js'
import { CANARY } from '../support/canaries.js'
import { PROJECT_ROOT } from '../support/cli.js'
import {
  deliverInProcess,
  firstEvent,
  promotionFixtureEvent,
  rollbackFixtureEvent,
} from '../support/deliver.js'

const EMAIL = 'governance-bot@acme.example'
const TOKEN = CANARY.jiraToken
const PAT = `${CANARY.jiraToken}-pat`
const BLOB = Buffer.from(`${EMAIL}:${TOKEN}`).toString('base64')
const SAMPLE_LABEL = 'cavra-64e4d110ab0f'
const site = new JiraEmulator({ email: EMAIL, apiToken: TOKEN, pat: PAT })

beforeAll(async () => {
  await site.start()
})
afterAll(async () => {
  await site.stop()
})
afterEach(async () => {
  await site.idle()
  site.reset()
})

const warnings: string[] = []
function configure(settings: Record<string, unknown>): JiraConfig {
  warnings.length = 0
  return jira.configure(
    { url: 'https://acme.atlassian.net', project_key: 'SEC', email: EMAIL, token: TOKEN, ...settings },
    { name: 'jira', warn: (message) => warnings.push(message) },
  )
}

function cloud(
  settings: Record<string, unknown> = {},
  extra: Partial<Parameters<typeof deliverInProcess>[0]> = {},
) {
  return deliverInProcess({
    connectors: {
      jira: {
        url_env: 'JIRA_URL',
        email_env: 'JIRA_EMAIL',
        token_env: 'JIRA_TOKEN',
        project_key: 'SEC',
        ...settings,
      },
    },
    env: { JIRA_URL: site.url, JIRA_EMAIL: EMAIL, JIRA_TOKEN: TOKEN },
    ...extra,
  })
}

function dataCenter(
  settings: Record<string, unknown> = {},
  extra: Partial<Parameters<typeof deliverInProcess>[0]> = {},
) {
  return deliverInProcess({
    connectors: {
      jira: { url_env: 'JIRA_URL', token_env: 'JIRA_PAT', project_key: 'SEC', api_version: 2, ...settings },
    },
    env: { JIRA_URL: site.url, JIRA_PAT: PAT },
    ...extra,
  })
}

const response = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers,
  body: typeof body === 'string' ? body : JSON.stringify(body),
  truncated: false,
})

/** Every text of an ADF document, in reading order. */
function adfText(node: unknown): string {
  const n = node as { text?: string; content?: unknown[] }
  return [n.text ?? '', ...(n.content ?? []).map(adfText)].join(' ')
}

const creates = () => site.requestsTo(/\/rest\/api\/\d\/issue$/)
const searches = () => site.requestsTo(/\/search(\/jql)?$/)

describe('Jira: configuration', () => {
  it('takes a site base or a full /rest/api/N/issue URL, whose N sets the version', () => {
    expect(jiraSite('https://acme.atlassian.net/')).toEqual({ base: 'https://acme.atlassian.net' })
    expect(jiraSite('https://acme.atlassian.net/rest/api/3/issue')).toEqual({
      base: 'https://acme.atlassian.net',
      version: 3,
    })
    expect(jiraSite('https://jira.acme.example/jira/rest/api/2/issue/')).toEqual({
      base: 'https://jira.acme.example/jira',
      version: 2,
    })
    expect(jiraSite('https://jira.acme.example/rest/api/latest/issue').version).toBe(2)
    expect(() => jiraSite('https://acme.atlassian.net/rest/api/3/search')).toThrow(ConfigError)
    expect(configure({ url: 'https://jira.acme.example/rest/api/2/issue', email: undefined })).toMatchObject({
      base: 'https://jira.acme.example',
      apiVersion: 2,
      authorization: `Bearer ${TOKEN}`,
    })
    expect(warnings).toEqual([])
  })

  it('uses Basic email:token for Cloud and a bare token as a Data Center PAT, warning on mismatches', () => {
    expect(configure({})).toMatchObject({ apiVersion: 3, authorization: `Basic ${BLOB}`, basicBlob: BLOB })
    expect(warnings).toEqual([])
    expect(configure({ email: undefined }).authorization).toBe(`Bearer ${TOKEN}`)
    expect(warnings[0]).toMatch(/Jira Cloud refuses that with 401/)
    configure({ api_version: '2' })
    expect(warnings[0]).toMatch(/Data Center expects a personal access token alone/)
    expect(configure({ url: 'https://acme.atlassian.net/rest/api/2/issue', api_version: 3 }).apiVersion).toBe(
      3,
    )
    expect(warnings[0]).toMatch(/url names REST API 2 but api_version is 3/)
  })

  it('names the key that is missing or wrong', () => {
    const problem = (settings: Record<string, unknown>) => {
      try {
        configure(settings)
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError)
        return (error as Error).message
      }
      throw new Error('expected a ConfigError')
    }
    expect(problem({ project_key: undefined })).toMatch(/^project_key is required/)
    expect(problem({ project_key: 'SEC PROJ' })).toMatch(/^project_key "SEC PROJ" is not a Jira project key/)
    expect(problem({ token: undefined })).toMatch(/^token is required/)
    expect(problem({ url: undefined })).toMatch(/^url is required/)
    expect(problem({ labels: ['ai governance'] })).toMatch(/^labels: "ai governance" is not a Jira label/)
    expect(problem({ labels: ['cavra-severity-low'] })).toMatch(/the cavra- prefix is cavra's own/)
    expect(problem({ priority_map: { urgent: 'Highest' } })).toMatch(
      /^priority_map key "urgent" is not a severity/,
    )
  })

  it('loads the earlier tool’s example, and refuses to deliver to its jira entry without project_key', async () => {
    const legacy = await loadConnectorConfig(
      `${PROJECT_ROOT}/test/fixtures/legacy-cavra-connectors.example.json`,
      REGISTRY,
    )
    const selected = selectConnectors(legacy, ['jira'], {
      categories: ['itsm'],
      command: 'integration deliver',
    })
    let error: unknown
    try {
      prepareConnectors(legacy, selected, { JIRA_ISSUE_URL: `${site.url}/rest/api/2/issue`, JIRA_TOKEN: PAT })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).exitCode).toBe(3)
    expect((error as ConfigError).message).toMatch(/connector jira: project_key is required/)
  })

  it('delivers the earlier tool’s entry once project_key is added: its issue URL sets v2, its token a PAT', async () => {
    const result = await deliverInProcess({
      connectors: { jira: { url_env: 'JIRA_ISSUE_URL', token_env: 'JIRA_TOKEN', project_key: 'SEC' } },
      env: { JIRA_ISSUE_URL: `${site.url}/rest/api/2/issue`, JIRA_TOKEN: PAT },
    })
    expect(result.deliveries[0]).toMatchObject({ success: true, remote_reference: 'SEC-1' })
    expect(site.issues[0]!.apiVersion).toBe(2)
  })
})

describe('Jira: request bodies (pure)', () => {
  const cases: Array<[string, () => Promise<DeliveryEvent>]> = [
    ['evidence-bundle', () => firstEvent()],
    ['promotion', promotionFixtureEvent],
    ['rollback', rollbackFixtureEvent],
  ]
  const priorities = { priority_map: { critical: 'Highest', high: 'High', medium: 'Medium', low: 'Low' } }

  for (const [name, load] of cases) {
    it(`builds the v3 (ADF) and v2 (wiki) bodies for the ${name} event`, async () => {
      const event = await load()
      const v3 = { fields: issueFields(event, configure({ labels: ['ai-agent-governance'], ...priorities })) }
      const v2 = { fields: issueFields(event, configure({ api_version: 2, email: undefined })) }
      expect(adfProblem(v3.fields.description)).toBeUndefined()
      expect(typeof v2.fields.description).toBe('string')
      await expect(`${JSON.stringify(v3, null, 2)}\n`).toMatchFileSnapshot(
        `./__golden__/jira/${name}.v3.json`,
      )
      await expect(`${JSON.stringify(v2, null, 2)}\n`).toMatchFileSnapshot(
        `./__golden__/jira/${name}.v2.json`,
      )
    })
  }

  it('says what was rolled back, between which rings, why, and under which approval and change', async () => {
    const event = await rollbackFixtureEvent()
    const fields = issueFields(event, configure(priorities))
    expect(fields.summary).toBe('[CRITICAL] Release v0.2.0 rolled back stable → canary in prod')
    expect(fields.labels).toEqual(['cavra', 'cavra-600bb1e56afa', 'cavra-severity-critical'])
    expect(fields.priority).toEqual({ name: 'Highest' })
    const text = adfText(fields.description)
    for (const needle of [
      'acme/cavra-runtime v0.2.0',
      'stable → canary',
      'Policy engine crash loop on macOS 15.2 hosts after promotion.',
      'apr_c4d91e0b7a22 (approved by ic@acme.example: Sev-2 incident INC0098812.)',
      'CHG0031219',
      'Rollback steps',
      'macos-arm64-jamf: re-scope previous Jamf policy',
      '"rollback_id": "rre_b83f10c6d2a1"',
    ]) {
      expect(text).toContain(needle)
    }
    const wiki = wikiDescription(event)
    expect(wiki).toContain('h2. \\[CRITICAL\\] Release v0.2.0 rolled back stable → canary in prod')
    expect(wiki).toContain('|Change record|CHG0031219|')
  })

  it('sets a priority only where priority_map names one for the severity', async () => {
    const rollback = await rollbackFixtureEvent()
    expect(issueFields(rollback, configure({}))).not.toHaveProperty('priority')
    expect(issueFields(rollback, configure({ priority_map: { high: 'High' } }))).not.toHaveProperty(
      'priority',
    )
    expect(
      issueFields(await promotionFixtureEvent(), configure({ priority_map: { high: 'High' } })).priority,
    ).toEqual({
      name: 'High',
    })
  })

  it('keeps the summary on one line within 255 characters, saying when it was cut', async () => {
    const event = await firstEvent()
    const summary = issueFields(event, configure({ title: `Agent\ngovernance ${'x'.repeat(300)}` }))
      .summary as string
    expect(summary).toHaveLength(255)
    expect(summary.startsWith('[HIGH] Agent governance xxx')).toBe(true)
    expect(summary.endsWith(TRUNCATION_MARK)).toBe(true)
  })

  it('derives one label per event id and searches for it in the project', () => {
    expect(dedupeLabel('sess-2026-11-28-ci-4812')).toBe(SAMPLE_LABEL)
    const v3 = searchRequest(configure({}), SAMPLE_LABEL)
    expect(v3).toMatchObject({ method: 'POST', url: 'https://acme.atlassian.net/rest/api/3/search/jql' })
    expect(JSON.parse(String(v3.body))).toEqual({
      jql: `project = "SEC" AND labels = "${SAMPLE_LABEL}"`,
      fields: ['key'],
      maxResults: 1,
    })
    const v2 = searchRequest(configure({ api_version: 2 }), SAMPLE_LABEL, 3)
    expect(v2.method).toBe('GET')
    expect(new URL(v2.url).searchParams.get('jql')).toBe(
      `project = "SEC" AND labels = "${SAMPLE_LABEL}" AND created >= -3m ORDER BY created DESC`,
    )
    expect(v2.headers['content-type']).toBeUndefined()
  })

  it('escapes wiki markup in event text', async () => {
    const sample = await firstEvent()
    const event = { ...sample, view: { ...sample.view, summary: 'a [link|x] *bold* {code} -strike-' } }
    expect(wikiDescription(event)).toContain('\na \\[link\\|x\\] \\*bold\\* \\{code\\} \\-strike-\n')
  })

  it('produces ADF that a strict validator accepts, and the validator rejects what Jira rejects', async () => {
    expect(adfProblem(adfDescription(await firstEvent()))).toBeUndefined()
    expect(adfProblem('plain text')).toBeDefined()
    expect(
      adfProblem({
        type: 'doc',
        version: 1,
        content: [{ type: 'paragraph', content: [{ type: 'text', text: '' }] }],
      }),
    ).toMatch(/non-empty/)
    expect(adfProblem({ type: 'doc', version: 1, content: [{ type: 'markdown' }] })).toMatch(/not allowed/)
  })
})

describe('Jira: reading answers (pure)', () => {
  const config = () => configure({})
  const create = (r: HttpResponse, now?: number) => readCreateResponse(r, config(), now)

  it('reads 201 {id,key,self} and refuses a 2xx that is not Jira', () => {
    expect(
      create(response(201, { id: '10000', key: 'SEC-24', self: 'https://x/rest/api/3/issue/10000' })),
    ).toEqual({
      kind: 'ok',
      value: { how: 'created', key: 'SEC-24' },
    })
    expect(create(response(200, '<html>Log in with SSO</html>'))).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('is url the Jira site?'),
    })
    expect(
      readSearchResponse(response(200, { issues: [{ id: '1', key: 'SEC-3' }], isLast: true }), config()),
    ).toEqual({
      kind: 'ok',
      value: 'SEC-3',
    })
    expect(readSearchResponse(response(200, { issues: [] }), config())).toEqual({ kind: 'ok', value: null })
  })

  it('surfaces errorMessages and field errors, with what to fix for 401, 403 and 404', () => {
    const body = {
      errorMessages: ['Issue could not be created.'],
      errors: { issuetype: 'Specify a valid issue type' },
    }
    expect(create(response(400, body))).toEqual({
      kind: 'failed',
      reason: 'Issue could not be created.; issuetype: Specify a valid issue type',
    })
    expect(create(response(401, 'Client must be authenticated to access this resource.'))).toEqual({
      kind: 'failed',
      reason:
        'Client must be authenticated to access this resource. (check email and token: Cloud takes Basic email:API token, Data Center a personal access token alone)',
    })
    const denied = {
      errorMessages: ['You do not have permission to create issues in this project.'],
      errors: {},
    }
    expect(create(response(403, denied))).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('lacks the Create Issues permission in project SEC'),
    })
    expect(readSearchResponse(response(403, denied), config())).toMatchObject({
      reason: expect.stringContaining('lacks the Browse Projects permission'),
    })
    expect(create(response(404, { errorMessages: ['Not found'], errors: {} }))).toMatchObject({
      kind: 'failed',
      reason: 'Not found (project SEC is not visible to this account, or url is not the Jira site)',
    })
    expect(readSearchResponse(response(410, { errorMessages: ['removed'] }), config()).kind).toBe('failed')
  })

  it('retries 429 and 5xx after Retry-After, or X-RateLimit-Reset when Retry-After is absent', () => {
    const now = Date.parse('2026-11-28T15:00:00Z')
    expect(
      create(response(429, {}, { 'retry-after': '7', 'x-ratelimit-reset': '2026-11-28T15:00:30Z' }), now),
    ).toMatchObject({
      kind: 'retryable',
      retryAfterMs: 7000,
    })
    expect(
      create(
        response(
          429,
          { errorMessages: ['Rate limit exceeded.'] },
          { 'x-ratelimit-reset': '2026-11-28T15:00:12.500Z' },
        ),
        now,
      ),
    ).toEqual({
      kind: 'retryable',
      reason: 'Rate limit exceeded.',
      retryAfterMs: 12_500,
    })
    expect(create(response(429, ''), now)).toEqual({
      kind: 'retryable',
      reason: 'Too Many Requests',
      retryAfterMs: undefined,
    })
    for (const status of [500, 502, 503, 504])
      expect(create(response(status, ''), now).kind, String(status)).toBe('retryable')
    expect(create(response(409, ''), now).kind).toBe('failed')
  })
})

describe('Jira: delivery against the emulator', () => {
  it('searches for the event label, then creates one issue with Basic auth (Cloud v3)', async () => {
    const result = await cloud({ labels: ['ai-agent-governance'] })
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({
      success: true,
      status_code: 201,
      remote_reference: 'SEC-1',
      deduplicated: false,
      records_sent: 1,
      attempt_count: 2,
    })
    expect(site.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /rest/api/3/search/jql',
      'POST /rest/api/3/issue',
    ])
    expect(site.requests[1]!.headers.authorization).toBe(`Basic ${BLOB}`)
    expect(delivery.attempts.map((a) => a.step)).toEqual(['search duplicates', 'create issue'])
    expect(delivery.request).toMatchObject({
      method: 'POST',
      url: `${site.url}/rest/api/3/issue`,
      headers: { authorization: 'REDACTED' },
      idempotency_key: SAMPLE_LABEL,
      body_bytes: creates()[0]!.body.length,
    })
    expect(site.issues[0]!.fields).toMatchObject({
      project: { key: 'SEC' },
      issuetype: { name: 'Task' },
      labels: ['ai-agent-governance', 'cavra', SAMPLE_LABEL, 'cavra-severity-high'],
    })
    expect(site.issues[0]!.fields).not.toHaveProperty('priority')
  })

  it('finds the issue of an earlier delivery instead of creating a second one', async () => {
    await cloud()
    const second = await cloud()
    expect(second.deliveries[0]).toMatchObject({
      success: true,
      deduplicated: true,
      remote_reference: 'SEC-1',
      records_sent: 0,
      attempt_count: 1,
    })
    expect(site.issues).toHaveLength(1)
    expect(creates()).toHaveLength(1)
  })

  it('creates a Data Center issue with a PAT and a wiki-markup description (v2)', async () => {
    const result = await dataCenter()
    expect(result.deliveries[0]).toMatchObject({ success: true, remote_reference: 'SEC-1' })
    const [search, create] = site.requests
    expect(search!.method).toBe('GET')
    expect(search!.query.get('jql')).toBe(`project = "SEC" AND labels = "${SAMPLE_LABEL}"`)
    expect(create!.headers.authorization).toBe(`Bearer ${PAT}`)
    expect(site.issues[0]!.fields.description).toMatch(/^h2\. \\\[HIGH\\\] AI agent evidence/)
    expect(result.deliveries[0]!.request?.url).toBe(`${site.url}/rest/api/2/issue`)
    expect((await dataCenter()).deliveries[0]).toMatchObject({
      deduplicated: true,
      remote_reference: 'SEC-1',
    })
  })

  it('files a critical rollback with its priority and severity label', async () => {
    const result = await cloud(
      { priority_map: { critical: 'Highest', high: 'High' } },
      { event: await rollbackFixtureEvent() },
    )
    expect(result.deliveries[0]!.success).toBe(true)
    expect(site.issues[0]!.fields).toMatchObject({
      summary: '[CRITICAL] Release v0.2.0 rolled back stable → canary in prod',
      priority: { name: 'Highest' },
      labels: expect.arrayContaining(['cavra-severity-critical']),
    })
  })

  it('does not create a second issue when the create was stored but answered too late (search lags)', async () => {
    site.searchLagMs = 2000
    site.inject({ kind: 'delay-after-handling', ms: 2500 }, 1, (r) => r.path === '/rest/api/3/issue')
    const result = await cloud({}, { timeoutMs: 500 })
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: true, remote_reference: 'SEC-1', records_sent: 1 })
    expect(site.issues).toHaveLength(1)
    expect(creates()).toHaveLength(1)
    // The first search after the timeout could not see the issue yet; a later one did.
    const confirming = delivery.attempts.filter((a) => a.step === 'search created issue')
    expect(confirming.length).toBeGreaterThanOrEqual(2)
    expect(delivery.attempts.find((a) => a.step === 'create issue')).toMatchObject({
      outcome: 'retryable',
      error: 'no response within 0.5 s',
    })
  })

  it('does not create a second issue when the connection is reset after the issue was stored', async () => {
    site.searchLagMs = 1600
    site.inject({ kind: 'reset-after-handling' }, 1, (r) => r.path === '/rest/api/3/issue')
    const result = await cloud()
    expect(result.deliveries[0]).toMatchObject({ success: true, remote_reference: 'SEC-1' })
    expect(site.issues).toHaveLength(1)
    expect(creates()).toHaveLength(1)
  })

  it('looks for the issue once more when the last attempt got no answer', async () => {
    site.inject({ kind: 'delay-after-handling', ms: 1500 }, 1, (r) => r.path === '/rest/api/3/issue')
    const result = await cloud({}, { timeoutMs: 500, retries: 0 })
    expect(result.deliveries[0]).toMatchObject({ success: true, remote_reference: 'SEC-1' })
    expect(site.issues).toHaveLength(1)
  })

  it('never re-creates blind: without time to confirm, it fails and asks for a re-run', async () => {
    site.searchLagMs = 60_000
    site.inject({ kind: 'delay-after-handling', ms: 3000 }, 1, (r) => r.path === '/rest/api/3/issue')
    const result = await cloud({}, { timeoutMs: 500, deadlineMs: 2000 })
    const delivery = result.deliveries[0]!
    expect(delivery.success).toBe(false)
    expect(delivery.error).toMatch(/not re-sent, to avoid a second issue; deliver again: the duplicate check/)
    expect(site.issues).toHaveLength(1)
    expect(creates()).toHaveLength(1)
  })

  it('without dedupe, creates without searching, yet recovers an unanswered create by its recent label', async () => {
    await cloud({ dedupe: false })
    site.inject({ kind: 'reset-after-handling' }, 1, (r) => r.path === '/rest/api/3/issue')
    const result = await cloud({ dedupe: false })
    expect(result.deliveries[0]).toMatchObject({
      success: true,
      remote_reference: 'SEC-2',
      deduplicated: false,
    })
    expect(site.issues.map((issue) => issue.key)).toEqual(['SEC-1', 'SEC-2'])
    expect(site.requests[0]!.path).toBe('/rest/api/3/issue')
    expect(JSON.parse(searches()[0]!.text).jql).toMatch(/ AND created >= -2m ORDER BY created DESC$/)
  })

  it('fails at once on field errors, with Jira’s own words', async () => {
    const result = await cloud({ issue_type: 'Epic' })
    expect(result.deliveries[0]).toMatchObject({
      success: false,
      status_code: 400,
      attempt_count: 2,
      error: 'HTTP 400 from Jira after 1 attempt: issuetype: Specify a valid issue type',
    })
    expect(site.issues).toHaveLength(0)
  })

  it('stops before creating when the duplicate check fails (unknown project)', async () => {
    const result = await cloud({ project_key: 'NOPE' })
    expect(result.deliveries[0]!.error).toBe(
      "HTTP 400 from Jira after 1 attempt: The value 'NOPE' does not exist for the field 'project'. (duplicate check; no issue was created)",
    )
    expect(creates()).toHaveLength(0)
  })

  it('fails at once on 401 without showing the credentials', async () => {
    const result = await deliverInProcess({
      connectors: {
        jira: { url_env: 'JIRA_URL', email_env: 'JIRA_EMAIL', token_env: 'JIRA_TOKEN', project_key: 'SEC' },
      },
      env: { JIRA_URL: site.url, JIRA_EMAIL: EMAIL, JIRA_TOKEN: 'canary-wrong-jira-token-00' },
    })
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: false, status_code: 401, attempt_count: 1 })
    expect(delivery.error).toMatch(/Client must be authenticated.*check email and token/)
    const text = JSON.stringify(result)
    expect(text).not.toContain('canary-wrong-jira-token-00')
    expect(text).not.toContain(Buffer.from(`${EMAIL}:canary-wrong-jira-token-00`).toString('base64'))
  })

  it('waits out 429 Retry-After, then creates', async () => {
    site.throttle(1, { retryAfterSeconds: 1 }, (r) => r.path === '/rest/api/3/issue')
    const started = Date.now()
    const result = await cloud()
    const delivery = result.deliveries[0]!
    expect(delivery.success).toBe(true)
    expect(delivery.attempts.map((a) => [a.step, a.status_code, a.retry_after_ms])).toEqual([
      ['search duplicates', 200, null],
      ['create issue', 429, 1000],
      ['create issue', 201, null],
    ])
    expect(Date.now() - started).toBeGreaterThanOrEqual(950)
    expect(site.issues).toHaveLength(1)
  })

  it('waits until X-RateLimit-Reset when a 429 carries no Retry-After', async () => {
    site.throttle(1, { resetAt: new Date(Date.now() + 1500) })
    const result = await cloud()
    const wait = result.deliveries[0]!.attempts[0]!.retry_after_ms!
    expect(result.deliveries[0]!.success).toBe(true)
    expect(wait).toBeGreaterThan(800)
    expect(wait).toBeLessThanOrEqual(1500)
  })

  it('retries 503 and succeeds', async () => {
    site.inject(
      { kind: 'status', status: 503, body: 'Service Unavailable' },
      1,
      (r) => r.path === '/rest/api/3/issue',
    )
    const result = await cloud()
    expect(result.deliveries[0]).toMatchObject({ success: true, remote_reference: 'SEC-1' })
    expect(result.deliveries[0]!.attempts.map((a) => a.status_code)).toEqual([200, 503, 201])
  })

  it('scrubs the token and the Basic blob when Jira echoes them back', async () => {
    site.inject(
      {
        kind: 'status',
        status: 400,
        body: { errorMessages: [`bad credentials ${TOKEN} in Basic ${BLOB}`], errors: {} },
      },
      1,
      (r) => r.path === '/rest/api/3/issue',
    )
    const result = await cloud()
    const text = JSON.stringify(result)
    expect(result.deliveries[0]!.error).toBe(
      'HTTP 400 from Jira after 1 attempt: bad credentials REDACTED in Basic REDACTED',
    )
    expect(text).not.toContain(BLOB)
    expect(text).not.toContain(TOKEN)
  })

  it('shows the search and the create, redacted, under --dry-run and sends nothing', async () => {
    const result = await cloud({}, { dryRun: true })
    expect(site.requests).toHaveLength(0)
    const [search, create] = result.deliveries[0]!.dry_run_requests!
    expect(search).toMatchObject({
      step: 'search duplicates',
      method: 'POST',
      url: `${site.url}/rest/api/3/search/jql`,
      headers: { authorization: 'REDACTED' },
      body: { jql: `project = "SEC" AND labels = "${SAMPLE_LABEL}"` },
    })
    expect(create).toMatchObject({
      step: 'create issue',
      url: `${site.url}/rest/api/3/issue`,
      headers: { authorization: 'REDACTED', 'content-type': 'application/json' },
      body: { fields: { project: { key: 'SEC' }, issuetype: { name: 'Task' } } },
    })
    expect(JSON.stringify(result)).not.toContain(BLOB)
  })

  it('rejects what the earlier tool sent: no project, no issue type, a string description', async () => {
    const earlier = await fetch(`${site.url}/rest/api/3/issue`, {
      method: 'POST',
      headers: { authorization: `Basic ${BLOB}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        fields: { summary: 'CAVRA cavra.evidence_bundle', description: '{"a": 1}', labels: ['cavra'] },
      }),
    })
    expect(earlier.status).toBe(400)
    expect(await earlier.json()).toEqual({
      errorMessages: [],
      errors: { project: 'valid project is required' },
    })
    const string = await fetch(`${site.url}/rest/api/3/issue`, {
      method: 'POST',
      headers: { authorization: `Basic ${BLOB}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        fields: {
          project: { key: 'SEC' },
          issuetype: { name: 'Task' },
          summary: 's',
          description: 'text',
          labels: ['a b'],
        },
      }),
    })
    expect(await string.json()).toEqual({
      errorMessages: [],
      errors: {
        description: 'Operation value must be an Atlassian Document (see the Atlassian Document Format)',
        labels: "The label 'a b' contains spaces which is invalid.",
      },
    })
    const removed = await fetch(`${site.url}/rest/api/3/search?jql=x`, {
      headers: { authorization: `Basic ${BLOB}` },
    })
    expect(removed.status).toBe(410)
  })
})
