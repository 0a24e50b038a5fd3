import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { verifyChain } from '../../src/metadata/chain.js'
import { WebhookReceiver } from '../emulators/webhook-receiver.js'
import { CANARY } from '../support/canaries.js'
import { BIN, expectNoLeaksUnder, PROJECT_ROOT, runCli } from '../support/cli.js'
import { Workspace } from '../support/workspace.js'

/**
 * The metadata store under the conditions the earlier tool failed (original weaknesses 2 and
 * 17): many processes appending at once, processes killed mid-write, damaged documents, and a
 * lock that is never released. Run with the built CLI and real processes.
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
  ws = new Workspace('cavra-store-')
  ws.write('.cavra/connectors.json', {
    connectors: { webhook: { url_env: 'HOOK_URL', signing_secret_env: 'HOOK_SECRET' } },
  })
  ws.copy(PROMOTION)
}

const env = () => ({ HOOK_URL: receiver.endpoint, HOOK_SECRET: CANARY.webhookSecret })

/** Spawns the CLI without waiting (concurrency and kill tests). */
function spawnCli(args: string[], extraEnv: Record<string, string> = {}) {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: ws.dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env(), ...extraEnv },
    stdio: 'ignore',
  })
}

function exitOf(child: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((resolve) => child.on('close', (code) => resolve(code)))
}

function storeItems(path: string): Array<Record<string, unknown>> {
  return JSON.parse(readFileSync(path, 'utf8')).items
}

describe('concurrent deliveries into one store', () => {
  it('8 processes delivering 5 times each end with exactly 40 items and an intact chain, every round', async () => {
    for (let round = 1; round <= 3; round++) {
      setUp()
      const store = ws.path('store', 'metadata.json')
      const workers = Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 5; i++) {
          const code = await exitOf(
            spawnCli([
              'release',
              'deliver-promotion-audit',
              'rollout-promotion-execution.json',
              '--metadata-json',
              store,
            ]),
          )
          expect(code).toBe(0)
        }
      })
      await Promise.all(workers)
      const items = storeItems(store)
      expect(items, `round ${round}`).toHaveLength(40)
      expect(verifyChain(items).broken, `round ${round}`).toBeNull()
      expect(new Set(items.map((item) => item.session_id)).size).toBe(40)
      expect(readdirSync(ws.path('.cavra/release/promotion-audit-deliveries'))).toHaveLength(40)
      const verify = await runCli(['metadata', 'verify', '--metadata-json', store], { cwd: ws.dir })
      expect(verify.code).toBe(0)
      expect(verify.stdout).toContain('40 items: 40 chained items intact')
      if (round < 3) {
        expectNoLeaksUnder(ws.dir)
        ws.remove()
      }
    }
  }, 240_000)
})

