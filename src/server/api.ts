import { z } from 'zod'
import { CATEGORIES } from '../common/category.js'
import { SEVERITIES } from '../common/severity.js'
import { identifier } from '../events/identifier.js'
import { HEALTH_STATUSES, INTEGRATION_STATUSES } from '../metadata/integration-registry.js'

/**
 * The HTTP API as data: every endpoint with the zod schemas of its path, query and body and
 * the shapes of its answers. The server validates requests with these schemas and builds
 * `GET /openapi.json` from them, so the document and the checks cannot drift apart.
 */

// ---- request schemas --------------------------------------------------------------------

const id = identifier().max(200)

const providerChoice = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .describe(
    'Connector name or provider kind; a list or a comma-separated string; "all" for every enabled connector that fits. Works like --provider.',
  )
const retries = z
  .int()
  .min(0)
  .max(10)
  .describe('Extra attempts after the first (default 2). Works like --retries.')
const timeoutSeconds = z
  .number()
  .positive()
  .max(3600)
  .describe('Per-attempt timeout in seconds (default 10). Works like --timeout.')

export const integrationBody = z.strictObject({
  integration_id: id.describe(
    'The record id; also the name of the configured connector it delivers through, unless `connector` names one.',
  ),
  connector: id.optional().describe('The configured connector, when it is not named like the integration.'),
  provider: z.string().min(1).describe("The connector's provider kind (splunk, webhook, jamf, …)."),
  category: z.enum(CATEGORIES).describe("The connector's category."),
  status: z.enum(INTEGRATION_STATUSES).default('active').describe('Only an active integration delivers.'),
  health_status: z
    .enum(HEALTH_STATUSES)
    .default('unknown')
    .describe('Set by the caller; afterwards follows the latest delivery (healthy or failed).'),
  name: z.string().max(200).optional(),
  owner: z.string().max(200).optional(),
  environment: z.string().max(200).optional(),
})

export const integrationDeliverBody = z.strictObject({
  event: z
    .record(z.string(), z.unknown())
    .describe('The event, validated exactly like an event file given to `cavra integration deliver`.'),
  provider: providerChoice.optional(),
  retries: retries.optional(),
  timeout_seconds: timeoutSeconds.optional(),
})

export const releaseDeliverBody = z.strictObject({
  provider: providerChoice.optional(),
  retries: retries.optional(),
  timeout_seconds: timeoutSeconds.optional(),
})

const since = z
  .string()
  .min(1)
  .describe('Only deliveries at or after this ISO time, or within this duration back from now (24h, 7d, 2w).')
const success = z.enum(['true', 'false']).describe("The row's own outcome.")
const paging = {
  limit: z.coerce.number().int().min(1).max(10_000).default(50).describe('Rows per page.'),
  offset: z.coerce.number().int().min(0).default(0).describe('Rows to skip (newest first).'),
}
const providerFilter = z.string().min(1).describe('Connector name or provider kind.')

export const connectorHistoryQuery = z.strictObject({
  provider: providerFilter.optional(),
  event_type: z.string().min(1).optional().describe('Exact event type.'),
  event_id: z.string().min(1).optional().describe('Exact event id.'),
  success: success.optional(),
  since: since.optional(),
  ...paging,
})

export const publicationHistoryQuery = z.strictObject({
  provider: providerFilter.optional(),
  event_id: z.string().min(1).optional().describe('Exact publication id.'),
  export_id: z.string().min(1).optional().describe('Exact export id.'),
  channel: z.string().min(1).optional().describe('Exact release channel.'),
  success: success.optional(),
  since: since.optional(),
  ...paging,
})

export const dashboardQuery = z.strictObject({
  since: since.optional(),
  format: z
    .enum(['json', 'markdown', 'html'])
    .default('json')
    .describe('json, markdown, or html (a self-contained page that opens offline).'),
})

export const integrationParams = z.strictObject({ id: id.describe('The integration id.') })
export const promotionParams = z.strictObject({ execution_id: id.describe('The promotion execution id.') })
export const rollbackParams = z.strictObject({ rollback_id: id.describe('The rollback execution id.') })
export const exportParams = z.strictObject({ export_id: id.describe('The endpoint-management export id.') })

