import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/common/canonical-json.js'
import { GENESIS_HASH, type StoreItem, seal, verifyChain } from '../../src/metadata/chain.js'
import { wholeDocument } from '../../src/metadata/store-layout.js'
import { WebhookReceiver } from '../emulators/webhook-receiver.js'
import { CANARY } from '../support/canaries.js'
import { BIN, expectNoLeaksUnder, PROJECT_ROOT, runCli } from '../support/cli.js'
import { connect, freshDatabase } from '../support/postgres.js'
import { Workspace } from '../support/workspace.js'

/**
 * The metadata store in a real PostgreSQL (started by test/support/postgres-setup.ts), through
 * the built CLI: many writers, killed writers, import and export, the same answers as the JSON
 * file, the store flags, and a database that cannot be reached. The URL carries a planted
 * canary password; every output, evidence file and export is scanned for it.
 */

const receiver = new WebhookReceiver({ secret: CANARY.webhookSecret })
const PROMOTION = 'examples/release/rollout-promotion-execution.json'
let ws: Workspace

beforeAll(async () => {
  await receiver.start()
})
afterAll(async () => {
  await receiver.stop()
})
afterEach(() => {
  expectNoLeaksUnder(ws.dir)
  ws.remove()
  receiver.reset()
})

function setUp(): void {
  ws = new Workspace('cavra-pg-')
  ws.write('.cavra/connectors.json', {
    connectors: { webhook: { url_env: 'HOOK_URL', signing_secret_env: 'HOOK_SECRET' } },
  })
  ws.copy(PROMOTION)
}

const hookEnv = () => ({ HOOK_URL: receiver.endpoint, HOOK_SECRET: CANARY.webhookSecret })
const cli = (args: string[], env: Record<string, string | undefined> = {}) =>
  runCli(args, { cwd: ws.dir, env: { ...hookEnv(), ...env } })
/** The sample promotion delivered to the test hook, into the store the flags name. */
const deliverPromotion = (...storeFlags: string[]) =>
  cli(['release', 'deliver-promotion-audit', 'rollout-promotion-execution.json', ...storeFlags])

function exitOf(child: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((resolve) => child.on('close', (code) => resolve(code)))
}

async function schemaExists(url: string): Promise<boolean> {
  const sql = connect(url)
  try {
    const [row] = await sql<{ present: boolean }[]>`SELECT to_regnamespace('cavra') IS NOT NULL AS present`
    return row!.present
  } finally {
    await sql.end()
  }
}

/** Deliveries of every shape history and dashboards read, with failures, ties and hostile text. */
function syntheticItems(count: number): StoreItem[] {
  const providers = [
    ['splunk-prod', 'splunk', 'siem'],
    ['webhook', 'webhook', 'webhook'],
    ['jira', 'jira', 'itsm'],
    ['jamf', 'jamf', 'endpoint'],
  ] as const
  const items: StoreItem[] = [
    // The earlier tool's format: no hashes, only provider lists.
    {
      session_id: 'legacy-1',
      metadata_kind: 'release-connector-delivery',
      created_at: '2026-10-01T00:00:00Z',
      event_id: 'rpe_legacy',
      event_type: 'cavra.rollout_promotion_execution',
      providers: ['webhook'],
      failed_providers: [],
    },
  ]
  let previous = GENESIS_HASH
  for (let i = 0; i < count; i++) {
    const publication = i % 5 === 4
    const chosen = publication ? [providers[3]] : providers.slice(0, 1 + (i % 3))
    // Several items share a time, so ties are broken by store order in both stores.
    const created = new Date(Date.UTC(2026, 10, 1 + (i % 20), i % 7)).toISOString()
    const eventId = `evt_${i % 9}\u001b[31m`
    const deliveries = chosen.map(([provider, type, category], n) => ({
      provider,
      provider_type: type,
      category,
      success: (i + n) % 4 !== 0,
      status_code: (i + n) % 4 !== 0 ? 200 : 503,
      attempt_count: 1 + ((i + n) % 3),
      duration_ms: i % 11 === 0 ? null : 100 + ((i * 37 + n * 11) % 900),
      error: (i + n) % 4 !== 0 ? null : `503 from ${provider} — délai dépassé ✓ 🚀\n::error::injected`,
      remote_reference: null,
    }))
    const item: StoreItem = {
      schema_version: 'cavra.evidence.metadata.v1',
      product: 'CAVRA',
      session_id: `${publication ? 'epd' : 'rcd'}-${i}`,
      metadata_kind: publication
        ? 'endpoint-management-publication-delivery'
        : i % 2 === 0
          ? 'release-connector-delivery'
          : 'integration-connector-delivery',
      created_at: created,
      event_id: eventId,
      event_type: i % 3 === 0 ? 'cavra.rollout_rollback_execution' : 'cavra.rollout_promotion_execution',
      severity: 'high',
      delivery_success: deliveries.every((d) => d.success),
      providers: deliveries.map((d) => d.provider),
      failed_providers: deliveries.filter((d) => !d.success).map((d) => d.provider),
      deliveries,
      attempt_count: deliveries.reduce((sum, d) => sum + d.attempt_count, 0),
      delivery_evidence: `/evidence/${i}.json`,
      ...(publication
        ? {
            publication_id: `pub_${i}`,
            export_id: `eme_${i % 4}`,
            channel: i % 2 ? 'stable' : 'beta',
            release: { version: `1.${i}` },
          }
        : {}),
    }
    const sealed = seal(item, previous)
    previous = sealed.record_hash as string
    items.push(sealed)
  }
  return items
}

