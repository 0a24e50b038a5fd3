import { writeFileSync } from 'node:fs'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadClientCertificate } from '../../src/connectors/shared/entra-credentials.js'
import { TokenCache } from '../../src/delivery/tokens.js'
import { type EntraApplication, EntraEmulator } from '../emulators/entra.js'
import { GitHubOidcIssuer } from '../emulators/github-oidc.js'
import { GraphEmulator } from '../emulators/graph.js'
import { CAVRA_STREAM_COLUMNS, SentinelEmulator } from '../emulators/sentinel.js'
import { ServiceNowEmulator } from '../emulators/servicenow.js'
import { leakedCanaries } from '../support/canaries.js'
import { makeCertificate, pemBodyLines, type TestCertificate } from '../support/certificates.js'
import { checkInProcess } from '../support/check.js'
import { publicationFixtureEvent } from '../support/deliver.js'
import { deliveryTo, useEmulators } from '../support/harness.js'
import { Workspace } from '../support/workspace.js'

/**
 * Credentials without stored secrets, against emulators as strict as Entra, GitHub's OIDC
 * issuer and ServiceNow: certificate assertions, federated token files and the GitHub Actions
 * token for Sentinel and Intune; ServiceNow OAuth with both grants and a token that expires.
 * Every secret of every form (keys, passphrases, assertions, federated and request tokens,
 * issued access and refresh tokens) is looked for in every result and evidence file.
 */

const TENANT = '5e6f7a8b-0000-4000-8000-00000000c0de'
const SENTINEL_CLIENT = '8b7a6f5e-0000-4000-8000-0000000a11ce'
const INTUNE_CLIENT = '9c8b7a6f-0000-4000-8000-0000000b0b0b'
const DCR = 'dcr-5e6f7a8b9c0d4e1f8a2b3c4d5e6f7a8b'
const PASSPHRASE = 'canary-certificate-passphrase-71c2'
const REQUEST_TOKEN = 'canary-actions-request-token-4d9e'
const SNOW_SECRET = 'canary-snow-oauth-client-secret-2b'
const SNOW_PASSWORD = 'canary-snow-oauth-user-password-9f'

const sentinelApp: EntraApplication = { tenantId: TENANT, clientId: SENTINEL_CLIENT }
const intuneApp: EntraApplication = { tenantId: TENANT, clientId: INTUNE_CLIENT }
const entra = new EntraEmulator([sentinelApp, intuneApp])
const azure = new SentinelEmulator({
  entra,
  dcrImmutableId: DCR,
  streamName: 'Custom-CAVRAEvents',
  columns: CAVRA_STREAM_COLUMNS,
  workspaceId: 'b83f10c6-d2a1-4c5e-9f0a-1b2c3d4e5f60',
  sharedKey: Buffer.from('unused-shared-key').toString('base64'),
})
const graph = new GraphEmulator(entra)
const github = new GitHubOidcIssuer({ requestToken: REQUEST_TOKEN, repository: 'acme/payments' })
const snow = new ServiceNowEmulator({
  users: [
    { username: 'cavra.oauth', password: SNOW_PASSWORD, roles: ['itil'] },
    { username: 'cavra.app', roles: ['itil'] },
  ],
  oauthClients: [{ clientId: 'cavra-client', clientSecret: SNOW_SECRET, applicationUser: 'cavra.app' }],
})

useEmulators(entra, azure, graph, github, snow)

const files = new Workspace('cavra-credentials-')
let plain: TestCertificate
let encrypted: TestCertificate
let unregistered: TestCertificate

beforeAll(() => {
  plain = makeCertificate(files.dir, 'plain')
  encrypted = makeCertificate(files.dir, 'encrypted', PASSPHRASE)
  unregistered = makeCertificate(files.dir, 'unregistered')
  sentinelApp.certificates = [plain.certificatePem, encrypted.certificatePem]
  intuneApp.certificates = [plain.certificatePem]
})

