import type { AttemptRecord, DeliveryRecord } from '../delivery/evidence-types.js'
import type { ConnectorProgress, DeliveryJob, JobRunner } from '../flow/deliver-event.js'

/**
 * A delivery's progress in a CI log (stderr is not a terminal): a line when a connector starts,
 * one per retry, one when it ends, in the form listr2's line renderer prints them, without
 * loading listr2 (a tenth of a delivery's start-up). A terminal gets the live task list
 * (task-list.ts); the two are tested to print the same lines.
 */
export function progressLines(
  title: (job: DeliveryJob) => string,
  write: (text: string) => void = (text) => process.stderr.write(text),
): JobRunner {
  return async (jobs, concurrency) => {
    const records: DeliveryRecord[] = new Array(jobs.length)
    let next = 0
    const worker = async () => {
      while (next < jobs.length) {
        const index = next++
        const job = jobs[index]!
        write(`${STARTED} ${title(job)}\n`)
        // As in listr2: the connectors that start together are all announced before any runs.
        await Promise.resolve()
        let lastProblem = ''
        const progress: ConnectorProgress = {
          attempt(record) {
            if (record.outcome === 'retryable') lastProblem = retryNote(record)
          },
          waiting(delayMs) {
            write(`${OUTPUT} ${lastProblem}; retrying in ${(delayMs / 1000).toFixed(1)} s\n`)
          },
          finished() {},
        }
        const record = await job.run(progress)
        records[index] = record
        write(
          record.success
            ? `${COMPLETED} ${title(job)}: ${summarise(record)}\n`
            : `${FAILED} ${title(job)} [FAILED: ${summarise(record)}]\n`,
        )
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker))
    return records
  }
}

// listr2's figures for its log levels (ListrLogger): pointer, pointerSmall, tick, cross.
const STARTED = '\u276f'
const OUTPUT = '\u203a'
const COMPLETED = '\u2714'
const FAILED = '\u2716'

/** What went wrong in an attempt that will be retried. */
export function retryNote(record: AttemptRecord): string {
  return `${record.step} attempt ${record.attempt}: ${record.error ?? record.status_code}`
}

export function summarise(record: DeliveryRecord): string {
  const attempts = `${record.attempt_count} attempt${record.attempt_count === 1 ? '' : 's'}`
  if (record.success) {
    const what = record.deduplicated
      ? `already there (${record.remote_reference})`
      : `delivered ${record.records_sent} record${record.records_sent === 1 ? '' : 's'}`
    const ref = record.remote_reference && !record.deduplicated ? `, ${record.remote_reference}` : ''
    return `${what}${ref} (${attempts}, ${record.duration_ms} ms)`
  }
  return `failed after ${attempts}: ${record.error}`
}
