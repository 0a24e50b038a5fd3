import { Listr, ListrLogger, ProcessOutput } from 'listr2'
import type { DeliveryRecord } from '../delivery/evidence-types.js'
import type { ConnectorProgress, DeliveryJob, JobRunner } from '../flow/deliver-event.js'

/**
 * The live task list of a delivery: one listr2 task per connector showing its attempts and
 * retries. Plain lines on a non-TTY (CI logs), nothing under --json. Written to stderr so
 * stdout stays clean for pipes.
 */
export function taskListRunner(title: (job: DeliveryJob) => string): JobRunner {
  return async (jobs, concurrency) => {
    const records: DeliveryRecord[] = new Array(jobs.length)
    const stderr = new ProcessOutput(process.stderr, process.stderr)
    const list = new Listr(
      jobs.map((job, index) => ({
        title: title(job),
        task: async (_context: unknown, task: { title: string; output: string }) => {
          let lastProblem = ''
          const progress: ConnectorProgress = {
            attempt(record) {
              if (record.outcome === 'retryable') {
                lastProblem = `${record.step} attempt ${record.attempt}: ${record.error ?? record.status_code}`
              }
            },
            waiting(delayMs) {
              task.output = `${lastProblem}; retrying in ${(delayMs / 1000).toFixed(1)} s`
            },
            finished() {},
          }
          const record = await job.run(progress)
          records[index] = record
          if (!record.success) throw new Error(summarise(record))
          task.title = `${title(job)}: ${summarise(record)}`
        },
      })),
      {
        concurrent: concurrency,
        exitOnError: false,
        collectErrors: false,
        registerSignalListeners: false,
        rendererOptions: {
          logger: new ListrLogger({ processOutput: stderr }),
          collapseErrors: false,
          showErrorMessage: false,
        },
        fallbackRendererOptions: { logger: new ListrLogger({ processOutput: stderr }) },
        fallbackRendererCondition: !process.stderr.isTTY,
      },
    )
    try {
      await list.run()
    } catch {
      // Failures are already in the records; the task list only displays them.
    }
    return records
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
