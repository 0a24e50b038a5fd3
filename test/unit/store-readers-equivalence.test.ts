import { describe, expect, it } from 'vitest'
import type { StoreItem } from '../../src/metadata/chain.js'
import { buildDashboard, dashboardFacts } from '../../src/metadata/dashboard.js'
import {
  CONNECTOR_KINDS,
  type DeliveryRow,
  deliveryRows,
  newestFirst,
  PUBLICATION_KIND,
  publicationRows,
} from '../../src/metadata/history.js'
import { collectDashboardFacts } from '../../src/metadata/streamed-dashboard.js'

/**
 * The store readers sort rows by parsing each time once and group them without building a key
 * per row; over random stores (equal times, unparsable times, repeated events, streaks) they
 * give exactly what the straightforward versions below give: those are the definitions.
 */

function referenceSort(rows: DeliveryRow[]): DeliveryRow[] {
  return [...rows].sort(newestFirst)
}

function groupBy<T>(list: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of list) {
    const k = key(item)
    const group = groups.get(k)
    if (group) group.push(item)
    else groups.set(k, [item])
  }
  return groups
}

function leadingFailures(rows: readonly DeliveryRow[]): number {
  let count = 0
  for (const row of rows) {
    if (row.success) break
    count++
  }
  return count
}

function referencePercentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!
}

/** The per-provider and alert parts of a dashboard, computed the plain way. */
function referenceParts(rows: readonly DeliveryRow[], since: Date | null, kind: 'connector' | 'publication') {
  const inWindow = since ? rows.filter((row) => Date.parse(row.created_at) >= since.getTime()) : [...rows]
  const byProvider = groupBy(inWindow, (row) => row.provider)
  const providers = [...byProvider.entries()]
    .map(([provider, list]) => {
      const succeeded = list.filter((row) => row.success).length
      const durations = list.map((row) => row.duration_ms).filter((ms): ms is number => ms !== null)
      const streak = leadingFailures(list)
      return {
        provider,
        provider_type: list[0]?.provider_type ?? provider,
        total: list.length,
        succeeded,
        attempt_count: list.reduce((sum, row) => sum + row.attempt_count, 0),
        p50_duration_ms: referencePercentile(durations, 50),
        p95_duration_ms: referencePercentile(durations, 95),
        last_delivery_at: list[0]?.created_at ?? null,
        last_success_at: list.find((row) => row.success)?.created_at ?? null,
        last_failure_at: list.find((row) => !row.success)?.created_at ?? null,
        failure_streak: streak,
        state:
          streak > 0 ? 'failing' : list.slice(0, 10).some((row) => !row.success) ? 'degraded' : 'healthy',
      }
    })
    .sort((a, b) => a.provider.localeCompare(b.provider))
  const alerts: Array<Record<string, unknown>> = []
  for (const list of groupBy(inWindow, (row) => `${row.provider}\u0000${row.event_id}`).values()) {
    const latest = list[0]!
    if (latest.success) continue
    const eventStreak = leadingFailures(list)
    const connectorStreak = leadingFailures(byProvider.get(latest.provider) ?? [])
    const streak = Math.max(eventStreak, connectorStreak)
    alerts.push({
      severity: /rollback/.test(latest.event_type) || streak >= 3 ? 'critical' : 'warning',
      provider: latest.provider,
      event_id: latest.event_id,
      failure_streak: eventStreak,
      last_failure_at: latest.created_at,
      connectorStreak,
      ...(kind === 'publication'
        ? { export_id: (latest as { export_id?: string | null }).export_id ?? null }
        : {}),
    })
  }
  const weight = { critical: 0, warning: 1 } as Record<string, number>
  alerts.sort(
    (a, b) =>
      weight[a.severity as string]! - weight[b.severity as string]! ||
      (Date.parse((b.last_failure_at as string) ?? '') || 0) -
        (Date.parse((a.last_failure_at as string) ?? '') || 0),
  )
  return { providers, alerts }
}

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

type RandomItem = StoreItem & { providers: string[] }

function randomStore(seed: number, items: number, kind: string): RandomItem[] {
  const next = random(seed)
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!
  const times = [
    '2026-11-01T00:00:00Z',
    '2026-11-01T00:00:00.000Z',
    '2026-11-02T10:00:00Z',
    'not a date',
    '',
    '2026-11-03',
  ]
  const store: RandomItem[] = []
  for (let i = 0; i < items; i++) {
    const providers = ['splunk', 'webhook', 'jira', 'jamf', 'Ärger'].filter(() => next() < 0.6)
    store.push({
      metadata_kind: next() < 0.9 ? kind : 'something-else',
      session_id: next() < 0.1 ? 'shared-session' : `s-${i}`,
      created_at:
        next() < 0.5 ? pick(times) : new Date(Date.UTC(2026, 10, 1 + Math.floor(next() * 5))).toISOString(),
      event_id: `e-${Math.floor(next() * 6)}`,
      event_type: pick(['cavra.rollout_promotion_execution', 'cavra.rollout_rollback_execution']),
      export_id: `x-${Math.floor(next() * 3)}`,
      delivery_success: next() < 0.5,
      providers,
      failed_providers: providers.filter(() => next() < 0.3),
      deliveries: providers.map((provider) => ({
        provider,
        success: next() < 0.55,
        attempt_count: Math.floor(next() * 4),
        duration_ms: next() < 0.2 ? null : Math.floor(next() * 50) * 10,
        error: next() < 0.5 ? 'HTTP 503' : null,
      })),
    })
  }
  return store
}

