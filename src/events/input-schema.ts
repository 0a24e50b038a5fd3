import { z } from 'zod'
import { SEVERITIES } from '../common/severity.js'
import { identifier } from './identifier.js'

/**
 * zod schemas of an integration event. Only the fields cavra reads are typed;
 * everything else passes through untouched.
 */
const severity = z.enum(SEVERITIES)
const optionalText = z.string().optional()
const identity = z.union([identifier, z.number()]).nullable().optional()

export const decisionSchema = z.looseObject({
  decision_id: z.union([z.string(), z.number()]).optional(),
  timestamp: optionalText,
  action_type: optionalText,
  command: optionalText,
  decision: z.enum(['allow', 'block', 'require_approval']).optional(),
  severity: severity.optional(),
  reason: optionalText,
  policy_id: optionalText,
})

export const eventHeaderSchema = z.looseObject({
  event_type: identifier.optional(),
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
  decisions: z.array(decisionSchema).optional(),
})

export type EventHeader = z.infer<typeof eventHeaderSchema>
