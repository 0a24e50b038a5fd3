import { UsageError } from '../common/errors.js'
import { inertText } from '../common/text.js'
import type { StoreItem } from './chain.js'

/**
 * Delivery history as pure functions over store items: one row per connector
 * delivery, judged by that connector's own outcome, newest first. Items of the earlier tool's
 * format (a whole delivery result under `delivery`, or only provider lists) are read too.
 */

export const CONNECTOR_KINDS = ['release-connector-delivery', 'integration-connector-delivery'] as const
export const PUBLICATION_KIND = 'endpoint-management-publication-delivery'
/** Every kind of item that has history rows. */
export const ROW_KINDS: readonly string[] = [...CONNECTOR_KINDS, PUBLICATION_KIND]

export interface DeliveryRow {
  session_id: string
  created_at: string
  event_id: string
  event_type: string
  severity: string | null
  provider: string
  provider_type: string
  category: string | null
  success: boolean
  status_code: number | null
  attempt_count: number
  duration_ms: number | null
  error: string | null
  remote_reference: string | null
  delivery_evidence: string | null
  /** Position in the store: breaks ties between equal timestamps (later wins). */
  order: number
  /** What the dashboards need of the whole record, shared by the record's rows. */
  record: RecordSummary
}

export interface RecordSummary {
  event_type: string
  delivery_success: boolean
  providers: string[]
  failed_providers: string[]
}

export interface PublicationRow extends DeliveryRow {
  publication_id: string | null
  export_id: string | null
  channel: string | null
  release_version: string | null
}

/** Rows of every item of the given kinds, newest first. */
export function deliveryRows(items: Iterable<StoreItem>, kinds: readonly string[]): DeliveryRow[] {
  const rows = new RowCollector(kinds)
  for (const item of items) rows.add(item)
  return rows.newestFirst()
}

/** The same over a stream of items: the store is never held in memory, only the rows. */
export async function collectDeliveryRows(
  items: AsyncIterable<StoreItem>,
  kinds: readonly string[],
): Promise<DeliveryRow[]> {
  const rows = new RowCollector(kinds)
  for await (const item of items) rows.add(item)
  return rows.newestFirst()
}

/**
 * One page of the rows that match `filter`, newest first, and how many match, from a stream of
 * items: only the page's worth of rows (`offset + limit`) is kept as the items pass, so a
 * history of a large store holds a page in memory instead of every row of the store. The page
 * is exactly `filterRows(rows, filter).slice(offset, offset + limit)` of the rows in
 * `newestFirst` order.
 */
export async function collectRowPage(
  items: AsyncIterable<StoreItem>,
  kinds: readonly string[],
  filter: RowFilter,
  paging: { limit: number; offset: number },
): Promise<{ rows: DeliveryRow[]; total: number }> {
  const newest = new NewestRows(Math.max(0, paging.offset) + Math.max(0, paging.limit))
  let order = 0
  let total = 0
  for await (const item of items) {
    const rows = rowsOf(item, order++, kinds)
    // An item's rows share its time.
    const time = rows.length > 0 ? Date.parse(rows[0]!.created_at) || 0 : 0
    for (const row of rows) {
      if (!rowMatches(row, filter)) continue
      total++
      newest.offer(row, time)
    }
  }
  return { rows: newest.inOrder().slice(paging.offset, paging.offset + paging.limit), total }
}

/**
 * The `size` newest rows offered, in a heap whose root is the oldest kept: a row newer than it
 * takes its place. Newer means what `newestFirst` sorts by: a later time, then a later place in
 * the store, then (rows of one item) offered earlier.
 */
class NewestRows {
  private readonly heap: HeapEntry[] = []
  private offered = 0

  constructor(private readonly size: number) {}

