import { type Dashboard, type DashboardOptions, dashboardFromFacts } from './dashboard.js'
import { type DeliveryTimeline, deliveryTimeline } from './dashboard-timeline.js'
import { collectDeliveryRows, collectRowPage, type RowFilter } from './history.js'
import type { HistoryPage, MetadataStore } from './metadata-store.js'
import { collectDashboardFacts } from './streamed-dashboard.js'

/**
 * History and dashboards from any store: asked of the store when it answers them itself (a
 * database), else computed from its items as they stream past. The CLI and the HTTP API both
 * read through these two functions.
 */

export async function readHistory(
  store: MetadataStore,
  kinds: readonly string[],
  filter: RowFilter,
  paging: { limit: number; offset: number },
): Promise<HistoryPage> {
  if (store.queries) return store.queries.history(kinds, filter, paging)
  return collectRowPage(store.items(), kinds, filter, paging)
}

export async function readDashboard(
  store: MetadataStore,
  kinds: readonly string[],
  options: DashboardOptions,
): Promise<Dashboard> {
  const facts = store.queries
    ? await store.queries.dashboard(kinds, options)
    : await collectDashboardFacts(store.items(), kinds, options)
  return dashboardFromFacts(facts, options)
}

/**
 * Deliveries per day over the dashboard's window, for the HTML page: counted from the items as
 * they stream past, from either store (only the HTML format asks for it).
 */
export async function readTimeline(
  store: MetadataStore,
  kinds: readonly string[],
  dashboard: Dashboard,
): Promise<DeliveryTimeline> {
  return deliveryTimeline(await collectDeliveryRows(store.items(), kinds), dashboard)
}
