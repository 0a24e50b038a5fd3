import type { StoreItem } from './chain.js'
import {
  DASHBOARD_RECENT_WINDOW,
  type DashboardFacts,
  type DashboardOptions,
  durationRanks,
  LATEST_PUBLICATIONS,
  type OpenPairStreak,
  type ProviderHealth,
  type PublicationSummary,
  providerHealthOf,
  publicationSummary,
} from './dashboard.js'
import { type DeliveryRow, newerFirst, type PublicationRow, type RecordSummary, rowsOf } from './history.js'

/**
 * `dashboardFacts` over a stream of items, without keeping a store's worth of rows: each row
 * leaves only the figures the dashboard reads (its time, connector, outcome, attempts and
 * duration, in arrays of numbers), its item's session, event and record are kept once per
 * item, and a row object is kept only for a failure (an open alert shows its latest failure)
 * and, for publications, one per item (the latest publications list). Keeping every row
 * object alive until the end cost a large store more in garbage collection than building
 * the rows did. The facts are exactly those of `dashboardFacts(rows newest first)`; the
 * tests compare the two over random stores.
 */
export async function collectDashboardFacts(
  items: AsyncIterable<StoreItem>,
  kinds: readonly string[],
  options: DashboardOptions,
): Promise<DashboardFacts> {
  const columns = new DashboardColumns(kinds, options.kind === 'publication')
  for await (const item of items) columns.add(item)
  return columns.facts(options)
}

class DashboardColumns {
  // Per item of the dashboard's kinds.
  private readonly itemTimes: number[] = []
  private readonly sessions: string[] = []
  private readonly createdAt: string[] = []
  private readonly eventIds: string[] = []
  private readonly records: RecordSummary[] = []
  private readonly firstRows: DeliveryRow[] = []
  private readonly rowStart: number[] = []
  // Per row.
  private readonly rowItem: number[] = []
  private readonly provider: number[] = []
  private readonly providerType: string[] = []
  private readonly success: boolean[] = []
  private readonly attempts: number[] = []
  /** NaN where the row has no duration (JSON holds no NaN). */
  private readonly duration: number[] = []
  private readonly failures = new Map<number, DeliveryRow>()
  private readonly providerIds = new Map<string, number>()
  private readonly providerNames: string[] = []
  private order = 0
  /** Whether each item is at least as new as the one before (a store appended in time order). */
  private chronological = true

  constructor(
    private readonly kinds: readonly string[],
    private readonly keepFirstRows: boolean,
  ) {}

  add(item: StoreItem): void {
    const rows = rowsOf(item, this.order++, this.kinds)
    if (rows.length === 0) return
    const first = rows[0]!
    // rowsOf gives every row of an item the item's own session, time, event and record.
    const time = Date.parse(first.created_at)
    const last = this.itemTimes.length - 1
    if (last >= 0 && (time || 0) < (this.itemTimes[last]! || 0)) this.chronological = false
    this.itemTimes.push(time)
    this.sessions.push(first.session_id)
    this.createdAt.push(first.created_at)
    this.eventIds.push(first.event_id)
    this.records.push(first.record)
    if (this.keepFirstRows) this.firstRows.push(first)
    this.rowStart.push(this.rowItem.length)
    const itemIndex = this.sessions.length - 1
    for (const row of rows) {
      const index = this.rowItem.length
      this.rowItem.push(itemIndex)
      this.provider.push(this.providerId(row.provider))
      this.providerType.push(row.provider_type)
      this.success.push(row.success)
      this.attempts.push(row.attempt_count)
      this.duration.push(row.duration_ms ?? Number.NaN)
      if (!row.success) this.failures.set(index, row)
    }
  }

  facts(options: DashboardOptions): DashboardFacts {
    const since = options.since?.getTime()
    const order = this.newestFirst()
    const inWindow =
      since === undefined ? order : order.filter((row) => this.itemTimes[this.rowItem[row]!]! >= since)
    return {
      recorded: this.rowItem.length > 0,
      ...this.eventFigures(inWindow),
      deliveries: inWindow.length,
      succeeded: inWindow.reduce((count, row) => count + (this.success[row] ? 1 : 0), 0),
      providers: this.providerFigures(inWindow),
      openPairs: this.openPairs(inWindow),
      latest: options.kind === 'publication' ? this.latestPublications(inWindow) : undefined,
    }
  }

  private providerId(name: string): number {
    let id = this.providerIds.get(name)
    if (id === undefined) {
      id = this.providerNames.length
      this.providerIds.set(name, id)
      this.providerNames.push(name)
    }
    return id
  }

