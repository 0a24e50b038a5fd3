import type { PendingQuery, Row, Sql, TransactionSql } from 'postgres'
import { canonicalJson } from '../common/canonical-json.js'
import { StoreError } from '../common/errors.js'
import { inertText } from '../common/text.js'
import { ChainWalker, GENESIS_HASH, hashMatches, type StoreItem, seal } from './chain.js'
import {
  DASHBOARD_RECENT_WINDOW,
  type DashboardFacts,
  type DashboardOptions,
  LATEST_PUBLICATIONS,
  type OpenPairStreak,
  providerHealthOf,
  publicationSummary,
} from './dashboard.js'
import {
  CONNECTOR_KINDS,
  type DeliveryRow,
  PUBLICATION_KIND,
  type PublicationRow,
  ROW_KINDS,
  type RowFilter,
  rowsOf,
} from './history.js'
import { brokenChain, damaged } from './json-store.js'
import type { HistoryPage, MetadataStore, StoreQueries, StoreVerification } from './metadata-store.js'

/**
 * The metadata store in PostgreSQL (docs/postgresql.md), for many runners and servers sharing
 * one history. Items are the same as in the JSON file: each is kept as its canonical JSON, the
 * very text its record_hash covers, so export gives back the file byte for byte. Beside the
 * items, `cavra.deliveries` holds one row per connector delivery (the history row, made
 * inert once when written), indexed for the history filters and the dashboard figures, which
 * are computed by the database.
 *
 * Appends serialize on a transaction-scoped advisory lock: the chain head is read, the item
 * sealed and inserted inside it, so appends from any number of machines form one linear
 * chain, and a writer killed mid-append leaves nothing (its transaction is rolled back).
 * The driver is loaded only when a database store is first used.
 */

/** The schema this version writes; a database written by a newer version is refused, not guessed at. */
export const SCHEMA_VERSION = 3
/** The advisory lock key of appends ("cavr" in ASCII): one per database. */
const APPEND_LOCK = 0x63617672
const CONNECT_TIMEOUT_S = Number(process.env.CAVRA_METADATA_CONNECT_TIMEOUT_S ?? 10)
const STATEMENT_TIMEOUT_MS = Number(process.env.CAVRA_METADATA_STATEMENT_TIMEOUT_MS ?? 30_000)
/** Items read per page when streaming the chain. */
const CURSOR_ROWS = 2_000
/** Items per COPY during an import. */
const IMPORT_BATCH = 5_000

const SCHEMA_DDL = [
  'CREATE SCHEMA IF NOT EXISTS cavra',
  `CREATE TABLE IF NOT EXISTS cavra.schema_version (
     version integer PRIMARY KEY,
     applied_at timestamptz NOT NULL DEFAULT now())`,
  // position: the 1-based place in the chain. body: the item's canonical JSON.
  `CREATE TABLE IF NOT EXISTS cavra.items (
     position bigint PRIMARY KEY,
     session_id text,
     metadata_kind text,
     record_hash text,
     body text NOT NULL)`,
  // One row per connector delivery, as history shows it. sort_ms is the time the JSON store
  // sorts by (an unreadable time sorts as 0); created_ms the one --since compares (none then).
  `CREATE TABLE IF NOT EXISTS cavra.deliveries (
     position bigint NOT NULL,
     ordinal integer NOT NULL,
     metadata_kind text NOT NULL,
     sort_ms double precision NOT NULL,
     created_ms double precision,
     created_at text NOT NULL,
     session_id text NOT NULL,
     event_id text NOT NULL,
     event_type text NOT NULL,
     record_event_type text NOT NULL,
     provider text NOT NULL,
     provider_type text NOT NULL,
     success boolean NOT NULL,
     attempt_count double precision NOT NULL,
     duration_ms double precision,
     export_id text,
     channel text,
     error text,
     PRIMARY KEY (position, ordinal))`,
]

/**
 * Indexes for the history filters and the dashboard figures; an import builds them after
 * loading. Few on purpose: each costs every append and every import. The newest-first index
 * serves the first page of any filter (event types and provider kinds are few, so scanning it
 * in order finds a page quickly); the provider index serves the per-connector figures.
 */
const INDEX_DDL = [
  'CREATE INDEX IF NOT EXISTS deliveries_newest ON cavra.deliveries (metadata_kind, sort_ms DESC, position DESC, ordinal)',
  'CREATE INDEX IF NOT EXISTS deliveries_provider ON cavra.deliveries (provider, sort_ms DESC, position DESC, ordinal)',
  'CREATE INDEX IF NOT EXISTS deliveries_event_id ON cavra.deliveries (event_id)',
  'CREATE INDEX IF NOT EXISTS deliveries_export_id ON cavra.deliveries (export_id) WHERE export_id IS NOT NULL',
  // Failures, newest first per connector: a connector's last failure, failure-only history.
  'CREATE INDEX IF NOT EXISTS deliveries_failures ON cavra.deliveries (provider, sort_ms DESC, position DESC, ordinal) WHERE NOT success',
]
/**
 * Version 3: a dashboard's open alerts are read in its order from this index. Sorting them per
 * request spilled to disk past a few tens of thousands of open alerts (0.3 s of a dashboard).
 */
const OPEN_PAIRS_ORDER_DDL =
  'CREATE INDEX IF NOT EXISTS open_pairs_newest ON cavra.open_pairs (family, sort_ms DESC, position DESC, ordinal)'
/**
 * Version 2: running totals kept beside the rows, so the whole-store dashboard and the history
 * total read a few hundred rows instead of every delivery. They are updated in the append
 * transaction (and filled in SQL after an import), from the rows just written:
 * - provider_totals: deliveries, successes and attempts per kind and connector;
 * - provider_durations: how many deliveries of a connector took each duration, so the exact
 *   nearest-rank percentiles are a cumulative sum over a few hundred distinct durations;
 * - event_type_totals: records per kind and event type, with the newest record's place;
 * - open_pairs: each (connector, event) whose latest delivery failed, with its failure streak,
 *   per family of kinds a dashboard reads together (connector deliveries, publications).
 * A `--since` window is computed from the rows in it.
 */
