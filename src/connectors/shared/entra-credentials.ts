import { createHash, createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { ConfigError } from '../../common/errors.js'
import { once } from '../../common/once.js'
import { stripControl } from '../../common/text.js'
import type { Exchanger, TokenSource } from '../../delivery/exchange.js'
import type { HttpResponse } from '../../delivery/http.js'
import { isRetryableStatus } from '../../delivery/retry.js'
import { excerpt, type Verdict } from '../../delivery/verdict.js'
import type { ConfigureContext } from '../types.js'
import { jsonObject } from './json.js'
import { type ClientAssertionSource, clientCredentialsToken } from './oauth.js'
import { pathSetting } from './settings.js'

/**
 * How a connector signs in to Microsoft Entra (Sentinel logs ingestion, Intune via Graph):
 * exactly one credential form per entry.
 * - `client_secret`: the app registration's secret.
 * - `client_certificate_file`: a PEM file with the app's certificate and private key; cavra
 *   signs a client assertion (client-assertion.ts) for every token request.
 * - `federated_token_file`: a JWT another identity provider wrote to a file (Kubernetes
 *   workload identity projects one and rotates it, so it is read again for every request).
 * - `federated_token: github-actions`: the workflow's OIDC token, asked of GitHub at run time.
 * The last three are sent as `client_assertion` (RFC 7523 §2.2;
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#second-case-access-token-request-with-a-certificate
 * and https://learn.microsoft.com/entra/workload-id/workload-identity-federation). Every
 * assertion, federated token and request token is registered as a secret before it is sent.
 * The token logic lives here, beside oauth.ts, so every caller of a connector's token source
 * (deliveries, `integration check`) gets every form.
 */

/** The audience Entra expects in a federated token (workload identity federation). */
export const AZURE_TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange'

export const entraCredentialSettings = once(() => ({
  client_certificate_file: pathSetting(
    "PEM file holding the app registration's certificate and its private key (a certificate credential: no secret is sent).",
  ),
  client_certificate_password: z
    .string()
    .min(1)
    .optional()
    .describe('Passphrase of an encrypted PKCS#8 private key in client_certificate_file.'),
  federated_token_file: pathSetting(
    'File holding a JWT issued elsewhere (Kubernetes workload identity: AZURE_FEDERATED_TOKEN_FILE), read again at every token request.',
  ),
  federated_token: z
    .enum(['github-actions'])
    .optional()
    .describe(
      "github-actions: the workflow's OIDC token, fetched at run time (the job needs permissions: id-token: write).",
    ),
  federated_audience: z
    .string()
    .min(1)
    .optional()
    .describe(`Audience asked for the GitHub Actions OIDC token [${AZURE_TOKEN_EXCHANGE_AUDIENCE}].`),
}))

/** The keys of `entraCredentialSettings`, without building it. */
export const ENTRA_CREDENTIAL_KEYS = [
  'client_certificate_file',
  'client_certificate_password',
  'federated_token_file',
  'federated_token',
  'federated_audience',
] as const

export const ENTRA_CREDENTIAL_SECRETS = ['client_secret', 'client_certificate_password'] as const

export interface EntraCredentialSettings {
  client_secret?: string
  client_certificate_file?: string
  client_certificate_password?: string
  federated_token_file?: string
  federated_token?: 'github-actions'
  federated_audience?: string
}

/** A certificate credential read from its PEM file, ready to sign. */
export interface ClientCertificate {
  path: string
  privateKey: KeyObject
  /** The key as PEM text: a secret, registered for scrubbing before anything is sent. */
  privateKeyPem: string
  /** base64url SHA-256 of the certificate's DER: the assertion's `x5t#S256` header. */
  thumbprintSha256: string
  /** SHA-1 in upper-case hex, the thumbprint the Entra admin center lists. */
  thumbprintSha1: string
}

export type EntraCredential =
  | { form: 'client_secret'; clientSecret: string }
  | { form: 'client_certificate_file'; certificate: ClientCertificate; passphrase?: string }
  | { form: 'federated_token_file'; path: string }
  | { form: 'github-actions'; requestUrl: string; requestToken: string; audience: string }

const FORM_KEYS = [
  'client_secret',
  'client_certificate_file',
  'federated_token_file',
  'federated_token',
] as const

/** The Entra credential keys an entry sets. */
export function entraFormsGiven(settings: EntraCredentialSettings): string[] {
  return FORM_KEYS.filter((key) => settings[key] !== undefined)
}

/** The refusal of an entry that sets two credential forms, naming them. */
export function twoFormsError(given: readonly string[]): ConfigError {
  return new ConfigError(
    `${given.join(' and ')} are each a credential and an entry takes exactly one; keep one of them.`,
  )
}

/**
 * The entry's one Entra credential form, checked: a certificate file that holds a certificate
 * and its key, a GitHub Actions step that can ask for an OIDC token. `alternative` names a
 * form the connector accepts besides these (Sentinel's `token`), for the message when none is set.
 */
export function entraCredential(
  settings: EntraCredentialSettings,
  context: Pick<ConfigureContext, 'env'>,
  alternative?: string,
): EntraCredential {
  const given = entraFormsGiven(settings)
  if (given.length > 1) throw twoFormsError(given)
  const form = given[0]
  if (settings.client_certificate_password !== undefined && form !== 'client_certificate_file')
    throw new ConfigError('client_certificate_password is set without client_certificate_file; remove it.')
  if (settings.federated_audience !== undefined && form !== 'federated_token')
    throw new ConfigError('federated_audience applies to federated_token: github-actions only; remove it.')
  if (settings.client_secret !== undefined)
    return { form: 'client_secret', clientSecret: settings.client_secret }
  if (settings.client_certificate_file !== undefined) {
    return {
      form: 'client_certificate_file',
      certificate: loadClientCertificate(
        settings.client_certificate_file,
        settings.client_certificate_password,
      ),
      passphrase: settings.client_certificate_password,
    }
  }
  if (settings.federated_token_file !== undefined)
    return { form: 'federated_token_file', path: settings.federated_token_file }
  if (settings.federated_token === 'github-actions')
    return gitHubActionsCredential(settings, context.env ?? {})
  throw new ConfigError(
    `a credential is required: set one of client_secret_env, client_certificate_file, federated_token_file or federated_token: github-actions${alternative ? `, or ${alternative}` : ''}.`,
    ['docs/credentials.md shows each credential form.'],
  )
}

/**
 * GitHub sets ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN only in jobs
 * granted `permissions: id-token: write` ("About security hardening with OpenID Connect").
 */
function gitHubActionsCredential(
  settings: EntraCredentialSettings,
  env: Readonly<Record<string, string | undefined>>,
): EntraCredential {
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
  if (!requestUrl || !requestToken) {
    const missing = [
      requestUrl ? undefined : 'ACTIONS_ID_TOKEN_REQUEST_URL',
      requestToken ? undefined : 'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
    ].filter(Boolean)
    throw new ConfigError(
      `federated_token: github-actions needs the workflow's OIDC token, but ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set: GitHub sets them only in a job with permissions: id-token: write.`,
      [
        'Add `permissions: { id-token: write, contents: read }` to the job (or the workflow) that runs cavra.',
      ],
    )
  }
  let parsed: URL
  try {
    parsed = new URL(requestUrl)
  } catch {
    throw new ConfigError('ACTIONS_ID_TOKEN_REQUEST_URL is not a URL; it is set by the GitHub runner.')
  }
  parsed.searchParams.set('audience', settings.federated_audience ?? AZURE_TOKEN_EXCHANGE_AUDIENCE)
  return {
    form: 'github-actions',
    requestUrl: parsed.toString(),
    requestToken,
    audience: settings.federated_audience ?? AZURE_TOKEN_EXCHANGE_AUDIENCE,
  }
}

/**
 * Reads a certificate credential: the first certificate of the file and its private key
 * (PKCS#8, encrypted PKCS#8 with a passphrase, or PKCS#1 RSA), which must be an RSA key that
 * belongs to that certificate. Every problem is exit 3 naming the file.
 */
export function loadClientCertificate(path: string, passphrase?: string): ClientCertificate {
  const refuse = (problem: string, fix: string) =>
    new ConfigError(`client_certificate_file ${path} ${problem}.`, [fix])
  const text = readFileSync(path, 'utf8')
  const certificatePem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0]
  if (!certificatePem)
    throw refuse(
      'holds no PEM certificate',
      'Put the certificate (-----BEGIN CERTIFICATE-----) and its private key in one PEM file: cat cert.pem key.pem > credential.pem.',
    )
  const keyPem =
    /-----BEGIN (ENCRYPTED |RSA )?PRIVATE KEY-----[\s\S]+?-----END (ENCRYPTED |RSA )?PRIVATE KEY-----/.exec(
      text,
    )?.[0]
  if (!keyPem)
    throw refuse(
      'holds no private key',
      'Append the private key (-----BEGIN PRIVATE KEY----- or ENCRYPTED PRIVATE KEY) to the certificate in the same file.',
    )
  const encrypted = keyPem.startsWith('-----BEGIN ENCRYPTED')
  if (encrypted && passphrase === undefined)
    throw refuse(
      'holds an encrypted private key',
      'Set client_certificate_password_env to the variable holding its passphrase.',
    )
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey({ key: keyPem, format: 'pem', ...(encrypted ? { passphrase } : {}) })
  } catch {
    throw encrypted
      ? refuse(
          'holds a private key that client_certificate_password does not decrypt',
          'Check the passphrase in client_certificate_password.',
        )
      : refuse('holds a private key that cannot be read', 'Export the key as PEM (PKCS#8 or PKCS#1).')
  }
  let certificate: X509Certificate
  try {
    certificate = new X509Certificate(certificatePem)
  } catch {
    throw refuse('holds a certificate that cannot be read', 'Export the certificate as PEM.')
  }
  // PS256 and RS256, the algorithms Entra takes for client assertions, are RSA signatures.
  if (privateKey.asymmetricKeyType !== 'rsa')
    throw refuse(
      `holds a ${privateKey.asymmetricKeyType} key`,
      'Entra certificate credentials are RSA: create the certificate with an RSA key (2048 bits or more).',
    )
  if (!certificate.checkPrivateKey(privateKey))
    throw refuse(
      'holds a private key that does not belong to its first certificate',
      'Put the certificate registered on the app first, with its own private key.',
    )
  return {
    path,
    privateKey,
    privateKeyPem: keyPem,
    thumbprintSha256: createHash('sha256').update(certificate.raw).digest('base64url'),
    thumbprintSha1: createHash('sha1').update(certificate.raw).digest('hex').toUpperCase(),
  }
}

