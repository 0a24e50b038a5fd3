import type { Exchanger, TokenResult, TokenSource } from '../../delivery/exchange.js'
import type { HttpResponse } from '../../delivery/http.js'
import { isRetryableStatus } from '../../delivery/retry.js'
import { excerpt, type Verdict } from '../../delivery/verdict.js'
import { jsonObject } from './json.js'

/**
 * OAuth 2.0 client-credentials tokens (RFC 6749 §4.4): a form-encoded POST to a token
 * endpoint, `access_token` in the JSON answer. Used for Microsoft Entra (Sentinel logs
 * ingestion, Intune via Graph) and Jamf Pro API clients. The client proves itself with its
 * secret or, for Entra, with a JWT assertion (a signed certificate assertion or a federated
 * token; see entra-credentials.ts). Tokens are cached for the run by the
 * session's TokenCache and refreshed once when a destination answers 401.
 */

/** The client proves itself with its secret, or with a JWT assertion (RFC 7523 §2.2). */
export type ClientCredentials = TokenEndpoint &
  (
    | { clientSecret: string; clientAssertion?: never }
    | { clientAssertion: ClientAssertionSource; clientSecret?: never }
  )

export interface TokenEndpoint {
  /** Names the identity provider in messages: "Entra", "Jamf Pro". */
  issuer: string
  tokenUrl: string
  clientId: string
  scope?: string
  /** Advice for an error answer the identity provider documents (its code and description). */
  advise?: (error: string | undefined, description: string) => string | undefined
}

/**
 * Obtains the assertion for one token request: a token read from a file, fetched from the CI
 * platform, or signed by cavra. `forAttempt` is called per attempt, so a signed assertion is
 * fresh (a new `jti`) when the token request is sent again. Every value it hands out must
 * already be registered with the exchanger as a secret.
 */
export type ClientAssertionSource = (
  exchanger: Exchanger,
) => Promise<{ ok: true; forAttempt: (attempt: number) => Promise<string> } | { ok: false; error: string }>

/** RFC 7523 §2.2: the client authenticates with a JWT bearer assertion. */
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

export function clientCredentialsToken(credentials: ClientCredentials): TokenSource {
  const article = /^[aeiou]/i.test(credentials.issuer) ? 'an' : 'a'
  const failure = (error: string): TokenResult => ({
    ok: false,
    error: `could not obtain ${article} ${credentials.issuer} access token: ${error}`,
  })
  return {
    key: `oauth:${credentials.tokenUrl}:${credentials.clientId}:${credentials.scope ?? ''}`,
    async fetch(exchanger: Exchanger): Promise<TokenResult> {
      const proof = await proofFields(credentials, exchanger)
      if (!proof.ok) return failure(proof.error)
      const result = await exchanger.exchange({
        step: 'token',
        build: async (attempt) => ({
          method: 'POST',
          url: credentials.tokenUrl,
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: formBody({
            grant_type: 'client_credentials',
            client_id: credentials.clientId,
            ...(await proof.forAttempt(attempt)),
            ...(credentials.scope ? { scope: credentials.scope } : {}),
          }),
        }),
        read: (response) => readTokenResponse(response, credentials.issuer, credentials.advise),
        dryRun: 'DRY-RUN-TOKEN',
      })
      return result.ok ? { ok: true, token: result.value } : failure(result.error)
    },
  }
}

/** The form fields that prove the client, per attempt. */
async function proofFields(
  credentials: ClientCredentials,
  exchanger: Exchanger,
): Promise<
  | { ok: true; forAttempt: (attempt: number) => Promise<Record<string, string>> }
  | { ok: false; error: string }
> {
  if (credentials.clientAssertion === undefined) {
    const fields = { client_secret: credentials.clientSecret }
    return { ok: true, forAttempt: async () => fields }
  }
  const source = await credentials.clientAssertion(exchanger)
  if (!source.ok) return source
  return {
    ok: true,
    forAttempt: async (attempt) => ({
      client_assertion_type: JWT_BEARER_ASSERTION,
      client_assertion: await source.forAttempt(attempt),
    }),
  }
}

/** application/x-www-form-urlencoded, as token endpoints require. */
export function formBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString()
}

/** What a token endpoint issued. */
export interface IssuedToken {
  accessToken: string
  refreshToken?: string
}

/**
 * A token answer: 200 with `access_token`. Errors follow RFC 6749 §5.2 (`error`,
 * `error_description`); Entra puts its AADSTS code in the description, e.g. AADSTS7000215
 * (invalid client secret) or AADSTS700016 (unknown application).
 */