const ROLLUP_DDL = [
  `CREATE TABLE IF NOT EXISTS cavra.provider_totals (
     metadata_kind text NOT NULL,
     provider text NOT NULL,
     provider_type text NOT NULL,
     deliveries bigint NOT NULL,
     succeeded bigint NOT NULL,
     attempts double precision NOT NULL,
     PRIMARY KEY (metadata_kind, provider, provider_type))`,
  `CREATE TABLE IF NOT EXISTS cavra.provider_durations (
     metadata_kind text NOT NULL,
     provider text NOT NULL,
     duration_ms double precision NOT NULL,
     deliveries bigint NOT NULL,
     PRIMARY KEY (metadata_kind, provider, duration_ms))`,
  `CREATE TABLE IF NOT EXISTS cavra.event_type_totals (
     metadata_kind text NOT NULL,
     event_type text NOT NULL,
     records bigint NOT NULL,
     newest_sort_ms double precision NOT NULL,
     newest_position bigint NOT NULL,
     PRIMARY KEY (metadata_kind, event_type))`,
  `CREATE TABLE IF NOT EXISTS cavra.open_pairs (
     family text NOT NULL,
     provider text NOT NULL,
     event_id text NOT NULL,
     event_type text NOT NULL,
     created_at text NOT NULL,
     error text,
     export_id text,
     sort_ms double precision NOT NULL,
     position bigint NOT NULL,
     ordinal integer NOT NULL,
     streak integer NOT NULL,
     PRIMARY KEY (family, provider, event_id))`,
  OPEN_PAIRS_ORDER_DDL,
]
/** Indexes version 1 made that version 2 replaced. */
const RETIRED_INDEXES = ['deliveries_failed']

/** The families of kinds whose open alerts are kept: the kinds each dashboard reads together. */
const FAMILIES: Record<string, readonly string[]> = {
  connector: CONNECTOR_KINDS,
  publication: [PUBLICATION_KIND],
}
const FAMILY_OF_KIND = `CASE ${Object.entries(FAMILIES)
  .flatMap(([family, kinds]) => kinds.map((kind) => `WHEN d.metadata_kind = '${kind}' THEN '${family}'`))
  .join(' ')} END`

/** The family whose kinds are exactly `kinds`, if any. */
function familyOf(kinds: readonly string[]): string | undefined {
  const wanted = [...kinds].sort().join('\n')
  return Object.entries(FAMILIES).find(([, members]) => [...members].sort().join('\n') === wanted)?.[0]
}

const INDEX_NAMES = INDEX_DDL.map((statement) => /EXISTS (\w+)/.exec(statement)![1]!)
const VERSION_DML = `INSERT INTO cavra.schema_version (version) VALUES (${SCHEMA_VERSION}) ON CONFLICT DO NOTHING`

const DELIVERY_COLUMNS = [
  'position',
  'ordinal',
  'metadata_kind',
  'sort_ms',
  'created_ms',
  'created_at',
  'session_id',
  'event_id',
  'event_type',
  'record_event_type',
  'provider',
  'provider_type',
  'success',
  'attempt_count',
  'duration_ms',
  'export_id',
  'channel',
  'error',
] as const
const ITEM_COLUMNS = ['position', 'session_id', 'metadata_kind', 'record_hash', 'body'] as const

type Cell = string | number | boolean | null

interface ProviderFigures {
  provider: string
  total: number
  succeeded: number
  attempts: number
  p50: number | null
  p95: number | null
}

interface OpenPairFigures {
  provider: string
  event_id: string
  event_type: string
  created_at: string
  error: string | null
  export_id: string | null
  streak: number
}

export class PostgresStore implements MetadataStore {
  readonly description: string
  readonly queries: StoreQueries
  private sql: Sql | undefined

  constructor(private readonly url: string) {
    this.description = describeUrl(url)
    this.queries = {
      history: (kinds, filter, paging) => this.guard(() => this.history(kinds, filter, paging)),
      dashboard: (kinds, options) => this.guard(() => this.dashboard(kinds, options)),
    }
  }

  async prepareAppend(): Promise<void> {
    await this.guard(() =>
      this.inAppendLock(async (tx) => {
        await this.ensureSchema(tx)
        await this.head(tx)
      }),
    )
  }

  async append(item: StoreItem): Promise<StoreItem> {
    return this.guard(() =>
      this.inAppendLock(async (tx) => {
        await this.ensureSchema(tx)
        const head = await this.head(tx)
        const sealed = seal(item, head.hash)
        const body = canonicalJson(sealed)
        const position = head.position + 1
        await tx`INSERT INTO cavra.items ${tx(itemRecord(position, sealed, body), ...ITEM_COLUMNS)}`
        const rows = deliveryRecords(position, sealed)
        if (rows.length > 0) {
          await tx`INSERT INTO cavra.deliveries ${tx(rows, ...DELIVERY_COLUMNS)}`
          await addToRollups(tx, position)
        }
        return sealed
      }),
    )
  }

  async *items(): AsyncGenerator<StoreItem> {
    const walker = new ChainWalker()
    for await (const { item, body } of this.stream()) {
      if (walker.push(item, body)) throw brokenChain(this.description, walker.report())
      yield item
    }
  }

  async verify(): Promise<StoreVerification> {
    const walker = new ChainWalker()
    if (!(await this.guard(async () => (await this.schemaVersion(await this.connect())) !== null))) {
      return { exists: false, report: walker.report() }
    }
    for await (const { item, body } of this.stream()) walker.push(item, body)
    return { exists: true, report: walker.report() }
  }

