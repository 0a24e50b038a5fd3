import { accessSync, constants, readFileSync, statSync } from 'node:fs'
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path'
import { ConfigError } from '../common/errors.js'
import { type SettingForm, variantsOfForm } from './entry-shape.js'

/** A connector entry after `X_env` / `X_file` were replaced by their values. */
export type ResolvedSettings = Record<string, unknown>

export interface ResolveContext {
  /** The connector name, for messages. */
  name: string
  /** The config file, for messages and relative paths. */
  configPath: string
  env: NodeJS.ProcessEnv
  secrets: readonly string[]
}

export interface Resolution {
  settings: ResolvedSettings
  /** Resolved values of secret settings, for the redactor. */
  secretValues: string[]
  warnings: string[]
}

/**
 * Resolves one selected connector's settings. Only selected connectors are resolved, so an
 * unset variable of a connector the command does not use never stops it. Relative paths
 * (`X_file`, `ca_file`) are read from the config file's folder.
 */
export function resolveSettings(
  raw: Record<string, unknown>,
  forms: readonly { key: string; form: SettingForm }[],
  context: ResolveContext,
): Resolution {
  const keys = new Set(forms.map(({ key }) => key))
  const settings: ResolvedSettings = {}
  const secretValues: string[] = []
  const warnings: string[] = []
  const problems: string[] = []
  for (const { key, form } of forms) {
    const variants = variantsOfForm(key, form, keys)
    const given = variants.filter((variant) => raw[variant] !== undefined)
    if (given.length > 1) {
      problems.push(`${given.join(' and ')} are both set; keep one of them`)
      continue
    }
    const variant = given[0]
    if (variant === undefined) continue
    const value = resolveVariant(key, variant, raw[variant], context, problems)
    if (value === undefined) continue
    if (form === 'path') {
      const path = checkedPath(key, String(value), context.configPath, problems)
      if (path !== undefined) settings[key] = path
      continue
    }
    settings[key] = value
    if (variant === key && context.secrets.includes(key)) {
      warnings.push(
        `connector ${context.name}: ${key} is written in ${context.configPath}; use ${key}_env or ${key}_file so the secret stays out of the file.`,
      )
    }
    if (context.secrets.includes(key) && typeof value === 'string') secretValues.push(value)
  }
  if (problems.length > 0) {
    throw new ConfigError(
      `${context.configPath}: connector ${context.name}: ${problems.join('; ')}.`,
      problems.some((p) => p.includes('not set'))
        ? [
            'Set the variable in the environment (in GitHub Actions: env: or secrets:), or choose other connectors with --provider.',
          ]
        : [],
    )
  }
  return { settings, secretValues, warnings }
}

function resolveVariant(
  key: string,
  variant: string,
  value: unknown,
  context: ResolveContext,
  problems: string[],
): unknown {
  if (variant === key) return value
  if (variant === `${key}_env`) {
    const fromEnv = context.env[String(value)]
    if (fromEnv === undefined || fromEnv === '') {
      problems.push(`${variant} names ${value}, which is not set; export ${value} or deselect this connector`)
      return undefined
    }
    return fromEnv
  }
  const path = relativeToConfig(String(value), context.configPath)
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '')
  } catch (error) {
    problems.push(`${variant} ${value} cannot be read (${(error as NodeJS.ErrnoException).code ?? error})`)
    return undefined
  }
}

/** A path setting must name a readable regular file. */
function checkedPath(key: string, value: string, configPath: string, problems: string[]): string | undefined {
  const path = relativeToConfig(value, configPath)
  try {
    if (!statSync(path).isFile()) {
      problems.push(`${key} ${value} is not a regular file`)
      return undefined
    }
    accessSync(path, constants.R_OK)
    return path
  } catch (error) {
    problems.push(`${key} ${value} cannot be read (${(error as NodeJS.ErrnoException).code ?? error})`)
    return undefined
  }
}

function relativeToConfig(path: string, configPath: string): string {
  return isAbsolute(path) ? path : resolvePath(dirname(configPath), path)
}
