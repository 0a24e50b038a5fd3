import { readFileSync } from 'node:fs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { type EntraApplication, EntraEmulator } from '../emulators/entra.js'
import { GitHubOidcIssuer } from '../emulators/github-oidc.js'
import { CAVRA_STREAM_COLUMNS, SentinelEmulator } from '../emulators/sentinel.js'
import { ServiceNowEmulator } from '../emulators/servicenow.js'
import { leakedCanaries } from '../support/canaries.js'
import { makeCertificate, pemBodyLines, type TestCertificate } from '../support/certificates.js'
import { type CliResult, filesUnder, PROJECT_ROOT, runCli } from '../support/cli.js'
import { SIEM_EVENT, Workspace } from '../support/workspace.js'

/**
 * The built CLI signing in without stored secrets: a certificate credential (jose loaded from
 * the bundle's vendor files), the GitHub Actions OIDC token as the example workflow configures
 * it, and ServiceNow OAuth, with a release delivery indexed in the store. Every output,
 * evidence file and the store are scanned for every secret involved.
 */

const TENANT = '6a7b8c9d-0000-4000-8000-00000000c0de'
const CLIENT = '1f2e3d4c-0000-4000-8000-0000000a11ce'
const DCR = 'dcr-6a7b8c9d0e1f4a2b8c3d4e5f6a7b8c9d'
const PASSPHRASE = 'canary-e2e-certificate-passphrase-3a'
const REQUEST_TOKEN = 'canary-e2e-actions-request-token-5b'
const SNOW_SECRET = 'canary-e2e-snow-client-secret-6c'

const app: EntraApplication = { tenantId: TENANT, clientId: CLIENT }
const entra = new EntraEmulator([app])
const azure = new SentinelEmulator({
  entra,
  dcrImmutableId: DCR,
  streamName: 'Custom-CAVRAEvents',
  columns: CAVRA_STREAM_COLUMNS,
  workspaceId: 'c83f10c6-d2a1-4c5e-9f0a-1b2c3d4e5f60',
  sharedKey: Buffer.from('unused-shared-key').toString('base64'),
})
const github = new GitHubOidcIssuer({ requestToken: REQUEST_TOKEN, repository: 'acme/payments' })
const snow = new ServiceNowEmulator({
  users: [{ username: 'cavra.app', roles: ['itil'] }],
  oauthClients: [{ clientId: 'cavra-client', clientSecret: SNOW_SECRET, applicationUser: 'cavra.app' }],
})
const emulators = [entra, azure, github, snow]

const keys = new Workspace('cavra-e2e-keys-')
let certificate: TestCertificate
let ws: Workspace

beforeAll(async () => {
  await Promise.all(emulators.map((emulator) => emulator.start()))
  certificate = makeCertificate(keys.dir, 'e2e', PASSPHRASE)
  app.certificates = [certificate.certificatePem]
  app.federatedCredentials = [{ issuer: github.url, subject: github.subject }]
})
afterAll(async () => {
  await Promise.all(emulators.map((emulator) => emulator.stop()))
  keys.remove()
})
afterEach(async () => {
  await Promise.all(emulators.map((emulator) => emulator.idle()))
  for (const emulator of emulators) emulator.reset()
  ws.remove()
})

/** Every secret of this run: the key, the passphrase, the request token, everything issued. */
function secrets(): string[] {
  const form = (text: string, name: string) => new URLSearchParams(text).get(name)
  const sent = [
    ...entra.tokenRequests().map((request) => form(request.text, 'client_assertion')),
    ...snow.requestsTo('/oauth_token.do').map((request) => form(request.text, 'refresh_token')),
  ].filter((value): value is string => Boolean(value))
  const issued = [
    ...entra.issued.map((entry) => entry.token),
    ...github.issuedTokens,
    ...snow.accessTokens.keys(),
  ]
  const signatures = [...sent, ...issued].map((token) => token.split('.').pop() ?? token)
  return [
    ...pemBodyLines(certificate.keyPem),
    ...sent,
    ...issued,
    ...signatures,
    PASSPHRASE,
    REQUEST_TOKEN,
    SNOW_SECRET,
  ].filter((value) => value.length >= 12)
}

function expectNoSecrets(...runs: CliResult[]): void {
  const extra = secrets()
  for (const run of runs) expect(leakedCanaries(run.stdout + run.stderr, extra)).toEqual([])
  for (const file of filesUnder(ws.dir)) {
    if (file.endsWith('.pem')) continue
    expect(leakedCanaries(readFileSync(file, 'utf8'), extra), `a secret leaked into ${file}`).toEqual([])
  }
}

const baseEnv = () => ({
  SENTINEL_DCE_URL: azure.url,
  ENTRA_URL: entra.url,
  SERVICENOW_INSTANCE_URL: snow.url,
  SERVICENOW_CLIENT_SECRET: SNOW_SECRET,
})

