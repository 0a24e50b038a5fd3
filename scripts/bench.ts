import { spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  type WriteStream,
  writeFileSync,
} from 'node:fs'
import { createServer, type Server } from 'node:http'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { GENESIS_HASH, seal } from '../src/metadata/chain.js'
import { deliveryItem } from '../src/metadata/items.js'
import { CLOSING, headerLine, itemLine } from '../src/metadata/store-layout.js'
import { SplunkHecEmulator } from '../test/emulators/splunk-hec.js'
import { startThrowawayPostgres } from '../test/support/postgres-server.js'

/**
 * `npm run bench`: the performance targets, each as a ratio against a baseline or a floor
 * measured in the same run on the same machine (absolute numbers drift between machines and
 * runs). Runs are interleaved (a, b, c, a, b, c, ...) and the median of each is kept, so a
 * burst of load elsewhere on the machine hits every contender alike.
 *
 * Sizes and repetitions for quick runs: BENCH_DECISIONS (100000), BENCH_STORE_ITEMS (100000),
 * BENCH_RUNS (start-up and append repetitions, 21), BENCH_HEAVY_RUNS (bulk and store
 * repetitions, 3), BENCH_PG_ITEMS (the PostgreSQL store, 1000000). Section names on
 * the command line run only those (`npm run bench -- postgres`). BENCH_KEEP=1 keeps the
 * generated bundles and stores and prints their folder.
 */

const root = join(import.meta.dirname, '..')
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 100_000)
const STORE_ITEMS = Number(process.env.BENCH_STORE_ITEMS ?? 100_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 21)
const HEAVY_RUNS = Number(process.env.BENCH_HEAVY_RUNS ?? 3)
const PG_ITEMS = Number(process.env.BENCH_PG_ITEMS ?? 1_000_000)
const node = process.execPath
const cli = join(root, 'bin', 'run.js')
const binary = join(root, 'out', 'cavra')
const work = mkdtempSync(join(tmpdir(), 'cavra-bench-'))
/** GNU time reports a child's peak RSS as the kernel counts it (ru_maxrss of the command alone). */
const gnuTime = ['/usr/bin/time', '/bin/time'].find((path) => existsSync(path))

interface Measure {
  ms: number
  /** Peak resident set size, when asked for. */
  rssMb: number
  code: number
}

type Command = { command: string; args: string[]; env?: NodeJS.ProcessEnv; cwd?: string }

function run(target: Command, rss = false): Promise<Measure> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint()
    const [command, args] =
      rss && gnuTime
        ? [gnuTime, ['-f', 'BENCH_MAXRSS_KB %M', target.command, ...target.args]]
        : [target.command, target.args]
    const child = spawn(command, args, {
      cwd: target.cwd ?? work,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...target.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-20_000)
    })
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      const kb = Number(/BENCH_MAXRSS_KB (\d+)/.exec(stderr)?.[1] ?? Number.NaN)
      if (code !== 0) {
        process.stderr.write(
          `${target.command} ${target.args.join(' ')} exited ${code}:\n${stderr.slice(-2000)}\n`,
        )
      }
      resolve({ ms, rssMb: kb / 1024, code: code ?? 1 })
    })
  })
}

/**
 * Runs every contender once per round, in a rotating order, `rounds` times (after one
 * unmeasured warm-up each), and keeps each one's median time and median peak RSS.
 */
async function interleaved(
  rounds: number,
  contenders: Record<string, Command>,
  options: { rss?: boolean; after?: (name: string) => void | Promise<void>; warmUp?: boolean } = {},
): Promise<Record<string, Measure>> {
  const names = Object.keys(contenders)
  const results: Record<string, Measure[]> = Object.fromEntries(names.map((name) => [name, []]))
  if (options.warmUp !== false) {
    for (const name of names) {
      await run(contenders[name]!)
      await options.after?.(name)
    }
  }
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!
      results[name]!.push(await run(contenders[name]!, options.rss))
      await options.after?.(name)
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  return Object.fromEntries(
    names.map((name) => {
      const list = results[name]!
      return [
        name,
        {
          ms: median(list.map((m) => m.ms)),
          rssMb: median(list.map((m) => m.rssMb)),
          code: Math.max(...list.map((m) => m.code)),
        },
      ]
    }),
  )
}

