import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { Stack } from '../emulators/stack.js'
import { canaryStackSecrets } from '../support/canaries.js'
import { runCli } from '../support/cli.js'
import { useStack } from '../support/harness.js'
import { SIEM_EVENT, Workspace } from '../support/workspace.js'

/**
 * The built CLI against every vendor emulator at once: the evidence bundle to all eight event
 * connectors, then a release's promotion and rollback with a forced Jira failure that opens an
 * alert and a successful re-delivery that resolves it.
 */

const stack = new Stack(canaryStackSecrets())
let ws: Workspace

useStack(stack, () => ws)

function setUp(): void {
  ws = new Workspace('cavra-flow-')
  ws.write('.cavra/connectors.json', { connectors: stack.connectors() })
  ws.copy(SIEM_EVENT)
  ws.copy('examples/release/rollout-promotion-execution.json')
  ws.copy('examples/release/rollout-rollback-execution.json')
}

const cavra = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { cwd: ws.dir, env: { ...stack.env(), ...env } })

describe('integration deliver --provider all', () => {
  it('reaches all eight event connectors, each in its own terms', async () => {
    setUp()
    const run = await cavra(['integration', 'deliver', 'siem-event.json', '--provider', 'all', '--json'])
    expect(run.code, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout)
    expect(result.deliveries.map((d: { provider: string }) => d.provider)).toEqual([
      'splunk',
      'sentinel',
      'datadog',
      'slack',
      'teams',
      'jira',
      'servicenow',
      'webhook',
    ])
    expect(result.deliveries.every((d: { success: boolean }) => d.success)).toBe(true)
    // Each SIEM gets the summary and the seven decisions.
    expect(stack.splunk.events).toHaveLength(8)
    expect(stack.sentinel.rows).toHaveLength(8)
    expect(stack.datadog.logs).toHaveLength(8)
    // Jira: project, issue type and an ADF description.
    const [issue] = stack.jira.issues
    expect(issue!.fields).toMatchObject({
      project: { key: 'SEC' },
      issuetype: { name: 'Task' },
      description: { type: 'doc', version: 1 },
    })
    expect(issue!.fields.labels).toEqual(expect.arrayContaining(['cavra', 'cavra-severity-high']))
    // ServiceNow: the correlation id of the event.
    const [change] = stack.servicenow.tables.get('change_request')!
    expect(change!.correlation_id).toBe('cavra:sess-2026-11-28-ci-4812')
    expect(change!.correlation_display).toBe('CAVRA')
    // Teams: an Adaptive Card in the message envelope.
    expect(stack.teams.cards[0]!.card).toMatchObject({ type: 'AdaptiveCard', version: '1.4' })
    expect(stack.teams.requests[0]!.text).toContain('"contentType":"application/vnd.microsoft.card.adaptive"')
    expect(stack.slack.messages).toHaveLength(1)
    expect(stack.webhook.deliveries).toHaveLength(1)
    expect(stack.webhook.rejected).toEqual([])
  })

  it('does not create a second Jira issue or ServiceNow change when the delivery is repeated', async () => {
    setUp()
    const first = await cavra([
      'integration',
      'deliver',
      'siem-event.json',
      '-p',
      'jira,servicenow',
      '--json',
    ])
    expect(first.code, first.stderr).toBe(0)
    const again = await cavra([
      'integration',
      'deliver',
      'siem-event.json',
      '-p',
      'jira,servicenow',
      '--json',
    ])
    expect(again.code, again.stderr).toBe(0)
    expect(stack.jira.issues).toHaveLength(1)
    expect(stack.servicenow.tables.get('change_request')).toHaveLength(1)
    const before = JSON.parse(first.stdout).deliveries
    const after = JSON.parse(again.stdout).deliveries
    for (const [index, delivery] of after.entries()) {
      expect(delivery).toMatchObject({ deduplicated: true, remote_reference: before[index].remote_reference })
    }
  })
})