describe('the PostgreSQL store', () => {
  it('answers history, dashboards and verify exactly as the JSON file holding the same items', {
    timeout: 240_000,
  }, async () => {
    setUp()
    const url = await freshDatabase()
    const file = ws.path('metadata.json')
    writeFileSync(file, wholeDocument(syntheticItems(240).map((item) => canonicalJson(item))))
    const imported = await cli(['metadata', 'import', file, '--metadata-url', url, '--json'])
    expect(imported.code, imported.stderr).toBe(0)
    expect(JSON.parse(imported.stdout)).toMatchObject({ items: 241, legacy_items: 1, chained_items: 240 })
    // The import adds up the running totals as rows pass: they hold what SQL counts from the rows.
    const check = connect(url)
    try {
      const differences = await check<{ table: string; rows: number }[]>`
        SELECT 'provider_totals' AS table, count(*)::int AS rows FROM (
          (SELECT metadata_kind, provider, provider_type, deliveries, succeeded, attempts FROM cavra.provider_totals
           EXCEPT SELECT metadata_kind, provider, provider_type, count(*), count(*) FILTER (WHERE success), sum(attempt_count)
             FROM cavra.deliveries GROUP BY 1, 2, 3)
          UNION ALL
          (SELECT metadata_kind, provider, provider_type, count(*), count(*) FILTER (WHERE success), sum(attempt_count)
             FROM cavra.deliveries GROUP BY 1, 2, 3
           EXCEPT SELECT metadata_kind, provider, provider_type, deliveries, succeeded, attempts FROM cavra.provider_totals)) d
        UNION ALL
        SELECT 'provider_durations', count(*)::int FROM (
          (SELECT metadata_kind, provider, duration_ms, deliveries FROM cavra.provider_durations
           EXCEPT SELECT metadata_kind, provider, duration_ms, count(*) FROM cavra.deliveries
             WHERE duration_ms IS NOT NULL GROUP BY 1, 2, 3)
          UNION ALL
          (SELECT metadata_kind, provider, duration_ms, count(*) FROM cavra.deliveries
             WHERE duration_ms IS NOT NULL GROUP BY 1, 2, 3
           EXCEPT SELECT metadata_kind, provider, duration_ms, deliveries FROM cavra.provider_durations)) d
        UNION ALL
        SELECT 'event_type_totals', count(*)::int FROM (
          (SELECT metadata_kind, event_type, records, ARRAY[newest_sort_ms, newest_position::float8] FROM cavra.event_type_totals
           EXCEPT SELECT metadata_kind, record_event_type, count(*), max(ARRAY[sort_ms, position::float8])
             FROM cavra.deliveries WHERE ordinal = 0 GROUP BY 1, 2)
          UNION ALL
          (SELECT metadata_kind, record_event_type, count(*), max(ARRAY[sort_ms, position::float8])
             FROM cavra.deliveries WHERE ordinal = 0 GROUP BY 1, 2
           EXCEPT SELECT metadata_kind, event_type, records, ARRAY[newest_sort_ms, newest_position::float8] FROM cavra.event_type_totals)) d`
      expect(differences.map((difference) => [difference.table, difference.rows])).toEqual([
        ['provider_totals', 0],
        ['provider_durations', 0],
        ['event_type_totals', 0],
      ])
      const [{ totals }] = await check<
        [{ totals: number }]
      >`SELECT count(*)::int AS totals FROM cavra.provider_totals`
      expect(totals).toBeGreaterThan(0)
    } finally {
      await check.end()
    }

    const queries = [
      ['release', 'connector-delivery-history', '--limit', '1000'],
      ['release', 'connector-delivery-history', '--provider', 'webhook', '--no-success'],
      [
        'release',
        'connector-delivery-history',
        '--provider',
        'splunk',
        '--since',
        '2026-11-10',
        '--limit',
        '7',
        '--offset',
        '3',
      ],
      [
        'release',
        'connector-delivery-history',
        '--event-type',
        'cavra.rollout_rollback_execution',
        '--success',
      ],
      ['release', 'connector-delivery-history', '--event-id', 'evt_4\u001b[31m'],
      ['release', 'endpoint-publication-history', '--export-id', 'eme_0'],
      ['release', 'endpoint-publication-history', '--channel', 'stable', '--limit', '5'],
      ['release', 'connector-delivery-dashboard', '--format', 'json'],
      ['release', 'connector-delivery-dashboard', '--format', 'json', '--since', '2026-11-15T00:00:00Z'],
      ['release', 'endpoint-publication-dashboard', '--format', 'json'],
      ['release', 'endpoint-publication-dashboard', '--format', 'json', '--since', '2026-11-12'],
      ['release', 'connector-delivery-dashboard', '--format', 'markdown'],
      ['metadata', 'verify'],
    ]
    const withoutTime = (text: string) =>
      text
        .replace(/"generated_at": "[^"]+"/g, '')
        .replaceAll(file, 'STORE')
        .replaceAll(url.replace(/:[^:@]+@/, '@'), 'STORE')
    for (const query of queries) {
      const fromFile = await cli([...query, '--json', '--metadata-json', file])
      const fromDatabase = await cli([...query, '--json', '--metadata-url', url])
      expect(fromFile.code, `${query.join(' ')}: ${fromFile.stderr}`).toBe(0)
      expect(fromDatabase.code, `${query.join(' ')}: ${fromDatabase.stderr}`).toBe(0)
      expect(withoutTime(fromDatabase.stdout), query.join(' ')).toBe(withoutTime(fromFile.stdout))
    }
  })

  it('keeps its running totals right through appends, and brings version 1 and 2 databases up to date on their first write', {
    timeout: 240_000,
  }, async () => {
    setUp()
    const url = await freshDatabase()
    const file = ws.path('metadata.json')
    writeFileSync(file, wholeDocument(syntheticItems(120).map((item) => canonicalJson(item))))
    const imported = await cli(['metadata', 'import', file, '--metadata-url', url])
    expect(imported.code, imported.stderr).toBe(0)
    // What a database written by version 1 looks like: the rows, no running totals.
    const sql = connect(url)
    try {
      await sql.unsafe(
        'DROP TABLE cavra.provider_totals, cavra.provider_durations, cavra.event_type_totals, cavra.open_pairs',
      )
      await sql`DELETE FROM cavra.schema_version WHERE version > 1`
      await sql`INSERT INTO cavra.schema_version (version) VALUES (1) ON CONFLICT DO NOTHING`
    } finally {
      await sql.end()
    }
    const exported = ws.path('exported.json')
    const withoutTime = (text: string) =>
      text
        .replace(/"generated_at": "[^"]+"/g, '')
        .replaceAll(exported, 'STORE')
        .replaceAll(url.replace(/:[^:@]+@/, '@'), 'STORE')
    /** The database answers as the file holding its items does; returns the connector dashboard's alerts. */
    const answersAsItsExport = async (): Promise<number> => {
      const exporting = await cli([
        'metadata',
        'export',
        '--format',
        'json',
        '--output',
        exported,
        '--metadata-url',
        url,
      ])
      expect(exporting.code, exporting.stderr).toBe(0)
      let alerts = 0
      for (const query of [
        ['release', 'connector-delivery-dashboard', '--format', 'json'],
        ['release', 'endpoint-publication-dashboard', '--format', 'json'],
        ['release', 'connector-delivery-history', '--limit', '1000'],
        ['release', 'connector-delivery-history', '--provider', 'webhook', '--no-success'],
      ]) {
        const fromFile = await cli([...query, '--json', '--metadata-json', exported])
        const fromDatabase = await cli([...query, '--json', '--metadata-url', url])
        expect(fromDatabase.code, `${query.join(' ')}: ${fromDatabase.stderr}`).toBe(0)
        expect(withoutTime(fromDatabase.stdout), query.join(' ')).toBe(withoutTime(fromFile.stdout))
        if (query[1] === 'connector-delivery-dashboard')
          alerts = JSON.parse(fromDatabase.stdout).alerts.length
      }
      return alerts
    }
    const schemaVersion = async () => {
      const reader = connect(url)
      try {
        const [row] = await reader<
          { version: number }[]
        >`SELECT max(version) AS version FROM cavra.schema_version`
        return row!.version
      } finally {
        await reader.end()
      }
    }
    const deliver = (env: Record<string, string>) =>
      cli(['release', 'deliver-promotion-audit', 'rollout-promotion-execution.json'], {
        CAVRA_METADATA_URL: url,
        ...env,
      })

    const before = await answersAsItsExport()
    expect(await schemaVersion()).toBe(1)
    const delivered = await deliver({})
    expect(delivered.code, delivered.stderr).toBe(0)
    expect(await schemaVersion()).toBe(3)
    expect(await answersAsItsExport()).toBe(before)
    // The receiver refuses a signature made with another secret: the pair (webhook, this event)
    // now holds an open alert...
    const otherSecret = `whsec_${Buffer.from('a signing secret the receiver lacks!').toString('base64')}`
    const refused = await deliver({ HOOK_SECRET: otherSecret })
    expect(refused.code, refused.stderr).toBe(1)
    expect(await answersAsItsExport()).toBe(before + 1)
    // ...which a later successful delivery of the same event resolves.
    const again = await deliver({})
    expect(again.code, again.stderr).toBe(0)
    expect(await answersAsItsExport()).toBe(before)
    // A database written by version 2 (running totals, no index of the open alerts) gains the
    // index from its next writer, its totals counted once, not again.
    const downgrade = connect(url)
    try {
      await downgrade.unsafe('DROP INDEX cavra.open_pairs_newest')
      await downgrade`DELETE FROM cavra.schema_version WHERE version > 2`
      await downgrade`INSERT INTO cavra.schema_version (version) VALUES (2) ON CONFLICT DO NOTHING`
    } finally {
      await downgrade.end()
    }
    expect(await schemaVersion()).toBe(2)
    expect(await answersAsItsExport()).toBe(before)
    const upgraded = await deliver({})
    expect(upgraded.code, upgraded.stderr).toBe(0)
    expect(await schemaVersion()).toBe(3)
    expect(await answersAsItsExport()).toBe(before)
    const inspect = connect(url)
    try {
      const [{ present }] = await inspect<
        [{ present: boolean }]
      >`SELECT to_regclass('cavra.open_pairs_newest') IS NOT NULL AS present`
      expect(present).toBe(true)
    } finally {
      await inspect.end()
    }
  })

  it('takes release deliveries from many processes at once into one linear chain, nothing lost', {
    timeout: 240_000,
  }, async () => {
    setUp()
    const url = await freshDatabase()
    const run = () =>
      exitOf(
        spawn(
          process.execPath,
          [BIN, 'release', 'deliver-promotion-audit', 'rollout-promotion-execution.json'],
          {
            cwd: ws.dir,
            env: {
              PATH: process.env.PATH,
              HOME: process.env.HOME,
              NO_COLOR: '1',
              ...hookEnv(),
              CAVRA_METADATA_URL: url,
            },
            stdio: 'ignore',
          },
        ),
      )
    const codes = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const mine: (number | null)[] = []
        for (let i = 0; i < 4; i++) mine.push(await run())
        return mine
      }),
    )
    expect(codes.flat()).toEqual(Array(24).fill(0))
    const verify = await cli(['metadata', 'verify', '--json'], { CAVRA_METADATA_URL: url })
    expect(verify.code, verify.stderr).toBe(0)
    expect(JSON.parse(verify.stdout)).toMatchObject({ intact: true, items: 24, chained_items: 24 })
    const exported = await cli(['metadata', 'export', '--format', 'jsonl', '--metadata-url', url])
    const items = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as StoreItem)
    expect(new Set(items.map((item) => item.session_id)).size).toBe(24)
    expect(verifyChain(items)).toMatchObject({ chained: 24, broken: null })
  })

  it('keeps acknowledged items and an intact chain when appenders are killed mid-append', async () => {
    setUp()
    const url = await freshDatabase()
    const script = ws.write(
      'append.mjs',
      `import { openStore } from ${JSON.stringify(join(PROJECT_ROOT, 'dist', 'metadata', 'store.js'))}
const store = openStore({ kind: 'postgres', url: process.env.STORE_URL })
for (let i = 0; ; i++) {
  const item = await store.append({ session_id: process.argv[2] + '-' + i, metadata_kind: 'x', filler: 'y'.repeat(i % 50) })
  process.stdout.write(item.session_id + '\\n')
}
`,
    )
    const acknowledged: string[] = []
    const children = Array.from({ length: 4 }, (_, n) => {
      const child = spawn(process.execPath, [script, `w${n}`], {
        env: { PATH: process.env.PATH, STORE_URL: url },
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      let seen = 0
      const enough = new Promise<void>((resolve) =>
        child.stdout.on('data', (chunk: Buffer) => {
          const ids = chunk.toString().split('\n').filter(Boolean)
          acknowledged.push(...ids)
          seen += ids.length
          if (seen >= 5) resolve()
        }),
      )
      return { child, enough }
    })
    await Promise.all(children.map(({ enough }) => enough))
    for (const { child } of children) child.kill('SIGKILL')
    await Promise.all(children.map(({ child }) => exitOf(child)))
    const verify = await cli(['metadata', 'verify', '--json', '--metadata-url', url])
    expect(verify.code, verify.stdout).toBe(0)
    const exported = await cli(['metadata', 'export', '--format', 'jsonl', '--metadata-url', url])
    const ids = new Set(
      exported.stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as StoreItem).session_id),
    )
    for (const id of acknowledged) expect(ids).toContain(id)
    expect(JSON.parse(verify.stdout)).toMatchObject({ intact: true, items: ids.size })
    // A delivery after the kill continues the same chain.
    const after = await deliverPromotion('--metadata-url', url)
    expect(after.code, after.stderr).toBe(0)
    const again = await cli(['metadata', 'verify', '--json', '--metadata-url', url])
    expect(JSON.parse(again.stdout)).toMatchObject({ intact: true, items: ids.size + 1 })
  })

  it('imports a JSON store and exports it back byte for byte, as JSON and as JSON Lines', async () => {
    setUp()
    const file = ws.path('store', 'metadata.json')
    for (let i = 0; i < 3; i++) {
      const delivered = await deliverPromotion('--metadata-json', file)
      expect(delivered.code, delivered.stderr).toBe(0)
    }
    const original = readFileSync(file, 'utf8')
    const first = await freshDatabase()
    expect((await cli(['metadata', 'import', file, '--metadata-url', first])).code).toBe(0)
    const json = await cli(['metadata', 'export', '--metadata-url', first, '--output', 'copy.json', '--json'])
    expect(json.code, json.stderr).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({ items: 3, format: 'json' })
    expect(readFileSync(ws.path('copy.json'), 'utf8')).toBe(original)

    const jsonl = await cli([
      'metadata',
      'export',
      '--format',
      'jsonl',
      '--metadata-url',
      first,
      '--output',
      'copy.jsonl',
    ])
    expect(jsonl.code, jsonl.stderr).toBe(0)
    const second = await freshDatabase()
    expect((await cli(['metadata', 'import', 'copy.jsonl', '--metadata-url', second])).code).toBe(0)
    const back = await cli(['metadata', 'export', '--metadata-url', second])
    expect(back.stdout).toBe(original)
    const verify = await cli(['metadata', 'verify', '--metadata-url', second])
    expect(verify.code).toBe(0)
    expect(verify.stdout).toMatch(/3 chained items intact/)
    expect(verify.stdout).not.toContain(CANARY.postgresPassword)

    // A store that already holds items is never mixed with another: exit 5, nothing changed.
    const twice = await cli(['metadata', 'import', file, '--metadata-url', second])
    expect(twice.code).toBe(5)
    expect(twice.stderr).toMatch(/already holds a metadata store/)
    expect((await cli(['metadata', 'export', '--metadata-url', second])).stdout).toBe(original)
  })

  it('walks a chain longer than one page for verify and export, every item once and in order', {
    timeout: 120_000,
  }, async () => {
    setUp()
    const url = await freshDatabase()
    const file = ws.path('metadata.json')
    // Pages hold 2,000 items: this store ends one item into its third page.
    const original = wholeDocument(syntheticItems(4_000).map((item) => canonicalJson(item)))
    writeFileSync(file, original)
    const imported = await cli(['metadata', 'import', file, '--metadata-url', url])
    expect(imported.code, imported.stderr).toBe(0)
    const verify = await cli(['metadata', 'verify', '--json', '--metadata-url', url])
    expect(verify.code, verify.stderr).toBe(0)
    expect(JSON.parse(verify.stdout)).toMatchObject({ intact: true, items: 4_001, chained_items: 4_000 })
    const exported = await cli(['metadata', 'export', '--format', 'json', '--metadata-url', url])
    expect(exported.code, exported.stderr).toBe(0)
    expect(exported.stdout).toBe(original)
  })

  it('refuses to import a store whose chain is broken, leaving the database empty', async () => {
    setUp()
    const url = await freshDatabase()
    const items = syntheticItems(5)
    ;(items[3] as { severity: string }).severity = 'low'
    writeFileSync(ws.path('broken.jsonl'), items.map((item) => JSON.stringify(item)).join('\n'))
    const imported = await cli(['metadata', 'import', 'broken.jsonl', '--metadata-url', url])
    expect(imported.code).toBe(5)
    expect(imported.stderr).toMatch(/hash chain is broken at item 4/)
    const history = await cli(['release', 'connector-delivery-history', '--json', '--metadata-url', url])
    expect(JSON.parse(history.stdout)).toMatchObject({ total: 0 })
    const missing = await cli(['metadata', 'import', 'nowhere.json', '--metadata-url', url])
    expect(missing.code).toBe(4)
  })

  it('never creates the schema when only reading; a store never written reads as empty', async () => {
    setUp()
    const url = await freshDatabase()
    const history = await cli(['release', 'connector-delivery-history', '--json'], {
      CAVRA_METADATA_URL: url,
    })
    expect(history.code, history.stderr).toBe(0)
    expect(JSON.parse(history.stdout)).toMatchObject({ items: [], total: 0 })
    const dashboard = await cli([
      'release',
      'connector-delivery-dashboard',
      '--format',
      'json',
      '--metadata-url',
      url,
    ])
    expect(dashboard.code).toBe(0)
    expect(JSON.parse(dashboard.stdout)).toMatchObject({ total_deliveries: 0, alert_level: 'warning' })
    const verify = await cli(['metadata', 'verify', '--metadata-url', url])
    expect(verify.code).toBe(5)
    expect(verify.stderr).toMatch(/nothing to verify/)
    expect(await schemaExists(url)).toBe(false)
    const delivered = await deliverPromotion('--metadata-url', url)
    expect(delivered.code, delivered.stderr).toBe(0)
    expect(await schemaExists(url)).toBe(true)
  })
})

