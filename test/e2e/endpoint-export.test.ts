import { createHash } from 'node:crypto'
import {
  appendFileSync,
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs'
import { join, relative } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Stack } from '../emulators/stack.js'
import { canaryStackSecrets } from '../support/canaries.js'
import { expectNoLeaksUnder, PROJECT_ROOT, runCli } from '../support/cli.js'
import { Workspace } from '../support/workspace.js'

/**
 * `cavra release deliver-endpoint-export` and the publication history and dashboard as
 * subprocesses against the Jamf Pro, Entra + Graph (Intune) and Linux fleet emulators.
 * Each test publishes its own copy of examples/endpoint-export/stable, so it can tamper with it.
 */

/** A JSON document read back from stdout, evidence or the store. */
type Parsed = ReturnType<typeof JSON.parse>

const stack = new Stack(canaryStackSecrets())
let ws: Workspace

const EXPORT_ID = 'eme_6f0c3b2a1d9e'
const PUBLICATION_ID = 'emp_74da7cf6629e'
/** sha256("eme_6f0c3b2a1d9e:stable:v0.2.0:intune,jamf") → the id of a jamf + intune export. */
const JAMF_INTUNE_PUBLICATION_ID = 'emp_04e0610d1e18'
const APPROVAL_ID = 'apr_5e1f0a2b9c88'
const EXPORT = 'export/stable'
const MANIFEST = `${EXPORT}/endpoint-management-export-manifest.json`
const EVIDENCE_DIR = '.cavra/release/endpoint-publication-deliveries'
const METADATA = '.cavra/evidence/metadata.json'
const PUBLISHED_FILES = [
  'intune-win32-app.json',
  'jamf-policy.json',
  'linux-fleet-manifest.json',
  'linux-install-cavra-runtime.sh',
]

beforeAll(async () => {
  await stack.start()
})
afterAll(async () => {
  await stack.stop()
})

function setUp(): void {
  stack.reset()
  ws = new Workspace('cavra-endpoint-export-')
  const all = stack.connectors()
  ws.write('.cavra/connectors.json', {
    connectors: { jamf: all.jamf, intune: all.intune, linux: all.linux },
  })
  cpSync(join(PROJECT_ROOT, 'examples/endpoint-export/stable'), ws.path(EXPORT), { recursive: true })
}

afterEach(async () => {
  await stack.idle()
  if (!ws) return
  expectNoLeaksUnder(ws.dir)
  ws.remove()
})

const cavra = (args: string[]) => runCli(args, { cwd: ws.dir, env: stack.env() })
const publish = (...extra: string[]) => cavra(['release', 'deliver-endpoint-export', MANIFEST, ...extra])

function exportFile(name: string): string {
  return ws.path(EXPORT, name)
}

function sha256(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex')
}

/** checksums.txt of the workspace copy, by file name. */
function checksums(): Record<string, string> {
  const sums: Record<string, string> = {}
  for (const line of readFileSync(exportFile('checksums.txt'), 'utf8').split('\n')) {
    const match = /^([0-9a-f]{64}) {2}(.+)$/.exec(line.trim())
    if (match) sums[match[2]!] = match[1]!
  }
  return sums
}

function editManifest(change: (manifest: Record<string, unknown>) => void): void {
  const path = exportFile('endpoint-management-export-manifest.json')
  const manifest = JSON.parse(readFileSync(path, 'utf8'))
  change(manifest)
  ws.write(`${EXPORT}/endpoint-management-export-manifest.json`, manifest)
}

function evidenceFiles(): string[] {
  const dir = ws.path(EVIDENCE_DIR)
  return existsSync(dir) ? readdirSync(dir).sort() : []
}

function readEvidence(name: string): Parsed {
  return JSON.parse(readFileSync(ws.path(EVIDENCE_DIR, name), 'utf8'))
}

function storeItems(): Parsed[] {
  return JSON.parse(readFileSync(ws.path(METADATA), 'utf8')).items
}

/** Every file and folder of the workspace, with the hash of each file's content. */
function snapshot(): Record<string, string> {
  const entries: Record<string, string> = {}
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      const key = relative(ws.dir, path)
      if (statSync(path).isDirectory()) {
        entries[`${key}/`] = 'dir'
        walk(path)
      } else entries[key] = sha256(readFileSync(path))
    }
  }
  walk(ws.dir)
  return entries
}