// ---- answer shapes ----------------------------------------------------------------------

const timestamp = z.string()

export const problemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  request_id: z.string(),
  json_path: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
})

export const healthSchema = z.object({ status: z.literal('ok') })

export const integrationRecordSchema = z.looseObject({
  schema_version: z.literal('cavra.integration.v1'),
  integration_id: z.string(),
  connector: z.string(),
  provider: z.string(),
  category: z.enum(CATEGORIES),
  status: z.enum(INTEGRATION_STATUSES),
  health_status: z.enum(HEALTH_STATUSES),
  name: z.string().optional(),
  owner: z.string().optional(),
  environment: z.string().optional(),
  created_at: timestamp,
  updated_at: timestamp,
  last_delivery_at: timestamp.nullable(),
  last_delivery_success: z.boolean().nullable(),
  last_delivery_evidence: z.string().nullable(),
})

export const integrationListSchema = z.object({
  schema_version: z.literal('cavra.integration_registry.v1'),
  product: z.string(),
  integrations: z.array(integrationRecordSchema),
})

const deliveryRecordSchema = z.looseObject({
  provider: z.string(),
  provider_type: z.string(),
  category: z.string(),
  success: z.boolean(),
  status_code: z.int().nullable(),
  attempt_count: z.int(),
  started_at: timestamp,
  completed_at: timestamp,
  duration_ms: z.number(),
  error: z.string().nullable(),
  remote_reference: z.string().nullable(),
  deduplicated: z.boolean(),
  records_sent: z.int(),
  attempts: z.array(z.looseObject({ attempt: z.int() })),
})

export const deliveryDocumentSchema = z
  .looseObject({
    schema_version: z.literal('cavra.connector.delivery.v1'),
    product: z.string(),
    event_type: z.string(),
    event_id: z.string(),
    session_id: z.string().nullable(),
    severity: z.enum(SEVERITIES),
    generated_at: timestamp,
    success: z.boolean(),
    source_artifact: z.object({ path: z.string().nullable(), sha256: z.string() }).nullable(),
    deliveries: z.array(deliveryRecordSchema),
    delivery_evidence: z.string().nullable().describe('The evidence file written for this delivery.'),
    metadata: z
      .looseObject({ session_id: z.string(), record_hash: z.string() })
      .nullable()
      .describe('The metadata store item appended, or null when the delivery was not indexed.'),
  })
  .describe('The delivery result (cavra.connector.delivery.v1), as `--json` prints it.')

const historyItemShape = {
  session_id: z.string(),
  created_at: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  severity: z.string().nullable(),
  provider: z.string(),
  provider_type: z.string(),
  category: z.string().nullable(),
  success: z.boolean(),
  status_code: z.int().nullable(),
  attempt_count: z.int(),
  duration_ms: z.number().nullable(),
  error: z.string().nullable(),
  remote_reference: z.string().nullable(),
  delivery_evidence: z.string().nullable(),
}

function historySchema<T extends z.ZodType>(schema: string, item: T) {
  return z.object({
    schema_version: z.literal(schema),
    product: z.string(),
    items: z.array(item),
    total: z.int(),
    limit: z.int(),
    offset: z.int(),
  })
}

export const connectorHistorySchema = historySchema(
  'cavra.release.connector_delivery_history.v1',
  z.object(historyItemShape),
)
export const publicationHistorySchema = historySchema(
  'cavra.endpoint_management.publication_history.v1',
  z.object({
    ...historyItemShape,
    publication_id: z.string().nullable(),
    export_id: z.string().nullable(),
    channel: z.string().nullable(),
    release_version: z.string().nullable(),
  }),
)