describe('release deliveries, history and dashboards', () => {
  it('opens an alert for a failed Jira rollback delivery and resolves it with a successful re-delivery', async () => {
    setUp()
    const promotion = await cavra(['release', 'deliver-promotion-audit', 'rollout-promotion-execution.json'])
    expect(promotion.code, promotion.stderr).toBe(0)
    expect(promotion.stdout).toMatch(/Indexed as rcd-rpe-4c1d2e9a7b30-[0-9a-f]{12}/)

    stack.jira.inject(
      { kind: 'status', status: 503, body: 'Service Unavailable' },
      100,
      (r) => r.method === 'POST',
    )
    const failed = await cavra([
      'release',
      'deliver-rollback-execution',
      'rollout-rollback-execution.json',
      '--retries',
      '1',
    ])
    expect(failed.code).toBe(1)
    expect(failed.stdout).toMatch(/FAILED\s+jira\s+/)
    expect(readdirSync(ws.path('.cavra/release/rollback-deliveries'))).toHaveLength(1)

    const dashboard = JSON.parse(
      (await cavra(['release', 'connector-delivery-dashboard', '--format', 'json'])).stdout,
    )
    expect(dashboard.schema_version).toBe('cavra.release.connector_delivery_dashboard.v1')
    expect(dashboard.alert_level).toBe('critical')
    expect(dashboard.alerts).toEqual([
      expect.objectContaining({
        severity: 'critical',
        provider: 'jira',
        event_id: 'rre_b83f10c6d2a1',
        event_type: 'cavra.rollout_rollback_execution',
      }),
    ])
    const jira = dashboard.providers.find((p: { provider: string }) => p.provider === 'jira')
    expect(jira).toMatchObject({ total: 2, succeeded: 1, failed: 1, state: 'failing', failure_streak: 1 })
    // The other connectors of the failed batch count as successes.
    const slack = dashboard.providers.find((p: { provider: string }) => p.provider === 'slack')
    expect(slack).toMatchObject({ total: 2, succeeded: 2, failed: 0, state: 'healthy' })
    expect(dashboard.event_types).toEqual({
      'cavra.rollout_promotion_execution': 1,
      'cavra.rollout_rollback_execution': 1,
    })

    const onlyFailed = JSON.parse(
      (await cavra(['release', 'connector-delivery-history', '--provider', 'jira', '--no-success', '--json']))
        .stdout,
    )
    expect(onlyFailed).toMatchObject({
      schema_version: 'cavra.release.connector_delivery_history.v1',
      total: 1,
    })
    expect(onlyFailed.items[0]).toMatchObject({
      provider: 'jira',
      success: false,
      event_id: 'rre_b83f10c6d2a1',
    })

    stack.jira.clearFaults()
    const redelivered = await cavra([
      'release',
      'deliver-rollback-execution',
      'rollout-rollback-execution.json',
    ])
    expect(redelivered.code, redelivered.stderr).toBe(0)
    const resolved = JSON.parse((await cavra(['release', 'connector-delivery-dashboard', '--json'])).stdout)
    expect(resolved.alerts).toEqual([])
    expect(resolved.alert_level).toBe('healthy')
    expect(resolved.providers.find((p: { provider: string }) => p.provider === 'jira').state).toBe('degraded')
    // The Jira issue was created once, by the successful re-delivery.
    expect(stack.jira.issues.filter((i) => String(i.fields.summary).includes('rolled back'))).toHaveLength(1)

    const verify = await cavra(['metadata', 'verify'])
    expect(verify.stdout).toContain('3 items: 3 chained items intact')
  })

  it('says in every connector what was rolled back, why and under which approval, at critical severity', async () => {
    setUp()
    const run = await cavra(['release', 'deliver-rollback-execution', 'rollout-rollback-execution.json'])
    expect(run.code, run.stderr).toBe(0)
    const slack = JSON.stringify(stack.slack.messages[0])
    for (const needle of [
      'CRITICAL',
      'v0.2.0',
      'stable → canary',
      'crash loop',
      'apr_c4d91e0b7a22',
      'CHG0031219',
    ]) {
      expect(slack).toContain(needle)
    }
    const issue = stack.jira.issues[0]!
    expect(String(issue.fields.summary)).toMatch(/^\[CRITICAL\] .*rolled back stable → canary/)
    expect(issue.fields.priority).toEqual({ name: 'Highest' })
    expect(JSON.stringify(issue.fields.description)).toContain('apr_c4d91e0b7a22')
    const change = stack.servicenow.tables.get('change_request')![0]!
    expect([change.impact, change.urgency]).toEqual(['1', '1'])
    expect(stack.sentinel.rows[0]).toMatchObject({ Severity: 'High', CavraSeverity: 'critical' })
    expect(stack.datadog.logs[0]).toMatchObject({ status: 'critical' })
    expect(stack.splunk.events[0]!.fields).toMatchObject({ severity: 'critical' })
    expect(JSON.stringify(stack.teams.cards[0]!.card)).toContain('"color":"attention"')
  })

  it('writes markdown to the GitHub step summary and annotations for open alerts', async () => {
    setUp()
    stack.webhook.inject({ kind: 'status', status: 500, body: 'boom' }, 100)
    await cavra([
      'release',
      'deliver-rollback-execution',
      'rollout-rollback-execution.json',
      '--retries',
      '0',
    ])
    const summary = ws.path('step-summary.md')
    ws.write('step-summary.md', '# Earlier step\n')
    const run = await cavra(['release', 'connector-delivery-dashboard'], {
      GITHUB_ACTIONS: 'true',
      GITHUB_STEP_SUMMARY: summary,
    })
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(
      /^::error title=cavra connector deliveries::webhook: cavra\.rollout_rollback_execution rre_b83f10c6d2a1 failed/m,
    )
    const markdown = readFileSync(summary, 'utf8')
    expect(markdown.startsWith('# Earlier step\n')).toBe(true)
    expect(markdown).toContain('## cavra connector deliveries: 🔴 critical')
    expect(markdown).toContain('| webhook | webhook | failing |')
    const asJson = await cavra(['release', 'connector-delivery-dashboard', '--format', 'json'], {
      GITHUB_ACTIONS: 'true',
    })
    expect(() => JSON.parse(asJson.stdout)).not.toThrow()
    expect(asJson.stderr).toMatch(/^::error /m)
    // The HTML page on stdout stays one document; the annotations go to stderr, the summary gets markdown.
    const before = readFileSync(summary, 'utf8')
    const asHtml = await cavra(['release', 'connector-delivery-dashboard', '--format', 'html'], {
      GITHUB_ACTIONS: 'true',
      GITHUB_STEP_SUMMARY: summary,
    })
    expect(asHtml.code).toBe(0)
    expect(asHtml.stdout.startsWith('<!DOCTYPE html>\n')).toBe(true)
    expect(asHtml.stdout.endsWith('</html>\n')).toBe(true)
    expect(asHtml.stdout).not.toMatch(/^::/m)
    expect(asHtml.stderr).toMatch(/^::error title=cavra connector deliveries::/m)
    expect(readFileSync(summary, 'utf8').slice(before.length)).toContain(
      '## cavra connector deliveries: 🔴 critical',
    )
  })

  it('reports an empty store as a warning and writes dashboards to a file', async () => {
    setUp()
    const run = await cavra([
      'release',
      'connector-delivery-dashboard',
      '--format',
      'markdown',
      '--output',
      'dash.md',
    ])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('Wrote dash.md (alert level warning)')
    expect(readFileSync(ws.path('dash.md'), 'utf8')).toMatch(/No connector delivery has been recorded/)
  })

  it('refuses a promotion artifact with a missing field before sending anything, naming the JSON path', async () => {
    setUp()
    const artifact = JSON.parse(readFileSync(ws.path('rollout-promotion-execution.json'), 'utf8'))
    delete artifact.ring_advancement.to
    ws.write('broken.json', artifact)
    const run = await cavra(['release', 'deliver-promotion-audit', 'broken.json'])
    expect(run.code).toBe(4)
    expect(run.stderr).toContain('broken.json: not a valid promotion execution')
    expect(run.stderr).toContain('$.ring_advancement.to: is required')
    expect(stack.emulators.every((emulator) => emulator.requests.length === 0)).toBe(true)
    expect(existsSync(ws.path('.cavra/release'))).toBe(false)
    expect(existsSync(ws.path('.cavra/evidence'))).toBe(false)
  })

  it('skips indexing with --no-metadata and indexes integration deliveries with --metadata-json', async () => {
    setUp()
    const run = await cavra([
      'release',
      'deliver-promotion-audit',
      'rollout-promotion-execution.json',
      '-p',
      'webhook',
      '--no-metadata',
    ])
    expect(run.code).toBe(0)
    expect(existsSync(ws.path('.cavra/evidence/metadata.json'))).toBe(false)
    const indexed = await cavra([
      'integration',
      'deliver',
      'siem-event.json',
      '-p',
      'webhook',
      '--metadata-json',
      'store.json',
      '--json',
    ])
    expect(JSON.parse(indexed.stdout).metadata).toMatchObject({
      metadata_kind: 'integration-connector-delivery',
      session_id: expect.stringMatching(/^icd-sess-2026-11-28-ci-4812-[0-9a-f]{12}$/),
      record_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      prev_hash: '0'.repeat(64),
    })
  })
})
