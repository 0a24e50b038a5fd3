import { InputError } from '../common/errors.js'
import { type Severity, severityRank } from '../common/severity.js'
import { describeIssue } from '../common/zod-issues.js'
import { type Artifact, nameOf, scanErrorToInputError } from './artifact.js'
import {
  contentIdentity,
  type Decision,
  DecisionDigest,
  type DeliveryEvent,
  identityFromFields,
} from './event.js'
import { decisionSchema, type EventHeader, eventHeaderSchema } from './input-schema.js'
import { JsonScanError, readDecisions, type ScannedEvent, scanEvents } from './json-scan.js'
import { buildView } from './views.js'

/**
 * Integration events from a file holding one object, an array of objects or
 * JSON Lines. `validateEventFile` reads the whole file once and stops at the first problem,
 * so nothing is sent for a file that is bad anywhere; `readEventFile` then streams the
 * events one at a time for delivery.
 */

export interface EventFileSummary {
  events: number
  decisions: number
  warnings: string[]
}

export async function validateEventFile(artifact: Artifact): Promise<EventFileSummary> {
  const summary: EventFileSummary = { events: 0, decisions: 0, warnings: [] }
  const highest = new Map<number, Severity>()
  await withScanErrors(artifact, async () => {
    const checkDecision = (event: DecisionOwner, decision: unknown, position: number) => {
      const parsed = decisionSchema.safeParse(decision, { reportInput: true })
      if (!parsed.success) {
        const base = `${eventBase(event)}.decisions[${position}]`
        throw invalid(artifact, event.line, parsed.error.issues[0]!, base)
      }
      summary.decisions++
      const severity = parsed.data.severity
      const current = highest.get(event.index)
      if (severity && (!current || severityRank(severity) > severityRank(current)))
        highest.set(event.index, severity)
    }
    for await (const event of scanEvents(artifact.file, checkDecision)) {
      const header = parseHeader(artifact, event)
      for (const [position, decision] of (header.decisions ?? []).entries())
        checkDecision(event, decision, position)
      summary.events++
      const declared = header.max_severity ?? header.severity
      const found = highest.get(event.index)
      if (declared && found && severityRank(found) > severityRank(declared)) {
        const id = identityFromFields(event.fields) ?? `event ${event.index + 1}`
        summary.warnings.push(
          `${nameOf(artifact)}: ${id} declares max_severity ${declared} but holds a ${found} decision; delivering as ${declared}, each decision record keeps its own severity.`,
        )
      }
      highest.delete(event.index)
    }
  })
  return summary
}

export async function* readEventFile(artifact: Artifact): AsyncGenerator<DeliveryEvent> {
  const digests = new Map<number, DecisionDigest>()
  const digestOf = (index: number) => {
    let digest = digests.get(index)
    if (!digest) {
      digest = new DecisionDigest()
      digests.set(index, digest)
    }
    return digest
  }
  const scanned = scanEvents(artifact.file, (event, decision) =>
    digestOf(event.index).add(decision as Decision),
  )
  for await (const event of scanned) {
    const header = eventHeaderSchema.parse(event.fields)
    const digest = digestOf(event.index)
    digests.delete(event.index)
    const inline = (header.decisions ?? []) as Decision[]
    for (const decision of inline) digest.add(decision)
    const range = event.decisions
    const decisions = range
      ? () => readDecisions(artifact.file, range) as AsyncIterable<Decision>
      : () => fromArray(inline)
    const fields = { ...event.fields }
    delete fields.decisions
    const count = range ? range.count : inline.length
    yield await toDeliveryEvent(
      artifact,
      header,
      fields,
      { all: decisions, count, present: !!range || !!header.decisions },
      digest,
    )
  }
}

async function toDeliveryEvent(
  artifact: Artifact,
  header: EventHeader,
  fields: Record<string, unknown>,
  streamed: { all: () => AsyncIterable<Decision>; count: number; present: boolean },
  digest: DecisionDigest,
): Promise<DeliveryEvent> {
  const { all: decisions, count: decisionCount, present: hasDecisions } = streamed
  const eventId =
    identityFromFields(fields) ?? (await contentIdentity(fields, hasDecisions ? decisions() : null))
  const severity: Severity = header.max_severity ?? header.severity ?? 'low'
  const partial = {
    eventId,
    eventType: header.event_type ?? 'cavra.connector.event',
    sessionId: header.session_id == null ? null : String(header.session_id),
    severity,
    timestamp:
      header.timestamp ??
      (typeof fields.created_at === 'string' ? fields.created_at : new Date().toISOString()),
    product: header.product ?? 'CAVRA',
    fields,
    decisionCount,
    decisions,
    source: { path: artifact.displayPath, sha256: artifact.sha256 },
  }
  return { ...partial, view: buildView(partial, digest) }
}

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  yield* items
}

function parseHeader(artifact: Artifact, event: ScannedEvent): EventHeader {
  const parsed = eventHeaderSchema.safeParse(event.fields, { reportInput: true })
  if (!parsed.success) {
    throw invalid(artifact, event.line, parsed.error.issues[0]!, eventBase(event))
  }
  return parsed.data
}

type DecisionOwner = Pick<ScannedEvent, 'index' | 'line' | 'layout'>

function eventBase(event: DecisionOwner): string {
  return event.layout === 'array' ? `$[${event.index}]` : '$'
}

function invalid(
  artifact: Artifact,
  line: number,
  issue: Parameters<typeof describeIssue>[0],
  base: string,
): InputError {
  return new InputError(`${nameOf(artifact)}: line ${line}: ${describeIssue(issue, base)}.`, [
    'Fix the artifact: docs/inputs.md lists the fields cavra reads and the values they take.',
  ])
}

async function withScanErrors(artifact: Artifact, body: () => Promise<void>): Promise<void> {
  try {
    await body()
  } catch (error) {
    if (error instanceof JsonScanError) throw await scanErrorToInputError(artifact, error)
    throw error
  }
}
