import type { Interfaces } from '@oclif/core'
import { ExitCode } from '../common/exit-codes.js'
import type { PreparedConnector, SelectionRule } from '../config/select.js'
import type { DeliveryRecord, DeliveryResult } from '../delivery/evidence-types.js'
import type { DeliveryEvent } from '../events/event.js'
import { CavraCommand } from './base-command.js'
import {
  DEFAULT_DEADLINE_SECONDS,
  DEFAULT_RETRIES,
  DEFAULT_TIMEOUT_SECONDS,
  DELIVERY_CONCURRENCY,
  type deliveryFlags,
} from './delivery-flags.js'
import { colourFor, table } from './output.js'

/**
 * The flow every delivery command shares (SPEC §2.1, §5): load and resolve the selected
 * connectors, validate the input, check the metadata store, and only then send; write the
 * evidence, index it, report, and exit 0 / 1. Commands only say which input they read, which
 * connectors fit, and where evidence and metadata go.
 */

export type DeliveryFlags = Interfaces.InferredFlags<typeof deliveryFlags> & { json?: boolean }

/** The events of one input artifact, validated before anything is sent. */
export interface EventSource {
  events: AsyncIterable<DeliveryEvent>
  warnings: string[]
  /** Whether the input is one event (JSON output is one object) or several (an array). */
  single: boolean
  dispose(): Promise<void>
}

/** Where delivery results are indexed: the metadata store, or nowhere. */
export interface EvidenceIndex {
  /** Verifies the store can take an item; fails with exit 5 before anything is sent. */
  prepare(): Promise<void>
  append(result: DeliveryResult, evidencePath: string | null): Promise<Record<string, unknown>>
}

export interface DeliveryPlan {
  command: string
  rule: SelectionRule
  defaultOutputDir: string
  input: string
  loadEvents(input: string, connectors: readonly PreparedConnector[]): Promise<EventSource>
  index: EvidenceIndex | null
}

export abstract class DeliveryCommand extends CavraCommand {
  protected async deliver(flags: DeliveryFlags, plan: DeliveryPlan): Promise<void> {
    const [
      { loadConnectorConfig, configPathFrom },
      { parseProviderFlags, prepareConnectors, selectConnectors },
      registry,
    ] = await Promise.all([
      import('../config/load.js'),
      import('../config/select.js'),
      import('../connectors/index.js'),
    ])
    const deadlineSeconds = flags.deadline ?? DEFAULT_DEADLINE_SECONDS
    const { Deadline } = await import('../delivery/retry.js')
    const deadline = new Deadline(deadlineSeconds * 1000)

    const config = await loadConnectorConfig(configPathFrom(flags.config, process.env), registry.REGISTRY)
    const selected = selectConnectors(config, parseProviderFlags(flags.provider), plan.rule)
    const connectors = prepareConnectors(config, selected, process.env)
    for (const connector of connectors) {
      for (const secret of connector.secretValues) this.redactor.addSecret(secret)
      for (const header of connector.secretHeaders) this.redactor.addSecretHeader(header)
    }
    for (const warning of new Set(connectors.flatMap((c) => c.warnings))) this.note(warning)

    const source = await plan.loadEvents(plan.input, connectors)
    try {
      for (const warning of source.warnings) this.note(warning)
      if (plan.index && !flags['dry-run']) await plan.index.prepare()
      const anyFailed = await this.deliverAll(flags, plan, connectors, source, deadline)
      if (anyFailed && !flags['allow-failure']) process.exitCode = ExitCode.deliveryFailed
    } finally {
      await source.dispose()
    }
  }

