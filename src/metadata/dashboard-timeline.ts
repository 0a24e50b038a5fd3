import type { Dashboard } from './dashboard.js'
import type { DeliveryRow } from './history.js'

/**
 * Connector deliveries over time, ok and failed, for the HTML dashboard's chart. Computed only
 * when that chart is drawn (a store can hold millions of rows), over the dashboard's own
 * window: from `since` (else the oldest delivery) to the later of `generated_at` and the newest
 * delivery, in UTC days. A long window is drawn in buckets of several days so that the chart
 * keeps a readable number of bars.
 */

const DAY_MS = 86_400_000
/** Most bars drawn; a window longer than this many days is grouped into buckets of whole days. */
export const MAX_BUCKETS = 90

export interface TimelineBucket {
  /** The bucket's first UTC day, `YYYY-MM-DD`. */
  start: string
  succeeded: number
  failed: number
}

export interface DeliveryTimeline {
  /** Days per bucket: 1 for a window of up to MAX_BUCKETS days. */
  bucket_days: number
  buckets: TimelineBucket[]
}

/** `rows` are the rows the dashboard was built from (any order); rows outside its window are left out. */
export function deliveryTimeline(
  rows: readonly DeliveryRow[],
  dashboard: Pick<Dashboard, 'since' | 'generated_at'>,
): DeliveryTimeline {
  const since = dashboard.since === null ? undefined : Date.parse(dashboard.since)
  const times = new Float64Array(rows.length)
  let oldest = Number.POSITIVE_INFINITY
  let newest = Number.NEGATIVE_INFINITY
  for (let i = 0; i < rows.length; i++) {
    const time = Date.parse(rows[i]!.created_at)
    times[i] = time
    // A row without a readable time cannot be placed on a day; the totals still count it.
    if (Number.isNaN(time) || (since !== undefined && time < since)) continue
    if (time < oldest) oldest = time
    if (time > newest) newest = time
  }
  const generated = Date.parse(dashboard.generated_at)
  const first = dayStart(since ?? oldest)
  const last = dayStart(Math.max(Number.isNaN(generated) ? newest : generated, newest))
  if (!Number.isFinite(first) || !Number.isFinite(last) || last < first)
    return { bucket_days: 1, buckets: [] }
  const days = (last - first) / DAY_MS + 1
  const bucketDays = Math.ceil(days / MAX_BUCKETS)
  const count = Math.ceil(days / bucketDays)
  const buckets: TimelineBucket[] = Array.from({ length: count }, (_, i) => ({
    start: new Date(first + i * bucketDays * DAY_MS).toISOString().slice(0, 10),
    succeeded: 0,
    failed: 0,
  }))
  for (let i = 0; i < rows.length; i++) {
    const time = times[i]!
    if (Number.isNaN(time) || time < first || (since !== undefined && time < since)) continue
    const bucket = buckets[Math.floor((time - first) / (bucketDays * DAY_MS))]
    if (!bucket) continue
    if (rows[i]!.success) bucket.succeeded++
    else bucket.failed++
  }
  return { bucket_days: bucketDays, buckets }
}

function dayStart(time: number): number {
  return Math.floor(time / DAY_MS) * DAY_MS
}