  /**
   * Copies items into an empty store, in one transaction (a failed or killed import leaves the
   * store empty), each item as it was: its hashes are checked, never recomputed. `onItem`
   * hears the count as it grows.
   */
  async importItems(
    source: AsyncIterable<{ item: StoreItem; text?: string }>,
    origin: string,
    onProgress?: (count: number) => void,
  ): Promise<StoreVerification> {
    return this.guard(() =>
      this.inAppendLock(async (tx) => {
        // A large import takes longer than one statement may; its COPYs are bounded by their size.
        await tx`SET LOCAL statement_timeout = 0`
        await tx`SET LOCAL maintenance_work_mem = '256MB'`
        await this.ensureSchema(tx)
        const [{ present }] = await tx<[{ present: boolean }]>`
          SELECT EXISTS (SELECT 1 FROM cavra.items) AS present`
        if (present) {
          throw new StoreError(
            `${this.description}: the database already holds a metadata store, so ${origin} was not imported (an import never mixes two chains).`,
            [
              'Import into an empty database (or drop the cavra schema first, after exporting it).',
              'To add deliveries to an existing store, deliver with --metadata-url instead.',
            ],
          )
        }
        // Item bodies are large enough to be compressed: lz4 does it about three times faster than
        // PostgreSQL's default pglz. It needs PostgreSQL 14 built with lz4; elsewhere the default stays.
        await tx
          .savepoint((point) => point`ALTER TABLE cavra.items ALTER COLUMN body SET COMPRESSION lz4`)
          .catch(() => {})
        // Building the indexes once after loading is several times faster than keeping them up to date.
        for (const name of INDEX_NAMES) await tx.unsafe(`DROP INDEX IF EXISTS cavra.${name}`)
        const walker = new ChainWalker()
        // Added up here as rows pass: three scans of every loaded row in SQL were a tenth of
        // an import of 1,000,000 items.
        const totals = new ImportedTotals()
        let items: Cell[][] = []
        let deliveries: Cell[][] = []
        let position = 0
        // The server loads one batch while the next is read and checked here: on a machine with
        // two cores that keeps both busy instead of taking turns.
        let loading: Promise<void> = Promise.resolve()
        const flush = async () => {
          const [batchItems, batchDeliveries, count] = [items, deliveries, position]
          items = []
          deliveries = []
          await loading
          loading = (async () => {
            await copyRows(tx, 'cavra.items', ITEM_COLUMNS, batchItems)
            await copyRows(tx, 'cavra.deliveries', DELIVERY_COLUMNS, batchDeliveries)
            onProgress?.(count)
          })()
          // Awaited by the next flush; a failure surfaces there (or at the end), not as an unhandled rejection.
          loading.catch(() => {})
        }
        for await (const { item, text } of source) {
          position++
          // A line the walk proves canonical is the body as it is: serialising 1,000,000
          // items again was a fifth of an import.
          const given = text ?? canonicalJson(item)
          if (walker.push(item, given)) throw brokenChain(origin, walker.report())
          const body = text === undefined || walker.lastLineCanonical ? given : canonicalJson(item)
          items.push(itemRow(itemRecord(position, item, body)))
          for (const record of deliveryRecords(position, item)) {
            deliveries.push(deliveryRow(record))
            totals.add(record)
          }
          if (items.length >= IMPORT_BATCH) await flush()
        }
        await flush()
        await loading
        for (const statement of INDEX_DDL) await tx.unsafe(statement)
        await tx.unsafe('ANALYZE cavra.items')
        await tx.unsafe('ANALYZE cavra.deliveries')
        await totals.insert(tx)
        await addToRollups(tx, null, false)
        return { exists: true, report: walker.report() }
      }),
    )
  }

  async close(): Promise<void> {
    const sql = this.sql
    this.sql = undefined
    await sql?.end({ timeout: 5 })
  }

  /**
   * Items in chain order, a page at a time: the store is never held in memory. Each page is
   * its own statement, bounded by the statement timeout, so a long walk is not cut short by it
   * as one cursor over the whole table would be (items are only ever appended, so paging by
   * position sees each exactly once).
   */
  private async *stream(): AsyncGenerator<{ item: StoreItem; body: string }> {
    const sql = await this.guard(() => this.connect())
    if ((await this.guard(() => this.schemaVersion(sql))) === null) return
    let after = '0'
    while (true) {
      const page = await this.guard(
        () => sql<{ position: string; body: string }[]>`
          SELECT position, body FROM cavra.items WHERE position > ${after}::bigint
          ORDER BY position LIMIT ${CURSOR_ROWS}`,
      )
      for (const { position, body } of page) yield { item: parseBody(this.description, position, body), body }
      if (page.length < CURSOR_ROWS) return
      after = page.at(-1)!.position
    }
  }

  private async history(
    kinds: readonly string[],
    filter: RowFilter,
    paging: { limit: number; offset: number },
  ): Promise<HistoryPage> {
    const sql = await this.connect()
    const version = await this.schemaVersion(sql)
    if (version === null) return { rows: [], total: 0 }
    if (kinds.length === 0) return { rows: [], total: 0 }
    // Each kind's newest rows come in order from its own index; merged, they give the page
    // without sorting every row of the store.
    const newestOfKind = (kind: string) => sql`(
      SELECT sort_ms, position, ordinal FROM cavra.deliveries WHERE ${this.rowFilter(sql, [kind], filter)}
      ORDER BY sort_ms DESC, position DESC, ordinal LIMIT ${paging.limit + paging.offset})`
    const [total, keys] = await Promise.all([
      version >= 2 && countableFromTotals(filter)
        ? this.countFromTotals(sql, kinds, filter)
        : sql<[{ total: number }]>`
            SELECT count(*)::int AS total FROM cavra.deliveries WHERE ${this.rowFilter(sql, kinds, filter)}`.then(
            ([row]) => row.total,
          ),
      sql<{ position: string; ordinal: number }[]>`
        SELECT position, ordinal FROM (${kinds.map(newestOfKind).reduce((all, part) => sql`${all} UNION ALL ${part}`)}) page
        ORDER BY sort_ms DESC, position DESC, ordinal
        LIMIT ${paging.limit} OFFSET ${paging.offset}`,
    ])
    return { rows: await this.rowsAt(sql, keys, kinds), total }
  }

