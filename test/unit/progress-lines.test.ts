import { afterEach, describe, expect, it, vi } from 'vitest'
import { progressLines } from '../../src/cli/progress.js'
import { taskListRunner } from '../../src/cli/task-list.js'
import type { AttemptRecord, DeliveryRecord } from '../../src/delivery/evidence-types.js'
import type { ConnectorProgress, DeliveryJob, JobRunner } from '../../src/flow/deliver-event.js'

/**
 * A CI log's progress lines are printed without listr2; listr2's own line renderer (what a
 * non-TTY got before, configured in task-list.ts) is the judge of what they must look like.
 */

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A connector's record after a delivery that arrived. */
function delivered(remote_reference: string | null, fields: Partial<DeliveryRecord>): DeliveryRecord {
  return {
    success: true,
    records_sent: 1,
    deduplicated: false,
    remote_reference,
    ...fields,
  } as DeliveryRecord
}

/** Tells the task list of an attempt that failed and will be retried after `delayMs`. */
function retrying(
  progress: ConnectorProgress,
  attempt: number,
  error: string | null,
  status: number,
  delayMs: number,
) {
  progress.attempt({
    outcome: 'retryable',
    step: 'send',
    attempt,
    error,
    status_code: status,
  } as AttemptRecord)
  progress.waiting?.(delayMs, 'retry')
}

function jobs(): DeliveryJob[] {
  const job = (name: string, run: DeliveryJob['run']) => ({ connector: { name }, run }) as DeliveryJob
  return [
    job('webhook', async () => {
      await later(5)
      return delivered('msg_1', { attempt_count: 1, duration_ms: 12 })
    }),
    job('splunk', async (progress) => {
      retrying(progress, 1, 'HTTP 503 Service Unavailable', 503, 1500)
      await later(40)
      retrying(progress, 2, null, 429, 2000)
      await later(40)
      const failed = { success: false, attempt_count: 3, error: 'HTTP 503 from Splunk HEC', duration_ms: 80 }
      return failed as DeliveryRecord
    }),
    job('jira', async () => {
      await later(20)
      return delivered('OPS-12', { attempt_count: 2, duration_ms: 7, deduplicated: true })
    }),
    job('datadog', async () => delivered(null, { attempt_count: 1, records_sent: 3, duration_ms: 3 })),
  ]
}

async function stderrOf(
  runner: JobRunner,
  concurrency: number,
): Promise<{ text: string; successes: boolean[] }> {
  let text = ''
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += chunk.toString()
    return true
  })
  try {
    const records = await runner(jobs(), concurrency)
    return { text, successes: records.map((r) => r.success) }
  } finally {
    spy.mockRestore()
  }
}

afterEach(() => vi.restoreAllMocks())

describe('progress lines in a CI log', () => {
  for (const concurrency of [1, 4]) {
    it(`print what listr2's line renderer prints, ${concurrency} at a time`, async () => {
      const listr = await stderrOf(
        taskListRunner((job) => job.connector.name),
        concurrency,
      )
      const plain = await stderrOf(
        progressLines((job) => job.connector.name),
        concurrency,
      )
      expect(listr.text).toContain(
        '\u2716 splunk [FAILED: failed after 3 attempts: HTTP 503 from Splunk HEC]',
      )
      expect(plain.text).toBe(listr.text)
      expect(plain.successes).toEqual([true, false, true, true])
    })
  }
})