export function readTokenResponse(
  response: HttpResponse,
  issuer: string,
  advise?: TokenEndpoint['advise'],
): Verdict<string> {
  const verdict = readTokenAnswer(response, issuer, advise)
  return verdict.kind === 'ok' ? { kind: 'ok', value: verdict.value.accessToken } : verdict
}

/** The token answer with its refresh token, if the server issued one (RFC 6749 §5.1). */
export function readTokenAnswer(
  response: HttpResponse,
  issuer: string,
  advise?: TokenEndpoint['advise'],
): Verdict<IssuedToken> {
  const body = jsonObject(response.body)
  if (response.status >= 200 && response.status < 300) {
    const token = body?.access_token ?? body?.token
    const refresh = body?.refresh_token
    if (typeof token === 'string' && token !== '')
      return {
        kind: 'ok',
        value: {
          accessToken: token,
          ...(typeof refresh === 'string' && refresh !== '' ? { refreshToken: refresh } : {}),
        },
      }
    return { kind: 'failed', reason: `${issuer} answered ${response.status} without an access_token` }
  }
  const code = typeof body?.error === 'string' ? body.error : undefined
  const description =
    typeof body?.error_description === 'string' ? firstLine(body.error_description) : undefined
  const reason = code ? `${code}${description ? `: ${description}` : ''}` : excerpt(response)
  if (isRetryableStatus(response.status)) return { kind: 'retryable', reason }
  const advice = advise?.(code, description ?? '')
  if (advice) return { kind: 'failed', reason: `${reason} (${advice})` }
  const hint =
    code === 'invalid_client' || response.status === 401
      ? ' (check the client id and secret)'
      : code === 'invalid_scope'
        ? ' (check the scope)'
        : ''
  return { kind: 'failed', reason: `${reason}${hint}` }
}

/** How a client asks for a token on its own behalf, or a user's (RFC 6749 §4.4, §4.3). */
export type Grant = { type: 'client_credentials' } | { type: 'password'; username: string; password: string }

export interface RenewableCredentials extends TokenEndpoint {
  clientSecret: string
  grant: Grant
}

/**
 * A token from a client-credentials or password grant that is renewed with its refresh token
 * (RFC 6749 §6) when the destination rejects it, and with a new grant when the refresh fails
 * (the refresh token expired or was revoked). The session's TokenCache keeps the token for
 * the run and asks for a new one once after a 401. Both tokens are registered as secrets as
 * soon as they are issued.
 */
export function renewableToken(credentials: RenewableCredentials): TokenSource {
  let refreshToken: string | undefined
  const { grant } = credentials
  const client = { client_id: credentials.clientId, client_secret: credentials.clientSecret }
  const grantFields: Record<string, string> =
    grant.type === 'password'
      ? { grant_type: 'password', ...client, username: grant.username, password: grant.password }
      : { grant_type: 'client_credentials', ...client }
  const article = /^[aeiou]/i.test(credentials.issuer) ? 'an' : 'a'
  const request = async (exchanger: Exchanger, step: string, fields: Record<string, string>) => {
    const result = await exchanger.exchange<IssuedToken>({
      step,
      build: () => ({
        method: 'POST',
        url: credentials.tokenUrl,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: formBody({ ...fields, ...(credentials.scope ? { scope: credentials.scope } : {}) }),
      }),
      read: (response) => readTokenAnswer(response, credentials.issuer, credentials.advise),
      dryRun: { accessToken: 'DRY-RUN-TOKEN' },
    })
    if (result.ok && result.value.refreshToken) exchanger.addSecret(result.value.refreshToken)
    return result
  }
  return {
    key: `oauth:${credentials.tokenUrl}:${credentials.clientId}:${grant.type === 'password' ? grant.username : ''}`,
    async fetch(exchanger: Exchanger): Promise<TokenResult> {
      const held = refreshToken
      refreshToken = undefined
      if (held) {
        const renewed = await request(exchanger, 'token refresh', {
          grant_type: 'refresh_token',
          ...client,
          refresh_token: held,
        })
        if (renewed.ok) {
          refreshToken = renewed.value.refreshToken ?? held
          return { ok: true, token: renewed.value.accessToken }
        }
      }
      const issued = await request(exchanger, 'token', grantFields)
      if (!issued.ok)
        return {
          ok: false,
          error: `could not obtain ${article} ${credentials.issuer} access token: ${issued.error}`,
        }
      refreshToken = issued.value.refreshToken
      return { ok: true, token: issued.value.accessToken }
    },
  }
}

function firstLine(text: string): string {
  return text.split(/\r?\n/)[0]!.trim()
}