  private async dashboard(kinds: readonly string[], options: DashboardOptions): Promise<DashboardFacts> {
    const sql = await this.connect()
    const empty: DashboardFacts = {
      recorded: false,
      totalEvents: 0,
      eventTypes: [],
      deliveries: 0,
      succeeded: 0,
      providers: [],
      openPairs: [],
      latest: options.kind === 'publication' ? [] : undefined,
    }
    const version = await this.schemaVersion(sql)
    if (version === null) return empty
    const where = this.rowFilter(sql, kinds, { since: options.since ?? undefined })
    const newestFirst = sql`sort_ms DESC, position DESC, ordinal`
    // The whole store's figures come from the running totals; a window's from its rows.
    const family = familyOf(kinds)
    const totalled = version >= 2 && !options.since && family !== undefined
    const inKinds = sql`metadata_kind = ANY(${kinds as string[]})`
    // Every query that does not need the connectors' names at once, the open alerts among them.
    const [[{ recorded }], types, figures, pairKeys, latestKeys] = await Promise.all([
      sql<[{ recorded: boolean }]>`
        SELECT EXISTS (SELECT 1 FROM cavra.deliveries WHERE ${inKinds}) AS recorded`,
      // Event types in order of each type's newest record, as the JSON store meets them.
      totalled
        ? sql<{ event_type: string; count: number }[]>`
            SELECT event_type, sum(records)::int AS count FROM cavra.event_type_totals WHERE ${inKinds}
            GROUP BY event_type
            ORDER BY max(ARRAY[newest_sort_ms, newest_position::float8]) DESC`
        : sql<{ event_type: string; count: number }[]>`
            SELECT record_event_type AS event_type, count(*)::int AS count
            FROM cavra.deliveries WHERE ${where} AND ordinal = 0
            GROUP BY record_event_type
            ORDER BY max(ARRAY[sort_ms, position::float8]) DESC`,
      totalled
        ? sql<ProviderFigures[]>`
            WITH totals AS (
              SELECT provider, sum(deliveries)::int AS total, sum(succeeded)::int AS succeeded, sum(attempts) AS attempts
              FROM cavra.provider_totals WHERE ${inKinds} GROUP BY provider
            ), durations AS (
              SELECT provider, duration_ms, sum(deliveries) AS deliveries
              FROM cavra.provider_durations WHERE ${inKinds} GROUP BY provider, duration_ms
            ), cumulative AS (
              SELECT provider, duration_ms,
                sum(deliveries) OVER (PARTITION BY provider ORDER BY duration_ms) AS up_to,
                (sum(deliveries) OVER (PARTITION BY provider))::float8 AS measured
              FROM durations
            ), percentiles AS (
              -- Nearest rank: the smallest duration whose cumulative count reaches ceil(p * n)
              -- (in double precision, as the JSON store computes it).
              SELECT provider,
                min(duration_ms) FILTER (WHERE up_to >= greatest(1, ceil(0.5::float8 * measured))) AS p50,
                min(duration_ms) FILTER (WHERE up_to >= greatest(1, ceil(0.95::float8 * measured))) AS p95
              FROM cumulative GROUP BY provider
            )
            SELECT totals.*, percentiles.p50, percentiles.p95 FROM totals LEFT JOIN percentiles USING (provider)`
        : sql<ProviderFigures[]>`
        SELECT provider, count(*)::int AS total, (count(*) FILTER (WHERE success))::int AS succeeded,
          sum(attempt_count) AS attempts,
          percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
          percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
        FROM cavra.deliveries WHERE ${where} GROUP BY provider`,
      // The (connector, event) pairs whose latest delivery failed, and the failures at their head.
      totalled
        ? sql<OpenPairFigures[]>`
            SELECT provider, event_id, event_type, created_at, error, export_id, streak
            FROM cavra.open_pairs WHERE family = ${family!}
            ORDER BY ${newestFirst}`
        : sql<OpenPairFigures[]>`
        -- Failures are few: each failing pair is looked at through the event index alone.
        WITH failing AS (
          SELECT DISTINCT provider, event_id FROM cavra.deliveries WHERE ${where} AND NOT success
        )
        SELECT latest.provider, latest.event_id, latest.event_type, latest.created_at, latest.error, latest.export_id,
          (SELECT count(*)::int FROM cavra.deliveries d
            WHERE ${where} AND d.provider = failing.provider AND d.event_id = failing.event_id
              AND (ok.sort_ms IS NULL OR (d.sort_ms, d.position, -d.ordinal) > (ok.sort_ms, ok.position, -ok.ordinal))
          ) AS streak
        FROM failing
        JOIN LATERAL (SELECT provider, event_id, event_type, created_at, error, export_id, success, sort_ms, position, ordinal
          FROM cavra.deliveries WHERE ${where} AND provider = failing.provider AND event_id = failing.event_id
          ORDER BY ${newestFirst} LIMIT 1) latest ON NOT latest.success
        LEFT JOIN LATERAL (SELECT sort_ms, position, ordinal
          FROM cavra.deliveries WHERE ${where} AND provider = failing.provider AND event_id = failing.event_id AND success
          ORDER BY ${newestFirst} LIMIT 1) ok ON true
        ORDER BY latest.sort_ms DESC, latest.position DESC, latest.ordinal`,
      options.kind === 'publication'
        ? sql<{ position: string; ordinal: number }[]>`
            SELECT position, ordinal FROM cavra.deliveries WHERE ${where} AND ordinal = 0
            ORDER BY sort_ms DESC, position DESC LIMIT ${LATEST_PUBLICATIONS}`
        : Promise.resolve([]),
    ])
    if (figures.length === 0) return { ...empty, recorded }
    const providerNames = figures.map((figure) => figure.provider)
    const details = await sql<
      {
        provider: string
        provider_type: string
        last_delivery_at: string
        last_success_at: string | null
        last_failure_at: string | null
        recent_failure: boolean
        streak: number
      }[]
    >`
        SELECT p.provider, n.provider_type, n.created_at AS last_delivery_at,
          s.created_at AS last_success_at, f.created_at AS last_failure_at,
          coalesce(r.recent_failure, false) AS recent_failure,
          (SELECT count(*)::int FROM cavra.deliveries d
            WHERE ${where} AND d.provider = p.provider
              -- The bound on sort_ms alone lets the connector's index stop at its last success.
              AND d.sort_ms >= coalesce(s.sort_ms, '-Infinity')
              AND (s.sort_ms IS NULL OR (d.sort_ms, d.position, -d.ordinal) > (s.sort_ms, s.position, -s.ordinal))
          ) AS streak
        FROM unnest(${providerNames}::text[]) AS p (provider)
        LEFT JOIN LATERAL (SELECT provider_type, created_at FROM cavra.deliveries
          WHERE ${where} AND provider = p.provider ORDER BY ${newestFirst} LIMIT 1) n ON true
        LEFT JOIN LATERAL (SELECT created_at, sort_ms, position, ordinal FROM cavra.deliveries
          WHERE ${where} AND provider = p.provider AND success ORDER BY ${newestFirst} LIMIT 1) s ON true
        LEFT JOIN LATERAL (SELECT created_at FROM cavra.deliveries
          WHERE ${where} AND provider = p.provider AND NOT success ORDER BY ${newestFirst} LIMIT 1) f ON true
        LEFT JOIN LATERAL (SELECT bool_or(NOT success) AS recent_failure FROM (SELECT success FROM cavra.deliveries
          WHERE ${where} AND provider = p.provider ORDER BY ${newestFirst} LIMIT ${DASHBOARD_RECENT_WINDOW}) recent) r ON true`
    const detailOf = new Map(details.map((detail) => [detail.provider, detail]))
    const providers = figures.map((figure) => {
      const detail = detailOf.get(figure.provider)!
      return providerHealthOf({
        provider: figure.provider,
        provider_type: detail.provider_type,
        total: figure.total,
        succeeded: figure.succeeded,
        attempt_count: Number(figure.attempts),
        p50_duration_ms: figure.p50,
        p95_duration_ms: figure.p95,
        last_delivery_at: detail.last_delivery_at,
        last_success_at: detail.last_success_at,
        last_failure_at: detail.last_failure_at,
        failure_streak: detail.streak,
        recentFailure: detail.recent_failure,
      })
    })
    // What an alert shows of its latest delivery is in the delivery rows: no item needs reading.
    // One literal shape per pair (there can be tens of thousands), not rest-and-spread copies.
    const publication = options.kind === 'publication'
    const openPairs: OpenPairStreak[] = pairKeys.map((pair) => ({
      latest: (publication
        ? {
            provider: pair.provider,
            event_id: pair.event_id,
            event_type: pair.event_type,
            created_at: pair.created_at,
            error: pair.error,
            success: false,
            export_id: pair.export_id,
          }
        : {
            provider: pair.provider,
            event_id: pair.event_id,
            event_type: pair.event_type,
            created_at: pair.created_at,
            error: pair.error,
            success: false,
          }) as DeliveryRow,
      streak: pair.streak,
    }))
    const latest =
      options.kind === 'publication'
        ? (await this.rowsAt(sql, latestKeys, kinds)).map((row) => publicationSummary(row as PublicationRow))
        : undefined
    return {
      recorded,
      totalEvents: types.reduce((sum, type) => sum + type.count, 0),
      eventTypes: types.map((type) => [type.event_type, type.count]),
      deliveries: figures.reduce((sum, figure) => sum + figure.total, 0),
      succeeded: figures.reduce((sum, figure) => sum + figure.succeeded, 0),
      providers,
      openPairs,
      latest,
    }
  }

