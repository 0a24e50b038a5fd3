import { inertText } from '../common/text.js'
import type { AttemptRecord } from './evidence-types.js'

/** Told about every attempt as it is recorded (the live task list). */
export interface AttemptObserver {
  attempt(record: AttemptRecord): void
  waiting?(delayMs: number, reason: string): void
}

export interface AttemptEntry {
  step: string
  attempt: number
  startedAt: number
  durationMs: number
  status: number | null
  outcome: AttemptRecord['outcome']
  /** The wait applied before the next attempt, or null. */
  retryAfterMs: number | null
  error: string | null
}

/** The evidence of every attempt of one connector's delivery, errors scrubbed as they are recorded. */
export class AttemptLog {
  private readonly records: AttemptRecord[] = []
  private status: number | null = null

  constructor(
    private readonly scrub: (text: string) => string,
    private readonly observer?: AttemptObserver,
  ) {}

  record(entry: AttemptEntry): void {
    const record: AttemptRecord = {
      attempt: entry.attempt,
      step: entry.step,
      started_at: new Date(entry.startedAt).toISOString(),
      duration_ms: entry.durationMs,
      status_code: entry.status,
      outcome: entry.outcome,
      retry_after_ms: entry.retryAfterMs,
      error: entry.error === null ? null : this.scrub(inertText(entry.error)),
    }
    if (entry.status !== null) this.status = entry.status
    this.records.push(record)
    this.observer?.attempt(record)
  }

  waiting(delayMs: number, reason: string): void {
    this.observer?.waiting?.(delayMs, reason)
  }

  get attempts(): readonly AttemptRecord[] {
    return this.records
  }

  /** The HTTP status of the last attempt that got an answer. */
  get lastStatus(): number | null {
    return this.status
  }
}
