import { Config, type Interfaces, Plugin } from '@oclif/core'
import { COMMANDS } from './commands.js'

/**
 * oclif's description of every command (flags, arguments, summaries), made at build time for
 * the bundles by `commandManifest` (build/bundle.mjs compiles it in). Without it, oclif makes
 * it on every start by walking each command class's flags: 3 ms of a delivery's start.
 */
declare const CAVRA_OCLIF_MANIFEST: Interfaces.Manifest | undefined

interface PluginInternals {
  commandCache: unknown
  commandIDs: string[]
  _manifest(): Promise<Interfaces.Manifest>
}

/**
 * Builds oclif's Config from the explicit command list, without reading commands or a
 * manifest from disk: the single binary has neither. Relies on @oclif/core 4.14 internals
 * (the plugin's command cache and manifest step); test/unit/oclif-config.test.ts fails if an
 * upgrade breaks them.
 */
export async function loadCavraConfig(root: string, pjson: Interfaces.PJSON): Promise<Config> {
  const manifest = typeof CAVRA_OCLIF_MANIFEST !== 'undefined' ? CAVRA_OCLIF_MANIFEST : undefined
  const plugin = await loadPlugin(root, pjson, manifest)
  return Config.load({ root, pjson, plugins: new Map([[plugin.name, plugin]]) })
}

/** oclif's description of every command, as oclif makes it from the command classes. */
export async function commandManifest(root: string, pjson: Interfaces.PJSON): Promise<Interfaces.Manifest> {
  // A JSON round trip, as the bundle gets it: what does not survive it is not compiled in.
  return JSON.parse(JSON.stringify((await loadPlugin(root, pjson, undefined)).manifest))
}

async function loadPlugin(
  root: string,
  pjson: Interfaces.PJSON,
  manifest: Interfaces.Manifest | undefined,
): Promise<Plugin> {
  const plugin = new Plugin({ root, isRoot: true, name: pjson.name, pjson, ignoreManifest: true })
  const internals = plugin as unknown as PluginInternals
  internals.commandCache = COMMANDS
  if (manifest !== undefined)
    internals._manifest = async () => {
      internals.commandIDs = Object.keys(manifest.commands)
      return manifest
    }
  await plugin.load()
  return plugin
}
