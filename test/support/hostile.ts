import type { DeliveryEvent } from '../../src/events/event.js'
import { firstEvent } from './deliver.js'
import type { Workspace } from './workspace.js'

export interface Hostility {
  /** The start of decision `i`'s command, padded to 5,000 characters with `pad`. */
  command: (i: number) => string
  pad: string
  reason: string
  repository?: string
}

/**
 * An evidence bundle of 500 decisions (half blocked, one in fifty critical) whose 5,000-character
 * commands carry what a message must never act on, written to `ws` and read through the real
 * event reader (which streams the decisions from the file, so `ws` must outlive the event).
 */
export function hostileBundle(ws: Workspace, hostility: Hostility): Promise<DeliveryEvent> {
  const decisions = Array.from({ length: 500 }, (_, i) => ({
    decision_id: `dec-${i}`,
    timestamp: '2026-11-28T14:01:02Z',
    action_type: 'shell_command',
    command: hostility.command(i).padEnd(5000, hostility.pad),
    decision: i % 2 === 0 ? 'block' : 'allow',
    severity: i % 50 === 0 ? 'critical' : 'high',
    reason: hostility.reason,
    policy_id: 'limits.test',
  }))
  const path = ws.write('hostile.json', {
    product: 'CAVRA',
    event_type: 'cavra.evidence_bundle',
    session_id: 'sess-hostile-500',
    timestamp: '2026-11-28T14:03:11Z',
    ...(hostility.repository ? { repository: hostility.repository } : {}),
    decision_count: 500,
    blocked_count: 250,
    approval_required_count: 0,
    max_severity: 'critical',
    decisions,
  })
  return firstEvent(path)
}
