import { afterEach, describe, expect, it, vi } from 'vitest'
import { progressLines } from '../../src/cli/progress.js'
import { taskListRunner } from '../../src/cli/task-list.js'
import type { DeliveryRecord } from '../../src/delivery/evidence-types.js'
import type { DeliveryJob, JobRunner } from '../../src/flow/deliver-event.js'

/**
 * A CI log's progress lines are printed without listr2; listr2's own line renderer (what a
 * non-TTY got before, configured in task-list.ts) is the judge of what they must look like.
 */

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function record(fields: Partial<DeliveryRecord>): DeliveryRecord {
  return fields as DeliveryRecord
}

function jobs(): DeliveryJob[] {
  const job = (name: string, run: DeliveryJob['run']) => ({ connector: { name }, run }) as DeliveryJob
  return [
    job('webhook', async () => {
      await later(5)
      return record({
        success: true,
        attempt_count: 1,
        records_sent: 1,
        duration_ms: 12,
        remote_reference: 'msg_1',
        deduplicated: false,
      })
    }),
    job('splunk', async (progress) => {
      progress.attempt({
        outcome: 'retryable',
        step: 'send',
        attempt: 1,
        error: 'HTTP 503 Service Unavailable',
        status_code: 503,
      } as never)
      progress.waiting?.(1500, 'retry')
      await later(40)
      progress.attempt({
        outcome: 'retryable',
        step: 'send',
        attempt: 2,
        error: null,
        status_code: 429,
      } as never)
      progress.waiting?.(2000, 'retry')
      await later(40)
      return record({ success: false, attempt_count: 3, error: 'HTTP 503 from Splunk HEC', duration_ms: 80 })
    }),
    job('jira', async () => {
      await later(20)
      return record({
        success: true,
        attempt_count: 2,
        records_sent: 1,
        duration_ms: 7,
        remote_reference: 'OPS-12',
        deduplicated: true,
      })
    }),
    job('datadog', async () =>
      record({
        success: true,
        attempt_count: 1,
        records_sent: 3,
        duration_ms: 3,
        remote_reference: null,
        deduplicated: false,
      }),
    ),
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
