import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto'
import { exportJWK, SignJWT } from 'jose'
import { Emulator, json, type RecordedRequest, type Reply } from './emulator.js'

/**
 * An OpenID Connect issuer that plays GitHub Actions' token service
 * (https://docs.github.com/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect):
 * - the step's token request: `GET <ACTIONS_ID_TOKEN_REQUEST_URL>&audience=<aud>` with
 *   `Authorization: Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>`, answered `{"count":…,"value":"<jwt>"}`;
 *   a missing or wrong request token is 401; without `audience` the token's `aud` is the
 *   repository owner's URL, as GitHub does;
 * - discovery: `/.well-known/openid-configuration` and the JWKS at its `jwks_uri`, which is how
 *   a relying party (Entra) finds the key to verify the token with.
 * Tokens are RS256, signed with the issuer's own key (`kid` in the header), with GitHub's
 * claims: `iss` (this server), `sub` (`repo:<owner>/<repo>:ref:<ref>`), `aud`, `jti`, `iat`,
 * `nbf`, `exp`, `repository`, `ref`. `mint` issues a token directly, as a Kubernetes API server
 * projects one into a file.
 */

export interface OidcIssuerOptions {
  /** The value of ACTIONS_ID_TOKEN_REQUEST_TOKEN this runner hands out. */
  requestToken: string
  repository?: string
  ref?: string
  /** Lifetime of issued tokens (GitHub's are short-lived: minutes). */
  lifetimeSeconds?: number
}

export interface MintOptions {
  audience: string
  subject?: string
  /** Seconds from now; negative issues an expired token. */
  expiresIn?: number
  /** Sign with another key than the one published (a forged token). */
  forged?: boolean
}

export class GitHubOidcIssuer extends Emulator {
  private readonly key: KeyObject
  private readonly foreignKey: KeyObject
  private readonly kid = randomUUID()
  readonly issuedTokens: string[] = []

  constructor(readonly options: OidcIssuerOptions) {
    super('github-oidc')
    const pair = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    this.key = pair()
    this.foreignKey = pair()
    this.route('GET', '/.well-known/openid-configuration', () => this.discovery())
    this.route('GET', '/.well-known/jwks', () => this.jwks())
    this.route('GET', '/_apis/distributedtask/idtoken', (request) => this.requestIdToken(request))
  }

  /** The subject GitHub puts in a token of this repository and ref. */
  get subject(): string {
    return `repo:${this.repository}:ref:${this.options.ref ?? 'refs/heads/main'}`
  }

  private get repository(): string {
    return this.options.repository ?? 'acme/payments'
  }

  /** What the runner sets as ACTIONS_ID_TOKEN_REQUEST_URL (it already carries a query). */
  get requestUrl(): string {
    return `${this.url}/_apis/distributedtask/idtoken?api-version=2.0`
  }

  async mint(options: MintOptions): Promise<string> {
    const now = Math.floor(Date.now() / 1000)
    const lifetime = options.expiresIn ?? this.options.lifetimeSeconds ?? 300
    const token = await new SignJWT({
      repository: this.repository,
      ref: this.options.ref ?? 'refs/heads/main',
      runner_environment: 'github-hosted',
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.kid })
      .setIssuer(this.url)
      .setSubject(options.subject ?? this.subject)
      .setAudience(options.audience)
      .setJti(randomUUID())
      .setIssuedAt(now - (lifetime < 0 ? 600 : 0))
      .setNotBefore(now - (lifetime < 0 ? 600 : 5))
      .setExpirationTime(now + lifetime)
      .sign(options.forged ? this.foreignKey : this.key)
    this.issuedTokens.push(token)
    return token
  }

  private discovery(): Reply {
    return json(200, {
      issuer: this.url,
      jwks_uri: `${this.url}/.well-known/jwks`,
      subject_types_supported: ['public', 'pairwise'],
      response_types_supported: ['id_token'],
      claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref', 'repository'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid'],
    })
  }

  private async jwks(): Promise<Reply> {
    const jwk = await exportJWK(this.key)
    return json(200, {
      keys: [{ kty: jwk.kty, n: jwk.n, e: jwk.e, kid: this.kid, alg: 'RS256', use: 'sig' }],
    })
  }

  private async requestIdToken(request: RecordedRequest): Promise<Reply> {
    const token = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '')?.[1]
    if (token !== this.options.requestToken) {
      return json(401, { message: 'Unauthorized: the request token is missing, invalid or expired.' })
    }
    const audience = request.query.get('audience') ?? `https://github.com/${this.repository.split('/')[0]}`
    return json(200, { count: 1, value: await this.mint({ audience }) })
  }
}