// ---------------------------------------------------------------------------------------------
// Report

interface Row {
  row: string
  value: string
  ratio: string
  target: string
  ok: boolean | null
}

const rows: Row[] = []

function ratioRow(
  row: string,
  measured: Measure,
  baseline: Measure,
  target: number | null,
  detail = '',
): void {
  const ratio = measured.ms / baseline.ms
  rows.push({
    row,
    value: `${measured.ms.toFixed(0)} ms${detail}`,
    ratio: `${ratio.toFixed(2)}x`,
    target: target === null ? '' : `<= ${target.toFixed(2)}x`,
    ok: target === null ? null : ratio <= target && measured.code === 0,
  })
}

function memoryRow(row: string, measured: Measure, baseline: Measure | number, target: number | null): void {
  const base = typeof baseline === 'number' ? baseline : baseline.rssMb
  const ratio = measured.rssMb / base
  rows.push({
    row,
    value: `${measured.rssMb.toFixed(0)} MB`,
    ratio: typeof baseline === 'number' ? '' : `${ratio.toFixed(2)}x`,
    target:
      target === null
        ? ''
        : typeof baseline === 'number'
          ? `<= ${base.toFixed(0)} MB`
          : `<= ${target.toFixed(2)}x`,
    ok: target === null ? null : typeof baseline === 'number' ? measured.rssMb <= base : ratio <= target,
  })
}

/** A row whose target is a time on this machine, not a ratio (the PostgreSQL store's contract). */
function timeRow(row: string, measured: Measure, limitMs: number): void {
  rows.push({
    row,
    value: `${measured.ms.toFixed(0)} ms`,
    ratio: '',
    target: `<= ${(limitMs / 1000).toFixed(0)} s`,
    ok: measured.ms <= limitMs && measured.code === 0,
  })
}

function infoRow(row: string, value: string, ratio = ''): void {
  rows.push({ row, value, ratio, target: '', ok: null })
}

function section(title: string): void {
  rows.push({ row: `## ${title}`, value: '', ratio: '', target: '', ok: null })
}

function printReport(): void {
  const header = { row: 'measure', value: 'median', ratio: 'ratio', target: 'target', ok: null }
  const cells = (r: Row | typeof header) => [
    r.row,
    r.value,
    r.ratio,
    r.target,
    r.ok === null ? '' : r.ok ? 'ok' : 'MISSED',
  ]
  const table = [header, ...rows.filter((r) => !r.row.startsWith('## '))].map(cells)
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)))
  const line = (r: string[]) => `${r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd()
  process.stdout.write(`\n${line(cells(header))}\n`)
  for (const r of rows) {
    if (r.row.startsWith('## ')) process.stdout.write(`\n${r.row.slice(3)}\n`)
    else process.stdout.write(`${line(cells(r))}\n`)
  }
  const missed = rows.filter((r) => r.ok === false)
  process.stdout.write(
    `\n${missed.length === 0 ? 'Every target holds.' : `${missed.length} target(s) missed: ${missed.map((r) => r.row.trim()).join('; ')}.`}\n`,
  )
}

// ---------------------------------------------------------------------------------------------
// Inputs

/** A receiver that reads each request and answers 200, as a webhook endpoint would. */
async function startReceiver(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"ok":true}')
    })
  })
  server.keepAliveTimeout = 1000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as { port: number }
  return { url: `http://127.0.0.1:${address.port}/hooks/cavra`, server }
}

function writer(file: string): { write(text: string): Promise<void>; end(): Promise<void> } {
  const out: WriteStream = createWriteStream(file)
  return {
    write: (text) =>
      new Promise<void>((resolve) => (out.write(text) ? resolve() : out.once('drain', resolve))),
    end: () => new Promise<void>((resolve) => out.end(resolve)),
  }
}

const SESSION = `bench-${randomUUID()}`
const EVENT_TYPE = 'cavra.evidence_bundle'

/**
 * An evidence bundle with `decisions` decisions, and (when `batches` is given) the HEC
 * requests that deliver it, serialised ahead, at most 1 MB each, as the floor posts them.
 */