afterAll(() => files.remove())

/** Every secret value a test planted or a server issued, in the forms a leak could take. */
function secretsSeen(): string[] {
  const keys = [plain, encrypted, unregistered].flatMap((cert) => pemBodyLines(cert.keyPem))
  const assertions = entra
    .tokenRequests()
    .map((request) => new URLSearchParams(request.text).get('client_assertion'))
    .filter((value): value is string => Boolean(value))
  const issued = [
    ...entra.issued.map((entry) => entry.token),
    ...github.issuedTokens,
    ...snow.accessTokens.keys(),
    ...snow
      .requestsTo('/oauth_token.do')
      .map((request) => new URLSearchParams(request.text).get('refresh_token'))
      .filter((value): value is string => Boolean(value)),
  ]
  // A JWT's signature is the part no one else can make; its header and claims are not secret.
  const signatures = [...assertions, ...issued].map((token) => token.split('.').pop() ?? token)
  return [...keys, ...signatures, ...issued, PASSPHRASE, REQUEST_TOKEN, SNOW_SECRET, SNOW_PASSWORD]
}

function expectNoSecrets(result: { evidence: string | null }): void {
  const text = JSON.stringify(result) + (result.evidence ?? '')
  expect(
    leakedCanaries(
      text,
      secretsSeen().filter((value) => value.length >= 12),
    ),
  ).toEqual([])
}

const sentinel = deliveryTo('sentinel', () => ({
  settings: {
    url_env: 'SENTINEL_DCE_URL',
    dcr_immutable_id: DCR,
    tenant_id: TENANT,
    client_id: SENTINEL_CLIENT,
    authority_url_env: 'ENTRA_URL',
  },
  env: { SENTINEL_DCE_URL: azure.url, ENTRA_URL: entra.url },
}))

const intune = deliveryTo('intune', () => ({
  settings: {
    tenant_id: TENANT,
    client_id: INTUNE_CLIENT,
    authority_url_env: 'ENTRA_URL',
    graph_url_env: 'GRAPH_URL',
  },
  env: { ENTRA_URL: entra.url, GRAPH_URL: graph.url },
  event: () => publicationFixtureEvent(['intune']),
}))

function assertionsSent(): string[] {
  return entra
    .tokenRequests()
    .map((request) => new URLSearchParams(request.text).get('client_assertion') ?? '')
}

