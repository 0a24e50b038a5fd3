import type { z } from 'zod'
import { ConfigError } from '../common/errors.js'
import { loadConnectorConfig } from '../config/load.js'
import { parseProviderFlags, type SelectionRule, selectConnectors } from '../config/select.js'
import { REGISTRY } from '../connectors/index.js'
import type { PreparedConnector } from '../connectors/types.js'
import type { DeliveryResult } from '../delivery/evidence-types.js'
import { DELIVERY_DEFAULTS, DELIVERY_KINDS, type DeliveryKind } from '../flow/delivery-kinds.js'
import { type EventSource, runDelivery } from '../flow/run-delivery.js'
import { endpointExport, releaseEvents } from '../flow/sources.js'
import { type EvidenceIndex, storeIndex } from '../metadata/evidence-index.js'
import type { IntegrationRecord } from '../metadata/integration-registry.js'
import type { integrationDeliverBody, releaseDeliverBody } from './api.js'
import type { ServerContext } from './context.js'
import { eventFromBody } from './event-body.js'
import { badRequest, conflict, notFound } from './problem.js'

/**
 * The delivery endpoints: each builds the same `DeliveryPlan` its command builds (the kind's
 * connectors, evidence folder and store kind; the body's provider, retries and timeout like
 * the flags) and runs the shared flow. The answer is the document `--json` prints.
 */

type ReleaseBody = z.infer<typeof releaseDeliverBody>
type IntegrationDeliverBody = z.infer<typeof integrationDeliverBody>

export interface DeliveryDocument extends DeliveryResult {
  delivery_evidence: string | null
  metadata: Record<string, unknown> | null
}

interface Request {
  kind: DeliveryKind
  /** The endpoint, for messages ("POST /rollback-executions/{rollback_id}/deliver"). */
  endpoint: string
  providers: string[]
  retries?: number
  timeoutSeconds?: number
  rule?: SelectionRule
  loadEvents(connectors: readonly PreparedConnector[]): Promise<EventSource>
  index: EvidenceIndex | null
  requestId: string
}

async function deliver(context: ServerContext, request: Request): Promise<DeliveryDocument> {
  const kind = DELIVERY_KINDS[request.kind]
  const rule = { ...(request.rule ?? { categories: kind.categories }), command: request.endpoint }
  await checkSelection(context, request.providers, rule)
  let document: DeliveryDocument | undefined
  await runDelivery(
    {
      configPath: context.configPath,
      providers: request.providers,
      rule,
      loadEvents: request.loadEvents,
      outputDir: kind.outputDir,
      index: request.index,
      retries: request.retries ?? DELIVERY_DEFAULTS.retries,
      timeoutMs: (request.timeoutSeconds ?? DELIVERY_DEFAULTS.timeoutSeconds) * 1000,
      deadlineMs: DELIVERY_DEFAULTS.deadlineSeconds * 1000,
      dryRun: false,
      env: context.env,
      redactor: context.redactor,
      tokens: context.tokens,
      warn: (message) => context.log.warn(message, { request_id: request.requestId }),
    },
    ({ result, evidencePath, metadata }) => {
      document = { ...result, delivery_evidence: evidencePath, metadata }
    },
  )
  if (!document) throw new Error('the delivery produced no result')
  return document
}

/**
 * The connectors a request names are checked before the flow runs, so that a name the
 * configuration lacks is the caller's mistake (400), while a configuration the server cannot
 * read stays the server's (500).
 */
async function checkSelection(
  context: ServerContext,
  providers: string[],
  rule: SelectionRule,
): Promise<void> {
  if (providers.length === 0) return
  const config = await loadConnectorConfig(context.configPath, REGISTRY)
  try {
    selectConnectors(config, providers, rule)
  } catch (error) {
    if (error instanceof ConfigError) throw badRequest(`${error.message} ${error.actions.join(' ')}`.trim())
    throw error
  }
}

function providersOf(provider: string | string[] | undefined): string[] {
  return parseProviderFlags(provider === undefined ? [] : Array.isArray(provider) ? provider : [provider])
}

