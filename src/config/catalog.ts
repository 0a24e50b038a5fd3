import type { Category } from '../common/category.js'
import { CONNECTOR_MODULES } from '../connectors/lazy.js'
import type { AnyConnector, ConnectorInfo } from '../connectors/types.js'
import { entrySchema } from './load.js'

/**
 * The registry a delivery checks its configuration against: each provider described (kind,
 * category, title, the keys its entries may hold), its module loaded only if a command
 * selects it. The descriptions are computed from the connector modules themselves: at build
 * time for the bundles (build/bundle.mjs compiles them in as CAVRA_CONNECTOR_CATALOG), and
 * otherwise here, by loading every module, as the tests run the sources.
 */

export interface ConnectorDescription {
  provider: string
  category: Category
  title: string
  keys: string[]
}

declare const CAVRA_CONNECTOR_CATALOG: readonly ConnectorDescription[] | undefined

export function describeConnectors(connectors: readonly AnyConnector[]): ConnectorDescription[] {
  return connectors.map((connector) => ({
    provider: connector.provider,
    category: connector.category,
    title: connector.title,
    keys: Object.keys(entrySchema(connector).shape),
  }))
}

export async function connectorCatalog(): Promise<ReadonlyMap<string, ConnectorInfo>> {
  const descriptions =
    typeof CAVRA_CONNECTOR_CATALOG !== 'undefined'
      ? CAVRA_CONNECTOR_CATALOG
      : describeConnectors((await import('../connectors/index.js')).CONNECTORS)
  return new Map(
    descriptions.map((description) => {
      const load = CONNECTOR_MODULES[description.provider]
      if (!load) throw new Error(`no module is registered for the ${description.provider} connector`)
      return [description.provider, { ...description, load }]
    }),
  )
}
