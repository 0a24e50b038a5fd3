import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { randomSecrets, Stack } from '../test/emulators/stack.js'

/**
 * `npm run demo`: the whole job on local defaults. Starts local receivers on loopback that
 * behave like the real services (Splunk HEC, Sentinel with Entra, Datadog, Slack, Teams,
 * Jira, ServiceNow, a signed webhook, Jamf Pro, Intune via Graph, a Linux fleet receiver),
 * writes a demo connector config whose secrets live only in this process's environment, runs
 * the built CLI through a release's life (evidence, promotion, rollback, endpoint publication,
 * history, dashboard, chain check), then starts `cavra serve` with an API token and makes
 * the earlier tool's curl requests against it, shows where the evidence went, and stops the
 * receivers. No external service is contacted.
 */

const root = join(import.meta.dirname, '..')
const demo = join(root, '.cavra-demo')
const bin = join(root, 'bin', 'run.js')

interface Step {
  title: string
  args: string[]
  /** Sets the receivers up for the step (a fault to inject, or none). */
  before?: (stack: Stack) => void
  /** The exit code the step is meant to end with (default 0). */
  expectExit?: number
}

const steps: Step[] = [
  {
    title: 'Check every connector before a release depends on it (nothing is created at any vendor)',
    args: ['integration', 'check'],
  },
  {
    title: 'Deliver the sample evidence bundle to every SIEM, chat, ITSM and webhook connector',
    args: ['integration', 'deliver', 'examples/events/siem-event.json', '--provider', 'all'],
  },
  {
    title: 'Deliver the promotion audit while Jira answers 503 (a failure, indexed in the metadata store)',
    before: (stack) =>
      stack.jira.inject(
        { kind: 'status', status: 503, body: 'Service Unavailable' },
        100,
        (request) => request.method === 'POST' && request.path.endsWith('/issue'),
      ),
    args: [
      'release',
      'deliver-promotion-audit',
      'examples/release/rollout-promotion-execution.json',
      '--retries',
      '0',
    ],
    expectExit: 1,
  },
  {
    title: 'Deliver the rollback execution (critical)',
    before: (stack) => stack.jira.clearFaults(),
    args: ['release', 'deliver-rollback-execution', 'examples/release/rollout-rollback-execution.json'],
  },
  {
    title: 'Publish the endpoint export to Jamf Pro, Intune and the Linux fleet',
    args: [
      'release',
      'deliver-endpoint-export',
      'examples/endpoint-export/stable/endpoint-management-export-manifest.json',
    ],
  },
  { title: 'Delivery history', args: ['release', 'connector-delivery-history', '--limit', '12'] },
  {
    title: 'Delivery dashboard: the failed Jira delivery is an open alert',
    args: ['release', 'connector-delivery-dashboard'],
  },
  {
    title: 'Re-deliver the open alert, to Jira only, from the recorded artifact (same event identity)',
    args: ['release', 'redeliver'],
  },
  { title: 'Delivery dashboard: no open alert', args: ['release', 'connector-delivery-dashboard'] },
  { title: 'Publication dashboard', args: ['release', 'endpoint-publication-dashboard'] },
  {
    title: 'Offline HTML dashboard for an auditor (open the printed path in a browser; it loads nothing)',
    args: [
      'release',
      'connector-delivery-dashboard',
      '--format',
      'html',
      '--output',
      join(demo, 'dashboard.html'),
    ],
  },
  { title: 'Verify the metadata store hash chain', args: ['metadata', 'verify'] },
]