function expectNothingSent(): void {
  expect(stack.jamf.requests).toEqual([])
  expect(stack.graph.requests).toEqual([])
  expect(stack.fleet.requests).toEqual([])
  expect(stack.entra.requests).toEqual([])
}

function delivery(record: { deliveries: Parsed[] }, provider: string): Parsed {
  const found = record.deliveries.find((d) => d.provider === provider)
  expect(found, `no ${provider} delivery`).toBeDefined()
  return found!
}

describe('cavra release deliver-endpoint-export', () => {
  it('publishes the sample export to Jamf Pro, Intune and the Linux fleet, with evidence and a store item', async () => {
    setUp()
    const run = await publish('--json')
    expect(run.code, run.stderr).toBe(0)
    const sums = checksums()
    const jamfPolicy = JSON.parse(readFileSync(exportFile('jamf-policy.json'), 'utf8'))

    // Jamf Pro: one script with the export's install script, one custom-event policy running it.
    expect(stack.jamf.scripts.size).toBe(1)
    const [script] = [...stack.jamf.scripts.values()]
    expect(script!.name).toBe('CAVRA Go Runtime stable')
    expect(script!.scriptContents).toBe(jamfPolicy.install_script)
    expect(stack.jamf.policies.size).toBe(1)
    const [policy] = [...stack.jamf.policies.values()]
    expect(policy).toMatchObject({
      name: 'CAVRA Go Runtime stable',
      enabled: 'true',
      trigger: 'EVENT',
      triggerOther: 'cavra-runtime-stable',
      computerGroups: [12],
      scripts: [{ id: Number(script!.id), priority: 'After' }],
    })

    // Intune: one Windows platform script, assigned to the configured group.
    expect(stack.graph.scripts.size).toBe(1)
    const [intuneScript] = [...stack.graph.scripts.values()]
    expect(intuneScript!.displayName).toBe('CAVRA Go Runtime stable')
    const groupId = stack.connectors().intune!.group_id
    expect(stack.graph.assignments.get(intuneScript!.id)).toEqual([expect.objectContaining({ groupId })])

    // Linux fleet: one publication carrying both files, exactly as checksums.txt lists them.
    expect(stack.fleet.rejected).toEqual([])
    expect(stack.fleet.publications).toHaveLength(1)
    const fleet = stack.fleet.publications[0]!
    expect(fleet.publication).toMatchObject({
      publication_id: PUBLICATION_ID,
      export_id: EXPORT_ID,
      channel: 'stable',
      approval_id: APPROVAL_ID,
    })
    expect(fleet.publication.artifacts.map((a) => a.name).sort()).toEqual([
      'linux-fleet-manifest.json',
      'linux-install-cavra-runtime.sh',
    ])
    for (const artifact of fleet.publication.artifacts) {
      expect(artifact.sha256).toBe(sums[artifact.name])
      expect(sha256(fleet.files[artifact.name]!)).toBe(sums[artifact.name])
    }

    // Evidence: one file named after the publication id (not the export id).
    const files = evidenceFiles()
    expect(files).toHaveLength(1)
    expect(files[0]).toMatch(/^emp_74da7cf6629e-\d{8}T\d{6}Z-connector-delivery\.json$/)
    const evidence = readEvidence(files[0]!)
    expect(evidence).toMatchObject({
      schema_version: 'cavra.connector.delivery.v1',
      event_id: PUBLICATION_ID,
      event_type: 'cavra.endpoint_management_export_publication',
      severity: 'medium',
      success: true,
    })
    expect(evidence.event_id).not.toBe(EXPORT_ID)
    expect(evidence.deliveries.map((d: { provider: string }) => d.provider).sort()).toEqual([
      'intune',
      'jamf',
      'linux',
    ])
    expect(delivery(evidence, 'jamf').remote_reference).toBe(`policy:${policy!.id} script:${script!.id}`)
    expect(delivery(evidence, 'intune').remote_reference).toBe(intuneScript!.id)
    expect(delivery(evidence, 'linux').remote_reference).toBe(fleet.deliveryId)

    // The store item: publication fields and artifact hashes, never file contents.
    const items = storeItems()
    expect(items).toHaveLength(1)
    const item = items[0]!
    expect(item).toMatchObject({
      metadata_kind: 'endpoint-management-publication-delivery',
      event_id: PUBLICATION_ID,
      publication_id: PUBLICATION_ID,
      export_id: EXPORT_ID,
      channel: 'stable',
      release: {
        version: 'v0.2.0',
        commit: '8f3c2a1d9e7b6c5a4f3e2d1c0b9a8f7e6d5c4b3a',
        repository: 'acme/cavra-runtime',
      },
      approval_id: APPROVAL_ID,
      delivery_success: true,
      failed_providers: [],
      delivery_evidence: `${EVIDENCE_DIR}/${files[0]}`,
    })
    expect(item.session_id).toMatch(/^epd-emp-74da7cf6629e-[0-9a-f]{12}$/)
    expect(
      [...item.artifacts].sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name)),
    ).toEqual(
      PUBLISHED_FILES.map((name) => ({
        name,
        sha256: sums[name],
        bytes: statSync(exportFile(name)).size,
      })),
    )
    for (const artifact of item.artifacts)
      expect(Object.keys(artifact).sort()).toEqual(['bytes', 'name', 'sha256'])
    expect(delivery(item, 'jamf').remote_reference).toBe(`policy:${policy!.id} script:${script!.id}`)
    expect(delivery(item, 'intune').remote_reference).toBe(intuneScript!.id)
    expect(delivery(item, 'linux').remote_reference).toBe(fleet.deliveryId)
    const storeText = readFileSync(ws.path(METADATA), 'utf8')
    expect(storeText).not.toContain('content_base64')
    expect(storeText).not.toContain('install_script')
    expect(storeText).not.toContain('shasum -a 256 -c checksums.txt')
    expect(storeText).not.toContain('systemctl restart cavra-runtime.service')

    // --json: the delivery result plus delivery_evidence and the store item written.
    const document = JSON.parse(run.stdout)
    expect(document).toMatchObject({
      schema_version: 'cavra.connector.delivery.v1',
      event_id: PUBLICATION_ID,
      success: true,
      delivery_evidence: `${EVIDENCE_DIR}/${files[0]}`,
    })
    expect(document.metadata).toEqual(item)
    expect(document.deliveries).toEqual(evidence.deliveries)
  })

  it('updates the same Jamf, Intune and fleet objects when the export is published again', async () => {
    setUp()
    const first = await publish()
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toContain(`Evidence: ${EVIDENCE_DIR}/${PUBLICATION_ID}-`)
    expect(first.stdout).toMatch(/Indexed as epd-emp-74da7cf6629e-[0-9a-f]{12}/)
    const [script] = [...stack.jamf.scripts.values()]
    const [policy] = [...stack.jamf.policies.values()]
    const [intuneScript] = [...stack.graph.scripts.values()]
    const [firstEvidence] = evidenceFiles()
    const firstEvidenceText = readFileSync(ws.path(EVIDENCE_DIR, firstEvidence!), 'utf8')
    stack.jamf.requests.length = 0
    stack.graph.requests.length = 0

    const second = await publish()
    expect(second.code, second.stderr).toBe(0)
    expect(stack.jamf.scripts.size).toBe(1)
    expect(stack.jamf.policies.size).toBe(1)
    expect([...stack.jamf.scripts.keys()]).toEqual([script!.id])
    expect([...stack.jamf.policies.keys()]).toEqual([policy!.id])
    expect(
      stack.jamf.requests.filter((r) => r.method === 'POST' && !r.path.endsWith('/token')).map((r) => r.path),
    ).toEqual([])
    expect(stack.jamf.requests.filter((r) => r.method === 'PUT').map((r) => r.path)).toEqual([
      `/api/v1/scripts/${script!.id}`,
      `/JSSResource/policies/id/${policy!.id}`,
    ])
    expect(stack.graph.scripts.size).toBe(1)
    expect([...stack.graph.scripts.keys()]).toEqual([intuneScript!.id])
    expect(stack.graph.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1)
    expect(
      stack.graph.requests.filter((r) => r.method === 'POST' && r.path.endsWith('deviceManagementScripts')),
    ).toEqual([])
    expect(stack.graph.assignments.get(intuneScript!.id)).toHaveLength(1)
    expect(stack.fleet.publications).toHaveLength(1)

    const items = storeItems()
    expect(items).toHaveLength(2)
    expect(items[1]!.session_id).not.toBe(items[0]!.session_id)
    expect(items[1]!.prev_hash).toBe(items[0]!.record_hash)
    for (const item of items) {
      expect(item.publication_id).toBe(PUBLICATION_ID)
      expect(delivery(item, 'jamf').remote_reference).toBe(`policy:${policy!.id} script:${script!.id}`)
      expect(delivery(item, 'intune').remote_reference).toBe(intuneScript!.id)
      expect(delivery(item, 'linux').remote_reference).toBe(stack.fleet.publications[0]!.deliveryId)
    }
    const files = evidenceFiles()
    expect(files).toHaveLength(2)
    for (const file of files)
      expect(file).toMatch(/^emp_74da7cf6629e-\d{8}T\d{6}Z(-\d+)?-connector-delivery\.json$/)
    expect(readFileSync(ws.path(EVIDENCE_DIR, firstEvidence!), 'utf8')).toBe(firstEvidenceText)
    expect(new Set(items.map((item) => item.delivery_evidence)).size).toBe(2)
  })

  it('prints the Jamf, Graph and fleet requests redacted under --dry-run, sending and writing nothing', async () => {
    setUp()
    const before = snapshot()
    const run = await publish('--dry-run')
    expect(run.code, run.stderr).toBe(0)
    expectNothingSent()
    expect(snapshot()).toEqual(before)
    expect(existsSync(ws.path('.cavra/release'))).toBe(false)
    expect(existsSync(ws.path('.cavra/evidence'))).toBe(false)
    expect(run.stdout).toContain(`cavra.endpoint_management_export_publication ${PUBLICATION_ID}`)
    expect(run.stdout).toContain('dry run, nothing sent')
    const jamf = stack.jamf.url
    expect(run.stdout).toContain(`POST ${jamf}/api/oauth/token`)
    expect(run.stdout).toContain(`POST ${jamf}/api/v1/scripts`)
    expect(run.stdout).toContain(`POST ${jamf}/JSSResource/policies/id/0`)
    expect(run.stdout).toContain('<trigger_other>cavra-runtime-stable</trigger_other>')
    expect(run.stdout).toContain(`POST ${stack.graph.url}/beta/deviceManagement/deviceManagementScripts`)
    expect(run.stdout).toContain(`POST ${stack.fleet.endpoint}`)
    expect(run.stdout).toContain('cavra.linux-fleet.publication.v1')
    // Secrets and run-time credentials are redacted: token form bodies, bearer tokens,
    // the fleet signature; query values too.
    expect(run.stdout).toContain(
      'grant_type=client_credentials&client_id=cavra-publisher&client_secret=REDACTED',
    )
    expect(run.stdout).toMatch(/client_id=2b3c4d5e-6f7a-4b1c-9d2e-3f4a5b6c7d8e&client_secret=REDACTED&scope=/)
    expect(run.stdout).toContain('authorization: REDACTED')
    expect(run.stdout).not.toMatch(/authorization: (?!REDACTED)/i)
    expect(run.stdout).toContain('webhook-signature: REDACTED')
    expect(run.stdout).toContain('"content_base64"')

    const json = await publish('--dry-run', '--json')
    expect(json.code, json.stderr).toBe(0)
    expectNothingSent()
    expect(snapshot()).toEqual(before)
    const document = JSON.parse(json.stdout)
    expect(document).toMatchObject({
      dry_run: true,
      event_id: PUBLICATION_ID,
      delivery_evidence: null,
      metadata: null,
    })
    for (const provider of ['jamf', 'intune', 'linux']) {
      const requests = delivery(document, provider).dry_run_requests
      expect(requests.length, provider).toBeGreaterThan(0)
    }
    const fleetRequest = delivery(document, 'linux').dry_run_requests.at(-1)
    expect(fleetRequest.url).toBe(stack.fleet.endpoint)
    expect(fleetRequest.headers.authorization).toBe('REDACTED')
    expect(fleetRequest.headers['webhook-signature']).toBe('REDACTED')
    const jamfToken = delivery(document, 'jamf').dry_run_requests[0]
    expect(jamfToken.url).toBe(`${stack.jamf.url}/api/oauth/token`)
    expect(String(jamfToken.body)).toContain('client_secret=REDACTED')
  })
})