describe('Entra certificate credential (client_certificate_file)', () => {
  it('delivers to Sentinel with a PS256 assertion naming the certificate by its SHA-256 thumbprint', async () => {
    const result = await sentinel({ client_certificate_file: plain.path })
    expect(result.deliveries[0]).toMatchObject({ success: true })
    expect(azure.ingestionRequests.length).toBeGreaterThan(0)
    expect(entra.issued.map((entry) => entry.credential)).toEqual(['certificate'])
    const form = new URLSearchParams(entra.tokenRequests()[0]!.text)
    expect(form.get('client_secret')).toBeNull()
    expect(form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
    const header = decodeProtectedHeader(form.get('client_assertion')!)
    const claims = decodeJwt(form.get('client_assertion')!)
    expect(header).toMatchObject({ alg: 'PS256', typ: 'JWT', 'x5t#S256': expect.any(String) })
    expect(claims).toMatchObject({
      iss: SENTINEL_CLIENT,
      sub: SENTINEL_CLIENT,
      aud: entra.tokenEndpoint(TENANT),
      jti: expect.any(String),
    })
    expect(claims.exp! - claims.nbf!).toBeLessThanOrEqual(600)
    expectNoSecrets(result)
  })

  it('delivers to Intune, and reads a key encrypted with client_certificate_password', async () => {
    const result = await intune({ client_certificate_file: plain.path })
    expect(result.deliveries[0]).toMatchObject({ success: true })
    const encryptedResult = await sentinel(
      { client_certificate_file: encrypted.path, client_certificate_password_env: 'CERT_PASSPHRASE' },
      { env: { CERT_PASSPHRASE: PASSPHRASE } },
    )
    expect(encryptedResult.deliveries[0]).toMatchObject({ success: true })
    expect(entra.issued.map((entry) => entry.credential)).toEqual(['certificate', 'certificate'])
    expectNoSecrets(result)
    expectNoSecrets(encryptedResult)
  })

  it('signs a new assertion for every attempt, so a retried token request is no replay', async () => {
    entra.inject({ kind: 'status', status: 503, body: { error: 'temporarily_unavailable' } }, 1)
    const result = await sentinel({ client_certificate_file: plain.path })
    expect(result.deliveries[0]).toMatchObject({ success: true })
    const [first, second] = assertionsSent()
    expect(decodeJwt(first!).jti).not.toBe(decodeJwt(second!).jti)
  })

  it('is refused with the thumbprint to upload when the certificate is not registered on the app', async () => {
    const result = await sentinel({ client_certificate_file: unregistered.path })
    const delivery = result.deliveries[0]!
    expect(delivery.success).toBe(false)
    const { thumbprintSha1 } = loadClientCertificate(unregistered.path)
    expect(delivery.error).toMatch(
      /AADSTS700027: The certificate with identifier used to sign the client assertion is not registered/,
    )
    expect(delivery.error).toContain(
      `upload the certificate of client_certificate_file (thumbprint ${thumbprintSha1})`,
    )
    expect(azure.ingestionRequests).toHaveLength(0)
    expectNoSecrets(result)
  })

  it('is refused by the emulator when an assertion is replayed, expired or addressed to another audience', async () => {
    // cavra never sends these; the emulator must refuse them as Entra does.
    await sentinel({ client_certificate_file: plain.path })
    const [accepted] = assertionsSent()
    const post = (assertion: string) =>
      fetch(entra.tokenEndpoint(TENANT), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: SENTINEL_CLIENT,
          scope: 'https://monitor.azure.com//.default',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }),
      }).then(async (response) => ({ status: response.status, body: await response.text() }))
    const replay = await post(accepted!)
    expect(replay.status).toBe(401)
    expect(replay.body).toMatch(/jti was already used/)
    const { signClientAssertion } = await import('../../src/connectors/shared/client-assertion.js')
    const certificate = loadClientCertificate(plain.path)
    const stale = await signClientAssertion(
      certificate,
      SENTINEL_CLIENT,
      entra.tokenEndpoint(TENANT),
      Date.now() - 3_600_000,
    )
    expect((await post(stale)).body).toMatch(
      /AADSTS700024: Client assertion is not within its valid time range/,
    )
    const elsewhere = await signClientAssertion(
      certificate,
      SENTINEL_CLIENT,
      'https://login.example/token',
      Date.now(),
    )
    expect((await post(elsewhere)).body).toMatch(/AADSTS50027: .*audience/)
    const foreign = await signClientAssertion(
      loadClientCertificate(unregistered.path),
      SENTINEL_CLIENT,
      entra.tokenEndpoint(TENANT),
      Date.now(),
    )
    const forged = `${foreign.split('.').slice(0, 2).join('.')}.${stale.split('.')[2]}`
    expect((await post(forged)).body).toMatch(/AADSTS700027/)
  })

  it('shows a signed request under --dry-run without the assertion or the key', async () => {
    const result = await sentinel({ client_certificate_file: plain.path }, { dryRun: true })
    expect(result.deliveries[0]).toMatchObject({ success: true })
    expect(entra.requests).toHaveLength(0)
    const text = JSON.stringify(result)
    expect(text).toContain('client_assertion')
    expect(text).not.toMatch(/eyJhbGciOiJQUzI1Ni/)
    expectNoSecrets(result)
  })
})