async function main(): Promise<void> {
  rmSync(demo, { recursive: true, force: true })
  mkdirSync(demo, { recursive: true })
  cpSync(join(root, 'examples'), join(demo, 'examples'), { recursive: true })
  const stack = await new Stack(randomSecrets()).start()
  writeFileSync(
    join(demo, 'connectors.json'),
    `${JSON.stringify({ connectors: stack.connectors() }, null, 2)}\n`,
  )
  const env = { ...process.env, ...stack.env(), CAVRA_CONNECTOR_CONFIG: 'connectors.json' }

  let failed = 0
  try {
    for (const step of steps) {
      process.stdout.write(`\n== ${step.title}\n$ cavra ${step.args.join(' ')}\n`)
      step.before?.(stack)
      const code = await runCavra(step.args, env)
      const expected = step.expectExit ?? 0
      if (code !== 0) process.stdout.write(`(exit ${code}${code === expected ? ', as intended' : ''})\n`)
      if (code !== expected) failed++
    }
    failed += await serveDemo(env)
  } finally {
    await stack.stop()
  }

  const received = [
    `Splunk HEC: ${stack.splunk.events.length} events`,
    `Sentinel: ${stack.sentinel.rows.length} rows`,
    `Datadog: ${stack.datadog.logs.length} logs`,
    `Slack: ${stack.slack.messages.length} messages`,
    `Teams: ${stack.teams.cards.length} cards`,
    `Jira: ${stack.jira.issues.length} issues`,
    `ServiceNow: ${stack.servicenow.tables.get('change_request')?.length ?? 0} change requests`,
    `Webhook: ${stack.webhook.deliveries.length} signed deliveries`,
    `Jamf Pro: ${stack.jamf.scripts.size} script(s), ${stack.jamf.policies.size} policy(ies)`,
    `Intune: ${stack.graph.scripts.size} platform script(s)`,
    `Linux fleet: ${stack.fleet.publications.length} publication(s)`,
  ]
  process.stdout.write(`\n== What the local receivers got\n${received.join('\n')}\n`)
  process.stdout.write(
    `\nEvidence files are under ${relative(root, demo)}/.cavra/ and the metadata store is ${relative(root, demo)}/.cavra/evidence/metadata.json.\n`,
  )
  if (failed > 0) {
    process.stdout.write(`${failed} step(s) failed.\n`)
    process.exitCode = 1
  }
}

/** The earlier tool's curl examples, each with `Authorization: Bearer $CAVRA_API_TOKEN` added. */
const API_REQUESTS: Array<{ method: 'GET' | 'POST'; path: string; body?: unknown }> = [
  {
    method: 'POST',
    path: '/integrations',
    body: {
      integration_id: 'splunk',
      provider: 'splunk',
      category: 'siem',
      status: 'active',
      health_status: 'healthy',
    },
  },
  {
    method: 'POST',
    path: '/integrations/splunk/deliver',
    body: {
      event: {
        event_type: 'cavra.evidence_bundle',
        session_id: 'demo-session',
        decision_count: 7,
        blocked_count: 4,
        approval_required_count: 1,
        max_severity: 'high',
      },
      retries: 1,
    },
  },
  {
    method: 'POST',
    path: '/promotion-executions/rpe_prod/audit-export/deliver',
    body: { provider: 'webhook', retries: 1 },
  },
  {
    method: 'POST',
    path: '/rollback-executions/rre_prod/deliver',
    body: { provider: 'webhook', retries: 1 },
  },
  {
    method: 'POST',
    path: '/endpoint-management-exports/eme_stable/publish',
    body: { provider: 'jamf', retries: 1 },
  },
  { method: 'GET', path: '/release-connector-deliveries?provider=webhook&success=false' },
  { method: 'GET', path: '/release-connector-deliveries/dashboard' },
  { method: 'GET', path: '/endpoint-management-publications?provider=jamf&success=false' },
  { method: 'GET', path: '/endpoint-management-publications/dashboard' },
]

/**
 * `cavra serve` on a free loopback port with a fresh token; the artifacts the earlier tool's
 * examples name (rpe_prod, rre_prod, eme_stable) are copies of the examples under those ids.
 */