async function writeBundle(file: string, decisions: number, batches?: string): Promise<void> {
  const out = writer(file)
  const bodies = batches ? writer(batches) : undefined
  const lengths: number[] = []
  let batch: string[] = []
  let batchBytes = 0
  const hec = async (event: Record<string, unknown>, fields: Record<string, unknown>, severity: string) => {
    if (!bodies) return
    const text = JSON.stringify({
      time: Date.parse('2026-11-28T14:01:02Z') / 1000,
      source: 'cavra',
      sourcetype: 'cavra:evidence:json',
      fields: { event_id: SESSION, event_type: EVENT_TYPE, record_type: fields.record_type, severity },
      event,
    })
    const bytes = Buffer.byteLength(text)
    if (batch.length > 0 && batchBytes + bytes > 1_000_000) {
      await bodies.write(batch.join(''))
      lengths.push(batchBytes)
      batch = []
      batchBytes = 0
    }
    batch.push(text)
    batchBytes += bytes
  }
  const header = {
    schema_version: 'cavra.siem-event.v1',
    event_type: EVENT_TYPE,
    session_id: SESSION,
    timestamp: '2026-11-28T14:03:11Z',
    max_severity: 'critical',
    decision_count: decisions,
  }
  await out.write(`${JSON.stringify(header).slice(0, -1)},"decisions":[`)
  const summary = {
    ...header,
    record_type: 'summary',
    event_id: SESSION,
    severity: 'critical',
    product: 'CAVRA',
  }
  await hec(summary, summary, 'critical')
  let chunk = ''
  for (let i = 0; i < decisions; i++) {
    const decision = {
      decision_id: `dec-${i}`,
      timestamp: '2026-11-28T14:01:02Z',
      action_type: 'shell_command',
      command: `tool --flag value-${i} ${'x'.repeat(64)}`,
      decision: i % 7 === 0 ? 'block' : 'allow',
      severity: i % 7 === 0 ? 'high' : 'low',
      reason: 'benchmark decision with a realistic amount of text in its reason field',
      policy_id: 'bench.policy',
    }
    chunk += `${i === 0 ? '' : ','}${JSON.stringify(decision)}`
    if (chunk.length > 1 << 20) {
      await out.write(chunk)
      chunk = ''
    }
    const record = {
      ...decision,
      record_type: 'decision',
      event_id: SESSION,
      event_type: EVENT_TYPE,
      session_id: SESSION,
      decision_index: i,
      product: 'CAVRA',
    }
    await hec(record, record, decision.severity)
  }
  await out.write(`${chunk}]}\n`)
  await out.end()
  if (bodies) {
    if (batch.length > 0) {
      await bodies.write(batch.join(''))
      lengths.push(batchBytes)
    }
    await bodies.end()
    writeFileSync(`${batches}.json`, JSON.stringify(lengths))
  }
}

const PROVIDERS = [
  ['splunk', 'siem'],
  ['sentinel', 'siem'],
  ['datadog', 'siem'],
  ['slack', 'chatops'],
  ['teams', 'chatops'],
  ['jira', 'itsm'],
  ['servicenow', 'itsm'],
  ['webhook', 'webhook'],
] as const

/**
 * A metadata store of `items` release deliveries to eight connectors each (one in eleven with
 * a failed, retried Datadog delivery), sealed into the hash chain as cavra writes them.
 */