export const dashboardSchema = z.looseObject({
  schema_version: z.enum([
    'cavra.release.connector_delivery_dashboard.v1',
    'cavra.endpoint_management.publication_dashboard.v1',
  ]),
  product: z.string(),
  generated_at: timestamp,
  since: timestamp.nullable(),
  alert_level: z.enum(['healthy', 'warning', 'critical']),
  total_events: z.int(),
  total_deliveries: z.int(),
  successful_deliveries: z.int(),
  failed_deliveries: z.int(),
  success_rate: z.number().min(0).max(1),
  providers: z.array(
    z.looseObject({
      provider: z.string(),
      provider_type: z.string(),
      total: z.int(),
      succeeded: z.int(),
      failed: z.int(),
      success_rate: z.number(),
      state: z.enum(['healthy', 'degraded', 'failing']),
    }),
  ),
  event_types: z.record(z.string(), z.int()),
  alerts: z.array(
    z.looseObject({
      severity: z.enum(['warning', 'critical']),
      provider: z.string().nullable(),
      event_id: z.string().nullable(),
      message: z.string(),
    }),
  ),
  latest: z.array(z.looseObject({ session_id: z.string() })).optional(),
})

// ---- the endpoints ----------------------------------------------------------------------

export interface ResponseDoc {
  description: string
  /** Content type → schema of the body; none for an empty body. */
  content?: Record<string, z.ZodType>
  headers?: Record<string, string>
}

export interface RouteDoc {
  operationId: string
  method: 'get' | 'post'
  /** OpenAPI path template: `/integrations/{id}`. */
  path: string
  summary: string
  description?: string
  tag: string
  /** Whether a bearer token is needed (every endpoint but the health check). */
  auth: boolean
  params?: z.ZodObject
  query?: z.ZodObject
  body?: z.ZodObject
  responses: Record<number, ResponseDoc>
}

const json = (schema: z.ZodType) => ({ 'application/json': schema })
const DELIVERED = {
  description: 'The delivery result, whether or not the destinations accepted it (see `success`).',
  content: json(deliveryDocumentSchema),
}

