import { describe, expect, it } from 'vitest'
import { UsageError } from '../../src/common/errors.js'
import type { StoreItem } from '../../src/metadata/chain.js'
import {
  CONNECTOR_KINDS,
  collectRowPage,
  deliveryRows,
  filterRows,
  newestFirst,
  PUBLICATION_KIND,
  parseSince,
  publicationRows,
  type RowFilter,
  rowsOf,
} from '../../src/metadata/history.js'

/** Delivery history over crafted store items. */

interface Delivery {
  provider: string
  provider_type?: string
  category?: string
  success: boolean
  status_code?: number | null
  attempt_count?: number
  duration_ms?: number
  error?: string | null
  remote_reference?: string | null
}

function delivery(provider: string, success: boolean, extra: Partial<Delivery> = {}): Delivery {
  return {
    provider,
    provider_type: provider,
    category: 'webhook',
    success,
    status_code: success ? 200 : 503,
    attempt_count: success ? 1 : 3,
    duration_ms: 100,
    error: success ? null : `HTTP 503 from ${provider} after 3 attempts: busy`,
    remote_reference: null,
    ...extra,
  }
}

function record(
  sessionId: string,
  createdAt: string,
  deliveries: Delivery[],
  extra: Record<string, unknown> = {},
): StoreItem {
  return {
    schema_version: 'cavra.evidence.metadata.v1',
    product: 'CAVRA',
    session_id: sessionId,
    metadata_kind: 'release-connector-delivery',
    connector_delivery_source: 'release_governance_promotion',
    created_at: createdAt,
    event_id: `rpe_${sessionId}`,
    event_type: 'cavra.rollout_promotion_execution',
    severity: 'high',
    delivery_success: deliveries.every((d) => d.success),
    providers: deliveries.map((d) => d.provider),
    failed_providers: deliveries.filter((d) => !d.success).map((d) => d.provider),
    deliveries,
    attempt_count: deliveries.reduce((sum, d) => sum + (d.attempt_count ?? 0), 0),
    delivery_evidence: `.cavra/release/promotion-audit-deliveries/${sessionId}.json`,
    ...extra,
  }
}

const rows = (items: StoreItem[]) => deliveryRows(items, CONNECTOR_KINDS)

