import { readFileSync } from 'node:fs'
import { isAbsolute, resolve as resolvePath } from 'node:path'
import type { z } from 'zod'
import { ConfigError } from '../common/errors.js'
import { isTextSetting } from './settings.js'

/** A connector entry after `X_env` / `X_file` were replaced by their values. */
export type ResolvedSettings = Record<string, unknown>

export interface ResolveContext {
  /** The connector name, for messages. */
  name: string
  /** The config file, for messages and relative `_file` paths. */
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
 * unset variable of a connector the command does not use never stops it (SPEC §3).
 */
export function resolveSettings(
  raw: Record<string, unknown>,
  shape: z.ZodRawShape,
  context: ResolveContext,
): Resolution {
  const settings: ResolvedSettings = {}
  const secretValues: string[] = []
  const warnings: string[] = []
  const problems: string[] = []
  for (const [key, value] of Object.entries(raw)) {
    if (!key.endsWith('_env') && !key.endsWith('_file')) settings[key] = value
  }
  for (const [key, schema] of Object.entries(shape)) {
    if (!isTextSetting(schema as z.ZodType) || key === 'provider') continue
    const given = [key, `${key}_env`, `${key}_file`].filter((variant) => raw[variant] !== undefined)
    if (given.length > 1) {
      problems.push(`${given.join(' and ')} are both set; keep one of them`)
      continue
    }
    const envName = raw[`${key}_env`]
    const file = raw[`${key}_file`]
    if (typeof envName === 'string') {
      const value = context.env[envName]
      if (value === undefined || value === '') {
        problems.push(
          `${key}_env names ${envName}, which is not set; export ${envName} or deselect this connector`,
        )
        continue
      }
      settings[key] = value
    } else if (typeof file === 'string') {
      const path = isAbsolute(file) ? file : resolvePath(context.configPath, '..', file)
      try {
        settings[key] = readFileSync(path, 'utf8').replace(/\r?\n$/, '')
      } catch (error) {
        problems.push(
          `${key}_file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? error})`,
        )
        continue
      }
    } else if (raw[key] !== undefined && context.secrets.includes(key)) {
      warnings.push(
        `connector ${context.name}: ${key} is written in ${context.configPath}; use ${key}_env or ${key}_file so the secret stays out of the file.`,
      )
    }
    if (context.secrets.includes(key) && typeof settings[key] === 'string')
      secretValues.push(settings[key] as string)
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
