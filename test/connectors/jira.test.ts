import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/common/errors.js'
import { loadConnectorConfig } from '../../src/config/load.js'
import { prepareConnectors, selectConnectors } from '../../src/config/select.js'
import { REGISTRY } from '../../src/connectors/index.js'
import {
  adfDescription,
  DESCRIPTION_BUDGET,
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
import { deliveryTo, useEmulators } from '../support/harness.js'

const EMAIL = 'governance-bot@acme.example'
const TOKEN = CANARY.jiraToken
const PAT = `${CANARY.jiraToken}-pat`
const BLOB = Buffer.from(`${EMAIL}:${TOKEN}`).toString('base64')
const SAMPLE_LABEL = 'cavra-64e4d110ab0f'
const site = new JiraEmulator({ email: EMAIL, apiToken: TOKEN, pat: PAT })

useEmulators(site)

const warnings: string[] = []
function configure(settings: Record<string, unknown>): JiraConfig {
  warnings.length = 0
  return jira.configure(
    { url: 'https://acme.atlassian.net', project_key: 'SEC', email: EMAIL, token: TOKEN, ...settings },
    { name: 'jira', warn: (message) => warnings.push(message) },
  )
}

/** Jira Cloud (the emulator's loopback URL is no *.atlassian.net site, so it is named): REST API 3, Basic email:API token. */
const cloud = deliveryTo('jira', () => ({
  settings: {
    url_env: 'JIRA_URL',
    email_env: 'JIRA_EMAIL',
    token_env: 'JIRA_TOKEN',
    project_key: 'SEC',
    deployment: 'cloud',
  },
  env: { JIRA_URL: site.url, JIRA_EMAIL: EMAIL, JIRA_TOKEN: TOKEN },
}))

/** Jira Data Center (the default for a host that is not *.atlassian.net): REST API 2, a personal access token. */
const dataCenter = deliveryTo('jira', () => {
  site.deployment = 'datacenter'
  return {
    settings: { url_env: 'JIRA_URL', token_env: 'JIRA_PAT', project_key: 'SEC' },
    env: { JIRA_URL: site.url, JIRA_PAT: PAT },
  }
})

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

/** The rollback fixture with 30 steps of about 1,400 characters each: over Jira's limit if sent whole. */
async function longRollback(): Promise<DeliveryEvent> {
  const event = await rollbackFixtureEvent()
  const step = (n: number) =>
    `macos-arm64-jamf: step ${n}, re-scope the previous Jamf policy and verify the runtime hash on every host; `
      .repeat(14)
      .slice(0, 1400)
  const items = Array.from({ length: 30 }, (_, n) => step(n + 1))
  return { ...event, view: { ...event.view, highlights: { heading: 'Rollback steps', items, omitted: 0 } } }
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
    configure({ url: 'https://jira.acme.example', api_version: '2' })
    expect(warnings[0]).toMatch(/Data Center expects a personal access token alone/)
    expect(warnings[0]).toMatch(/If this is Jira Cloud under another host name, set deployment: cloud\.$/)
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
    site.deployment = 'datacenter'
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
    const dc = searchRequest(
      configure({ url: 'https://jira.acme.example', email: undefined }),
      SAMPLE_LABEL,
      3,
    )
    expect(dc).toMatchObject({
      method: 'GET',
      url: expect.stringMatching(/^https:\/\/jira\.acme\.example\/rest\/api\/2\/search\?/),
    })
    expect(new URL(dc.url).searchParams.get('jql')).toBe(
      `project = "SEC" AND labels = "${SAMPLE_LABEL}" AND created >= -3m ORDER BY created DESC`,
    )
    expect(dc.headers['content-type']).toBeUndefined()
  })

  it('searches Jira Cloud through /search/jql with either API version (the old /search is gone there)', () => {
    // A Cloud site on REST API 2: Atlassian answers 410 Gone on /rest/api/2/search.
    const v2 = searchRequest(configure({ api_version: 2 }), SAMPLE_LABEL)
    expect(v2).toMatchObject({ method: 'POST', url: 'https://acme.atlassian.net/rest/api/2/search/jql' })
    expect(JSON.parse(String(v2.body))).toMatchObject({ fields: ['key'], maxResults: 1 })
    expect(configure({ api_version: 2 })).toMatchObject({ deployment: 'cloud', apiVersion: 2 })
    const proxied = configure({ url: 'https://jira-proxy.acme.example', deployment: 'cloud', api_version: 2 })
    expect(searchRequest(proxied, SAMPLE_LABEL).url).toBe(
      'https://jira-proxy.acme.example/rest/api/2/search/jql',
    )
  })

  it('infers the deployment from the site, defaulting api_version to 3 on Cloud and 2 on Data Center', () => {
    expect(configure({})).toMatchObject({ deployment: 'cloud', apiVersion: 3 })
    expect(configure({ url: 'https://acme.atlassian.net/jira/' })).toMatchObject({ deployment: 'cloud' })
    const dc = configure({ url: 'https://jira.acme.example', email: undefined })
    expect(dc).toMatchObject({ deployment: 'datacenter', apiVersion: 2, authorization: `Bearer ${TOKEN}` })
    expect(warnings).toEqual([])
    expect(configure({ url: 'https://jira.acme.example', deployment: 'cloud' })).toMatchObject({
      deployment: 'cloud',
      apiVersion: 3,
    })
    // Only Cloud has REST API 3, so naming it on another host means Cloud (behind a proxy).
    expect(configure({ url: 'https://jira.acme.example/rest/api/3/issue' }).deployment).toBe('cloud')
    expect(() =>
      configure({ url: 'https://jira.acme.example', deployment: 'datacenter', api_version: 3 }),
    ).toThrow(/api_version 3 is a Jira Cloud API/)
    expect(() => configure({ deployment: 'datacenter' })).toThrow(
      /\*\.atlassian\.net site, which is Jira Cloud/,
    )
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
    // This delivery's own issue, found after its answer was lost: sent, not a duplicate.
    expect(delivery).toMatchObject({
      success: true,
      remote_reference: 'SEC-1',
      records_sent: 1,
      deduplicated: false,
      warnings: ['the create landed but its answer was lost; found by the duplicate check'],
    })
    expect(site.issues).toHaveLength(1)
    expect(creates()).toHaveLength(1)
    // The first search after the timeout could not see the issue yet; a later one did.
    const confirming = delivery.attempts.filter((a) => a.step === 'search created issue')
    expect(confirming.length).toBeGreaterThanOrEqual(2)
    // The search after the unanswered create is repeated after a pause, before anything is re-created.
    expect(
      Date.parse(confirming[1]!.started_at) - Date.parse(confirming[0]!.started_at),
    ).toBeGreaterThanOrEqual(1400)
    expect(delivery.attempts.find((a) => a.step === 'create issue')).toMatchObject({
      outcome: 'retryable',
      error: 'no response within 0.5 s',
    })
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
    const result = await cloud({}, { env: { JIRA_TOKEN: 'canary-wrong-jira-token-00' } })
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: false, status_code: 401, attempt_count: 1 })
    expect(delivery.error).toMatch(/Client must be authenticated.*check email and token/)
    const text = JSON.stringify(result)
    expect(text).not.toContain('canary-wrong-jira-token-00')
    expect(text).not.toContain(Buffer.from(`${EMAIL}:canary-wrong-jira-token-00`).toString('base64'))
  })

  it('waits until X-RateLimit-Reset when a 429 carries no Retry-After', async () => {
    site.throttle(1, { resetAt: new Date(Date.now() + 1500) })
    const result = await cloud()
    const wait = result.deliveries[0]!.attempts[0]!.retry_after_ms!
    expect(result.deliveries[0]!.success).toBe(true)
    expect(wait).toBeGreaterThan(800)
    expect(wait).toBeLessThanOrEqual(1500)
  })

  it('keeps a rollback of 30 long steps under Jira’s 32,767-character description limit, v3 and v2', async () => {
    const event = await longRollback()
    const v3 = await cloud({}, { event })
    expect(v3.deliveries[0], v3.deliveries[0]!.error ?? '').toMatchObject({
      success: true,
      remote_reference: 'SEC-1',
    })
    site.reset()
    const v2 = await dataCenter({}, { event })
    expect(v2.deliveries[0], v2.deliveries[0]!.error ?? '').toMatchObject({
      success: true,
      remote_reference: 'SEC-1',
    })
    const adf = issueFields(event, configure({})).description
    const wiki = issueFields(
      event,
      configure({ url: 'https://jira.acme.example', email: undefined }),
    ).description
    expect(JSON.stringify(adf).length).toBeLessThanOrEqual(DESCRIPTION_BUDGET)
    expect(String(wiki).length).toBeLessThanOrEqual(DESCRIPTION_BUDGET)
    expect(adfProblem(adf)).toBeUndefined()
    // The list is shortened, visibly, from its end: the first steps stay whole.
    const shown = (text: string) =>
      (
        text.match(/re-scope the previous Jamf policy and verify the runtime hash on every host; macos/g) ??
        []
      ).length
    expect(adfText(adf)).toContain('macos-arm64-jamf: step 1, re-scope')
    expect(adfText(adf)).toMatch(/… and \d+ more \(see the source artifact\)\./)
    const kept = Number(/… and (\d+) more/.exec(adfText(adf))![1])
    expect(kept).toBeGreaterThan(5)
    expect(adfText(adf)).toContain(`step ${30 - kept},`)
    expect(adfText(adf)).not.toContain(`step ${30 - kept + 1},`)
    expect(String(wiki)).toMatch(/… and \d+ more \(see the source artifact\)\./)
    expect(shown(String(wiki))).toBeGreaterThan(0)
    // The record and the label an auditor and the duplicate check rely on are always there.
    expect(adfText(adf)).toContain('"rollback_id": "rre_b83f10c6d2a1"')
    expect(String(wiki)).toContain(`{{${dedupeLabel(event.eventId)}}}`)
  })

  it('shortens even a description whose every part is huge, and keeps it valid', async () => {
    const event = await longRollback()
    const huge = {
      ...event,
      view: {
        ...event.view,
        summary: 'S'.repeat(50_000),
        facts: Array.from({ length: 200 }, (_, n) => ({ label: `Fact ${n}`, value: 'v'.repeat(3000) })),
        references: Array.from(
          { length: 200 },
          (_, n) => `https://evidence.acme.example/${n}/${'r'.repeat(1500)}`,
        ),
      },
    }
    const adf = adfDescription(huge)
    expect(adfProblem(adf)).toBeUndefined()
    expect(JSON.stringify(adf).length).toBeLessThanOrEqual(DESCRIPTION_BUDGET)
    expect(wikiDescription(huge).length).toBeLessThanOrEqual(DESCRIPTION_BUDGET)
    expect(adfText(adf)).toMatch(/… and \d+ more/)
  })

  it('refuses a description over 32,767 characters with Jira’s own words, ADF and string alike', async () => {
    const fields = (description: unknown) => ({
      fields: { project: { key: 'SEC' }, issuetype: { name: 'Task' }, summary: 's', description },
    })
    const post = async (version: 2 | 3, body: object) => {
      const answer = await fetch(`${site.url}/rest/api/${version}/issue`, {
        method: 'POST',
        headers: { authorization: `Basic ${BLOB}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      return [answer.status, await answer.json()]
    }
    const tooLong = {
      errorMessages: [],
      errors: {
        description: 'The entered text is too long. It exceeds the allowed limit of 32,767 characters.',
      },
    }
    const adf = (chars: number) => ({
      type: 'doc',
      version: 1,
      content: [{ type: 'paragraph', content: [{ type: 'text', text: 'x'.repeat(chars) }] }],
    })
    // ADF counts as the JSON Jira stores: 32,700 characters of text are over the limit in their markup.
    expect(await post(3, fields(adf(32_700)))).toEqual([400, tooLong])
    expect(await post(3, fields(adf(32_000)))).toEqual([201, expect.objectContaining({ key: 'SEC-1' })])
    expect(await post(2, fields('x'.repeat(32_768)))).toEqual([400, tooLong])
    expect(await post(2, fields('x'.repeat(32_767)))).toEqual([
      201,
      expect.objectContaining({ key: 'SEC-2' }),
    ])
  })

  it('searches a Cloud site on REST API 2 through /rest/api/2/search/jql, never the removed /search', async () => {
    const first = await cloud({ api_version: 2 })
    expect(first.deliveries[0], first.deliveries[0]!.error ?? '').toMatchObject({
      success: true,
      remote_reference: 'SEC-1',
    })
    expect(site.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /rest/api/2/search/jql',
      'POST /rest/api/2/issue',
    ])
    expect(typeof site.issues[0]!.fields.description).toBe('string')
    expect((await cloud({ api_version: 2 })).deliveries[0]).toMatchObject({
      deduplicated: true,
      remote_reference: 'SEC-1',
    })
    expect(site.requestsTo(/\/search$/)).toEqual([])
  })

  it('answers like Jira Cloud: 410 on the removed searches, token pages on /search/jql', async () => {
    for (const version of [2, 3]) {
      for (const method of ['GET', 'POST']) {
        const removed = await fetch(`${site.url}/rest/api/${version}/search`, {
          method,
          headers: { authorization: `Basic ${BLOB}`, 'content-type': 'application/json' },
          ...(method === 'POST' ? { body: '{"jql":"project = SEC"}' } : {}),
        })
        expect(removed.status).toBe(410)
        expect(await removed.json()).toEqual({
          errorMessages: [
            'The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046',
          ],
          errors: {},
        })
      }
    }
    for (let n = 0; n < 3; n++) await cloud({}, { event: { ...(await firstEvent()), eventId: `evt-${n}` } })
    const page = async (body: object) => {
      const answer = await fetch(`${site.url}/rest/api/3/search/jql`, {
        method: 'POST',
        headers: { authorization: `Basic ${BLOB}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jql: 'project = "SEC" AND labels = "cavra"', ...body }),
      })
      return (await answer.json()) as {
        issues: Array<{ key: string }>
        nextPageToken?: string
        isLast: boolean
      }
    }
    const one = await page({ maxResults: 2 })
    expect(one.issues.map((i) => i.key)).toEqual(['SEC-1', 'SEC-2'])
    expect(one).toMatchObject({ isLast: false, nextPageToken: expect.any(String) })
    expect(one).not.toHaveProperty('total')
    const two = await page({ maxResults: 2, nextPageToken: one.nextPageToken })
    expect(two.issues.map((i) => i.key)).toEqual(['SEC-3'])
    expect(two).toEqual(expect.objectContaining({ isLast: true }))
    expect(two).not.toHaveProperty('nextPageToken')
  })

  it('answers like Data Center: REST v2 and /rest/api/2/search only', async () => {
    site.deployment = 'datacenter'
    const headers = { authorization: `Bearer ${PAT}`, 'content-type': 'application/json' }
    expect(
      (await fetch(`${site.url}/rest/api/3/issue`, { method: 'POST', headers, body: '{}' })).status,
    ).toBe(404)
    expect(
      (await fetch(`${site.url}/rest/api/2/search/jql`, { method: 'POST', headers, body: '{}' })).status,
    ).toBe(404)
    const search = await fetch(`${site.url}/rest/api/2/search?jql=${encodeURIComponent('project = "SEC"')}`, {
      headers,
    })
    expect(await search.json()).toMatchObject({ startAt: 0, total: 0, issues: [] })
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
