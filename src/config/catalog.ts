import type { Category } from '../common/category.js'
import { CONNECTOR_MODULES } from '../connectors/lazy.js'
import type { AnyConnector } from '../connectors/types.js'
import { type CatalogInfo, entrySchema, settingsShape } from './load.js'
import { describeSettings, type PlainSetting } from './plain-check.js'

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
  /** Each setting's form and rule, so that an entry that plainly fits needs no zod. */
  plainSettings: PlainSetting[]
}

declare const CAVRA_CONNECTOR_CATALOG: readonly ConnectorDescription[] | undefined

export function describeConnectors(connectors: readonly AnyConnector[]): ConnectorDescription[] {
  return connectors.map((connector) => ({
    provider: connector.provider,
    category: connector.category,
    title: connector.title,
    keys: Object.keys(entrySchema(connector).shape),
    plainSettings: describeSettings(settingsShape(connector)),
  }))
}

export async function connectorCatalog(): Promise<ReadonlyMap<string, CatalogInfo>> {
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
