import { describe, expect, it } from 'vitest'
import { githubAnnotations, renderDashboardMarkdown } from '../../src/cli/dashboard-render.js'
import type { StoreItem } from '../../src/metadata/chain.js'
import {
  type Alert,
  buildDashboard,
  type Dashboard,
  openPairs,
  percentile,
} from '../../src/metadata/dashboard.js'
import {
  CONNECTOR_KINDS,
  deliveryRows,
  PUBLICATION_KIND,
  publicationRows,
} from '../../src/metadata/history.js'

/** Dashboards over crafted store items, with a fixed clock. */

const NOW = new Date('2026-12-01T00:00:00.000Z')
const PROMOTION = 'cavra.rollout_promotion_execution'
const ROLLBACK = 'cavra.rollout_rollback_execution'

interface Delivery {
  provider: string
  provider_type?: string
  success: boolean
  attempt_count?: number
  duration_ms?: number | null
  error?: string | null
}

function ok(provider: string, extra: Partial<Delivery> = {}): Delivery {
  return { provider, success: true, attempt_count: 1, duration_ms: 100, error: null, ...extra }
}
function fail(provider: string, extra: Partial<Delivery> = {}): Delivery {
  return {
    provider,
    success: false,
    attempt_count: 3,
    duration_ms: 900,
    error: `HTTP 503 from ${provider} after 3 attempts: busy`,
    ...extra,
  }
}

let counter = 0
function record(
  createdAt: string,
  deliveries: Delivery[],
  options: { eventId?: string; eventType?: string; extra?: Record<string, unknown> } = {},
): StoreItem {
  counter++
  return {
    session_id: `rcd-${counter}`,
    metadata_kind: 'release-connector-delivery',
    created_at: createdAt,
    event_id: options.eventId ?? `rpe_${counter}`,
    event_type: options.eventType ?? PROMOTION,
    severity: 'high',
    delivery_success: deliveries.every((d) => d.success),
    providers: deliveries.map((d) => d.provider),
    failed_providers: deliveries.filter((d) => !d.success).map((d) => d.provider),
    deliveries: deliveries.map((d) => ({
      provider_type: d.provider,
      status_code: d.success ? 200 : 503,
      ...d,
    })),
    attempt_count: deliveries.reduce((sum, d) => sum + (d.attempt_count ?? 0), 0),
    ...options.extra,
  }
}

function connectorDashboard(items: StoreItem[], since: Date | null = null): Dashboard {
  return buildDashboard(deliveryRows(items, CONNECTOR_KINDS), { kind: 'connector', since, now: NOW })
}
const provider = (dashboard: Dashboard, name: string) => {
  const found = dashboard.providers.find((p) => p.provider === name)
  if (!found) throw new Error(`no provider ${name} in the dashboard`)
  return found
}
const at = (day: number, hour = 0) => new Date(Date.UTC(2026, 10, day, hour)).toISOString()

