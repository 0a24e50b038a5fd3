import { createHash } from 'node:crypto'
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { RecordedRequest } from '../emulators/emulator.js'
import { Stack } from '../emulators/stack.js'
import { canaryStackSecrets } from '../support/canaries.js'
import { PROJECT_ROOT, runCli } from '../support/cli.js'
import { useStack } from '../support/harness.js'
import { appendItem } from '../support/store.js'
import { Workspace } from '../support/workspace.js'

/**
 * `cavra release redeliver` as a subprocess against the vendor emulators: a delivery fails
 * (an injected fault), the dashboard shows its alert, and re-delivery sends that event again to
 * that connector only, from the recorded artifact, resolving the alert without a second copy
 * at the vendor. Every run's output, evidence and store are scanned for the planted secrets.
 */

/** A JSON document read back from stdout or the store. */
type Parsed = ReturnType<typeof JSON.parse>

const stack = new Stack(canaryStackSecrets())
let ws: Workspace

const ROLLBACK = 'rollout-rollback-execution.json'
const PROMOTION = 'rollout-promotion-execution.json'
const ROLLBACK_ID = 'rre_b83f10c6d2a1'
const PROMOTION_ID = 'rpe_4c1d2e9a7b30'
const STORE = '.cavra/evidence/metadata.json'
const EXPORT = 'export/stable'
const MANIFEST = `${EXPORT}/endpoint-management-export-manifest.json`

useStack(stack, () => ws)

function setUp(): void {
  ws = new Workspace('cavra-redeliver-')
  ws.write('.cavra/connectors.json', { connectors: stack.connectors() })
  ws.copy(`examples/release/${ROLLBACK}`)
  ws.copy(`examples/release/${PROMOTION}`)
}

const cavra = (args: string[], input?: string) => runCli(args, { cwd: ws.dir, env: stack.env(), input })

const redeliver = async (...args: string[]) => {
  const run = await cavra(['release', 'redeliver', '--json', ...args])
  return { ...run, document: JSON.parse(run.stdout) as Parsed }
}

function storeItems(): Parsed[] {
  return JSON.parse(readFileSync(ws.path(STORE), 'utf8')).items
}

function storeBytes(): string {
  return readFileSync(ws.path(STORE), 'utf8')
}

function evidenceFiles(): string[] {
  const root = ws.path('.cavra/release')
  if (!existsSync(root)) return []
  return readdirSync(root).flatMap((dir) =>
    readdirSync(join(root, dir)).map((name) => `.cavra/release/${dir}/${name}`),
  )
}

/** How many requests every emulator has received, by emulator. */
function requestCounts(): Record<string, number> {
  return Object.fromEntries(stack.emulators.map((emulator) => [emulator.name, emulator.requests.length]))
}

/** The emulators that received a request since `before`. */
function reachedSince(before: Record<string, number>): string[] {
  return stack.emulators
    .filter((emulator) => emulator.requests.length > before[emulator.name]!)
    .map((emulator) => emulator.name)
}

async function dashboardAlerts(kind = 'connector'): Promise<Parsed[]> {
  const command = kind === 'connector' ? 'connector-delivery-dashboard' : 'endpoint-publication-dashboard'
  const run = await cavra(['release', command, '--format', 'json'])
  expect(run.code, run.stderr).toBe(0)
  return JSON.parse(run.stdout).alerts
}

const postsTo = (path: RegExp) => (request: RecordedRequest) =>
  request.method === 'POST' && path.test(request.path)

/** A rollback whose Jira delivery fails (503 on every create), the other connectors succeed. */
async function failJiraRollback(): Promise<Parsed> {
  stack.jira.inject({ kind: 'status', status: 503, body: 'Service Unavailable' }, 100, postsTo(/\/issue$/))
  const run = await cavra(['release', 'deliver-rollback-execution', ROLLBACK, '--retries', '0', '--json'])
  expect(run.code, run.stderr).toBe(1)
  stack.jira.clearFaults()
  return JSON.parse(run.stdout).metadata
}