export interface EntraTokenOptions {
  tokenUrl: string
  clientId: string
  scope: string
  credential: EntraCredential
}

/** The Entra access token of a connector, with its credential form. */
export function entraToken(options: EntraTokenOptions): TokenSource {
  const { credential } = options
  const endpoint = {
    issuer: 'Entra',
    tokenUrl: options.tokenUrl,
    clientId: options.clientId,
    scope: options.scope,
  }
  if (credential.form === 'client_secret')
    return clientCredentialsToken({
      ...endpoint,
      clientSecret: credential.clientSecret,
      advise: (_, description) => entraAdvice(credential, description, undefined),
    })
  // The claims of the federated token last presented, to say which federated credential to register.
  let presented: PresentedClaims | undefined
  const assertion: ClientAssertionSource = async (exchanger) => {
    if (credential.form === 'client_certificate_file')
      return certificateAssertion(credential, options, exchanger)
    const token =
      credential.form === 'federated_token_file'
        ? await federatedTokenFromFile(credential.path, exchanger)
        : await gitHubActionsToken(credential, exchanger)
    if (!token.ok) return token
    presented = claimsOf(token.value)
    return { ok: true, forAttempt: async () => token.value }
  }
  return clientCredentialsToken({
    ...endpoint,
    clientAssertion: assertion,
    advise: (_, description) => entraAdvice(credential, description, presented),
  })
}

