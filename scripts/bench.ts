import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SplunkHecEmulator } from '../test/emulators/splunk-hec.js'

/**
 * `npm run bench`: speed and memory, each printed as a ratio against a baseline measured in
 * the same run on the same machine (absolute numbers drift between machines and runs).
 *
 * 1. Reading an evidence bundle with 100,000 decisions: cavra's streaming scan (which every
 *    connector can repeat) against JSON.parse of the whole file.
 * 2. Delivering that bundle to a local Splunk HEC (the receiver runs in this process, so
 *    the time includes its parsing): the whole CLI run against the JSON.parse baseline, and
 *    again with three times the decisions: peak memory stays flat because the decisions are
 *    never all held at once.
 * 3. Start-up: `cavra --help` against `node -e 0`.
 */

const root = join(import.meta.dirname, '..')
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 100_000)
const work = mkdtempSync(join(tmpdir(), 'cavra-bench-'))
const rssProbe = join(work, 'rss.cjs')
// Samples RSS inside the child: getrusage's maxrss would be useless here, because Linux keeps
// it across fork and exec, so every child would start at this process's own peak.
writeFileSync(
  rssProbe,
  [
    'let peak = process.memoryUsage.rss()',
    'setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()) }, 5).unref()',
    "process.on('exit', () => require('fs').writeSync(2, '\\nMAXRSS ' + Math.round(Math.max(peak, process.memoryUsage.rss()) / 1024) + '\\n'))",
  ].join('\n'),
)

interface Measure {
  ms: number
  maxRssMb: number
  code: number
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = root): Promise<Measure> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint()
    const child = spawn(command, args, {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_OPTIONS: `--require ${rssProbe}`, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      const kb = Number(/MAXRSS (\d+)/.exec(stderr)?.[1] ?? 0)
      if (code !== 0) process.stderr.write(stderr.slice(-2000))
      resolve({ ms, maxRssMb: kb / 1024, code: code ?? 1 })
    })
  })
}

async function median(times: number, measure: () => Promise<Measure>): Promise<Measure> {
  const results: Measure[] = []
  for (let i = 0; i < times; i++) results.push(await measure())
  results.sort((a, b) => a.ms - b.ms)
  return results[Math.floor(results.length / 2)]!
}

async function deliverBundle(
  bundle: string,
): Promise<{ measure: Measure; events: number; requests: number }> {
  const token = randomUUID()
  const hec = await new SplunkHecEmulator({ token }).start()
  writeFileSync(
    join(work, 'connectors.json'),
    JSON.stringify({ connectors: { splunk: { url_env: 'U', token_env: 'T' } } }),
  )
  const measure = await run(
    process.execPath,
    [
      join(root, 'bin/run.js'),
      'integration',
      'deliver',
      bundle,
      '-c',
      'connectors.json',
      '--json',
      '--deadline',
      '900',
    ],
    { U: hec.url, T: token },
    work,
  )
  const result = { measure, events: hec.events.length, requests: hec.requests.length }
  await hec.stop()
  return result
}

async function writeBundle(file: string, decisions = DECISIONS): Promise<void> {
  const out = createWriteStream(file)
  const write = (text: string) =>
    new Promise<void>((resolve) => (out.write(text) ? resolve() : out.once('drain', resolve)))
  await write(
    `{"schema_version":"cavra.siem-event.v1","event_type":"cavra.evidence_bundle","session_id":"bench-${randomUUID()}","timestamp":"2026-11-28T14:03:11Z","max_severity":"critical","decision_count":${decisions},"decisions":[`,
  )
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
    await write(`${i === 0 ? '' : ','}${JSON.stringify(decision)}`)
  }
  await write(']}\n')
  await new Promise<void>((resolve) => out.end(resolve))
}

function ratio(value: number, baseline: number): string {
  return `${(value / baseline).toFixed(2)}x`
}