  /** How many rows a filter that only names a connector and an outcome selects, from the running totals. */
  private async countFromTotals(sql: Sql, kinds: readonly string[], filter: RowFilter): Promise<number> {
    const counted =
      filter.success === undefined
        ? sql`deliveries`
        : filter.success
          ? sql`succeeded`
          : sql`deliveries - succeeded`
    const provider =
      filter.provider === undefined
        ? sql`true`
        : sql`(provider = ${filter.provider} OR provider_type = ${filter.provider})`
    const [{ total }] = await sql<[{ total: string }]>`
      SELECT coalesce(sum(${counted}), 0) AS total FROM cavra.provider_totals
      WHERE metadata_kind = ANY(${kinds as string[]}) AND ${provider}`
    return Number(total)
  }

  /** The WHERE clause of the history filters, the same tests `filterRows` makes. */
  private rowFilter(sql: Sql, kinds: readonly string[], filter: RowFilter): PendingQuery<Row[]> {
    // One kind is compared with = so that its index gives rows in order.
    const parts = [
      kinds.length === 1 ? sql`metadata_kind = ${kinds[0]!}` : sql`metadata_kind = ANY(${kinds as string[]})`,
    ]
    if (filter.provider !== undefined)
      parts.push(sql`(provider = ${filter.provider} OR provider_type = ${filter.provider})`)
    if (filter.eventType !== undefined) parts.push(sql`event_type = ${filter.eventType}`)
    if (filter.eventId !== undefined) parts.push(sql`event_id = ${filter.eventId}`)
    if (filter.exportId !== undefined) parts.push(sql`export_id = ${filter.exportId}`)
    if (filter.channel !== undefined) parts.push(sql`channel = ${filter.channel}`)
    if (filter.success !== undefined) parts.push(sql`success = ${filter.success}`)
    if (filter.since !== undefined) parts.push(sql`created_ms >= ${filter.since.getTime()}`)
    return parts.reduce((all, part) => sql`${all} AND ${part}`)
  }

  /** The history rows at the given keys, in that order, read from their items as the JSON store reads them. */
  private async rowsAt(
    sql: Sql,
    keys: readonly { position: string; ordinal: number }[],
    kinds: readonly string[],
  ): Promise<DeliveryRow[]> {
    if (keys.length === 0) return []
    const positions = [...new Set(keys.map((key) => key.position))]
    const bodies = await sql<{ position: string; body: string }[]>`
      SELECT position, body FROM cavra.items WHERE position = ANY(${positions}::bigint[])`
    const itemAt = new Map(
      bodies.map(({ position, body }) => [position, parseBody(this.description, position, body)]),
    )
    return keys.map(({ position, ordinal }) => {
      const row = rowsOf(itemAt.get(position)!, Number(position), kinds)[ordinal]
      if (!row) throw damaged(this.description, `item ${position} no longer matches its delivery rows`)
      return row
    })
  }

  /** The chain head under the append lock: the last item, checked as the JSON store checks its tail. */
  private async head(tx: TransactionSql): Promise<{ position: number; hash: string }> {
    const [last] = await tx<{ position: string; body: string }[]>`
      SELECT position, body FROM cavra.items ORDER BY position DESC LIMIT 1`
    if (!last) return { position: 0, hash: GENESIS_HASH }
    const item = parseBody(this.description, last.position, last.body)
    const position = Number(last.position)
    // An item without hashes can end the store only as part of a legacy prefix: the chain starts after it.
    if (!('record_hash' in item)) return { position, hash: GENESIS_HASH }
    const stored = typeof item.record_hash === 'string' ? item.record_hash : ''
    if (!hashMatches(item, stored, last.body)) {
      throw damaged(this.description, `the last item (${position}) does not match its record_hash`)
    }
    return { position, hash: stored }
  }

