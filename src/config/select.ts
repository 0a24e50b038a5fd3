import { ConfigError } from '../common/errors.js'
import type { Category, ConnectorDefinition } from '../connectors/types.js'
import { closestMatch } from './did-you-mean.js'
import type { ConnectorConfig, ConnectorEntry } from './load.js'
import { type ResolvedSettings, resolveSettings } from './resolve.js'
import { COMPATIBILITY_SECRETS, commonSettings } from './settings.js'

/** A connector chosen for a command, with its settings resolved and validated. */
export interface PreparedConnector {
  name: string
  provider: string
  category: Category
  definition: ConnectorDefinition
  config: unknown
  /** Per-connector overrides of the command's --timeout and --retries. */
  timeoutSeconds?: number
  retries?: number
  caFile?: string
  secretValues: string[]
  /** Header names that carry secrets (a configured api_key_header). */
  secretHeaders: string[]
  warnings: string[]
}

/** `--provider a,b --provider c` → ['a', 'b', 'c'] (order kept, duplicates dropped). */
export function parseProviderFlags(values: readonly string[] | undefined): string[] {
  const names = (values ?? [])
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter(Boolean)
  return [...new Set(names)]
}

export interface SelectionRule {
  /** Which connector categories the command sends to. */
  categories: readonly Category[]
  /** The command, for messages: "integration deliver". */
  command: string
  /**
   * Provider kinds the input allows (an endpoint export's `providers`): the default selection
   * keeps only these, and naming another kind is an input error built by `outside`.
   */
  kinds?: {
    allowed: readonly string[]
    known: readonly string[]
    outside(name: string, provider: string): Error
  }
}

/**
 * Picks the connectors a command uses (SPEC §2.1): without --provider every enabled connector
 * that fits; `all` the same; otherwise the named connectors, or every connector of a named
 * provider kind. Naming an unknown, disabled or unfitting connector is a configuration error.
 */
export function selectConnectors(
  config: ConnectorConfig,
  requested: readonly string[],
  rule: SelectionRule,
): ConnectorEntry[] {
  const fits = (entry: ConnectorEntry) => rule.categories.includes(entry.definition.category)
  const allowed = (entry: ConnectorEntry) => !rule.kinds || rule.kinds.allowed.includes(entry.provider)
  const usable = config.entries.filter((entry) => entry.enabled && fits(entry) && allowed(entry))
  if (requested.length === 0 || requested.includes('all')) {
    if (usable.length === 0) {
      const kinds = rule.kinds ? ` of kind ${rule.kinds.allowed.join(', ')}` : ''
      throw new ConfigError(
        `${config.path}: no enabled connector${kinds} fits ${rule.command} (it sends to ${rule.categories.join(', ')} connectors).`,
        ['Add or enable a connector of that kind in the configuration.'],
      )
    }
    return usable
  }
  const chosen = new Map<string, ConnectorEntry>()
  const problems: string[] = []
  for (const name of requested) {
    const byName = config.entries.find((entry) => entry.name === name)
    const byKind = byName ? [] : config.entries.filter((entry) => entry.provider === name)
    const matches = byName ? [byName] : byKind
    if (rule.kinds && !byName && rule.kinds.known.includes(name) && !rule.kinds.allowed.includes(name)) {
      throw rule.kinds.outside(name, name)
    }
    if (matches.length === 0) {
      const names = config.entries.map((entry) => entry.name)
      const suggestion = closestMatch(name, names)
      problems.push(
        `unknown connector "${name}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; configured: ${names.join(', ') || 'none'}`,
      )
      continue
    }
    for (const entry of matches) {
      if (!entry.enabled) {
        if (byName) problems.push(`connector "${entry.name}" is disabled ("enabled": false)`)
        continue
      }
      if (fits(entry) && !allowed(entry)) throw rule.kinds!.outside(entry.name, entry.provider)
      if (!fits(entry)) {
        if (byName) {
          problems.push(
            `connector "${entry.name}" is ${/^[aeiou]/.test(entry.definition.category) ? 'an' : 'a'} ${entry.definition.category} connector; ${rule.command} sends only to ${rule.categories.join(', ')} connectors`,
          )
        }
        continue
      }
      chosen.set(entry.name, entry)
    }
    if (!byName && ![...chosen.values()].some((entry) => entry.provider === name)) {
      problems.push(`no enabled ${name} connector fits ${rule.command}`)
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`${config.path}: ${problems.join('; ')}.`, [
      `Known connectors that fit: ${usable.map((entry) => entry.name).join(', ') || 'none'} (or --provider all).`,
    ])
  }
  return [...chosen.values()]
}

/** Resolves and validates the selected connectors; every problem is reported at once. */
export function prepareConnectors(
  config: ConnectorConfig,
  entries: readonly ConnectorEntry[],
  env: NodeJS.ProcessEnv,
): PreparedConnector[] {
  const prepared: PreparedConnector[] = []
  const problems: ConfigError[] = []
  for (const entry of entries) {
    try {
      prepared.push(prepareOne(config, entry, env))
    } catch (error) {
      if (error instanceof ConfigError) problems.push(error)
      else throw error
    }
  }
  if (problems.length === 1) throw problems[0]
  if (problems.length > 1) {
    throw new ConfigError(problems.map((problem) => problem.message).join('\n'), [
      ...new Set(problems.flatMap((problem) => problem.actions)),
    ])
  }
  return prepared
}

function prepareOne(
  config: ConnectorConfig,
  entry: ConnectorEntry,
  env: NodeJS.ProcessEnv,
): PreparedConnector {
  const { definition } = entry
  const secrets = [...definition.secrets, ...(definition.urlIsSecret ? ['url'] : [])]
  const shape = { ...commonSettings, ...definition.settings }
  const resolution = resolveSettings(entry.raw, shape, {
    name: entry.name,
    configPath: config.path,
    env,
    secrets,
  })
  const warnings = [...resolution.warnings]
  const settings: ResolvedSettings = resolution.settings
  let configured: unknown
  try {
    configured = definition.configure(settings, {
      name: entry.name,
      warn: (message) => warnings.push(message),
    })
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError(`${config.path}: connector ${entry.name}: ${error.message}`, error.actions)
    }
    throw error
  }
  const apiKeyHeader = typeof settings.api_key_header === 'string' ? [settings.api_key_header] : []
  const compatSecrets = COMPATIBILITY_SECRETS.map((key) => settings[key]).filter(
    (value): value is string => typeof value === 'string',
  )
  return {
    name: entry.name,
    provider: entry.provider,
    category: definition.category,
    definition,
    config: configured,
    timeoutSeconds: typeof settings.timeout_seconds === 'number' ? settings.timeout_seconds : undefined,
    retries: typeof settings.retries === 'number' ? settings.retries : undefined,
    caFile: typeof settings.ca_file === 'string' ? settings.ca_file : undefined,
    secretValues: [...new Set([...resolution.secretValues, ...compatSecrets])],
    secretHeaders: apiKeyHeader,
    warnings,
  }
}

/** An optional text setting. */
export function textSetting(settings: ResolvedSettings, key: string): string | undefined {
  const value = settings[key]
  return typeof value === 'string' && value !== '' ? value : undefined
}