  /** Row indexes in `newestFirst` order: newest first, later items first, an item's rows as read. */
  private newestFirst(): number[] {
    const items = this.sessions.length
    const rows = this.rowItem.length
    const itemsNewestFirst: number[] = []
    if (this.chronological) for (let i = items - 1; i >= 0; i--) itemsNewestFirst.push(i)
    else {
      const index = new Uint32Array(items)
      for (let i = 0; i < items; i++) index[i] = i
      const times = this.itemTimes
      index.sort((a, b) => newerFirst(times[a]! || 0, a, 0, times[b]! || 0, b, 0))
      itemsNewestFirst.push(...index)
    }
    const order: number[] = new Array(rows)
    let filled = 0
    for (const item of itemsNewestFirst) {
      const end = item + 1 < items ? this.rowStart[item + 1]! : rows
      for (let row = this.rowStart[item]!; row < end; row++) order[filled++] = row
    }
    return order
  }

  /** Records in the window: counted once per session, each by the record of its oldest row in the window. */
  private eventFigures(inWindow: readonly number[]): Pick<DashboardFacts, 'totalEvents' | 'eventTypes'> {
    const records = new Map<string, RecordSummary>()
    let previous = -1
    for (const row of inWindow) {
      const item = this.rowItem[row]!
      if (item === previous) continue
      previous = item
      records.set(this.sessions[item]!, this.records[item]!)
    }
    const eventTypes = new Map<string, number>()
    for (const record of records.values()) {
      eventTypes.set(record.event_type, (eventTypes.get(record.event_type) ?? 0) + 1)
    }
    return { totalEvents: records.size, eventTypes: [...eventTypes.entries()] }
  }

  private providerFigures(inWindow: readonly number[]): ProviderHealth[] {
    interface Figures {
      provider: string
      provider_type: string
      total: number
      succeeded: number
      attempt_count: number
      durations: number[]
      last_delivery_at: string
      last_success_at: string | null
      last_failure_at: string | null
      failure_streak: number
      streakOpen: boolean
      recentFailure: boolean
    }
    const byProvider = new Map<number, Figures>()
    for (const row of inWindow) {
      const id = this.provider[row]!
      const createdAt = this.createdAt[this.rowItem[row]!]!
      let figures = byProvider.get(id)
      if (!figures) {
        figures = {
          provider: this.providerNames[id]!,
          provider_type: this.providerType[row]!,
          total: 0,
          succeeded: 0,
          attempt_count: 0,
          durations: [],
          last_delivery_at: createdAt,
          last_success_at: null,
          last_failure_at: null,
          failure_streak: 0,
          streakOpen: true,
          recentFailure: false,
        }
        byProvider.set(id, figures)
      }
      const success = this.success[row]!
      if (figures.total < DASHBOARD_RECENT_WINDOW && !success) figures.recentFailure = true
      figures.total++
      if (success) {
        figures.succeeded++
        figures.last_success_at ??= createdAt
        figures.streakOpen = false
      } else {
        figures.last_failure_at ??= createdAt
        if (figures.streakOpen) figures.failure_streak++
      }
      figures.attempt_count += this.attempts[row]!
      const duration = this.duration[row]!
      if (!Number.isNaN(duration)) figures.durations.push(duration)
    }
    return [...byProvider.values()].map(({ durations, streakOpen: _open, ...figures }) =>
      providerHealthOf({ ...figures, ...durationRanks(durations) }),
    )
  }

  /** As `openPairs` in dashboard.ts, over row indexes: a row object is needed only for a failure. */
  private openPairs(inWindow: readonly number[]): OpenPairStreak[] {
    const failing = new Map<number, Set<string>>()
    for (const row of inWindow) {
      if (this.success[row]) continue
      const id = this.provider[row]!
      let events = failing.get(id)
      if (!events) {
        events = new Set()
        failing.set(id, events)
      }
      events.add(this.eventIds[this.rowItem[row]!]!)
    }
    const pairs: { latest: number; streak: number; counting: boolean }[] = []
    const byConnector = new Map<number, Map<string, { latest: number; streak: number; counting: boolean }>>()
    for (const row of inWindow) {
      const id = this.provider[row]!
      const eventId = this.eventIds[this.rowItem[row]!]!
      if (failing.get(id)?.has(eventId) !== true) continue
      let events = byConnector.get(id)
      if (!events) {
        events = new Map()
        byConnector.set(id, events)
      }
      let pair = events.get(eventId)
      if (!pair) {
        pair = { latest: row, streak: 0, counting: true }
        events.set(eventId, pair)
        pairs.push(pair)
      }
      if (pair.counting) {
        if (this.success[row]) pair.counting = false
        else pair.streak++
      }
    }
    return pairs
      .filter((pair) => !this.success[pair.latest])
      .map((pair) => ({ latest: this.failures.get(pair.latest)!, streak: pair.streak }))
  }

  private latestPublications(inWindow: readonly number[]): DashboardFacts['latest'] {
    const seen = new Map<string, PublicationSummary>()
    for (const row of inWindow) {
      const item = this.rowItem[row]!
      const session = this.sessions[item]!
      if (seen.has(session)) continue
      seen.set(session, publicationSummary(this.firstRows[item] as PublicationRow))
      if (seen.size === LATEST_PUBLICATIONS) break
    }
    return [...seen.values()]
  }
}
