import { randomUuid } from '../common/digest.js'
import { markdownText } from '../common/markdown.js'
import { stripControl } from '../common/text.js'
import type { DeliveryRecord, DeliveryResult } from '../delivery/evidence-types.js'

/**
 * What a delivery tells a GitHub Actions runner, as text: workflow commands (annotations),
 * step outputs in the format of `$GITHUB_OUTPUT`, and a markdown step summary. Everything here
 * is pure; `github-step.ts` writes the runner's files. Every text that came from an
 * artifact, a server or the configuration is hostile: it is stripped of control characters,
 * scrubbed of secrets by the caller's `scrub`, and only then escaped for its destination
 * (escaping first would hide a secret from the scrubber behind `%25` or `&amp;`).
 *
 * References: "Workflow commands for GitHub Actions" (docs.github.com/en/actions/reference/
 * workflow-commands-for-github-actions: setting an output parameter, multiline strings,
 * adding a job summary), and GitHub's own toolkit, whose escaping the runner undoes
 * (actions/toolkit `packages/core/src/command.ts`, `escapeData` / `escapeProperty`; the
 * heredoc with a random delimiter in `packages/core/src/file-command.ts`).
 */

export type Scrub = (text: string) => string

/** Message data: `%`, CR and LF are percent-encoded; the runner decodes them. */
export function escapeWorkflowData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

/** A property value (`title=…`): as data, and `:` and `,` too, which end a property. */
export function escapeWorkflowProperty(text: string): string {
  return escapeWorkflowData(text).replace(/:/g, '%3A').replace(/,/g, '%2C')
}

/**
 * One workflow command line, `::error title=…::message`. The runner also reads `##[command]`
 * anywhere in a line, so that sequence is broken up in the message as everywhere else cavra
 * prints outside text.
 */
export function workflowCommand(
  command: 'error' | 'warning' | 'notice',
  properties: Readonly<Record<string, string>>,
  message: string,
): string {
  const props = Object.entries(properties)
    .map(([name, value]) => `${name}=${escapeWorkflowProperty(stripControl(value))}`)
    .join(',')
  const data = escapeWorkflowData(stripControl(message)).replace(/##\[/g, '# #[')
  return `::${command}${props ? ` ${props}` : ''}::${data}`
}

/** `::error title=cavra <connector>::…` for each connector of `result` that failed. */
export function failureAnnotations(result: DeliveryResult, scrub: Scrub): string[] {
  // Control characters go first: one inside a secret would otherwise hide it from the scrubber.
  const clean = (text: string) => scrub(stripControl(text))
  return result.deliveries
    .filter((delivery) => !delivery.success)
    .map((delivery) =>
      workflowCommand(
        'error',
        { title: clean(`cavra ${delivery.provider}`) },
        clean(
          `${result.event_type} ${result.event_id} was not delivered to ${delivery.provider}: ${delivery.error ?? 'failed'}`,
        ),
      ),
    )
}

/**
 * Step outputs in the `$GITHUB_OUTPUT` format. A plain token (`true`, a connector name) is
 * written `name=value`; any other value, which may hold a newline, goes in the heredoc form
 * `name<<DELIMITER`, value, `DELIMITER` with a delimiter that is random per value, so that a
 * hostile value can neither end it early nor add outputs of its own.
 */
export function formatStepOutputs(
  outputs: Readonly<Record<string, string>>,
  delimiter: () => string = () => `ghadelimiter_${randomUuid()}`,
): string {
  let text = ''
  for (const [name, value] of Object.entries(outputs)) {
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) throw new Error(`not a step output name: ${name}`)
    if (/^[\w.-]*$/.test(value)) {
      text += `${name}=${value}\n`
      continue
    }
    let marker = delimiter()
    for (let tries = 0; value.includes(marker); tries++) {
      if (tries === 10) throw new Error('no heredoc delimiter absent from the value')
      marker = delimiter()
    }
    text += `${name}<<${marker}\n${value}\n${marker}\n`
  }
  return text
}

/** The events of one delivery command whose connectors the step summary lists one by one. */
export const SUMMARY_EVENT_LIMIT = 20

