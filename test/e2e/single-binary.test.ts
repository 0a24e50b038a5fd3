import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, existsSync, readdirSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SplunkHecEmulator } from '../emulators/splunk-hec.js'
import { CANARY } from '../support/canaries.js'
import { expectNoLeaksUnder, PROJECT_ROOT, runCli } from '../support/cli.js'
import { SIEM_EVENT, Workspace } from '../support/workspace.js'

/**
 * `npm run build:binary` makes one executable for this machine, embedding Node 24 whatever
 * Node builds the project, that works copied alone into an empty directory: no node on PATH,
 * no package.json, no dist or node_modules beside it.
 */

const hec = new SplunkHecEmulator({ token: CANARY.splunkToken })
let ws: Workspace
let binary: string

beforeAll(async () => {
  execFileSync(process.execPath, ['scripts/build-binaries.mjs', '--host'], {
    cwd: PROJECT_ROOT,
    stdio: 'pipe',
  })
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
    expect(version.stdout).toMatch(/^cavra\/0\.\d+\.\d+ linux-x64 node-v24\./)
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
    // The evidence, not the executable: scanning its 130 MB for the canaries took ~20 s.
    expectNoLeaksUnder(ws.path('.cavra'))
  })

  it('serves the HTTP API (the framework is inside the binary) and stops on SIGTERM', async () => {
    const token = 'binary-api-token-4c7d1e9a2b'
    const child = spawn(binary, ['serve', '--port', '0'], {
      cwd: ws.dir,
      env: { PATH: '/nonexistent', HOME: ws.dir, CAVRA_API_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    const exit = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)))
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 20_000)
      child.stderr.on('data', (chunk) => {
        stderr += chunk
        const match = /listening on (http:\/\/[^"\s]+)/.exec(stderr)
        if (match) {
          clearTimeout(timer)
          resolve(match[1]!)
        }
      })
    })
    try {
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' })
      expect((await fetch(`${url}/integrations`)).status).toBe(401)
      const list = await fetch(`${url}/integrations`, { headers: { authorization: `Bearer ${token}` } })
      expect(list.status).toBe(200)
      expect(((await list.json()) as { integrations: unknown[] }).integrations).toEqual([])
    } finally {
      child.kill('SIGTERM')
    }
    expect(await exit).toBe(0)
    expect(stderr).not.toContain(token)
  })

  it('keeps the exit codes', async () => {
    expect((await bare(['integration', 'deliver', 'missing.json'])).code).toBe(3)
    expect((await bare(['integration', 'deliver'])).code).toBe(2)
  })
})
