import type { ResolvedSettings } from '../../config/resolve.js'
import { textSetting } from '../../config/select.js'

/**
 * Authorization headers from the earlier tool's keys (SPEC §3): `authorization` is the whole
 * header; `token` is sent as `<authorization_scheme> <token>` (default Bearer); `api_key` goes
 * in the header named by `api_key_header` (default x-api-key).
 */
export function compatibilityHeaders(settings: ResolvedSettings): Record<string, string> {
  const headers: Record<string, string> = {}
  const authorization = textSetting(settings, 'authorization')
  const token = textSetting(settings, 'token')
  if (authorization) headers.authorization = authorization
  else if (token)
    headers.authorization = `${textSetting(settings, 'authorization_scheme') ?? 'Bearer'} ${token}`
  const apiKey = textSetting(settings, 'api_key')
  if (apiKey) headers[(textSetting(settings, 'api_key_header') ?? 'x-api-key').toLowerCase()] = apiKey
  return headers
}

/** `Basic base64(user:password)`; the blob is a derived credential the caller must register. */
export function basicAuthorization(user: string, password: string): { header: string; blob: string } {
  const blob = Buffer.from(`${user}:${password}`, 'utf8').toString('base64')
  return { header: `Basic ${blob}`, blob }
}

/** Extra headers from the config, lower-cased so later keys override predictably. */
export function configuredHeaders(settings: ResolvedSettings): Record<string, string> {
  const headers: Record<string, string> = {}
  const configured = settings.headers
  if (configured && typeof configured === 'object') {
    for (const [name, value] of Object.entries(configured as Record<string, unknown>)) {
      if (typeof value === 'string') headers[name.toLowerCase()] = value
    }
  }
  return headers
}
