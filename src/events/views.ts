import { isJsonObject } from '../common/json-value.js'
import {
  type DecisionDigest,
  type DeliveryEvent,
  describeDecision,
  type EventView,
  type Fact,
} from './event.js'

type ViewInput = Omit<DeliveryEvent, 'view'>

/** The human view of an integration event: an evidence bundle, or any other event. */
export function buildView(event: ViewInput, digest: DecisionDigest): EventView {
  return digest.total > 0 || event.eventType === 'cavra.evidence_bundle'
    ? evidenceBundleView(event, digest)
    : genericView(event)
}

function evidenceBundleView(event: ViewInput, digest: DecisionDigest): EventView {
  const f = event.fields
  const total = numberField(f.decision_count) ?? digest.total
  const blocked = numberField(f.blocked_count) ?? digest.counts.block
  const approval = numberField(f.approval_required_count) ?? digest.counts.require_approval
  const subject = event.sessionId ?? event.eventId
  const parts = [`${blocked} blocked`, `${approval} awaiting approval`]
  const agent = objectField(f.agent)
  const facts: Fact[] = compactFacts([
    ['Session', event.sessionId],
    ['Repository', textField(f.repository)],
    ['Environment', textField(f.environment)],
    [
      'Agent',
      agent ? [textField(agent.name), textField(agent.version)].filter(Boolean).join(' ') : undefined,
    ],
    ['Host', agent ? textField(agent.host) : undefined],
    ['Decisions', String(total)],
    ['Blocked', String(blocked)],
    ['Approval required', String(approval)],
    ['Max severity', event.severity],
    ['Event', `${event.eventType} ${event.eventId}`],
  ])
  const important = digest.mostImportant()
  return {
    title: `AI agent evidence ${subject}: ${parts.join(', ')} of ${total} decisions`,
    summary: `An AI coding agent session${textField(f.repository) ? ` in ${textField(f.repository)}` : ''} recorded ${total} policy decisions: ${blocked} blocked, ${approval} requiring approval.`,
    facts,
    highlights:
      important.length > 0
        ? {
            heading: 'Most important decisions',
            items: important.map(describeDecision),
            omitted: Math.max(0, digest.total - important.length),
          }
        : null,
    references: [],
  }
}

function genericView(event: ViewInput): EventView {
  const facts = compactFacts([
    ['Event type', event.eventType],
    ['Event id', event.eventId],
    ['Severity', event.severity],
    ['Time', event.timestamp],
    ...Object.entries(event.fields)
      .filter(
        ([key, value]) =>
          isScalar(value) && !['event_type', 'event_id', 'timestamp', 'product'].includes(key),
      )
      .slice(0, 8)
      .map(([key, value]): [string, string] => [labelOf(key), String(value)]),
  ])
  return {
    title: `${event.product} ${event.eventType} ${event.eventId}`,
    summary: `${event.product} recorded ${event.eventType} (${event.eventId}).`,
    facts,
    highlights: null,
    references: [],
  }
}

export function compactFacts(entries: Array<[string, string | null | undefined]>): Fact[] {
  return entries
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1].trim() !== '')
    .map(([label, value]) => ({ label, value }))
}

export function textField(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return undefined
}

export function objectField(value: unknown): Record<string, unknown> | undefined {
  return isJsonObject(value) ? value : undefined
}

function numberField(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

function isScalar(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
}

function labelOf(key: string): string {
  const spaced = key.replace(/[_-]+/g, ' ')
  return spaced.charAt(0).toUpperCase() + spaced.slice(1)
}
