import { randomUUID } from 'node:crypto'
import { Emulator, json, type RecordedRequest, type Reply } from './emulator.js'

/**
 * Microsoft Entra ID's v2.0 token endpoint for the client-credentials grant
 * (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow):
 * `POST /{tenant}/oauth2/v2.0/token`, form-encoded body only, and the error shapes Entra uses
 * (`invalid_client` + AADSTS7000215 for a wrong secret, AADSTS700016 for an unknown client,
 * AADSTS90002 for an unknown tenant, `invalid_scope` for a scope without `/.default`).
 * Issued tokens can be revoked to test the refresh-once-on-401 path of a resource server.
 */

export interface EntraApplication {
  tenantId: string
  clientId: string
  clientSecret: string
}

export class EntraEmulator extends Emulator {
  readonly issued: Array<{ token: string; scope: string; clientId: string; revoked: boolean }> = []

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
  }

  private token(request: RecordedRequest, tenant: string): Reply {
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
    if (form.get('client_secret') !== app.clientSecret) {
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
    this.issued.push({ token, scope, clientId: app.clientId, revoked: false })
    return json(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token })
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
