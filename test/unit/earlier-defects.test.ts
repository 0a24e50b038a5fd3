import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { exitCodeOf } from '../../src/cli/base-command.js'
import { ConfigError, InputError, StoreError, UsageError } from '../../src/common/errors.js'
import { EXIT_CODE_HELP, ExitCode } from '../../src/common/exit-codes.js'
import { loadConnectorConfig } from '../../src/config/load.js'
import { prepareConnectors, selectConnectors } from '../../src/config/select.js'
import { REGISTRY } from '../../src/connectors/index.js'
import { issueFields, type JiraConfig } from '../../src/connectors/jira.js'
import type { Clock } from '../../src/delivery/clock.js'
import { writeEvidence } from '../../src/delivery/evidence.js'
import type { DeliveryRecord, DeliveryResult } from '../../src/delivery/evidence-types.js'
import type { Transport, TransportPool } from '../../src/delivery/http.js'
import { Redactor } from '../../src/delivery/redact.js'
import { Deadline, isRetryableStatus, parseRetryAfter } from '../../src/delivery/retry.js'
import { Session } from '../../src/delivery/session.js'
import { TokenCache } from '../../src/delivery/tokens.js'
import { readStatus } from '../../src/delivery/verdict.js'
import { openArtifact } from '../../src/events/artifact.js'
import { publicationId, readExportManifest } from '../../src/events/endpoint-export.js'
import { deliverEvent } from '../../src/flow/deliver-event.js'
import { verifyChain } from '../../src/metadata/chain.js'
import { buildDashboard } from '../../src/metadata/dashboard.js'
import {
  CONNECTOR_KINDS,
  deliveryRows,
  filterRows,
  PUBLICATION_KIND,
  publicationRows,
} from '../../src/metadata/history.js'
import { deliveryItem } from '../../src/metadata/items.js'
import { PROJECT_ROOT } from '../support/cli.js'
import {
  firstEvent,
  promotionFixtureEvent,
  publicationFixtureEvent,
  rollbackFixtureEvent,
} from '../support/deliver.js'
import { response, ScriptedTransport, testSession, virtualClock } from '../support/scripted.js'
import { appendItem, readStore } from '../support/store.js'
import { Workspace } from '../support/workspace.js'

/**
 * The earlier tool's known defects (items 9–17), one block each. Every test here
 * describes what the earlier tool did wrong and fails if that behaviour came back.
 */

const workspaces: Workspace[] = []
const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
  for (const ws of workspaces.splice(0)) ws.remove()
})
function workspace(): Workspace {
  const ws = new Workspace('cavra-defects-')
  workspaces.push(ws)
  return ws
}

const NOW = new Date('2026-12-01T00:00:00.000Z')

function deliveryRecord(
  provider: string,
  success: boolean,
  extra: Partial<DeliveryRecord> = {},
): DeliveryRecord {
  return {
    provider,
    provider_type: provider,
    category: provider === 'jira' ? 'itsm' : 'webhook',
    success,
    status_code: success ? 201 : 503,
    attempt_count: success ? 1 : 3,
    started_at: '2026-11-28T15:21:04.312Z',
    completed_at: '2026-11-28T15:21:06.522Z',
    duration_ms: success ? 120 : 2210,
    error: success ? null : `HTTP 503 from ${provider} after 3 attempts: busy`,
    remote_reference: success ? `${provider}-ref` : null,
    deduplicated: false,
    records_sent: success ? 1 : 0,
    records_shortened: 0,
    request: null,
    attempts: [],
    ...extra,
  }
}

function deliveryResult(deliveries: DeliveryRecord[], extra: Partial<DeliveryResult> = {}): DeliveryResult {
  return {
    schema_version: 'cavra.connector.delivery.v1',
    product: 'CAVRA',
    event_type: 'cavra.rollout_promotion_execution',
    event_id: 'rpe_4c1d2e9a7b30',
    session_id: null,
    severity: 'high',
    generated_at: '2026-11-28T15:21:04.312Z',
    success: deliveries.every((delivery) => delivery.success),
    source_artifact: { path: 'rollout-promotion-execution.json', sha256: 'a'.repeat(64) },
    deliveries,
    ...extra,
  }
}

