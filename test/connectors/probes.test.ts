import { describe, expect, it } from 'vitest'
import { apiBase, datadog } from '../../src/connectors/datadog.js'
import { linux } from '../../src/connectors/linux.js'
import { Stack } from '../emulators/stack.js'
import { CANARY, canaryStackSecrets } from '../support/canaries.js'
import { checkInProcess, onlyCheck } from '../support/check.js'
import { useEmulators } from '../support/harness.js'

/**
 * Each connector's `integration check` probe against its emulator: the healthy answer, and
 * the vendor's own refusals, each with a detail that says what to fix in the vendor's terms.
 * Every report is scanned for the planted canaries.
 */

const stack = new Stack(canaryStackSecrets())
useEmulators(...stack.emulators)

/** Checks the stack's connector `name`, its settings changed by `settings` (undefined removes a key). */
async function check(name: string, settings: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  const connectors = stack.connectors()
  const entry = Object.fromEntries(
    Object.entries({ ...connectors[name], ...settings }).filter(([, value]) => value !== undefined),
  )
  return onlyCheck(await checkInProcess({ connectors: { [name]: entry }, env: { ...stack.env(), ...env } }))
}

describe('splunk: HEC health, then an empty post with the token', () => {
  it('is healthy when HEC answers code 17 and the empty post code 5, and says the index was not verified', async () => {
    const result = await check('splunk')
    expect(result).toMatchObject({
      status: 'healthy',
      status_code: 400,
      provider: 'splunk',
      category: 'siem',
    })
    expect(result.detail).toMatch(/code 5 "No data"/)
    expect(result.detail).toMatch(/index "cavra" was not verified/)
    expect(stack.splunk.requestsTo('/services/collector/health')).toHaveLength(1)
    const [post] = stack.splunk.requestsTo('/services/collector/event')
    expect(post!.body.length).toBe(0)
    expect(stack.splunk.events).toEqual([])
  })

  it('is unhealthy with code 4 for a token HEC does not know', async () => {
    const result = await check('splunk', {}, { SPLUNK_HEC_TOKEN: '00000000-0000-4000-8000-000000000000' })
    expect(result).toMatchObject({ status: 'unhealthy', status_code: 403 })
    expect(result.detail).toMatch(/HEC code 4 \(Invalid token\): check the token value/)
  })

  it('is unhealthy with code 1 for a disabled token', async () => {
    stack.splunk.tokenDisabled = true
    const result = await check('splunk')
    expect(result.status).toBe('unhealthy')
    expect(result.detail).toMatch(/HEC code 1 \(Token disabled\): enable the HEC token in Splunk/)
  })

  it('is unhealthy with code 3 when the Authorization header is not of the Splunk form', async () => {
    const result = await check('splunk', { token_env: undefined, authorization: 'Bearer not-a-hec-form' })
    expect(result).toMatchObject({ status: 'unhealthy', status_code: 401 })
    expect(result.detail).toMatch(/HEC code 3 \(Invalid authorization\)/)
  })

  it('is unhealthy when the health endpoint says the queues are full, without posting', async () => {
    stack.splunk.queuesFull = true
    const result = await check('splunk')
    expect(result).toMatchObject({ status: 'unhealthy', status_code: 503 })
    expect(result.detail).toMatch(/HEC code 18 \(HEC is unhealthy, queues are full\)/)
    expect(stack.splunk.requestsTo('/services/collector/event')).toEqual([])
  })

  it('is unhealthy when a sign-in page answers instead of HEC', async () => {
    stack.splunk.htmlProxy = true
    const result = await check('splunk')
    expect(result.detail).toMatch(/did not come from Splunk HEC/)
  })
})

