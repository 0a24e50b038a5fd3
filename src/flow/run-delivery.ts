import { connectorCatalog } from '../config/catalog.js'
import { loadConnectorConfig, loadSelected } from '../config/load.js'
import { prepareConnectors, type SelectionRule, selectConnectors } from '../config/select.js'
import type { PreparedConnector } from '../connectors/types.js'
import { assertEvidenceDir, writeEvidence } from '../delivery/evidence.js'
import type { DeliveryResult } from '../delivery/evidence-types.js'
import { TransportPool } from '../delivery/http.js'
import type { Redactor } from '../delivery/redact.js'
import { Deadline } from '../delivery/retry.js'
import { TokenCache } from '../delivery/tokens.js'
import type { DeliveryEvent } from '../events/event.js'
import type { StoreItem } from '../metadata/chain.js'
import type { EvidenceIndex } from '../metadata/evidence-index.js'
import { deliverEvent, type JobRunner } from './deliver-event.js'

/**
 * The flow every delivery shares, whoever starts it (a command, the HTTP API, a re-delivery):
 * load and resolve the selected connectors, validate the input, check the metadata store, and
 * only then send; write the evidence and index it. Problems found before sending are thrown
 * (exit 3, 4, 5); a destination's "no" is a result.
 */

/** The events of one input, validated before anything is sent. */
export interface EventSource {
  events: AsyncIterable<DeliveryEvent>
  warnings: string[]
  /** Whether the input is one event (JSON output is one object) or several (an array). */
  single: boolean
  dispose(): Promise<void>
}

export interface DeliveryPlan {
  /** The connector configuration file. */
  configPath: string
  /** Connector names or provider kinds asked for (`--provider`); empty for the default set. */
  providers: readonly string[]
  rule: SelectionRule
  /** Opens and validates the input once the connectors are known. */
  loadEvents(connectors: readonly PreparedConnector[]): Promise<EventSource>
  outputDir: string
  index: EvidenceIndex | null
  retries: number
  timeoutMs: number
  deadlineMs: number
  dryRun: boolean
  /** Where `_env` settings are read. */
  env: NodeJS.ProcessEnv
  /** Learns every secret of the run; the caller scrubs what it prints with it. */
  redactor: Redactor
  /** Shows progress (the task list); the default runs the connectors silently. */
  runner?: JobRunner
  concurrency?: number
  /** Tokens to share with other runs (a long-lived server); a fresh cache by default. */
  tokens?: TokenCache
  warn(message: string): void
}

/** One event delivered: the result, where its evidence went, and the store item written. */
export interface Delivered {
  result: DeliveryResult
  evidencePath: string | null
  metadata: StoreItem | null
  /** Whether the input held a single event. */
  single: boolean
}

export interface DeliverySummary {
  delivered: number
  anyFailed: boolean
  single: boolean
}

/** Connectors delivering at once; each talks to a different system, so this only bounds sockets. */
export const DELIVERY_CONCURRENCY = 8

export async function runDelivery(
  plan: DeliveryPlan,
  onDelivered: (delivered: Delivered) => void | Promise<void>,
): Promise<DeliverySummary> {
  const deadline = new Deadline(plan.deadlineMs)
  // Every entry's keys are checked; only the selected connectors are loaded and checked whole.
  const config = await loadConnectorConfig(plan.configPath, await connectorCatalog())
  const selected = selectConnectors(config, plan.providers, plan.rule)
  await loadSelected(config, selected)
  const connectors = prepareConnectors(config, selected, plan.env)
  for (const connector of connectors) {
    for (const secret of connector.secretValues) plan.redactor.addSecret(secret)
    for (const header of connector.secretHeaders) plan.redactor.addSecretHeader(header)
  }
  for (const warning of new Set(connectors.flatMap((connector) => connector.warnings))) plan.warn(warning)

  const source = await plan.loadEvents(connectors)
  const transports = new TransportPool()
  const tokens = plan.tokens ?? new TokenCache()
  const summary: DeliverySummary = { delivered: 0, anyFailed: false, single: source.single }
  try {
    for (const warning of source.warnings) plan.warn(warning)
    const index = plan.dryRun ? null : plan.index
    // Every path a delivery writes to is checked before the first byte is sent.
    await index?.prepare()
    if (!plan.dryRun) await assertEvidenceDir(plan.outputDir)
    for await (const event of source.events) {
      const result = await deliverEvent(
        event,
        connectors,
        {
          retries: plan.retries,
          timeoutMs: plan.timeoutMs,
          deadline,
          dryRun: plan.dryRun,
          redactor: plan.redactor,
          transports,
          tokens,
          concurrency: plan.concurrency ?? DELIVERY_CONCURRENCY,
        },
        plan.runner,
      )
      summary.anyFailed ||= !result.success
      const evidencePath = plan.dryRun ? null : await writeEvidence(plan.outputDir, result, plan.redactor)
      const metadata = index ? await index.append(result, evidencePath) : null
      summary.delivered++
      await onDelivered({ result, evidencePath, metadata, single: source.single })
    }
  } finally {
    await transports.close()
    await source.dispose()
  }
  return summary
}