describe('processes killed while appending', () => {
  it('lose no acknowledged item, and every later command reads and repairs the store', async () => {
    setUp()
    const store = ws.path('metadata.json')
    // Each appender says which item it appended once the append returned (acknowledged).
    const appender = ws.write(
      'appender.mjs',
      `import { openStore } from ${JSON.stringify(join(PROJECT_ROOT, 'dist/metadata/store.js'))}
const store = openStore(process.argv[2])
for (let i = 0; ; i++) {
  const id = 'crash-' + process.pid + '-' + i
  await store.append({ session_id: id, metadata_kind: 'release-connector-delivery', created_at: new Date().toISOString(), padding: 'x'.repeat(2000 + (i % 7) * 997) })
  process.stdout.write(id + '\\n')
}
`,
    )
    const acknowledged: string[] = []
    let repairs = 0
    for (let round = 0; round < 12; round++) {
      const children = Array.from({ length: 3 }, () => {
        const child = spawn(process.execPath, [appender, store], {
          stdio: ['ignore', 'pipe', 'ignore'],
          cwd: ws.dir,
        })
        let output = ''
        child.stdout!.on('data', (chunk) => {
          output += chunk
        })
        return { child, output: () => output }
      })
      // Each appender has acknowledged an item (however slow the machine is), then the kills
      // land at a random moment of the appends that follow.
      await Promise.all(
        children.map(
          ({ child }) =>
            new Promise((resolve) => {
              child.stdout!.once('data', resolve)
              child.once('close', resolve)
              setTimeout(resolve, 20_000)
            }),
        ),
      )
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 300)))
      for (const { child } of children) child.kill('SIGKILL')
      await Promise.all(children.map(({ child }) => exitOf(child)))
      for (const { output } of children) acknowledged.push(...output().split('\n').filter(Boolean))
      if (!existsSync(store)) continue
      // The killed processes cannot release their lock; no cavra process runs now.
      rmSync(`${store}.lock`, { recursive: true, force: true })
      // Readers read every complete item whatever the kill left, and say when a repair is pending.
      const history = await runCli(['metadata', 'verify', '--metadata-json', store, '--json'], {
        cwd: ws.dir,
      })
      expect(history.code, history.stderr).toBe(0)
      if (/interrupted/.test(history.stderr)) repairs++
    }
    // The next delivery repairs the end and appends; the document is whole again.
    const run = await runCli(
      ['release', 'deliver-promotion-audit', PROMOTION.split('/').pop()!, '--metadata-json', store],
      {
        cwd: ws.dir,
        env: env(),
      },
    )
    expect(run.code, run.stderr).toBe(0)
    const items = storeItems(store)
    const ids = new Set(items.map((item) => item.session_id))
    for (const id of acknowledged) expect(ids.has(id), `acknowledged ${id} is missing`).toBe(true)
    expect(verifyChain(items).broken).toBeNull()
    expect(acknowledged.length).toBeGreaterThan(12)
    // Kills land mid-append often enough to see the repair path; any torn bytes were kept aside.
    const aside = readdirSync(ws.dir).filter((name) => name.startsWith('metadata.json.torn-'))
    expect(aside.length > 0 || repairs === 0).toBe(true)
  }, 120_000)

  it('lets the next process take over the lock of a process that died holding it', async () => {
    setUp()
    const store = ws.path('metadata.json')
    const holder = ws.write(
      'holder.mjs',
      `import lockfile from ${JSON.stringify(join(PROJECT_ROOT, 'node_modules/proper-lockfile/index.js'))}
await lockfile.lock(process.argv[2], { realpath: false, stale: 5000, update: 2500 })
process.stdout.write('locked\\n')
setInterval(() => {}, 1000)
`,
    )
    const child = spawn(process.execPath, [holder, store], { stdio: ['ignore', 'pipe', 'ignore'] })
    await new Promise((resolve) => child.stdout!.once('data', resolve))
    child.kill('SIGKILL')
    await exitOf(child)
    const started = Date.now()
    const run = await runCli(
      ['release', 'deliver-promotion-audit', 'rollout-promotion-execution.json', '--metadata-json', store],
      {
        cwd: ws.dir,
        env: env(),
      },
    )
    expect(run.code, run.stderr).toBe(0)
    expect(Date.now() - started).toBeLessThan(15_000)
    expect(storeItems(store)).toHaveLength(1)
  }, 60_000)
})

describe('a lock that is never released', () => {
  it('gives exit 5 after the bounded wait, with the evidence written and a clear message', async () => {
    setUp()
    const store = ws.path('metadata.json')
    const holder = ws.write(
      'holder.mjs',
      `import lockfile from ${JSON.stringify(join(PROJECT_ROOT, 'node_modules/proper-lockfile/index.js'))}
await lockfile.lock(process.argv[2], { realpath: false, stale: 5000, update: 1000 })
process.stdout.write('locked\\n')
setInterval(() => {}, 1000)
`,
    )
    const child = spawn(process.execPath, [holder, store], { stdio: ['ignore', 'pipe', 'ignore'] })
    try {
      await new Promise((resolve) => child.stdout!.once('data', resolve))
      const run = await runCli(
        ['release', 'deliver-promotion-audit', 'rollout-promotion-execution.json', '--metadata-json', store],
        {
          cwd: ws.dir,
          env: { ...env(), CAVRA_METADATA_LOCK_WAIT_MS: '1500' },
        },
      )
      expect(run.code).toBe(5)
      expect(run.stderr).toMatch(
        /metadata\.json\.lock for over 2 s; the delivery was made and its evidence written, but it was not indexed/,
      )
      expect(run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/)
      expect(readdirSync(ws.path('.cavra/release/promotion-audit-deliveries'))).toHaveLength(1)
    } finally {
      child.kill('SIGKILL')
      await exitOf(child)
    }
  }, 60_000)
})