describe('sentinel: the Entra token of the configured credential', () => {
  it('is healthy when Entra issues the token, and sends nothing to the ingestion endpoint', async () => {
    const result = await check('sentinel')
    expect(result).toMatchObject({ status: 'healthy', status_code: 200, probe: 'obtain the Entra token' })
    expect(result.detail).toMatch(/Monitoring Metrics Publisher role .* not verified/)
    expect(stack.entra.tokenRequests()).toHaveLength(1)
    expect(stack.sentinel.requests).toEqual([])
  })

  it("is unhealthy with Entra's AADSTS7000215 for a wrong client secret", async () => {
    const result = await check('sentinel', {}, { SENTINEL_CLIENT_SECRET: 'not-the-secret-value' })
    expect(result).toMatchObject({ status: 'unhealthy', status_code: 401 })
    expect(result.detail).toMatch(/could not obtain an Entra access token: .*AADSTS7000215/)
    expect(result.detail).toMatch(/check the client id and secret/)
  })

  it('is unverified, with nothing sent, for the data collector and for a bearer token given in the config', async () => {
    const collector = await check('sentinel', {
      mode: 'data-collector',
      workspace_id: '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a',
      shared_key: Buffer.from(CANARY.sentinelSecret).toString('base64'),
      dcr_immutable_id: undefined,
      tenant_id: undefined,
      client_id: undefined,
      client_secret_env: undefined,
      authority_url_env: undefined,
    })
    expect(collector).toMatchObject({ status: 'unverified', status_code: null, probe: 'none' })
    expect(collector.detail).toMatch(/Data Collector API has no call that stores nothing/)
    const bearer = await check(
      'sentinel',
      { tenant_id: undefined, client_id: undefined, client_secret_env: undefined, token_env: 'T' },
      { T: CANARY.sentinelSecret },
    )
    expect(bearer.status).toBe('unverified')
    expect(stack.sentinel.requests).toEqual([])
    expect(stack.entra.requests).toEqual([])
  })
})

describe('datadog: GET /api/v1/validate with the key', () => {
  it('is healthy when Datadog answers {"valid": true}', async () => {
    const result = await check('datadog')
    expect(result).toMatchObject({ status: 'healthy', status_code: 200 })
    const [request] = stack.datadog.requestsTo('/api/v1/validate')
    expect(request!.headers['dd-api-key']).toBe(CANARY.datadogKey)
    expect(stack.datadog.requestsTo('/api/v2/logs')).toEqual([])
  })

  it('is unhealthy with 403 Forbidden for a key of another site or none, naming api_key and site', async () => {
    const result = await check('datadog', {}, { DD_API_KEY: 'a-key-of-another-organisation' })
    expect(result).toMatchObject({ status: 'unhealthy', status_code: 403 })
    expect(result.detail).toMatch(
      /Forbidden .*the API key is wrong, or the key is not valid for .*check api_key and site/,
    )
  })

  it('asks https://api.<site> unless api_url says otherwise', () => {
    const configure = (settings: Record<string, unknown>) =>
      datadog.configure({ api_key: 'k', ...settings }, { name: 'datadog', warn: () => {} })
    expect(configure({}).apiUrl).toBe('https://api.datadoghq.com')
    expect(configure({ site: 'datadoghq.eu' }).apiUrl).toBe('https://api.datadoghq.eu')
    expect(configure({ url: 'https://http-intake.logs.us5.datadoghq.com' }).apiUrl).toBe(
      'https://api.us5.datadoghq.com',
    )
    expect(configure({ url: 'https://dd-proxy.corp.example/api/v2/logs' }).apiUrl).toBe(
      'https://dd-proxy.corp.example',
    )
    expect(configure({ api_url: 'https://api.ddog-gov.com/' }).apiUrl).toBe('https://api.ddog-gov.com')
    expect(() => apiBase('https://api.datadoghq.com/api/v1/validate', null, 'https://x')).toThrow(/API base/)
  })
})

describe('slack: POST {} to the webhook, answered no_text', () => {
  it('is healthy when Slack refuses the empty message with no_text, and nothing is posted', async () => {
    const result = await check('slack')
    expect(result).toMatchObject({ status: 'healthy', status_code: 400 })
    expect(stack.slack.requests[0]!.text).toBe('{}')
    expect(stack.slack.messages).toEqual([])
  })

  it.each([
    ['channel_is_archived', 410, /the channel is archived: unarchive it/],
    ['no_service', 404, /the webhook was revoked or its app uninstalled/],
    ['invalid_token', 403, /the token in the webhook URL is not valid/],
  ] as const)('is unhealthy when the hook answers %s', async (state, status, fix) => {
    stack.slack.hook = state
    const result = await check('slack')
    expect(result).toMatchObject({ status: 'unhealthy', status_code: status })
    expect(result.detail).toContain(state)
    expect(result.detail).toMatch(fix)
  })
})