describe('Entra federated token file (Kubernetes workload identity)', () => {
  const K8S_SUBJECT = 'system:serviceaccount:governance:cavra'
  const tokenFile = () => files.path('azure-identity-token')

  beforeAll(() => {
    intuneApp.federatedCredentials = [{ issuer: github.url, subject: K8S_SUBJECT }]
    sentinelApp.federatedCredentials = [{ issuer: github.url, subject: github.subject }]
  })

  it('delivers to Intune and reads the file again at the next token request, as it rotates', async () => {
    writeFileSync(
      tokenFile(),
      `${await github.mint({ audience: 'api://AzureADTokenExchange', subject: K8S_SUBJECT })}\n`,
    )
    const tokens = new TokenCache()
    const first = await intune({ federated_token_file: tokenFile() }, { tokens })
    expect(first.deliveries[0]).toMatchObject({ success: true })
    const rotated = await github.mint({ audience: 'api://AzureADTokenExchange', subject: K8S_SUBJECT })
    writeFileSync(tokenFile(), rotated)
    entra.revokeAll()
    const second = await intune({ federated_token_file: tokenFile() }, { tokens })
    expect(second.deliveries[0]).toMatchObject({ success: true })
    expect(assertionsSent().at(-1)).toBe(rotated)
    expect(entra.issued.filter((entry) => entry.credential === 'federated')).toHaveLength(2)
    expectNoSecrets(first)
    expectNoSecrets(second)
  })

  it('delivers to Sentinel with a workload identity token file', async () => {
    sentinelApp.federatedCredentials = [{ issuer: github.url, subject: K8S_SUBJECT }]
    try {
      writeFileSync(
        tokenFile(),
        `${await github.mint({ audience: 'api://AzureADTokenExchange', subject: K8S_SUBJECT })}\n`,
      )
      const result = await sentinel({ federated_token_file: tokenFile() })
      expect(result.deliveries[0]).toMatchObject({ success: true })
      expect(azure.ingestionRequests.length).toBeGreaterThan(0)
      expect(entra.issued.map((entry) => entry.credential)).toEqual(['federated'])
      expectNoSecrets(result)
    } finally {
      sentinelApp.federatedCredentials = [{ issuer: github.url, subject: github.subject }]
    }
  })

  it('says the token expired when the file holds a stale one', async () => {
    writeFileSync(
      tokenFile(),
      await github.mint({ audience: 'api://AzureADTokenExchange', subject: K8S_SUBJECT, expiresIn: -3600 }),
    )
    const result = await intune({ federated_token_file: tokenFile() })
    const delivery = result.deliveries[0]!
    expect(delivery.success).toBe(false)
    expect(delivery.error).toMatch(/AADSTS700024/)
    expect(delivery.error).toContain(`the token in ${tokenFile()} has expired or is not yet valid`)
    expectNoSecrets(result)
  })

  it('names the federated credential to register for an unknown subject or audience', async () => {
    writeFileSync(
      tokenFile(),
      await github.mint({
        audience: 'api://AzureADTokenExchange',
        subject: 'system:serviceaccount:default:other',
      }),
    )
    const subject = (await intune({ federated_token_file: tokenFile() })).deliveries[0]!
    expect(subject.error).toMatch(
      /AADSTS700213: No matching federated identity record found for presented assertion subject/,
    )
    expect(subject.error).toContain(
      `add a federated credential to the app registration (Certificates & secrets, Federated credentials) with issuer "${github.url}", subject "system:serviceaccount:default:other" and audience "api://AzureADTokenExchange"`,
    )
    writeFileSync(tokenFile(), await github.mint({ audience: 'api://other', subject: K8S_SUBJECT }))
    const audience = (await intune({ federated_token_file: tokenFile() })).deliveries[0]!
    expect(audience.error).toMatch(/AADSTS700212: .*audience 'api:\/\/other'/)
  })

  it('refuses a token signed with a key its issuer does not publish', async () => {
    writeFileSync(
      tokenFile(),
      await github.mint({ audience: 'api://AzureADTokenExchange', subject: K8S_SUBJECT, forged: true }),
    )
    const result = await intune({ federated_token_file: tokenFile() })
    expect(result.deliveries[0]!.error).toMatch(/AADSTS700027: Client assertion failed signature validation/)
    expect(result.deliveries[0]!.error).toContain("does not verify against its issuer's published keys")
  })
})