describe('deliveryRows', () => {
  it('gives one row per connector delivery with that connector’s own figures', () => {
    const item = record('s1', '2026-11-28T12:00:00.000Z', [
      delivery('jira', false, {
        provider_type: 'jira',
        category: 'itsm',
        status_code: 503,
        attempt_count: 3,
      }),
      delivery('webhook', true, {
        status_code: 204,
        attempt_count: 1,
        duration_ms: 42,
        remote_reference: 'r-1',
      }),
      delivery('splunk-eu', true, { provider_type: 'splunk', category: 'siem', attempt_count: 2 }),
    ])
    const result = rows([item])
    expect(result).toHaveLength(3)
    expect(result.map((row) => row.provider)).toEqual(['jira', 'webhook', 'splunk-eu'])
    expect(result[1]).toMatchObject({
      session_id: 's1',
      created_at: '2026-11-28T12:00:00.000Z',
      event_id: 'rpe_s1',
      event_type: 'cavra.rollout_promotion_execution',
      severity: 'high',
      provider: 'webhook',
      provider_type: 'webhook',
      category: 'webhook',
      success: true,
      status_code: 204,
      attempt_count: 1,
      duration_ms: 42,
      error: null,
      remote_reference: 'r-1',
      delivery_evidence: '.cavra/release/promotion-audit-deliveries/s1.json',
    })
    expect(result[0]).toMatchObject({ success: false, attempt_count: 3, status_code: 503, category: 'itsm' })
    expect(result[2]).toMatchObject({ provider_type: 'splunk', attempt_count: 2 })
  })

  it('puts the newest first by time, not by store order or string order', () => {
    const items = [
      record('b', '2026-11-28T12:00:00Z', [delivery('webhook', true)]),
      record('c', '2026-11-29T08:00:00Z', [delivery('webhook', true)]),
      record('a', '2026-11-27T23:59:59Z', [delivery('webhook', true)]),
      // 11:00 UTC: earlier than b although the string sorts after it.
      record('d', '2026-11-28T12:30:00+01:30', [delivery('webhook', true)]),
    ]
    expect(rows(items).map((row) => row.session_id)).toEqual(['c', 'b', 'd', 'a'])
  })

  it('breaks ties in time by store order, later first', () => {
    const items = [
      record('first', '2026-11-28T12:00:00Z', [delivery('webhook', true)]),
      record('second', '2026-11-28T12:00:00Z', [delivery('webhook', false)]),
      record('third', '2026-11-28T12:00:00.000Z', [delivery('webhook', true)]),
    ]
    expect(rows(items).map((row) => row.session_id)).toEqual(['third', 'second', 'first'])
  })

  it('reads the earlier tool’s items that embed the whole result under `delivery`', () => {
    const legacy: StoreItem = {
      session_id: 'rcd-rpe-old-aaaaaaaaaaaa',
      metadata_kind: 'release-connector-delivery',
      created_at: '2025-06-01T10:00:00+00:00',
      event_id: 'rpe_old',
      event_type: 'cavra.rollout_promotion_execution',
      delivery_success: false,
      providers: ['jira', 'webhook'],
      failed_providers: ['jira'],
      attempt_count: 4,
      delivery: {
        schema_version: 'cavra.connector.delivery.v1',
        success: false,
        deliveries: [
          {
            provider: 'jira',
            success: false,
            status_code: 500,
            attempt_count: 3,
            error: 'HTTP 500',
            request: { method: 'POST', url: 'https://jira.example', headers: {} },
          },
          { provider: 'webhook', success: true, status_code: 200, attempt_count: 1, error: null },
        ],
      },
    }
    const result = rows([legacy])
    expect(result.map((row) => [row.provider, row.success, row.attempt_count, row.status_code])).toEqual([
      ['jira', false, 3, 500],
      ['webhook', true, 1, 200],
    ])
    expect(result[0]).toMatchObject({ provider_type: 'jira', error: 'HTTP 500', severity: null })
  })

  it('reads items that only carry provider lists', () => {
    const legacy: StoreItem = {
      session_id: 'rcd-rpe-older-bbbbbbbbbbbb',
      metadata_kind: 'release-connector-delivery',
      created_at: '2025-05-01T10:00:00+00:00',
      event_id: 'rpe_older',
      event_type: 'cavra.rollout_rollback_execution',
      delivery_success: false,
      providers: ['jira', 'webhook', 'splunk'],
      failed_providers: ['jira'],
      attempt_count: 5,
    }
    const result = rows([legacy])
    expect(result.map((row) => [row.provider, row.success])).toEqual([
      ['jira', false],
      ['webhook', true],
      ['splunk', true],
    ])
    // The batch's attempts are not any one connector's.
    for (const row of result) {
      expect(row.attempt_count).toBe(0)
      expect(row.provider_type).toBe(row.provider)
    }
  })

  it('ignores other kinds of item', () => {
    const items: StoreItem[] = [
      {
        session_id: 'exec-1',
        metadata_kind: 'rollout-promotion-execution',
        created_at: '2026-11-28T00:00:00Z',
      },
      { session_id: 'bundle-1', signer: 'ci', decision_count: 3, providers: ['webhook'] },
      record('pub', '2026-11-28T00:00:00Z', [delivery('jamf', true)], { metadata_kind: PUBLICATION_KIND }),
      record('ok', '2026-11-28T00:00:00Z', [delivery('webhook', true)]),
    ]
    expect(rows(items).map((row) => row.session_id)).toEqual(['ok'])
  })

  it('reads integration deliveries as connector deliveries too', () => {
    const item = record('icd', '2026-11-28T00:00:00Z', [delivery('splunk', true)], {
      metadata_kind: 'integration-connector-delivery',
    })
    expect(rows([item])).toHaveLength(1)
  })
})

