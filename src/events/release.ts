import { z } from 'zod'
import { InputError } from '../common/errors.js'
import { describeIssue } from '../common/zod-issues.js'
import { type Artifact, artifactBytes, nameOf, sourceOf } from './artifact.js'
import type { DeliveryEvent, EventView } from './event.js'
import { identifier } from './identifier.js'
import { parseJsonDocument } from './json-text.js'
import { compactFacts } from './views.js'

/**
 * Release-governance artifacts and the
 * audit events delivered for them. The audit event carries the artifact's fields plus the
 * derived ones every destination wants (environment, current and target ring, approval
 * state), and a view that says what was promoted or rolled back, between which rings, why,
 * and under which approval and change.
 */

export const PROMOTION_SCHEMA = 'cavra.go-runtime.endpoint-rollout-promotion-execution.v1'
export const ROLLBACK_SCHEMA = 'cavra.go-runtime.endpoint-rollout-rollback-execution.v1'
export const PROMOTION_EVENT_TYPE = 'cavra.rollout_promotion_execution'
export const ROLLBACK_EVENT_TYPE = 'cavra.rollout_rollback_execution'

const text = z.string().min(1)
const release = z.looseObject({
  version: identifier(),
  commit: text,
  repository: text,
  ref: z.string().optional(),
})
const rings = z.looseObject({ from: text, to: text })
const approval = z.looseObject({
  state: text,
  approval_id: z.string().optional(),
  approver_group: z.string().optional(),
  decided_by: z.string().optional(),
  decided_at: z.string().optional(),
  decision_reason: z.string().optional(),
})
const target = z.union([text, z.looseObject({ id: text })])
const rollbackRef = z.looseObject({ target: z.string().optional(), ref: text, step: z.string().optional() })
const timestamp = z.iso.datetime({ offset: true })

/** What a promotion and a rollback execution both carry. */
const executionFields = {
  rollout_id: identifier(),
  approval_id: identifier(),
  created_at: timestamp,
  execution_environment: text,
  release,
  approval,
  deployment_targets: z.array(target),
  change_record: z.string().optional(),
  rollback_evidence_refs: z.array(rollbackRef).optional(),
  controls: z.array(z.string()).optional(),
  evidence_refs: z.array(z.string()).optional(),
  executed_by: z.string().optional(),
  notes: z.string().optional(),
}

export const promotionExecutionSchema = z.looseObject({
  schema_version: z.literal(PROMOTION_SCHEMA),
  execution_id: identifier(),
  request_id: identifier(),
  execution_status: text,
  ring_advancement: rings,
  ...executionFields,
})

export const rollbackExecutionSchema = z.looseObject({
  schema_version: z.literal(ROLLBACK_SCHEMA),
  rollback_id: identifier(),
  promotion_execution_id: identifier(),
  rollback_status: text,
  rollback_reason: text,
  ring_rollback: rings,
  ...executionFields,
})

export type PromotionExecution = z.infer<typeof promotionExecutionSchema>
export type RollbackExecution = z.infer<typeof rollbackExecutionSchema>

/** Reads and validates a release artifact; every problem exits 4 before anything is sent. */
export async function readReleaseArtifact<S extends z.ZodType>(
  artifact: Artifact,
  schema: S,
  kind: string,
): Promise<z.infer<S>> {
  // Checked for UTF-8, nesting depth and syntax (with line and column) before it is parsed.
  const value = parseJsonDocument(await artifactBytes(artifact), nameOf(artifact))
  const parsed = schema.safeParse(value, { reportInput: true })
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((issue) => describeIssue(issue))
    throw new InputError(
      `${nameOf(artifact)}: not a valid ${kind}:\n  - ${problems.join('\n  - ')}${parsed.error.issues.length > 5 ? `\n  - and ${parsed.error.issues.length - 5} more` : ''}`,
      [`docs/inputs.md lists the fields of a ${kind}; unknown extra fields are fine.`],
    )
  }
  // The artifact as written (key order, extra fields), now known to match the schema.
  return value as z.infer<S>
}

export function promotionEvent(execution: PromotionExecution, artifact: Artifact): DeliveryEvent {
  return releaseEvent(execution, artifact, {
    eventId: execution.execution_id,
    eventType: PROMOTION_EVENT_TYPE,
    severity: 'high',
    rings: execution.ring_advancement,
    view: promotionView(execution),
  })
}

export function rollbackEvent(rollback: RollbackExecution, artifact: Artifact): DeliveryEvent {
  return releaseEvent(rollback, artifact, {
    eventId: rollback.rollback_id,
    eventType: ROLLBACK_EVENT_TYPE,
    severity: 'critical',
    rings: rollback.ring_rollback,
    view: rollbackView(rollback),
  })
}

