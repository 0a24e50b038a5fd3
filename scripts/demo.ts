import { spawn } from 'node:child_process'
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { randomSecrets, Stack } from '../test/emulators/stack.js'

/**
 * `npm run demo`: the whole job on local defaults. Starts local receivers on loopback that
 * behave like the real services (Splunk HEC, Sentinel with Entra, Datadog, Slack, Teams,
 * Jira, ServiceNow, a signed webhook, Jamf Pro, Intune via Graph, a Linux fleet receiver),
 * writes a demo connector config whose secrets live only in this process's environment, runs
 * the built CLI through a release's life (evidence, promotion, rollback, endpoint publication,
 * history, dashboard, chain check), shows where the evidence went, and stops the receivers.
 * No external service is contacted.
 */

const root = join(import.meta.dirname, '..')
const demo = join(root, '.cavra-demo')
const bin = join(root, 'bin', 'run.js')

const steps: Array<{ title: string; args: string[] }> = [
  {
    title: 'Deliver the sample evidence bundle to every SIEM, chat, ITSM and webhook connector',
    args: ['integration', 'deliver', 'examples/events/siem-event.json', '--provider', 'all'],
  },
  {
    title: 'Deliver the promotion audit (indexed in the metadata store)',
    args: ['release', 'deliver-promotion-audit', 'examples/release/rollout-promotion-execution.json'],
  },
  {
    title: 'Deliver the rollback execution (critical)',
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
  { title: 'Delivery dashboard', args: ['release', 'connector-delivery-dashboard'] },
  { title: 'Publication dashboard', args: ['release', 'endpoint-publication-dashboard'] },
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
      const code = await runCavra(step.args, env)
      if (code !== 0) {
        failed++
        process.stdout.write(`(exit ${code})\n`)
      }
    }
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