interface SummarisedEvent {
  eventType: string
  eventId: string
  severity: string
  evidencePath: string | null
  deliveries: Pick<
    DeliveryRecord,
    | 'provider'
    | 'provider_type'
    | 'success'
    | 'status_code'
    | 'attempt_count'
    | 'deduplicated'
    | 'remote_reference'
    | 'error'
  >[]
}

/**
 * What one delivery command tells the runner once every event is delivered: collected as
 * results arrive, in bounded memory (a file of many events keeps its ids and evidence paths,
 * and the connectors of the first `SUMMARY_EVENT_LIMIT` events only).
 */
export class DeliveryStepReport {
  private readonly eventIds: string[] = []
  private readonly evidencePaths: string[] = []
  private readonly failedConnectors = new Set<string>()
  private readonly events: SummarisedEvent[] = []
  private eventCount = 0

  /** `command` names the command as a person types it: `cavra release deliver-rollback-execution`. */
  constructor(
    private readonly command: string,
    private readonly scrub: Scrub,
  ) {}

  add(result: DeliveryResult, evidencePath: string | null): void {
    this.eventCount++
    this.eventIds.push(result.event_id)
    if (evidencePath) this.evidencePaths.push(evidencePath)
    for (const delivery of result.deliveries)
      if (!delivery.success) this.failedConnectors.add(delivery.provider)
    if (this.events.length < SUMMARY_EVENT_LIMIT) {
      this.events.push({
        eventType: result.event_type,
        eventId: result.event_id,
        severity: result.severity,
        evidencePath,
        deliveries: result.deliveries.map((d) => ({
          provider: d.provider,
          provider_type: d.provider_type,
          success: d.success,
          status_code: d.status_code,
          attempt_count: d.attempt_count,
          deduplicated: d.deduplicated,
          remote_reference: d.remote_reference,
          error: d.error,
        })),
      })
    }
  }

  /**
   * `success` (`true` when every connector of every event succeeded, whatever
   * `--allow-failure` does to the exit code), `evidence-file` (one path per line when the file
   * held several events), `failed-connectors` and `event-id` (comma lists).
   */
  outputs(): Record<string, string> {
    const clean = (text: string) => this.scrub(stripControl(text))
    return {
      success: String(this.failedConnectors.size === 0),
      'evidence-file': clean(this.evidencePaths.join('\n')),
      'failed-connectors': clean([...this.failedConnectors].join(',')),
      'event-id': clean(this.eventIds.join(',')),
    }
  }

  /** A `###` heading per event naming the command and the event id, and a table of its connectors. */
  summaryMarkdown(): string {
    const cell = (text: string) => markdownText(this.scrub(stripControl(text)))
    const out: string[] = []
    for (const event of this.events) {
      const failed = event.deliveries.filter((d) => !d.success).length
      out.push(
        `### ${failed === 0 ? '✅' : '❌'} ${cell(this.command)}: ${cell(event.eventId)}`,
        '',
        `${cell(event.eventType)}, severity ${cell(event.severity)}: ${
          failed === 0
            ? `delivered to ${plural(event.deliveries.length, 'connector')}`
            : `${failed} of ${plural(event.deliveries.length, 'connector')} failed`
        }.${event.evidencePath ? ` Evidence: ${cell(event.evidencePath)}` : ''}`,
        '',
        '| Connector | Kind | Outcome | Attempts | Reference or error |',
        '|---|---|---|--:|---|',
        ...event.deliveries.map(
          (d) =>
            `| ${cell(d.provider)} | ${cell(d.provider_type)} | ${outcome(d)} | ${d.attempt_count} | ${cell(
              (d.success ? d.remote_reference : d.error) ?? '-',
            )} |`,
        ),
        '',
      )
    }
    const rest = this.eventCount - this.events.length
    if (rest > 0)
      out.push(
        `${plural(rest, 'more event')} delivered by ${cell(this.command)}; each result is in its evidence file.`,
        '',
      )
    // A blank line ends the last table, whatever a later step appends.
    return `${out.join('\n')}\n`
  }
}

function outcome(delivery: SummarisedEvent['deliveries'][number]): string {
  if (!delivery.success) return `❌ failed${delivery.status_code ? ` (${delivery.status_code})` : ''}`
  return delivery.deduplicated ? '✅ already delivered' : '✅ delivered'
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}
