import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { SplunkHecEmulator } from '../test/emulators/splunk-hec.js'
import { WebhookReceiver } from '../test/emulators/webhook-receiver.js'

/**
 * `npm run demo`: the whole job on local defaults. Starts local receivers on loopback that
 * behave like the real services, writes a demo connector config whose secrets live only in
 * this process's environment, delivers the sample artifacts with the built CLI, shows where
 * the evidence went, and stops the receivers. No external service is contacted.
 */

const root = join(import.meta.dirname, '..')
const demo = join(root, '.cavra-demo')
const bin = join(root, 'bin', 'run.js')

interface Step {
  title: string
  args: string[]
}

async function main(): Promise<void> {
  rmSync(demo, { recursive: true, force: true })
  mkdirSync(demo, { recursive: true })
  cpSync(join(root, 'examples'), join(demo, 'examples'), { recursive: true })

  const secrets = {
    splunkToken: randomUUID(),
    webhookSecret: `whsec_${randomBytes(32).toString('base64')}`,
  }
  const splunk = await new SplunkHecEmulator({
    token: secrets.splunkToken,
    allowedIndexes: ['cavra'],
  }).start()
  const webhook = await new WebhookReceiver({ secret: secrets.webhookSecret }).start()
  const receivers = [splunk, webhook]

  writeFileSync(
    join(demo, 'connectors.json'),
    `${JSON.stringify(
      {
        connectors: {
          splunk: { url_env: 'SPLUNK_HEC_URL', token_env: 'SPLUNK_HEC_TOKEN', index: 'cavra' },
          webhook: { url_env: 'CAVRA_WEBHOOK_URL', signing_secret_env: 'CAVRA_WEBHOOK_SECRET' },
        },
      },
      null,
      2,
    )}\n`,
  )
  const env = {
    ...process.env,
    CAVRA_CONNECTOR_CONFIG: 'connectors.json',
    SPLUNK_HEC_URL: splunk.url,
    SPLUNK_HEC_TOKEN: secrets.splunkToken,
    CAVRA_WEBHOOK_URL: webhook.endpoint,
    CAVRA_WEBHOOK_SECRET: secrets.webhookSecret,
  }

  const steps: Step[] = [
    {
      title: 'Deliver the sample evidence bundle to every event connector',
      args: ['integration', 'deliver', 'examples/events/siem-event.json', '--provider', 'all'],
    },
  ]

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
    await Promise.all(receivers.map((receiver) => receiver.stop()))
  }

  process.stdout.write('\n== What the receivers got\n')
  process.stdout.write(`Splunk HEC: ${splunk.events.length} events indexed\n`)
  process.stdout.write(
    `Webhook: ${webhook.deliveries.length} signed deliveries verified with standardwebhooks, ${webhook.rejected.length} rejected\n`,
  )
  process.stdout.write(`\nEvidence is under ${relative(root, demo)}/.cavra/ (delivery results, redacted).\n`)
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
