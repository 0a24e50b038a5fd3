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

/**
 * What a dashboard is made of, before it is laid out: `dashboardFacts` defines it over rows,
 * the JSON store computes the same from its items as they stream past
 * (`collectDashboardFacts`), a database store with queries (same rules, same order), and
 * `dashboardFromFacts` turns either into the same document.
 */
export interface DashboardFacts {
  /** Whether the store holds any row of the dashboard's kinds at all, in or out of the window. */
  recorded: boolean
  /** Records in the window, and their count per event type in order of each type's newest record. */
  totalEvents: number
  eventTypes: [string, number][]
  deliveries: number
  succeeded: number
  providers: ProviderHealth[]
  /** Each (connector, event) in the window whose latest delivery failed, newest first, with its streak. */
  openPairs: OpenPairStreak[]
  latest?: PublicationSummary[]
}

export interface OpenPairStreak {
  latest: DeliveryRow | PublicationRow
  /** Failures at the head of this (connector, event)'s deliveries. */
  streak: number
}

/** `rows` are all rows of the dashboard's kind, newest first (deliveryRows / publicationRows). */
export function buildDashboard(
  rows: readonly (DeliveryRow | PublicationRow)[],
  options: DashboardOptions,
): Dashboard {
  return dashboardFromFacts(dashboardFacts(rows, options), options)
}

export function dashboardFacts(
  rows: readonly (DeliveryRow | PublicationRow)[],
  options: DashboardOptions,
): DashboardFacts {
  const since = options.since?.getTime()
  const inWindow = since === undefined ? rows : rows.filter((row) => Date.parse(row.created_at) >= since)
  const records = new Map<string, RecordSummary>()
  const providers = new Map<string, ProviderTally>()
  let succeeded = 0
  for (const row of inWindow) {
    records.set(row.session_id, row.record)
    tallyOf(providers, row.provider).add(
      row.created_at,
      row.provider_type,
      row.success,
      row.attempt_count,
      row.duration_ms,
    )
    if (row.success) succeeded++
  }
  return {
    recorded: rows.length > 0,
    ...eventFigures(records),
    deliveries: inWindow.length,
    succeeded,
    providers: [...providers.values()].map((tally) => tally.health()),
    openPairs: openPairs(inWindow).map(({ latest, failures }) => ({ latest, streak: failures.length })),
    latest: options.kind === 'publication' ? latestPublications(inWindow as PublicationRow[]) : undefined,
  }
}

/** The records of the window (one per session) and their count per event type. */
export function eventFigures(
  records: ReadonlyMap<string, RecordSummary>,
): Pick<DashboardFacts, 'totalEvents' | 'eventTypes'> {
  const eventTypes = new Map<string, number>()
  for (const record of records.values()) {
    eventTypes.set(record.event_type, (eventTypes.get(record.event_type) ?? 0) + 1)
  }
  return { totalEvents: records.size, eventTypes: [...eventTypes.entries()] }
}

/** The tally of `provider` in `tallies`, made on its first delivery. */
export function tallyOf(tallies: Map<string, ProviderTally>, provider: string): ProviderTally {
  let tally = tallies.get(provider)
  if (!tally) {
    tally = new ProviderTally(provider)
    tallies.set(provider, tally)
  }
  return tally
}

export function dashboardFromFacts(facts: DashboardFacts, options: DashboardOptions): Dashboard {
  const providers = [...facts.providers].sort((a, b) => a.provider.localeCompare(b.provider))
  const streaks = new Map(providers.map((health) => [health.provider, health.failure_streak]))
  const alerts = openAlerts(facts.openPairs, streaks, options.kind)
  if (options.kind === 'connector' && !facts.recorded) {
    alerts.push({
      severity: 'warning',
      provider: null,
      event_id: null,
      event_type: null,
      failure_streak: 0,
      last_failure_at: null,
      message:
        'No connector delivery has been recorded in this store: check that delivery commands index into it (--metadata-json or --metadata-url).',
    })
  }
  const event_types: Record<string, number> = {}
  for (const [type, count] of facts.eventTypes) event_types[type] = count
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
    total_events: facts.totalEvents,
    total_deliveries: facts.deliveries,
    successful_deliveries: facts.succeeded,
    failed_deliveries: facts.deliveries - facts.succeeded,
    success_rate: rate(facts.succeeded, facts.deliveries),
    providers,
    event_types,
    alerts,
  }
  if (options.kind === 'publication') dashboard.latest = facts.latest ?? []
  return dashboard
}

