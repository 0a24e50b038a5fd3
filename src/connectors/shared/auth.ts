import type { CommonSettings, CompatibilityAuth } from './settings.js'

/**
 * Authorization headers from the earlier tool's keys: `authorization` is the whole header;
 * `token` is sent as `<authorization_scheme> <token>` (default Bearer); `api_key` goes in the
 * header named by `api_key_header` (default x-api-key).
 */
export function compatibilityHeaders(settings: CompatibilityAuth): Record<string, string> {
  const headers: Record<string, string> = {}
  if (settings.authorization) headers.authorization = settings.authorization
  else if (settings.token)
    headers.authorization = `${settings.authorization_scheme ?? 'Bearer'} ${settings.token}`
  if (settings.api_key) headers[(settings.api_key_header ?? 'x-api-key').toLowerCase()] = settings.api_key
  return headers
}

/** `Basic base64(user:password)`; the blob is a derived credential the caller must register. */
export function basicAuthorization(user: string, password: string): { header: string; blob: string } {
  const blob = Buffer.from(`${user}:${password}`, 'utf8').toString('base64')
  return { header: `Basic ${blob}`, blob }
}

/** Extra headers from the config, lower-cased so later keys override predictably. */
export function configuredHeaders(settings: Pick<CommonSettings, 'headers'>): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(settings.headers ?? {})) headers[name.toLowerCase()] = value
  return headers
}
