import { Listr, ListrLogger, ProcessOutput } from 'listr2'
import type { DeliveryRecord } from '../delivery/evidence-types.js'
import type { DeliveryJob, JobRunner } from '../flow/deliver-event.js'
import { retryProgress, summarise } from './progress.js'

/**
 * The live task list of a delivery on a terminal: one listr2 task per connector showing its
 * attempts and retries, on stderr so stdout stays clean for pipes. A non-TTY (a CI log) gets the
 * same lines from `progressLines` (progress.ts) without loading listr2; listr2's own line
 * renderer stays configured here as the reference those lines are tested against.
 */
export function taskListRunner(title: (job: DeliveryJob) => string): JobRunner {
  return async (jobs, concurrency) => {
    const records: DeliveryRecord[] = new Array(jobs.length)
    const stderr = new ProcessOutput(process.stderr, process.stderr)
    const list = new Listr(
      jobs.map((job, index) => ({
        title: title(job),
        task: async (_context: unknown, task: { title: string; output: string }) => {
          const record = await job.run(
            retryProgress((text) => {
              task.output = text
            }),
          )
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