describe('publicationRows', () => {
  it('adds publication_id, export_id, channel and release_version', () => {
    const item = record(
      'epd-1',
      '2026-11-28T00:00:00Z',
      [delivery('jamf', true), delivery('intune', false)],
      {
        metadata_kind: PUBLICATION_KIND,
        event_id: 'emp_0123456789ab',
        event_type: 'cavra.endpoint_management_export_publication',
        publication_id: 'emp_0123456789ab',
        export_id: 'eme_stable_1',
        channel: 'stable',
        release: { version: '1.4.2', commit: 'abc', repository: 'acme/cavra' },
      },
    )
    const result = publicationRows([
      item,
      record('other', '2026-11-28T00:00:00Z', [delivery('webhook', true)]),
    ])
    expect(result).toHaveLength(2)
    expect(result[0]).toMatchObject({
      provider: 'jamf',
      success: true,
      publication_id: 'emp_0123456789ab',
      export_id: 'eme_stable_1',
      channel: 'stable',
      release_version: '1.4.2',
    })
    expect(result[1]).toMatchObject({ provider: 'intune', success: false })
  })

  it('falls back to the event id for the publication id, and null for missing fields', () => {
    const item = record('epd-2', '2026-11-28T00:00:00Z', [delivery('linux', true)], {
      metadata_kind: PUBLICATION_KIND,
      event_id: 'emp_fffffffffff0',
    })
    expect(publicationRows([item])[0]).toMatchObject({
      publication_id: 'emp_fffffffffff0',
      export_id: null,
      channel: null,
      release_version: null,
    })
  })
})

