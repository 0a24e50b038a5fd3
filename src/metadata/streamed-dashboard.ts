import type { StoreItem } from './chain.js'
import {
  type DashboardFacts,
  type DashboardOptions,
  eventFigures,
  latestPublications,
  openPairsBy,
  type PairKeys,
  type ProviderTally,
  tallyOf,
} from './dashboard.js'
import { type DeliveryRow, newerFirst, type PublicationRow, type RecordSummary, rowsOf } from './history.js'

/**
 * `dashboardFacts` over a stream of items, without keeping a store's worth of rows: each row
 * leaves only the figures the dashboard reads (its time, connector, outcome, attempts and
 * duration, in arrays of numbers), its item's session, event and record are kept once per
 * item, and a row object is kept only for a failure (an open alert shows its latest failure)
 * and, for publications, one per item (the latest publications list). Keeping every row
 * object alive until the end cost a large store more in garbage collection than building
 * the rows did. The figures are made by the same tallies as `dashboardFacts` (ProviderTally,
 * eventFigures, openPairsBy, latestPublications), fed from the columns in newest-first order;
 * the tests compare the two over random stores.
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
  private readonly provider: string[] = []
  private readonly providerType: string[] = []
  private readonly success: boolean[] = []
  private readonly attempts: number[] = []
  private readonly duration: (number | null)[] = []
  private readonly failures = new Map<number, DeliveryRow>()
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
      this.provider.push(row.provider)
      this.providerType.push(row.provider_type)
      this.success.push(row.success)
      this.attempts.push(row.attempt_count)
      this.duration.push(row.duration_ms)
      if (!row.success) this.failures.set(index, row)
    }
  }

  facts(options: DashboardOptions): DashboardFacts {
    const since = options.since?.getTime()
    const order = this.newestFirst()
    const inWindow =
      since === undefined ? order : order.filter((row) => this.itemTimes[this.rowItem[row]!]! >= since)
    // The same tallies as dashboardFacts, fed from the columns.
    const records = new Map<string, RecordSummary>()
    const providers = new Map<string, ProviderTally>()
    let succeeded = 0
    let previous = -1
    for (const row of inWindow) {
      const item = this.rowItem[row]!
      // An item's rows are together and share its session and record: set once.
      if (item !== previous) records.set(this.sessions[item]!, this.records[item]!)
      previous = item
      const provider = this.provider[row]!
      const success = this.success[row]!
      tallyOf(providers, provider).add(
        this.createdAt[item]!,
        this.providerType[row]!,
        success,
        this.attempts[row]!,
        this.duration[row]!,
      )
      if (success) succeeded++
    }
    return {
      recorded: this.rowItem.length > 0,
      ...eventFigures(records),
      deliveries: inWindow.length,
      succeeded,
      providers: [...providers.values()].map((tally) => tally.health()),
      // An open pair's latest delivery is a failure, whose row was kept.
      openPairs: openPairsBy(inWindow, this.pairKeys).map(({ latest, failures }) => ({
        latest: this.failures.get(latest)!,
        streak: failures.length,
      })),
      latest:
        options.kind === 'publication'
          ? latestPublications(inWindow.map((row) => this.firstRows[this.rowItem[row]!] as PublicationRow))
          : undefined,
    }
  }

  private readonly pairKeys: PairKeys<number> = {
    provider: (row) => this.provider[row]!,
    eventId: (row) => this.eventIds[this.rowItem[row]!]!,
    success: (row) => this.success[row]!,
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
}