describe('a damaged store', () => {
  const damage: Array<{ name: string; content: (valid: string) => string; problem: RegExp }> = [
    {
      name: 'truncated inside its first line',
      content: (valid) => valid.slice(0, 30),
      problem: /not valid JSON/,
    },
    { name: 'not JSON', content: () => '{not json', problem: /not valid JSON/ },
    {
      name: 'wrong shape',
      content: () => '{"items": {"a": 1}}',
      problem: /"items" is missing or not an array/,
    },
    {
      name: 'an edited item',
      content: (valid) => valid.replace('"delivery_success":true', '"delivery_success":false'),
      problem: /hash chain is broken at item 1 .*record_hash does not match the item/,
    },
  ]

  for (const row of damage) {
    it(`(${row.name}) is left byte-identical; delivery, history, dashboard and verify all exit 5`, async () => {
      setUp()
      const store = ws.path('metadata.json')
      const first = await runCli(
        ['release', 'deliver-promotion-audit', 'rollout-promotion-execution.json', '--metadata-json', store],
        {
          cwd: ws.dir,
          env: env(),
        },
      )
      expect(first.code, first.stderr).toBe(0)
      writeFileSync(store, row.content(readFileSync(store, 'utf8')))
      const before = readFileSync(store)
      const mtime = statSync(store).mtimeMs
      receiver.reset()

      const deliver = await runCli(
        ['release', 'deliver-promotion-audit', 'rollout-promotion-execution.json', '--metadata-json', store],
        {
          cwd: ws.dir,
          env: env(),
        },
      )
      expect(deliver.code).toBe(5)
      expect(deliver.stderr).toContain(store)
      expect(deliver.stderr).toMatch(row.problem)
      expect(receiver.requests, 'nothing may be sent when the store cannot take the item').toHaveLength(0)
      for (const args of [
        ['release', 'connector-delivery-history'],
        ['release', 'connector-delivery-dashboard'],
        ['release', 'endpoint-publication-history'],
        ['metadata', 'verify'],
      ]) {
        const read = await runCli([...args, '--metadata-json', store], { cwd: ws.dir })
        expect(read.code, args.join(' ')).toBe(5)
        expect(`${read.stdout}${read.stderr}`).toMatch(
          row.name === 'an edited item' && args[0] === 'metadata' ? /BROKEN/ : row.problem,
        )
      }
      expect(readFileSync(store).equals(before)).toBe(true)
      expect(statSync(store).mtimeMs).toBe(mtime)
    })
  }

  it('cut inside its last item is an interrupted append: read with a notice, repaired by the next delivery', async () => {
    setUp()
    const store = ws.path('metadata.json')
    const deliver = () =>
      runCli(
        ['release', 'deliver-promotion-audit', 'rollout-promotion-execution.json', '--metadata-json', store],
        {
          cwd: ws.dir,
          env: env(),
        },
      )
    for (let i = 0; i < 2; i++) expect((await deliver()).code).toBe(0)
    const whole = readFileSync(store, 'utf8')
    const cut = whole.slice(0, whole.length - 200)
    writeFileSync(store, cut)
    const history = await runCli(
      ['release', 'connector-delivery-history', '--metadata-json', store, '--json'],
      {
        cwd: ws.dir,
      },
    )
    expect(history.code, history.stderr).toBe(0)
    expect(JSON.parse(history.stdout).total).toBe(1)
    expect(history.stderr).toMatch(/incomplete|interrupted/)
    expect(readFileSync(store, 'utf8')).toBe(cut)
    const run = await deliver()
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toMatch(/moved to .*metadata\.json\.torn-\d{8}T\d{6}Z/)
    const aside = readdirSync(ws.dir).filter((name) => name.startsWith('metadata.json.torn-'))
    expect(aside).toHaveLength(1)
    expect(cut.endsWith(readFileSync(join(ws.dir, aside[0]!), 'utf8'))).toBe(true)
    expect(storeItems(store)).toHaveLength(2)
    const verify = await runCli(['metadata', 'verify', '--metadata-json', store], { cwd: ws.dir })
    expect(verify.stdout).toContain('2 items: 2 chained items intact')
  })

  it('verify reports the first broken link: position, session_id, expected and found', async () => {
    setUp()
    const store = ws.path('metadata.json')
    for (let i = 0; i < 3; i++) {
      const run = await runCli(
        ['release', 'deliver-promotion-audit', 'rollout-promotion-execution.json', '--metadata-json', store],
        {
          cwd: ws.dir,
          env: env(),
        },
      )
      expect(run.code).toBe(0)
    }
    const document = JSON.parse(readFileSync(store, 'utf8'))
    document.items[1].severity = 'low'
    writeFileSync(store, JSON.stringify(document, null, 2))
    const run = await runCli(['metadata', 'verify', '--metadata-json', store, '--json'], { cwd: ws.dir })
    expect(run.code).toBe(5)
    const report = JSON.parse(run.stdout)
    expect(report).toMatchObject({
      intact: false,
      items: 3,
      chained_items: 1,
      broken: {
        position: 2,
        session_id: document.items[1].session_id,
        field: 'record_hash',
        found: document.items[1].record_hash,
      },
    })
    expect(report.broken.expected).toMatch(/^[0-9a-f]{64}$/)
    expect(report.broken.expected).not.toBe(report.broken.found)
  })

  it('reads the earlier tool’s format as a legacy prefix and chains new items after it', async () => {
    setUp()
    const store = ws.write('metadata.json', {
      items: [
        {
          session_id: 'rcd-legacy-1',
          metadata_kind: 'release-connector-delivery',
          created_at: '2026-10-01T10:00:00Z',
          event_id: 'rpe_legacy',
          event_type: 'cavra.rollout_promotion_execution',
          providers: ['webhook', 'jira'],
          failed_providers: ['jira'],
          delivery_success: false,
        },
      ],
    })
    const run = await runCli(
      ['release', 'deliver-promotion-audit', 'rollout-promotion-execution.json', '--metadata-json', store],
      {
        cwd: ws.dir,
        env: env(),
      },
    )
    expect(run.code, run.stderr).toBe(0)
    const verify = await runCli(['metadata', 'verify', '--metadata-json', store], { cwd: ws.dir })
    expect(verify.code).toBe(0)
    expect(verify.stdout).toContain('2 items: 1 legacy items without integrity, 1 chained items intact')
    const history = await runCli(
      ['release', 'connector-delivery-history', '--metadata-json', store, '--json'],
      { cwd: ws.dir },
    )
    const rows = JSON.parse(history.stdout).items
    expect(rows.map((row: { provider: string; success: boolean }) => [row.provider, row.success])).toEqual([
      ['webhook', true],
      ['webhook', true],
      ['jira', false],
    ])
  })

  it('a missing store reads as empty for readers and is exit 5 for verify', async () => {
    setUp()
    const history = await runCli(['release', 'connector-delivery-history', '--json'], { cwd: ws.dir })
    expect(history.code).toBe(0)
    expect(JSON.parse(history.stdout)).toMatchObject({ items: [], total: 0 })
    const verify = await runCli(['metadata', 'verify'], { cwd: ws.dir })
    expect(verify.code).toBe(5)
    expect(verify.stderr).toMatch(/nothing to verify/)
    expect(existsSync(ws.path('.cavra/evidence/metadata.json'))).toBe(false)
  })
})
