import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { z } from 'zod'
import type { Category } from '../common/category.js'
import { ConfigError } from '../common/errors.js'
import { jsonPath } from '../common/zod-issues.js'
import { commonSettings } from '../connectors/shared/settings.js'
import type { AnyConnector, ConnectorInfo } from '../connectors/types.js'
import { closestMatch } from './did-you-mean.js'
import { rawEntryShape } from './entry-shape.js'
import { entryPlainlyFits, type PlainSetting } from './plain-check.js'

/** Reads and strictly validates a connector configuration file: JSON or YAML. */

export interface ConnectorEntry {
  name: string
  provider: string
  enabled: boolean
  category: Category
  raw: Record<string, unknown>
  /**
   * The provider's module. For an entry of the on-demand registry it is there once
   * `loadSelected` has loaded it; reading it before is a bug, and throws.
   */
  definition: AnyConnector
  /** The provider as the on-demand registry describes it. */
  info?: CatalogInfo
}

/** A provider as the catalog describes it; `plainSettings` lets an entry be checked without zod. */
export interface CatalogInfo extends ConnectorInfo {
  plainSettings?: readonly PlainSetting[]
}

/**
 * The providers a configuration is checked against: their modules (every setting is then
 * checked at once), or their descriptions (`ConnectorInfo`), which check key names only; the
 * modules of the connectors a command selects are then loaded and checked by `loadSelected`.
 */
export type ConnectorRegistry = ReadonlyMap<string, AnyConnector | CatalogInfo>

export interface ConnectorConfig {
  path: string
  entries: ConnectorEntry[]
  /** Where the entries are in the file, as messages name it: `$.connectors` (the default), `$.providers` or `$`. */
  base?: string
}

export const DEFAULT_CONFIG_PATH = '.cavra/connectors.json'

import { EXAMPLE_CONFIG } from './config-file.js'

export { EXAMPLE_CONFIG }

/** Providers the earlier tool knew that cavra deliberately does not deliver to. */
const RETIRED_PROVIDERS = new Set(['github', 'gitlab', 'azure_repos', 'github_actions', 'jenkins'])

export function configPathFrom(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? env.CAVRA_CONNECTOR_CONFIG ?? DEFAULT_CONFIG_PATH
}

export async function loadConnectorConfig(
  path: string,
  registry: ConnectorRegistry,
): Promise<ConnectorConfig> {
  let text: string
  try {
    // Read at once: a small file, before anything else is under way (see common/files.ts).
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new ConfigError(
      code === 'ENOENT'
        ? `No connector configuration at ${path}.`
        : `Cannot read the connector configuration ${path} (${code ?? error}).`,
      [
        `Create it from ${EXAMPLE_CONFIG}, pass --config PATH, or set CAVRA_CONNECTOR_CONFIG.`,
        'Secrets belong in environment variables (token_env, url_env ...), not in the file.',
      ],
    )
  }
  const document = await parseDocument(path, text)
  return { path, ...validateDocument(path, document, registry) }
}

async function parseDocument(path: string, text: string): Promise<unknown> {
  const extension = extname(path).toLowerCase()
  if (text.trim() === '')
    throw new ConfigError(`${path}: the file is empty.`, [`Start from ${EXAMPLE_CONFIG}.`])
  if (extension === '.yaml' || extension === '.yml')
    return (await import('./yaml-config.js')).parseYamlConfig(path, text)
  try {
    return JSON.parse(text)
  } catch (error) {
    const message = (error as Error).message
    const position = /position (\d+)/.exec(message)
    // "Unexpected end of JSON input" names no position: the file ends where JSON.parse did.
    const at = lineAndColumn(text, position ? Number(position[1]) : text.length)
    throw new ConfigError(
      `${path}: line ${at.line}, column ${at.column}: not valid JSON (${message.replace(/ in JSON at position \d+.*/, '')}).`,
      ['Fix the JSON at that spot (`jq . FILE` shows it too); YAML configs must end in .yaml or .yml.'],
    )
  }
}

/** 1-based line and column (in characters) of a UTF-16 index into `text`. */
function lineAndColumn(text: string, index: number): { line: number; column: number } {
  const before = text.slice(0, index)
  const lineStart = before.lastIndexOf('\n') + 1
  return { line: before.split('\n').length, column: [...before.slice(lineStart)].length + 1 }
}

function validateDocument(
  path: string,
  document: unknown,
  registry: ConnectorRegistry,
): { entries: ConnectorEntry[]; base: string } {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError(`${path}: expected an object with a "connectors" map.`, [`See ${EXAMPLE_CONFIG}.`])
  }
  const top = document as Record<string, unknown>
  const mapKey = 'connectors' in top ? 'connectors' : 'providers' in top ? 'providers' : undefined
  const unknownTop = Object.keys(top).filter((key) => key !== mapKey && key !== '$schema')
  if (mapKey && unknownTop.length > 0) {
    throw new ConfigError(`${path}: unknown top-level key ${unknownTop.map((k) => `"${k}"`).join(', ')}.`, [
      'Connectors go under "connectors".',
    ])
  }
  // The earlier tool also accepted the bare map of connectors.
  const map = mapKey ? top[mapKey] : top
  const base = mapKey ? `$.${mapKey}` : '$'
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new ConfigError(`${path}: ${base} must be an object mapping connector names to settings.`)
  }
  const problems: string[] = []
  const entries: ConnectorEntry[] = []
  for (const [name, value] of Object.entries(map as Record<string, unknown>)) {
    if (name === '$schema') continue
    const where = `${base}${jsonPath([name], '')}`
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`connector ${name} (${where}): expected an object of settings`)
      continue
    }
    const raw = value as Record<string, unknown>
    const provider = typeof raw.provider === 'string' ? raw.provider : name
    const enabled = raw.enabled !== false
    const definition = registry.get(provider)
    if (!definition) {
      if (!enabled) continue
      const known = [...registry.keys()].join(', ')
      problems.push(
        RETIRED_PROVIDERS.has(provider)
          ? `connector ${name}: provider "${provider}" is not supported by cavra (it delivers to ${known}); remove the entry or set "enabled": false`
          : `connector ${name}: "${provider}" is not a provider kind${hint(provider, [...registry.keys()])}; set "provider" to one of ${known}`,
      )
      continue
    }
    if (!isModule(definition)) {
      // Only the key names here; the values are checked once the connector is selected.
      const unknown = Object.keys(raw).filter((key) => !definition.keys.includes(key))
      if (unknown.length > 0) {
        problems.push(unknownKeys(name, where, unknown, [...definition.keys]))
        continue
      }
      entries.push(
        unloadedEntry({ name, provider, enabled, category: definition.category, raw, info: definition }),
      )
      continue
    }
    const entryProblems = checkEntry(name, where, raw, definition)
    if (entryProblems.length > 0) {
      problems.push(...entryProblems)
      continue
    }
    entries.push({ name, provider, enabled, category: definition.category, raw, definition })
  }
  throwProblems(path, problems)
  return { entries, base }
}