describe('Entra federated token from GitHub Actions (federated_token: github-actions)', () => {
  const actionsEnv = () => ({
    ACTIONS_ID_TOKEN_REQUEST_URL: github.requestUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
  })

  beforeAll(() => {
    sentinelApp.federatedCredentials = [{ issuer: github.url, subject: github.subject }]
    intuneApp.federatedCredentials = [{ issuer: github.url, subject: github.subject }]
  })

  it('delivers to Sentinel and Intune with the step token asked for the Entra audience', async () => {
    const toSentinel = await sentinel({ federated_token: 'github-actions' }, { env: actionsEnv() })
    expect(toSentinel.deliveries[0]).toMatchObject({ success: true })
    const toIntune = await intune({ federated_token: 'github-actions' }, { env: actionsEnv() })
    expect(toIntune.deliveries[0]).toMatchObject({ success: true })
    const asked = github.requestsTo('/_apis/distributedtask/idtoken')
    expect(asked).toHaveLength(2)
    expect(asked[0]!.query.get('audience')).toBe('api://AzureADTokenExchange')
    expect(asked[0]!.query.get('api-version')).toBe('2.0')
    expect(asked[0]!.headers.authorization).toBe(`Bearer ${REQUEST_TOKEN}`)
    expect(entra.issued.map((entry) => entry.credential)).toEqual(['federated', 'federated'])
    expectNoSecrets(toSentinel)
    expectNoSecrets(toIntune)
  })

  it('exits 3 before sending anything when the step lacks permissions: id-token: write', async () => {
    await expect(sentinel({ federated_token: 'github-actions' })).rejects.toThrow(
      /federated_token: github-actions needs the workflow's OIDC token, but ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: GitHub sets them only in a job with permissions: id-token: write/,
    )
    expect(github.requests).toHaveLength(0)
    expect(entra.requests).toHaveLength(0)
  })

  it('says what to register when the workflow subject has no federated credential', async () => {
    sentinelApp.federatedCredentials = [
      { issuer: github.url, subject: 'repo:acme/payments:environment:production' },
    ]
    const result = await sentinel({ federated_token: 'github-actions' }, { env: actionsEnv() })
    const error = result.deliveries[0]!.error ?? ''
    expect(error).toMatch(/AADSTS700213/)
    expect(error).toContain(`subject "${github.subject}"`)
    expectNoSecrets(result)
  })

  it('reports a request token GitHub refuses, without showing it', async () => {
    const result = await sentinel(
      { federated_token: 'github-actions' },
      { env: { ...actionsEnv(), ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'canary-expired-request-token-77' } },
    )
    const error = result.deliveries[0]!.error ?? ''
    expect(error).toMatch(
      /^could not obtain an Entra access token: could not obtain the GitHub Actions OIDC token: HTTP 401/,
    )
    expect(error).toContain('needs permissions: id-token: write')
    expect(JSON.stringify(result) + result.evidence).not.toContain('canary-expired-request-token-77')
    expect(entra.requests).toHaveLength(0)
  })
})

