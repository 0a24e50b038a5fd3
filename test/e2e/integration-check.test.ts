import { readFileSync, statSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { IntegrationRegistry } from '../../src/metadata/integration-registry.js'
import { Stack } from '../emulators/stack.js'
import { CANARY, canaryStackSecrets } from '../support/canaries.js'
import { runCli } from '../support/cli.js'
import { useStack } from '../support/harness.js'
import { Workspace } from '../support/workspace.js'

/** `cavra integration check` as a subprocess against the whole emulator stack. */

const stack = new Stack(canaryStackSecrets())
let ws: Workspace

useStack(stack, () => ws)

function setUp(connectors: Record<string, unknown> = stack.connectors()) {
  ws = new Workspace()
  ws.write('.cavra/connectors.json', { connectors })
}

const cavra = (args: string[], env: Record<string, string | undefined> = {}) =>
  runCli(['integration', 'check', ...args], { cwd: ws.dir, env: { ...stack.env(), ...env } })

const sentCount = () => stack.emulators.reduce((sum, emulator) => sum + emulator.requests.length, 0)

describe('cavra integration check', () => {
  it('prints a table of every enabled connector and exits 0 when none is unhealthy', async () => {
    setUp()
    const run = await cavra([])
    expect(run.code, run.stderr).toBe(0)
    const lines = run.stdout.split('\n')
    expect(lines[0]).toMatch(/^status\s+connector\s+provider\s+http\s+time\s+detail$/)
    expect(run.stdout).toMatch(
      /^healthy\s+splunk\s+splunk\s+400\s+\d+ ms\s+HEC is healthy and accepted the token/m,
    )
    expect(run.stdout).toMatch(/^healthy\s+jira\s+jira\s+200\s+\d+ ms\s+signed in as cavra bot/m)
    expect(run.stdout).toMatch(/^unverified\s+teams\s+teams\s+-\s+\d+ ms\s+Microsoft Teams has no call/m)
    expect(run.stdout).toMatch(/^unverified\s+webhook\s+webhook\s+-/m)
    expect(run.stdout).toContain('9 healthy, 0 unhealthy, 2 unverified (nothing sent to those)')
    expect(stack.teams.requests).toEqual([])
    expect(stack.webhook.requests).toEqual([])
  })

  it('prints cavra.connector.check.v1 under --json and exits 1 when a connector is unhealthy', async () => {
    setUp()
    stack.slack.hook = 'channel_is_archived'
    const run = await cavra(['--json', '--provider', 'slack,jira', '--timeout', '3'])
    expect(run.code, run.stderr).toBe(1)
    const report = JSON.parse(run.stdout)
    expect(Object.keys(report)).toEqual(['schema_version', 'product', 'checked_at', 'healthy', 'checks'])
    expect(report).toMatchObject({
      schema_version: 'cavra.connector.check.v1',
      product: 'CAVRA',
      healthy: false,
    })
    expect(Date.parse(report.checked_at)).not.toBeNaN()
    expect(report.checks).toEqual([
      {
        connector: 'slack',
        provider: 'slack',
        category: 'chatops',
        status: 'unhealthy',
        probe: 'POST {} (an empty message) to the webhook URL',
        status_code: 410,
        detail: expect.stringMatching(
          /^HTTP 410 from Slack after 1 attempt: channel_is_archived: the channel is archived/,
        ),
        duration_ms: expect.any(Number),
      },
      {
        connector: 'jira',
        provider: 'jira',
        category: 'itsm',
        status: 'healthy',
        probe: 'GET /rest/api/3/myself, then GET /rest/api/3/project/SEC',
        status_code: 200,
        detail: 'signed in as cavra bot; project SEC is visible and offers issue type Task',
        duration_ms: expect.any(Number),
      },
    ])
  })

  it('exits 3 before sending anything when a selected connector lacks its environment variable', async () => {
    setUp()
    const run = await cavra(['--provider', 'datadog,jira'], { DD_API_KEY: undefined })
    expect(run.code).toBe(3)
    expect(run.stderr).toMatch(/connector datadog: .*DD_API_KEY/)
    expect(run.stdout).toBe('')
    expect(sentCount()).toBe(0)
  })

  it('exits 3 naming the configured connectors for an unknown one, as JSON under --json', async () => {
    setUp()
    const run = await cavra(['--provider', 'splonk', '--json'])
    expect(run.code).toBe(3)
    const { error } = JSON.parse(run.stdout)
    expect(error.message).toMatch(/unknown connector "splonk" \(did you mean "splunk"\?\)/)
    expect(sentCount()).toBe(0)
  })

  it('keeps secrets a server echoes out of the detail, and makes hostile answers inert', async () => {
    setUp()
    stack.jira.inject({
      kind: 'status',
      status: 401,
      body: (request) => ({ errorMessages: [`echo ${request.headers.authorization} ${CANARY.jiraToken}`] }),
    })
    stack.datadog.inject({
      kind: 'status',
      status: 400,
      body: { errors: ['\u001b[31mred\u001b[0m\n::error title=pwned::owned ##[group]x'] },
    })
    const run = await cavra(['--provider', 'jira,datadog', '--json'])
    expect(run.code).toBe(1)
    const [jira, datadog] = JSON.parse(run.stdout).checks
    expect(jira.detail).toMatch(/echo Basic REDACTED REDACTED/)
    expect(datadog.detail).not.toMatch(/\u001b/)
    expect(run.stdout).not.toMatch(/^::/m)
    expect(run.stdout).not.toContain('##[')
  })

  it("updates the registry's health_status of every checked integration, leaving unverified and unchecked ones alone", async () => {
    setUp()
    const path = ws.path('.cavra/integrations.json')
    const registry = new IntegrationRegistry(path)
    const record = (integration_id: string, connector: string, provider: string, category: string) =>
      registry.upsert({
        integration_id,
        connector,
        provider,
        category,
        status: 'active',
        health_status: 'unknown',
      })
    await record('siem-main', 'splunk', 'splunk', 'siem')
    await record('chat-ops', 'slack', 'slack', 'chatops')
    await record('hooks', 'webhook', 'webhook', 'webhook')
    await record('tickets', 'jira', 'jira', 'itsm')
    stack.slack.hook = 'no_service'
    const run = await cavra(['--provider', 'splunk,slack,webhook', '--registry', path])
    expect(run.code, run.stderr).toBe(1)
    const health = Object.fromEntries(
      (await registry.list()).map((integration) => [integration.integration_id, integration.health_status]),
    )
    expect(health).toEqual({
      'siem-main': 'healthy',
      'chat-ops': 'failed',
      hooks: 'unknown',
      tickets: 'unknown',
    })
  })

  it('exits 5 before sending anything when --registry names no registry, and 5 for a damaged one left as it was', async () => {
    setUp()
    const missing = await cavra(['--registry', ws.path('nope.json')])
    expect(missing.code).toBe(5)
    expect(missing.stderr).toMatch(/nope\.json: no integration registry there/)
    const damaged = ws.write('integrations.json', '{"integrations": [')
    const before = statSync(damaged).mtimeMs
    const broken = await cavra(['--registry', damaged])
    expect(broken.code).toBe(5)
    expect(broken.stderr).toMatch(/integrations\.json: the integration registry is damaged: it is not JSON/)
    expect(readFileSync(damaged, 'utf8')).toBe('{"integrations": [')
    expect(statSync(damaged).mtimeMs).toBe(before)
    expect(sentCount()).toBe(0)
  })
})