  offer(row: DeliveryRow, time: number): void {
    const entry = { row, time, seq: this.offered++ }
    const { heap } = this
    if (heap.length < this.size) {
      heap.push(entry)
      this.up(heap.length - 1)
    } else if (heap.length > 0 && newer(entry, heap[0]!)) {
      heap[0] = entry
      this.down(0)
    }
  }

  inOrder(): DeliveryRow[] {
    return [...this.heap].sort(byNewest).map((entry) => entry.row)
  }

  private up(at: number): void {
    const { heap } = this
    while (at > 0) {
      const parent = (at - 1) >> 1
      if (!newer(heap[parent]!, heap[at]!)) break
      ;[heap[parent], heap[at]] = [heap[at]!, heap[parent]!]
      at = parent
    }
  }

  private down(at: number): void {
    const { heap } = this
    for (;;) {
      const left = 2 * at + 1
      const right = left + 1
      let oldest = at
      if (left < heap.length && newer(heap[oldest]!, heap[left]!)) oldest = left
      if (right < heap.length && newer(heap[oldest]!, heap[right]!)) oldest = right
      if (oldest === at) return
      ;[heap[oldest], heap[at]] = [heap[at]!, heap[oldest]!]
      at = oldest
    }
  }
}

interface HeapEntry {
  row: DeliveryRow
  time: number
  seq: number
}

function byNewest(a: HeapEntry, b: HeapEntry): number {
  return newerFirst(a.time, a.row.order, a.seq, b.time, b.row.order, b.seq)
}

function newer(a: HeapEntry, b: HeapEntry): boolean {
  return byNewest(a, b) < 0
}

/** Rows of several groups of kinds in one pass over the store, each group newest first. */
export async function collectRowGroups(
  items: AsyncIterable<StoreItem>,
  groups: readonly (readonly string[])[],
): Promise<DeliveryRow[][]> {
  const collectors = groups.map((kinds) => new RowCollector(kinds))
  for await (const item of items) for (const rows of collectors) rows.add(item)
  return collectors.map((rows) => rows.newestFirst())
}

/**
 * Rows as items pass, with each row's time parsed once: sorting a store's worth of rows by
 * `newestFirst` would parse two dates per comparison.
 */
class RowCollector {
  private readonly rows: DeliveryRow[] = []
  private readonly times: number[] = []
  private order = 0

  constructor(private readonly kinds: readonly string[]) {}

  add(item: StoreItem): void {
    for (const row of rowsOf(item, this.order++, this.kinds)) {
      this.rows.push(row)
      this.times.push(Date.parse(row.created_at) || 0)
    }
  }

  /** The order `rows.sort(newestFirst)` gives: newest first, later in the store first, then as read. */
  newestFirst(): DeliveryRow[] {
    const { rows, times } = this
    const index = new Uint32Array(rows.length)
    for (let i = 0; i < index.length; i++) index[i] = i
    index.sort((a, b) => newerFirst(times[a]!, rows[a]!.order, a, times[b]!, rows[b]!.order, b))
    return Array.from(index, (i) => rows[i]!)
  }
}

export function publicationRows(items: Iterable<StoreItem>): PublicationRow[] {
  return deliveryRows(items, [PUBLICATION_KIND]) as PublicationRow[]
}

export async function collectPublicationRows(items: AsyncIterable<StoreItem>): Promise<PublicationRow[]> {
  return (await collectDeliveryRows(items, [PUBLICATION_KIND])) as PublicationRow[]
}

