import { canonicalJson } from '../common/canonical-json.js'
import { sha256 } from '../common/digest.js'
import { type Severity, severityRank } from '../common/severity.js'

/** One policy decision of an evidence bundle; unknown fields are kept. */
export interface Decision {
  decision_id?: string | number
  timestamp?: string
  action_type?: string
  command?: string
  decision?: 'allow' | 'block' | 'require_approval'
  severity?: Severity
  reason?: string
  policy_id?: string
  [field: string]: unknown
}

/** A file of an endpoint export, verified against checksums.txt before anything is sent. */
export interface VerifiedFile {
  name: string
  sha256: string
  bytes: number
  content: Buffer
}

/**
 * The input a delivery came from, as the evidence and the store record it: an absolute path,
 * so the item still names the file whatever folder a later command (a re-delivery) runs in;
 * null for standard input and pipes, whose bytes cannot be read again.
 */
export interface SourceArtifact {
  path: string | null
  sha256: string
}

/** A label/value pair every chat and ITSM connector can render. */
export interface Fact {
  label: string
  value: string
}

/**
 * How an event reads to a person: chat and ITSM connectors render this instead of knowing
 * every artifact kind, so a rollback says what was rolled back wherever it lands.
 */
export interface EventView {
  /** One line, without the severity word (connectors add `[HIGH]` in their own style). */
  title: string
  /** One or two sentences. */
  summary: string
  facts: Fact[]
  /** The few items that matter most: blocked decisions first, or the rollback steps. */
  highlights: { heading: string; items: string[]; omitted: number } | null
  /** References a reader can follow (evidence refs, change records). */
  references: string[]
}

/** What every connector receives: identity, severity, the artifact's fields and its view. */
export interface DeliveryEvent {
  eventId: string
  eventType: string
  sessionId: string | null
  severity: Severity
  /** ISO time the event happened (the artifact's timestamp or created_at). */
  timestamp: string
  product: string
  /** The artifact's fields; streamed `decisions` are not among them (see `decisions()`). */
  fields: Record<string, unknown>
  decisionCount: number
  /** Streams the decisions; may be called once per connector. */
  decisions(): AsyncIterable<Decision>
  view: EventView
  source: SourceArtifact | null
  /** Verified sibling files of an endpoint export; absent for other events. */
  files?: readonly VerifiedFile[]
}

/** The fields that give an event its identity, in order. */
export const IDENTITY_FIELDS = [
  'event_id',
  'session_id',
  'execution_id',
  'rollback_id',
  'publication_id',
  'export_id',
  'approval_id',
  'request_id',
] as const

export function identityFromFields(fields: Record<string, unknown>): string | undefined {
  for (const name of IDENTITY_FIELDS) {
    const value = fields[name]
    if (typeof value === 'string' && value.trim() !== '') return value.trim()
    if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  }
  return undefined
}

/**
 * `evt_` + 12 hex of the sha256 of the event's canonical JSON, decisions included; the
 * decisions are streamed into the hash in their canonical position.
 */
export async function contentIdentity(
  fields: Record<string, unknown>,
  decisions: AsyncIterable<Decision> | null,
): Promise<string> {
  const hash = sha256()
  const keys = Object.keys(fields).filter((key) => fields[key] !== undefined)
  if (decisions && !keys.includes('decisions')) keys.push('decisions')
  keys.sort()
  hash.update('{')
  for (const [position, key] of keys.entries()) {
    if (position > 0) hash.update(',')
    hash.update(`${JSON.stringify(key)}:`)
    if (key === 'decisions' && decisions) {
      hash.update('[')
      let first = true
      for await (const decision of decisions) {
        hash.update(first ? canonicalJson(decision) : `,${canonicalJson(decision)}`)
        first = false
      }
      hash.update(']')
    } else {
      hash.update(canonicalJson(fields[key]))
    }
  }
  hash.update('}')
  return `evt_${hash.digest('hex').slice(0, 12)}`
}

const DECISION_WEIGHT: Record<string, number> = { block: 2, require_approval: 1, allow: 0 }

/**
 * Counts decisions and keeps the most important few while they stream past: blocked before
 * approval-required before allowed, then by severity, then in file order.
 */
export class DecisionDigest {
  readonly counts = { allow: 0, block: 0, require_approval: 0, other: 0 }
  total = 0
  highestSeverity: Severity | undefined
  private readonly top: Array<{ decision: Decision; order: number }> = []

  constructor(private readonly keep = 10) {}

  add(decision: Decision): void {
    const order = this.total++
    const kind = decision.decision
    if (kind === 'allow' || kind === 'block' || kind === 'require_approval') this.counts[kind]++
    else this.counts.other++
    if (
      decision.severity &&
      (!this.highestSeverity || severityRank(decision.severity) > severityRank(this.highestSeverity))
    ) {
      this.highestSeverity = decision.severity
    }
    const entry = { decision, order }
    const top = this.top
    // Kept in order of importance; a decision that ranks below a full list is not kept.
    if (top.length >= this.keep && (this.keep === 0 || compareImportance(entry, top[top.length - 1]!) >= 0))
      return
    let at = top.length
    while (at > 0 && compareImportance(entry, top[at - 1]!) < 0) at--
    top.splice(at, 0, entry)
    if (top.length > this.keep) top.pop()
  }

  mostImportant(): Decision[] {
    return this.top.map((entry) => entry.decision)
  }
}

function compareImportance(
  a: { decision: Decision; order: number },
  b: { decision: Decision; order: number },
): number {
  const weight =
    (DECISION_WEIGHT[b.decision.decision ?? ''] ?? -1) - (DECISION_WEIGHT[a.decision.decision ?? ''] ?? -1)
  if (weight !== 0) return weight
  const severity =
    (b.decision.severity ? severityRank(b.decision.severity) : -1) -
    (a.decision.severity ? severityRank(a.decision.severity) : -1)
  return severity !== 0 ? severity : a.order - b.order
}

/** A short human line for one decision: `BLOCK [critical] rm -rf / (destructive.rm_root): destructive filesystem command`. */
export function describeDecision(decision: Decision): string {
  const verdict = (decision.decision ?? 'decision').replace('_', ' ').toUpperCase()
  const severity = decision.severity ? ` [${decision.severity}]` : ''
  const what = decision.command ?? decision.action_type ?? decision.decision_id ?? 'unnamed action'
  const policy = decision.policy_id ? ` (${decision.policy_id})` : ''
  const reason = decision.reason ? `: ${decision.reason}` : ''
  return `${verdict}${severity} ${what}${policy}${reason}`
}