async function main(): Promise<void> {
  const bundle = join(work, 'bundle.json')
  await writeBundle(bundle)
  const mb = statSync(bundle).size / 1024 / 1024
  process.stdout.write(`Evidence bundle: ${DECISIONS.toLocaleString()} decisions, ${mb.toFixed(1)} MB\n\n`)

  const node = process.execPath
  const parseAll = await median(3, () =>
    run(node, [
      '-e',
      `const d=JSON.parse(require('fs').readFileSync(${JSON.stringify(bundle)},'utf8'));let n=0;for(const x of d.decisions)n+=x.command.length;`,
    ]),
  )
  const scan = await median(3, () =>
    run(node, [
      '--input-type=module',
      '-e',
      `import {scanEvents, readDecisions} from ${JSON.stringify(join(root, 'dist/events/json-scan.js'))};let n=0;for await (const e of scanEvents(${JSON.stringify(bundle)}, () => {})) { for await (const d of readDecisions(${JSON.stringify(bundle)}, e.decisions)) n+=d.command.length }`,
    ]),
  )

  const { measure: deliver, events, requests } = await deliverBundle(bundle)
  // Memory must not grow with the number of decisions: deliver three times as many.
  const bigger = join(work, 'bundle-3x.json')
  await writeBundle(bigger, DECISIONS * 3)
  const { measure: deliver3x, events: events3x } = await deliverBundle(bigger)
  rmSync(bigger)

  const nodeStart = await median(5, () => run(node, ['-e', '0']))
  const help = await median(5, () => run(node, [join(root, 'bin/run.js'), '--help']))

  const rows = [
    ['measure', 'time', 'peak RSS', 'time vs baseline', 'RSS vs baseline'],
    [
      'baseline: JSON.parse whole bundle',
      `${parseAll.ms.toFixed(0)} ms`,
      `${parseAll.maxRssMb.toFixed(0)} MB`,
      '1.00x',
      '1.00x',
    ],
    [
      'cavra streaming scan + decision pass',
      `${scan.ms.toFixed(0)} ms`,
      `${scan.maxRssMb.toFixed(0)} MB`,
      ratio(scan.ms, parseAll.ms),
      ratio(scan.maxRssMb, parseAll.maxRssMb),
    ],
    [
      `cavra deliver to Splunk HEC (${events.toLocaleString()} events, ${requests} batches)`,
      `${deliver.ms.toFixed(0)} ms`,
      `${deliver.maxRssMb.toFixed(0)} MB`,
      ratio(deliver.ms, parseAll.ms),
      ratio(deliver.maxRssMb, parseAll.maxRssMb),
    ],
    [
      `cavra deliver, 3x the decisions (${events3x.toLocaleString()} events)`,
      `${deliver3x.ms.toFixed(0)} ms`,
      `${deliver3x.maxRssMb.toFixed(0)} MB`,
      `${ratio(deliver3x.ms, deliver.ms)} of 1x`,
      `${ratio(deliver3x.maxRssMb, deliver.maxRssMb)} of 1x`,
    ],
    [
      'baseline: node -e 0',
      `${nodeStart.ms.toFixed(0)} ms`,
      `${nodeStart.maxRssMb.toFixed(0)} MB`,
      '1.00x',
      '1.00x',
    ],
    [
      'cavra --help',
      `${help.ms.toFixed(0)} ms`,
      `${help.maxRssMb.toFixed(0)} MB`,
      ratio(help.ms, nodeStart.ms),
      ratio(help.maxRssMb, nodeStart.maxRssMb),
    ],
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  for (const row of rows)
    process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}\n`)
  if (deliver.code !== 0 || events !== DECISIONS + 1) {
    process.stdout.write(`\nDelivery did not complete (exit ${deliver.code}, ${events} events).\n`)
    process.exitCode = 1
  }
}

main()
  .catch((error) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : error}\n`)
    process.exitCode = 1
  })
  .finally(() => rmSync(work, { recursive: true, force: true }))
