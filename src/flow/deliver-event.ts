import { inertText } from '../common/text.js'
import type { PreparedConnector } from '../connectors/types.js'
import type { AttemptObserver } from '../delivery/attempt-log.js'
import { type Clock, systemClock } from '../delivery/clock.js'
import { DELIVERY_SCHEMA, type DeliveryRecord, type DeliveryResult } from '../delivery/evidence-types.js'
import type { Transport, TransportPool } from '../delivery/http.js'
import type { Redactor } from '../delivery/redact.js'
import type { Deadline } from '../delivery/retry.js'
import { Session } from '../delivery/session.js'
import type { TokenCache } from '../delivery/tokens.js'
import type { DeliveryEvent } from '../events/event.js'

/**
 * Delivers one event to the selected connectors, concurrently and independently: one
 * connector failing, hanging or throwing never stops the others; each ends as a
 * `DeliveryRecord`, and together they make the `cavra.connector.delivery.v1` result.
 */

export interface DeliveryRun {
  retries: number
  timeoutMs: number
  deadline: Deadline
  dryRun: boolean
  redactor: Redactor
  transports: TransportPool
  tokens: TokenCache
  /** At most this many connectors talk to their destinations at once. */
  concurrency: number
  clock?: Clock
  random?: () => number
}

/** Progress of one connector's delivery, for the task list. */
export interface ConnectorProgress extends AttemptObserver {
  finished(record: DeliveryRecord): void
}

export interface DeliveryJob {
  connector: PreparedConnector
  run(progress: ConnectorProgress): Promise<DeliveryRecord>
}

/** Runs jobs; the default is a bounded pool, the task list swaps in its own. */
export type JobRunner = (jobs: DeliveryJob[], concurrency: number) => Promise<DeliveryRecord[]>

const silentProgress: ConnectorProgress = { attempt() {}, finished() {} }

export const poolRunner: JobRunner = async (jobs, concurrency) => {
  const records: DeliveryRecord[] = new Array(jobs.length)
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++
      records[index] = await jobs[index]!.run(silentProgress)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker))
  return records
}

export async function deliverEvent(
  event: DeliveryEvent,
  connectors: readonly PreparedConnector[],
  run: DeliveryRun,
  runner: JobRunner = poolRunner,
): Promise<DeliveryResult> {
  const generatedAt = new Date((run.clock ?? systemClock).now()).toISOString()
  // Transports (and their ca_file) are ready before the first byte is sent.
  const transports = new Map<string, Transport>()
  for (const connector of connectors) {
    transports.set(connector.name, await run.transports.transportFor(connector.caFile))
  }
  const jobs = connectors.map(
    (connector): DeliveryJob => ({
      connector,
      run: (progress) => deliverToConnector(event, connector, transports.get(connector.name)!, run, progress),
    }),
  )
  const deliveries = await runner(jobs, run.concurrency)
  return {
    schema_version: DELIVERY_SCHEMA,
    product: event.product,
    event_type: event.eventType,
    event_id: event.eventId,
    session_id: event.sessionId,
    severity: event.severity,
    generated_at: generatedAt,
    success: deliveries.every((delivery) => delivery.success),
    ...(run.dryRun ? { dry_run: true } : {}),
    source_artifact: event.source,
    deliveries,
  }
}

async function deliverToConnector(
  event: DeliveryEvent,
  connector: PreparedConnector,
  transport: Transport,
  run: DeliveryRun,
  progress: ConnectorProgress,
): Promise<DeliveryRecord> {
  const clock = run.clock ?? systemClock
  const session = new Session({
    title: connector.definition.title,
    urlIsSecret: connector.definition.urlIsSecret,
    transport,
    retries: connector.retries ?? run.retries,
    timeoutMs: connector.timeoutSeconds !== undefined ? connector.timeoutSeconds * 1000 : run.timeoutMs,
    deadline: run.deadline,
    redactor: run.redactor,
    tokens: run.tokens,
    observer: progress,
    clock,
    random: run.random,
    dryRun: run.dryRun,
  })
  const startedAt = clock.now()
  let result: Awaited<ReturnType<PreparedConnector['definition']['deliver']>>
  try {
    result = await connector.definition.deliver(event, connector.config, session)
  } catch (error) {
    // A thrown error here is a defect in a connector; it must not take the others down.
    if (process.env.DEBUG)
      process.stderr.write(`${run.redactor.scrub(String((error as Error)?.stack ?? error))}\n`)
    result = {
      ok: false,
      error: `internal error in the ${connector.name} connector: ${(error as Error)?.message ?? error}`,
    }
  }
  const completedAt = clock.now()
  const report = session.report()
  const warnings = [...connector.warnings, ...(result.ok ? (result.warnings ?? []) : [])]
  const record: DeliveryRecord = {
    provider: connector.name,
    provider_type: connector.provider,
    category: connector.category,
    success: result.ok,
    status_code: report.statusCode,
    attempt_count: report.attempts.length,
    started_at: new Date(startedAt).toISOString(),
    completed_at: new Date(completedAt).toISOString(),
    duration_ms: Math.max(0, completedAt - startedAt),
    error: result.ok ? null : run.redactor.scrub(inertText(result.error)),
    remote_reference: result.remoteReference ? inertText(run.redactor.scrub(result.remoteReference)) : null,
    deduplicated: result.ok ? result.deduplicated === true : false,
    records_sent: result.recordsSent ?? 0,
    records_shortened: result.recordsShortened ?? 0,
    ...(result.ok && result.acceptedAsync ? { accepted_async: true } : {}),
    request: report.request,
    attempts: report.attempts,
    ...(warnings.length > 0
      ? { warnings: warnings.map((warning) => run.redactor.scrub(inertText(warning))) }
      : {}),
    ...(report.dryRunRequests ? { dry_run_requests: report.dryRunRequests } : {}),
  }
  progress.finished(record)
  return record
}