interface ReleaseEventSpec {
  eventId: string
  eventType: string
  severity: 'high' | 'critical'
  rings: { from: string; to: string }
  view: EventView
}

/** The artifact's fields plus the derived ones every destination wants, and its view. */
function releaseEvent(
  execution: PromotionExecution | RollbackExecution,
  artifact: Artifact,
  spec: ReleaseEventSpec,
): DeliveryEvent {
  const fields = {
    ...execution,
    event_type: spec.eventType,
    severity: spec.severity,
    environment: execution.execution_environment,
    current_ring: spec.rings.from,
    target_ring: spec.rings.to,
    approval_state: execution.approval.state,
    rollback_reference_count: execution.rollback_evidence_refs?.length ?? 0,
  }
  return {
    eventId: spec.eventId,
    eventType: spec.eventType,
    sessionId: null,
    severity: spec.severity,
    timestamp: execution.created_at,
    product: typeof execution.product === 'string' ? execution.product : 'CAVRA',
    fields,
    decisionCount: 0,
    decisions: async function* () {},
    view: spec.view,
    source: sourceOf(artifact),
  }
}

function promotionView(e: PromotionExecution): EventView {
  const { from, to } = e.ring_advancement
  const release = releaseLabel(e.release)
  return {
    title: `Release ${e.release.version} promoted ${from} → ${to} in ${e.execution_environment}`,
    summary: `${release} was promoted from ${from} to ${to} in ${e.execution_environment}${e.executed_by ? ` by ${e.executed_by}` : ''}, under approval ${approvalLabel(e.approval_id, e.approval)}${e.change_record ? ` and change ${e.change_record}` : ''}.`,
    facts: compactFacts([
      ['Release', release],
      ['Rings', `${from} → ${to}`],
      ['Environment', e.execution_environment],
      ['Status', e.execution_status],
      ['Approval', approvalLabel(e.approval_id, e.approval)],
      ['Change record', e.change_record],
      ['Executed by', e.executed_by],
      ['Targets', targetsLabel(e.deployment_targets)],
      ['Execution', e.execution_id],
      ['Rollout', e.rollout_id],
    ]),
    highlights: rollbackPlan(e.rollback_evidence_refs, 'Rollback plan'),
    references: e.evidence_refs ?? [],
  }
}

function rollbackView(r: RollbackExecution): EventView {
  const { from, to } = r.ring_rollback
  const release = releaseLabel(r.release)
  return {
    title: `Release ${r.release.version} rolled back ${from} → ${to} in ${r.execution_environment}`,
    summary: `${release} was rolled back from ${from} to ${to} in ${r.execution_environment} because: ${r.rollback_reason} Approval ${approvalLabel(r.approval_id, r.approval)}${r.change_record ? `, change ${r.change_record}` : ''}, promotion execution ${r.promotion_execution_id}.`,
    facts: compactFacts([
      ['Reason', r.rollback_reason],
      ['Release', release],
      ['Rings', `${from} → ${to}`],
      ['Environment', r.execution_environment],
      ['Status', r.rollback_status],
      ['Approval', approvalLabel(r.approval_id, r.approval)],
      ['Change record', r.change_record],
      ['Promotion execution', r.promotion_execution_id],
      ['Executed by', r.executed_by],
      ['Targets', targetsLabel(r.deployment_targets)],
      ['Rollback', r.rollback_id],
    ]),
    highlights: rollbackPlan(r.rollback_evidence_refs, 'Rollback steps'),
    references: r.evidence_refs ?? [],
  }
}

function releaseLabel(release: { version: string; commit: string; repository: string }): string {
  return `${release.repository} ${release.version} (${release.commit.slice(0, 12)})`
}

function approvalLabel(
  id: string,
  approval: { state: string; decided_by?: string; decision_reason?: string },
): string {
  const by = approval.decided_by ? ` by ${approval.decided_by}` : ''
  const why = approval.decision_reason ? `: ${approval.decision_reason}` : ''
  return `${id} (${approval.state}${by}${why})`
}

function targetsLabel(targets: Array<string | { id: string }>): string {
  const ids = targets.map((target) => (typeof target === 'string' ? target : target.id))
  return `${ids.length}: ${ids.join(', ')}`
}

function rollbackPlan(
  refs: Array<{ target?: string; ref: string; step?: string }> | undefined,
  heading: string,
): EventView['highlights'] {
  if (!refs || refs.length === 0) return null
  return {
    heading,
    items: refs.map(
      (ref) => `${ref.target ? `${ref.target}: ` : ''}${ref.step ?? 'see reference'} (${ref.ref})`,
    ),
    omitted: 0,
  }
}
