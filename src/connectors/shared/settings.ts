import { z } from 'zod'
import { once } from '../../common/once.js'

/**
 * Building blocks of connector settings. Every connector gets the common keys; the earlier
 * tool's authorization keys are shared by the connectors that accept them. Whether a key may
 * also be given as `X_env` / `X_file` is decided by the configuration loader from the schema.
 *
 * Every shape is built on first use (`once`), not when its module loads: a delivery whose
 * configuration plainly fits never builds one, nor loads zod (src/config/plain-check.ts).
 */

/**
 * A setting whose value is a path by nature (`ca_file`, a certificate, a token file): it is
 * not read into the setting like `X_file`, only checked to exist when the config is loaded;
 * `X_env` may name a variable holding the path.
 */
export function pathSetting(description: string) {
  const schema = z.string().min(1).optional().describe(description)
  PATH_SETTINGS.add(schema)
  return schema
}

const PATH_SETTINGS = new WeakSet<z.ZodType>()

export function isPathSetting(schema: z.ZodType): boolean {
  return PATH_SETTINGS.has(schema)
}

export const commonSettings = once(() => ({
  provider: z.string().min(1).optional().describe('Provider kind; defaults to the connector name.'),
  enabled: z.boolean().optional().describe('Set false to keep the entry but never select it (default true).'),
  url: z.string().min(1).optional().describe('Endpoint URL.'),
  timeout_seconds: z
    .number()
    .positive()
    .max(600)
    .optional()
    .describe('Per-attempt timeout for this connector.'),
  retries: z
    .number()
    .int()
    .min(0)
    .max(10)
    .optional()
    .describe('Extra attempts after the first for this connector.'),
  headers: z.record(z.string(), z.string()).optional().describe('Extra request headers.'),
  ca_file: pathSetting('PEM bundle of certificate authorities added to the system trust roots.'),
  title: z.string().min(1).optional().describe('Title used in chat messages and tickets.'),
}))

/** Authorization keys of the earlier tool's configs. */
export const compatibilityAuthSettings = once(() => ({
  token: z.string().min(1).optional().describe('Sent as `Authorization: <authorization_scheme> <token>`.'),
  authorization_scheme: z.string().min(1).optional().describe('Scheme for `token` (default Bearer).'),
  authorization: z.string().min(1).optional().describe('The whole Authorization header value.'),
  api_key: z.string().min(1).optional().describe('Sent in the header named by `api_key_header`.'),
  api_key_header: z.string().min(1).optional().describe('Header for `api_key` (default x-api-key).'),
}))

export type CommonShape = ReturnType<typeof commonSettings>
export type CommonSettings = z.infer<z.ZodObject<CommonShape>>
export type CompatibilityAuth = z.infer<z.ZodObject<ReturnType<typeof compatibilityAuthSettings>>>

/** Keys whose values are secrets in every connector that has them. */
export const COMPATIBILITY_SECRETS = ['token', 'authorization', 'api_key'] as const
