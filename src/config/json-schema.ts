import { z } from 'zod'
import type { AnyConnector } from '../connectors/types.js'
import { entrySchema } from './load.js'

/**
 * The JSON Schema of the connector configuration, generated from the same zod schemas that
 * validate it. A connector whose name is a provider kind may omit `provider`; any other name
 * must say which kind it is.
 */
export function connectorConfigJsonSchema(connectors: readonly AnyConnector[]): Record<string, unknown> {
  const definitions: Record<string, unknown> = {}
  const named: Record<string, unknown> = {}
  const anyNamed: unknown[] = []
  for (const connector of connectors) {
    const schema = z.toJSONSchema(entrySchema(connector), { target: 'draft-2020-12', io: 'input' }) as Record<
      string,
      unknown
    >
    delete schema.$schema
    const properties = schema.properties as Record<string, Record<string, unknown>>
    definitions[connector.provider] = {
      ...schema,
      description: `${connector.title} (${connector.category}). ${connector.docs}`,
      properties: { ...properties, provider: { type: 'string', const: connector.provider } },
    }
    const ref = `#/$defs/${connector.provider}`
    named[connector.provider] = { $ref: ref }
    anyNamed.push({ allOf: [{ $ref: ref }, { required: ['provider'] }] })
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://cavra.dev/schemas/cavra-connectors.schema.json',
    title: 'cavra connector configuration',
    description:
      'Connectors cavra delivers to . Any string setting X may be given as X_env (an environment variable) or X_file (a file) instead; secrets should be.',
    type: 'object',
    additionalProperties: false,
    properties: {
      $schema: { type: 'string' },
      connectors: {
        type: 'object',
        description: 'Connector name → settings. A name that is not a provider kind needs "provider".',
        properties: named,
        additionalProperties: { anyOf: anyNamed },
      },
    },
    required: ['connectors'],
    $defs: definitions,
  }
}
