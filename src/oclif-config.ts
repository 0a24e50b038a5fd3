import { Config, type Interfaces, Plugin } from '@oclif/core'
import { COMMANDS } from './commands.js'

/**
 * Builds oclif's Config from the explicit command list, without reading commands or a
 * manifest from disk: the single binary has neither. Relies on @oclif/core 4.14 internals
 * (the plugin's command cache); test/unit/oclif-config.test.ts fails if an upgrade breaks it.
 */
export async function loadCavraConfig(root: string, pjson: Interfaces.PJSON): Promise<Config> {
  const plugin = new Plugin({ root, isRoot: true, name: pjson.name, pjson, ignoreManifest: true })
  ;(plugin as unknown as { commandCache: unknown }).commandCache = COMMANDS
  await plugin.load()
  return Config.load({ root, pjson, plugins: new Map([[plugin.name, plugin]]) })
}