describe('Entra credential forms: exactly one per entry', () => {
  it('exits 3 naming the keys when two forms are set, or a certificate file cannot be used', async () => {
    await expect(
      sentinel({ client_certificate_file: plain.path, federated_token: 'github-actions' }),
    ).rejects.toThrow(
      /client_certificate_file and federated_token are each a credential and an entry takes exactly one/,
    )
    await expect(
      intune(
        { client_secret_env: 'X', federated_token_file: plain.path },
        { env: { X: 'canary-intune-x-secret' } },
      ),
    ).rejects.toThrow(/client_secret and federated_token_file are each a credential/)
    await expect(sentinel({ client_certificate_file: encrypted.path })).rejects.toThrow(
      new RegExp(`client_certificate_file ${encrypted.path} holds an encrypted private key`),
    )
    await expect(
      sentinel(
        { client_certificate_file: encrypted.path, client_certificate_password_env: 'P' },
        { env: { P: 'canary-wrong-passphrase-0' } },
      ),
    ).rejects.toThrow(/holds a private key that client_certificate_password does not decrypt/)
    const mismatched = files.write('mismatched.pem', `${plain.certificatePem}${unregistered.keyPem}`)
    await expect(sentinel({ client_certificate_file: mismatched })).rejects.toThrow(
      /holds a private key that does not belong to its first certificate/,
    )
    const keyless = files.write('keyless.pem', plain.certificatePem)
    await expect(sentinel({ client_certificate_file: keyless })).rejects.toThrow(/holds no private key/)
    await expect(sentinel({ client_certificate_file: files.path('missing.pem') })).rejects.toThrow(
      /client_certificate_file .*missing\.pem cannot be read \(ENOENT\)/,
    )
    expect(entra.requests).toHaveLength(0)
  })
})