describe('filterRows', () => {
  const items = [
    record('s1', '2026-11-28T10:00:00Z', [
      delivery('jira', false, { provider_type: 'jira' }),
      delivery('webhook', true),
    ]),
    record('s2', '2026-11-28T11:00:00Z', [
      delivery('splunk', true, { provider_type: 'splunk' }),
      delivery('splunk-eu', false, { provider_type: 'splunk' }),
    ]),
    record('s3', '2026-11-28T12:00:00Z', [delivery('webhook', false)], {
      event_type: 'cavra.rollout_rollback_execution',
    }),
  ]
  const all = rows(items)

  it('--provider matches a connector name', () => {
    expect(filterRows(all, { provider: 'splunk-eu' }).map((row) => row.session_id)).toEqual(['s2'])
    expect(filterRows(all, { provider: 'splunk-eu' }).map((row) => row.provider)).toEqual(['splunk-eu'])
  })

  it('--provider matches a provider kind', () => {
    expect(filterRows(all, { provider: 'splunk' }).map((row) => row.provider)).toEqual([
      'splunk',
      'splunk-eu',
    ])
  })

  it('--provider that matches nothing gives nothing', () => {
    expect(filterRows(all, { provider: 'slack' })).toEqual([])
    expect(filterRows(all, { provider: 'splunk-e' })).toEqual([])
  })

  it('success is judged per row: a connector that succeeded inside a failed batch is a success', () => {
    expect(filterRows(all, { provider: 'webhook', success: false }).map((row) => row.session_id)).toEqual([
      's3',
    ])
    expect(filterRows(all, { provider: 'webhook', success: true }).map((row) => row.session_id)).toEqual([
      's1',
    ])
    expect(filterRows(all, { success: true }).map((row) => row.provider)).toEqual(['splunk', 'webhook'])
    expect(filterRows(all, { success: false }).map((row) => row.provider)).toEqual([
      'webhook',
      'splunk-eu',
      'jira',
    ])
  })

  it('event_id is exact: a prefix, a substring or an extension of an id never matches', () => {
    const ids = [
      record('x1', '2026-11-28T10:00:00Z', [delivery('webhook', true)], { event_id: 'rpe_4c1d' }),
      record('x2', '2026-11-28T10:00:01Z', [delivery('webhook', true)], { event_id: 'rpe_4c1d2e9a' }),
      record('x3', '2026-11-28T10:00:02Z', [delivery('webhook', true)], { event_id: 'xrpe_4c1d' }),
      record('x4', '2026-11-28T10:00:03Z', [delivery('webhook', true)], { event_id: 'RPE_4C1D' }),
    ]
    const idRows = rows(ids)
    expect(filterRows(idRows, { eventId: 'rpe_4c1d' }).map((row) => row.session_id)).toEqual(['x1'])
    expect(filterRows(idRows, { eventId: 'rpe_4c1d2e9a' }).map((row) => row.session_id)).toEqual(['x2'])
    expect(filterRows(idRows, { eventId: 'rpe_4c' })).toEqual([])
    expect(filterRows(idRows, { eventId: '4c1d' })).toEqual([])
  })

  it('--event-type is exact', () => {
    expect(
      filterRows(all, { eventType: 'cavra.rollout_rollback_execution' }).map((row) => row.session_id),
    ).toEqual(['s3'])
    expect(filterRows(all, { eventType: 'rollback' })).toEqual([])
  })

  it('--since keeps rows at or after the time', () => {
    expect(filterRows(all, { since: new Date('2026-11-28T11:00:00Z') }).map((row) => row.session_id)).toEqual(
      ['s3', 's2', 's2'],
    )
    expect(filterRows(all, { since: new Date('2026-11-28T12:00:00.001Z') })).toEqual([])
  })

  it('combines filters', () => {
    expect(
      filterRows(all, { provider: 'webhook', since: new Date('2026-11-28T09:00:00Z'), success: true }).map(
        (row) => row.session_id,
      ),
    ).toEqual(['s1'])
  })

  it('filters publication rows by export id and channel, exactly', () => {
    const pubs = publicationRows([
      record('p1', '2026-11-28T10:00:00Z', [delivery('jamf', true)], {
        metadata_kind: PUBLICATION_KIND,
        export_id: 'eme_1',
        channel: 'stable',
      }),
      record('p2', '2026-11-28T11:00:00Z', [delivery('jamf', true)], {
        metadata_kind: PUBLICATION_KIND,
        export_id: 'eme_10',
        channel: 'beta',
      }),
    ])
    expect(filterRows(pubs, { exportId: 'eme_1' }).map((row) => row.session_id)).toEqual(['p1'])
    expect(filterRows(pubs, { channel: 'beta' }).map((row) => row.session_id)).toEqual(['p2'])
    expect(filterRows(pubs, { channel: 'stab' })).toEqual([])
  })
})

describe('deliveryRows order', () => {
  it('is the comparator order for stores in time order, out of order and with equal times', () => {
    const times = ['2026-11-01T10:00:00Z', '2026-11-01T10:00:00Z', '2026-11-01T10:05:00Z', 'not a time']
    const chronological = [0, 0, 1, 1, 2, 2, 2].map((t, i) =>
      record(`c${i}`, times[t]!, [
        delivery('splunk', true),
        delivery('jira', i % 2 === 0),
        delivery('slack', false),
      ]),
    )
    const unparseableFirst = [record('u0', 'not a time', [delivery('jira', true)]), ...chronological]
    const outOfOrder = [...chronological, record('late', times[0]!, [delivery('splunk', false)])]
    for (const items of [chronological, unparseableFirst, outOfOrder]) {
      // As read, then sorted by the comparator, ties kept as read.
      const asRead = items.flatMap((item, order) => rowsOf(item, order, CONNECTOR_KINDS))
      const sorted = asRead
        .map((row, position) => ({ row, position }))
        .sort((a, b) => newestFirst(a.row, b.row) || a.position - b.position)
        .map(({ row }) => row)
      expect(rows(items).map((r) => `${r.session_id}/${r.provider}`)).toEqual(
        sorted.map((r) => `${r.session_id}/${r.provider}`),
      )
    }
  })
})

