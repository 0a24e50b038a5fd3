import { createHash, randomUUID, X509Certificate } from 'node:crypto'
import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose'
import { Emulator, json, type RecordedRequest, type Reply } from './emulator.js'

/**
 * Microsoft Entra ID's v2.0 token endpoint for the client-credentials grant
 * (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow):
 * `POST /{tenant}/oauth2/v2.0/token`, form-encoded body only, and the error shapes Entra uses
 * (`invalid_client` + AADSTS7000215 for a wrong secret, AADSTS700016 for an unknown client,
 * AADSTS90002 for an unknown tenant, `invalid_scope` for a scope without `/.default`).
 * Issued tokens can be revoked to test the refresh-once-on-401 path of a resource server.
 *
 * A client may prove itself with a JWT instead of its secret (`client_assertion_type`
 * jwt-bearer, RFC 7523), checked as Entra does:
 * - a certificate assertion (`iss` = the client id): the `x5t#S256` (or SHA-1 `x5t`) header
 *   must name a certificate registered on the app (AADSTS700027 otherwise), the PS256 or RS256
 *   signature must verify with that certificate's key (AADSTS700027), `sub` must be the client
 *   id (AADSTS700021), `aud` the token endpoint, `jti` new (a replay is refused) and the time
 *   within `nbf`..`exp` (AADSTS700024);
 * - a federated token (any other issuer,
 *   https://learn.microsoft.com/entra/workload-id/workload-identity-federation): a federated
 *   credential of the app must match its `iss` (AADSTS700211), `sub` (AADSTS700213) and `aud`
 *   (AADSTS700212), or AADSTS70021 when the app has none; its signature is verified against
 *   the keys the issuer publishes (OpenID discovery, then `jwks_uri`), and its lifetime.
 */

export interface EntraApplication {
  tenantId: string
  clientId: string
  clientSecret?: string
  /** PEM certificates uploaded to the app ("Certificates & secrets"). */
  certificates?: string[]
  federatedCredentials?: FederatedCredential[]
}

/** A federated identity credential on an app registration. */
export interface FederatedCredential {
  issuer: string
  subject: string
  /** Default api://AzureADTokenExchange, as the portal sets it. */
  audience?: string
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const SKEW_SECONDS = 300

export class EntraEmulator extends Emulator {
  readonly issued: Array<{
    token: string
    scope: string
    clientId: string
    revoked: boolean
    /** How the client proved itself. */
    credential: 'secret' | 'certificate' | 'federated'
  }> = []
  /** The `jti` of every certificate assertion accepted, to refuse a replay. */
  private readonly seenAssertions = new Set<string>()

  constructor(readonly apps: EntraApplication[]) {
    super('entra')
    this.route('POST', /^\/(?<tenant>[^/]+)\/oauth2\/v2\.0\/token$/, (request, params) =>
      this.token(request, params.tenant!),
    )
  }

  /** Forgets every token issued, as well as requests and faults. */
  override reset(): void {
    super.reset()
    this.issued.length = 0
    this.seenAssertions.clear()
  }

  private async token(request: RecordedRequest, tenant: string): Promise<Reply> {
    if (!(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return entraError(
        400,
        'invalid_request',
        'AADSTS900144: The request body must contain the following parameter: grant_type.',
      )
    }
    const form = new URLSearchParams(request.text)
    if (!this.apps.some((app) => app.tenantId === tenant)) {
      return entraError(400, 'invalid_request', `AADSTS90002: Tenant '${tenant}' not found.`)
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return entraError(
        400,
        'unsupported_grant_type',
        'AADSTS70003: The app requested an unsupported grant type.',
      )
    }
    const app = this.apps.find(
      (candidate) => candidate.tenantId === tenant && candidate.clientId === form.get('client_id'),
    )
    if (!app) {
      return entraError(
        400,
        'unauthorized_client',
        `AADSTS700016: Application with identifier '${form.get('client_id')}' was not found in the directory.`,
      )
    }
    let credential: 'secret' | 'certificate' | 'federated' = 'secret'
    if (form.has('client_assertion')) {
      const refused = await this.checkAssertion(form, app, tenant)
      if (typeof refused !== 'string') return refused
      credential = refused
    } else if (app.clientSecret === undefined || form.get('client_secret') !== app.clientSecret) {
      return entraError(
        401,
        'invalid_client',
        'AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.',
      )
    }
    const scope = form.get('scope') ?? ''
    if (!scope.endsWith('/.default')) {
      return entraError(
        400,
        'invalid_scope',
        `AADSTS1002012: The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`,
      )
    }
    const token = `eyJ0eXAiOiJKV1QifQ.${Buffer.from(randomUUID()).toString('base64url')}.sig`
    this.issued.push({ token, scope, clientId: app.clientId, revoked: false, credential })
    return json(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token })
  }

