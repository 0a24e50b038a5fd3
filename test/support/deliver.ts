import { readFileSync } from 'node:fs'
import { expect } from 'vitest'
import type { DeliveryResult } from '../../src/delivery/evidence-types.js'
import { Redactor } from '../../src/delivery/redact.js'
import type { TokenCache } from '../../src/delivery/tokens.js'
import { openArtifact } from '../../src/events/artifact.js'
import { buildPublication, readExportManifest } from '../../src/events/endpoint-export.js'
import type { DeliveryEvent } from '../../src/events/event.js'
import { readEventFile, validateEventFile } from '../../src/events/integration-event.js'
import {
  promotionEvent,
  promotionExecutionSchema,
  readReleaseArtifact,
  rollbackEvent,
  rollbackExecutionSchema,
} from '../../src/events/release.js'
import { type Delivered, runDelivery } from '../../src/flow/run-delivery.js'
import { leakedCanaries } from './canaries.js'
import { PROJECT_ROOT } from './cli.js'
import { Workspace } from './workspace.js'

/**
 * Delivers through the real core in-process: config file → selection → resolution → the
 * connector → the undici transport → a local emulator. Faster than the subprocess tests and
 * just as real on the wire. Every result is scanned for the planted canaries.
 */

export interface InProcessOptions {
  connectors: Record<string, unknown>
  env: Record<string, string>
  event?: string | DeliveryEvent
  providers?: string[]
  retries?: number
  timeoutMs?: number
  deadlineMs?: number
  dryRun?: boolean
  categories?: Array<'siem' | 'chatops' | 'itsm' | 'webhook' | 'endpoint'>
  tokens?: TokenCache
}

export async function deliverInProcess(
  options: InProcessOptions,
): Promise<DeliveryResult & { redactor: Redactor; evidence: string | null }> {
  const ws = new Workspace()
  try {
    const configPath = ws.write('connectors.json', { connectors: options.connectors })
    const redactor = new Redactor()
    const event = typeof options.event === 'object' ? options.event : await firstEvent(options.event)
    let delivered: Delivered | undefined
    await runDelivery(
      {
        configPath,
        providers: options.providers ?? [],
        rule: { categories: options.categories ?? ['siem', 'chatops', 'itsm', 'webhook'], command: 'test' },
        loadEvents: async () => ({
          events: (async function* () {
            yield event
          })(),
          warnings: [],
          single: true,
          dispose: async () => {},
        }),
        outputDir: ws.path('evidence'),
        index: null,
        retries: options.retries ?? 2,
        timeoutMs: options.timeoutMs ?? 5000,
        deadlineMs: options.deadlineMs ?? 60_000,
        dryRun: options.dryRun ?? false,
        env: options.env,
        redactor,
        tokens: options.tokens,
        warn: () => {},
      },
      (result) => {
        delivered = result
      },
    )
    if (!delivered) throw new Error('runDelivery delivered nothing')
    // Checked before any final scrubbing: the result must be clean by construction.
    const text = JSON.stringify(delivered.result)
    expect(leakedCanaries(text), 'a planted secret reached the delivery result').toEqual([])
    const evidence = delivered.evidencePath ? readFileSync(delivered.evidencePath, 'utf8') : null
    if (evidence !== null)
      expect(leakedCanaries(evidence), 'a planted secret reached the evidence').toEqual([])
    return Object.assign(JSON.parse(text) as DeliveryResult, { redactor, evidence })
  } finally {
    ws.remove()
  }
}

export async function firstEvent(
  path = `${PROJECT_ROOT}/examples/events/siem-event.json`,
): Promise<DeliveryEvent> {
  const artifact = await openArtifact(path)
  await validateEventFile(artifact)
  for await (const event of readEventFile(artifact)) return event
  throw new Error(`${path} holds no event`)
}

/** The audit event of examples/release/rollout-promotion-execution.json. */
export async function promotionFixtureEvent(): Promise<DeliveryEvent> {
  const artifact = await openArtifact(`${PROJECT_ROOT}/examples/release/rollout-promotion-execution.json`)
  return promotionEvent(
    await readReleaseArtifact(artifact, promotionExecutionSchema, 'promotion execution'),
    artifact,
  )
}

/** The audit event of examples/release/rollout-rollback-execution.json. */
export async function rollbackFixtureEvent(): Promise<DeliveryEvent> {
  const artifact = await openArtifact(`${PROJECT_ROOT}/examples/release/rollout-rollback-execution.json`)
  return rollbackEvent(
    await readReleaseArtifact(artifact, rollbackExecutionSchema, 'rollback execution'),
    artifact,
  )
}

/** The publication event of examples/endpoint-export/stable for the given providers. */
export async function publicationFixtureEvent(
  providers: Array<'jamf' | 'intune' | 'linux'> = ['jamf', 'intune', 'linux'],
): Promise<DeliveryEvent> {
  const artifact = await openArtifact(
    `${PROJECT_ROOT}/examples/endpoint-export/stable/endpoint-management-export-manifest.json`,
  )
  const manifest = await readExportManifest(artifact)
  return (await buildPublication(artifact, manifest, providers)).event
}