describe('jira: myself, then the project', () => {
  it('is healthy when the account signs in and the project offers the issue type', async () => {
    const result = await check('jira')
    expect(result).toMatchObject({ status: 'healthy', status_code: 200 })
    expect(result.detail).toBe('signed in as cavra bot; project SEC is visible and offers issue type Task')
    expect(stack.jira.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'GET /rest/api/3/myself',
      'GET /rest/api/3/project/SEC',
    ])
    expect(stack.jira.issues).toEqual([])
  })

  it('is unhealthy with 401 for a wrong API token, saying which credential form Jira takes', async () => {
    const result = await check('jira', {}, { JIRA_API_TOKEN: 'a-revoked-api-token' })
    expect(result).toMatchObject({ status: 'unhealthy', status_code: 401 })
    expect(result.detail).toMatch(/Cloud takes email \+ an API token .*check email and token/)
  })

  it('is unhealthy with 404 for an unknown project', async () => {
    const result = await check('jira', { project_key: 'NOPE' })
    expect(result).toMatchObject({ status: 'unhealthy', status_code: 404 })
    expect(result.detail).toMatch(/No project could be found with key 'NOPE'/)
    expect(result.detail).toMatch(/project NOPE does not exist or is not visible .*check project_key/)
  })

  it('is unhealthy when the project has no such issue type', async () => {
    const result = await check('jira', { issue_type: 'Incident' })
    expect(result.status).toBe('unhealthy')
    expect(result.detail).toBe(
      'issue type "Incident" does not exist in project SEC (it has Task, Bug, Story); set issue_type',
    )
  })
})

describe('servicenow: one row of the table records land in', () => {
  it('is healthy when the user may read the table', async () => {
    const result = await check('servicenow')
    expect(result).toMatchObject({ status: 'healthy', status_code: 200 })
    const [request] = stack.servicenow.requests
    expect(`${request!.method} ${request!.path}`).toBe('GET /api/now/table/change_request')
    expect(Object.fromEntries(request!.query)).toEqual({ sysparm_limit: '1', sysparm_fields: 'sys_id' })
    expect(stack.servicenow.rows('change_request')).toEqual([])
  })

  it('is unhealthy with 401 for a wrong password', async () => {
    const result = await check('servicenow', {}, { SERVICENOW_PASSWORD: 'wrong-password' })
    expect(result).toMatchObject({ status: 'unhealthy', status_code: 401 })
    expect(result.detail).toMatch(/User Not Authenticated .*check username and password/)
  })

  it('is unhealthy with 403 when the read ACL refuses the user', async () => {
    const nobody = { username: 'cavra.nobody', password: CANARY.servicenowPassword, roles: [] }
    stack.servicenow.options.users.push(nobody)
    try {
      const result = await check('servicenow', { username: 'cavra.nobody' })
      expect(result).toMatchObject({ status: 'unhealthy', status_code: 403 })
      expect(result.detail).toMatch(/the user lacks the role or ACL to read change_request/)
    } finally {
      stack.servicenow.options.users.pop()
    }
  })
})