async function certificateAssertion(
  credential: Extract<EntraCredential, { form: 'client_certificate_file' }>,
  options: EntraTokenOptions,
  exchanger: Exchanger,
): Promise<{ ok: true; forAttempt: (attempt: number) => Promise<string> }> {
  exchanger.addSecret(credential.certificate.privateKeyPem)
  const { signClientAssertion } = await import('./client-assertion.js')
  return {
    ok: true,
    // A new assertion (and jti) per attempt: Entra refuses one it has already seen.
    forAttempt: async () => {
      const signed = await signClientAssertion(
        credential.certificate,
        options.clientId,
        options.tokenUrl,
        Date.now(),
      )
      exchanger.addSecret(signed)
      return signed
    },
  }
}

/** The token file as it is now: the kubelet rewrites it before it expires. */
async function federatedTokenFromFile(
  path: string,
  exchanger: Exchanger,
): Promise<{ ok: true; value: string } | { ok: false; error: string }> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    return {
      ok: false,
      error: `federated_token_file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    }
  }
  const token = text.trim()
  if (token !== '') exchanger.addSecret(token)
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token))
    return { ok: false, error: `federated_token_file ${path} does not hold a JWT (header.payload.signature)` }
  return { ok: true, value: token }
}

/**
 * The step's OIDC token: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=…` with the request
 * token as Bearer, answered `{"value": "<jwt>"}` (GitHub's actions/toolkit, core.getIDToken).
 */
async function gitHubActionsToken(
  credential: Extract<EntraCredential, { form: 'github-actions' }>,
  exchanger: Exchanger,
): Promise<{ ok: true; value: string } | { ok: false; error: string }> {
  exchanger.addSecret(credential.requestToken)
  const result = await exchanger.exchange({
    step: 'github oidc token',
    build: () => ({
      method: 'GET',
      url: credential.requestUrl,
      headers: { authorization: `Bearer ${credential.requestToken}`, accept: 'application/json' },
    }),
    read: readGitHubIdToken,
    dryRun: 'DRY-RUN-OIDC-TOKEN',
  })
  if (!result.ok)
    return { ok: false, error: `could not obtain the GitHub Actions OIDC token: ${result.error}` }
  exchanger.addSecret(result.value)
  return { ok: true, value: result.value }
}

export function readGitHubIdToken(response: HttpResponse): Verdict<string> {
  if (response.status === 200) {
    const value = jsonObject(response.body)?.value
    if (typeof value === 'string' && value !== '') return { kind: 'ok', value }
    return { kind: 'failed', reason: 'GitHub answered 200 without a token value' }
  }
  if (isRetryableStatus(response.status)) return { kind: 'retryable', reason: excerpt(response) }
  const hint =
    response.status === 401 || response.status === 403
      ? ': the request token is refused; it is valid only during its job, which needs permissions: id-token: write'
      : ''
  return { kind: 'failed', reason: `${excerpt(response)}${hint}` }
}

interface PresentedClaims {
  iss?: string
  sub?: string
  aud?: string
}

/** The claims Entra matches a federated credential on, read without verification (only for advice). */
function claimsOf(token: string): PresentedClaims | undefined {
  const payload = jsonObject(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))
  if (!payload) return undefined
  const text = (value: unknown) => (typeof value === 'string' ? stripControl(value).slice(0, 300) : undefined)
  const aud = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud
  return { iss: text(payload.iss), sub: text(payload.sub), aud: text(aud) }
}

/**
 * What to change for the AADSTS errors of assertions
 * (https://learn.microsoft.com/entra/identity-platform/reference-error-codes,
 * https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations#errors).
 */
export function entraAdvice(
  credential: EntraCredential,
  description: string,
  presented: PresentedClaims | undefined,
): string | undefined {
  const code = /AADSTS(\d+)/.exec(description)?.[1]
  const federated = credential.form === 'federated_token_file' || credential.form === 'github-actions'
  switch (code) {
    case '70021':
    case '700211':
    case '700212':
    case '700213': {
      if (!federated) return undefined
      const what = presented?.iss
        ? `issuer "${presented.iss}", subject "${presented.sub ?? '?'}" and audience "${presented.aud ?? AZURE_TOKEN_EXCHANGE_AUDIENCE}"`
        : "the token's issuer, subject and audience"
      return `add a federated credential to the app registration (Certificates & secrets, Federated credentials) with ${what}`
    }
    case '700024':
      return credential.form === 'federated_token_file'
        ? `the token in ${credential.path} has expired or is not yet valid; whatever writes it (the kubelet's projected service account token) must keep it fresh`
        : "the assertion is outside its valid time; check this machine's clock"
    case '700027':
      if (credential.form === 'client_certificate_file') {
        const { thumbprintSha1 } = credential.certificate
        return `upload the certificate of client_certificate_file (thumbprint ${thumbprintSha1}) to the app registration under Certificates & secrets, Certificates`
      }
      return "the token's signature does not verify against its issuer's published keys"
    case '700021':
      return 'the assertion must name the client_id as its issuer and subject; check client_id'
    case '700016':
      return 'no app registration has this client_id in the tenant; check tenant_id and client_id'
    default:
      return undefined
  }
}
