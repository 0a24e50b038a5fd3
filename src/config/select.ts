import { readFileSync } from 'node:fs'
import type { Category } from '../common/category.js'
import { ConfigError } from '../common/errors.js'
import { secretUrlParts } from '../common/secret-url.js'
import { describeIssue } from '../common/zod-issues.js'
import {
  COMPATIBILITY_SECRETS,
  type CommonSettings,
  type CompatibilityAuth,
} from '../connectors/shared/settings.js'
import type { AnyConnector, PreparedConnector } from '../connectors/types.js'
import { closestMatch } from './did-you-mean.js'
import { type ConnectorConfig, type ConnectorEntry, settingsSchema, settingsShape } from './load.js'
import { describeSettings, type PlainSetting, settingsPlainlyFit } from './plain-check.js'
import { resolveSettings } from './resolve.js'

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
 * Picks the connectors a command uses: without --provider every enabled connector
 * that fits; `all` the same; otherwise the named connectors, or every connector of a named
 * provider kind. Naming an unknown, disabled or unfitting connector is a configuration error.
 */
export function selectConnectors(
  config: ConnectorConfig,
  requested: readonly string[],
  rule: SelectionRule,
): ConnectorEntry[] {
  const fits = (entry: ConnectorEntry) => rule.categories.includes(entry.category)
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
            `connector "${entry.name}" is ${/^[aeiou]/.test(entry.category) ? 'an' : 'a'} ${entry.category} connector; ${rule.command} sends only to ${rule.categories.join(', ')} connectors`,
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

/**
 * The resolved settings once they fit the provider's schema: as they are when they plainly fit
 * (`settingsPlainlyFit`, the schema's own rules), else as zod parses them, or the problem.
 */
function checkedSettings(
  definition: AnyConnector,
  resolved: Record<string, unknown>,
  described: readonly PlainSetting[],
  where: string,
): CommonSettings & CompatibilityAuth {
  if (settingsPlainlyFit(resolved, described)) return resolved as CommonSettings & CompatibilityAuth
  const parsed = settingsSchema(definition).safeParse(resolved)
  if (!parsed.success) {
    throw new ConfigError(
      `${where}: ${parsed.error.issues.map((issue) => describeIssue(issue, '')).join('; ')}.`,
    )
  }
  return parsed.data as CommonSettings & CompatibilityAuth
}

function prepareOne(
  config: ConnectorConfig,
  entry: ConnectorEntry,
  env: NodeJS.ProcessEnv,
): PreparedConnector {
  // Selected entries of the on-demand registry are loaded (loadSelected) before this.
  const { definition } = entry
  const secrets: string[] = [...definition.secrets, ...(definition.urlIsSecret ? ['url'] : [])]
  const where = `${config.path}: connector ${entry.name}`
  // The catalog's description of the settings when there is one: it needs no zod.
  const described = entry.info?.plainSettings ?? describeSettings(settingsShape(definition))
  const resolution = resolveSettings(entry.raw, described, {
    name: entry.name,
    configPath: config.path,
    env,
    secrets,
  })
  // Values from the environment or a file are checked against the same schema as literal ones.
  const settings = checkedSettings(definition, resolution.settings, described, where)
  const warnings = [...resolution.warnings]
  let configured: unknown
  try {
    configured = definition.configure(settings, {
      name: entry.name,
      warn: (message) => warnings.push(message),
      env,
    })
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${where}: ${error.message}`, error.actions)
    throw error
  }
  if (settings.ca_file) assertPemBundle(settings.ca_file, where)
  const compatSecrets = COMPATIBILITY_SECRETS.map((key) => settings[key]).filter(
    (value): value is string => typeof value === 'string',
  )
  const urlParts = Object.entries(settings)
    .filter(([key, value]) => (key === 'url' || key.endsWith('_url')) && typeof value === 'string')
    .flatMap(([key, value]) => secretUrlParts(value as string, key === 'url' && definition.urlIsSecret))
  return {
    name: entry.name,
    provider: entry.provider,
    category: definition.category,
    definition,
    config: configured,
    timeoutSeconds: settings.timeout_seconds,
    retries: settings.retries,
    caFile: settings.ca_file,
    secretValues: [...new Set([...resolution.secretValues, ...compatSecrets, ...urlParts])],
    secretHeaders: settings.api_key_header ? [settings.api_key_header] : [],
    warnings,
  }
}

/** A ca_file must hold PEM certificates; anything else would fail only at the first TLS handshake. */
function assertPemBundle(path: string, where: string): void {
  const text = readFileSync(path, 'utf8')
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`${where}: ca_file ${path} holds no PEM certificate.`, [
      'Point ca_file at a PEM bundle (-----BEGIN CERTIFICATE----- blocks) of the certificate authorities to trust.',
    ])
  }
}