function promotionItem(
  createdAt: string,
  deliveries: DeliveryRecord[],
  eventId = 'rpe_4c1d2e9a7b30',
): Record<string, unknown> {
  return deliveryItem(deliveryResult(deliveries, { generated_at: createdAt, event_id: eventId }), {
    kind: 'release-connector-delivery',
    source: 'release_governance_promotion',
    evidencePath: `.cavra/release/promotion-audit-deliveries/${eventId}-${createdAt}.json`,
  })
}

function pool(transport: Transport): TransportPool {
  return { transportFor: async () => transport, close: async () => {} } as unknown as TransportPool
}

const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`

/** Two webhook connectors, prepared through the real configuration path. */
async function twoWebhooks() {
  const ws = workspace()
  const path = ws.write('connectors.json', {
    connectors: {
      alpha: { provider: 'webhook', url: 'https://alpha.example/hook', signing_secret_env: 'ALPHA_SECRET' },
      beta: { provider: 'webhook', url: 'https://beta.example/hook', signing_secret_env: 'BETA_SECRET' },
    },
  })
  const config = await loadConnectorConfig(path, REGISTRY)
  const selected = selectConnectors(config, [], { categories: ['webhook'], command: 'test' })
  return prepareConnectors(config, selected, { ALPHA_SECRET: WEBHOOK_SECRET, BETA_SECRET: WEBHOOK_SECRET })
}

async function deliverWith(transport: Transport, retries = 2) {
  const clock = virtualClock()
  const connectors = await twoWebhooks()
  const result = await deliverEvent(await firstEvent(), connectors, {
    retries,
    timeoutMs: 10_000,
    deadline: new Deadline(600_000, clock.now),
    dryRun: false,
    redactor: new Redactor(),
    transports: pool(transport),
    tokens: new TokenCache(),
    concurrency: 8,
    clock,
    random: () => 0.1,
  })
  return { result, clock }
}

describe('9. provider health: own outcome and own attempts', () => {
  it('a connector that succeeded inside a failed batch is a success, with only its own attempts', async () => {
    const ws = workspace()
    const path = ws.path('metadata.json')
    await appendItem(
      path,
      promotionItem('2026-11-28T15:21:04.312Z', [
        deliveryRecord('jira', false, { attempt_count: 3 }),
        deliveryRecord('webhook', true, { attempt_count: 1 }),
      ]),
    )
    const { document } = await readStore(path)
    expect(document.items[0]!.delivery_success).toBe(false)
    expect(document.items[0]!.attempt_count).toBe(4)
    const dashboard = buildDashboard(deliveryRows(document.items, CONNECTOR_KINDS), {
      kind: 'connector',
      since: null,
      now: NOW,
    })
    const webhook = dashboard.providers.find((p) => p.provider === 'webhook')!
    const jira = dashboard.providers.find((p) => p.provider === 'jira')!
    // The earlier tool: webhook failed=1 and attempt_count=4 (the batch's sum).
    expect(webhook).toMatchObject({ succeeded: 1, failed: 0, attempt_count: 1, state: 'healthy' })
    expect(jira).toMatchObject({ succeeded: 0, failed: 1, attempt_count: 3 })
    expect(dashboard.successful_deliveries).toBe(1)
    expect(dashboard.failed_deliveries).toBe(1)
    expect(dashboard.alerts.map((a) => a.provider)).toEqual(['jira'])
  })
})

describe('10. history filters per row, event id exact', () => {
  const items = [
    promotionItem(
      '2026-11-28T10:00:00.000Z',
      [deliveryRecord('jira', false), deliveryRecord('webhook', true)],
      'rpe_4c1d',
    ),
    promotionItem('2026-11-28T11:00:00.000Z', [deliveryRecord('webhook', true)], 'rpe_4c1d2e9a7b30'),
  ]
  const rows = deliveryRows(items, CONNECTOR_KINDS)

  it('--provider webhook --no-success does not return a failed batch in which webhook succeeded', () => {
    expect(filterRows(rows, { provider: 'webhook', success: false })).toEqual([])
    expect(filterRows(rows, { provider: 'webhook', success: true })).toHaveLength(2)
    expect(filterRows(rows, { success: false }).map((row) => row.provider)).toEqual(['jira'])
  })

  it('--event-id matches one id only, never one that contains it', () => {
    expect(filterRows(rows, { eventId: 'rpe_4c1d' }).map((row) => row.event_id)).toEqual([
      'rpe_4c1d',
      'rpe_4c1d',
    ])
    expect(filterRows(rows, { eventId: '4c1d' })).toEqual([])
  })
})

describe('11. identity: publication ids and evidence files', () => {
  it('a publication’s event id is its publication id, derived from export, channel, version and providers', async () => {
    const artifact = await openArtifact(
      `${PROJECT_ROOT}/examples/endpoint-export/stable/endpoint-management-export-manifest.json`,
    )
    const manifest = await readExportManifest(artifact)
    const event = await publicationFixtureEvent(['jamf', 'intune', 'linux'])
    const digest = createHash('sha256')
      .update(`${manifest.export_id}:${manifest.channel}:${manifest.release.version}:intune,jamf,linux`)
      .digest('hex')
    expect(event.eventId).toBe(`emp_${digest.slice(0, 12)}`)
    expect(event.eventId).toBe(publicationId(manifest))
    // The earlier tool used the export id here.
    expect(event.eventId).not.toBe(manifest.export_id)
    expect(event.sessionId).toBeNull()
    expect(event.fields.export_id).toBe(manifest.export_id)
  })

  it('publication ids differ per channel and release, not per provider order', () => {
    const base = {
      export_id: 'eme_1',
      channel: 'stable',
      release: { version: 'v1.0.0', commit: 'c', repository: 'r' },
      providers: ['jamf', 'intune'] as Array<'jamf' | 'intune' | 'linux'>,
    }
    const id = publicationId(base)
    expect(publicationId({ ...base, providers: ['intune', 'jamf'] })).toBe(id)
    expect(publicationId({ ...base, channel: 'beta' })).not.toBe(id)
    expect(publicationId({ ...base, release: { ...base.release, version: 'v1.0.1' } })).not.toBe(id)
    expect(publicationId({ ...base, providers: ['jamf'] })).not.toBe(id)
  })

  it('a publication item keeps the publication id as event id and the export id beside it', async () => {
    const event = await publicationFixtureEvent(['jamf'])
    const result = deliveryResult([deliveryRecord('jamf', true)], {
      event_id: event.eventId,
      event_type: event.eventType,
    })
    const item = deliveryItem(result, {
      kind: PUBLICATION_KIND,
      source: 'endpoint_management_publication',
      evidencePath: 'e.json',
      extra: { publication_id: event.eventId, export_id: event.fields.export_id, channel: 'stable' },
    })
    const [row] = publicationRows([item])
    expect(row).toMatchObject({
      event_id: event.eventId,
      publication_id: event.eventId,
      export_id: 'eme_6f0c3b2a1d9e',
    })
    expect(String(item.session_id)).toMatch(/^epd-emp-[0-9a-f]{12}-[0-9a-f]{12}$/)
  })

  it('re-delivering the same event in the same second keeps both evidence files', async () => {
    const ws = workspace()
    const dir = ws.path('deliveries')
    const first = deliveryResult([deliveryRecord('webhook', false)])
    const second = deliveryResult([deliveryRecord('webhook', true)])
    const firstPath = await writeEvidence(dir, first, new Redactor())
    const firstBytes = readFileSync(firstPath)
    const secondPath = await writeEvidence(dir, second, new Redactor())
    expect(secondPath).not.toBe(firstPath)
    expect(readdirSync(dir)).toHaveLength(2)
    expect(readFileSync(firstPath).equals(firstBytes)).toBe(true)
    expect(JSON.parse(readFileSync(firstPath, 'utf8')).success).toBe(false)
    expect(JSON.parse(readFileSync(secondPath, 'utf8')).success).toBe(true)
    // Each metadata item points at its own file, under its own session id.
    const options = { kind: 'release-connector-delivery' as const, source: 'release_governance_promotion' }
    const a = deliveryItem(first, { ...options, evidencePath: firstPath })
    const b = deliveryItem(second, { ...options, evidencePath: secondPath })
    expect(a.delivery_evidence).toBe(firstPath)
    expect(b.delivery_evidence).toBe(secondPath)
    expect(a.session_id).not.toBe(b.session_id)
  })
})

describe('12. release severities reach the destinations', () => {
  const config: JiraConfig = {
    base: 'https://acme.atlassian.net',
    apiVersion: 3,
    projectKey: 'SEC',
    issueType: 'Task',
    authorization: 'Basic x',
    labels: [],
    priorityMap: { critical: 'Highest', high: 'High' },
    dedupe: true,
    headers: {},
  }

  it('a rollback is critical and a promotion high, not low or info', async () => {
    expect((await rollbackFixtureEvent()).severity).toBe('critical')
    expect((await promotionFixtureEvent()).severity).toBe('high')
  })

  it('a rollback ticket has the project, the issue type and the critical priority', async () => {
    const fields = issueFields(await rollbackFixtureEvent(), config)
    expect(fields.project).toEqual({ key: 'SEC' })
    expect(fields.issuetype).toEqual({ name: 'Task' })
    expect(fields.priority).toEqual({ name: 'Highest' })
    expect(fields.labels).toContain('cavra-severity-critical')
  })

  it('the store item keeps the event’s severity', () => {
    const item = deliveryItem(deliveryResult([deliveryRecord('jira', true)], { severity: 'critical' }), {
      kind: 'release-connector-delivery',
      source: 'release_governance_rollback',
      evidencePath: null,
    })
    expect(item.severity).toBe('critical')
    expect(deliveryRows([item], CONNECTOR_KINDS)[0]!.severity).toBe('critical')
  })
})

describe('13. configuration and routing', () => {
  const EXAMPLE = `${PROJECT_ROOT}/examples/connectors/cavra-connectors.example.json`
  const release = { categories: ['siem', 'chatops', 'itsm', 'webhook'] as const, command: 'release deliver' }
  const endpoint = { categories: ['endpoint'] as const, command: 'release deliver-endpoint-export' }

  it('release events go to SIEM, chat, ITSM and webhook connectors only; publications to endpoint ones', async () => {
    const config = await loadConnectorConfig(EXAMPLE, REGISTRY)
    const names = (list: { name: string }[]) => list.map((entry) => entry.name).sort()
    const releaseSet = ['datadog', 'jira', 'sentinel', 'servicenow', 'slack', 'splunk', 'teams', 'webhook']
    expect(names(selectConnectors(config, [], release))).toEqual(releaseSet)
    expect(names(selectConnectors(config, ['all'], release))).toEqual(releaseSet)
    expect(names(selectConnectors(config, [], endpoint))).toEqual(['intune', 'jamf', 'linux'])
    expect(() => selectConnectors(config, ['jamf'], release)).toThrow(ConfigError)
    expect(() => selectConnectors(config, ['jira'], endpoint)).toThrow(ConfigError)
  })

  it('an unset variable of a connector that is not selected does not stop the others', async () => {
    const config = await loadConnectorConfig(EXAMPLE, REGISTRY)
    const selected = selectConnectors(config, ['webhook'], release)
    const prepared = prepareConnectors(config, selected, {
      CAVRA_WEBHOOK_URL: 'https://hooks.example/cavra',
      CAVRA_WEBHOOK_SECRET: WEBHOOK_SECRET,
    })
    expect(prepared.map((connector) => connector.name)).toEqual(['webhook'])
    // The same unset variables are an error for a connector that is selected.
    const withSplunk = selectConnectors(config, ['webhook', 'splunk'], release)
    expect(() =>
      prepareConnectors(config, withSplunk, {
        CAVRA_WEBHOOK_URL: 'https://hooks.example/cavra',
        CAVRA_WEBHOOK_SECRET: WEBHOOK_SECRET,
      }),
    ).toThrow(/splunk/)
  })
})

describe('14. dashboard semantics', () => {
  it('reads 600 records of a store in session-id order, newest first by time', async () => {
    const ws = workspace()
    const base = Date.parse('2026-11-01T00:00:00Z')
    const items = Array.from({ length: 600 }, (_, i) => {
      // Session ids rotate against time: sorted by id, the 50 oldest and the 50 newest come last.
      const key = String((i + 550) % 600).padStart(4, '0')
      return {
        session_id: `rcd-${key}`,
        metadata_kind: 'release-connector-delivery',
        created_at: new Date(base + i * 60_000).toISOString(),
        event_id: `rpe_${i}`,
        event_type: 'cavra.rollout_promotion_execution',
        delivery_success: true,
        providers: ['webhook'],
        failed_providers: [],
      }
    })
    items.sort((a, b) => a.session_id.localeCompare(b.session_id))
    expect(items.slice(0, 500).some((item) => item.event_id === 'rpe_599')).toBe(false)
    const path = ws.write('metadata.json', { items })
    const { document } = await readStore(path)
    const rows = filterRows(deliveryRows(document.items, CONNECTOR_KINDS), {})
    expect(rows).toHaveLength(600)
    expect(rows[0]!.event_id).toBe('rpe_599')
    expect(rows[1]!.event_id).toBe('rpe_598')
    expect(rows.at(-1)!.event_id).toBe('rpe_0')
    for (let i = 1; i < rows.length; i++) {
      expect(Date.parse(rows[i - 1]!.created_at)).toBeGreaterThan(Date.parse(rows[i]!.created_at))
    }
    const dashboard = buildDashboard(rows, { kind: 'connector', since: null, now: NOW })
    expect(dashboard.total_events).toBe(600)
    expect(dashboard.total_deliveries).toBe(600)
    expect(dashboard.providers[0]!.last_delivery_at).toBe(new Date(base + 599 * 60_000).toISOString())
  })

  it('a later success resolves the alert; last failure, last success and latency are reported', () => {
    const items = [
      promotionItem('2026-11-28T10:00:00.000Z', [deliveryRecord('webhook', false, { duration_ms: 2000 })]),
      promotionItem('2026-11-28T11:00:00.000Z', [deliveryRecord('webhook', true, { duration_ms: 100 })]),
    ]
    const dashboard = buildDashboard(deliveryRows(items, CONNECTOR_KINDS), {
      kind: 'connector',
      since: null,
      now: NOW,
    })
    expect(dashboard.alerts).toEqual([])
    expect(dashboard.alert_level).toBe('healthy')
    expect(dashboard.providers[0]).toMatchObject({
      last_failure_at: '2026-11-28T10:00:00.000Z',
      last_success_at: '2026-11-28T11:00:00.000Z',
      p50_duration_ms: 100,
      p95_duration_ms: 2000,
      state: 'degraded',
    })
  })

  it('a time window leaves old failures out', () => {
    const items = [
      promotionItem('2026-10-01T10:00:00.000Z', [deliveryRecord('webhook', false)], 'rpe_old'),
      promotionItem('2026-11-28T11:00:00.000Z', [deliveryRecord('webhook', true)], 'rpe_new'),
    ]
    const rows = deliveryRows(items, CONNECTOR_KINDS)
    const all = buildDashboard(rows, { kind: 'connector', since: null, now: NOW })
    const recent = buildDashboard(rows, {
      kind: 'connector',
      since: new Date('2026-11-01T00:00:00Z'),
      now: NOW,
    })
    expect(all.alert_level).toBe('warning')
    expect(recent.alert_level).toBe('healthy')
    expect(recent.failed_deliveries).toBe(0)
  })
})

describe('15. retry policy', () => {
  it('retries only transient statuses: not 4xx client errors, but 408 and 429', () => {
    for (const status of [400, 401, 403, 404, 409, 413, 422]) expect(isRetryableStatus(status)).toBe(false)
    for (const status of [408, 429, 500, 502, 503, 504]) expect(isRetryableStatus(status)).toBe(true)
  })

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-28T12:00:00Z')
    expect(parseRetryAfter('7', now)).toBe(7000)
    expect(parseRetryAfter('Sat, 28 Nov 2026 12:00:30 GMT', now)).toBe(30_000)
    expect(parseRetryAfter('soon', now)).toBeUndefined()
  })

  const session = (transport: Transport, clock: Clock, random = () => 0.1) =>
    testSession(transport, { clock, random })
  const post = {
    step: 'create issue',
    build: () => ({
      method: 'POST' as const,
      url: 'https://jira.example/rest/api/3/issue',
      headers: {},
      body: '{}',
    }),
    read: (r: { status: number; body: string; headers: Record<string, string>; truncated: boolean }) =>
      readStatus(r, r.status),
    dryRun: 0,
  }

  it('a 400 is sent once and the vendor’s error reaches the evidence', async () => {
    const clock = virtualClock()
    const body = '{"errorMessages":[],"errors":{"project":"project is required"}}'
    const transport = new ScriptedTransport(() => response(400, body))
    const s = session(transport, clock)
    const result = await s.exchange(post)
    expect(transport.sent).toHaveLength(1)
    expect(result.ok).toBe(false)
    expect(!result.ok && result.error).toContain('project is required')
    expect(s.attempts).toHaveLength(1)
    expect(clock.waits).toEqual([])
  })

  it('a 429 waits as long as Retry-After asks', async () => {
    const clock = virtualClock()
    const script = [response(429, '', { 'retry-after': '12' }), response(201)]
    const transport = new ScriptedTransport(() => script.shift()!)
    const result = await session(transport, clock).exchange(post)
    expect(result.ok).toBe(true)
    expect(clock.waits).toEqual([12_000])
  })

  it('backs off exponentially with jitter rather than 0.25 s × attempt', async () => {
    const waitsFor = async (random: () => number) => {
      const clock = virtualClock()
      const transport = new ScriptedTransport(() => response(503))
      await session(transport, clock, random).exchange(post)
      return clock.waits
    }
    expect(await waitsFor(() => 0.1)).toEqual([50, 100])
    expect(await waitsFor(() => 0.9)).toEqual([450, 900])
  })

  it('starts no attempt after the deadline', async () => {
    const clock = virtualClock()
    const transport = new ScriptedTransport(() => response(503, '', { 'retry-after': '50' }))
    const s = new Session({
      title: 'Jira',
      urlIsSecret: false,
      transport,
      retries: 5,
      timeoutMs: 10_000,
      deadline: new Deadline(30_000, clock.now),
      redactor: new Redactor(),
      tokens: new TokenCache(),
      clock,
    })
    const result = await s.exchange(post)
    expect(transport.sent).toHaveLength(1)
    expect(!result.ok && result.error).toMatch(/deadline/)
  })

  it('connectors are delivered concurrently, not one after the other', async () => {
    let inFlight = 0
    let most = 0
    let release: () => void = () => {}
    const bothStarted = new Promise<void>((resolve) => {
      release = resolve
    })
    const transport = new ScriptedTransport(async () => {
      inFlight++
      most = Math.max(most, inFlight)
      if (inFlight === 2) release()
      await Promise.race([bothStarted, new Promise((resolve) => setTimeout(resolve, 1000))])
      inFlight--
      return response(200, '{"delivery_id":"d-1"}')
    })
    const { result } = await deliverWith(transport)
    expect(most).toBe(2)
    expect(result.deliveries.map((d) => d.success)).toEqual([true, true])
  })
})

describe('16. a failed delivery is not a success for CI', () => {
  it('a connector that fails makes the result a failure while the others are still delivered', async () => {
    const transport = new ScriptedTransport((request) =>
      request.url.includes('alpha') ? response(400, 'rejected: bad signature') : response(202),
    )
    const { result } = await deliverWith(transport)
    expect(result.success).toBe(false)
    const byName = Object.fromEntries(result.deliveries.map((d) => [d.provider, d]))
    expect(byName.alpha).toMatchObject({ success: false, status_code: 400, attempt_count: 1 })
    expect(byName.alpha!.error).toContain('rejected: bad signature')
    expect(byName.beta).toMatchObject({ success: true, status_code: 202 })
  })

  it('exit code 1 means a delivery failed, distinct from success and from every error class', () => {
    expect(ExitCode.ok).toBe(0)
    expect(ExitCode.deliveryFailed).toBe(1)
    expect(EXIT_CODE_HELP).toMatch(/^1 {2}at least one delivery failed/m)
    const codes = [
      exitCodeOf(new UsageError('u')),
      exitCodeOf(new ConfigError('c')),
      exitCodeOf(new InputError('i')),
      exitCodeOf(new StoreError('s')),
    ]
    expect(codes).toEqual([2, 3, 4, 5])
    // Anything unexpected is never reported as success.
    expect(exitCodeOf(new Error('boom'))).not.toBe(0)
  })
})

describe('17. the store under concurrency and crashes', () => {
  const STORE_MODULE = pathToFileURL(join(PROJECT_ROOT, 'src', 'metadata', 'store.ts')).href

  function writer(ws: Workspace, path: string, label: string, count: number | null): ChildProcess {
    const script = ws.write(
      `writer-${label}.mts`,
      `import { openStore } from ${JSON.stringify(STORE_MODULE)}
