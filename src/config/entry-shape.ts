import { z } from 'zod'
import { isPathSetting } from '../connectors/shared/settings.js'

/**
 * The on-disk form of a connector entry. Every text setting `X` may instead be given as
 * `X_env` (an environment variable holding it) or `X_file` (a file holding it); a path
 * setting (`ca_file`) only as `X_env`, since its value already names a file.
 */

export type SettingForm = 'text' | 'path' | 'other'

export function settingForm(schema: z.ZodType): SettingForm {
  if (isPathSetting(schema)) return 'path'
  let inner: z.ZodType = schema
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault || inner instanceof z.ZodNullable) {
    inner = (inner as z.ZodOptional<z.ZodType>).unwrap() as z.ZodType
  }
  return inner instanceof z.ZodString || inner instanceof z.ZodEnum ? 'text' : 'other'
}

/** The keys that may stand in for `key` in the file, in the order they are looked up. */
export function variantsOf(key: string, schema: z.ZodType): string[] {
  if (key === 'provider') return [key]
  const form = settingForm(schema)
  if (form === 'text') return [key, `${key}_env`, `${key}_file`]
  if (form === 'path') return [key, `${key}_env`]
  return [key]
}

/** The strict on-disk shape: the settings plus their `_env` and `_file` forms. */
export function rawEntryShape(settings: z.ZodRawShape): z.ZodRawShape {
  const shape: Record<string, z.ZodType> = {}
  for (const [key, schema] of Object.entries(settings)) {
    shape[key] = schema as z.ZodType
    for (const variant of variantsOf(key, schema as z.ZodType).slice(1)) {
      shape[variant] = variant.endsWith('_env')
        ? z
            .string()
            .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
            .optional()
            .describe(`Environment variable holding ${key}.`)
        : z.string().min(1).optional().describe(`File holding ${key} (trailing newline trimmed).`)
    }
  }
  return shape
}