async function serveDemo(env: NodeJS.ProcessEnv): Promise<number> {
  process.stdout.write("\n== The HTTP API: cavra serve, with the earlier tool's curl examples\n")
  const artifacts = join(demo, 'api-artifacts')
  const copy = (from: string, to: string, ids: Record<string, string>) => {
    const document = JSON.parse(readFileSync(join(demo, from), 'utf8'))
    mkdirSync(join(artifacts, to, '..'), { recursive: true })
    writeFileSync(join(artifacts, to), `${JSON.stringify({ ...document, ...ids }, null, 2)}\n`)
  }
  copy('examples/release/rollout-promotion-execution.json', 'rollout-promotion-execution.json', {
    execution_id: 'rpe_prod',
  })
  copy('examples/release/rollout-rollback-execution.json', 'rollout-rollback-execution.json', {
    rollback_id: 'rre_prod',
    promotion_execution_id: 'rpe_prod',
  })
  cpSync(join(demo, 'examples/endpoint-export/stable'), join(artifacts, 'stable'), { recursive: true })
  copy(
    'examples/endpoint-export/stable/endpoint-management-export-manifest.json',
    'stable/endpoint-management-export-manifest.json',
    {
      export_id: 'eme_stable',
    },
  )

  const token = randomBytes(24).toString('base64url')
  const args = [
    'serve',
    '--port',
    '0',
    '--artifacts',
    'api-artifacts',
    '--metadata-json',
    '.cavra/evidence/metadata.json',
  ]
  process.stdout.write(`$ CAVRA_API_TOKEN=… cavra ${args.join(' ')}\n`)
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: demo,
    env: { ...env, CAVRA_API_TOKEN: token },
    stdio: ['ignore', 'inherit', 'pipe'],
  })
  let log = ''
  child.stderr.on('data', (chunk) => {
    log += chunk
  })
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)))
  const url = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 30_000)
    child.stderr.on('data', () => {
      const match = /listening on (http:\/\/[^"\s]+)/.exec(log)
      if (match) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    void exited.then(() => resolve(undefined))
  })
  if (!url) {
    process.stdout.write(`cavra serve did not start:\n${log}\n`)
    child.kill('SIGKILL')
    return 1
  }
  process.stdout.write(`listening on ${url}\n`)
  let failed = 0
  for (const request of API_REQUESTS) {
    process.stdout.write(`\n$ curl -X ${request.method} ${url}${request.path} -H 'Authorization: Bearer …'\n`)
    const response = await fetch(`${url}${request.path}`, {
      method: request.method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
    })
    const text = await response.text()
    if (!response.ok) failed++
    process.stdout.write(`HTTP ${response.status}: ${summarise(text)}\n`)
  }
  const unauthenticated = await fetch(`${url}/integrations`)
  process.stdout.write(
    `\nWithout the token: HTTP ${unauthenticated.status} (WWW-Authenticate: ${unauthenticated.headers.get('www-authenticate')})\n`,
  )
  child.kill('SIGTERM')
  const code = await exited
  const requests = log.split('\n').filter((line) => line.includes('"msg":"request"'))
  process.stdout.write(
    `cavra serve stopped on SIGTERM (exit ${code}); it logged ${requests.length} request lines on stderr, e.g.\n${requests[0]}\n`,
  )
  process.stdout.write('\n$ cavra metadata verify\n')
  const verified = await runCavra(['metadata', 'verify'], env)
  return failed + (code === 0 ? 0 : 1) + (verified === 0 ? 0 : 1)
}

/** One line saying what an answer holds. */
function summarise(text: string): string {
  let body: Record<string, unknown>
  try {
    body = JSON.parse(text)
  } catch {
    return text.slice(0, 200)
  }
  if (Array.isArray(body.deliveries)) {
    const outcomes = (body.deliveries as Array<{ provider: string; success: boolean }>)
      .map((delivery) => `${delivery.provider} ${delivery.success ? 'ok' : 'FAILED'}`)
      .join(', ')
    return `${body.event_type} ${body.event_id}: ${outcomes}; evidence ${body.delivery_evidence}`
  }
  if (Array.isArray(body.items)) {
    return `${body.schema_version}: ${body.total} matching row(s)`
  }
  if (typeof body.alert_level === 'string') {
    return `${body.schema_version}: alert level ${body.alert_level}, ${body.total_deliveries} deliveries, ${(body.alerts as unknown[]).length} open alert(s)`
  }
  if (typeof body.integration_id === 'string') {
    return `integration ${body.integration_id} (${body.provider}, ${body.status}, health ${body.health_status})`
  }
  return text.slice(0, 200)
}

function runCavra(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: demo, env, stdio: 'inherit' })
    child.on('close', (code) => resolve(code ?? 1))
  })
}

main().catch((error) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : error}\n`)
  process.exitCode = 1
})