describe('connector dashboard: per-connector figures', () => {
  it('a connector that succeeded inside a failed batch counts as a success, with its own attempts', () => {
    const d = connectorDashboard([record(at(20), [fail('jira', { attempt_count: 3 }), ok('webhook')])])
    expect(provider(d, 'webhook')).toMatchObject({
      total: 1,
      succeeded: 1,
      failed: 0,
      success_rate: 1,
      attempt_count: 1,
      state: 'healthy',
      failure_streak: 0,
    })
    expect(provider(d, 'jira')).toMatchObject({
      total: 1,
      succeeded: 0,
      failed: 1,
      success_rate: 0,
      attempt_count: 3,
      state: 'failing',
      failure_streak: 1,
    })
  })

  it('computes totals and rates over connector deliveries and counts records as events', () => {
    const d = connectorDashboard([
      record(at(20), [ok('webhook'), ok('jira')]),
      record(at(21), [fail('webhook'), ok('jira')]),
      record(at(22), [ok('webhook'), fail('jira')], { eventType: ROLLBACK }),
    ])
    expect(d).toMatchObject({
      schema_version: 'cavra.release.connector_delivery_dashboard.v1',
      product: 'CAVRA',
      generated_at: '2026-12-01T00:00:00.000Z',
      since: null,
      total_events: 3,
      total_deliveries: 6,
      successful_deliveries: 4,
      failed_deliveries: 2,
    })
    expect(d.success_rate).toBeCloseTo(4 / 6, 4)
    expect(d.success_rate).toBeGreaterThanOrEqual(0)
    expect(d.success_rate).toBeLessThanOrEqual(1)
    expect(d.event_types).toEqual({ [PROMOTION]: 2, [ROLLBACK]: 1 })
    expect(provider(d, 'jira')).toMatchObject({ total: 3, succeeded: 2, failed: 1 })
    expect(provider(d, 'jira').success_rate).toBeCloseTo(2 / 3, 4)
    expect(d.providers.map((p) => p.provider)).toEqual(['jira', 'webhook'])
  })

  it('event_types counts records, not deliveries', () => {
    const d = connectorDashboard([record(at(20), [ok('a'), ok('b'), ok('c')], { eventType: ROLLBACK })])
    expect(d.total_events).toBe(1)
    expect(d.total_deliveries).toBe(3)
    expect(d.event_types).toEqual({ [ROLLBACK]: 1 })
  })

  it('p50 and p95 durations by nearest rank, ignoring deliveries without a duration', () => {
    const items = Array.from({ length: 20 }, (_, i) =>
      record(at(1, i), [ok('webhook', { duration_ms: (20 - i) * 100 }), ok('jira', { duration_ms: null })]),
    )
    items.push(record(at(2), [ok('slack', { duration_ms: 5 })]))
    items.push(record(at(3), [ok('slack', { duration_ms: 1 })]))
    items.push(record(at(4), [ok('slack', { duration_ms: 3 })]))
    const d = connectorDashboard(items)
    // 100..2000: rank ceil(0.5*20)=10 → 1000, rank ceil(0.95*20)=19 → 1900.
    expect(provider(d, 'webhook')).toMatchObject({ p50_duration_ms: 1000, p95_duration_ms: 1900 })
    // 1, 3, 5: rank 2 → 3, rank 3 → 5.
    expect(provider(d, 'slack')).toMatchObject({ p50_duration_ms: 3, p95_duration_ms: 5 })
    expect(provider(d, 'jira')).toMatchObject({ p50_duration_ms: null, p95_duration_ms: null })
  })

  it('percentile uses the nearest rank', () => {
    expect(percentile([], 50)).toBeNull()
    expect(percentile([7], 95)).toBe(7)
    expect(percentile([4, 1, 3, 2], 50)).toBe(2)
    expect(percentile([4, 1, 3, 2], 95)).toBe(4)
    expect(percentile([4, 1, 3, 2], 25)).toBe(1)
    expect(percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 95)).toBe(100)
    expect(percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90)).toBe(90)
  })

  it('reports last delivery, last success and last failure per connector', () => {
    const d = connectorDashboard([
      record(at(20), [fail('webhook')]),
      record(at(23), [ok('webhook')]),
      record(at(21), [fail('webhook')]),
      record(at(22), [ok('jira')]),
    ])
    expect(provider(d, 'webhook')).toMatchObject({
      last_delivery_at: at(23),
      last_success_at: at(23),
      last_failure_at: at(21),
    })
    expect(provider(d, 'jira')).toMatchObject({
      last_delivery_at: at(22),
      last_success_at: at(22),
      last_failure_at: null,
    })
  })

  it('states: healthy, degraded (a recent failure, since recovered) and failing (latest failed)', () => {
    const d = connectorDashboard([
      record(at(20), [ok('healthy'), fail('degraded'), ok('failing')]),
      record(at(21), [ok('healthy'), ok('degraded'), fail('failing')]),
    ])
    expect(provider(d, 'healthy').state).toBe('healthy')
    expect(provider(d, 'degraded').state).toBe('degraded')
    expect(provider(d, 'failing').state).toBe('failing')
  })

  it('a failure more than ten deliveries ago no longer makes a connector degraded', () => {
    const items = [record(at(1), [fail('webhook')])]
    for (let i = 0; i < 10; i++) items.push(record(at(2, i), [ok('webhook')]))
    expect(provider(connectorDashboard(items), 'webhook').state).toBe('healthy')
    items.splice(1, 1)
    expect(provider(connectorDashboard(items), 'webhook').state).toBe('degraded')
  })
})