async function writeStore(file: string, items: number): Promise<void> {
  const out = writer(file)
  let head = GENESIS_HASH
  let text = `${headerLine()}\n`
  const start = Date.parse('2026-01-01T00:00:00Z')
  // What each connector answers with, as the store keeps it (an ack, a message, an issue...).
  const references = (i: number): (string | null)[] => [
    String(i),
    null,
    null,
    `1767225600.${String(i).padStart(6, '0')}`,
    null,
    `https://acme.atlassian.net/browse/SEC-${10_000 + i}`,
    `https://acme.service-now.com/nav_to.do?uri=change_request.do?sys_id=${i.toString(16).padStart(32, '0')}`,
    `msg_${i.toString(16).padStart(24, '0')}`,
  ]
  for (let i = 0; i < items; i++) {
    const at = new Date(start + i * 60_000).toISOString()
    const failed = i % 11 === 0
    const eventId = `rpe_${((i * 2654435761) >>> 0).toString(16).padStart(12, '0')}`
    const result = {
      schema_version: 'cavra.connector.delivery.v1',
      product: 'CAVRA',
      event_type: i % 3 === 0 ? 'cavra.rollout_rollback_execution' : 'cavra.rollout_promotion_execution',
      event_id: eventId,
      session_id: null,
      severity: 'high' as const,
      generated_at: at,
      success: !failed,
      source_artifact: {
        path: `/home/runner/work/payments-api/payments-api/release/stable/rollout-promotion-execution-${i}.json`,
        sha256: i.toString(16).padStart(8, '0').repeat(8),
      },
      deliveries: PROVIDERS.map(([provider, category], k) => {
        const broken = failed && k === 2
        return {
          provider,
          provider_type: provider,
          category,
          success: !broken,
          status_code: broken ? 503 : 200,
          attempt_count: broken ? 4 : 1,
          duration_ms: 100 + ((i * 7 + k * 13) % 900),
          started_at: new Date(start + i * 60_000 + k * 3).toISOString(),
          completed_at: new Date(start + i * 60_000 + k * 3 + 100 + ((i * 7 + k * 13) % 900)).toISOString(),
          error: broken
            ? 'HTTP 503 from Datadog after 4 attempts: Service Unavailable (retry after 30 s)'
            : null,
          remote_reference: broken ? null : references(i)[k],
          deduplicated: false,
        }
      }),
    }
    const item = deliveryItem(result as never, {
      kind: 'release-connector-delivery',
      source: 'release_governance_promotion',
      evidencePath: `.cavra/release/promotion-audit-deliveries/${eventId}-20260101T000000Z-connector-delivery.json`,
    })
    const sealed = seal(item, head)
    head = sealed.record_hash as string
    text += `${i > 0 ? ',' : ''}${itemLine(sealed)}\n`
    if (text.length > 1 << 20) {
      await out.write(text)
      text = ''
    }
  }
  await out.write(`${text}${CLOSING}`)
  await out.end()
}

function machine(): string {
  const model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model
  return `${model}, ${cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`
}

// ---------------------------------------------------------------------------------------------

async function startUp(): Promise<void> {
  const receiver = await startReceiver()
  const event = join(root, 'examples', 'events', 'siem-event.json')
  writeFileSync(
    join(work, 'webhook.json'),
    JSON.stringify({
      connectors: { webhook: { url_env: 'WEBHOOK_URL', signing_secret_env: 'WEBHOOK_SECRET' } },
    }),
  )
  const env = {
    WEBHOOK_URL: receiver.url,
    WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
  }
  const deliver = ['integration', 'deliver', event, '-c', 'webhook.json', '-o', join(work, 'evidence')]
  const fetchFloor = join(work, 'fetch.cjs')
  writeFileSync(
    fetchFloor,
    `const body = require('fs').readFileSync(${JSON.stringify(event)})
fetch(process.env.WEBHOOK_URL, { method: 'POST', body, headers: { 'content-type': 'application/json' } }).then((r) => r.text())`,
  )
  const httpFloor = join(work, 'http.cjs')
  writeFileSync(
    httpFloor,
    `const body = require('fs').readFileSync(${JSON.stringify(event)})
require('http').request(process.env.WEBHOOK_URL, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => res.resume()).end(body)`,
  )
  const m = await interleaved(RUNS, {
    node: { command: node, args: ['-e', '0'] },
    versionNpm: { command: node, args: [cli, '--version'] },
    versionBinary: { command: binary, args: ['--version'] },
    helpNpm: { command: node, args: [cli, 'integration', 'deliver', '--help'] },
    fetch: { command: node, args: [fetchFloor], env },
    http: { command: node, args: [httpFloor], env },
    deliverNpm: { command: node, args: [cli, ...deliver], env },
    deliverBinary: { command: binary, args: deliver, env },
  })
  receiver.server.close()
  section(`Start-up (median of ${RUNS} interleaved runs; baseline: node -e 0)`)
  ratioRow('node -e 0 (baseline)', m.node!, m.node!, null)
  ratioRow('--version, npm entry', m.versionNpm!, m.node!, 2.0)
  ratioRow('--version, single binary', m.versionBinary!, m.node!, 1.5)
  ratioRow('integration deliver --help, npm entry (info)', m.helpNpm!, m.node!, null)
  section('One webhook delivery of examples/events/siem-event.json to a local receiver')
  ratioRow('floor: bare fetch in node', m.fetch!, m.node!, null)
  ratioRow('floor: node:http', m.http!, m.node!, null)
  ratioRow('cavra, npm entry', m.deliverNpm!, m.node!, 3.0)
  ratioRow('cavra, single binary', m.deliverBinary!, m.node!, 2.5)
}

