import type { DeliveryRow, PublicationRow, RecordSummary } from './history.js'

/**
 * Dashboards, computed per connector from its own outcome in each record: a
 * connector that succeeded inside a failed batch counts as a success, and its attempts are its
 * own. An alert is open for each (connector, event) whose latest delivery failed; a later
 * successful re-delivery of that event to that connector resolves it.
 */

export const CONNECTOR_DASHBOARD_SCHEMA = 'cavra.release.connector_delivery_dashboard.v1'
export const PUBLICATION_DASHBOARD_SCHEMA = 'cavra.endpoint_management.publication_dashboard.v1'

/** Deliveries looked at when deciding whether a connector that is up again is "degraded". */
const RECENT_WINDOW = 10
/** Consecutive failures that make an alert critical. */
const CRITICAL_STREAK = 3

export type AlertLevel = 'healthy' | 'warning' | 'critical'

export interface ProviderHealth {
  provider: string
  provider_type: string
  total: number
  succeeded: number
  failed: number
  success_rate: number
  attempt_count: number
  p50_duration_ms: number | null
  p95_duration_ms: number | null
  last_delivery_at: string | null
  last_success_at: string | null
  last_failure_at: string | null
  failure_streak: number
  state: 'healthy' | 'degraded' | 'failing'
}

export interface Alert {
  severity: 'warning' | 'critical'
  provider: string | null
  event_id: string | null
  event_type: string | null
  failure_streak: number
  last_failure_at: string | null
  message: string
  export_id?: string | null
}

export interface Dashboard {
  schema_version: string
  product: string
  generated_at: string
  since: string | null
  alert_level: AlertLevel
  total_events: number
  total_deliveries: number
  successful_deliveries: number
  failed_deliveries: number
  success_rate: number
  providers: ProviderHealth[]
  event_types: Record<string, number>
  alerts: Alert[]
  latest?: PublicationSummary[]
}

export interface PublicationSummary {
  session_id: string
  created_at: string
  publication_id: string | null
  export_id: string | null
  channel: string | null
  release_version: string | null
  success: boolean
  providers: string[]
  failed_providers: string[]
}

export interface DashboardOptions {
  kind: 'connector' | 'publication'
  since: Date | null
  now?: Date
}

/** `rows` are all rows of the dashboard's kind, newest first (deliveryRows / publicationRows). */
export function buildDashboard(
  rows: readonly (DeliveryRow | PublicationRow)[],
  options: DashboardOptions,
): Dashboard {
  const since = options.since?.getTime()
  const inWindow = since === undefined ? rows : rows.filter((row) => Date.parse(row.created_at) >= since)
  const records = new Map<string, RecordSummary>()
  for (const row of inWindow) records.set(row.session_id, row.record)
  const event_types: Record<string, number> = {}
  for (const record of records.values()) {
    event_types[record.event_type] = (event_types[record.event_type] ?? 0) + 1
  }
  const byProvider = groupBy(inWindow, (row) => row.provider)
  const providers = [...byProvider.entries()]
    .map(([provider, list]) => providerHealth(provider, list))
    .sort((a, b) => a.provider.localeCompare(b.provider))
  const alerts = openAlerts(inWindow, byProvider, options.kind)
  if (options.kind === 'connector' && rows.length === 0) {
    alerts.push({
      severity: 'warning',
      provider: null,
      event_id: null,
      event_type: null,
      failure_streak: 0,
      last_failure_at: null,
      message:
        'No connector delivery has been recorded in this store: check that delivery commands index into it (--metadata-json).',
    })
  }
  const succeeded = inWindow.filter((row) => row.success).length
  const dashboard: Dashboard = {
    schema_version: options.kind === 'connector' ? CONNECTOR_DASHBOARD_SCHEMA : PUBLICATION_DASHBOARD_SCHEMA,
    product: 'CAVRA',
    generated_at: (options.now ?? new Date()).toISOString(),
    since: options.since ? options.since.toISOString() : null,
    alert_level: alerts.some((a) => a.severity === 'critical')
      ? 'critical'
      : alerts.length > 0
        ? 'warning'
        : 'healthy',
    total_events: records.size,
    total_deliveries: inWindow.length,
    successful_deliveries: succeeded,
    failed_deliveries: inWindow.length - succeeded,
    success_rate: rate(succeeded, inWindow.length),
    providers,
    event_types,
    alerts,
  }
  if (options.kind === 'publication') dashboard.latest = latestPublications(inWindow as PublicationRow[])
  return dashboard
}

function providerHealth(provider: string, rows: readonly DeliveryRow[]): ProviderHealth {
  let succeeded = 0
  let attempts = 0
  let lastSuccess: string | undefined
  let lastFailure: string | undefined
  const durations: number[] = []
  for (const row of rows) {
    if (row.success) {
      succeeded++
      lastSuccess ??= row.created_at
    } else lastFailure ??= row.created_at
    attempts += row.attempt_count
    if (row.duration_ms !== null) durations.push(row.duration_ms)
  }
  const streak = leadingFailures(rows)
  const recent = rows.slice(0, RECENT_WINDOW)
  const sorted = ascending(durations)
  return {
    provider,
    provider_type: rows[0]?.provider_type ?? provider,
    total: rows.length,
    succeeded,
    failed: rows.length - succeeded,
    success_rate: rate(succeeded, rows.length),
    attempt_count: attempts,
    p50_duration_ms: nearestRank(sorted, 50),
    p95_duration_ms: nearestRank(sorted, 95),
    last_delivery_at: rows[0]?.created_at ?? null,
    last_success_at: lastSuccess ?? null,
    last_failure_at: lastFailure ?? null,
    failure_streak: streak,
    state: streak > 0 ? 'failing' : recent.some((row) => !row.success) ? 'degraded' : 'healthy',
  }
}

