import type { z } from 'zod'
import { loadConnectorConfig } from '../config/load.js'
import { REGISTRY } from '../connectors/index.js'
import type { IntegrationRecord } from '../metadata/integration-registry.js'
import type { integrationBody } from './api.js'
import type { ServerContext } from './context.js'
import { badRequest } from './problem.js'

/**
 * `POST /integrations`: a record names a connector of the server's configuration (its
 * `integration_id`, or `connector`), and says what that connector is; a record that
 * disagrees with the configuration is refused (400) rather than stored wrong.
 */
export async function registerIntegration(
  context: ServerContext,
  body: z.infer<typeof integrationBody>,
): Promise<{ record: IntegrationRecord; created: boolean }> {
  const config = await loadConnectorConfig(context.configPath, REGISTRY)
  const name = body.connector ?? body.integration_id
  const entry = config.entries.find((candidate) => candidate.name === name)
  const field = body.connector === undefined ? 'integration_id' : 'connector'
  if (!entry) {
    const names = config.entries.map((candidate) => candidate.name)
    throw badRequest(
      `${field} "${name}" names no connector of ${config.path}; configured: ${names.join(', ') || 'none'}. Name a configured connector (or add "connector": "<name>").`,
      { json_path: `$.${field}` },
    )
  }
  const category = entry.definition.category
  if (entry.provider !== body.provider) {
    throw badRequest(
      `provider "${body.provider}" does not match connector "${name}", which is a ${entry.provider} connector.`,
      { json_path: '$.provider' },
    )
  }
  if (category !== body.category) {
    throw badRequest(
      `category "${body.category}" does not match connector "${name}", which is a ${category} connector.`,
      { json_path: '$.category' },
    )
  }
  return context.registry.upsert({
    integration_id: body.integration_id,
    connector: name,
    provider: body.provider,
    category: body.category,
    status: body.status,
    health_status: body.health_status,
    ...(body.name !== undefined ? { name: body.name } : {}),
    ...(body.owner !== undefined ? { owner: body.owner } : {}),
    ...(body.environment !== undefined ? { environment: body.environment } : {}),
  })
}