function isModule(known: AnyConnector | CatalogInfo): known is AnyConnector {
  return 'settings' in known
}

/** Every problem of one entry against the provider's schema, in the words of the configuration errors. */
function checkEntry(
  name: string,
  where: string,
  raw: Record<string, unknown>,
  definition: AnyConnector,
): string[] {
  const schema = entrySchema(definition)
  const parsed = schema.safeParse(raw, { reportInput: true })
  if (parsed.success) return []
  const allowed = Object.keys(schema.shape)
  return parsed.error.issues.map((issue) => describeEntryIssue(name, where, issue, allowed))
}

function throwProblems(path: string, problems: readonly string[]): void {
  if (problems.length > 0) {
    throw new ConfigError(
      `${path}: ${problems.length === 1 ? problems[0] : `\n  - ${problems.join('\n  - ')}`}`,
      [`Compare with ${EXAMPLE_CONFIG} and the JSON Schema beside it.`],
    )
  }
}

/**
 * Loads the modules of the selected connectors (the registry loads on demand) and checks
 * their entries against the full schema: every value, as `loadConnectorConfig` checks each
 * entry when the registry holds the modules themselves.
 */
export async function loadSelected(
  config: ConnectorConfig,
  entries: readonly ConnectorEntry[],
): Promise<void> {
  const pending = entries.filter((entry) => !isLoaded(entry))
  const definitions = await Promise.all(pending.map((entry) => entry.info!.load()))
  const problems: string[] = []
  for (const [index, entry] of pending.entries()) {
    const definition = definitions[index]!
    const where = `${config.base ?? '$.connectors'}${jsonPath([entry.name], '')}`
    // An entry that plainly fits needs neither zod nor the provider's schemas.
    const plain = entry.info?.plainSettings
    if (!plain || !entryPlainlyFits(entry.raw, plain))
      problems.push(...checkEntry(entry.name, where, entry.raw, definition))
    Object.defineProperty(entry, 'definition', { value: definition, writable: true, configurable: true })
  }
  throwProblems(config.path, problems)
}

/** An entry of the on-demand registry, its module not loaded yet. */
function unloadedEntry(fields: Omit<ConnectorEntry, 'definition'>): ConnectorEntry {
  const entry = { ...fields } as ConnectorEntry
  Object.defineProperty(entry, 'definition', {
    configurable: true,
    get() {
      throw new Error(`connector ${fields.name}: its module is read before loadSelected loaded it`)
    },
  })
  return entry
}

function isLoaded(entry: ConnectorEntry): boolean {
  return Object.getOwnPropertyDescriptor(entry, 'definition')?.get === undefined
}

const entrySchemas = new WeakMap<AnyConnector, z.ZodObject>()
const settingsSchemas = new WeakMap<AnyConnector, z.ZodObject>()

/** Every setting of a provider: the common keys and its own. */
export function settingsShape(definition: AnyConnector): z.ZodRawShape {
  return { ...commonSettings(), ...definition.settings() }
}

/** The strict on-disk schema of one provider's entries (with the `_env` / `_file` forms). */
export function entrySchema(definition: AnyConnector): z.ZodObject {
  let schema = entrySchemas.get(definition)
  if (!schema) {
    schema = z.strictObject(rawEntryShape(settingsShape(definition)))
    entrySchemas.set(definition, schema)
  }
  return schema
}

/** The schema of one provider's settings once `_env` / `_file` are resolved. */
export function settingsSchema(definition: AnyConnector): z.ZodObject {
  let schema = settingsSchemas.get(definition)
  if (!schema) {
    schema = z.object(settingsShape(definition))
    settingsSchemas.set(definition, schema)
  }
  return schema
}

function describeEntryIssue(name: string, where: string, issue: z.core.$ZodIssue, allowed: string[]): string {
  if (issue.code === 'unrecognized_keys') return unknownKeys(name, where, issue.keys, allowed)
  const at = jsonPath(issue.path, where)
  const key = issue.path.length > 0 ? `key ${String(issue.path[0])}` : 'entry'
  return `connector ${name}: ${key} at ${at}: ${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)}`
}

function unknownKeys(name: string, where: string, keys: readonly string[], allowed: string[]): string {
  return keys
    .map((key) => `connector ${name}: unknown key "${key}" at ${where}${hint(key, allowed)}`)
    .join('; ')
}

function hint(value: string, candidates: string[]): string {
  const match = closestMatch(value, candidates)
  return match ? ` (did you mean "${match}"?)` : ''
}