describe('refusals: exit 4, nothing sent, nothing written', () => {
  const tampered = {
    name: 'a tampered file',
    prepare: () => appendFileSync(exportFile('jamf-policy.json'), ' '),
    message: () =>
      new RegExp(
        `endpoint-management-export-manifest\\.json: jamf-policy\\.json does not match checksums\\.txt \\(expected sha256 ${checksums()['jamf-policy.json']}, found ${sha256(readFileSync(exportFile('jamf-policy.json')))}\\)`,
      ),
  }
  const table: Array<{ name: string; prepare: () => void; args?: string[]; message: () => RegExp }> = [
    tampered,
    {
      name: 'a missing file',
      prepare: () => rmSync(exportFile('linux-install-cavra-runtime.sh')),
      message: () =>
        /endpoint-management-export-manifest\.json: linux-install-cavra-runtime\.sh is missing from the export folder/,
    },
    {
      name: 'a manifest file path that leaves the folder',
      prepare: () =>
        editManifest((manifest) => {
          ;(manifest.files as string[]).push('../x')
        }),
      message: () =>
        /endpoint-management-export-manifest\.json: \$\.files lists "\.\.\/x", a path outside the export folder; refusing the whole publication/,
    },
    {
      name: 'a checksums.txt line naming a file outside the folder',
      prepare: () => {
        const outside = '{"outside": true}\n'
        ws.write('export/outside.json', outside)
        appendFileSync(exportFile('checksums.txt'), `${sha256(outside)}  ../outside.json\n`)
      },
      message: () =>
        /checksums\.txt: line 6 names "\.\.\/outside\.json", a path outside the export folder; refusing the whole publication/,
    },
    {
      name: 'a provider file that is a link out of the folder',
      prepare: () => {
        const original = readFileSync(exportFile('jamf-policy.json'))
        ws.write('export/jamf-policy.json', original)
        rmSync(exportFile('jamf-policy.json'))
        symlinkSync('../jamf-policy.json', exportFile('jamf-policy.json'))
      },
      message: () =>
        /endpoint-management-export-manifest\.json: jamf-policy\.json is a link that leaves the export folder; refusing it/,
    },
    {
      name: 'an export whose approval is pending',
      prepare: () =>
        editManifest((manifest) => {
          ;(manifest.approval as Record<string, unknown>).state = 'pending'
        }),
      message: () =>
        /endpoint-management-export-manifest\.json: approval apr_5e1f0a2b9c88 is "pending", not "approved"; the export may not be published/,
    },
    {
      name: 'a provider the manifest does not list',
      prepare: () =>
        editManifest((manifest) => {
          manifest.providers = ['jamf', 'intune']
        }),
      args: ['--provider', 'linux'],
      message: () =>
        /endpoint-management-export-manifest\.json: the export has no linux files \(its providers are jamf, intune\), so connector "linux" cannot publish it/,
    },
  ]

  for (const row of table) {
    it(`refuses ${row.name}`, async () => {
      setUp()
      row.prepare()
      const expected = row.message()
      const before = snapshot()
      const run = await publish(...(row.args ?? []))
      expect(run.code, run.stderr).toBe(4)
      expect(run.stderr).toMatch(expected)
      expect(run.stderr).toMatch(/(^|\n)Error: /)
      expect(run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/)
      expect(run.stdout).toBe('')
      expectNothingSent()
      expect(evidenceFiles()).toEqual([])
      expect(existsSync(ws.path('.cavra/release'))).toBe(false)
      expect(existsSync(ws.path(METADATA))).toBe(false)
      expect(existsSync(ws.path('.cavra/evidence'))).toBe(false)
      expect(snapshot()).toEqual(before)
    })
  }

  it('reports the refusal as JSON on stdout under --json', async () => {
    setUp()
    tampered.prepare()
    const before = snapshot()
    const run = await publish('--json')
    expect(run.code).toBe(4)
    expect(JSON.parse(run.stdout)).toMatchObject({
      error: { exit_code: 4, message: expect.stringMatching(tampered.message()) },
    })
    expectNothingSent()
    expect(snapshot()).toEqual(before)
  })

  it('publishes only to the providers the manifest lists when --provider is not given', async () => {
    setUp()
    editManifest((manifest) => {
      manifest.providers = ['jamf', 'intune']
    })
    const run = await publish('--json')
    expect(run.code, run.stderr).toBe(0)
    expect(stack.jamf.requests.length).toBeGreaterThan(0)
    expect(stack.graph.requests.length).toBeGreaterThan(0)
    expect(stack.fleet.requests).toEqual([])
    expect(stack.fleet.publications).toEqual([])
    const document = JSON.parse(run.stdout)
    expect(document.event_id).toBe(JAMF_INTUNE_PUBLICATION_ID)
    expect(document.deliveries.map((d: { provider: string }) => d.provider).sort()).toEqual([
      'intune',
      'jamf',
    ])
    const [item] = storeItems()
    expect(item!.providers.sort()).toEqual(['intune', 'jamf'])
    expect(item!.artifacts.map((a: { name: string }) => a.name).sort()).toEqual([
      'intune-win32-app.json',
      'jamf-policy.json',
    ])
  })
})

