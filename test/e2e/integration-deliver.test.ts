import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SplunkHecEmulator } from '../emulators/splunk-hec.js'
import { WebhookReceiver } from '../emulators/webhook-receiver.js'
import { CANARY } from '../support/canaries.js'
import { expectNoLeaksUnder, PROJECT_ROOT, runCli } from '../support/cli.js'
import { SIEM_EVENT, Workspace } from '../support/workspace.js'

/** `cavra integration deliver` as a subprocess against the Splunk and webhook emulators. */

const hec = new SplunkHecEmulator({ token: CANARY.splunkToken, allowedIndexes: ['cavra'] })
const receiver = new WebhookReceiver({ secret: CANARY.webhookSecret, path: CANARY.webhookPath })
let ws: Workspace

beforeAll(async () => {
  await Promise.all([hec.start(), receiver.start()])
})
afterAll(async () => {
  await Promise.all([hec.stop(), receiver.stop()])
})

function setUp(connectors?: Record<string, unknown>) {
  ws = new Workspace()
  ws.write('.cavra/connectors.json', {
    connectors: connectors ?? {
      splunk: { url_env: 'SPLUNK_HEC_URL', token_env: 'SPLUNK_HEC_TOKEN', index: 'cavra' },
      webhook: { url_env: 'CAVRA_WEBHOOK_URL', signing_secret_env: 'CAVRA_WEBHOOK_SECRET' },
    },
  })
  ws.copy(SIEM_EVENT)
}

const env = () => ({
  SPLUNK_HEC_URL: hec.url,
  SPLUNK_HEC_TOKEN: CANARY.splunkToken,
  CAVRA_WEBHOOK_URL: receiver.endpoint,
  CAVRA_WEBHOOK_SECRET: CANARY.webhookSecret,
})

const cavra = (args: string[], extraEnv: Record<string, string> = {}, input?: string) =>
  runCli(args, { cwd: ws.dir, env: { ...env(), ...extraEnv }, input })

function evidenceFiles(dir = ws.path('.cavra/integrations/deliveries')): string[] {
  return existsSync(dir) ? readdirSync(dir).map((name) => `${dir}/${name}`) : []
}

afterEach(() => {
  expectNoLeaksUnder(ws.dir)
  ws.remove()
  hec.clearFaults()
  hec.events.length = 0
  hec.requests.length = 0
  receiver.reset()
})

