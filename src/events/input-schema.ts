import { z } from 'zod'
import { isJsonObject } from '../common/json-value.js'
import { once } from '../common/once.js'
import { isSeverity, SEVERITIES } from '../common/severity.js'
import { hasControl } from '../common/text.js'
import { IDENTITY_FIELDS } from './event.js'
import { identifier } from './identifier.js'

/**
 * zod schemas of an integration event. Only the fields cavra reads are typed;
 * everything else passes through untouched.
 *
 * The schemas are built on first use: building them took about 2 ms of every delivery, and an
 * event whose fields plainly fit (`plainHeader`, `isPlainDecision`, which check exactly what
 * the schemas check) never needs them. Anything else goes through the schemas, which decide
 * and name the problem.
 */
const schemas = once(() => {
  const severity = z.enum(SEVERITIES)
  const optionalText = z.string().optional()
  const identity = z.union([identifier(), z.number()]).nullable().optional()

  const decision = z.looseObject({
    decision_id: z.union([z.string(), z.number()]).optional(),
    timestamp: optionalText,
    action_type: optionalText,
    command: optionalText,
    decision: z.enum(['allow', 'block', 'require_approval']).optional(),
    severity: severity.optional(),
    reason: optionalText,
    policy_id: optionalText,
  })

  const header = z.looseObject({
    event_type: identifier().optional(),
    event_id: identity,
    session_id: identity,
    execution_id: identity,
    rollback_id: identity,
    publication_id: identity,
    export_id: identity,
    approval_id: identity,
    request_id: identity,
    timestamp: optionalText,
    product: optionalText,
    environment: optionalText,
    decision_count: z.number().int().nonnegative().optional(),
    blocked_count: z.number().int().nonnegative().optional(),
    approval_required_count: z.number().int().nonnegative().optional(),
    max_severity: severity.optional(),
    severity: severity.optional(),
    // Present only when `decisions` was not an array the scanner could stream.
    decisions: z.array(decision).optional(),
  })
  return { decision, header }
})

export const decisionSchema = () => schemas().decision
export const eventHeaderSchema = () => schemas().header

export type EventHeader = z.infer<ReturnType<typeof eventHeaderSchema>>
export type DecisionFields = z.infer<ReturnType<typeof decisionSchema>>

const DECISION_KINDS: ReadonlySet<unknown> = new Set(['allow', 'block', 'require_approval'])
const DECISION_TEXTS = ['timestamp', 'action_type', 'command', 'reason', 'policy_id'] as const
const HEADER_TEXTS = ['timestamp', 'product', 'environment'] as const
const HEADER_COUNTS = ['decision_count', 'blocked_count', 'approval_required_count'] as const

function isIdentifier(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0 && !hasControl(value)
}

/** Whether a decision fits `decisionSchema` (the same checks, without building it). */
export function isPlainDecision(decision: unknown): decision is DecisionFields {
  if (!isJsonObject(decision)) return false
  const id = decision.decision_id
  return (
    (id === undefined || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))) &&
    (decision.decision === undefined || DECISION_KINDS.has(decision.decision)) &&
    (decision.severity === undefined || isSeverity(decision.severity)) &&
    DECISION_TEXTS.every((key) => decision[key] === undefined || typeof decision[key] === 'string')
  )
}

/**
 * The event's fields as its header when they fit `eventHeaderSchema` (the same checks, without
 * building it); undefined when only the schema can tell.
 */
export function plainHeader(fields: Record<string, unknown>): EventHeader | undefined {
  const fits =
    (fields.event_type === undefined || isIdentifier(fields.event_type)) &&
    IDENTITY_FIELDS.every((key) => {
      const value = fields[key]
      return (
        value === undefined ||
        value === null ||
        isIdentifier(value) ||
        (typeof value === 'number' && Number.isFinite(value))
      )
    }) &&
    HEADER_TEXTS.every((key) => fields[key] === undefined || typeof fields[key] === 'string') &&
    HEADER_COUNTS.every((key) => {
      const value = fields[key]
      return value === undefined || (Number.isSafeInteger(value) && (value as number) >= 0)
    }) &&
    (fields.max_severity === undefined || isSeverity(fields.max_severity)) &&
    (fields.severity === undefined || isSeverity(fields.severity)) &&
    (fields.decisions === undefined ||
      (Array.isArray(fields.decisions) && fields.decisions.every(isPlainDecision)))
  return fits ? (fields as EventHeader) : undefined
}