async function bulk(): Promise<void> {
  const bundle = join(work, 'bundle.json')
  const batches = join(work, 'batches.bin')
  await writeBundle(bundle, DECISIONS, batches)
  const bigger = join(work, 'bundle-3x.json')
  await writeBundle(bigger, DECISIONS * 3)
  const token = randomUUID()
  const hec = await new SplunkHecEmulator({ token }).start()
  writeFileSync(
    join(work, 'splunk.json'),
    JSON.stringify({ connectors: { splunk: { url_env: 'HEC_URL', token_env: 'HEC_TOKEN' } } }),
  )
  const env = { HEC_URL: hec.url, HEC_TOKEN: token }
  const floor = join(work, 'floor-bulk.cjs')
  writeFileSync(
    floor,
    `const fs = require('fs'), http = require('http')
const [bundle, batches, url, token] = process.argv.slice(2)
const parsed = JSON.parse(fs.readFileSync(bundle, 'utf8'))
if (!Array.isArray(parsed.decisions)) process.exit(2)
const bodies = fs.readFileSync(batches)
const lengths = JSON.parse(fs.readFileSync(batches + '.json', 'utf8'))
const agent = new http.Agent({ keepAlive: true })
let at = 0, index = 0
const next = () => {
  if (index === lengths.length) return agent.destroy()
  const body = bodies.subarray(at, at + lengths[index])
  at += lengths[index++]
  http.request(url + '/services/collector/event', { method: 'POST', agent, headers: { authorization: 'Splunk ' + token, 'content-type': 'application/json' } }, (res) => {
    let text = ''
    res.on('data', (c) => { text += c })
    res.on('end', () => { if (!text.includes('"code":0')) { console.error(text); process.exit(1) } next() })
  }).end(body)
}
next()`,
  )
  const peer = join(work, 'splunk-logging.cjs')
  writeFileSync(
    peer,
    `const fs = require('fs')
const { Logger } = require(${JSON.stringify(join(root, 'node_modules', 'splunk-logging'))})
const [bundle, url, token] = process.argv.slice(2)
const parsed = JSON.parse(fs.readFileSync(bundle, 'utf8'))
const { decisions, ...fields } = parsed
const logger = new Logger({ token, url, maxBatchSize: 1000000, maxBatchCount: 100000000, maxRetries: 0 })
logger.error = (error) => { console.error(error); process.exitCode = 1 }
// A batch goes out when the queue passes 1 MB; what is left is flushed at the end.
const metadata = { source: 'cavra', sourcetype: 'cavra:evidence:json' }
const send = (message) => logger.send({ message, metadata })
send({ ...fields, record_type: 'summary', event_id: fields.session_id })
decisions.forEach((decision, index) => send({ ...decision, record_type: 'decision', event_id: fields.session_id, event_type: fields.event_type, session_id: fields.session_id, decision_index: index, product: 'CAVRA' }))
logger.flush()`,
  )
  const counts: Record<string, number> = {}
  const m = await interleaved(
    HEAVY_RUNS,
    {
      floor: { command: node, args: [floor, bundle, batches, hec.url, token] },
      cavra: {
        command: node,
        args: [cli, 'integration', 'deliver', bundle, '-c', 'splunk.json', '--json', '--deadline', '900'],
        env,
      },
      splunkLogging: { command: node, args: [peer, bundle, hec.url, token] },
      cavra3x: {
        command: node,
        args: [cli, 'integration', 'deliver', bigger, '-c', 'splunk.json', '--json', '--deadline', '900'],
        env,
      },
    },
    {
      rss: true,
      warmUp: false,
      after: (name) => {
        counts[name] = hec.events.length
        hec.reset()
      },
    },
  )
  const big = m.cavra3x!
  const events3x = counts.cavra3x
  await hec.stop()
  const mb = statSync(bundle).size / 1024 / 1024
  section(
    `${DECISIONS.toLocaleString('en-US')} decisions (${mb.toFixed(1)} MB bundle) to one local Splunk HEC (the project's strict emulator), median of ${HEAVY_RUNS}`,
  )
  ratioRow(
    'floor: JSON.parse + pre-serialized 1 MB batches',
    m.floor!,
    m.floor!,
    null,
    `, ${m.floor!.rssMb.toFixed(0)} MB`,
  )
  ratioRow(
    'peer: splunk-logging (npm), 1 MB batches',
    m.splunkLogging!,
    m.floor!,
    null,
    `, ${m.splunkLogging!.rssMb.toFixed(0)} MB`,
  )
  ratioRow(
    `cavra integration deliver (${counts.cavra?.toLocaleString('en-US')} events)`,
    m.cavra!,
    m.floor!,
    1.25,
  )
  memoryRow('cavra peak RSS', m.cavra!, 150, 150)
  memoryRow(
    `cavra peak RSS, 3x the decisions (${events3x?.toLocaleString('en-US')} events)`,
    big,
    m.cavra!,
    1.1,
  )
  infoRow(
    'cavra time, 3x the decisions',
    `${big.ms.toFixed(0)} ms`,
    `${(big.ms / m.cavra!.ms).toFixed(2)}x of 1x`,
  )
  const expected = DECISIONS + 1
  for (const [name, count] of Object.entries(counts)) {
    const want = name === 'cavra3x' ? DECISIONS * 3 + 1 : expected
    if (count !== want) {
      process.stdout.write(`\n${name}: the HEC received ${count} events, expected ${want}.\n`)
      process.exitCode = 1
    }
  }
}

