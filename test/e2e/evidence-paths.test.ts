import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebhookReceiver } from '../emulators/webhook-receiver.js'
import { CANARY } from '../support/canaries.js'
import { BIN, expectNoLeaksUnder, runCli } from '../support/cli.js'
import { Workspace } from '../support/workspace.js'

/**
 * Every path a delivery writes to is checked before anything is sent: an --output that is a
 * file or cannot be written is exit 5 with nothing sent; a disk that fills while the evidence
 * is written is exit 5 naming the path, with no partial file left behind.
 */

const receiver = new WebhookReceiver({ secret: CANARY.webhookSecret })
let ws: Workspace

beforeAll(async () => {
  await receiver.start()
})
afterAll(async () => {
  await receiver.stop()
})
afterEach(async () => {
  await receiver.idle()
  expectNoLeaksUnder(ws.dir)
  ws.remove()
  receiver.reset()
})

function setUp(): void {
  ws = new Workspace('cavra-paths-')
  ws.write('.cavra/connectors.json', {
    connectors: { webhook: { url_env: 'HOOK_URL', signing_secret_env: 'HOOK_SECRET' } },
  })
  ws.copy('examples/release/rollout-rollback-execution.json')
}

const env = () => ({ HOOK_URL: receiver.endpoint, HOOK_SECRET: CANARY.webhookSecret })
const deliver = (...extra: string[]) =>
  runCli(['release', 'deliver-rollback-execution', 'rollout-rollback-execution.json', ...extra], {
    cwd: ws.dir,
    env: env(),
  })

describe('evidence paths', () => {
  it('refuses an --output that is a regular file before sending anything (exit 5)', async () => {
    setUp()
    ws.write('evidence.json', 'not a folder')
    const run = await deliver('--output', 'evidence.json')
    expect(run.code).toBe(5)
    expect(run.stderr).toMatch(/evidence\.json: the evidence folder is a file/)
    expect(receiver.requests).toHaveLength(0)
    expect(existsSync(ws.path('.cavra/evidence/metadata.json'))).toBe(false)
  })

  it('refuses an --output inside a regular file (exit 5), nothing sent', async () => {
    setUp()
    ws.write('plain', 'x')
    const run = await deliver('--output', 'plain/evidence')
    expect(run.code).toBe(5)
    expect(run.stderr).toMatch(/evidence cannot be written to plain\/evidence .*nothing was sent/)
    expect(receiver.requests).toHaveLength(0)
  })

  it('refuses a folder the user cannot write, nothing sent', async () => {
    setUp()
    mkdirSync(ws.path('locked'))
    chmodSync(ws.path('locked'), 0o555)
    // Root writes anywhere; run as an unprivileged user where the machine allows it.
    const asNobody = process.getuid?.() === 0 && spawnSync('setpriv', ['--help']).status === 0
    if (process.getuid?.() === 0 && !asNobody) return
    chmodSync(ws.dir, 0o755)
    writeFileSync(
      ws.path('.cavra/connectors.json'),
      JSON.stringify({ connectors: { webhook: { url_env: 'HOOK_URL', signing_secret_env: 'HOOK_SECRET' } } }),
    )
    chmodSync(ws.path('.cavra'), 0o755)
    chmodSync(ws.path('.cavra/connectors.json'), 0o644)
    chmodSync(ws.path('rollout-rollback-execution.json'), 0o644)
    const command = [
      BIN,
      'release',
      'deliver-rollback-execution',
      'rollout-rollback-execution.json',
      '--output',
      'locked',
      '--no-metadata',
    ]
    const run = asNobody
      ? spawnSync(
          'setpriv',
          ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...command],
          {
            cwd: ws.dir,
            env: { PATH: process.env.PATH, HOME: ws.dir, NO_COLOR: '1', ...env() },
            encoding: 'utf8',
          },
        )
      : spawnSync(process.execPath, command, {
          cwd: ws.dir,
          env: { PATH: process.env.PATH, NO_COLOR: '1', ...env() },
          encoding: 'utf8',
        })
    expect(run.status, run.stderr).toBe(5)
    expect(run.stderr).toMatch(/evidence cannot be written to locked \(permission denied/)
    expect(receiver.requests).toHaveLength(0)
  })

  // A small tmpfs of our own, in a private mount namespace (as root, or as a user namespace).
  const tmpfs =
    spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /tmp && echo ok'], {
      encoding: 'utf8',
    }).stdout?.includes('ok') ?? false

  it.runIf(tmpfs)('says so when a full disk stops the evidence after a delivery (exit 5)', async () => {
    setUp()
    mkdirSync(ws.path('disk'))
    const script = [
      'mount -t tmpfs -o size=64k tmpfs "$1"',
      // Leave a few hundred bytes: room for the folder check, not for the evidence file.
      'head -c $((64 * 1024 - 512)) /dev/zero > "$1/filler" 2>/dev/null || true',
      'exec "$2" "$3" release deliver-rollback-execution rollout-rollback-execution.json --output "$1/evidence" --no-metadata',
    ].join('\n')
    // Nothing listens on port 9: the delivery fails at once, then its evidence meets the full disk.
    const run = spawnSync(
      'unshare',
      ['-rm', 'sh', '-c', script, 'sh', ws.path('disk'), process.execPath, BIN],
      {
        cwd: ws.dir,
        env: { PATH: process.env.PATH, NO_COLOR: '1', ...env(), HOOK_URL: 'http://127.0.0.1:9/hooks/cavra' },
        encoding: 'utf8',
      },
    )
    expect(run.status, run.stderr).toBe(5)
    expect(run.stderr).toMatch(
      /the delivery ran \(its outcome is above\), but its evidence could not be written to .*no space left on the device/,
    )
    expect(run.stderr).not.toMatch(/internal error|bug in cavra/)
  })
})
