import { randomUUID } from 'node:crypto'
import { type Context, Hono } from 'hono'
import type { z } from 'zod'
import { describeIssue, jsonPath } from '../common/zod-issues.js'
import { DASHBOARD_HTML_CSP } from '../metadata/dashboard-html.js'
import { REGISTRY_SCHEMA } from '../metadata/integration-registry.js'
import {
  type connectorHistoryQuery,
  type dashboardQuery,
  type integrationBody,
  type integrationDeliverBody,
  MAX_BODY_BYTES,
  type publicationHistoryQuery,
  ROUTES,
  type releaseDeliverBody,
} from './api.js'
import type { BearerTokens } from './auth.js'
import type { ServerContext } from './context.js'
import { deliverIntegrationEvent, deliverPromotion, deliverRollback, publishExport } from './deliveries.js'
import { registerIntegration } from './integrations.js'
import { openApiDocument } from './openapi.js'
import {
  badRequest,
  HttpProblem,
  notFound,
  PROBLEM_CONTENT_TYPE,
  problemDocument,
  problemOf,
  unprocessable,
} from './problem.js'
import { connectorHistory, dashboard, publicationHistory } from './readers.js'

/**
 * The HTTP API on Hono: a request is logged (one JSON line), authenticated, matched to a
 * route of the table in api.ts, its path, query and body checked against that route's zod
 * schemas, and handled; every error leaves as `application/problem+json`.
 */

type Env = { Variables: { requestId: string; failure?: string } }

/** Whether the server is shutting down (answers then close their connection). */
export interface Lifecycle {
  readonly draining: boolean
}

interface Input {
  params: Record<string, string>
  query: Record<string, unknown>
  body: unknown
  requestId: string
}

type Handler = (c: Context<Env>, input: Input) => Promise<Response> | Response