/** Health of one connector from its own figures; the database store computes the same figures. */
export function providerHealthOf(
  figures: Omit<ProviderHealth, 'failed' | 'success_rate' | 'state'> & {
    /** Whether one of its RECENT_WINDOW newest deliveries failed. */
    recentFailure: boolean
  },
): ProviderHealth {
  const { recentFailure, ...rest } = figures
  return {
    provider: rest.provider,
    provider_type: rest.provider_type,
    total: rest.total,
    succeeded: rest.succeeded,
    failed: rest.total - rest.succeeded,
    success_rate: rate(rest.succeeded, rest.total),
    attempt_count: rest.attempt_count,
    p50_duration_ms: rest.p50_duration_ms,
    p95_duration_ms: rest.p95_duration_ms,
    last_delivery_at: rest.last_delivery_at,
    last_success_at: rest.last_success_at,
    last_failure_at: rest.last_failure_at,
    failure_streak: rest.failure_streak,
    state: rest.failure_streak > 0 ? 'failing' : recentFailure ? 'degraded' : 'healthy',
  }
}

export const DASHBOARD_RECENT_WINDOW = RECENT_WINDOW

/**
 * One connector's health, tallied from its deliveries as they are given, newest first: the
 * first delivery is the latest, the failures before the first success are the streak.
 */
export class ProviderTally {
  private total = 0
  private succeeded = 0
  private attempts = 0
  private readonly durations: number[] = []
  private providerType = ''
  private lastDelivery: string | null = null
  private lastSuccess: string | null = null
  private lastFailure: string | null = null
  private streak = 0
  private streakOpen = true
  private recentFailure = false

  constructor(private readonly provider: string) {}

  add(
    createdAt: string,
    providerType: string,
    success: boolean,
    attempts: number,
    durationMs: number | null,
  ): void {
    if (this.total === 0) {
      this.providerType = providerType
      this.lastDelivery = createdAt
    }
    if (this.total < RECENT_WINDOW && !success) this.recentFailure = true
    this.total++
    if (success) {
      this.succeeded++
      this.lastSuccess ??= createdAt
      this.streakOpen = false
    } else {
      this.lastFailure ??= createdAt
      if (this.streakOpen) this.streak++
    }
    this.attempts += attempts
    if (durationMs !== null) this.durations.push(durationMs)
  }

  health(): ProviderHealth {
    const sorted = ascending(this.durations)
    return providerHealthOf({
      provider: this.provider,
      provider_type: this.providerType,
      total: this.total,
      succeeded: this.succeeded,
      attempt_count: this.attempts,
      p50_duration_ms: nearestRank(sorted, 50),
      p95_duration_ms: nearestRank(sorted, 95),
      last_delivery_at: this.lastDelivery,
      last_success_at: this.lastSuccess,
      last_failure_at: this.lastFailure,
      failure_streak: this.streak,
      recentFailure: this.recentFailure,
    })
  }
}

/**
 * An open alert's subject: a (connector, event) whose latest delivery failed, with that
 * delivery and every failure since the pair last succeeded (newest first, `latest` included).
 * The dashboards raise their alerts from these, and `release redeliver` re-delivers them.
 */
export interface OpenPair<R = DeliveryRow> {
  latest: R
  failures: R[]
}

/** The open pairs among `rows` (newest first), in order of their latest delivery. */
export function openPairs<R extends DeliveryRow>(rows: readonly R[]): OpenPair<R>[] {
  return openPairsBy<R>(rows, ROW_PAIR_KEYS)
}

/** How `openPairsBy` reads a delivery: its connector, its event and its outcome. */
export interface PairKeys<T> {
  provider(delivery: T): string
  eventId(delivery: T): string
  success(delivery: T): boolean
}

const ROW_PAIR_KEYS: PairKeys<DeliveryRow> = {
  provider: (row) => row.provider,
  eventId: (row) => row.event_id,
  success: (row) => row.success,
}