export const ROUTES: readonly RouteDoc[] = [
  {
    operationId: 'health',
    method: 'get',
    path: '/healthz',
    summary: 'Health check (no token needed).',
    tag: 'server',
    auth: false,
    responses: { 200: { description: 'The server is up.', content: json(healthSchema) } },
  },
  {
    operationId: 'openapi',
    method: 'get',
    path: '/openapi.json',
    summary: 'This document (OpenAPI 3.1).',
    tag: 'server',
    auth: true,
    responses: {
      200: { description: 'The OpenAPI document.', content: json(z.looseObject({ openapi: z.string() })) },
    },
  },
  {
    operationId: 'registerIntegration',
    method: 'post',
    path: '/integrations',
    summary: 'Register or update an integration.',
    description:
      'The integration names a connector of the server configuration (its `integration_id`, or `connector`), whose provider kind and category must match the record (400 otherwise).',
    tag: 'integrations',
    auth: true,
    body: integrationBody,
    responses: {
      200: { description: 'An existing integration was updated.', content: json(integrationRecordSchema) },
      201: {
        description: 'A new integration was registered.',
        content: json(integrationRecordSchema),
        headers: { Location: 'The URL of the new record.' },
      },
    },
  },
  {
    operationId: 'listIntegrations',
    method: 'get',
    path: '/integrations',
    summary: 'List the registered integrations.',
    tag: 'integrations',
    auth: true,
    responses: { 200: { description: 'Every integration.', content: json(integrationListSchema) } },
  },
  {
    operationId: 'getIntegration',
    method: 'get',
    path: '/integrations/{id}',
    summary: 'Read one integration.',
    tag: 'integrations',
    auth: true,
    params: integrationParams,
    responses: {
      200: { description: 'The integration.', content: json(integrationRecordSchema) },
      404: { description: 'No integration has this id.', content: json(problemSchema) },
    },
  },
  {
    operationId: 'deliverIntegrationEvent',
    method: 'post',
    path: '/integrations/{id}/deliver',
    summary: "Deliver an event through an integration's connector.",
    description:
      "Delivers like `cavra integration deliver` (same validation, evidence folder and, when the server has --metadata-json, store item); the integration's `health_status` follows the outcome.",
    tag: 'integrations',
    auth: true,
    params: integrationParams,
    body: integrationDeliverBody,
    responses: {
      200: DELIVERED,
      404: { description: 'No integration has this id.', content: json(problemSchema) },
      409: { description: 'The integration is not active.', content: json(problemSchema) },
    },
  },
  {
    operationId: 'deliverPromotionAudit',
    method: 'post',
    path: '/promotion-executions/{execution_id}/audit-export/deliver',
    summary: 'Deliver a promotion execution as an audit event.',
    description:
      'Finds the promotion execution whose `execution_id` matches under the --artifacts folders and delivers it like `cavra release deliver-promotion-audit`, indexed in the metadata store.',
    tag: 'release',
    auth: true,
    params: promotionParams,
    body: releaseDeliverBody,
    responses: {
      200: DELIVERED,
      404: { description: 'No artifact has this id.', content: json(problemSchema) },
      409: { description: 'Several artifacts have this id.', content: json(problemSchema) },
    },
  },
  {
    operationId: 'deliverRollbackExecution',
    method: 'post',
    path: '/rollback-executions/{rollback_id}/deliver',
    summary: 'Deliver a rollback execution as a critical audit event.',
    description:
      'Finds the rollback execution whose `rollback_id` matches under the --artifacts folders and delivers it like `cavra release deliver-rollback-execution`, indexed in the metadata store.',
    tag: 'release',
    auth: true,
    params: rollbackParams,
    body: releaseDeliverBody,
    responses: {
      200: DELIVERED,
      404: { description: 'No artifact has this id.', content: json(problemSchema) },
      409: { description: 'Several artifacts have this id.', content: json(problemSchema) },
    },
  },
  {
    operationId: 'publishEndpointExport',
    method: 'post',
    path: '/endpoint-management-exports/{export_id}/publish',
    summary: 'Publish an endpoint-management export.',
    description:
      'Finds the export manifest whose `export_id` matches under the --artifacts folders and publishes it like `cavra release deliver-endpoint-export` (checksums and approval verified first), indexed in the metadata store.',
    tag: 'release',
    auth: true,
    params: exportParams,
    body: releaseDeliverBody,
    responses: {
      200: DELIVERED,
      404: { description: 'No export manifest has this id.', content: json(problemSchema) },
      409: { description: 'Several export manifests have this id.', content: json(problemSchema) },
    },
  },
  {
    operationId: 'connectorDeliveryHistory',
    method: 'get',
    path: '/release-connector-deliveries',
    summary: 'Connector delivery history, one row per connector delivery, newest first.',
    description: 'The document `cavra release connector-delivery-history --json` prints.',
    tag: 'history',
    auth: true,
    query: connectorHistoryQuery,
    responses: { 200: { description: 'One page of rows.', content: json(connectorHistorySchema) } },
  },
  {
    operationId: 'connectorDeliveryDashboard',
    method: 'get',
    path: '/release-connector-deliveries/dashboard',
    summary: 'Per-connector delivery health and open alerts.',
    description: 'The dashboard of `cavra release connector-delivery-dashboard`.',
    tag: 'history',
    auth: true,
    query: dashboardQuery,
    responses: {
      200: {
        description: 'The dashboard as JSON, markdown or HTML.',
        content: {
          'application/json': dashboardSchema,
          'text/markdown': z.string(),
          'text/html': z.string(),
        },
      },
    },
  },
  {
    operationId: 'endpointPublicationHistory',
    method: 'get',
    path: '/endpoint-management-publications',
    summary: 'Endpoint publication history, one row per provider publication, newest first.',
    description: 'The document `cavra release endpoint-publication-history --json` prints.',
    tag: 'history',
    auth: true,
    query: publicationHistoryQuery,
    responses: { 200: { description: 'One page of rows.', content: json(publicationHistorySchema) } },
  },
  {
    operationId: 'endpointPublicationDashboard',
    method: 'get',
    path: '/endpoint-management-publications/dashboard',
    summary: 'Per-provider publication health, the latest publications and open alerts.',
    description: 'The dashboard of `cavra release endpoint-publication-dashboard`.',
    tag: 'history',
    auth: true,
    query: dashboardQuery,
    responses: {
      200: {
        description: 'The dashboard as JSON, markdown or HTML.',
        content: {
          'application/json': dashboardSchema,
          'text/markdown': z.string(),
          'text/html': z.string(),
        },
      },
    },
  },
]

/** Largest request body accepted (413 beyond). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024