  private async inAppendLock<T>(work: (tx: TransactionSql) => Promise<T>): Promise<T> {
    const sql = await this.connect()
    return (await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${APPEND_LOCK})`
      return work(tx)
    })) as T
  }

  /**
   * Creates the schema on first write, or brings one written by an earlier version up to this
   * one (under the append lock, so two first writers do not race). Version 1 had no running
   * totals: they are made from its rows, once, by the first writer. Version 2 lacked the open
   * alerts' index.
   */
  private async ensureSchema(tx: TransactionSql): Promise<void> {
    const version = await this.schemaVersion(tx)
    if (version === SCHEMA_VERSION) return
    if (version === null) {
      for (const statement of [...SCHEMA_DDL, ...ROLLUP_DDL, ...INDEX_DDL, VERSION_DML])
        await tx.unsafe(statement)
      return
    }
    // Totalling a large store takes longer than one statement may (once per database).
    await tx`SET LOCAL statement_timeout = 0`
    if (version < 2) {
      for (const statement of ROLLUP_DDL) await tx.unsafe(statement)
      for (const name of RETIRED_INDEXES) await tx.unsafe(`DROP INDEX IF EXISTS cavra.${name}`)
      for (const statement of INDEX_DDL) await tx.unsafe(statement)
      await addToRollups(tx, null)
    }
    await tx.unsafe(OPEN_PAIRS_ORDER_DDL)
    await tx.unsafe(VERSION_DML)
  }

  /** The schema's version, or null when there is none yet (a store nobody has written to). */
  private async schemaVersion(sql: Sql | TransactionSql): Promise<number | null> {
    const [{ present }] = await sql<[{ present: boolean }]>`
      SELECT to_regclass('cavra.schema_version') IS NOT NULL AND to_regclass('cavra.items') IS NOT NULL AS present`
    if (!present) return null
    const [{ version }] = await sql<[{ version: number | null }]>`
      SELECT max(version) AS version FROM cavra.schema_version`
    if (version === null) return null
    if (version > SCHEMA_VERSION) {
      throw new StoreError(
        `${this.description}: the metadata store was written by a newer cavra (schema version ${version}; this one knows ${SCHEMA_VERSION}).`,
        ['Upgrade cavra on this runner to the version the other runners use.'],
      )
    }
    return version
  }

  private async connect(): Promise<Sql> {
    if (this.sql) return this.sql
    const { postgres } = await import('./postgres-driver.js')
    this.sql = postgres(this.url, {
      // A few connections: `cavra serve` answers requests concurrently.
      max: 4,
      connect_timeout: CONNECT_TIMEOUT_S,
      idle_timeout: 30,
      // Notices (e.g. "schema already exists") are not for the terminal.
      onnotice: () => {},
      connection: {
        application_name: 'cavra',
        statement_timeout: STATEMENT_TIMEOUT_MS,
        // The planner's estimates for the per-connector lookups are far above what the indexes
        // make them cost, so it JIT-compiles a query that runs in a millisecond: 0.4 s of LLVM
        // per dashboard. cavra's statements are index lookups and short scans, where JIT never pays
        // (https://www.postgresql.org/docs/current/jit-decision.html).
        jit: 'off',
        // The open alerts are sorted in memory rather than spilled to disk: tens of thousands of
        // rows are a few megabytes over the 4 MB default.
        work_mem: '32MB',
      },
    })
    return this.sql
  }

  /** Runs database work; what the driver or the server says becomes a StoreError (exit 5) naming the store. */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      if (error instanceof StoreError) throw error
      throw databaseError(this.description, error)
    }
  }
}

/** The URL as messages show it: without its password (or the whole user info if unparseable). */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url)
    parsed.password = ''
    return inertText(parsed.toString())
  } catch {
    return 'the metadata database'
  }
}

function databaseError(where: string, error: unknown): StoreError {
  const e = error as { code?: string; message?: string; errno?: string }
  const code = e?.code ?? ''
  const actions = [
    'Check --metadata-url / CAVRA_METADATA_URL (host, port, database, user), that the database is up and reachable from here, and its credentials.',
  ]
  let reason: string
  if (code === 'CONNECT_TIMEOUT') reason = `no connection within ${CONNECT_TIMEOUT_S} s (connect timeout)`
  else if (code === '57014')
    reason = `a statement ran longer than ${STATEMENT_TIMEOUT_MS / 1000} s and was cancelled (statement timeout)`
  else if (code === '28P01' || code === '28000') reason = 'the database refused the credentials'
  else if (code === '3D000') reason = 'the database does not exist'
  else if (/^[0-9A-Z]{5}$/.test(code)) reason = `${e.message ?? 'database error'} (SQLSTATE ${code})`
  else if (/^E[A-Z]+$/.test(code)) reason = `cannot reach the database (${code})`
  else if (code) reason = `${e.message ?? 'database error'} (${code})`
  else reason = e?.message ?? String(error)
  return new StoreError(`${where}: the metadata store is unavailable: ${inertText(reason)}.`, actions)
}

function parseBody(where: string, position: string, body: string): StoreItem {
  try {
    const value = JSON.parse(body) as unknown
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as StoreItem
  } catch {
    // Reported below.
  }
  throw damaged(where, `item ${position} is not a JSON object`)
}

function itemRecord(
  position: number,
  item: StoreItem,
  body: string,
): Record<(typeof ITEM_COLUMNS)[number], Cell> {
  return {
    position,
    session_id: typeof item.session_id === 'string' ? inertText(item.session_id) : null,
    metadata_kind: typeof item.metadata_kind === 'string' ? inertText(item.metadata_kind) : null,
    record_hash: typeof item.record_hash === 'string' ? inertText(item.record_hash) : null,
    body,
  }
}

/** The history rows of an item as table rows: computed by the very function the JSON store reads with. */
function deliveryRecords(
  position: number,
  item: StoreItem,
): Record<(typeof DELIVERY_COLUMNS)[number], Cell>[] {
  return rowsOf(item, position, ROW_KINDS).map((row, ordinal) => {
    const time = Date.parse(row.created_at)
    const publication = row as Partial<PublicationRow>
    return {
      position,
      ordinal,
      metadata_kind: String(item.metadata_kind),
      sort_ms: time || 0,
      created_ms: Number.isNaN(time) ? null : time,
      created_at: row.created_at,
      session_id: row.session_id,
      event_id: row.event_id,
      event_type: row.event_type,
      record_event_type: row.record.event_type,
      provider: row.provider,
      provider_type: row.provider_type,
      success: row.success,
      attempt_count: row.attempt_count,
      duration_ms: row.duration_ms,
      export_id: publication.export_id ?? null,
      channel: publication.channel ?? null,
      error: row.error,
    }
  })
}

/** Whether a history filter's total can be read from the running totals (kept per kind and connector). */
function countableFromTotals(filter: RowFilter): boolean {
  const { provider: _provider, success: _success, ...others } = filter
  return Object.values(others).every((value) => value === undefined)
}

/**
 * Adds the delivery rows of the item at `position` (or, after an import or an upgrade, of every
 * item) to the running totals, and recomputes the open alerts of the (connector, event) pairs
 * they touch from those pairs' rows (an appended item is not necessarily the newest: its time
 * is its own, so each pair's latest delivery and streak are read again, in history order).
 */
async function addToRollups(tx: TransactionSql, position: number | null, withTotals = true): Promise<void> {
  const added = position === null ? tx`true` : tx`d.position = ${position}`
  if (withTotals) await addToTotals(tx, added)
  await addToOpenPairs(tx, position, added)
}

async function addToTotals(tx: TransactionSql, added: PendingQuery<Row[]>): Promise<void> {
  await tx`
    INSERT INTO cavra.provider_totals AS t (metadata_kind, provider, provider_type, deliveries, succeeded, attempts)
    SELECT metadata_kind, provider, provider_type, count(*), count(*) FILTER (WHERE success), sum(attempt_count)
    FROM cavra.deliveries d WHERE ${added} GROUP BY 1, 2, 3
    ON CONFLICT (metadata_kind, provider, provider_type) DO UPDATE SET
      deliveries = t.deliveries + excluded.deliveries,
      succeeded = t.succeeded + excluded.succeeded,
      attempts = t.attempts + excluded.attempts`
  await tx`
    INSERT INTO cavra.provider_durations AS t (metadata_kind, provider, duration_ms, deliveries)
    SELECT metadata_kind, provider, duration_ms, count(*)
    FROM cavra.deliveries d WHERE ${added} AND duration_ms IS NOT NULL GROUP BY 1, 2, 3
    ON CONFLICT (metadata_kind, provider, duration_ms) DO UPDATE SET deliveries = t.deliveries + excluded.deliveries`
  // A record is counted once, by its first delivery row.
  await tx`
    INSERT INTO cavra.event_type_totals AS t (metadata_kind, event_type, records, newest_sort_ms, newest_position)
    SELECT metadata_kind, event_type, records, newest[1], newest[2]::bigint
    FROM (SELECT metadata_kind, record_event_type AS event_type, count(*) AS records,
            max(ARRAY[sort_ms, position::float8]) AS newest
          FROM cavra.deliveries d WHERE ${added} AND ordinal = 0 GROUP BY 1, 2) typed
    ON CONFLICT (metadata_kind, event_type) DO UPDATE SET
      records = t.records + excluded.records,
      newest_sort_ms = CASE WHEN (excluded.newest_sort_ms, excluded.newest_position) > (t.newest_sort_ms, t.newest_position)
        THEN excluded.newest_sort_ms ELSE t.newest_sort_ms END,
      newest_position = CASE WHEN (excluded.newest_sort_ms, excluded.newest_position) > (t.newest_sort_ms, t.newest_position)
        THEN excluded.newest_position ELSE t.newest_position END`
}

/** Recomputes the open alerts of the pairs the rows at `position` (or, with null, any failure) touch. */
async function addToOpenPairs(
  tx: TransactionSql,
  position: number | null,
  added: PendingQuery<Row[]>,
): Promise<void> {
  const family = tx.unsafe(FAMILY_OF_KIND)
  // After an import only pairs with a failure can be open; after an append, any pair it touched may have changed.
  const touched = position === null ? tx`NOT d.success` : added
  if (position !== null) {
    await tx`
      DELETE FROM cavra.open_pairs o
      USING (SELECT DISTINCT ${family} AS family, provider, event_id FROM cavra.deliveries d WHERE ${added}) n
      WHERE o.family = n.family AND o.provider = n.provider AND o.event_id = n.event_id`
  }
  await tx`
    WITH touched AS (
      SELECT DISTINCT ${family} AS family, provider, event_id FROM cavra.deliveries d WHERE ${touched}
    ), ranked AS (
      SELECT t.family, d.provider, d.event_id, d.event_type, d.created_at, d.error, d.export_id, d.success,
        d.sort_ms, d.position, d.ordinal,
        row_number() OVER (PARTITION BY t.family, d.provider, d.event_id
          ORDER BY d.sort_ms DESC, d.position DESC, d.ordinal) AS rank
      FROM touched t JOIN cavra.deliveries d
        ON d.provider = t.provider AND d.event_id = t.event_id AND ${family} = t.family
    ), heads AS (
      -- The streak: the failures before the pair's newest success, newest first.
      SELECT *, coalesce(min(rank) FILTER (WHERE success) OVER pair, count(*) OVER pair + 1) - 1 AS streak
      FROM ranked WINDOW pair AS (PARTITION BY family, provider, event_id)
    )
    INSERT INTO cavra.open_pairs (family, provider, event_id, event_type, created_at, error, export_id,
      sort_ms, position, ordinal, streak)
    SELECT family, provider, event_id, event_type, created_at, error, export_id, sort_ms, position, ordinal, streak
    FROM heads WHERE rank = 1 AND NOT success`
}

type DeliveryRecord = Record<(typeof DELIVERY_COLUMNS)[number], Cell>

interface ProviderTotals {
  kind: string
  provider: string
  type: string
  deliveries: number
  succeeded: number
  attempts: number
}

interface EventTypeTotals {
  kind: string
  type: string
  records: number
  sortMs: number
  position: number
}

/**
 * The running totals of an import, added up from its delivery rows as `addToTotals` adds them
 * up in SQL after an append (the same groups, sums and newest record), and inserted at the end
 * into the empty totals tables.
 */
class ImportedTotals {
  // Nested by kind, connector and provider kind (no key string built per row: an import adds
  // up millions of rows, in the process that is the import's bottleneck).
  private readonly providers = new Map<string, Map<string, Map<string, ProviderTotals>>>()
  /** Deliveries per kind, connector and duration_ms (whatever the provider kind, as the SQL groups them). */
  private readonly durations = new Map<string, Map<string, Map<number, number>>>()
  private readonly eventTypes = new Map<string, Map<string, EventTypeTotals>>()

  add(row: DeliveryRecord): void {
    const kind = row.metadata_kind as string
    const provider = row.provider as string
    const type = row.provider_type as string
    const ofProvider = childOf(
      childOf(this.providers, kind, () => new Map()),
      provider,
      () => new Map(),
    )
    const figures = childOf(ofProvider, type, () => ({
      kind,
      provider,
      type,
      deliveries: 0,
      succeeded: 0,
      attempts: 0,
    }))
    figures.deliveries++
    if (row.success) figures.succeeded++
    figures.attempts += row.attempt_count as number
    if (row.duration_ms !== null) {
      const counts = childOf(
        childOf(this.durations, kind, () => new Map()),
        provider,
        () => new Map(),
      )
      const duration = row.duration_ms as number
      counts.set(duration, (counts.get(duration) ?? 0) + 1)
    }
    // A record is counted once, by its first delivery row.
    if (row.ordinal === 0) {
      const eventType = row.record_event_type as string
      const sortMs = row.sort_ms as number
      const position = row.position as number
      const types = childOf(this.eventTypes, kind, () => new Map())
      const known = types.get(eventType)
      if (!known) types.set(eventType, { kind, type: eventType, records: 1, sortMs, position })
      else {
        known.records++
        if (sortMs > known.sortMs || (sortMs === known.sortMs && position > known.position)) {
          known.sortMs = sortMs
          known.position = position
        }
      }
    }
  }

  async insert(tx: TransactionSql): Promise<void> {
    const providers = [...this.providers.values()].flatMap((ofKind) =>
      [...ofKind.values()].flatMap((ofProvider) => [...ofProvider.values()]),
    )
    if (providers.length > 0) {
      await tx`
        INSERT INTO cavra.provider_totals (metadata_kind, provider, provider_type, deliveries, succeeded, attempts)
        SELECT * FROM unnest(${providers.map((p) => p.kind)}::text[], ${providers.map((p) => p.provider)}::text[],
          ${providers.map((p) => p.type)}::text[], ${providers.map((p) => p.deliveries)}::bigint[],
          ${providers.map((p) => p.succeeded)}::bigint[], ${providers.map((p) => p.attempts)}::float8[])`
    }
    const durations = [...this.durations].flatMap(([kind, ofKind]) =>
      [...ofKind].flatMap(([provider, counts]) =>
        [...counts].map(([duration, deliveries]) => ({ kind, provider, duration, deliveries })),
      ),
    )
    if (durations.length > 0) {
      await tx`
        INSERT INTO cavra.provider_durations (metadata_kind, provider, duration_ms, deliveries)
        SELECT * FROM unnest(${durations.map((d) => d.kind)}::text[], ${durations.map((d) => d.provider)}::text[],
          ${durations.map((d) => d.duration)}::float8[], ${durations.map((d) => d.deliveries)}::bigint[])`
    }
    const types = [...this.eventTypes.values()].flatMap((ofKind) => [...ofKind.values()])
    if (types.length > 0) {
      await tx`
        INSERT INTO cavra.event_type_totals (metadata_kind, event_type, records, newest_sort_ms, newest_position)
        SELECT * FROM unnest(${types.map((t) => t.kind)}::text[], ${types.map((t) => t.type)}::text[],
          ${types.map((t) => t.records)}::bigint[], ${types.map((t) => t.sortMs)}::float8[],
          ${types.map((t) => t.position)}::bigint[])`
    }
  }
}

/** The value under `key`, made by `make` the first time. */
function childOf<K, V>(parent: Map<K, V>, key: K, make: () => V): V {
  let child = parent.get(key)
  if (child === undefined) {
    child = make()
    parent.set(key, child)
  }
  return child
}

function itemRow(record: Record<(typeof ITEM_COLUMNS)[number], Cell>): Cell[] {
  return ITEM_COLUMNS.map((column) => record[column])
}

function deliveryRow(record: Record<(typeof DELIVERY_COLUMNS)[number], Cell>): Cell[] {
  return DELIVERY_COLUMNS.map((column) => record[column])
}

/**
 * Rows through COPY (text format: tab-separated, backslash escapes, \N for null), written in
 * pieces of about 256 KB: the driver copies each piece twice (into a Buffer, then into its
 * CopyData message), which cost a third of an import's time when a batch was one string of
 * several megabytes.
 */
async function copyRows(
  tx: TransactionSql,
  table: string,
  columns: readonly string[],
  rows: readonly Cell[][],
): Promise<void> {
  if (rows.length === 0) return
  const stream = await tx.unsafe(`COPY ${table} (${columns.join(', ')}) FROM STDIN`).writable()
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject)
    stream.on('finish', resolve)
    let index = 0
    const writeSome = () => {
      while (index < rows.length) {
        const piece = new CopyPiece()
        while (index < rows.length && !piece.full()) piece.row(rows[index++]!)
        // Wait for the socket to drain rather than queueing the whole batch in memory.
        if (!stream.write(piece.bytes()) && index < rows.length) {
          stream.once('drain', writeSome)
          return
        }
      }
      stream.end()
    }
    writeSome()
  })
}

/** Bytes of COPY text per write. */
const COPY_PIECE = 256 * 1024

/**
 * COPY text encoded straight into a Buffer, cell by cell: a string built with += is a tree of
 * thousands of pieces that encoding first walks and copies (a third of an import's time).
 */
class CopyPiece {
  private buffer = Buffer.allocUnsafe(COPY_PIECE)
  private used = 0

  full(): boolean {
    return this.used >= COPY_PIECE - 1024
  }

  row(cells: readonly Cell[]): void {
    for (let column = 0; column < cells.length; column++) {
      this.put(copyCell(cells[column]!))
      // Separators are single bytes (put leaves room for them).
      this.buffer[this.used++] = column === cells.length - 1 ? 0x0a : 0x09
    }
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.used)
  }

  private put(text: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8, and a separator follows.
    const room = text.length * 3 + 1
    if (this.used + room > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.used + room))
      this.buffer.copy(grown, 0, 0, this.used)
      this.buffer = grown
    }
    this.used += this.buffer.write(text, this.used)
  }
}
const COPY_ESCAPED = /[\\\n\r\t]/

function copyCell(value: Cell): string {
  if (value === null) return '\\N'
  if (typeof value === 'boolean') return value ? 't' : 'f'
  if (typeof value === 'number') return String(value)
  if (!COPY_ESCAPED.test(value)) return value
  return value.replace(/[\\\n\r\t]/g, (c) => ({ '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!)
}