describe('release redeliver', () => {
  it('re-delivers a failed Jira delivery to Jira only, resolves the alert and chains the new item', async () => {
    setUp()
    const failed = await failJiraRollback()
    expect(failed.failed_providers).toEqual(['jira'])
    expect(await dashboardAlerts()).toEqual([
      expect.objectContaining({ provider: 'jira', event_id: ROLLBACK_ID }),
    ])
    expect(stack.jira.issues).toHaveLength(0)
    const before = requestCounts()
    const evidenceBefore = evidenceFiles()

    const run = await redeliver()
    expect(run.code, run.stderr).toBe(0)
    expect(run.document).toEqual({
      schema_version: 'cavra.release.redelivery.v1',
      product: 'CAVRA',
      results: [
        expect.objectContaining({
          event_id: ROLLBACK_ID,
          provider: 'jira',
          outcome: 'delivered',
          reason: null,
          delivery_evidence: expect.stringMatching(/^\.cavra\/release\/rollback-deliveries\//),
          redelivery_of: [failed.session_id],
        }),
      ],
    })
    // Jira, and nothing else, heard from cavra; it now holds the issue once.
    expect(reachedSince(before)).toEqual(['jira'])
    expect(stack.jira.issues).toHaveLength(1)
    const [result] = run.document.results
    expect(evidenceFiles()).toEqual(expect.arrayContaining([...evidenceBefore, result.delivery_evidence]))
    const evidence = JSON.parse(readFileSync(ws.path(result.delivery_evidence), 'utf8'))
    expect(evidence.deliveries.map((d: Parsed) => d.provider)).toEqual(['jira'])

    const items = storeItems()
    expect(items).toHaveLength(2)
    expect(items[1]).toMatchObject({
      session_id: result.session_id,
      metadata_kind: 'release-connector-delivery',
      connector_delivery_source: 'release_governance_rollback',
      event_id: ROLLBACK_ID,
      delivery_success: true,
      providers: ['jira'],
      redelivery_of: [failed.session_id],
      source_artifact: { path: ws.path(ROLLBACK), sha256: failed.source_artifact.sha256 },
      prev_hash: items[0].record_hash,
    })

    expect(await dashboardAlerts()).toEqual([])
    const verify = await cavra(['metadata', 'verify'])
    expect(verify.code, verify.stderr).toBe(0)
    expect(verify.stdout).toContain('2 items: 2 chained items intact')

    // Nothing is open any more: it says so, sends nothing and exits 0.
    const again = await cavra(['release', 'redeliver'])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toContain('No open alert in the store: nothing to re-deliver.')
    expect(storeItems()).toHaveLength(2)
  })

  it('prints a line per connector for people, with the evidence and the new item', async () => {
    setUp()
    const failed = await failJiraRollback()
    const run = await cavra(['release', 'redeliver'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toContain(
      `cavra.rollout_rollback_execution ${ROLLBACK_ID} (re-delivery of ${failed.session_id})`,
    )
    expect(run.stdout).toMatch(/ok\s+jira\s+delivered -> SEC-1/)
    expect(run.stdout).toMatch(/Evidence: \.cavra\/release\/rollback-deliveries\//)
    expect(run.stdout).toMatch(/Indexed as rcd-rre-b83f10c6d2a1-[0-9a-f]{12}/)
    expect(run.stdout).toContain('1 open alert: 1 re-delivered, 0 failed, 0 refused.')
  })

  it('gives the vendor the same webhook id, Jira label and correlation id, so nothing is duplicated', async () => {
    setUp()
    // Each vendor stores the create, then the connection drops; the duplicate checks that would
    // find it fail too, so cavra records the delivery as failed.
    stack.webhook.inject({ kind: 'reset-after-handling' }, 1)
    stack.jira.inject({ kind: 'reset-after-handling' }, 1, postsTo(/\/issue$/))
    stack.jira.inject(
      { kind: 'status', status: 503, body: 'Service Unavailable' },
      100,
      (request) => request.path.endsWith('/search/jql') && stack.jira.issues.length > 0,
    )
    stack.servicenow.inject({ kind: 'reset-after-handling' }, 1, (request) => request.method === 'POST')
    stack.servicenow.inject(
      { kind: 'status', status: 503, body: 'Service Unavailable' },
      100,
      (request) =>
        request.method === 'GET' && (stack.servicenow.tables.get('change_request') ?? []).length > 0,
    )
    const first = await cavra([
      'release',
      'deliver-rollback-execution',
      ROLLBACK,
      '-p',
      'webhook,jira,servicenow',
      '--retries',
      '0',
      '--json',
    ])
    expect(first.code, first.stderr).toBe(1)
    const failed = JSON.parse(first.stdout)
    expect(failed.deliveries.map((d: Parsed) => [d.provider, d.success]).sort()).toEqual([
      ['jira', false],
      ['servicenow', false],
      ['webhook', false],
    ])
    // The vendors hold one copy each already.
    expect(stack.webhook.deliveries).toHaveLength(1)
    expect(stack.jira.issues).toHaveLength(1)
    expect(stack.servicenow.tables.get('change_request')).toHaveLength(1)
    stack.webhook.clearFaults()
    stack.jira.clearFaults()
    stack.servicenow.clearFaults()

    const run = await redeliver()
    expect(run.code, run.stderr).toBe(0)
    expect(run.document.results.map((r: Parsed) => [r.provider, r.outcome, r.deduplicated]).sort()).toEqual([
      ['jira', 'delivered', true],
      ['servicenow', 'delivered', true],
      ['webhook', 'delivered', true],
    ])
    // Still one copy each: the same identity found the first one.
    expect(stack.webhook.deliveries).toHaveLength(1)
    expect(stack.jira.issues).toHaveLength(1)
    expect(stack.servicenow.tables.get('change_request')).toHaveLength(1)
    const webhookIds = stack.webhook.requests.map((request) => request.headers['webhook-id'])
    expect(webhookIds).toHaveLength(2)
    expect(new Set(webhookIds).size).toBe(1)
    // Every search, before and after the lost create, looks for the one label the issue carries.
    const labels = stack.jira
      .requestsTo(/\/search\/jql$/)
      .map((request) => /labels = "(cavra-[0-9a-f]{12})"/.exec(JSON.parse(request.text).jql)?.[1])
    expect(labels.length).toBeGreaterThanOrEqual(2)
    expect(new Set(labels).size).toBe(1)
    expect(stack.jira.issues[0]!.fields.labels).toContain(labels[0])
    const remoteReferences = Object.fromEntries(
      run.document.results.map((r: Parsed) => [r.provider, r.remote_reference]),
    )
    expect(remoteReferences.jira).toBe(stack.jira.issues[0]!.key)
    expect(stack.servicenow.tables.get('change_request')![0]!.correlation_id).toBe(`cavra:${ROLLBACK_ID}`)
    expect(await dashboardAlerts()).toEqual([])
    // One item for the event, answering the one failed item.
    const items = storeItems()
    expect(items).toHaveLength(2)
    expect(items[1].redelivery_of).toEqual([items[0].session_id])
    expect(items[1].providers.sort()).toEqual(['jira', 'servicenow', 'webhook'])
  })

  it('refuses an artifact changed since the failed delivery: exit 4, nothing sent, nothing appended', async () => {
    setUp()
    await failJiraRollback()
    const artifact = JSON.parse(readFileSync(ws.path(ROLLBACK), 'utf8'))
    artifact.reason = `${artifact.reason} (edited)`
    ws.write(ROLLBACK, artifact)
    const store = storeBytes()
    const before = requestCounts()
    const evidence = evidenceFiles()

    const run = await redeliver()
    expect(run.code).toBe(4)
    expect(run.document.results).toEqual([
      expect.objectContaining({
        event_id: ROLLBACK_ID,
        provider: 'jira',
        outcome: 'refused',
        reason: expect.stringContaining(
          `${ws.path(ROLLBACK)}: the artifact changed since the failed delivery`,
        ),
        delivery_evidence: null,
      }),
    ])
    expect(reachedSince(before)).toEqual([])
    expect(storeBytes()).toBe(store)
    expect(evidenceFiles()).toEqual(evidence)
    expect(await dashboardAlerts()).toHaveLength(1)
  })

  it('refuses a missing artifact, naming its path, and says so to people', async () => {
    setUp()
    await failJiraRollback()
    rmSync(ws.path(ROLLBACK))
    const store = storeBytes()
    const before = requestCounts()
    const run = await cavra(['release', 'redeliver'])
    expect(run.code).toBe(4)
    expect(run.stdout).toMatch(/REFUSED\s+jira\s+.*the artifact is missing \(no such file\)/)
    expect(run.stdout).toContain(ws.path(ROLLBACK))
    expect(reachedSince(before)).toEqual([])
    expect(storeBytes()).toBe(store)
  })

  it('refuses a delivery that read standard input, which cannot be read again', async () => {
    setUp()
    stack.webhook.inject({ kind: 'status', status: 500, body: 'boom' }, 100)
    const failed = await cavra(
      ['release', 'deliver-promotion-audit', '-', '-p', 'webhook', '--retries', '0'],
      readFileSync(ws.path(PROMOTION), 'utf8'),
    )
    expect(failed.code).toBe(1)
    stack.webhook.clearFaults()
    const before = requestCounts()
    const run = await redeliver()
    expect(run.code).toBe(4)
    expect(run.document.results[0]).toMatchObject({
      event_id: PROMOTION_ID,
      provider: 'webhook',
      outcome: 'refused',
      reason: expect.stringContaining('standard input'),
    })
    expect(reachedSince(before)).toEqual([])
  })

  it('handles each alert on its own: a refused one does not stop the others (exit 4)', async () => {
    setUp()
    await failJiraRollback()
    stack.webhook.inject({ kind: 'status', status: 500, body: 'boom' }, 100)
    expect(
      (await cavra(['release', 'deliver-promotion-audit', PROMOTION, '-p', 'webhook', '--retries', '0']))
        .code,
    ).toBe(1)
    stack.webhook.clearFaults()
    rmSync(ws.path(ROLLBACK))
    const run = await redeliver()
    expect(run.code).toBe(4)
    expect(run.document.results.map((r: Parsed) => [r.provider, r.event_id, r.outcome]).sort()).toEqual([
      ['jira', ROLLBACK_ID, 'refused'],
      ['webhook', PROMOTION_ID, 'delivered'],
    ])
    expect((await dashboardAlerts()).map((a) => a.provider)).toEqual(['jira'])
  })

  it('exits 1 when a re-delivery fails again, recording it as another failure of the alert', async () => {
    setUp()
    const failed = await failJiraRollback()
    stack.jira.inject({ kind: 'status', status: 503, body: 'Service Unavailable' }, 100, postsTo(/\/issue$/))
    const run = await redeliver('--retries', '0')
    expect(run.code).toBe(1)
    expect(run.document.results[0]).toMatchObject({
      provider: 'jira',
      outcome: 'failed',
      reason: expect.stringContaining('503'),
      redelivery_of: [failed.session_id],
    })
    const [alert] = await dashboardAlerts()
    expect(alert).toMatchObject({ provider: 'jira', failure_streak: 2 })
    // The next attempt answers both failed items.
    stack.jira.clearFaults()
    const again = await redeliver()
    expect(again.code, again.stderr).toBe(0)
    expect(again.document.results[0].redelivery_of).toEqual([
      run.document.results[0].session_id,
      failed.session_id,
    ])
  })

  it('narrows the alerts with --event-id and --provider', async () => {
    setUp()
    await failJiraRollback()
    stack.webhook.inject({ kind: 'status', status: 500, body: 'boom' }, 100)
    stack.slack.inject({ kind: 'status', status: 500, body: 'boom' }, 100)
    expect(
      (
        await cavra([
          'release',
          'deliver-promotion-audit',
          PROMOTION,
          '-p',
          'webhook,slack',
          '--retries',
          '0',
        ])
      ).code,
    ).toBe(1)
    stack.webhook.clearFaults()
    stack.slack.clearFaults()
    expect(await dashboardAlerts()).toHaveLength(3)

    const none = await cavra(['release', 'redeliver', '--event-id', 'rpe_000000000000'])
    expect(none.code, none.stderr).toBe(0)
    expect(none.stdout).toContain('No open alert matches the filters: nothing to re-deliver.')

    const byProvider = await redeliver('--provider', 'webhook')
    expect(byProvider.code, byProvider.stderr).toBe(0)
    expect(byProvider.document.results.map((r: Parsed) => [r.provider, r.event_id])).toEqual([
      ['webhook', PROMOTION_ID],
    ])
    expect(stack.slack.messages).toHaveLength(1)

    const byEvent = await redeliver('--event-id', ROLLBACK_ID)
    expect(byEvent.code, byEvent.stderr).toBe(0)
    expect(byEvent.document.results.map((r: Parsed) => [r.provider, r.event_id])).toEqual([
      ['jira', ROLLBACK_ID],
    ])
    expect((await dashboardAlerts()).map((a) => [a.provider, a.event_id])).toEqual([['slack', PROMOTION_ID]])
  })

  it('sends, writes and appends nothing under --dry-run, showing the requests redacted', async () => {
    setUp()
    await failJiraRollback()
    const store = storeBytes()
    const evidence = evidenceFiles()
    const before = requestCounts()
    const run = await cavra(['release', 'redeliver', '--dry-run'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toContain('dry run, nothing sent')
    expect(run.stdout).toMatch(/ready\s+jira/)
    expect(run.stdout).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/rest\/api\/3\/issue/)
    const json = await redeliver('--dry-run')
    expect(json.code, json.stderr).toBe(0)
    expect(json.document).toMatchObject({ dry_run: true, results: [{ provider: 'jira', session_id: null }] })
    expect(reachedSince(before)).toEqual([])
    expect(storeBytes()).toBe(store)
    expect(evidenceFiles()).toEqual(evidence)
    expect(await dashboardAlerts()).toHaveLength(1)
  })

  it('refuses the alert of a connector no longer configured, and stops on a broken configuration', async () => {
    setUp()
    await failJiraRollback()
    const { jira: _, ...others } = stack.connectors()
    ws.write('.cavra/connectors.json', { connectors: others })
    const gone = await redeliver()
    expect(gone.code).toBe(4)
    expect(gone.document.results[0]).toMatchObject({
      provider: 'jira',
      outcome: 'refused',
      reason: expect.stringContaining('has no connector "jira" any more'),
    })
    ws.write('.cavra/connectors.json', { connectors: stack.connectors() })
    const store = storeBytes()
    const broken = await runCli(['release', 'redeliver'], {
      cwd: ws.dir,
      env: { ...stack.env(), JIRA_API_TOKEN: undefined },
    })
    expect(broken.code).toBe(3)
    expect(broken.stderr).toContain('JIRA_API_TOKEN')
    expect(storeBytes()).toBe(store)
  })

  it('re-delivers one event of an indexed integration event file, from the store named by --metadata-json', async () => {
    setUp()
    const events = [
      { session_id: 'sess-first', max_severity: 'medium' },
      { session_id: 'sess-second', max_severity: 'high' },
    ]
    ws.write('events.jsonl', `${events.map((event) => JSON.stringify(event)).join('\n')}\n`)
    // Only the second event's delivery fails.
    stack.webhook.inject({ kind: 'status', status: 500, body: 'boom' }, 100, (request) =>
      request.text.includes('sess-second'),
    )
    const deliver = await cavra([
      'integration',
      'deliver',
      'events.jsonl',
      '-p',
      'webhook',
      '--retries',
      '0',
      '--metadata-json',
      'store.json',
    ])
    expect(deliver.code).toBe(1)
    stack.webhook.clearFaults()
    expect(stack.webhook.deliveries.map((d) => d.payload.payload)).toEqual([
      expect.objectContaining({ session_id: 'sess-first' }),
    ])
    const run = await redeliver('--metadata-json', 'store.json')
    expect(run.code, run.stderr).toBe(0)
    expect(run.document.results).toEqual([
      expect.objectContaining({ event_id: 'sess-second', provider: 'webhook', outcome: 'delivered' }),
    ])
    // The other event of the file was not sent again.
    expect(stack.webhook.deliveries).toHaveLength(2)
    expect(stack.webhook.deliveries[1]!.payload.payload).toMatchObject({ session_id: 'sess-second' })
    const items = JSON.parse(readFileSync(ws.path('store.json'), 'utf8')).items
    expect(items.at(-1)).toMatchObject({
      metadata_kind: 'integration-connector-delivery',
      event_id: 'sess-second',
      redelivery_of: [items[1].session_id],
    })
    expect(existsSync(ws.path(STORE))).toBe(false)
  })

  it('stops with exit 5 on a damaged store, sending nothing and leaving it as it was', async () => {
    setUp()
    await failJiraRollback()
    const damaged = storeBytes().replace(/"record_hash":"[0-9a-f]{64}"/, `"record_hash":"${'0'.repeat(64)}"`)
    ws.write(STORE, damaged)
    const before = requestCounts()
    const run = await cavra(['release', 'redeliver'])
    expect(run.code).toBe(5)
    expect(run.stderr).toContain(`${STORE}: the hash chain is broken at item 1`)
    expect(reachedSince(before)).toEqual([])
    expect(storeBytes()).toBe(damaged)
  })

  it('says there is nothing to do on an empty or missing store, exit 0', async () => {
    setUp()
    const missing = await cavra(['release', 'redeliver'])
    expect(missing.code, missing.stderr).toBe(0)
    expect(missing.stdout).toContain('No open alert in the store')
    expect(existsSync(ws.path(STORE))).toBe(false)
    const json = await redeliver('--metadata-json', 'other.json')
    expect(json.document).toEqual({
      schema_version: 'cavra.release.redelivery.v1',
      product: 'CAVRA',
      results: [],
    })
  })
})

describe('release redeliver: items written by hand or by earlier versions', () => {
  /** A failed webhook delivery of the promotion, as an item appended directly to the store. */
  function failedItem(fields: Record<string, unknown>): Record<string, unknown> {
    return {
      schema_version: 'cavra.evidence.metadata.v1',
      product: 'CAVRA',
      session_id: 'rcd-rpe-4c1d2e9a7b30-000000000001',
      metadata_kind: 'release-connector-delivery',
      connector_delivery_source: 'release_governance_promotion',
      created_at: '2026-11-30T10:00:00.000Z',
      event_id: PROMOTION_ID,
      event_type: 'cavra.rollout_promotion_execution',
      severity: 'high',
      delivery_success: false,
      providers: ['webhook'],
      failed_providers: ['webhook'],
      deliveries: [
        {
          provider: 'webhook',
          provider_type: 'webhook',
          category: 'webhook',
          success: false,
          error: 'HTTP 500',
        },
      ],
      attempt_count: 1,
      delivery_evidence: null,
      ...fields,
    }
  }

  it('takes a relative path of an earlier version from the current folder, the hash still deciding', async () => {
    setUp()
    const sha256 = createHash('sha256')
      .update(readFileSync(ws.path(PROMOTION)))
      .digest('hex')
    await appendItem(ws.path(STORE), failedItem({ source_artifact: { path: PROMOTION, sha256 } }))
    const run = await redeliver()
    expect(run.code, run.stderr).toBe(0)
    expect(run.document.results).toEqual([
      expect.objectContaining({
        provider: 'webhook',
        outcome: 'delivered',
        redelivery_of: ['rcd-rpe-4c1d2e9a7b30-000000000001'],
      }),
    ])
    expect(stack.webhook.deliveries).toHaveLength(1)
    expect(storeItems().at(-1).source_artifact.path).toBe(ws.path(PROMOTION))
  })

  it('prints hostile text from the store inert: no escape sequence, no workflow command', async () => {
    setUp()
    await appendItem(
      ws.path(STORE),
      failedItem({
        event_id: 'rpe_\u001b]0;owned\u0007x',
        source_artifact: {
          path: '/nowhere/\u001b[2J\n::error::pwned\n##[warning]x.json',
          sha256: 'a'.repeat(64),
        },
      }),
    )
    for (const args of [[], ['--json']]) {
      const run = await cavra(['release', 'redeliver', ...args])
      expect(run.code).toBe(4)
      expect(run.stdout).toContain('the artifact is missing')
      expect(run.stdout + run.stderr).not.toMatch(/\u001b|\u0007/)
      expect(run.stdout).not.toMatch(/^::/m)
      expect(run.stdout).not.toContain('##[')
    }
  })
})

describe('release redeliver: endpoint publications', () => {
  function setUpExport(): void {
    setUp()
    const all = stack.connectors()
    ws.write('.cavra/connectors.json', {
      connectors: { jamf: all.jamf, intune: all.intune, linux: all.linux },
    })
    cpSync(join(PROJECT_ROOT, 'examples/endpoint-export/stable'), ws.path(EXPORT), { recursive: true })
  }

  it('re-publishes to the fleet whose publication failed, and the publication dashboard clears', async () => {
    setUpExport()
    stack.fleet.inject({ kind: 'status', status: 503, body: 'down' }, 100)
    const publish = await cavra(['release', 'deliver-endpoint-export', MANIFEST, '--retries', '0', '--json'])
    expect(publish.code, publish.stderr).toBe(1)
    const failed = JSON.parse(publish.stdout).metadata
    expect(failed.failed_providers).toEqual(['linux'])
    stack.fleet.clearFaults()
    expect(await dashboardAlerts('publication')).toEqual([expect.objectContaining({ provider: 'linux' })])
    const before = requestCounts()

    const run = await redeliver('--event-id', failed.export_id)
    expect(run.code, run.stderr).toBe(0)
    expect(run.document.results).toEqual([
      expect.objectContaining({
        event_id: failed.publication_id,
        provider: 'linux',
        outcome: 'delivered',
        delivery_evidence: expect.stringMatching(/^\.cavra\/release\/endpoint-publication-deliveries\//),
        redelivery_of: [failed.session_id],
      }),
    ])
    expect(reachedSince(before)).toEqual([stack.fleet.name])
    const item = storeItems().at(-1)
    expect(item).toMatchObject({
      metadata_kind: 'endpoint-management-publication-delivery',
      publication_id: failed.publication_id,
      export_id: failed.export_id,
      providers: ['linux'],
      redelivery_of: [failed.session_id],
    })
    expect(item.artifacts.map((a: Parsed) => a.name).sort()).toEqual([
      'linux-fleet-manifest.json',
      'linux-install-cavra-runtime.sh',
    ])
    expect(await dashboardAlerts('publication')).toEqual([])
    const verify = await cavra(['metadata', 'verify'])
    expect(verify.code, verify.stderr).toBe(0)
  })

  it('refuses when a published file changed under an unchanged manifest', async () => {
    setUpExport()
    stack.fleet.inject({ kind: 'status', status: 503, body: 'down' }, 100)
    expect(
      (await cavra(['release', 'deliver-endpoint-export', MANIFEST, '-p', 'linux', '--retries', '0'])).code,
    ).toBe(1)
    stack.fleet.clearFaults()
    // A new script with a matching checksums.txt: the export verifies, but it is not what failed.
    const script = ws.path(EXPORT, 'linux-install-cavra-runtime.sh')
    const changed = `${readFileSync(script, 'utf8')}\necho changed\n`
    ws.write(`${EXPORT}/linux-install-cavra-runtime.sh`, changed)
    const { createHash } = await import('node:crypto')
    const sums = readFileSync(ws.path(EXPORT, 'checksums.txt'), 'utf8').replace(
      /^[0-9a-f]{64}( {2}linux-install-cavra-runtime\.sh)$/m,
      `${createHash('sha256').update(changed).digest('hex')}$1`,
    )
    ws.write(`${EXPORT}/checksums.txt`, sums)
    const store = storeBytes()
    const before = requestCounts()
    const run = await redeliver()
    expect(run.code).toBe(4)
    expect(run.document.results[0]).toMatchObject({
      provider: 'linux',
      outcome: 'refused',
      reason: expect.stringContaining('linux-install-cavra-runtime.sh: changed since the failed publication'),
    })
    expect(reachedSince(before)).toEqual([])
    expect(storeBytes()).toBe(store)
  })
})