describe('connector dashboard: alerts', () => {
  it('a successful re-delivery of the same event to the same connector resolves the alert', () => {
    const d = connectorDashboard([
      record(at(20), [fail('webhook'), ok('jira')], { eventId: 'rpe_a' }),
      record(at(21), [ok('webhook'), ok('jira')], { eventId: 'rpe_a' }),
    ])
    expect(d.alerts).toEqual([])
    expect(d.alert_level).toBe('healthy')
    expect(provider(d, 'webhook').state).toBe('degraded')
  })

  it('a success of another event or to another connector does not resolve it', () => {
    const d = connectorDashboard([
      record(at(20), [fail('webhook'), fail('jira')], { eventId: 'rpe_a' }),
      record(at(21), [ok('jira')], { eventId: 'rpe_a' }),
      record(at(22), [ok('webhook')], { eventId: 'rpe_b' }),
    ])
    expect(d.alerts).toHaveLength(1)
    expect(d.alerts[0]).toMatchObject({
      severity: 'warning',
      provider: 'webhook',
      event_id: 'rpe_a',
      event_type: PROMOTION,
      failure_streak: 1,
      last_failure_at: at(20),
    })
    expect(d.alerts[0]!.message).toContain('webhook')
    expect(d.alerts[0]!.message).toContain('rpe_a')
    expect(d.alert_level).toBe('warning')
  })

  it('a failure after a success re-opens the alert', () => {
    const d = connectorDashboard([
      record(at(20), [ok('webhook')], { eventId: 'rpe_a' }),
      record(at(21), [fail('webhook')], { eventId: 'rpe_a' }),
    ])
    expect(d.alerts.map((a) => [a.provider, a.event_id])).toEqual([['webhook', 'rpe_a']])
  })

  it('a single promotion failure is a warning', () => {
    const d = connectorDashboard([record(at(20), [fail('webhook')], { eventId: 'rpe_a' })])
    expect(d.alerts).toHaveLength(1)
    expect(d.alerts[0]!.severity).toBe('warning')
    expect(d.alert_level).toBe('warning')
  })

  it('a rollback event failure is critical, even once', () => {
    const d = connectorDashboard([
      record(at(20), [fail('webhook'), ok('jira')], { eventId: 'rbe_a', eventType: ROLLBACK }),
    ])
    expect(d.alerts).toHaveLength(1)
    expect(d.alerts[0]).toMatchObject({ severity: 'critical', provider: 'webhook', event_type: ROLLBACK })
    expect(d.alert_level).toBe('critical')
  })

  it('three consecutive failures of the same event are one critical alert with streak 3', () => {
    const d = connectorDashboard([
      record(at(20), [fail('webhook')], { eventId: 'rpe_a' }),
      record(at(21), [fail('webhook')], { eventId: 'rpe_a' }),
      record(at(22), [fail('webhook')], { eventId: 'rpe_a' }),
    ])
    expect(d.alerts).toHaveLength(1)
    expect(d.alerts[0]).toMatchObject({ severity: 'critical', failure_streak: 3, last_failure_at: at(22) })
    expect(d.alert_level).toBe('critical')
    expect(provider(d, 'webhook').failure_streak).toBe(3)
  })

  it('three consecutive failures of a connector across events make its alerts critical', () => {
    const d = connectorDashboard([
      record(at(20), [fail('webhook')], { eventId: 'rpe_a' }),
      record(at(21), [fail('webhook')], { eventId: 'rpe_b' }),
      record(at(22), [fail('webhook')], { eventId: 'rpe_c' }),
    ])
    expect(d.alerts).toHaveLength(3)
    expect(d.alerts.every((a) => a.severity === 'critical')).toBe(true)
    expect(d.alert_level).toBe('critical')
  })

  it('two consecutive failures are still a warning', () => {
    const d = connectorDashboard([
      record(at(19), [ok('webhook')], { eventId: 'rpe_0' }),
      record(at(20), [fail('webhook')], { eventId: 'rpe_a' }),
      record(at(21), [fail('webhook')], { eventId: 'rpe_a' }),
    ])
    expect(d.alerts).toHaveLength(1)
    expect(d.alerts[0]).toMatchObject({ severity: 'warning', failure_streak: 2 })
    expect(provider(d, 'webhook').failure_streak).toBe(2)
  })

  it('lists critical alerts before warnings, newest first', () => {
    const d = connectorDashboard([
      record(at(20), [fail('jira')], { eventId: 'rpe_old' }),
      record(at(21), [fail('slack')], { eventId: 'rbe_1', eventType: ROLLBACK }),
      record(at(22), [fail('teams')], { eventId: 'rpe_new' }),
    ])
    expect(d.alerts.map((a) => [a.severity, a.provider])).toEqual([
      ['critical', 'slack'],
      ['warning', 'teams'],
      ['warning', 'jira'],
    ])
  })

  it('an empty store gives a warning that no delivery was recorded', () => {
    const d = connectorDashboard([])
    expect(d.alert_level).toBe('warning')
    expect(d.alerts).toHaveLength(1)
    expect(d.alerts[0]).toMatchObject({ severity: 'warning', provider: null, event_id: null })
    expect(d.alerts[0]!.message).toMatch(/No connector delivery has been recorded/)
    expect(d).toMatchObject({
      total_events: 0,
      total_deliveries: 0,
      successful_deliveries: 0,
      failed_deliveries: 0,
      success_rate: 0,
      providers: [],
      event_types: {},
    })
    expect(d.latest).toBeUndefined()
  })

  it('a store holding only other kinds of item is empty for the dashboard', () => {
    const d = connectorDashboard([{ session_id: 'x', metadata_kind: 'rollout-promotion-execution' }])
    expect(d.alert_level).toBe('warning')
    expect(d.alerts).toHaveLength(1)
  })
})

