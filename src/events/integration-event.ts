import { InputError } from '../common/errors.js'
import { type Severity, severityRank } from '../common/severity.js'
import { describeIssue } from '../common/zod-issues.js'
import { type Artifact, nameOf, scanErrorToInputError, sourceOf } from './artifact.js'
import type { ByteSource } from './byte-source.js'
import {
  contentIdentity,
  type Decision,
  DecisionDigest,
  type DeliveryEvent,
  identityFromFields,
} from './event.js'
import {
  decisionSchema,
  type EventHeader,
  eventHeaderSchema,
  isPlainDecision,
  plainHeader,
} from './input-schema.js'
import {
  type DecisionVisitor,
  JsonScanError,
  readDecisions,
  type ScannedEvent,
  scanEvents,
  scanEventsExactly,
} from './json-scan.js'
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

/**
 * What validating a file learnt that delivering it reuses: the digest of each event's
 * decisions (for the first events of a file), so they are not parsed again just for that.
 */
const validated = new WeakMap<Artifact, Map<number, DecisionDigest>>()
/** Events whose digests validation keeps for delivery; a few decisions each, whatever the file's size. */
const KEPT_DIGESTS = 256

export async function validateEventFile(artifact: Artifact): Promise<EventFileSummary> {
  try {
    return await validate(artifact, scanEvents)
  } catch {
    // The quick reading stops at the first thing wrong, which is not always the first thing
    // the token parser meets; the file is read again that way, for the very same error.
  }
  return validate(artifact, scanEventsExactly)
}

async function validate(
  artifact: Artifact,
  scan: (source: ByteSource, onDecision: DecisionVisitor) => AsyncIterable<ScannedEvent>,
): Promise<EventFileSummary> {
  const summary: EventFileSummary = { events: 0, decisions: 0, warnings: [] }
  const highest = new Map<number, Severity>()
  const digests = new Map<number, DecisionDigest>()
  const digestOf = (index: number) => {
    let digest = digests.get(index)
    if (!digest) {
      digest = new DecisionDigest()
      digests.set(index, digest)
    }
    return digest
  }
  await withScanErrors(artifact, async () => {
    const checkDecision = (event: DecisionOwner, decision: unknown, position: number) => {
      const severity = decisionSeverity(artifact, event, decision, position)
      summary.decisions++
      const current = highest.get(event.index)
      if (severity && (!current || severityRank(severity) > severityRank(current)))
        highest.set(event.index, severity)
      if (event.index < KEPT_DIGESTS) digestOf(event.index).add(decision as Decision)
    }
    for await (const event of scan(artifact.source, checkDecision)) {
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
      if (event.index < KEPT_DIGESTS) digestOf(event.index)
    }
  })
  validated.set(artifact, digests)
  return summary
}

/**
 * A decision's severity once it is known to fit `decisionSchema`. The fields cavra reads are
 * checked directly; only a decision that does not plainly fit goes through the schema, which
 * decides, and names the problem.
 */
function decisionSeverity(
  artifact: Artifact,
  event: DecisionOwner,
  decision: unknown,
  position: number,
): Severity | undefined {
  if (isPlainDecision(decision)) return decision.severity
  const parsed = decisionSchema().safeParse(decision, { reportInput: true })
  if (!parsed.success) {
    const base = `${eventBase(event)}.decisions[${position}]`
    throw invalid(artifact, event.line, parsed.error.issues[0]!, base)
  }
  return parsed.data.severity
}

export async function* readEventFile(artifact: Artifact): AsyncGenerator<DeliveryEvent> {
  const known = validated.get(artifact)
  const digests = new Map<number, DecisionDigest>()
  const digestOf = (index: number) => {
    let digest = digests.get(index)
    if (!digest) {
      digest = new DecisionDigest()
      digests.set(index, digest)
    }
    return digest
  }
  const isKnown = (index: number) => known?.has(index) === true
  const scanned = scanEvents(
    artifact.source,
    (event, decision) => {
      if (!isKnown(event.index)) digestOf(event.index).add(decision as Decision)
    },
    { skipDecisionsOf: isKnown },
  )
  for await (const event of scanned) {
    const header = plainHeader(event.fields) ?? eventHeaderSchema().parse(event.fields)
    const inline = (header.decisions ?? []) as Decision[]
    let digest = known?.get(event.index)
    if (!digest) {
      digest = digestOf(event.index)
      for (const decision of inline) digest.add(decision)
    }
    digests.delete(event.index)
    const range = event.decisions
    const decisions = range
      ? () => readDecisions(artifact.source, range) as AsyncIterable<Decision>
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
    source: sourceOf(artifact),
  }
  return { ...partial, view: buildView(partial, digest) }
}

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  yield* items
}

function parseHeader(artifact: Artifact, event: ScannedEvent): EventHeader {
  const plain = plainHeader(event.fields)
  if (plain) return plain
  const parsed = eventHeaderSchema().safeParse(event.fields, { reportInput: true })
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