describe('cavra with a certificate credential and ServiceNow OAuth', () => {
  it('delivers a promotion audit to Sentinel and ServiceNow and indexes it, leaking nothing', async () => {
    ws = new Workspace('cavra-e2e-credentials-')
    ws.write('.cavra/connectors.json', {
      connectors: {
        sentinel: {
          url_env: 'SENTINEL_DCE_URL',
          dcr_immutable_id: DCR,
          tenant_id: TENANT,
          client_id: CLIENT,
          client_certificate_file: certificate.path,
          client_certificate_password_env: 'CERT_PASSPHRASE',
          authority_url_env: 'ENTRA_URL',
        },
        servicenow: {
          url_env: 'SERVICENOW_INSTANCE_URL',
          api: 'change',
          client_id: 'cavra-client',
          client_secret_env: 'SERVICENOW_CLIENT_SECRET',
        },
      },
    })
    ws.copy('examples/release/rollout-promotion-execution.json')
    const env = { ...baseEnv(), CERT_PASSPHRASE: PASSPHRASE }
    const run = await runCli(
      [
        'release',
        'deliver-promotion-audit',
        'rollout-promotion-execution.json',
        '--provider',
        'sentinel,servicenow',
        '--json',
      ],
      { cwd: ws.dir, env },
    )
    expect(run.code, run.stderr).toBe(0)
    const deliveries = JSON.parse(run.stdout).deliveries as Array<{ provider: string; success: boolean }>
    expect(deliveries.map((delivery) => [delivery.provider, delivery.success])).toEqual([
      ['sentinel', true],
      ['servicenow', true],
    ])
    expect(entra.issued.map((entry) => entry.credential)).toEqual(['certificate'])
    expect(snow.oauthRequests()).toEqual([{ grant: 'client_credentials' }])
    expect(filesUnder(ws.dir).some((file) => file.endsWith('metadata.json'))).toBe(true)
    expectNoSecrets(run)
  })
})

describe('the GitHub Actions example workflow (examples/github-actions/sentinel-oidc.yml)', () => {
  const workflow = readFileSync(`${PROJECT_ROOT}/examples/github-actions/sentinel-oidc.yml`, 'utf8')
  const job = parse(workflow).jobs.deliver
  const configStep = job.steps.find(
    (step: { name?: string }) => step.name === 'Write the connector configuration',
  )
  const connectorsYaml = /<<'YAML'\n([\s\S]*?)\n\s*YAML/.exec(configStep.run)![1]!
  const deliverStep = job.steps.find((step: { id?: string }) => step.id === 'cavra')

  const setUp = () => {
    ws = new Workspace('cavra-e2e-oidc-')
    ws.write('.cavra/connectors.yml', connectorsYaml)
    ws.copy(SIEM_EVENT, 'governance/siem-event.json')
  }
  const workflowEnv = () => ({
    AZURE_TENANT_ID: TENANT,
    AZURE_CLIENT_ID: CLIENT,
    SENTINEL_DCE_URL: azure.url,
    SENTINEL_DCR_ID: DCR,
    // The emulator plays login.microsoftonline.com; the workflow's config keeps the default authority.
    CAVRA_TEST_AUTHORITY: entra.url,
  })
  const deliverArgs = () => (deliverStep.run as string).trim().split(/\s+/).slice(1)

  it('holds no client secret and grants the job id-token: write', () => {
    expect(job.permissions).toMatchObject({ 'id-token': 'write' })
    expect(workflow).not.toMatch(/client_secret|secrets\./)
    expect(connectorsYaml).toContain('federated_token: github-actions')
  })

  it('delivers with the step OIDC token when the runner provides it', async () => {
    setUp()
    // Point the entry at the emulated authority: the one line the workflow leaves to its default.
    ws.write('.cavra/connectors.yml', `${connectorsYaml}\n    authority_url_env: CAVRA_TEST_AUTHORITY\n`)
    const run = await runCli([...deliverArgs(), '--json'], {
      cwd: ws.dir,
      env: {
        ...workflowEnv(),
        ACTIONS_ID_TOKEN_REQUEST_URL: github.requestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
      },
    })
    expect(run.code, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout).deliveries[0]).toMatchObject({ provider: 'sentinel', success: true })
    expect(github.requestsTo('/_apis/distributedtask/idtoken')[0]!.query.get('audience')).toBe(
      'api://AzureADTokenExchange',
    )
    expect(entra.issued.map((entry) => entry.credential)).toEqual(['federated'])
    expect(azure.ingestionRequests.length).toBeGreaterThan(0)
    expectNoSecrets(run)
  })

  it('exits 3 before sending anything when the job lacks permissions: id-token: write', async () => {
    setUp()
    const run = await runCli(deliverArgs(), { cwd: ws.dir, env: workflowEnv() })
    expect(run.code).toBe(3)
    expect(run.stderr).toMatch(
      /connector sentinel: federated_token: github-actions needs the workflow's OIDC token/,
    )
    expect(run.stderr).toContain('permissions: id-token: write')
    expect(github.requests).toHaveLength(0)
    expect(entra.requests).toHaveLength(0)
    expect(azure.requests).toHaveLength(0)
    expect(filesUnder(ws.dir).some((file) => file.includes('deliveries'))).toBe(false)
  })
})
