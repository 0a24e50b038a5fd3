import { CATEGORIES } from '../common/category.js'
import { StoreError } from '../common/errors.js'
import { inertText } from '../common/text.js'
import { connectorCatalog } from '../config/catalog.js'
import { loadConnectorConfig, loadSelected } from '../config/load.js'
import { prepareConnectors, selectConnectors } from '../config/select.js'
import type { PreparedConnector, ProbeResult } from '../connectors/types.js'
import { type Clock, systemClock } from '../delivery/clock.js'
import { type Transport, TransportPool } from '../delivery/http.js'
import type { Redactor } from '../delivery/redact.js'
import { Deadline } from '../delivery/retry.js'
import { Session } from '../delivery/session.js'
import { TokenCache } from '../delivery/tokens.js'
import type { HealthStatus, IntegrationRegistry } from '../metadata/integration-registry.js'
import { DELIVERY_CONCURRENCY } from './run-delivery.js'

/**
 * `integration check`: each selected connector answers its provider's probe, one harmless
 * question that proves a delivery could succeed and leaves nothing behind at the vendor.
 * Configuration problems are thrown before anything is sent (exit 3), like a delivery's; a
 * destination's "no" is an `unhealthy` check, never an exception.
 */

export const CHECK_SCHEMA = 'cavra.connector.check.v1'

export type CheckStatus = ProbeResult['status']

export interface ConnectorCheck {
  connector: string
  provider: string
  category: string
  status: CheckStatus
  probe: string
  /** The HTTP status of the last answer read; null when nothing was sent or nothing answered. */
  status_code: number | null
  detail: string
  duration_ms: number
}

export interface CheckReport {
  schema_version: typeof CHECK_SCHEMA
  product: 'CAVRA'
  checked_at: string
  /** No connector is unhealthy (unverified ones do not count against it). */
  healthy: boolean
  checks: ConnectorCheck[]
}

export interface CheckPlan {
  configPath: string
  /** Connector names or provider kinds asked for; empty for every enabled connector. */
  providers: readonly string[]
  /** Per request, unless a connector sets its own `timeout_seconds`. */
  timeoutMs: number
  env: NodeJS.ProcessEnv
  redactor: Redactor
  /** Registry records whose `health_status` follows the checks. */
  registry?: IntegrationRegistry
  warn(message: string): void
  clock?: Clock
}

/** A check's whole budget, at least: a probe is a handful of requests, each within the timeout. */
const CHECK_DEADLINE_MS = 120_000
/** Requests a probe may send one after another before the deadline is its limit rather than the timeout. */
const SEQUENTIAL_REQUESTS = 4

export async function runCheck(plan: CheckPlan): Promise<CheckReport> {
  const clock = plan.clock ?? systemClock
  const config = await loadConnectorConfig(plan.configPath, await connectorCatalog())
  const selected = selectConnectors(config, plan.providers, {
    categories: CATEGORIES,
    command: 'integration check',
  })
  await loadSelected(config, selected)
  const connectors = prepareConnectors(config, selected, plan.env)
  for (const connector of connectors) {
    for (const secret of connector.secretValues) plan.redactor.addSecret(secret)
    for (const header of connector.secretHeaders) plan.redactor.addSecretHeader(header)
  }
  for (const warning of new Set(connectors.flatMap((connector) => connector.warnings))) plan.warn(warning)
  // A missing or damaged registry is reported before any probe is sent.
  if (plan.registry) {
    if (!(await plan.registry.exists())) {
      throw new StoreError(`${plan.registry.path}: no integration registry there, so no health to update.`, [
        'Pass --registry with the file cavra serve keeps (default .cavra/integrations.json), or leave --registry out.',
      ])
    }
    await plan.registry.list()
  }

  const checkedAt = new Date(clock.now()).toISOString()
  const transports = new TransportPool()
  const tokens = new TokenCache()
  const deadline = new Deadline(Math.max(CHECK_DEADLINE_MS, plan.timeoutMs * SEQUENTIAL_REQUESTS), () =>
    clock.now(),
  )
  const checks: ConnectorCheck[] = new Array(connectors.length)
  try {
    const ready = await Promise.all(connectors.map((connector) => transports.transportFor(connector.caFile)))
    let next = 0
    const worker = async () => {
      while (next < connectors.length) {
        const index = next++
        const context = { transport: ready[index]!, tokens, deadline, clock }
        checks[index] = await checkOne(connectors[index]!, context, plan)
      }
    }
    await Promise.all(Array.from({ length: Math.min(DELIVERY_CONCURRENCY, connectors.length) }, worker))
  } finally {
    await transports.close()
  }
  if (plan.registry) await plan.registry.recordHealth(registryHealth(checks))
  return {
    schema_version: CHECK_SCHEMA,
    product: 'CAVRA',
    checked_at: checkedAt,
    healthy: checks.every((check) => check.status !== 'unhealthy'),
    checks,
  }
}

/** A probe's outcome as the registry says it; an unverified connector keeps what it had. */
export function registryHealth(checks: readonly ConnectorCheck[]): Map<string, HealthStatus> {
  const health = new Map<string, HealthStatus>()
  for (const check of checks) {
    if (check.status === 'healthy') health.set(check.connector, 'healthy')
    else if (check.status === 'unhealthy') health.set(check.connector, 'failed')
  }
  return health
}

interface ProbeContext {
  transport: Transport
  tokens: TokenCache
  deadline: Deadline
  clock: Clock
}

async function checkOne(
  connector: PreparedConnector,
  context: ProbeContext,
  plan: CheckPlan,
): Promise<ConnectorCheck> {
  const { definition } = connector
  const session = new Session({
    title: definition.title,
    urlIsSecret: definition.urlIsSecret,
    transport: context.transport,
    // One question each: a check reports what it heard, it does not insist.
    retries: 0,
    timeoutMs: connector.timeoutSeconds !== undefined ? connector.timeoutSeconds * 1000 : plan.timeoutMs,
    deadline: context.deadline,
    redactor: plan.redactor,
    tokens: context.tokens,
    clock: context.clock,
  })
  const startedAt = context.clock.now()
  let result: ProbeResult
  try {
    result = definition.probe
      ? await definition.probe(connector.config, session)
      : {
          status: 'unverified',
          probe: 'none',
          detail: `${definition.title} has no call that leaves nothing behind: the configuration was checked, nothing was sent`,
        }
  } catch (error) {
    // A thrown error here is a defect in a probe; it must not hide the other connectors' checks.
    if (process.env.DEBUG)
      process.stderr.write(`${plan.redactor.scrub(String((error as Error)?.stack ?? error))}\n`)
    result = {
      status: 'unhealthy',
      probe: 'none',
      detail: `internal error in the ${connector.name} probe: ${(error as Error)?.message ?? error}`,
    }
  }
  const scrub = (text: string) => plan.redactor.scrub(inertText(text))
  return {
    connector: connector.name,
    provider: connector.provider,
    category: connector.category,
    status: result.status,
    probe: scrub(result.probe),
    status_code: session.report().statusCode,
    detail: scrub(result.detail),
    duration_ms: Math.max(0, context.clock.now() - startedAt),
  }
}