function releaseIndex(context: ServerContext, kind: DeliveryKind, extra?: Parameters<typeof storeIndex>[3]) {
  const { metadataKind, source } = DELIVERY_KINDS[kind]
  return storeIndex(context.store, metadataKind, source, extra)
}

export async function deliverPromotion(
  context: ServerContext,
  executionId: string,
  body: ReleaseBody,
  requestId: string,
): Promise<DeliveryDocument> {
  const file = await context.artifacts.find('execution_id', executionId, 'promotion execution')
  return deliver(context, {
    kind: 'promotion',
    endpoint: 'POST /promotion-executions/{execution_id}/audit-export/deliver',
    providers: providersOf(body.provider),
    retries: body.retries,
    timeoutSeconds: body.timeout_seconds,
    loadEvents: () => releaseEvents(file, 'promotion'),
    index: releaseIndex(context, 'promotion'),
    requestId,
  })
}

export async function deliverRollback(
  context: ServerContext,
  rollbackId: string,
  body: ReleaseBody,
  requestId: string,
): Promise<DeliveryDocument> {
  const file = await context.artifacts.find('rollback_id', rollbackId, 'rollback execution')
  return deliver(context, {
    kind: 'rollback',
    endpoint: 'POST /rollback-executions/{rollback_id}/deliver',
    providers: providersOf(body.provider),
    retries: body.retries,
    timeoutSeconds: body.timeout_seconds,
    loadEvents: () => releaseEvents(file, 'rollback'),
    index: releaseIndex(context, 'rollback'),
    requestId,
  })
}

export async function publishExport(
  context: ServerContext,
  exportId: string,
  body: ReleaseBody,
  requestId: string,
): Promise<DeliveryDocument> {
  const manifest = await context.artifacts.find('export_id', exportId, 'endpoint-management export manifest')
  const input = await endpointExport(manifest)
  return deliver(context, {
    kind: 'endpoint-export',
    endpoint: 'POST /endpoint-management-exports/{export_id}/publish',
    providers: providersOf(body.provider),
    retries: body.retries,
    timeoutSeconds: body.timeout_seconds,
    rule: input.rule,
    loadEvents: input.loadEvents,
    index: releaseIndex(context, 'endpoint-export', (result) => input.indexFields(result.event_id)),
    requestId,
  })
}

/** An event through one registered integration; its health follows the outcome. */
export async function deliverIntegrationEvent(
  context: ServerContext,
  integrationId: string,
  body: IntegrationDeliverBody,
  requestId: string,
): Promise<DeliveryDocument> {
  const record = await context.registry.get(integrationId)
  if (!record) throw notFound(`No integration "${integrationId}" is registered (POST /integrations first).`)
  if (record.status !== 'active') {
    throw conflict(
      `Integration "${integrationId}" is ${record.status}; only an active integration delivers. Register it again with "status": "active".`,
      { integration_status: record.status },
    )
  }
  const providers = providersOf(body.provider)
  if (providers.some((name) => name !== record.connector && name !== record.provider)) {
    throw badRequest(
      `Integration "${integrationId}" delivers through connector "${record.connector}" only; "provider" may name only it (or its kind, ${record.provider}).`,
    )
  }
  const { metadataKind, source } = DELIVERY_KINDS.integration
  const document = await deliver(context, {
    kind: 'integration',
    endpoint: 'POST /integrations/{id}/deliver',
    providers: [record.connector],
    retries: body.retries,
    timeoutSeconds: body.timeout_seconds,
    loadEvents: () => eventFromBody(body.event),
    index: context.indexIntegrations ? storeIndex(context.store, metadataKind, source) : null,
    requestId,
  })
  await recordHealth(context, record, document, requestId)
  return document
}

/** A registry that cannot be written does not undo a delivery that was made: it is logged. */
async function recordHealth(
  context: ServerContext,
  record: IntegrationRecord,
  document: DeliveryDocument,
  requestId: string,
): Promise<void> {
  try {
    await context.registry.recordDelivery(record.integration_id, {
      success: document.success,
      at: document.generated_at,
      evidence: document.delivery_evidence,
    })
  } catch (error) {
    context.log.error(`the integration registry was not updated: ${(error as Error).message}`, {
      request_id: requestId,
    })
  }
}