/**
 * An open alert's subject: a (connector, event) whose latest delivery failed, with that
 * delivery and every failure since the pair last succeeded (newest first, `latest` included).
 * The dashboards raise their alerts from these, and `release redeliver` re-delivers them.
 */
export interface OpenPair<R extends DeliveryRow = DeliveryRow> {
  latest: R
  failures: R[]
}

/** The open pairs among `rows` (newest first), in order of their latest delivery. */
export function openPairs<R extends DeliveryRow>(rows: readonly R[]): OpenPair<R>[] {
  // Only a (connector, event) with a failure can hold an alert; a store holds millions of rows
  // and few failures, so those pairs are found first, without building a key per row.
  const failing = new Map<string, Set<string>>()
  for (const row of rows) {
    if (row.success) continue
    let events = failing.get(row.provider)
    if (!events) {
      events = new Set()
      failing.set(row.provider, events)
    }
    events.add(row.event_id)
  }
  const pairs: Array<OpenPair<R> & { counting: boolean }> = []
  const byConnector = new Map<string, Map<string, OpenPair<R> & { counting: boolean }>>()
  for (const row of rows) {
    if (failing.get(row.provider)?.has(row.event_id) !== true) continue
    let events = byConnector.get(row.provider)
    if (!events) {
      events = new Map()
      byConnector.set(row.provider, events)
    }
    let pair = events.get(row.event_id)
    if (!pair) {
      pair = { latest: row, failures: [], counting: true }
      events.set(row.event_id, pair)
      pairs.push(pair)
    }
    if (pair.counting) {
      if (row.success) pair.counting = false
      else pair.failures.push(row)
    }
  }
  return pairs.filter((pair) => !pair.latest.success).map(({ latest, failures }) => ({ latest, failures }))
}

function openAlerts(
  rows: readonly (DeliveryRow | PublicationRow)[],
  byProvider: Map<string, (DeliveryRow | PublicationRow)[]>,
  kind: DashboardOptions['kind'],
): Alert[] {
  const alerts: Alert[] = []
  const connectorStreaks = new Map<string, number>()
  for (const { latest, failures } of openPairs(rows)) {
    const eventStreak = failures.length
    let connectorStreak = connectorStreaks.get(latest.provider)
    if (connectorStreak === undefined) {
      connectorStreak = leadingFailures(byProvider.get(latest.provider) ?? [])
      connectorStreaks.set(latest.provider, connectorStreak)
    }
    const streak = Math.max(eventStreak, connectorStreak)
    const isRollback = /rollback/.test(latest.event_type)
    const exportId = 'export_id' in latest ? latest.export_id : undefined
    const subject =
      kind === 'publication'
        ? `publication of export ${exportId ?? latest.event_id}`
        : `${latest.event_type} ${latest.event_id}`
    alerts.push({
      severity: isRollback || streak >= CRITICAL_STREAK ? 'critical' : 'warning',
      provider: latest.provider,
      event_id: latest.event_id,
      event_type: latest.event_type,
      failure_streak: eventStreak,
      last_failure_at: latest.created_at,
      message: `${latest.provider}: ${subject} failed${eventStreak > 1 ? ` ${eventStreak} times in a row` : ''}${connectorStreak >= CRITICAL_STREAK ? ` (the connector has failed its last ${connectorStreak} deliveries)` : ''}: ${latest.error ?? 'no detail recorded'}`,
      ...(kind === 'publication' ? { export_id: exportId ?? null } : {}),
    })
  }
  const weight = { critical: 0, warning: 1 }
  return alerts.sort(
    (a, b) =>
      weight[a.severity] - weight[b.severity] ||
      (Date.parse(b.last_failure_at ?? '') || 0) - (Date.parse(a.last_failure_at ?? '') || 0),
  )
}

function latestPublications(rows: readonly PublicationRow[]): PublicationSummary[] {
  const seen = new Map<string, PublicationSummary>()
  for (const row of rows) {
    if (seen.has(row.session_id)) continue
    const { record } = row
    seen.set(row.session_id, {
      session_id: row.session_id,
      created_at: row.created_at,
      publication_id: row.publication_id,
      export_id: row.export_id,
      channel: row.channel,
      release_version: row.release_version,
      success: record.delivery_success,
      providers: record.providers,
      failed_providers: record.failed_providers,
    })
    if (seen.size === 10) break
  }
  return [...seen.values()]
}

/** Failures at the head of a newest-first list. */
function leadingFailures(rows: readonly DeliveryRow[]): number {
  let count = 0
  for (const row of rows) {
    if (row.success) break
    count++
  }
  return count
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number | null {
  return nearestRank(ascending(values), p)
}

/** Numbers in ascending order (a typed array sorts numbers natively, without a comparator). */
function ascending(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort()
}

function nearestRank(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1]!
}

function rate(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 10_000
}

function groupBy<T>(list: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of list) {
    const k = key(item)
    const group = groups.get(k)
    if (group) group.push(item)
    else groups.set(k, [item])
  }
  return groups
}