/** `openPairs` over deliveries of any form (rows, or indexes into columns), read through `keys`. */
export function openPairsBy<T>(deliveries: readonly T[], keys: PairKeys<T>): OpenPair<T>[] {
  // Only a (connector, event) with a failure can hold an alert; a store holds millions of rows
  // and few failures, so those pairs are found first, without building a key per row.
  const failing = new Map<string, Set<string>>()
  for (const delivery of deliveries) {
    if (keys.success(delivery)) continue
    const provider = keys.provider(delivery)
    let events = failing.get(provider)
    if (!events) {
      events = new Set()
      failing.set(provider, events)
    }
    events.add(keys.eventId(delivery))
  }
  const pairs: Array<OpenPair<T> & { counting: boolean }> = []
  const byConnector = new Map<string, Map<string, OpenPair<T> & { counting: boolean }>>()
  for (const delivery of deliveries) {
    const provider = keys.provider(delivery)
    const eventId = keys.eventId(delivery)
    if (failing.get(provider)?.has(eventId) !== true) continue
    let events = byConnector.get(provider)
    if (!events) {
      events = new Map()
      byConnector.set(provider, events)
    }
    let pair = events.get(eventId)
    if (!pair) {
      pair = { latest: delivery, failures: [], counting: true }
      events.set(eventId, pair)
      pairs.push(pair)
    }
    if (pair.counting) {
      if (keys.success(delivery)) pair.counting = false
      else pair.failures.push(delivery)
    }
  }
  return pairs
    .filter((pair) => !keys.success(pair.latest))
    .map(({ latest, failures }) => ({ latest, failures }))
}

function openAlerts(
  pairs: readonly OpenPairStreak[],
  connectorStreaks: ReadonlyMap<string, number>,
  kind: DashboardOptions['kind'],
): Alert[] {
  const alerts: Alert[] = []
  // Critical first, then the newest failure first, then as given. The keys are computed once,
  // not in the comparator: a large shared history can hold tens of thousands of open alerts.
  const critical: boolean[] = []
  const times: number[] = []
  for (const { latest, streak: eventStreak } of pairs) {
    const connectorStreak = connectorStreaks.get(latest.provider) ?? 0
    const streak = Math.max(eventStreak, connectorStreak)
    const isRollback = /rollback/.test(latest.event_type)
    const exportId = 'export_id' in latest ? latest.export_id : undefined
    const subject =
      kind === 'publication'
        ? `publication of export ${exportId ?? latest.event_id}`
        : `${latest.event_type} ${latest.event_id}`
    critical.push(isRollback || streak >= CRITICAL_STREAK)
    times.push(Date.parse(latest.created_at) || 0)
    alerts.push({
      severity: critical[critical.length - 1] ? 'critical' : 'warning',
      provider: latest.provider,
      event_id: latest.event_id,
      event_type: latest.event_type,
      failure_streak: eventStreak,
      last_failure_at: latest.created_at,
      message: `${latest.provider}: ${subject} failed${eventStreak > 1 ? ` ${eventStreak} times in a row` : ''}${connectorStreak >= CRITICAL_STREAK ? ` (the connector has failed its last ${connectorStreak} deliveries)` : ''}: ${latest.error ?? 'no detail recorded'}`,
      ...(kind === 'publication' ? { export_id: exportId ?? null } : {}),
    })
  }
  const order = alerts.map((_, index) => index)
  order.sort((a, b) => Number(critical[b]) - Number(critical[a]) || times[b]! - times[a]! || a - b)
  return order.map((index) => alerts[index]!)
}

/** The newest publications, one per session, from rows newest first. */
export function latestPublications(rows: Iterable<PublicationRow>): PublicationSummary[] {
  const seen = new Map<string, PublicationSummary>()
  for (const row of rows) {
    if (seen.has(row.session_id)) continue
    seen.set(row.session_id, publicationSummary(row))
    if (seen.size === LATEST_PUBLICATIONS) break
  }
  return [...seen.values()]
}

/** How many of the newest publications the publication dashboard lists. */
export const LATEST_PUBLICATIONS = 10

/** One publication as the dashboard's `latest` lists it, from any of its rows. */
export function publicationSummary(row: PublicationRow): PublicationSummary {
  const { record } = row
  return {
    session_id: row.session_id,
    created_at: row.created_at,
    publication_id: row.publication_id,
    export_id: row.export_id,
    channel: row.channel,
    release_version: row.release_version,
    success: record.delivery_success,
    providers: record.providers,
    failed_providers: record.failed_providers,
  }
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
