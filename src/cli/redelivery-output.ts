import { ExitCode } from '../common/exit-codes.js'
import { REDELIVERY_SCHEMA, type RedeliveryResult } from '../flow/redeliver.js'
import type { Delivered } from '../flow/run-delivery.js'
import { dryRunLines } from './delivery-command.js'
import type { colourFor } from './output.js'
import { table } from './output.js'

/** How `release redeliver` reports: one block per event for people, one document under --json. */

export interface RedeliveryDocument {
  schema_version: typeof REDELIVERY_SCHEMA
  product: 'CAVRA'
  dry_run?: true
  results: RedeliveryResult[]
}

export function redeliveryDocument(results: RedeliveryResult[], dryRun: boolean): RedeliveryDocument {
  return {
    schema_version: REDELIVERY_SCHEMA,
    product: 'CAVRA',
    ...(dryRun ? { dry_run: true } : {}),
    results,
  }
}

/**
 * 1 when any re-delivery failed, else 4 when any was refused, else 0. A dry run sends
 * nothing, so nothing can fail to arrive; a refused artifact is refused all the same.
 */
export function redeliveryExitCode(results: readonly RedeliveryResult[], dryRun: boolean): ExitCode {
  if (!dryRun && results.some((result) => result.outcome === 'failed')) return ExitCode.deliveryFailed
  if (results.some((result) => result.outcome === 'refused')) return ExitCode.input
  return ExitCode.ok
}

/** The results of one event: a line per connector, then its evidence and store item. */
export function renderEventResults(
  results: readonly RedeliveryResult[],
  delivered: Delivered | null,
  colour: ReturnType<typeof colourFor>,
  dryRun: boolean,
): string {
  const first = results[0]
  if (!first) return ''
  const out = [
    `${colour.bold(`${first.event_type} ${first.event_id}`)} (re-delivery of ${first.redelivery_of.join(', ')})${dryRun ? colour.yellow(' - dry run, nothing sent') : ''}`,
  ]
  out.push(
    table(results.map((result) => [outcomeLabel(result, colour, dryRun), result.provider, detail(result)])),
  )
  if (dryRun && delivered) out.push(...dryRunLines(delivered.result, colour))
  if (delivered?.evidencePath) out.push(`Evidence: ${delivered.evidencePath}`)
  if (first.session_id) out.push(`Indexed as ${first.session_id}`)
  // A blank line between events.
  return `${out.join('\n')}\n\n`
}

/** The closing line: how many alerts each outcome took. */
export function summaryLine(results: readonly RedeliveryResult[], dryRun: boolean): string {
  const count = (outcome: RedeliveryResult['outcome']) =>
    results.filter((result) => result.outcome === outcome).length
  const alerts = `${results.length} open alert${results.length === 1 ? '' : 's'}`
  if (dryRun)
    return `${alerts}: ${count('delivered')} ready to re-deliver, ${count('failed')} failed to build, ${count('refused')} refused; nothing was sent.\n`
  return `${alerts}: ${count('delivered')} re-delivered, ${count('failed')} failed, ${count('refused')} refused.\n`
}

function outcomeLabel(
  result: RedeliveryResult,
  colour: ReturnType<typeof colourFor>,
  dryRun: boolean,
): string {
  if (result.outcome === 'refused') return colour.yellow('REFUSED')
  if (result.outcome === 'failed') return colour.red('FAILED')
  return colour.green(dryRun ? 'ready' : 'ok')
}

function detail(result: RedeliveryResult): string {
  if (result.outcome !== 'delivered') return result.reason ?? '-'
  const reference = result.remote_reference ? ` -> ${result.remote_reference}` : ''
  return result.deduplicated ? `already at the vendor${reference} (duplicate check)` : `delivered${reference}`
}

/** What to print when nothing matched. */
export function nothingOpen(filtered: boolean): string {
  return filtered
    ? 'No open alert matches the filters: nothing to re-deliver.\n'
    : 'No open alert in the store: nothing to re-deliver.\n'
}
