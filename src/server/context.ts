import { existsSync } from 'node:fs'
import { ConfigError } from '../common/errors.js'
import { loadConnectorConfig } from '../config/load.js'
import { prepareConnectors } from '../config/select.js'
import { REGISTRY } from '../connectors/index.js'
import type { Redactor } from '../delivery/redact.js'
import { TokenCache } from '../delivery/tokens.js'
import { IntegrationRegistry } from '../metadata/integration-registry.js'
import type { MetadataStore } from '../metadata/metadata-store.js'
import {
  openStore,
  type StoreFlags,
  storeFlagGiven,
  storeLocationFrom,
  storeSecrets,
} from '../metadata/store.js'
import { ArtifactFinder } from './artifacts.js'
import type { Logger } from './log.js'

/** What `cavra serve` was started with, after its flags and environment were read. */
export interface ServerOptions {
  host: string
  port: number
  configPath: string
  /** The store flags as given; integration deliveries are indexed only when one is. */
  store: StoreFlags
  artifacts: readonly string[]
  registryPath: string
  tokens: readonly string[]
  env: NodeJS.ProcessEnv
  /** Knows every secret of the server (connector secrets, the API tokens); scrubs what leaves. */
  redactor: Redactor
  log: Logger
}

/** What every request handler shares for the life of the server. */
export interface ServerContext {
  configPath: string
  store: MetadataStore
  indexIntegrations: boolean
  registry: IntegrationRegistry
  artifacts: ArtifactFinder
  env: NodeJS.ProcessEnv
  redactor: Redactor
  /** OAuth and Jamf tokens, shared between deliveries as they are within one command. */
  tokens: TokenCache
  log: Logger
}

/**
 * The metadata store the server indexes into and reads from. It is opened here and only
 * here, once for the life of the server, so another kind of store is a change to this function.
 */
export function openServerStore(options: ServerOptions): MetadataStore {
  const location = storeLocationFrom(options.store, options.env)
  for (const secret of storeSecrets(location, options.env)) options.redactor.addSecret(secret)
  return openStore(location, (message) => options.log.warn(message))
}

export async function createContext(options: ServerOptions): Promise<ServerContext> {
  for (const token of options.tokens) options.redactor.addSecret(token)
  await learnConnectorSecrets(options)
  const registry = new IntegrationRegistry(options.registryPath)
  // A damaged registry is reported now (exit 5), not at the first request.
  await registry.list()
  return {
    configPath: options.configPath,
    store: openServerStore(options),
    indexIntegrations: storeFlagGiven(options.store),
    registry,
    artifacts: new ArtifactFinder(options.artifacts),
    env: options.env,
    redactor: options.redactor,
    tokens: new TokenCache(),
    log: options.log,
  }
}

/**
 * Reads the connector configuration once at start-up: an invalid file stops the server
 * (exit 3), and the secrets of every connector that resolves are known to the redactor before
 * the first request, so no log line or problem can carry one. A missing file only warns:
 * history and dashboards work without it.
 */
async function learnConnectorSecrets(options: ServerOptions): Promise<void> {
  if (!existsSync(options.configPath)) {
    options.log.warn(
      `No connector configuration at ${options.configPath}: deliveries will fail until it exists (pass --config or set CAVRA_CONNECTOR_CONFIG).`,
    )
    return
  }
  const config = await loadConnectorConfig(options.configPath, REGISTRY)
  for (const entry of config.entries) {
    try {
      for (const connector of prepareConnectors(config, [entry], options.env)) {
        for (const secret of connector.secretValues) options.redactor.addSecret(secret)
        for (const header of connector.secretHeaders) options.redactor.addSecretHeader(header)
      }
    } catch (error) {
      // A connector that does not resolve (an unset variable) fails its own deliveries, with
      // the same message a command gives; it does not stop the server.
      if (!(error instanceof ConfigError)) throw error
      if (entry.enabled) options.log.warn(error.message)
    }
  }
}