describe('cavra serve on the database', () => {
  it('answers history from the database it shares with the CLI, and never logs the password', async () => {
    setUp()
    const url = await freshDatabase()
    const delivered = await deliverPromotion('--metadata-url', url)
    expect(delivered.code, delivered.stderr).toBe(0)
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--metadata-url', url], {
      cwd: ws.dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...hookEnv() },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    const exit = exitOf(child)
    try {
      const address = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`cavra serve did not start:\n${stderr}`)), 30_000)
        child.stderr.on('data', () => {
          const match = /listening on (http:\/\/[^"\s]+)/.exec(stderr)
          if (match) {
            clearTimeout(timer)
            resolve(match[1]!)
          }
        })
      })
      const answer = await fetch(`${address}/release-connector-deliveries?limit=10`)
      expect(answer.status).toBe(200)
      const fromServer = await answer.json()
      const fromCli = await cli([
        'release',
        'connector-delivery-history',
        '--limit',
        '10',
        '--json',
        '--metadata-url',
        url,
      ])
      expect(fromServer).toEqual(JSON.parse(fromCli.stdout))
      expect(fromServer).toMatchObject({ total: 1 })
    } finally {
      child.kill('SIGTERM')
      expect(await exit).toBe(0)
    }
    expect(stderr).not.toContain(CANARY.postgresPassword)
  })
})

