import type { z } from 'zod'
import type { Dashboard } from '../metadata/dashboard.js'
import { renderDashboardHtml } from '../metadata/dashboard-html.js'
import { renderDashboardMarkdown } from '../metadata/dashboard-markdown.js'
import {
  CONNECTOR_HISTORY_SCHEMA,
  CONNECTOR_KINDS,
  type DeliveryRow,
  type HistoryDocument,
  historyItem,
  PUBLICATION_HISTORY_SCHEMA,
  PUBLICATION_KIND,
  type PublicationRow,
  parseSince,
  publicationItem,
} from '../metadata/history.js'
import type { HistoryPage } from '../metadata/metadata-store.js'
import { readDashboard, readHistory, readTimeline } from '../metadata/store-readers.js'
import type { connectorHistoryQuery, dashboardQuery, publicationHistoryQuery } from './api.js'
import type { ServerContext } from './context.js'

/**
 * History and dashboards: the same store reading, filters and documents as the history and
 * dashboard commands (`--json`, `--format json|markdown|html`). The store is only read.
 */

function document<R extends DeliveryRow>(
  schema: string,
  page: HistoryPage,
  paging: { limit: number; offset: number },
  itemOf: (row: R) => Record<string, unknown>,
): HistoryDocument {
  return {
    schema_version: schema,
    product: 'CAVRA',
    items: (page.rows as R[]).map(itemOf),
    total: page.total,
    limit: paging.limit,
    offset: paging.offset,
  }
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
  const page = await readHistory(context.store, CONNECTOR_KINDS, filter, query)
  return document(CONNECTOR_HISTORY_SCHEMA, page, query, historyItem)
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
  const page = await readHistory(context.store, [PUBLICATION_KIND], filter, query)
  return document<PublicationRow>(PUBLICATION_HISTORY_SCHEMA, page, query, publicationItem)
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
  const kinds = kind === 'connector' ? CONNECTOR_KINDS : [PUBLICATION_KIND]
  const built = await readDashboard(context.store, kinds, { kind, since: windowStart })
  const title = kind === 'connector' ? 'cavra connector deliveries' : 'cavra endpoint publications'
  if (query.format === 'markdown') return { type: 'markdown', text: renderDashboardMarkdown(built, title) }
  if (query.format === 'html') {
    const timeline = await readTimeline(context.store, kinds, built)
    return { type: 'html', text: renderDashboardHtml(built, title, timeline) }
  }
  return { type: 'json', dashboard: built }
}