/** The rows of one item (none when it is not of the given kinds); `order` is its place in the store. */
export function rowsOf(item: StoreItem, order: number, kinds: readonly string[]): DeliveryRow[] {
  if (!kinds.includes(String(item.metadata_kind))) return []
  const record: RecordSummary = {
    event_type: text(item.event_type) ?? 'unknown',
    delivery_success: item.delivery_success === true,
    providers: Array.isArray(item.providers) ? (item.providers as unknown[]).map((p) => text(p) ?? '') : [],
    failed_providers: Array.isArray(item.failed_providers)
      ? (item.failed_providers as unknown[]).map((p) => text(p) ?? '')
      : [],
  }
  const publication = item.metadata_kind === PUBLICATION_KIND ? publicationFields(item) : undefined
  // The item's own fields, made inert once for all its rows.
  const fields: ItemFields = {
    session_id: text(item.session_id) ?? '',
    created_at: text(item.created_at) ?? '',
    event_id: text(item.event_id) ?? '',
    event_type: text(item.event_type) ?? '',
    severity: text(item.severity),
    delivery_evidence: text(item.delivery_evidence),
  }
  return deliveriesOf(item).map((delivery) => ({ ...rowOf(fields, delivery, order, record), ...publication }))
}

interface ItemFields {
  session_id: string
  created_at: string
  event_id: string
  event_type: string
  severity: string | null
  delivery_evidence: string | null
}

function publicationFields(item: StoreItem): Omit<PublicationRow, keyof DeliveryRow> {
  const release = item.release as { version?: unknown } | undefined
  return {
    publication_id: text(item.publication_id) ?? text(item.event_id),
    export_id: text(item.export_id),
    channel: text(item.channel),
    release_version: text(release?.version),
  }
}

export function newestFirst(
  a: { created_at: string; order: number },
  b: { created_at: string; order: number },
): number {
  return newerFirst(Date.parse(a.created_at) || 0, a.order, 0, Date.parse(b.created_at) || 0, b.order, 0)
}

/**
 * `newestFirst` over times already parsed (an unparsable time is 0), for readers that parse
 * each time once: the later time first, then the later place in the store, then the one read
 * first (`seq`). Negative when `a` comes first.
 */
export function newerFirst(
  timeA: number,
  orderA: number,
  seqA: number,
  timeB: number,
  orderB: number,
  seqB: number,
): number {
  return timeB - timeA || orderB - orderA || seqA - seqB
}

type RawDelivery = Record<string, unknown>

/** The per-connector outcomes of an item, whatever format wrote it. */
function deliveriesOf(item: StoreItem): RawDelivery[] {
  if (Array.isArray(item.deliveries)) return item.deliveries as RawDelivery[]
  const embedded = item.delivery as { deliveries?: unknown } | undefined
  if (embedded && Array.isArray(embedded.deliveries)) return embedded.deliveries as RawDelivery[]
  // Oldest format: only provider lists survive; the batch attempt count is not per provider.
  const providers = Array.isArray(item.providers) ? (item.providers as unknown[]).map(String) : []
  const failed = new Set(
    Array.isArray(item.failed_providers) ? (item.failed_providers as unknown[]).map(String) : [],
  )
  return providers.map((provider) => ({ provider, success: !failed.has(provider) }))
}

function rowOf(item: ItemFields, delivery: RawDelivery, order: number, record: RecordSummary): DeliveryRow {
  const provider = text(delivery.provider) ?? 'unknown'
  return {
    session_id: item.session_id,
    created_at: item.created_at,
    event_id: item.event_id,
    event_type: item.event_type,
    severity: item.severity,
    provider,
    provider_type: text(delivery.provider_type) ?? provider,
    category: text(delivery.category),
    success: delivery.success === true,
    status_code: typeof delivery.status_code === 'number' ? delivery.status_code : null,
    attempt_count: typeof delivery.attempt_count === 'number' ? delivery.attempt_count : 0,
    duration_ms: typeof delivery.duration_ms === 'number' ? delivery.duration_ms : null,
    error: text(delivery.error),
    remote_reference: text(delivery.remote_reference),
    delivery_evidence: item.delivery_evidence,
    order,
    record,
  }
}

/** A field as text; the store may have been edited, so what is shown is made inert. */
function text(value: unknown): string | null {
  return typeof value === 'string' ? inertText(value) : typeof value === 'number' ? String(value) : null
}

