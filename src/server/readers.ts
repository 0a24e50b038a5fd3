import type { z } from 'zod'
import { buildDashboard, type Dashboard } from '../metadata/dashboard.js'
import { renderDashboardHtml } from '../metadata/dashboard-html.js'
import { renderDashboardMarkdown } from '../metadata/dashboard-markdown.js'
import { deliveryTimeline } from '../metadata/dashboard-timeline.js'
import {
  CONNECTOR_HISTORY_SCHEMA,
  CONNECTOR_KINDS,
  collectDeliveryRows,
  filterRows,
  type HistoryDocument,
  historyDocument,
  historyItem,
  PUBLICATION_HISTORY_SCHEMA,
  PUBLICATION_KIND,
  type PublicationRow,
  parseSince,
  publicationItem,
} from '../metadata/history.js'
import type { connectorHistoryQuery, dashboardQuery, publicationHistoryQuery } from './api.js'
import type { ServerContext } from './context.js'

/**
 * History and dashboards: the same store reading, filters and documents as the history and
 * dashboard commands (`--json`, `--format json|markdown|html`). The store is only read.
 */

async function rows(context: ServerContext, kinds: readonly string[]) {
  return collectDeliveryRows(context.store.items(), kinds)
}

const since = (value: string | undefined) => (value === undefined ? undefined : parseSince(value))
const success = (value: 'true' | 'false' | undefined) => (value === undefined ? undefined : value === 'true')

export async function connectorHistory(
  context: ServerContext,
  query: z.infer<typeof connectorHistoryQuery>,
): Promise<HistoryDocument> {
  const filter = {
    provider: query.provider,
    eventType: query.event_type,
    eventId: query.event_id,
    success: success(query.success),
    since: since(query.since),
  }
  const matching = filterRows(await rows(context, CONNECTOR_KINDS), filter)
  return historyDocument(CONNECTOR_HISTORY_SCHEMA, matching, query, historyItem)
}

export async function publicationHistory(
  context: ServerContext,
  query: z.infer<typeof publicationHistoryQuery>,
): Promise<HistoryDocument> {
  const filter = {
    provider: query.provider,
    eventId: query.event_id,
    exportId: query.export_id,
    channel: query.channel,
    success: success(query.success),
    since: since(query.since),
  }
  const matching = filterRows((await rows(context, [PUBLICATION_KIND])) as PublicationRow[], filter)
  return historyDocument(PUBLICATION_HISTORY_SCHEMA, matching, query, publicationItem)
}

export type DashboardAnswer =
  | { type: 'json'; dashboard: Dashboard }
  | { type: 'markdown'; text: string }
  | { type: 'html'; text: string }

export async function dashboard(
  context: ServerContext,
  kind: 'connector' | 'publication',
  query: z.infer<typeof dashboardQuery>,
): Promise<DashboardAnswer> {
  const windowStart = since(query.since) ?? null
  const all = await rows(context, kind === 'connector' ? CONNECTOR_KINDS : [PUBLICATION_KIND])
  const built = buildDashboard(all, { kind, since: windowStart })
  const title = kind === 'connector' ? 'cavra connector deliveries' : 'cavra endpoint publications'
  if (query.format === 'markdown') return { type: 'markdown', text: renderDashboardMarkdown(built, title) }
  if (query.format === 'html')
    return { type: 'html', text: renderDashboardHtml(built, title, deliveryTimeline(all, built)) }
  return { type: 'json', dashboard: built }
}
