import type { ChainReport, StoreItem } from './chain.js'
import type { DashboardFacts, DashboardOptions } from './dashboard.js'
import type { DeliveryRow, RowFilter } from './history.js'

/**
 * The metadata store, whatever keeps it: commands append delivery items and read them back
 * through this interface and never know which store they use.
 */
export interface MetadataStore {
  /** Where the store is, for messages: a path (or a database URL without its password). */
  readonly description: string
  /** Checks, before anything is sent, that an append will be possible (StoreError otherwise). */
  prepareAppend(): Promise<void>
  /** Seals the item into the hash chain and appends it; returns the sealed item. */
  append(item: StoreItem): Promise<StoreItem>
  /** Every item in store order, the chain checked as they pass; damage is a StoreError. */
  items(): AsyncIterable<StoreItem>
  /** Walks the whole chain and reports, without throwing for a break. */
  verify(): Promise<StoreVerification>
  /**
   * History and dashboards answered by the store itself (a database computes them where the
   * data is); without it they are computed from `items()`. Either way the documents are the same.
   */
  readonly queries?: StoreQueries
  close(): Promise<void>
}

export interface StoreVerification {
  exists: boolean
  report: ChainReport
}

export interface HistoryPage {
  /** The rows of the page, newest first. */
  rows: DeliveryRow[]
  /** Every row matching the filter. */
  total: number
}

export interface StoreQueries {
  history(
    kinds: readonly string[],
    filter: RowFilter,
    paging: { limit: number; offset: number },
  ): Promise<HistoryPage>
  dashboard(kinds: readonly string[], options: DashboardOptions): Promise<DashboardFacts>
}
