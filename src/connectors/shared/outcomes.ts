/**
 * What `deduplicated` and `records_sent` mean in every connector's result, defined once:
 *
 * - `deduplicated: true`: the destination already held this event from an earlier delivery,
 *   so this delivery created nothing new (`records_sent` 0). Found by a lookup before the
 *   create (Jira's label search, ServiceNow's correlation id), or a receiver that answers the
 *   first attempt of this delivery with "duplicate" (webhook, Linux fleet: the same
 *   `webhook-id` was stored by an earlier delivery).
 * - A create of this delivery whose answer was lost (a timeout or reset after sending) and
 *   that the duplicate check then found, or that a receiver answered as a duplicate on a later
 *   attempt, is a new record: `deduplicated: false`, counted in `records_sent`, with the
 *   warning below so the user knows why the evidence has no answer to the create.
 * - An update in place (Jamf, Intune re-publication) writes to the destination: it is neither
 *   a duplicate nor skipped, so `deduplicated` stays false.
 */

export const LOST_ANSWER = 'the create landed but its answer was lost; found by the duplicate check'

/** The result's `warnings` for a create the duplicate check recovered (none otherwise). */
export function recoveredWarnings(recovered: boolean, what?: string): { warnings?: string[] } {
  return recovered ? { warnings: [what ? `${what}: ${LOST_ANSWER}` : LOST_ANSWER] } : {}
}

/**
 * Tells the attempts of one exchange apart for a receiver that drops repeats by an idempotency
 * key: wraps `read` and `build` to count the attempts sent and the answers read, so that a
 * "duplicate" answer can be judged. When an earlier attempt of this exchange got no answer, a
 * duplicate is that attempt, stored but unanswered (a new record); otherwise it is an
 * earlier delivery's (nothing new).
 */
export class AttemptCounter {
  private sent = 0
  private answered = 0

  /** Call from `build`. */
  sending(): void {
    this.sent++
  }

  /** Call from `read`: true when an attempt before the one being read went unanswered. */
  answering(): boolean {
    this.answered++
    return this.sent - this.answered > 0
  }
}