describe('openPairs: the subjects of the alerts', () => {
  it('gives each open (connector, event) with the failures since its last success, newest first', () => {
    const items = [
      record(at(18), [fail('webhook')], { eventId: 'rpe_a' }),
      record(at(19), [ok('webhook'), ok('jira')], { eventId: 'rpe_a' }),
      record(at(20), [fail('webhook'), fail('jira')], { eventId: 'rpe_a' }),
      record(at(21), [fail('webhook')], { eventId: 'rpe_a' }),
      record(at(22), [ok('jira')], { eventId: 'rpe_a' }),
      record(at(23), [fail('slack')], { eventId: 'rpe_b' }),
    ]
    const pairs = openPairs(deliveryRows(items, CONNECTOR_KINDS))
    expect(
      pairs.map((pair) => ({
        provider: pair.latest.provider,
        event: pair.latest.event_id,
        failures: pair.failures.map((row) => row.session_id),
      })),
    ).toEqual([
      { provider: 'slack', event: 'rpe_b', failures: [items[5]!.session_id] },
      // The failure before the success of at(19) is resolved history, not part of the alert.
      { provider: 'webhook', event: 'rpe_a', failures: [items[3]!.session_id, items[2]!.session_id] },
    ])
  })

  it('holds exactly the alerts of the dashboard', () => {
    const items = [
      record(at(20), [fail('webhook'), ok('jira')], { eventId: 'rbe_a', eventType: ROLLBACK }),
      record(at(21), [fail('jira')], { eventId: 'rpe_b' }),
      record(at(22), [ok('jira')], { eventId: 'rpe_b' }),
      record(at(23), [fail('teams')], { eventId: 'rpe_c' }),
    ]
    const rows = deliveryRows(items, CONNECTOR_KINDS)
    const fromDashboard = connectorDashboard(items).alerts.map((a) => `${a.provider}/${a.event_id}`)
    const fromPairs = openPairs(rows).map((pair) => `${pair.latest.provider}/${pair.latest.event_id}`)
    expect([...fromPairs].sort()).toEqual([...fromDashboard].sort())
    // In order of the latest delivery, newest first.
    expect(fromPairs).toEqual(['teams/rpe_c', 'webhook/rbe_a'])
  })
})

describe('connector dashboard: --since', () => {
  const items = [
    record(at(10), [fail('webhook'), ok('jira')], { eventId: 'rpe_old' }),
    record(at(25), [ok('webhook'), ok('jira')], { eventId: 'rpe_new' }),
    record(at(26), [ok('webhook', { duration_ms: 50 })], { eventId: 'rpe_newer', eventType: ROLLBACK }),
  ]

  it('windows every figure and drops alerts from before the window', () => {
    const since = new Date(at(20))
    const d = connectorDashboard(items, since)
    expect(d.since).toBe(since.toISOString())
    expect(d).toMatchObject({
      total_events: 2,
      total_deliveries: 3,
      successful_deliveries: 3,
      failed_deliveries: 0,
      success_rate: 1,
      alert_level: 'healthy',
      alerts: [],
      event_types: { [PROMOTION]: 1, [ROLLBACK]: 1 },
    })
    expect(provider(d, 'webhook')).toMatchObject({
      total: 2,
      failed: 0,
      last_failure_at: null,
      state: 'healthy',
      p50_duration_ms: 50,
    })
  })

  it('without a window the old failure counts (and is still an open alert: never re-delivered)', () => {
    const d = connectorDashboard(items)
    expect(d).toMatchObject({ total_events: 3, total_deliveries: 5, failed_deliveries: 1 })
    expect(d.alerts.map((a) => a.event_id)).toEqual(['rpe_old'])
  })

  it('a window with nothing in it is not the "never recorded" warning', () => {
    const d = connectorDashboard(items, new Date(at(30)))
    expect(d.total_deliveries).toBe(0)
    expect(d.alerts).toEqual([])
    expect(d.alert_level).toBe('healthy')
  })
})