describe('store readers', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`sort, tally and alert exactly as the plain definitions do (store ${seed})`, () => {
      for (const [kinds, kind] of [
        [CONNECTOR_KINDS, 'connector'],
        [[PUBLICATION_KIND], 'publication'],
      ] as const) {
        const store = randomStore(seed, 400, kinds[0]!)
        const rows = kind === 'connector' ? deliveryRows(store, kinds) : publicationRows(store)
        // The rows as the store holds them (item by item, delivery by delivery), sorted stably.
        const asStored = [...rows].sort(
          (a, b) =>
            a.order - b.order ||
            store[a.order]!.providers!.indexOf(a.provider) - store[b.order]!.providers!.indexOf(b.provider),
        )
        expect(rows).toEqual(referenceSort(asStored))
        expect(rows.map((row) => `${row.order}:${row.provider}`)).toEqual(
          referenceSort(asStored).map((row) => `${row.order}:${row.provider}`),
        )
        for (const since of [null, new Date('2026-11-02T00:00:00Z')]) {
          const dashboard = buildDashboard(rows, { kind, since, now: new Date('2026-12-01T00:00:00Z') })
          const reference = referenceParts(rows, since, kind)
          expect(dashboard.providers.map(({ success_rate: _r, failed: _f, ...rest }) => rest)).toEqual(
            reference.providers,
          )
          expect(
            dashboard.alerts.map((alert) => ({
              severity: alert.severity,
              provider: alert.provider,
              event_id: alert.event_id,
              failure_streak: alert.failure_streak,
              last_failure_at: alert.last_failure_at,
              ...(kind === 'publication' ? { export_id: alert.export_id } : {}),
            })),
          ).toEqual(reference.alerts.map(({ connectorStreak: _c, ...rest }) => rest))
        }
      }
    })
  }
})

describe('dashboard facts from a stream of items', () => {
  async function* stream(items: StoreItem[]): AsyncGenerator<StoreItem> {
    yield* items
  }

  /** The same store appended in time order (repeated times included), as most stores are. */
  function inTimeOrder(store: RandomItem[]): RandomItem[] {
    return store.map((item, i) => ({
      ...item,
      created_at: new Date(Date.UTC(2026, 10, 1) + Math.floor(i / 3) * 3_600_000).toISOString(),
    }))
  }

  it('look at exactly the ten newest deliveries for a connector that is up again', async () => {
    // The oldest of eleven failed: with ten successes after it the connector is healthy; one
    // success fewer and it is degraded.
    for (const successes of [10, 9]) {
      const store = Array.from({ length: successes + 1 }, (_, i) => ({
        metadata_kind: 'release-connector-delivery',
        session_id: `s-${i}`,
        created_at: new Date(Date.UTC(2026, 10, 1, i)).toISOString(),
        event_id: `e-${i}`,
        event_type: 'cavra.rollout_promotion_execution',
        deliveries: [{ provider: 'splunk', success: i > 0, attempt_count: 1, duration_ms: 5 }],
      }))
      const options = { kind: 'connector', since: null } as const
      const facts = await collectDashboardFacts(stream(store), CONNECTOR_KINDS, options)
      expect(facts).toEqual(dashboardFacts(deliveryRows(store, CONNECTOR_KINDS), options))
      expect(facts.providers[0]?.state).toBe(successes === 10 ? 'healthy' : 'degraded')
    }
  })

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`are exactly the facts of every row sorted newest first (store ${seed})`, async () => {
      for (const [kinds, kind] of [
        [CONNECTOR_KINDS, 'connector'],
        [[PUBLICATION_KIND], 'publication'],
      ] as const) {
        const random = randomStore(seed, 400, kinds[0]!)
        for (const store of [random, inTimeOrder(random), []]) {
          const rows = kind === 'connector' ? deliveryRows(store, kinds) : publicationRows(store)
          // Before 1970 too: an unparsable time is never in a window, though it sorts as time 0.
          for (const since of [null, new Date('2026-11-02T00:00:00Z'), new Date('1960-01-01T00:00:00Z')]) {
            const options = { kind, since }
            const streamed = await collectDashboardFacts(stream(store), kinds, options)
            expect(streamed).toEqual(dashboardFacts(rows, options))
            // The same rows, not only equal ones, are named as the latest failures.
            expect(streamed.openPairs.map((pair) => `${pair.latest.order}:${pair.latest.provider}`)).toEqual(
              dashboardFacts(rows, options).openPairs.map(
                (pair) => `${pair.latest.order}:${pair.latest.provider}`,
              ),
            )
          }
        }
      }
    })
  }
})