describe('choosing the store', () => {
  it('refuses both store flags (exit 2) and both store variables (exit 3), sending nothing', async () => {
    setUp()
    const url = await freshDatabase()
    const flags = await deliverPromotion('--metadata-json', 'm.json', '--metadata-url', url)
    expect(flags.code).toBe(2)
    const env = await cli(['release', 'deliver-promotion-audit', 'rollout-promotion-execution.json'], {
      CAVRA_METADATA_JSON: 'm.json',
      CAVRA_METADATA_URL: url,
    })
    expect(env.code).toBe(3)
    expect(env.stderr).toMatch(/CAVRA_METADATA_JSON and CAVRA_METADATA_URL are both set/)
    expect(receiver.requests).toHaveLength(0)
    // A flag beats the variables.
    const flagWins = await cli(['release', 'connector-delivery-history', '--json', '--metadata-url', url], {
      CAVRA_METADATA_JSON: 'm.json',
      CAVRA_METADATA_URL: 'postgres://nobody@127.0.0.1:1/none',
    })
    expect(flagWins.code, flagWins.stderr).toBe(0)
    const notPostgres = await cli(['metadata', 'verify', '--metadata-url', 'mysql://u:p@h/d'])
    expect(notPostgres.code).toBe(2)
  })
})

describe('a database that cannot be used', () => {
  it('stops with exit 5 before anything is sent when the database is unreachable', async () => {
    setUp()
    const closed = `postgres://cavra:${CANARY.postgresPassword}@127.0.0.1:1/cavra`
    const delivered = await deliverPromotion('--metadata-url', closed)
    expect(delivered.code).toBe(5)
    expect(delivered.stderr).toMatch(
      /postgres:\/\/cavra@127\.0\.0\.1:1\/cavra: the metadata store is unavailable: cannot reach the database \(ECONNREFUSED\)/,
    )
    expect(receiver.requests).toHaveLength(0)
    const history = await cli(['release', 'connector-delivery-history', '--json', '--metadata-url', closed])
    expect(history.code).toBe(5)
    expect(JSON.parse(history.stdout)).toMatchObject({ error: { code: 'store', exit_code: 5 } })
  })

  it('says so, exit 5, when the password is wrong, and never prints it', async () => {
    setUp()
    const url = new URL(await freshDatabase())
    url.password = `${CANARY.postgresPassword}-wrong`
    const delivered = await deliverPromotion('--metadata-url', url.toString())
    expect(delivered.code).toBe(5)
    expect(delivered.stderr).toMatch(/refused the credentials/)
    expect(delivered.stderr).not.toContain('-wrong')
    expect(receiver.requests).toHaveLength(0)
  })

  it('gives up after the statement timeout while another writer holds the append lock, sending nothing', async () => {
    setUp()
    const url = await freshDatabase()
    const first = await deliverPromotion('--metadata-url', url)
    expect(first.code, first.stderr).toBe(0)
    receiver.reset()
    const holder = connect(url)
    try {
      let release: () => void = () => {}
      const held = new Promise<void>((resolve) => {
        release = resolve
      })
      const locked = new Promise<void>((resolve) => {
        void holder.begin(async (tx) => {
          await tx`SELECT pg_advisory_xact_lock(${0x63617672})`
          resolve()
          await held
        })
      })
      await locked
      const blocked = await cli(
        ['release', 'deliver-promotion-audit', 'rollout-promotion-execution.json', '--metadata-url', url],
        { CAVRA_METADATA_STATEMENT_TIMEOUT_MS: '1000' },
      )
      release()
      expect(blocked.code).toBe(5)
      expect(blocked.stderr).toMatch(/statement timeout/)
      expect(receiver.requests).toHaveLength(0)
    } finally {
      await holder.end()
    }
  })
})
