import { expect } from 'vitest'
import { loadConnectorConfig } from '../../src/config/load.js'
import { prepareConnectors, selectConnectors } from '../../src/config/select.js'
import { REGISTRY } from '../../src/connectors/index.js'
import { deliverEvent } from '../../src/delivery/deliver.js'
import type { DeliveryResult } from '../../src/delivery/evidence-types.js'
import { TransportPool } from '../../src/delivery/http.js'
import { Redactor } from '../../src/delivery/redact.js'
import { Deadline } from '../../src/delivery/retry.js'
import { TokenCache } from '../../src/delivery/session.js'
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
): Promise<DeliveryResult & { redactor: Redactor }> {
  const ws = new Workspace()
  try {
    const path = ws.write('connectors.json', { connectors: options.connectors })
    const config = await loadConnectorConfig(path, REGISTRY)
    const selected = selectConnectors(config, options.providers ?? [], {
      categories: options.categories ?? ['siem', 'chatops', 'itsm', 'webhook'],
      command: 'test',
    })
    const prepared = prepareConnectors(config, selected, options.env)
    const redactor = new Redactor()
    for (const connector of prepared) {
      for (const secret of connector.secretValues) redactor.addSecret(secret)
      for (const header of connector.secretHeaders) redactor.addSecretHeader(header)
    }
    const event = typeof options.event === 'object' ? options.event : await firstEvent(options.event)
    const transports = new TransportPool()
    try {
      const result = await deliverEvent(event, prepared, {
        retries: options.retries ?? 2,
        timeoutMs: options.timeoutMs ?? 5000,
        deadline: new Deadline(options.deadlineMs ?? 60_000),
        dryRun: options.dryRun ?? false,
        redactor,
        transports,
        tokens: options.tokens ?? new TokenCache(),
        concurrency: 8,
      })
      // Checked before any final scrubbing: the result must be clean by construction.
      const text = JSON.stringify(result)
      expect(leakedCanaries(text), 'a planted secret reached the delivery result').toEqual([])
      return Object.assign(JSON.parse(text) as DeliveryResult, { redactor })
    } finally {
      await transports.close()
    }
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