describe('ServiceNow OAuth', () => {
  const servicenow = deliveryTo('servicenow', () => ({
    settings: { url_env: 'SNOW_URL', client_id: 'cavra-client', client_secret_env: 'SNOW_CLIENT_SECRET' },
    env: { SNOW_URL: snow.url, SNOW_CLIENT_SECRET: SNOW_SECRET, SNOW_PASSWORD },
  }))

  it('delivers with the client-credentials grant, acting as the OAuth application user', async () => {
    const result = await servicenow()
    expect(result.deliveries[0]).toMatchObject({
      success: true,
      remote_reference: expect.stringMatching(/^CHG/),
    })
    expect(snow.oauthRequests()).toEqual([{ grant: 'client_credentials' }])
    const lookups = snow.requestsTo('/api/now/table/change_request')
    expect(lookups.every((request) => /^Bearer /.test(request.headers.authorization ?? ''))).toBe(true)
    expectNoSecrets(result)
  })

  it('delivers with the password grant', async () => {
    const result = await servicenow({
      grant_type: 'password',
      username: 'cavra.oauth',
      password_env: 'SNOW_PASSWORD',
    })
    expect(result.deliveries[0]).toMatchObject({ success: true })
    const form = new URLSearchParams(snow.requestsTo('/oauth_token.do')[0]!.text)
    expect(Object.fromEntries(form)).toMatchObject({ grant_type: 'password', username: 'cavra.oauth' })
    expectNoSecrets(result)
  })

  it('survives a token expiring mid-run: renewed with the refresh token, or a new grant when that is refused', async () => {
    // The duplicate check uses the first token; it expires before the create.
    snow.expireAccessTokensAfter(1)
    const renewed = await servicenow()
    expect(renewed.deliveries[0]).toMatchObject({
      success: true,
      remote_reference: expect.stringMatching(/^CHG/),
    })
    expect(snow.oauthRequests()).toEqual([{ grant: 'client_credentials' }, { grant: 'refresh_token' }])
    expect(renewed.deliveries[0]!.attempts.map((attempt) => attempt.step)).toContain('token refresh')
    snow.reset()
    snow.expireAccessTokensAfter(1)
    snow.inject(
      { kind: 'status', status: 401, body: { error: 'invalid_grant', error_description: 'expired' } },
      1,
      (request) => new URLSearchParams(request.text).get('grant_type') === 'refresh_token',
    )
    const regranted = await servicenow()
    expect(regranted.deliveries[0]).toMatchObject({ success: true })
    expect(snow.oauthRequests().map((request) => request.grant)).toEqual([
      'client_credentials',
      'refresh_token',
      'client_credentials',
    ])
    expectNoSecrets(renewed)
    expectNoSecrets(regranted)
  })

  it('scrubs the issued token when the instance echoes it back', async () => {
    snow.inject(
      {
        kind: 'status',
        status: 400,
        body: (request) => ({
          error: { message: `bad header ${request.headers.authorization}`, detail: null },
          status: 'failure',
        }),
      },
      1,
      (request) => request.path.startsWith('/api/'),
    )
    const result = await servicenow()
    expect(result.deliveries[0]!.success).toBe(false)
    expect(result.deliveries[0]!.error).toContain('bad header Bearer REDACTED')
    expectNoSecrets(result)
  })

  it('explains a refused grant and refuses mixed credential forms', async () => {
    const result = await servicenow({}, { env: { SNOW_CLIENT_SECRET: 'canary-wrong-snow-secret-1' } })
    expect(result.deliveries[0]!.error).toMatch(
      /could not obtain a ServiceNow access token: HTTP 401 .*server_error: access_denied \(check client_id and client_secret; the client_credentials grant also needs/,
    )
    await expect(servicenow({ token_env: 'SNOW_PASSWORD' })).rejects.toThrow(
      /client_id and token are each a credential/,
    )
    await expect(servicenow({ username: 'cavra.oauth', password_env: 'SNOW_PASSWORD' })).rejects.toThrow(
      /username and password are not used by the client_credentials grant/,
    )
    await expect(servicenow({ grant_type: 'password' })).rejects.toThrow(
      /grant_type password needs username and password/,
    )
  })
})

describe('integration check with the secretless forms', () => {
  beforeAll(() => {
    sentinelApp.federatedCredentials = [{ issuer: github.url, subject: github.subject }]
    intuneApp.federatedCredentials = [{ issuer: github.url, subject: github.subject }]
  })

  it('signs in with a certificate, the GitHub Actions token and ServiceNow OAuth, and shows none of them', async () => {
    const report = await checkInProcess({
      connectors: {
        sentinel: {
          url_env: 'SENTINEL_DCE_URL',
          dcr_immutable_id: DCR,
          tenant_id: TENANT,
          client_id: SENTINEL_CLIENT,
          authority_url_env: 'ENTRA_URL',
          client_certificate_file: plain.path,
        },
        intune: {
          tenant_id: TENANT,
          client_id: INTUNE_CLIENT,
          authority_url_env: 'ENTRA_URL',
          graph_url_env: 'GRAPH_URL',
          federated_token: 'github-actions',
          group_id: '00000000-0000-4000-8000-000000000001',
        },
        servicenow: {
          url_env: 'SNOW_URL',
          client_id: 'cavra-client',
          client_secret_env: 'SNOW_CLIENT_SECRET',
        },
      },
      env: {
        SENTINEL_DCE_URL: azure.url,
        ENTRA_URL: entra.url,
        GRAPH_URL: graph.url,
        SNOW_URL: snow.url,
        SNOW_CLIENT_SECRET: SNOW_SECRET,
        ACTIONS_ID_TOKEN_REQUEST_URL: github.requestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
      },
    })
    const status = Object.fromEntries(report.checks.map((check) => [check.provider, check.status]))
    expect(status, JSON.stringify(report.checks)).toEqual({
      sentinel: 'healthy',
      intune: 'healthy',
      servicenow: 'healthy',
    })
    expect(entra.issued.map((entry) => entry.credential).sort()).toEqual(['certificate', 'federated'])
    expect(snow.oauthRequests()).toEqual([{ grant: 'client_credentials' }])
    expect(
      leakedCanaries(
        JSON.stringify(report),
        secretsSeen().filter((value) => value.length >= 12),
      ),
    ).toEqual([])
  })
})
