import type { Interfaces } from '@oclif/core'
import { ExitCode } from '../common/exit-codes.js'
import type { SelectionRule } from '../config/select.js'
import type { PreparedConnector } from '../connectors/types.js'
import type { DeliveryRecord, DeliveryResult } from '../delivery/evidence-types.js'
import type { DeliveryKind } from '../flow/delivery-kinds.js'
import type { Delivered, EventSource } from '../flow/run-delivery.js'
import type { EvidenceIndex } from '../metadata/evidence-index.js'
import { CavraCommand } from './base-command.js'
import {
  DEFAULT_DEADLINE_SECONDS,
  DEFAULT_RETRIES,
  DEFAULT_TIMEOUT_SECONDS,
  type deliveryFlags,
} from './delivery-flags.js'
import { colourFor, table } from './output.js'

/**
 * What the delivery commands share: turn flags into a delivery plan, run the shared flow,
 * and report each result (a table for people, JSON under --json), then exit 0 or 1. Commands
 * only say which kind of delivery they make, how their input is read, and where it is indexed.
 */

export type DeliveryFlags = Interfaces.InferredFlags<typeof deliveryFlags> & { json?: boolean }

export interface CommandDelivery {
  kind: DeliveryKind
  /** Overrides the kind's default selection (an endpoint export narrows it to its providers). */
  rule?: SelectionRule
  loadEvents(connectors: readonly PreparedConnector[]): Promise<EventSource>
  index: EvidenceIndex | null
}

export abstract class DeliveryCommand extends CavraCommand {
  protected async deliver(flags: DeliveryFlags, delivery: CommandDelivery): Promise<void> {
    const json = this.jsonEnabled()
    const dryRun = flags['dry-run'] === true
    // No progress under --json or in a dry run; on a terminal the live task list (listr2), in a
    // CI log plain lines, without listr2.
    const showProgress = !json && !dryRun
    const [{ runDelivery }, { DELIVERY_KINDS }, { configPathFrom }, { parseProviderFlags }, progress] =
      await Promise.all([
        import('../flow/run-delivery.js'),
        import('../flow/delivery-kinds.js'),
        import('../config/load.js'),
        import('../config/select.js'),
        showProgress
          ? process.stderr.isTTY
            ? import('./task-list.js').then(({ taskListRunner }) => taskListRunner)
            : import('./progress.js').then(({ progressLines }) => progressLines)
          : undefined,
      ])
    const kind = DELIVERY_KINDS[delivery.kind]
    // Step outputs, summary and annotations for a GitHub Actions runner, loaded only there;
    // a dry run writes nothing, the runner's files included.
    const env = process.env
    const github =
      dryRun || (env.GITHUB_ACTIONS !== 'true' && !env.GITHUB_OUTPUT && !env.GITHUB_STEP_SUMMARY)
        ? undefined
        : await import('./github-step.js').then(({ GithubActionsStep }) =>
            GithubActionsStep.open(
              env,
              `${this.config.bin} ${(this.id ?? '').replace(/:/g, ' ')}`,
              (text) => this.redactor.scrub(text),
              json ? process.stderr : process.stdout,
            ),
          )
    let printed = 0
    const summary = await runDelivery(
      {
        configPath: configPathFrom(flags.config, process.env),
        providers: parseProviderFlags(flags.provider),
        rule: delivery.rule ?? { categories: kind.categories, command: kind.command },
        loadEvents: delivery.loadEvents,
        outputDir: flags.output ?? kind.outputDir,
        index: delivery.index,
        retries: flags.retries ?? DEFAULT_RETRIES,
        timeoutMs: (flags.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
        deadlineMs: (flags.deadline ?? DEFAULT_DEADLINE_SECONDS) * 1000,
        dryRun,
        env: process.env,
        redactor: this.redactor,
        runner: progress?.((job) => job.connector.name),
        warn: (message) => this.note(message),
      },
      (delivered) => {
        if (json) this.printJson(delivered, printed)
        else this.report(delivered, dryRun)
        printed++
        github?.delivered(delivered.result, delivered.evidencePath)
      },
    )
    if (json && !summary.single) process.stdout.write(printed === 0 ? '[]\n' : '\n]\n')
    await github?.finish()
    // A dry run sends nothing, so nothing can have failed to arrive: it exits 0.
    if (summary.anyFailed && !dryRun && !flags['allow-failure']) process.exitCode = ExitCode.deliveryFailed
  }

  /** One document for a single event; an array, streamed as results arrive, for several. */
  private printJson({ result, evidencePath, metadata, single }: Delivered, printed: number): void {
    const document = { ...result, delivery_evidence: evidencePath, metadata }
    const text = this.redactor.scrub(JSON.stringify(document, null, 2))
    if (single) process.stdout.write(`${text}\n`)
    else process.stdout.write(`${printed === 0 ? '[\n' : ',\n'}${text}`)
  }

  private report({ result, evidencePath, metadata }: Delivered, dryRun: boolean): void {
    const colour = colourFor(process.stdout)
    const out: string[] = []
    out.push(
      colour.bold(`${result.event_type} ${result.event_id}`) +
        ` (severity ${result.severity})${dryRun ? colour.yellow(' - dry run, nothing sent') : ''}`,
    )
    if (dryRun) out.push(...dryRunLines(result, colour))
    else {
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

export function dryRunLines(result: DeliveryResult, colour: ReturnType<typeof colourFor>): string[] {
  const out: string[] = []
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
  return out
}

function deliverySummary(delivery: DeliveryRecord): string {
  const attempts = `${delivery.attempt_count} attempt${delivery.attempt_count === 1 ? '' : 's'}, ${delivery.duration_ms} ms`
  if (!delivery.success) return `${delivery.error} (${attempts})`
  const ref = delivery.remote_reference ? ` -> ${delivery.remote_reference}` : ''
  if (delivery.deduplicated) return `already delivered${ref} (duplicate check; ${attempts})`
  return `${delivery.records_sent} record${delivery.records_sent === 1 ? '' : 's'}${ref} (${attempts})`
}
