import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, readdirSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SplunkHecEmulator } from '../emulators/splunk-hec.js'
import { CANARY } from '../support/canaries.js'
import { expectNoLeaksUnder, PROJECT_ROOT, runCli } from '../support/cli.js'
import { SIEM_EVENT, Workspace } from '../support/workspace.js'

/**
 * `npm run build:binary` makes one executable that works copied alone into an empty
 * directory: no node on PATH, no package.json, no dist or node_modules beside it.
 */

const hec = new SplunkHecEmulator({ token: CANARY.splunkToken })
let ws: Workspace
let binary: string

beforeAll(async () => {
  execFileSync('bash', ['scripts/build-sea.sh'], { cwd: PROJECT_ROOT, stdio: 'pipe' })
  ws = new Workspace('cavra-binary-')
  binary = ws.path('cavra')
  copyFileSync(`${PROJECT_ROOT}/out/cavra`, binary)
  await hec.start()
}, 180_000)

afterAll(async () => {
  await hec.stop()
  ws?.remove()
})

const bare = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { executable: binary, cwd: ws.dir, env: { PATH: '/nonexistent', HOME: ws.dir, ...env } })

describe('single binary', () => {
  it('answers --version and --help from an empty directory', async () => {
    expect(readdirSync(ws.dir)).toEqual(['cavra'])
    const version = await bare(['--version'])
    expect(version.code).toBe(0)
    expect(version.stdout).toMatch(/^cavra\/0\.\d+\.\d+ linux-x64 node-v20/)
    const help = await bare(['integration', 'deliver', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('$ cavra integration deliver')
    expect(help.stderr).toBe('')
  })

  it('delivers an event to Splunk', async () => {
    ws.copy(SIEM_EVENT)
    ws.write('.cavra/connectors.json', {
      connectors: { splunk: { url_env: 'HEC_URL', token_env: 'HEC_TOKEN' } },
    })
    const run = await bare(['integration', 'deliver', 'siem-event.json', '--json'], {
      HEC_URL: hec.url,
      HEC_TOKEN: CANARY.splunkToken,
    })
    expect(run.code, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout).deliveries[0]).toMatchObject({
      provider: 'splunk',
      success: true,
      records_sent: 8,
    })
    expect(hec.events).toHaveLength(8)
    expect(existsSync(ws.path('.cavra/integrations/deliveries'))).toBe(true)
    expectNoLeaksUnder(ws.dir)
  })

  it('keeps the exit codes', async () => {
    expect((await bare(['integration', 'deliver', 'missing.json'])).code).toBe(3)
    expect((await bare(['integration', 'deliver'])).code).toBe(2)
  })
})