export function createApp(context: ServerContext, tokens: BearerTokens, lifecycle: Lifecycle): Hono<Env> {
  const app = new Hono<Env>()
  const { redactor, log } = context
  const openapi = JSON.stringify(openApiDocument(ROUTES))
  const json = (c: Context<Env>, document: unknown, status: 200 | 201 = 200) =>
    c.body(redactor.scrub(JSON.stringify(document)), status, {
      'content-type': 'application/json; charset=utf-8',
    })

  app.use('*', async (c, next) => {
    const started = performance.now()
    const requestId = requestIdOf(c.req.header('x-request-id'))
    c.set('requestId', requestId)
    await next()
    c.res.headers.set('X-Request-Id', requestId)
    if (lifecycle.draining) c.res.headers.set('Connection', 'close')
    log.request({
      request_id: requestId,
      method: c.req.method,
      // The path only: query values are whatever a caller typed, secrets included.
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      duration_ms: Math.round(performance.now() - started),
      ...(c.get('failure') ? { error: c.get('failure') } : {}),
    })
  })

  app.use('*', async (c, next) => {
    const open = c.req.method === 'GET' && new URL(c.req.url).pathname === '/healthz'
    if (!open && tokens.configured) {
      const header = c.req.header('authorization')
      if (!tokens.accepts(header)) {
        throw new HttpProblem(
          401,
          'unauthorized',
          'Unauthorized',
          header
            ? 'The bearer token is not one the server accepts.'
            : 'This endpoint needs Authorization: Bearer <token>.',
          {},
          {
            'WWW-Authenticate': header
              ? 'Bearer realm="cavra", error="invalid_token"'
              : 'Bearer realm="cavra"',
          },
        )
      }
    }
    await next()
  })

  const handlers: Record<string, Handler> = {
    health: (c) => c.json({ status: 'ok' }),
    openapi: (c) => c.body(openapi, 200, { 'content-type': 'application/json; charset=utf-8' }),
    registerIntegration: async (c, { body }) => {
      const { record, created } = await registerIntegration(context, body as z.infer<typeof integrationBody>)
      if (created) c.header('Location', `/integrations/${encodeURIComponent(record.integration_id)}`)
      return json(c, record, created ? 201 : 200)
    },
    listIntegrations: async (c) =>
      json(c, {
        schema_version: REGISTRY_SCHEMA,
        product: 'CAVRA',
        integrations: await context.registry.list(),
      }),
    getIntegration: async (c, { params }) => {
      const record = await context.registry.get(params.id!)
      if (!record) throw notFound(`No integration "${params.id}" is registered.`)
      return json(c, record)
    },
    deliverIntegrationEvent: async (c, { params, body, requestId }) =>
      json(
        c,
        await deliverIntegrationEvent(
          context,
          params.id!,
          body as z.infer<typeof integrationDeliverBody>,
          requestId,
        ),
      ),
    deliverPromotionAudit: async (c, { params, body, requestId }) =>
      json(
        c,
        await deliverPromotion(
          context,
          params.execution_id!,
          body as z.infer<typeof releaseDeliverBody>,
          requestId,
        ),
      ),
    deliverRollbackExecution: async (c, { params, body, requestId }) =>
      json(
        c,
        await deliverRollback(
          context,
          params.rollback_id!,
          body as z.infer<typeof releaseDeliverBody>,
          requestId,
        ),
      ),
    publishEndpointExport: async (c, { params, body, requestId }) =>
      json(
        c,
        await publishExport(
          context,
          params.export_id!,
          body as z.infer<typeof releaseDeliverBody>,
          requestId,
        ),
      ),
    connectorDeliveryHistory: async (c, { query }) =>
      json(c, await connectorHistory(context, query as z.infer<typeof connectorHistoryQuery>)),
    endpointPublicationHistory: async (c, { query }) =>
      json(c, await publicationHistory(context, query as z.infer<typeof publicationHistoryQuery>)),
    connectorDeliveryDashboard: async (c, { query }) =>
      dashboardAnswer(c, await dashboard(context, 'connector', query as z.infer<typeof dashboardQuery>)),
    endpointPublicationDashboard: async (c, { query }) =>
      dashboardAnswer(c, await dashboard(context, 'publication', query as z.infer<typeof dashboardQuery>)),
  }

  const dashboardAnswer = (c: Context<Env>, answer: Awaited<ReturnType<typeof dashboard>>) => {
    if (answer.type === 'markdown')
      return c.body(redactor.scrub(answer.text), 200, { 'content-type': 'text/markdown; charset=utf-8' })
    if (answer.type === 'html') {
      // The page's own policy, also as a header: a browser opening the answer directly
      // enforces it before parsing anything, and may not guess another type.
      return c.body(redactor.scrub(answer.text), 200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': DASHBOARD_HTML_CSP,
        'x-content-type-options': 'nosniff',
      })
    }
    return json(c, answer.dashboard)
  }

  for (const route of ROUTES) {
    const handler = handlers[route.operationId]
    if (!handler) throw new Error(`no handler for ${route.operationId}`)
    app.on(route.method.toUpperCase(), honoPath(route.path), async (c) => {
      const input: Input = {
        params: route.params ? parseParams(route.params, c.req.param() as Record<string, string>) : {},
        query: route.query ? parseQuery(route.query, new URL(c.req.url).searchParams) : {},
        body: route.body ? parseBody(route.body, await readBody(c)) : undefined,
        requestId: c.get('requestId'),
      }
      return handler(c, input)
    })
  }

  app.notFound((c) => {
    const path = new URL(c.req.url).pathname
    const allowed = ROUTES.filter((route) => pathPattern(route.path).test(path)).map((route) =>
      route.method.toUpperCase(),
    )
    if (allowed.length > 0) {
      return problemResponse(
        c,
        new HttpProblem(
          405,
          'method-not-allowed',
          'Method not allowed',
          `${path} takes ${allowed.join(', ')}.`,
          {},
          {
            Allow: allowed.join(', '),
          },
        ),
      )
    }
    return problemResponse(c, notFound(`No endpoint ${c.req.method} ${path}; GET /openapi.json lists them.`))
  })

  app.onError((error, c) => {
    const problem = problemOf(error)
    if (problem.status >= 500) c.set('failure', redactor.scrub(describeFailure(error)))
    return problemResponse(c, problem)
  })

  const problemResponse = (c: Context<Env>, problem: HttpProblem) =>
    c.body(
      JSON.stringify(problemDocument(problem, c.get('requestId') ?? 'unknown', redactor)),
      problem.status as 400,
      { 'content-type': PROBLEM_CONTENT_TYPE, ...problem.headers },
    )

  return app
}

