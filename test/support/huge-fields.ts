import { expect } from 'vitest'
import type { Decision, DeliveryEvent } from '../../src/events/event.js'

/** An evidence bundle whose decisions carry fields far over every SIEM's per-value limit. */

export const HUGE_COMMAND = `printf "${'é'.repeat(100_000)}"`
export const LONG_REASON = 'line "quoted"\n'.repeat(3_600)

/** An evidence bundle with four decisions, two of them carrying huge fields. */
export function hugeFieldsEvent(): DeliveryEvent {
  const decisions: Decision[] = [
    { decision_id: 'dec-1', action_type: 'shell_command', command: 'ls', decision: 'allow', severity: 'low' },
    {
      decision_id: 'dec-huge',
      action_type: 'shell_command',
      command: HUGE_COMMAND,
      decision: 'block',
      severity: 'critical',
      reason: LONG_REASON,
      policy_id: 'exfiltration.encoded_payload',
    },
    {
      decision_id: 'dec-reason',
      action_type: 'file_write',
      command: 'tee notes.txt',
      decision: 'require_approval',
      severity: 'medium',
      reason: LONG_REASON,
    },
    {
      decision_id: 'dec-4',
      action_type: 'shell_command',
      command: 'pwd',
      decision: 'allow',
      severity: 'low',
    },
  ]
  return {
    eventId: 'sess-huge-fields',
    eventType: 'cavra.evidence_bundle',
    sessionId: 'sess-huge-fields',
    severity: 'critical',
    timestamp: '2026-11-28T14:03:11Z',
    product: 'CAVRA',
    fields: { session_id: 'sess-huge-fields', environment: 'ci', decision_count: 4 },
    decisionCount: decisions.length,
    async *decisions() {
      yield* decisions
    },
    view: {
      title: 'AI agent evidence sess-huge-fields',
      summary: '',
      facts: [],
      highlights: null,
      references: [],
    },
    source: null,
  }
}

export const MARK = /…\[truncated (\d+) bytes\]$/

/** The kept text and the removed byte count of a shortened value; they add up to the original. */
export function cut(value: unknown): { kept: string; removed: number } {
  const text = String(value)
  const match = MARK.exec(text)
  expect(match, text.slice(-60)).not.toBeNull()
  return { kept: text.slice(0, match!.index), removed: Number(match![1]) }
}
