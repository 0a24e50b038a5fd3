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

/**
 * The keys that may stand in for `key` in the file, in the order they are looked up. A form
 * that is itself a setting of the shape belongs to that setting: `federated_token_file` is a
 * path of its own, not the file form of `federated_token`.
 */
export function variantsOf(key: string, schema: z.ZodType, shape: z.ZodRawShape = {}): string[] {
  return variantsOfForm(key, settingForm(schema), new Set(Object.keys(shape)))
}

/** `variantsOf` for a setting known by its form, among the settings `keys`. */
export function variantsOfForm(key: string, form: SettingForm, keys: ReadonlySet<string>): string[] {
  if (key === 'provider') return [key]
  const variants =
    form === 'text' ? [key, `${key}_env`, `${key}_file`] : form === 'path' ? [key, `${key}_env`] : [key]
  return variants.filter((variant) => variant === key || !keys.has(variant))
}

/** The name of an environment variable, as the `_env` form of a setting must hold. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** The strict on-disk shape: the settings plus their `_env` and `_file` forms. */
export function rawEntryShape(settings: z.ZodRawShape): z.ZodRawShape {
  const shape: Record<string, z.ZodType> = {}
  for (const [key, schema] of Object.entries(settings)) {
    shape[key] = schema as z.ZodType
    for (const variant of variantsOf(key, schema as z.ZodType, settings).slice(1)) {
      shape[variant] = variant.endsWith('_env')
        ? z
            .string()
            .regex(ENV_NAME, 'must be an environment variable name')
            .optional()
            .describe(`Environment variable holding ${key}.`)
        : z.string().min(1).optional().describe(`File holding ${key} (trailing newline trimmed).`)
    }
  }
  return shape
}
