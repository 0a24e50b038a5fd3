import type { StoreItem } from '../../src/metadata/chain.js'
import { PUBLICATION_KIND } from '../../src/metadata/history.js'
import { appendItem } from './store.js'

/**
 * Store items for the HTML dashboard tests: a known shape of deliveries per day (so that the
 * chart's bars can be checked against it), a connector whose name and event id are long enough
 * to be cut if anything cut them, and everything a hostile artifact or server can leave in the
 * store in fields the dashboards show: markup that would run script or load something, a
 * stylesheet end, a `javascript:` link and bidirectional overrides.
 */

export const HOSTILE = {
  provider: 'hook<script>window.__owned=1</script>',
  eventId: 'rre_<img src=x onerror="window.__owned=2">',
  eventType: 'cavra.rollout_rollback_execution</style><style>body{display:none}</style>',
  error:
    'HTTP 400: <a href="javascript:window.__owned=3">fix here</a> <iframe src="https://evil.example/"></iframe> \u202egnp.exe\u202c done',
  exportId: 'eme_<svg onload="window.__owned=4">',
  channel: 'stable"><script src="https://evil.example/x.js"></script>',
} as const

/** Shown in full, never cut: longer than any column or bar label. */
export const LONG_PROVIDER = `servicenow-${'production-instance-'.repeat(8)}eu-west`
export const LONG_EVENT_ID = `rpe_${'0123456789abcdef'.repeat(12)}`

/** The connector chart's known days: 3 ok and 1 failed, then nothing, then 6 ok, then 2 failed. */
export const DAYS = [
  { day: '2026-11-20', succeeded: 3, failed: 1 },
  { day: '2026-11-21', succeeded: 0, failed: 0 },
  { day: '2026-11-22', succeeded: 6, failed: 0 },
  { day: '2026-11-23', succeeded: 0, failed: 2 },
] as const
/** The dashboards are generated against this window: from the first day to the last. */
export const SINCE = '2026-11-20T00:00:00Z'

const PROMOTION = 'cavra.rollout_promotion_execution'

interface Outcome {
  provider: string
  success: boolean
  error?: string
}

function item(
  n: number,
  createdAt: string,
  outcomes: Outcome[],
  fields: { event_id: string; event_type: string; metadata_kind?: string; [key: string]: unknown },
): StoreItem {
  return {
    session_id: `rcd-html-${n}`,
    metadata_kind: 'release-connector-delivery',
    created_at: createdAt,
    severity: 'high',
    delivery_success: outcomes.every((o) => o.success),
    providers: outcomes.map((o) => o.provider),
    failed_providers: outcomes.filter((o) => !o.success).map((o) => o.provider),
    deliveries: outcomes.map((o) => ({
      provider: o.provider,
      provider_type: o.provider.startsWith('servicenow') ? 'servicenow' : 'webhook',
      success: o.success,
      status_code: o.success ? 200 : 400,
      attempt_count: o.success ? 1 : 3,
      duration_ms: o.success ? 120 : 900,
      error: o.success ? null : (o.error ?? 'HTTP 503 after 3 attempts: busy'),
    })),
    attempt_count: outcomes.length,
    ...fields,
  }
}

/** Connector deliveries, oldest first, matching DAYS day by day. */
export function connectorItems(): StoreItem[] {
  const items: StoreItem[] = []
  let n = 0
  const at = (day: string, hour: number) => `${day}T${String(hour).padStart(2, '0')}:00:00.000Z`
  // 2026-11-20: 3 ok (webhook, the long-named connector, webhook again), 1 failed (hostile).
  items.push(
    item(++n, at('2026-11-20', 8), [{ provider: 'webhook', success: true }], {
      event_id: 'rpe_first',
      event_type: PROMOTION,
    }),
    item(
      ++n,
      at('2026-11-20', 9),
      [
        { provider: LONG_PROVIDER, success: true },
        { provider: HOSTILE.provider, success: false, error: HOSTILE.error },
      ],
      { event_id: HOSTILE.eventId, event_type: HOSTILE.eventType },
    ),
    item(++n, at('2026-11-20', 10), [{ provider: 'webhook', success: true }], {
      event_id: 'rpe_second',
      event_type: PROMOTION,
    }),
  )
  // 2026-11-22: 6 ok.
  for (let i = 0; i < 3; i++)
    items.push(
      item(
        ++n,
        at('2026-11-22', 8 + i),
        [
          { provider: 'webhook', success: true },
          { provider: LONG_PROVIDER, success: true },
        ],
        { event_id: `rpe_day3_${i}`, event_type: PROMOTION },
      ),
    )
  // 2026-11-23: 2 failed, one of them for the long event id.
  items.push(
    item(++n, at('2026-11-23', 8), [{ provider: LONG_PROVIDER, success: false }], {
      event_id: LONG_EVENT_ID,
      event_type: PROMOTION,
    }),
    item(++n, at('2026-11-23', 9), [{ provider: 'webhook', success: false }], {
      event_id: 'rpe_late',
      event_type: PROMOTION,
    }),
  )
  return items
}

/** Two publications, the second failing at a hostile export and channel. */
export function publicationItems(): StoreItem[] {
  const publication = (
    n: number,
    createdAt: string,
    outcomes: Outcome[],
    exportId: string,
    channel: string,
  ) =>
    item(100 + n, createdAt, outcomes, {
      metadata_kind: PUBLICATION_KIND,
      event_id: `emp_${n}`,
      event_type: 'cavra.endpoint_management_export_publication',
      publication_id: `emp_${n}`,
      export_id: exportId,
      channel,
      release: { version: `1.${n}.0` },
    })
  return [
    publication(1, '2026-11-21T08:00:00.000Z', [{ provider: 'jamf', success: true }], 'eme_ok', 'stable'),
    publication(
      2,
      '2026-11-22T08:00:00.000Z',
      [
        { provider: 'jamf', success: false, error: HOSTILE.error },
        { provider: 'intune', success: true },
      ],
      HOSTILE.exportId,
      HOSTILE.channel,
    ),
  ]
}

/** Writes the items through the store itself, so the CLI reads a sealed, chained store. */
export async function writeDashboardStore(path: string, items: readonly StoreItem[]): Promise<void> {
  for (const stored of items) await appendItem(path, stored)
}