  /** The endpoint a certificate assertion must name as its audience. */
  tokenEndpoint(tenant: string): string {
    return `${this.url}/${tenant}/oauth2/v2.0/token`
  }

  /** Which kind of assertion was accepted, or Entra's refusal. */
  private async checkAssertion(
    form: URLSearchParams,
    app: EntraApplication,
    tenant: string,
  ): Promise<'certificate' | 'federated' | Reply> {
    if (form.get('client_assertion_type') !== JWT_BEARER) {
      return entraError(
        400,
        'invalid_request',
        `AADSTS700020: Client assertion type '${form.get('client_assertion_type')}' is not supported.`,
      )
    }
    const assertion = form.get('client_assertion') ?? ''
    let claims: ReturnType<typeof decodeJwt>
    let header: ReturnType<typeof decodeProtectedHeader>
    try {
      claims = decodeJwt(assertion)
      header = decodeProtectedHeader(assertion)
    } catch {
      return entraError(401, 'invalid_client', 'AADSTS50027: JWT token is invalid or malformed.')
    }
    if (claims.iss === app.clientId)
      return this.checkCertificateAssertion(assertion, claims, header, app, tenant)
    return this.checkFederatedToken(assertion, claims, app)
  }

  private async checkCertificateAssertion(
    assertion: string,
    claims: ReturnType<typeof decodeJwt>,
    header: ReturnType<typeof decodeProtectedHeader>,
    app: EntraApplication,
    tenant: string,
  ): Promise<'certificate' | Reply> {
    const sha256 = header['x5t#S256']
    const sha1 = header.x5t
    const certificate = (app.certificates ?? [])
      .map((pem) => new X509Certificate(pem))
      .find(
        (cert) =>
          createHash('sha256').update(cert.raw).digest('base64url') === sha256 ||
          createHash('sha1').update(cert.raw).digest('base64url') === sha1,
      )
    if (!certificate) {
      return entraError(
        401,
        'invalid_client',
        `AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${String(sha256 ?? sha1 ?? '')}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${app.clientId}'.]`,
      )
    }
    try {
      await compactVerify(assertion, certificate.publicKey, { algorithms: ['PS256', 'RS256'] })
    } catch {
      return entraError(401, 'invalid_client', 'AADSTS700027: Client assertion failed signature validation.')
    }
    if (claims.sub !== app.clientId) {
      return entraError(
        401,
        'invalid_client',
        "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter.",
      )
    }
    const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
    if (!audience.includes(this.tokenEndpoint(tenant))) {
      return entraError(
        401,
        'invalid_client',
        `AADSTS50027: JWT token is invalid or malformed. [Reason - The audience '${String(claims.aud)}' is not this tenant's token endpoint.]`,
      )
    }
    const outOfTime = this.outOfTime(claims)
    if (outOfTime) return outOfTime
    if (typeof claims.jti !== 'string' || this.seenAssertions.has(claims.jti)) {
      return entraError(
        401,
        'invalid_client',
        'AADSTS50027: JWT token is invalid or malformed. [Reason - The assertion has no jti or its jti was already used.]',
      )
    }
    this.seenAssertions.add(claims.jti)
    return 'certificate'
  }