describe('a failed publication, its history and dashboard, and the recovery', () => {
  it('records a Jamf failure per provider, raises an alert naming the export, and resolves it on republication', async () => {
    setUp()
    stack.jamf.inject({ kind: 'status', status: 503, body: 'down' }, 100)
    const failed = await publish('--retries', '0')
    expect(failed.code, failed.stderr).toBe(1)
    expect(stack.jamf.scripts.size).toBe(0)
    expect(stack.graph.scripts.size).toBe(1)
    expect(stack.fleet.publications).toHaveLength(1)
    const [evidenceName] = evidenceFiles()
    expect(evidenceName).toBeDefined()
    const evidence = readEvidence(evidenceName!)
    expect(evidence.success).toBe(false)
    expect(delivery(evidence, 'jamf')).toMatchObject({ success: false, attempt_count: 1, status_code: 503 })
    expect(delivery(evidence, 'intune').success).toBe(true)
    expect(delivery(evidence, 'linux').success).toBe(true)
    const [failedItem] = storeItems()
    expect(failedItem).toMatchObject({
      metadata_kind: 'endpoint-management-publication-delivery',
      delivery_success: false,
      failed_providers: ['jamf'],
      export_id: EXPORT_ID,
    })

    const history = async (...args: string[]) => {
      const run = await cavra(['release', 'endpoint-publication-history', '--json', ...args])
      expect(run.code, run.stderr).toBe(0)
      return JSON.parse(run.stdout)
    }
    const dashboard = async () => {
      const run = await cavra(['release', 'endpoint-publication-dashboard', '--format', 'json'])
      expect(run.code, run.stderr).toBe(0)
      return JSON.parse(run.stdout)
    }
    const stateOf = (board: { providers: Array<{ provider: string; state: string }> }) =>
      Object.fromEntries(board.providers.map((p) => [p.provider, p.state]))

    // Filters are judged per provider: the failed jamf row only, not intune's or linux's successes.
    const failing = await history('--provider', 'jamf', '--no-success')
    expect(failing).toMatchObject({
      schema_version: 'cavra.endpoint_management.publication_history.v1',
      product: 'CAVRA',
      total: 1,
      limit: 50,
      offset: 0,
    })
    expect(failing.items).toHaveLength(1)
    expect(failing.items[0]).toMatchObject({
      session_id: failedItem!.session_id,
      event_id: PUBLICATION_ID,
      provider: 'jamf',
      provider_type: 'jamf',
      success: false,
      status_code: 503,
      attempt_count: 1,
      publication_id: PUBLICATION_ID,
      export_id: EXPORT_ID,
      channel: 'stable',
      release_version: 'v0.2.0',
      delivery_evidence: `${EVIDENCE_DIR}/${evidenceName}`,
    })
    expect((await history('--no-success')).items.map((i: { provider: string }) => i.provider)).toEqual([
      'jamf',
    ])
    expect((await history('--success')).items.map((i: { provider: string }) => i.provider).sort()).toEqual([
      'intune',
      'linux',
    ])

    const down = await dashboard()
    expect(down.schema_version).toBe('cavra.endpoint_management.publication_dashboard.v1')
    expect(['warning', 'critical']).toContain(down.alert_level)
    expect(down.alerts).toHaveLength(1)
    expect(down.alerts[0]).toMatchObject({
      provider: 'jamf',
      export_id: EXPORT_ID,
      event_id: PUBLICATION_ID,
      event_type: 'cavra.endpoint_management_export_publication',
    })
    expect(down.alerts[0].message).toContain(EXPORT_ID)
    expect(stateOf(down)).toEqual({ intune: 'healthy', jamf: 'failing', linux: 'healthy' })

    // Jamf is back: publishing again succeeds and resolves the alert.
    stack.jamf.clearFaults()
    const recovered = await publish('--retries', '0')
    expect(recovered.code, recovered.stderr).toBe(0)
    expect(stack.jamf.scripts.size).toBe(1)
    expect(stack.jamf.policies.size).toBe(1)
    expect(stack.graph.scripts.size).toBe(1)
    expect(evidenceFiles()).toHaveLength(2)
    expect(storeItems()).toHaveLength(2)
    const [, recoveredItem] = storeItems()

    const up = await dashboard()
    expect(up.alert_level).toBe('healthy')
    expect(up.alerts).toEqual([])
    expect(stateOf(up)).toEqual({ intune: 'healthy', jamf: 'degraded', linux: 'healthy' })
    expect(up).toMatchObject({
      total_events: 2,
      total_deliveries: 6,
      successful_deliveries: 5,
      failed_deliveries: 1,
    })
    expect(up.latest).toHaveLength(2)
    expect(up.latest[0]).toMatchObject({
      session_id: recoveredItem!.session_id,
      publication_id: PUBLICATION_ID,
      export_id: EXPORT_ID,
      channel: 'stable',
      release_version: 'v0.2.0',
      success: true,
      failed_providers: [],
    })
    expect(up.latest[1]).toMatchObject({
      session_id: failedItem!.session_id,
      publication_id: PUBLICATION_ID,
      success: false,
      failed_providers: ['jamf'],
    })

    const jamfRows = await history('--provider', 'jamf')
    expect(jamfRows.total).toBe(2)
    expect(jamfRows.items.map((i: { success: boolean }) => i.success)).toEqual([true, false])
    expect(jamfRows.items.map((i: { session_id: string }) => i.session_id)).toEqual([
      recoveredItem!.session_id,
      failedItem!.session_id,
    ])
    expect(Date.parse(jamfRows.items[0].created_at)).toBeGreaterThanOrEqual(
      Date.parse(jamfRows.items[1].created_at),
    )
    expect(jamfRows.items[0].remote_reference).toMatch(/^policy:\d+ script:\d+$/)

    expect((await history('--export-id', EXPORT_ID)).total).toBe(6)
    expect((await history('--export-id', 'eme_000000000000')).total).toBe(0)
    expect((await history('--channel', 'stable')).total).toBe(6)
    expect((await history('--channel', 'beta')).total).toBe(0)
    expect((await history('--since', '1h')).total).toBe(6)
    expect((await history('--since', '2999-01-01T00:00:00Z')).total).toBe(0)
    const page = await history('--provider', 'jamf', '--limit', '1', '--offset', '1')
    expect(page).toMatchObject({ total: 2, limit: 1, offset: 1 })
    expect(page.items).toHaveLength(1)
    expect(page.items[0]).toMatchObject({ session_id: failedItem!.session_id, success: false })

    const markdown = await cavra(['release', 'endpoint-publication-dashboard', '--format', 'markdown'])
    expect(markdown.code, markdown.stderr).toBe(0)
    expect(markdown.stdout).toMatch(/^## .*healthy/m)
    expect(markdown.stdout).toContain('| Connector | Kind | State |')
    expect(markdown.stdout).toMatch(/^\| jamf \| jamf \| degraded \| 2 \| 1 \| 1 \|/m)
    expect(markdown.stdout).toMatch(/^\| intune \| intune \| healthy \| 2 \| 2 \| 0 \|/m)
    expect(markdown.stdout).toContain('| Published at | Export | Channel | Release | Result |')
    expect(markdown.stdout).toMatch(
      new RegExp(`\\| ${EXPORT_ID} \\| stable \\| v0\\.2\\.0 \\| published \\|`),
    )
    expect(markdown.stdout).toMatch(
      new RegExp(`\\| ${EXPORT_ID} \\| stable \\| v0\\.2\\.0 \\| failed: jamf \\|`),
    )
    expect(markdown.stdout).toContain('No open alerts.')

    const table = await cavra(['release', 'endpoint-publication-history', '--provider', 'jamf'])
    expect(table.code, table.stderr).toBe(0)
    expect(table.stdout).toContain('Rows 1-2 of 2, newest first (provider=jamf)')
  })
})