describe('cavra integration deliver', () => {
  it('delivers the sample bundle to Splunk (8 records) and a verifying webhook, and writes the delivery evidence', async () => {
    setUp()
    const run = await cavra(['integration', 'deliver', 'siem-event.json'])
    expect(run.code, run.stderr).toBe(0)
    expect(hec.events).toHaveLength(8)
    expect(receiver.deliveries).toHaveLength(1)
    expect(receiver.rejected).toEqual([])
    expect(run.stdout).toContain('8 records')
    const [file] = evidenceFiles()
    expect(file).toMatch(/sess-2026-11-28-ci-4812-\d{8}T\d{6}Z-connector-delivery\.json$/)
    expect(run.stdout).toContain(`Evidence: .cavra/integrations/deliveries/`)
    const evidence = JSON.parse(readFileSync(file!, 'utf8'))
    expect(evidence).toMatchObject({
      schema_version: 'cavra.connector.delivery.v1',
      product: 'CAVRA',
      event_type: 'cavra.evidence_bundle',
      event_id: 'sess-2026-11-28-ci-4812',
      session_id: 'sess-2026-11-28-ci-4812',
      severity: 'high',
      success: true,
      // Absolute, so a later command run from another folder still finds the file.
      source_artifact: { path: ws.path('siem-event.json'), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    })
    expect(evidence.deliveries.map((d: { provider: string }) => d.provider)).toEqual(['splunk', 'webhook'])
    for (const delivery of evidence.deliveries) {
      expect(Object.keys(delivery)).toEqual(
        expect.arrayContaining([
          'provider',
          'provider_type',
          'category',
          'success',
          'status_code',
          'attempt_count',
          'started_at',
          'completed_at',
          'duration_ms',
          'error',
          'remote_reference',
          'deduplicated',
          'records_sent',
          'request',
          'attempts',
        ]),
      )
      expect(delivery.attempts[0]).toEqual({
        attempt: 1,
        step: expect.any(String),
        started_at: expect.any(String),
        duration_ms: expect.any(Number),
        status_code: expect.any(Number),
        outcome: 'success',
        retry_after_ms: null,
        error: null,
      })
    }
    expect(evidence.deliveries[1].remote_reference).toBe(receiver.deliveries[0]!.deliveryId)
  })

  it('prints one JSON document with the evidence path under --json', async () => {
    setUp()
    const run = await cavra(['integration', 'deliver', 'siem-event.json', '--json', '--provider', 'splunk'])
    expect(run.code, run.stderr).toBe(0)
    const document = JSON.parse(run.stdout)
    expect(document).toMatchObject({
      schema_version: 'cavra.connector.delivery.v1',
      success: true,
      metadata: null,
    })
    expect(existsSync(`${ws.dir}/${document.delivery_evidence}`)).toBe(true)
    expect(document.deliveries).toHaveLength(1)
    expect(receiver.requests).toHaveLength(0)
  })

  it('retries a 503 and shows every attempt in the evidence', async () => {
    setUp()
    hec.inject({ kind: 'status', status: 503, body: { text: 'Server is busy', code: 9 } })
    const run = await cavra(['integration', 'deliver', 'siem-event.json', '--json', '-p', 'splunk'])
    expect(run.code).toBe(0)
    const { deliveries } = JSON.parse(run.stdout)
    expect(deliveries[0].attempts.map((a: { status_code: number }) => a.status_code)).toEqual([503, 200])
  })

  it('exits 1 when a connector fails after its retries, still writing evidence; --allow-failure exits 0', async () => {
    setUp()
    receiver.inject({ kind: 'status', status: 502, body: 'bad gateway' }, 6)
    const run = await cavra(['integration', 'deliver', 'siem-event.json', '--retries', '1'])
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/FAILED\s+webhook\s+HTTP 502 from Webhook after 2 attempts: bad gateway/)
    const evidence = JSON.parse(readFileSync(evidenceFiles()[0]!, 'utf8'))
    expect(evidence.success).toBe(false)
    expect(evidence.deliveries.find((d: { provider: string }) => d.provider === 'splunk').success).toBe(true)
    expect(
      evidence.deliveries.find((d: { provider: string }) => d.provider === 'webhook').attempt_count,
    ).toBe(2)
    const allowed = await cavra([
      'integration',
      'deliver',
      'siem-event.json',
      '--retries',
      '1',
      '--allow-failure',
    ])
    expect(allowed.code).toBe(0)
    expect(evidenceFiles()).toHaveLength(2)
  })

  it('keeps each delivery in its own evidence file', async () => {
    setUp()
    await cavra(['integration', 'deliver', 'siem-event.json', '-p', 'splunk'])
    await cavra(['integration', 'deliver', 'siem-event.json', '-p', 'splunk'])
    expect(new Set(evidenceFiles()).size).toBe(2)
  })

  it('delivers every event of JSON Lines on standard input, printing an array under --json', async () => {
    setUp()
    const lines = `${JSON.stringify({ session_id: 'first', max_severity: 'medium' })}\n${JSON.stringify({ session_id: 'second', decisions: [{ decision: 'block', severity: 'critical' }] })}\n`
    const run = await cavra(['integration', 'deliver', '-', '--json', '-p', 'splunk', '-o', 'out'], {}, lines)
    expect(run.code, run.stderr).toBe(0)
    const results = JSON.parse(run.stdout)
    expect(results.map((r: { event_id: string }) => r.event_id)).toEqual(['first', 'second'])
    expect(results[0].source_artifact.path).toBeNull()
    expect(evidenceFiles(ws.path('out'))).toHaveLength(2)
    expect(hec.events).toHaveLength(3)
  })

  it('prints the requests redacted under --dry-run, sending and writing nothing', async () => {
    setUp()
    const run = await cavra(['integration', 'deliver', 'siem-event.json', '--dry-run'])
    expect(run.code, run.stderr).toBe(0)
    expect(hec.requests).toHaveLength(0)
    expect(receiver.requests).toHaveLength(0)
    expect(existsSync(ws.path('.cavra/integrations'))).toBe(false)
    expect(run.stdout).toContain('authorization: REDACTED')
    expect(run.stdout).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/REDACTED/)
    expect(run.stdout).toContain('"decision_id":"dec-07"')
    const json = await cavra(['integration', 'deliver', 'siem-event.json', '--dry-run', '--json'])
    const document = JSON.parse(json.stdout)
    expect(document).toMatchObject({ dry_run: true, delivery_evidence: null })
    expect(document.deliveries[0].dry_run_requests[0].headers.authorization).toBe('REDACTED')
  })

  it('shows retries on stderr as plain task lines when not a TTY', async () => {
    setUp()
    receiver.inject({ kind: 'status', status: 503, body: 'busy' })
    const run = await cavra(['integration', 'deliver', 'siem-event.json', '-p', 'webhook'])
    expect(run.code).toBe(0)
    expect(run.stderr).toMatch(/post event attempt 1: 503|post event attempt 1: busy/)
    expect(run.stderr).toMatch(/retrying in \d+\.\d s/)
    expect(run.stdout).not.toMatch(/retrying/)
  })
})