async function store(): Promise<void> {
  const file = join(work, 'metadata.json')
  await writeStore(file, STORE_ITEMS)
  const floor = join(work, 'floor-store.cjs')
  writeFileSync(
    floor,
    `const document = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'))
const counts = {}
for (const item of document.items) for (const d of item.deliveries ?? []) counts[d.provider] = (counts[d.provider] ?? 0) + 1
process.stdout.write(JSON.stringify(counts))`,
  )
  const reader = (...args: string[]) => ({
    command: node,
    args: [cli, ...args, '--metadata-json', file, '--json'],
  })
  const m = await interleaved(
    HEAVY_RUNS,
    {
      floor: { command: node, args: [floor, file] },
      history: reader('release', 'connector-delivery-history'),
      dashboard: reader('release', 'connector-delivery-dashboard'),
      verify: reader('metadata', 'verify'),
    },
    { rss: true, warmUp: false },
  )
  const mb = statSync(file).size / 1024 / 1024
  section(
    `A ${STORE_ITEMS.toLocaleString('en-US')}-item store (${mb.toFixed(0)} MB, release deliveries to 8 connectors), median of ${HEAVY_RUNS}`,
  )
  ratioRow(
    'floor: JSON.parse of the store + a count per provider',
    m.floor!,
    m.floor!,
    null,
    `, ${m.floor!.rssMb.toFixed(0)} MB`,
  )
  for (const name of ['history', 'dashboard', 'verify'] as const) {
    ratioRow(`cavra ${name}`, m[name]!, m.floor!, 1.25)
    memoryRow(`cavra ${name} peak RSS`, m[name]!, m.floor!, 1.0)
  }

  // One release delivery indexed into that store, against the same into an empty store.
  const receiver = await startReceiver()
  writeFileSync(
    join(work, 'release.json'),
    JSON.stringify({ connectors: { webhook: { url_env: 'WEBHOOK_URL' } } }),
  )
  const big = join(work, 'big.json')
  copyFileSync(file, big)
  let fresh = 0
  const deliver = (target: () => string) => ({
    command: node,
    get args() {
      return [
        cli,
        'release',
        'deliver-promotion-audit',
        join(root, 'examples', 'release', 'rollout-promotion-execution.json'),
        '-c',
        'release.json',
        '-o',
        join(work, 'release-evidence'),
        '--metadata-json',
        target(),
      ]
    },
    env: { WEBHOOK_URL: receiver.url },
  })
  const a = await interleaved(
    RUNS,
    {
      empty: deliver(() => join(work, `empty-${fresh}.json`)),
      full: deliver(() => big),
    },
    {
      rss: true,
      after: (name) => {
        if (name === 'empty') rmSync(join(work, `empty-${fresh++}.json`), { force: true })
      },
    },
  )
  receiver.server.close()
  section(`One release delivery indexed into the store, median of ${RUNS} (baseline: into an empty store)`)
  ratioRow('into an empty store (baseline)', a.empty!, a.empty!, null, `, ${a.empty!.rssMb.toFixed(0)} MB`)
  ratioRow(`into the ${STORE_ITEMS.toLocaleString('en-US')}-item store, time`, a.full!, a.empty!, 1.25)
  memoryRow(`into the ${STORE_ITEMS.toLocaleString('en-US')}-item store, peak RSS`, a.full!, a.empty!, 1.25)
}