describe('publication dashboard', () => {
  function publication(n: number, deliveries: Delivery[], extra: Record<string, unknown> = {}): StoreItem {
    return record(new Date(Date.UTC(2026, 10, 1, n)).toISOString(), deliveries, {
      eventId: `emp_${String(n).padStart(12, '0')}`,
      eventType: 'cavra.endpoint_management_export_publication',
      extra: {
        metadata_kind: PUBLICATION_KIND,
        session_id: `epd-${n}`,
        publication_id: `emp_${String(n).padStart(12, '0')}`,
        export_id: `eme_${n}`,
        channel: n % 2 === 0 ? 'stable' : 'beta',
        release: { version: `1.${n}.0`, commit: 'c0ffee', repository: 'acme/agent' },
        ...extra,
      },
    })
  }
  const pubDashboard = (items: StoreItem[], since: Date | null = null) =>
    buildDashboard(publicationRows(items), { kind: 'publication', since, now: NOW })

  it('an empty history gives no alert and a healthy level', () => {
    const d = pubDashboard([])
    expect(d.schema_version).toBe('cavra.endpoint_management.publication_dashboard.v1')
    expect(d.alerts).toEqual([])
    expect(d.alert_level).toBe('healthy')
    expect(d.latest).toEqual([])
  })

  it('latest holds at most the ten newest publications, newest first, with their outcome', () => {
    const items = Array.from({ length: 12 }, (_, i) =>
      publication(i + 1, i === 10 ? [ok('jamf'), fail('intune')] : [ok('jamf'), ok('intune')]),
    )
    const d = pubDashboard(items)
    expect(d.latest).toHaveLength(10)
    expect(d.latest!.map((p) => p.session_id)).toEqual([
      'epd-12',
      'epd-11',
      'epd-10',
      'epd-9',
      'epd-8',
      'epd-7',
      'epd-6',
      'epd-5',
      'epd-4',
      'epd-3',
    ])
    expect(d.latest![1]).toMatchObject({
      export_id: 'eme_11',
      channel: 'beta',
      release_version: '1.11.0',
      publication_id: 'emp_000000000011',
      success: false,
      providers: ['jamf', 'intune'],
      failed_providers: ['intune'],
    })
    expect(d.latest![0]).toMatchObject({ success: true, failed_providers: [] })
    expect(d.total_events).toBe(12)
    expect(d.total_deliveries).toBe(24)
  })

  it('alerts name the export id', () => {
    const d = pubDashboard([publication(1, [ok('jamf'), fail('linux')])])
    expect(d.alerts).toHaveLength(1)
    expect(d.alerts[0]).toMatchObject({ provider: 'linux', export_id: 'eme_1', severity: 'warning' })
    expect(d.alerts[0]!.message).toContain('eme_1')
    expect(provider(d, 'jamf')).toMatchObject({ succeeded: 1, failed: 0 })
    expect(d.alert_level).toBe('warning')
  })

  it('a later successful publication of the same publication resolves its alert', () => {
    const d = pubDashboard([
      publication(1, [fail('jamf')], { session_id: 'epd-a' }),
      publication(1, [ok('jamf')], { session_id: 'epd-b' }),
    ])
    expect(d.alerts).toEqual([])
  })

  it('latest is windowed by since', () => {
    const items = Array.from({ length: 5 }, (_, i) => publication(i + 1, [ok('jamf')]))
    const d = pubDashboard(items, new Date(Date.UTC(2026, 10, 1, 4)))
    expect(d.latest!.map((p) => p.session_id)).toEqual(['epd-5', 'epd-4'])
  })
})