  private async deliverAll(
    flags: DeliveryFlags,
    plan: DeliveryPlan,
    connectors: PreparedConnector[],
    source: EventSource,
    deadline: import('../delivery/retry.js').Deadline,
  ): Promise<boolean> {
    const [{ deliverEvent }, { writeEvidence }, { TransportPool }, { TokenCache }, { taskListRunner }] =
      await Promise.all([
        import('../delivery/deliver.js'),
        import('../delivery/evidence.js'),
        import('../delivery/http.js'),
        import('../delivery/session.js'),
        import('./progress.js'),
      ])
    const json = this.jsonEnabled()
    const dryRun = flags['dry-run'] === true
    const transports = new TransportPool()
    const tokens = new TokenCache()
    const runner = json || dryRun ? undefined : taskListRunner((job) => job.connector.name)
    const outputDir = flags.output ?? plan.defaultOutputDir
    let anyFailed = false
    let printed = 0
    try {
      for await (const event of source.events) {
        const result = await deliverEvent(
          event,
          connectors,
          {
            retries: flags.retries ?? DEFAULT_RETRIES,
            timeoutMs: (flags.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
            deadline,
            dryRun,
            redactor: this.redactor,
            transports,
            tokens,
            concurrency: DELIVERY_CONCURRENCY,
          },
          runner,
        )
        anyFailed ||= !result.success
        const evidencePath = dryRun ? null : await writeEvidence(outputDir, result, this.redactor)
        const metadata = plan.index && !dryRun ? await plan.index.append(result, evidencePath) : null
        if (json) {
          const document = { ...result, delivery_evidence: evidencePath, metadata }
          const text = this.redactor.scrub(JSON.stringify(document, null, 2))
          if (source.single) process.stdout.write(`${text}\n`)
          else process.stdout.write(`${printed === 0 ? '[\n' : ',\n'}${text}`)
        } else {
          this.report(result, evidencePath, metadata, dryRun)
        }
        printed++
      }
      if (json && !source.single) process.stdout.write(printed === 0 ? '[]\n' : '\n]\n')
    } finally {
      await transports.close()
    }
    return anyFailed
  }

  private report(
    result: DeliveryResult,
    evidencePath: string | null,
    metadata: Record<string, unknown> | null,
    dryRun: boolean,
  ): void {
    const colour = colourFor(process.stdout)
    const out: string[] = []
    out.push(
      colour.bold(`${result.event_type} ${result.event_id}`) +
        ` (severity ${result.severity})${dryRun ? colour.yellow(' - dry run, nothing sent') : ''}`,
    )
    if (dryRun) {
      for (const delivery of result.deliveries) {
        for (const request of delivery.dry_run_requests ?? []) {
          out.push(`\n${colour.cyan(`${delivery.provider}: ${request.step}`)}`)
          out.push(`${request.method} ${request.url}`)
          for (const [name, value] of Object.entries(request.headers)) out.push(`${name}: ${value}`)
          if (request.body !== null) {
            out.push(typeof request.body === 'string' ? request.body : JSON.stringify(request.body, null, 2))
          }
        }
      }
    } else {
      out.push(
        table(
          result.deliveries.map((delivery) => [
            delivery.success ? colour.green('ok') : colour.red('FAILED'),
            delivery.provider,
            deliverySummary(delivery),
          ]),
        ),
      )
      if (evidencePath) out.push(`Evidence: ${evidencePath}`)
      if (metadata && typeof metadata.session_id === 'string') out.push(`Indexed as ${metadata.session_id}`)
    }
    process.stdout.write(`${this.redactor.scrub(out.join('\n'))}\n`)
  }
}

function deliverySummary(delivery: DeliveryRecord): string {
  const attempts = `${delivery.attempt_count} attempt${delivery.attempt_count === 1 ? '' : 's'}, ${delivery.duration_ms} ms`
  if (!delivery.success) return `${delivery.error} (${attempts})`
  const ref = delivery.remote_reference ? ` -> ${delivery.remote_reference}` : ''
  if (delivery.deduplicated) return `already delivered${ref} (duplicate check; ${attempts})`
  return `${delivery.records_sent} record${delivery.records_sent === 1 ? '' : 's'}${ref} (${attempts})`
}