const appendItem = (path, item) => openStore(path).append(item)
const count = ${count === null ? 'Infinity' : count}
for (let i = 0; i < count; i++) {
  await appendItem(${JSON.stringify(path)}, { session_id: ${JSON.stringify(label)} + '-' + i, metadata_kind: 'release-connector-delivery', filler: 'x'.repeat(2000) })
  process.stdout.write(${JSON.stringify(label)} + '-' + i + '\\n')
}
`,
    )
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(child)
    return child
  }
  function finished(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
    let stderr = ''
    child.stderr?.on('data', (chunk) => {
      stderr += chunk
    })
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })))
  }

  it('concurrent appends from one process lose nothing', async () => {
    const ws = workspace()
    const path = ws.path('metadata.json')
    await Promise.all(
      Array.from({ length: 30 }, (_, n) => appendItem(path, { session_id: `one-${n}`, metadata_kind: 'x' })),
    )
    const { document, chain } = await readStore(path)
    expect(document.items).toHaveLength(30)
    expect(chain).toMatchObject({ chained: 30, broken: null })
  })

  it('concurrent appends from several processes lose nothing and keep the chain', async () => {
    const ws = workspace()
    const path = ws.path('metadata.json')
    const runs = ['p1', 'p2', 'p3', 'p4'].map((label) => finished(writer(ws, path, label, 8)))
    const results = await Promise.all(runs)
    for (const run of results) expect(run, run.stderr).toMatchObject({ code: 0 })
    const { document, chain } = await readStore(path)
    expect(document.items).toHaveLength(32)
    expect(new Set(document.items.map((item) => item.session_id)).size).toBe(32)
    expect(chain).toMatchObject({ chained: 32, broken: null })
    // Each writer's own items are in the order it wrote them.
    for (const label of ['p1', 'p2', 'p3', 'p4']) {
      const own = document.items
        .map((item) => String(item.session_id))
        .filter((id) => id.startsWith(`${label}-`))
      expect(own).toEqual(Array.from({ length: 8 }, (_, i) => `${label}-${i}`))
    }
  }, 60_000)

  it('an append writes only the new item: every byte before it stays, the file stays one JSON document', async () => {
    const ws = workspace()
    const path = ws.path('metadata.json')
    await appendItem(path, { session_id: 'a', metadata_kind: 'x' })
    await appendItem(path, { session_id: 'b', metadata_kind: 'x' })
    const oldText = readFileSync(path, 'utf8')
    const oldInode = statSync(path).ino
    await appendItem(path, { session_id: 'c', metadata_kind: 'x', filler: 'y'.repeat(10_000) })
    const newText = readFileSync(path, 'utf8')
    expect(statSync(path).ino).toBe(oldInode)
    // Only the closing `]}` line of the old document was overwritten.
    expect(newText.startsWith(oldText.slice(0, -3))).toBe(true)
    expect(JSON.parse(newText).items.map((item: { session_id: string }) => item.session_id)).toEqual([
      'a',
      'b',
      'c',
    ])
    expect((await readStore(path)).document.items).toHaveLength(3)
  })

  it('a writer killed at any moment loses no acknowledged item; the next writer repairs the end', async () => {
    const ws = workspace()
    const path = ws.path('metadata.json')
    const acknowledged: string[] = []
    for (const delay of [0, 3, 11, 37]) {
      const child = writer(ws, path, `k${delay}`, null)
      const done = finished(child)
      let output = ''
      child.stdout?.on('data', (chunk) => {
        output += chunk
      })
      // Killed once it has acknowledged at least one item (or found dead already, which the checks below catch).
      await Promise.race([
        new Promise<void>((resolve) => {
          child.stdout?.once('data', () => resolve())
        }),
        done,
      ])
      await new Promise((resolve) => setTimeout(resolve, delay))
      child.kill('SIGKILL')
      const outcome = await done
      expect(outcome.code, `the writer ended by itself: ${outcome.stderr}`).toBeNull()
      acknowledged.push(...output.split('\n').filter(Boolean))
      // Readers read every complete item, whatever the kill left at the end.
      const { document, chain } = await readStore(path)
      expect(chain.broken).toBeNull()
      const ids = new Set(document.items.map((item) => item.session_id))
      for (const id of acknowledged) expect(ids.has(id), `acknowledged ${id} is missing`).toBe(true)
      // A lock left by the killed writer is taken over once stale; remove it to keep the test quick.
      rmSync(`${path}.lock`, { recursive: true, force: true })
    }
    await appendItem(path, { session_id: 'after-crash', metadata_kind: 'x' })
    // After an append the document is whole again.
    const whole = JSON.parse(readFileSync(path, 'utf8')) as { items: Array<{ session_id: string }> }
    expect(whole.items.at(-1)!.session_id).toBe('after-crash')
    const { chain } = await readStore(path)
    expect(chain).toMatchObject({ broken: null, chained: whole.items.length })
  }, 60_000)

  it('a torn temp file left by a killed writer never becomes the store, and is cleaned up once old', async () => {
    const ws = workspace()
    const path = ws.path('metadata.json')
    await appendItem(path, { session_id: 'a', metadata_kind: 'x' })
    const torn = ws.write('.metadata.json.99999.0badc0ffee00.tmp', readFileSync(path, 'utf8').slice(0, 40))
    const fresh = ws.write('.metadata.json.99998.0123456789ab.tmp', '{"items": [')
    const old = new Date(Date.now() - 10 * 60_000)
    utimesSync(torn, old, old)
    const snapshot = await readStore(path)
    expect(snapshot.document.items.map((item) => item.session_id)).toEqual(['a'])
    await appendItem(path, { session_id: 'b', metadata_kind: 'x' })
    expect(existsSync(torn)).toBe(false)
    // A recent temp file may belong to a writer that is still running: it is left alone.
    expect(existsSync(fresh)).toBe(true)
    const { document, chain } = await readStore(path)
    expect(document.items.map((item) => item.session_id)).toEqual(['a', 'b'])
    expect(chain.broken).toBeNull()
  })

  it('the chain written by concurrent processes verifies independently of the reader', async () => {
    const ws = workspace()
    const path = ws.path('metadata.json')
    const results = await Promise.all(['q1', 'q2'].map((label) => finished(writer(ws, path, label, 5))))
    for (const run of results) expect(run, run.stderr).toMatchObject({ code: 0 })
    const items = JSON.parse(readFileSync(path, 'utf8')).items
    expect(verifyChain(items)).toMatchObject({ total: 10, chained: 10, broken: null })
  }, 60_000)
})