export const CONNECTOR_HISTORY_SCHEMA = 'cavra.release.connector_delivery_history.v1'
export const PUBLICATION_HISTORY_SCHEMA = 'cavra.endpoint_management.publication_history.v1'

/** One history item as the history documents show it (the CLI's --json and the HTTP API). */
export function historyItem(row: DeliveryRow): Record<string, unknown> {
  return {
    session_id: row.session_id,
    created_at: row.created_at,
    event_id: row.event_id,
    event_type: row.event_type,
    severity: row.severity,
    provider: row.provider,
    provider_type: row.provider_type,
    category: row.category,
    success: row.success,
    status_code: row.status_code,
    attempt_count: row.attempt_count,
    duration_ms: row.duration_ms,
    error: row.error,
    remote_reference: row.remote_reference,
    delivery_evidence: row.delivery_evidence,
  }
}

export function publicationItem(row: PublicationRow): Record<string, unknown> {
  return {
    ...historyItem(row),
    publication_id: row.publication_id,
    export_id: row.export_id,
    channel: row.channel,
    release_version: row.release_version,
  }
}

export interface HistoryDocument {
  schema_version: string
  product: string
  items: Record<string, unknown>[]
  total: number
  limit: number
  offset: number
}

export interface RowFilter {
  /** Connector name or provider kind. */
  provider?: string
  eventType?: string
  eventId?: string
  exportId?: string
  channel?: string
  success?: boolean
  since?: Date
}

export function filterRows<R extends DeliveryRow & Partial<PublicationRow>>(
  rows: readonly R[],
  filter: RowFilter,
): R[] {
  return rows.filter((row) => rowMatches(row, filter))
}

function rowMatches(row: DeliveryRow & Partial<PublicationRow>, filter: RowFilter): boolean {
  return (
    (filter.provider === undefined ||
      row.provider === filter.provider ||
      row.provider_type === filter.provider) &&
    (filter.eventType === undefined || row.event_type === filter.eventType) &&
    (filter.eventId === undefined || row.event_id === filter.eventId) &&
    (filter.exportId === undefined || row.export_id === filter.exportId) &&
    (filter.channel === undefined || row.channel === filter.channel) &&
    (filter.success === undefined || row.success === filter.success) &&
    (filter.since === undefined || Date.parse(row.created_at) >= filter.since.getTime())
  )
}

/**
 * `--since`: an ISO time (`2026-11-28`, `2026-11-28T12:00:00Z`; no zone means UTC) or a duration back from now:
 * `90m`, `24h`, `7d`, `2w`.
 */
export function parseSince(value: string, now: Date = new Date()): Date {
  const duration = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/i.exec(value.trim())
  if (duration) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[duration[2]!.toLowerCase() as 's']
    const since = new Date(now.getTime() - Number(duration[1]) * unit * 1000)
    if (!Number.isNaN(since.getTime())) return since
  } else {
    const date = /^(\d{4})-(\d{2})-(\d{2})/.exec(value)
    // A time without a zone is UTC, as the store's timestamps are: the same flag means the same
    // window on a laptop and on a CI runner.
    const zoned = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(value) || !value.includes('T') ? value : `${value}Z`
    const parsed = date ? new Date(zoned) : undefined
    // Date.parse rolls 2026-02-30 over to March; a date that does not exist is refused instead.
    if (parsed && !Number.isNaN(parsed.getTime()) && isRealDate(date!)) return parsed
  }
  throw new UsageError(`--since "${value}" is neither an ISO time nor a duration.`, [
    'Use a time such as 2026-11-28T00:00:00Z or a duration such as 24h, 7d or 2w.',
  ])
}

/** Whether the year-month-day written exists in the calendar. */
function isRealDate(date: RegExpExecArray): boolean {
  const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])]
  const check = new Date(Date.UTC(year, month - 1, day))
  return check.getUTCFullYear() === year && check.getUTCMonth() === month - 1 && check.getUTCDate() === day
}