  private outOfTime(claims: ReturnType<typeof decodeJwt>): Reply | undefined {
    const now = Math.floor(Date.now() / 1000)
    const { nbf, exp } = claims
    if (
      typeof exp !== 'number' ||
      exp + SKEW_SECONDS < now ||
      (typeof nbf === 'number' && nbf - SKEW_SECONDS > now)
    ) {
      return entraError(
        401,
        'invalid_client',
        `AADSTS700024: Client assertion is not within its valid time range. Current time: ${new Date(now * 1000).toISOString()}, assertion valid from ${typeof nbf === 'number' ? new Date(nbf * 1000).toISOString() : '?'}, expiry time of assertion ${typeof exp === 'number' ? new Date(exp * 1000).toISOString() : '?'}.`,
      )
    }
    return undefined
  }

  private async checkFederatedToken(
    token: string,
    claims: ReturnType<typeof decodeJwt>,
    app: EntraApplication,
  ): Promise<'federated' | Reply> {
    const credentials = app.federatedCredentials ?? []
    const aud = String(Array.isArray(claims.aud) ? claims.aud[0] : claims.aud)
    if (credentials.length === 0) {
      return entraError(
        400,
        'invalid_request',
        `AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '${claims.iss}'. Assertion Subject: '${claims.sub}'. Assertion Audience: '${aud}'.`,
      )
    }
    const byIssuer = credentials.filter((candidate) => candidate.issuer === claims.iss)
    if (byIssuer.length === 0) {
      return entraError(
        400,
        'invalid_request',
        `AADSTS700211: No matching federated identity record found for presented assertion issuer '${claims.iss}'. Please note that the matching is done using a case-sensitive comparison.`,
      )
    }
    const bySubject = byIssuer.filter((candidate) => candidate.subject === claims.sub)
    if (bySubject.length === 0) {
      return entraError(
        400,
        'invalid_request',
        `AADSTS700213: No matching federated identity record found for presented assertion subject '${claims.sub}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.`,
      )
    }
    if (!bySubject.some((candidate) => (candidate.audience ?? 'api://AzureADTokenExchange') === aud)) {
      return entraError(
        400,
        'invalid_request',
        `AADSTS700212: No matching federated identity record found for presented assertion audience '${aud}'.`,
      )
    }
    try {
      const discovery = (await (await fetch(`${claims.iss}/.well-known/openid-configuration`)).json()) as {
        jwks_uri: string
      }
      const jwks = (await (await fetch(discovery.jwks_uri)).json()) as Parameters<typeof createLocalJWKSet>[0]
      await jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: String(claims.iss),
        clockTolerance: SKEW_SECONDS,
      })
    } catch (error) {
      if (error instanceof errors.JWTExpired || error instanceof errors.JWTClaimValidationFailed)
        return (
          this.outOfTime(claims) ??
          entraError(401, 'invalid_client', 'AADSTS50027: JWT token is invalid or malformed.')
        )
      return entraError(
        401,
        'invalid_client',
        `AADSTS700027: Client assertion failed signature validation. [Reason - The key was not found in the keys of issuer '${claims.iss}'.]`,
      )
    }
    return 'federated'
  }

  /** Whether `authorization` carries a live token issued for `scope`. */
  accepts(authorization: string | undefined, scope: string): boolean {
    const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1]
    return this.issued.some((entry) => entry.token === token && !entry.revoked && entry.scope === scope)
  }

  /** Revokes every token issued so far (the resource server will answer 401). */
  revokeAll(): void {
    for (const entry of this.issued) entry.revoked = true
  }

  tokenRequests(): RecordedRequest[] {
    return this.requests.filter((request) => request.path.endsWith('/oauth2/v2.0/token'))
  }
}

function entraError(status: number, error: string, description: string): Reply {
  return json(status, {
    error,
    error_description: `${description}\r\nTrace ID: 0b0c1e8a-0000-0000-0000-000000000000\r\nCorrelation ID: 4f1c7e2a-0000-0000-0000-000000000000\r\nTimestamp: 2026-11-28 12:00:00Z`,
    error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)],
    timestamp: '2026-11-28 12:00:00Z',
  })
}