describe('jamf: a token, the version, each scoped computer group', () => {
  it('is healthy when the token is issued and every group exists', async () => {
    const result = await check('jamf')
    expect(result).toMatchObject({ status: 'healthy', status_code: 200 })
    expect(result.detail).toMatch(
      /^token issued; Jamf Pro 11\.12\.0-t\d+; computer groups 12 \(Group 12\) exist/,
    )
    expect(stack.jamf.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /api/oauth/token',
      'GET /api/v1/jamf-pro-version',
      'GET /JSSResource/computergroups/id/12',
    ])
    expect(stack.jamf.scripts.size + stack.jamf.policies.size).toBe(0)
  })

  it('is unhealthy for a computer group that does not exist', async () => {
    const result = await check('jamf', { computer_group_ids: [12, 99] })
    expect(result).toMatchObject({ status: 'unhealthy', status_code: 404 })
    expect(result.detail).toMatch(/computer group 99 does not exist; check computer_group_ids/)
  })

  it('is unhealthy when the API client secret is refused', async () => {
    const result = await check('jamf', {}, { JAMF_CLIENT_SECRET: 'rotated-away' })
    expect(result).toMatchObject({ status: 'unhealthy', status_code: 401 })
    expect(result.detail).toMatch(/could not obtain a Jamf Pro access token: .*invalid_client/)
  })

  it('is unhealthy when the API role may not read computer groups', async () => {
    const deny = stack.jamf.options.deny
    stack.jamf.options.deny = ['computergroups']
    try {
      const result = await check('jamf')
      expect(result).toMatchObject({ status: 'unhealthy', status_code: 403 })
      expect(result.detail).toMatch(
        /lacks the Read Smart Computer Groups and Read Static Computer Groups privileges/,
      )
    } finally {
      stack.jamf.options.deny = deny
    }
  })
})

describe('intune: the Graph token, then one platform script', () => {
  it('is healthy when Graph lists the scripts', async () => {
    const result = await check('intune')
    expect(result).toMatchObject({ status: 'healthy', status_code: 200 })
    const [list] = stack.graph.requests
    expect(list!.query.get('$top')).toBe('1')
    expect(stack.graph.scripts.size).toBe(0)
  })

  it('is unhealthy with 403 naming the Graph permission the app needs', async () => {
    stack.graph.noPermission = true
    const result = await check('intune')
    expect(result).toMatchObject({ status: 'unhealthy', status_code: 403 })
    expect(result.detail).toMatch(
      /application permission DeviceManagementScripts\.ReadWrite\.All .*admin consent/,
    )
  })

  it('is unhealthy when Entra refuses the client secret', async () => {
    const result = await check('intune', {}, { INTUNE_CLIENT_SECRET: 'expired-secret' })
    expect(result.status).toBe('unhealthy')
    expect(result.detail).toMatch(/AADSTS7000215/)
    expect(stack.graph.requests).toEqual([])
  })
})

describe("linux: the fleet receiver's /health", () => {
  it("is healthy when the receiver's origin answers /health with 200", async () => {
    const result = await check('linux')
    expect(result).toMatchObject({ status: 'healthy', status_code: 200, probe: 'GET /health' })
    expect(stack.fleet.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'GET /health',
    ])
    expect(stack.fleet.publications).toEqual([])
  })

  it('is unhealthy when the receiver says it is down', async () => {
    stack.fleet.up = false
    const result = await check('linux')
    expect(result).toMatchObject({ status: 'unhealthy', status_code: 503 })
    expect(result.detail).toMatch(/the receiver says it is not up/)
  })

  it('is unhealthy, naming health_url, when nothing answers there', async () => {
    const result = await check('linux', { health_url: `${stack.fleet.url}/status` })
    expect(result).toMatchObject({ status: 'unhealthy', status_code: 404 })
    expect(result.detail).toMatch(/set health_url/)
  })

  it("defaults health_url to the url's origin + /health", () => {
    const config = linux.configure(
      { url: 'https://fleet.example:8443/fleet/publications', token: 't' },
      { name: 'linux', warn: () => {} },
    )
    expect(config.healthUrl).toBe('https://fleet.example:8443/health')
  })
})

describe('teams and webhook: no call leaves nothing behind', () => {
  it.each(['teams', 'webhook'])('reports %s unverified and sends it nothing', async (name) => {
    const result = await check(name)
    expect(result).toMatchObject({ status: 'unverified', status_code: null, probe: 'none' })
    expect(result.detail).toMatch(
      /no call that leaves nothing behind: the configuration was checked, nothing was sent/,
    )
    expect([...stack.teams.requests, ...stack.webhook.requests]).toEqual([])
  })
})