describe('renderDashboardMarkdown', () => {
  it('has a table row per connector and lists the open alerts', () => {
    const d = connectorDashboard([
      record(at(20), [fail('jira', { attempt_count: 3 }), ok('webhook')], { eventId: 'rpe_a' }),
      record(at(21), [ok('splunk-eu', { provider_type: 'splunk' })], {
        eventId: 'rpe_b',
        eventType: ROLLBACK,
      }),
      record(at(22), [fail('slack')], { eventId: 'rbe_1', eventType: ROLLBACK }),
    ])
    const markdown = renderDashboardMarkdown(d, 'Release connector deliveries')
    const lines = markdown.split('\n')
    expect(lines[0]).toBe('## Release connector deliveries: 🔴 critical')
    const connectorRows = lines.filter((line) => /^\| (jira|webhook|splunk-eu|slack) \|/.test(line))
    expect(connectorRows).toHaveLength(4)
    const jira = connectorRows.find((line) => line.startsWith('| jira |'))!
    expect(jira.split('|').map((cell) => cell.trim())).toEqual([
      '',
      'jira',
      'jira',
      'failing',
      '1',
      '0',
      '1',
      '0.0%',
      '3',
      '900 ms',
      '900 ms',
      '-',
      at(20),
      '1',
      '',
    ])
    expect(connectorRows.find((line) => line.startsWith('| splunk-eu |'))).toContain('| splunk |')
    expect(markdown).toContain('### Open alerts')
    const alertLines = lines.filter((line) => line.startsWith('- **'))
    expect(alertLines).toHaveLength(2)
    expect(alertLines[0]).toMatch(/^- \*\*critical\*\*: slack: .*rbe_1/)
    expect(alertLines[1]).toMatch(/^- \*\*warning\*\*: jira: .*rpe_a/)
    expect(markdown.endsWith('\n')).toBe(true)
  })

  it('says so when there is no open alert', () => {
    const d = connectorDashboard([record(at(20), [ok('webhook')])])
    const markdown = renderDashboardMarkdown(d, 'Deliveries')
    expect(markdown).toContain('No open alerts.')
    expect(markdown).not.toContain('### Open alerts')
    expect(markdown.split('\n')[0]).toBe('## Deliveries: 🟢 healthy')
  })

  it('escapes pipes so a name cannot break the table', () => {
    const d = connectorDashboard([record(at(20), [fail('we|bhook', { error: 'bad | worse\nsecond line' })])])
    const markdown = renderDashboardMarkdown(d, 'Deliveries')
    const row = markdown.split('\n').find((line) => line.startsWith('| we'))!
    expect(row.startsWith('| we\\|bhook |')).toBe(true)
    expect(markdown).toContain('bad \\| worse second line')
  })

  it('lists the latest publications of the publication dashboard', () => {
    const item = record(at(20), [ok('jamf'), fail('intune')], {
      eventId: 'emp_000000000001',
      extra: {
        metadata_kind: PUBLICATION_KIND,
        export_id: 'eme_42',
        channel: 'stable',
        release: { version: 'v0.2.0' },
      },
    })
    const d = buildDashboard(publicationRows([item]), { kind: 'publication', since: null, now: NOW })
    const markdown = renderDashboardMarkdown(d, 'Endpoint publications')
    expect(markdown).toContain('| Published at | Export | Channel | Release | Result |')
    expect(markdown).toContain(`| ${at(20)} | eme_42 | stable | v0.2.0 | failed: intune |`)
  })
})

describe('githubAnnotations', () => {
  const alert = (severity: Alert['severity'], message: string): Alert => ({
    severity,
    provider: 'webhook',
    event_id: 'rpe_a',
    event_type: PROMOTION,
    failure_streak: 1,
    last_failure_at: at(20),
    message,
  })

  it('writes critical alerts as ::error and warnings as ::warning', () => {
    expect(githubAnnotations([alert('critical', 'down'), alert('warning', 'flaky')], 'cavra')).toEqual([
      '::error title=cavra::down',
      '::warning title=cavra::flaky',
    ])
  })

  it('escapes %, CR and LF in the message, and also : and , in the title', () => {
    const [line] = githubAnnotations(
      [alert('warning', 'webhook: 100% failed,\nsee %0A evidence')],
      'Deliveries: 3 failed, 1 ok 50%\n',
    )
    expect(line).toBe(
      '::warning title=Deliveries%3A 3 failed%2C 1 ok 50%25%0A::webhook: 100%25 failed,%0Asee %250A evidence',
    )
  })

  it('drops carriage returns and escape sequences a server put in the message', () => {
    const [line] = githubAnnotations([alert('warning', 'FAILED\r\u001b[32mok\u001b[0m')], 'cavra')
    expect(line).toBe('::warning title=cavra::FAILEDok')
  })

  it('gives nothing without alerts', () => {
    expect(githubAnnotations([], 'cavra')).toEqual([])
  })
})