/**
 * The PostgreSQL store (docs/postgresql.md) on a throwaway server of its own: the store of
 * `writeStore` imported with `metadata import` (within 150 s), then history, dashboard and
 * verify answered from the database (history and dashboard within 2 s each).
 */
async function postgresStore(): Promise<void> {
  const server = await startThrowawayPostgres()
  try {
    const file = join(work, 'postgres-source.json')
    await writeStore(file, PG_ITEMS)
    const database = (name: string) => {
      const url = new URL(server.url)
      url.pathname = `/${name}`
      return url.toString()
    }
    const create = await run({
      command: node,
      args: [
        '-e',
        `const sql = require(${JSON.stringify(join(root, 'node_modules', 'postgres'))})(process.argv[1]);
sql.unsafe('CREATE DATABASE bench').then(() => sql.end())`,
        server.url,
      ],
    })
    if (create.code !== 0) throw new Error('could not create the bench database')
    const url = database('bench')
    const imported = await run({
      command: node,
      args: [cli, 'metadata', 'import', file, '--metadata-url', url],
    })
    const reader = (...args: string[]) => ({
      command: node,
      args: [cli, ...args, '--metadata-url', url, '--json'],
    })
    const m = await interleaved(HEAVY_RUNS, {
      history: reader('release', 'connector-delivery-history'),
      filtered: reader('release', 'connector-delivery-history', '--provider', 'datadog', '--no-success'),
      dashboard: reader('release', 'connector-delivery-dashboard', '--format', 'json'),
      verify: reader('metadata', 'verify'),
    })
    section(
      `A ${PG_ITEMS.toLocaleString('en-US')}-item store in PostgreSQL (release deliveries to 8 connectors), median of ${HEAVY_RUNS}`,
    )
    timeRow('metadata import of the JSON store', imported, 150_000)
    timeRow('cavra history (first page, total counted)', m.history!, 2_000)
    timeRow('cavra history --provider datadog --no-success', m.filtered!, 2_000)
    timeRow('cavra dashboard', m.dashboard!, 2_000)
    ratioRow('cavra verify (streams the whole chain)', m.verify!, m.verify!, null)
  } finally {
    server.stop()
  }
}

async function main(): Promise<void> {
  if (!existsSync(binary)) {
    throw new Error(`${binary} is missing: npm run bench builds it (npm run build:binary).`)
  }
  if (!existsSync(join(root, 'node_modules', 'splunk-logging'))) {
    throw new Error('splunk-logging is not installed: run npm install.')
  }
  if (!gnuTime) process.stdout.write('(no GNU time: peak RSS is not measured)\n')
  // The binary embeds its own Node (printed below), with code caches made by that Node.
  const version = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim()
  process.stdout.write(`cavra bench on ${machine()}\n${version}\n`)
  // `npm run bench -- bulk postgres` runs only the named sections.
  const sections = { 'start-up': startUp, bulk, store, postgres: postgresStore }
  const only = process.argv.slice(2)
  const unknown = only.filter((name) => !(name in sections))
  if (unknown.length > 0)
    throw new Error(`unknown section(s) ${unknown.join(', ')}: use ${Object.keys(sections).join(', ')}`)
  for (const [name, section] of Object.entries(sections))
    if (only.length === 0 || only.includes(name)) await section()
  printReport()
}

main()
  .catch((error) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : error}\n`)
    process.exitCode = 1
  })
  .finally(() =>
    process.env.BENCH_KEEP ? console.log(work) : rmSync(work, { recursive: true, force: true }),
  )
