import { z } from 'zod'

/**
 * Building blocks of connector settings (SPEC §3). Every string setting `X` may also be given
 * as `X_env` (an environment variable holding it) or `X_file` (a file holding it); the
 * variants are derived here so each connector only declares `X`.
 */

export const commonSettings = {
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
  ca_file: z.string().min(1).optional().describe('PEM bundle added to the system trust roots.'),
  title: z.string().min(1).optional().describe('Title used in chat messages and tickets.'),
} satisfies z.ZodRawShape

/** Authorization keys of the earlier tool's configs. */
export const compatibilityAuthSettings = {
  token: z.string().min(1).optional().describe('Sent as `Authorization: <authorization_scheme> <token>`.'),
  authorization_scheme: z.string().min(1).optional().describe('Scheme for `token` (default Bearer).'),
  authorization: z.string().min(1).optional().describe('The whole Authorization header value.'),
  api_key: z.string().min(1).optional().describe('Sent in the header named by `api_key_header`.'),
  api_key_header: z.string().min(1).optional().describe('Header for `api_key` (default x-api-key).'),
} satisfies z.ZodRawShape

export const COMPATIBILITY_SECRETS = ['token', 'authorization', 'api_key'] as const

/** Whether a setting's schema holds text, so that `_env` / `_file` variants make sense. */
export function isTextSetting(schema: z.ZodType): boolean {
  let inner: z.ZodType = schema
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault || inner instanceof z.ZodNullable) {
    inner = (inner as z.ZodOptional<z.ZodType>).unwrap() as z.ZodType
  }
  return inner instanceof z.ZodString || inner instanceof z.ZodEnum
}

/** The raw (on-disk) shape of a connector entry: the settings plus their `_env` and `_file` forms. */
export function rawEntryShape(settings: z.ZodRawShape): z.ZodRawShape {
  const shape: Record<string, z.ZodType> = {}
  for (const [key, schema] of Object.entries(settings)) {
    shape[key] = schema as z.ZodType
    if (isTextSetting(schema as z.ZodType) && key !== 'provider') {
      shape[`${key}_env`] = z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
        .optional()
        .describe(`Environment variable holding ${key}.`)
      shape[`${key}_file`] = z
        .string()
        .min(1)
        .optional()
        .describe(`File holding ${key} (trailing newline trimmed).`)
    }
  }
  return shape
}