/** `/integrations/{id}` → `/integrations/:id`. */
function honoPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ':$1')
}

function pathPattern(path: string): RegExp {
  return new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+').replace(/\./g, '\\.')}/?$`)
}

function requestIdOf(header: string | undefined): string {
  return header && /^[A-Za-z0-9._:-]{1,128}$/.test(header) ? header : randomUUID()
}

function parseParams(schema: z.ZodObject, params: Record<string, string>): Record<string, string> {
  const parsed = schema.safeParse(params)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw badRequest(`path parameter ${String(issue.path[0] ?? '')}: ${issue.message}`)
  }
  return parsed.data as Record<string, string>
}

function parseQuery(schema: z.ZodObject, search: URLSearchParams): Record<string, unknown> {
  const raw: Record<string, string> = {}
  for (const [name, value] of search) {
    if (Object.hasOwn(raw, name)) throw badRequest(`query parameter ${name} is given more than once.`)
    raw[name] = value
  }
  const parsed = schema.safeParse(raw)
  if (parsed.success) return parsed.data as Record<string, unknown>
  const issue = parsed.error.issues[0]!
  if (issue.code === 'unrecognized_keys') {
    throw badRequest(
      `unknown query parameter${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}; this endpoint takes ${Object.keys(schema.shape).join(', ')}.`,
    )
  }
  throw badRequest(
    `query parameter ${String(issue.path[0] ?? '')}: ${issue.message.replace(/^Invalid input: /, '')}.`,
  )
}

/**
 * 413. A client usually sends its whole body before it reads the answer, so a body up to
 * `DRAIN_LIMIT_BYTES` is read to its end and dropped: the client then gets the 413 instead of a
 * broken pipe, and the connection stays usable. A larger one is cut off and the connection closed.
 */
class BodyTooLarge extends HttpProblem {
  constructor(drained: boolean) {
    super(
      413,
      'too-large',
      'Content too large',
      `The body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MB.`,
      {},
      drained ? {} : { Connection: 'close' },
    )
  }
}

const DRAIN_LIMIT_BYTES = 4 * MAX_BODY_BYTES

/** The body as text; beyond the limit, 413 without keeping what was read. */
async function readBody(c: Context<Env>): Promise<string> {
  const declared = Number(c.req.header('content-length') ?? Number.NaN)
  const stream = c.req.raw.body
  if (declared > DRAIN_LIMIT_BYTES) {
    await stream?.cancel().catch(() => {})
    throw new BodyTooLarge(false)
  }
  if (!stream) return ''
  const chunks: Uint8Array[] = []
  let total = 0
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > DRAIN_LIMIT_BYTES) {
      await reader.cancel().catch(() => {})
      throw new BodyTooLarge(false)
    }
    if (total <= MAX_BODY_BYTES) chunks.push(value)
  }
  if (total > MAX_BODY_BYTES) throw new BodyTooLarge(true)
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks))
  } catch {
    throw badRequest('The body is not UTF-8 text.')
  }
}

/** JSON (400 when it is not), then the route's schema (422 naming every JSON path that fails). */
function parseBody(schema: z.ZodObject, text: string): unknown {
  let value: unknown = {}
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text)
    } catch (error) {
      const at = /position (\d+)/.exec((error as Error).message)?.[1]
      throw badRequest(`The body is not valid JSON${at ? ` (at byte ${at})` : ''}.`)
    }
  }
  const parsed = schema.safeParse(value, { reportInput: true })
  if (parsed.success) return parsed.data
  throw unprocessable(
    parsed.error.issues.map((issue) => ({ path: jsonPath(issue.path), message: describeIssue(issue) })),
  )
}

function describeFailure(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}
