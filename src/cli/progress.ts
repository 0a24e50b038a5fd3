import type { DeliveryRecord } from '../delivery/evidence-types.js'
import {
  type ConnectorProgress,
  type DeliveryJob,
  type JobRunner,
  poolRunner,
} from '../flow/deliver-event.js'

/**
 * A delivery's progress in a CI log (stderr is not a terminal): a line when a connector starts,
 * one per retry, one when it ends, in the form listr2's line renderer prints them, without
 * loading listr2 (a tenth of a delivery's start-up). A terminal gets the live task list
 * (task-list.ts); the two are tested to print the same lines.
 */
export function progressLines(title: (job: DeliveryJob) => string): JobRunner {
  const write = (line: string) => process.stderr.write(`${line}\n`)
  return (jobs, concurrency) =>
    poolRunner(
      jobs.map((job) => ({
        ...job,
        async run() {
          write(`${STARTED} ${title(job)}`)
          // As in listr2: the connectors that start together are all announced before any runs.
          await Promise.resolve()
          const record = await job.run(retryProgress((text) => write(`${OUTPUT} ${text}`)))
          write(
            record.success
              ? `${COMPLETED} ${title(job)}: ${summarise(record)}`
              : `${FAILED} ${title(job)} [FAILED: ${summarise(record)}]`,
          )
          return record
        },
      })),
      concurrency,
    )
}

// listr2's figures for its log levels (ListrLogger): pointer, pointerSmall, tick, cross.
const STARTED = '\u276f'
const OUTPUT = '\u203a'
const COMPLETED = '\u2714'
const FAILED = '\u2716'

/**
 * A connector's progress as the task list shows it: `show` gets a line for each wait before a
 * retry, naming what went wrong in the attempt before it.
 */
export function retryProgress(show: (text: string) => void): ConnectorProgress {
  let lastProblem = ''
  return {
    attempt(record) {
      if (record.outcome === 'retryable')
        lastProblem = `${record.step} attempt ${record.attempt}: ${record.error ?? record.status_code}`
    },
    waiting(delayMs) {
      show(`${lastProblem}; retrying in ${(delayMs / 1000).toFixed(1)} s`)
    },
    finished() {},
  }
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