describe('bad input: clear message, documented exit code, nothing sent or written', () => {
  const table: Array<{
    name: string
    prepare: () => void
    args: string[]
    env?: Record<string, string>
    code: number
    message: RegExp
  }> = [
    {
      name: 'missing file',
      prepare: () => {},
      args: ['nope.json'],
      code: 4,
      message: /nope\.json: cannot read the file \(no such file\)/,
    },
    {
      name: 'not JSON',
      prepare: () => ws.write('bad.json', '{"session_id": "x",\n  oops }'),
      args: ['bad.json'],
      code: 4,
      message: /bad\.json: line 2, column \d+: not valid JSON/,
    },
    {
      name: 'empty file',
      prepare: () => ws.write('empty.json', ''),
      args: ['empty.json'],
      code: 4,
      message: /empty\.json: the file is empty/,
    },
    {
      name: 'binary file',
      prepare: () => ws.write('blob.json', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01])),
      args: ['blob.json'],
      code: 4,
      message: /blob\.json: looks like a binary file/,
    },
    {
      name: 'wrong schema',
      prepare: () => ws.write('s.json', { session_id: 'x', max_severity: 'severe' }),
      args: ['s.json'],
      code: 4,
      message: /s\.json: line 1: \$\.max_severity: invalid option/,
    },
    {
      name: 'misspelt config key',
      prepare: () =>
        ws.write('.cavra/connectors.json', {
          connectors: {
            splunk: { url_env: 'SPLUNK_HEC_URL', token_env: 'SPLUNK_HEC_TOKEN', sourcetyp: 'x' },
          },
        }),
      args: ['siem-event.json'],
      code: 3,
      message: /connector splunk: unknown key "sourcetyp" .*did you mean "sourcetype"\?/,
    },
    {
      name: 'unknown provider',
      prepare: () => {},
      args: ['siem-event.json', '--provider', 'splunkk'],
      code: 3,
      message: /unknown connector "splunkk" \(did you mean "splunk"\?\)/,
    },
    {
      name: 'unset env variable',
      prepare: () => {},
      args: ['siem-event.json'],
      env: { SPLUNK_HEC_TOKEN: '' },
      code: 3,
      message: /connector splunk: token_env names SPLUNK_HEC_TOKEN, which is not set/,
    },
    {
      name: 'missing config',
      prepare: () => ws.write('.cavra/connectors.json', ''),
      args: ['siem-event.json', '-c', 'elsewhere.json'],
      code: 3,
      message: /No connector configuration at elsewhere\.json/,
    },
    {
      name: 'unknown flag',
      prepare: () => {},
      args: ['siem-event.json', '--retry', '3'],
      code: 2,
      message: /Nonexistent flag: --retry/,
    },
    { name: 'missing argument', prepare: () => {}, args: [], code: 2, message: /Missing 1 required arg/ },
    {
      name: 'bad flag value',
      prepare: () => {},
      args: ['siem-event.json', '--timeout', 'soon'],
      code: 2,
      message: /expected a positive number of seconds/,
    },
  ]

  for (const row of table) {
    it(`${row.name} → exit ${row.code}`, async () => {
      setUp()
      row.prepare()
      const before = readdirSync(ws.dir).sort()
      const run = await cavra(['integration', 'deliver', ...row.args], row.env ?? {})
      expect(run.code, run.stderr).toBe(row.code)
      expect(run.stderr).toMatch(row.message)
      expect(run.stderr).toMatch(/(^|\n)Error: /)
      expect(run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/)
      expect(run.stdout).toBe('')
      expect(hec.requests).toHaveLength(0)
      expect(receiver.requests).toHaveLength(0)
      expect(readdirSync(ws.dir).sort()).toEqual(before)
    })
  }

  it('prints errors as JSON on stdout too under --json', async () => {
    setUp()
    const run = await cavra(['integration', 'deliver', 'siem-event.json', '--json', '-p', 'nosuch'])
    expect(run.code).toBe(3)
    expect(JSON.parse(run.stdout)).toMatchObject({
      error: { code: 'config', exit_code: 3, message: expect.stringContaining('unknown connector "nosuch"') },
    })
  })

  it('shows a stack trace only with DEBUG set', async () => {
    setUp()
    const run = await cavra(['integration', 'deliver', 'nope.json'], { DEBUG: '1' })
    expect(run.code).toBe(4)
    expect(run.stderr).toMatch(/\n\s+at .+:\d+:\d+/)
  })
})

describe('help', () => {
  it('answers --help and --version quickly with examples', async () => {
    const help = await runCli(['integration', 'deliver', '--help'], { cwd: PROJECT_ROOT })
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('EXAMPLES')
    expect(help.stdout).toContain('--dry-run')
    const version = await runCli(['--version'], { cwd: PROJECT_ROOT })
    expect(version.stdout).toMatch(/^cavra\/\d+\.\d+\.\d+/)
  })
})
