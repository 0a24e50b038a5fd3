import { z } from 'zod'
import { VERSION } from '../common/version.js'
import { MAX_BODY_BYTES, problemSchema, type RouteDoc } from './api.js'

/**
 * `GET /openapi.json`: an OpenAPI 3.1 document built from the route table and the zod
 * schemas the server validates requests with (zod's JSON Schema output is draft 2020-12, the
 * dialect OpenAPI 3.1 uses).
 */

type JsonSchema = Record<string, unknown>

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as JsonSchema
  return rest
}

function parametersOf(shape: z.ZodObject, where: 'path' | 'query'): JsonSchema[] {
  return Object.entries(shape.shape).map(([name, field]) => {
    const schema = schemaOf(field as z.ZodType, 'input')
    const { description, ...rest } = schema
    return {
      name,
      in: where,
      required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success,
      ...(description ? { description } : {}),
      schema: rest,
    }
  })
}

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: schemaOf(problemSchema, 'output') } },
})

export function openApiDocument(routes: readonly RouteDoc[]): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {}
  for (const route of routes) {
    const responses: Record<string, JsonSchema> = {}
    for (const [status, response] of Object.entries(route.responses)) {
      const content = Object.fromEntries(
        Object.entries(response.content ?? {}).map(([type, schema]) => [
          // Problems are documented under their own media type.
          schema === problemSchema ? 'application/problem+json' : type,
          { schema: schemaOf(schema, 'output') },
        ]),
      )
      responses[status] = {
        description: response.description,
        ...(Object.keys(content).length > 0 ? { content } : {}),
        ...(response.headers
          ? {
              headers: Object.fromEntries(
                Object.entries(response.headers).map(([name, description]) => [
                  name,
                  { description, schema: { type: 'string' } },
                ]),
              ),
            }
          : {}),
      }
    }
    if (route.query) responses['400'] ??= problem('A query parameter is unknown or malformed.')
    if (route.body) {
      responses['400'] ??= problem('The body is not JSON, or names a connector the configuration lacks.')
      responses['413'] ??= problem(`The body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MB.`)
      responses['422'] ??= problem(
        'The body, or the artifact it names, fails validation; `json_path` says where.',
      )
    }
    if (route.auth) responses['401'] ??= problem('No valid bearer token (the answer has WWW-Authenticate).')
    responses['500'] ??= problem('The server configuration, store or registry has a problem.')
    const operation: JsonSchema = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      ...(route.auth ? {} : { security: [] }),
      parameters: [
        ...(route.params ? parametersOf(route.params, 'path') : []),
        ...(route.query ? parametersOf(route.query, 'query') : []),
      ],
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: schemaOf(route.body, 'input') } },
            },
          }
        : {}),
      responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b))),
    }
    paths[route.path] = { ...paths[route.path], [route.method]: operation }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'cavra HTTP API',
      version: VERSION,
      description:
        'Deliver governance events and release artifacts through the configured connectors, keep the integration registry, and read delivery history and dashboards. Every endpoint but /healthz needs `Authorization: Bearer <token>`.',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    security: [{ bearer: [] }],
    tags: [
      { name: 'server', description: 'Health and this document.' },
      { name: 'integrations', description: 'The integration registry and event delivery.' },
      { name: 'release', description: 'Release artifacts delivered like the release commands.' },
      { name: 'history', description: 'Delivery history and dashboards from the metadata store.' },
    ],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A token from CAVRA_API_TOKEN or --token-file.',
        },
      },
    },
  }
}