describe('collectRowPage', () => {
  async function* stream(items: StoreItem[]): AsyncGenerator<StoreItem> {
    yield* items
  }

  /** A store with equal times, times out of store order, unparseable times and several rows per item. */
  function store(count: number, seed: number): StoreItem[] {
    let state = seed
    const next = (n: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31
      return state % n
    }
    const providers = ['splunk', 'jira', 'slack', 'webhook']
    return Array.from({ length: count }, (_, i) => {
      const minute =
        next(5) === 0
          ? 'not a time'
          : `2026-11-${String(1 + next(3)).padStart(2, '0')}T10:${String(next(4)).padStart(2, '0')}:00Z`
      const deliveries = providers
        .filter(() => next(3) > 0)
        .map((provider) =>
          delivery(provider, next(2) === 0, { provider_type: next(2) ? provider : 'webhook' }),
        )
      return record(`s${i}`, minute, deliveries, {
        event_type: next(2) ? 'cavra.rollout_promotion_execution' : 'cavra.rollback_execution',
      })
    })
  }

  it('gives exactly the page and total that filtering and sorting every row gives', async () => {
    const filters: RowFilter[] = [
      {},
      { provider: 'jira' },
      { provider: 'webhook' },
      { success: false },
      { eventType: 'cavra.rollback_execution', success: true },
      { since: new Date('2026-11-02T00:00:00Z') },
    ]
    const pagings = [
      { limit: 20, offset: 0 },
      { limit: 7, offset: 13 },
      { limit: 1, offset: 0 },
      { limit: 0, offset: 5 },
      { limit: 1000, offset: 0 },
      { limit: 50, offset: 500 },
    ]
    for (const seed of [1, 7, 42]) {
      const items = store(300, seed)
      for (const filter of filters) {
        const all = filterRows(rows(items), filter)
        for (const paging of pagings) {
          const page = await collectRowPage(stream(items), CONNECTOR_KINDS, filter, paging)
          expect(page.total).toBe(all.length)
          expect(page.rows).toEqual(all.slice(paging.offset, paging.offset + paging.limit))
        }
      }
    }
  })
})

describe('parseSince', () => {
  const now = new Date('2026-11-28T12:00:00.000Z')

  it.each([
    ['90m', '2026-11-28T10:30:00.000Z'],
    ['24h', '2026-11-27T12:00:00.000Z'],
    ['7d', '2026-11-21T12:00:00.000Z'],
    ['2w', '2026-11-14T12:00:00.000Z'],
    ['30s', '2026-11-28T11:59:30.000Z'],
    ['1.5h', '2026-11-28T10:30:00.000Z'],
    [' 7D ', '2026-11-21T12:00:00.000Z'],
  ])('reads the duration %s back from now', (value, expected) => {
    expect(parseSince(value, now).toISOString()).toBe(expected)
  })

  it.each([
    ['2026-11-20', '2026-11-20T00:00:00.000Z'],
    ['2026-11-20T08:15:00Z', '2026-11-20T08:15:00.000Z'],
    ['2026-11-20T08:15:00+02:00', '2026-11-20T06:15:00.000Z'],
  ])('reads the ISO time %s', (value, expected) => {
    expect(parseSince(value, now).toISOString()).toBe(expected)
  })

  it.each([
    'yesterday',
    '7x',
    '',
    '-7d',
    'd7',
    '24 hours',
    '2026-13-45',
    '11/28/2026',
    'now',
    // A date that does not exist must not silently become 2026-03-02.
    '2026-02-30',
    // So far back that no Date can hold it: refused, never an Invalid Date.
    '99999999999d',
  ])('refuses %j with a usage error (exit 2)', (value) => {
    let caught: unknown
    try {
      parseSince(value, now)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(UsageError)
    expect((caught as UsageError).exitCode).toBe(2)
    expect((caught as UsageError).message).toContain('--since')
  })
})
