import type { TokenResult, TokenSource } from '../../delivery/exchange.js'
import type { HttpResponse } from '../../delivery/http.js'
import { isRetryableStatus } from '../../delivery/retry.js'
import type { Session } from '../../delivery/session.js'
import { excerpt, type Verdict } from '../../delivery/verdict.js'
import { jsonObject } from './json.js'

/**
 * OAuth 2.0 client-credentials tokens (RFC 6749 §4.4): a form-encoded POST to a token
 * endpoint, `access_token` in the JSON answer. Used for Microsoft Entra (Sentinel logs
 * ingestion, Intune via Graph) and Jamf Pro API clients. Tokens are cached for the run by the
 * session's TokenCache and refreshed once when a destination answers 401.
 */

export interface ClientCredentials {
  /** Names the identity provider in messages: "Entra", "Jamf Pro". */
  issuer: string
  tokenUrl: string
  clientId: string
  clientSecret: string
  scope?: string
}

export function clientCredentialsToken(credentials: ClientCredentials): TokenSource {
  return {
    key: `oauth:${credentials.tokenUrl}:${credentials.clientId}:${credentials.scope ?? ''}`,
    async fetch(session: Session): Promise<TokenResult> {
      const result = await session.exchange({
        step: 'token',
        build: () => ({
          method: 'POST',
          url: credentials.tokenUrl,
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: formBody({
            grant_type: 'client_credentials',
            client_id: credentials.clientId,
            client_secret: credentials.clientSecret,
            ...(credentials.scope ? { scope: credentials.scope } : {}),
          }),
        }),
        read: (response) => readTokenResponse(response, credentials.issuer),
        dryRun: 'DRY-RUN-TOKEN',
      })
      if (result.ok) return { ok: true, token: result.value }
      const article = /^[aeiou]/i.test(credentials.issuer) ? 'an' : 'a'
      return {
        ok: false,
        error: `could not obtain ${article} ${credentials.issuer} access token: ${result.error}`,
      }
    },
  }
}

/** application/x-www-form-urlencoded, as token endpoints require. */
export function formBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString()
}

/**
 * A token answer: 200 with `access_token`. Errors follow RFC 6749 §5.2 (`error`,
 * `error_description`); Entra puts its AADSTS code in the description, e.g. AADSTS7000215
 * (invalid client secret) or AADSTS700016 (unknown application).
 */
export function readTokenResponse(response: HttpResponse, issuer: string): Verdict<string> {
  const body = jsonObject(response.body)
  if (response.status >= 200 && response.status < 300) {
    const token = body?.access_token ?? body?.token
    if (typeof token === 'string' && token !== '') return { kind: 'ok', value: token }
    return { kind: 'failed', reason: `${issuer} answered ${response.status} without an access_token` }
  }
  const code = typeof body?.error === 'string' ? body.error : undefined
  const description =
    typeof body?.error_description === 'string' ? firstLine(body.error_description) : undefined
  const reason = code ? `${code}${description ? `: ${description}` : ''}` : excerpt(response)
  if (isRetryableStatus(response.status)) return { kind: 'retryable', reason }
  const hint =
    code === 'invalid_client' || response.status === 401
      ? ' (check the client id and secret)'
      : code === 'invalid_scope'
        ? ' (check the scope)'
        : ''
  return { kind: 'failed', reason: `${reason}${hint}` }
}

function firstLine(text: string): string {
  return text.split(/\r?\n/)[0]!.trim()
}
