import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join, relative } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebhookReceiver } from '../emulators/webhook-receiver.js'
import { CANARY } from '../support/canaries.js'
import { BIN, type CliResult, expectNoLeaksUnder, PROJECT_ROOT, runCli } from '../support/cli.js'
import { SIEM_EVENT, Workspace } from '../support/workspace.js'

/**
 * Hostile and broken inputs through the built CLI: each ends with its documented exit code and
 * one line naming the file and the spot (plus a remedy), the receiver gets nothing, and the
 * store and every evidence file stay byte-identical. One workspace is shared: two good
 * deliveries first create the store and evidence every refusal must leave untouched.
 */

const DEPTH = 256
const HOSTILE = 100_000
const STORE = '.cavra/evidence/metadata.json'
const PROMOTION = 'examples/release/rollout-promotion-execution.json'
const ROLLBACK = 'examples/release/rollout-rollback-execution.json'
const EXPORT = 'examples/endpoint-export/stable'
const MANIFEST = 'endpoint-management-export-manifest.json'
const NOBODY = 65534

const receiver = new WebhookReceiver({ secret: CANARY.webhookSecret, path: CANARY.webhookPath })
let ws: Workspace

const env = () => ({
  CAVRA_WEBHOOK_URL: receiver.endpoint,
  CAVRA_WEBHOOK_SECRET: CANARY.webhookSecret,
  // Endpoint connectors point at the receiver too, so anything they sent would be counted.
  JAMF_URL: receiver.url,
  JAMF_CLIENT_SECRET: 'jamf-client-secret-for-tests',
  // Spool files of pipes go here, so a test can see that none is left behind.
  TMPDIR: ws.path('tmp'),
  HOME: ws.dir,
})

const cavra = (args: string[], timeoutMs = 30_000) => runCli(args, { cwd: ws.dir, env: env(), timeoutMs })

beforeAll(async () => {
  await receiver.start()
  ws = new Workspace('cavra-bad-input-e2e-')
  // Readable by the unprivileged user of the permission tests; the spool folder writable by all.
  chmodSync(ws.dir, 0o755)
  mkdirSync(ws.path('tmp'), { mode: 0o1777 })
  chmodSync(ws.path('tmp'), 0o1777)
  ws.write('.cavra/connectors.json', {
    connectors: {
      webhook: { url_env: 'CAVRA_WEBHOOK_URL', signing_secret_env: 'CAVRA_WEBHOOK_SECRET' },
      jamf: {
        url_env: 'JAMF_URL',
        client_id: 'cavra-tests',
        client_secret_env: 'JAMF_CLIENT_SECRET',
        computer_group_ids: [12],
      },
    },
  })
  ws.copy(SIEM_EVENT)
  ws.copy(PROMOTION)
  ws.copy(ROLLBACK)
  const event = await cavra(['integration', 'deliver', 'siem-event.json', '--metadata-json', STORE])
  expect(event.code, event.stderr).toBe(0)
  const promotion = await cavra(['release', 'deliver-promotion-audit', 'rollout-promotion-execution.json'])
  expect(promotion.code, promotion.stderr).toBe(0)
  expect(receiver.deliveries).toHaveLength(2)
  expect(storeItems()).toHaveLength(2)
  receiver.reset()
})

afterAll(async () => {
  await receiver.stop()
  // The leak scan reads every file, and reading a FIFO nobody writes to never returns.
  removeFifos(ws.dir)
  expectNoLeaksUnder(ws.dir)
  ws.remove()
})

function removeFifos(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) removeFifos(path)
    else if (entry.isFIFO()) rmSync(path)
  }
}

afterEach(() => {
  receiver.reset()
})

function storeItems(): unknown[] {
  return JSON.parse(readFileSync(ws.path(STORE), 'utf8')).items
}

/** Every file and folder under .cavra (store, evidence, config) with the hash of each file. */
function snapshot(): Record<string, string> {
  const entries: Record<string, string> = {}
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      const key = relative(ws.dir, path)
      if (statSync(path).isDirectory()) {
        entries[`${key}/`] = 'dir'
        walk(path)
      } else entries[key] = createHash('sha256').update(readFileSync(path)).digest('hex')
    }
  }
  walk(ws.path('.cavra'))
  return entries
}

/**
 * Runs cavra on a bad input and checks everything a refusal promises: the exit code, one
 * `Error:` line naming the file and the spot followed by a remedy, nothing sent, nothing
 * written, no spool file left.
 */
async function expectRefused(
  run: () => Promise<CliResult>,
  code: number,
  message: RegExp,
  withinMs = 30_000,
): Promise<CliResult> {
  const before = snapshot()
  const started = Date.now()
  const result = await run()
  const elapsed = Date.now() - started
  expect(result.code, result.stderr).toBe(code)
  const lines = result.stderr.trimEnd().split('\n')
  expect(lines[0], result.stderr).toMatch(message)
  expect(lines[1], 'a remedy follows the one-line message').toBe('Try this:')
  expect(lines[2]).toMatch(/^ {2}- \S/)
  expect(lines.filter((line) => line.startsWith('Error:'))).toHaveLength(1)
  expect(result.stderr).not.toMatch(/internal error|bug in cavra/)
  expect(receiver.requests).toEqual([])
  expect(snapshot()).toEqual(before)
  expect(readdirSync(ws.path('tmp'))).toEqual([])
  expect(elapsed).toBeLessThan(withinMs)
  return result
}

function nestedObjects(levels: number): string {
  return `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`
}

/** A copy of a shipped pretty-printed JSON object with `"extra": VALUE` as its last field. */
function withExtraField(projectFile: string, value: string | Buffer): Buffer {
  const text = readFileSync(join(PROJECT_ROOT, projectFile), 'utf8').replace(/\n\}\s*$/, ',\n  "extra": ')
  return Buffer.concat([Buffer.from(text), Buffer.from(value), Buffer.from('\n}\n')])
}

function lineOf(content: Buffer, marker: string): number {
  return content.subarray(0, content.indexOf(marker)).toString('utf8').split('\n').length
}

/** Column of the first bracket past the limit in `"extra": {"a":{"a":…` (the object is level 1). */
const EXTRA_COLUMN = '  "extra": '.length + (DEPTH - 1) * '{"a":'.length + 1

/** A fresh copy of the sample export; returns the manifest path relative to the workspace. */
function exportCopy(name: string): string {
  rmSync(ws.path(name), { recursive: true, force: true })
  cpSync(join(PROJECT_ROOT, EXPORT), ws.path(name), { recursive: true })
  return `${name}/${MANIFEST}`
}

/** Replaces a file of an export copy and its checksums.txt line, so only its content is wrong. */
function replaceExportFile(folder: string, name: string, content: string | Buffer): void {
  writeFileSync(ws.path(folder, name), content)
  const digest = createHash('sha256').update(content).digest('hex')
  const sums = readFileSync(ws.path(folder, 'checksums.txt'), 'utf8')
    .split('\n')
    .map((line) => (line.endsWith(`  ${name}`) ? `${digest}  ${name}` : line))
  writeFileSync(ws.path(folder, 'checksums.txt'), sums.join('\n'))
}

const publish = (manifest: string, ...extra: string[]) =>
  cavra(['release', 'deliver-endpoint-export', manifest, '--provider', 'jamf', ...extra])

describe('JSON nested 100,000 levels deep: exit 4 naming the line and column', () => {
  const nested = (file: string, line: number) =>
    new RegExp(
      `^Error: ${file.replace(/\./g, '\\.')}: nested deeper than ${DEPTH} levels at line ${line}, column ${EXTRA_COLUMN}; cavra reads JSON nested at most ${DEPTH} levels deep\\.$`,
    )

  it('an event, also under --dry-run', async () => {
    const content = withExtraField(SIEM_EVENT, nestedObjects(HOSTILE))
    ws.write('deep-event.json', content)
    const message = nested('deep-event.json', lineOf(content, '"extra"'))
    await expectRefused(
      () => cavra(['integration', 'deliver', 'deep-event.json', '--metadata-json', STORE]),
      4,
      message,
    )
    await expectRefused(() => cavra(['integration', 'deliver', 'deep-event.json', '--dry-run']), 4, message)
  })

  it('a bare [[[[…]]]] event file stops at the first array where an event belongs', async () => {
    ws.write('arrays.json', `${'['.repeat(HOSTILE)}${']'.repeat(HOSTILE)}`)
    await expectRefused(
      () => cavra(['integration', 'deliver', 'arrays.json']),
      4,
      /^Error: arrays\.json: line 1, column 2 \(\$\[0\]\): expected an event object, found an array\.$/,
    )
  })

  it('a promotion execution: nothing sent and nothing indexed, also under --dry-run', async () => {
    const content = withExtraField(PROMOTION, nestedObjects(HOSTILE))
    ws.write('deep-promotion.json', content)
    const message = nested('deep-promotion.json', lineOf(content, '"extra"'))
    await expectRefused(
      () => cavra(['release', 'deliver-promotion-audit', 'deep-promotion.json']),
      4,
      message,
    )
    await expectRefused(
      () => cavra(['release', 'deliver-promotion-audit', 'deep-promotion.json', '--dry-run']),
      4,
      message,
    )
    expect(storeItems()).toHaveLength(2)
    ws.write('arrays-promotion.json', `${'['.repeat(HOSTILE)}${']'.repeat(HOSTILE)}`)
    await expectRefused(
      () => cavra(['release', 'deliver-promotion-audit', 'arrays-promotion.json']),
      4,
      new RegExp(
        `^Error: arrays-promotion\\.json: nested deeper than ${DEPTH} levels at line 1, column ${DEPTH + 1};`,
      ),
    )
  })

  it('a rollback execution', async () => {
    const content = withExtraField(ROLLBACK, nestedObjects(HOSTILE))
    ws.write('deep-rollback.json', content)
    await expectRefused(
      () => cavra(['release', 'deliver-rollback-execution', 'deep-rollback.json']),
      4,
      nested('deep-rollback.json', lineOf(content, '"extra"')),
    )
  })

  it('a provider file of an endpoint export', async () => {
    const manifest = exportCopy('export-deep')
    // Otherwise a valid policy: only its depth is wrong.
    const policy = readFileSync(ws.path('export-deep', 'jamf-policy.json'), 'utf8').trim().replace(/\}$/, '')
    const content = `${policy}, "x": ${nestedObjects(HOSTILE)}}`
    replaceExportFile('export-deep', 'jamf-policy.json', content)
    const first = content.indexOf('{"a":')
    const line = content.slice(0, first).split('\n').length
    const column = first - (content.lastIndexOf('\n', first) + 1) + (DEPTH - 1) * '{"a":'.length + 1
    await expectRefused(
      () => publish(manifest),
      4,
      new RegExp(
        `^Error: jamf-policy\\.json: nested deeper than ${DEPTH} levels at line ${line}, column ${column};`,
      ),
    )
  })

  it('an event exactly at the limit is delivered', async () => {
    ws.write('limit.json', `{"event_id":"evt-limit","extra":${nestedObjects(DEPTH - 1)}}`)
    const run = await cavra(['integration', 'deliver', 'limit.json', '--provider', 'webhook', '--dry-run'])
    expect(run.code, run.stderr).toBe(0)
    const sent = await cavra(['integration', 'deliver', 'limit.json', '--provider', 'webhook'])
    expect(sent.code, sent.stderr).toBe(0)
    expect(receiver.deliveries).toHaveLength(1)
  })
})

describe('invalid UTF-8 after the first 4 KB: exit 4 naming the byte offset', () => {
  it('in an event file and in a promotion execution', async () => {
    const tail = Buffer.concat([
      Buffer.from(`"${'x'.repeat(5000)}",\n  "note": "caf`),
      Buffer.from([0xe9]),
      Buffer.from('"'),
    ])
    const event = withExtraField(SIEM_EVENT, tail)
    ws.write('latin1.json', event)
    const offset = event.indexOf(0xe9)
    expect(offset).toBeGreaterThan(4096)
    const line = lineOf(event, '"note"')
    await expectRefused(
      () => cavra(['integration', 'deliver', 'latin1.json']),
      4,
      new RegExp(
        `^Error: latin1\\.json: not UTF-8 text: invalid byte 0xE9 at byte offset ${offset} \\(line ${line}, column 15\\)\\.$`,
      ),
    )
    const promotion = withExtraField(PROMOTION, tail)
    ws.write('latin1-promotion.json', promotion)
    await expectRefused(
      () => cavra(['release', 'deliver-promotion-audit', 'latin1-promotion.json']),
      4,
      new RegExp(
        `^Error: latin1-promotion\\.json: not UTF-8 text: invalid byte 0xE9 at byte offset ${promotion.indexOf(0xe9)} `,
      ),
    )
  })
})

/** The command prefix that runs a program as an unprivileged user, or why there is none. */
function unprivileged(): string[] | string {
  if (process.getuid?.() !== 0) return []
  for (const [tool, prefix] of [
    ['setpriv', ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups']],
    ['runuser', ['runuser', '-u', 'nobody', '--']],
  ] as const) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' })
      return [...prefix]
    } catch {}
  }
  return 'running as root and neither setpriv nor runuser is installed'
}
const asNobody = unprivileged()

describe.skipIf(typeof asNobody === 'string')(
  'an unreadable file (EACCES): exit 4, permission denied',
  () => {
    // Root ignores file modes, so these run cavra as an unprivileged user (nobody).
    const cavraAsNobody = (args: string[]) => {
      const [executable, ...prefix] = [...(asNobody as string[]), process.execPath]
      return runCli([...prefix, BIN, ...args], { cwd: ws.dir, env: env(), executable, timeoutMs: 30_000 })
    }

    it('an event file and a promotion execution', async () => {
      chmodSync(ws.write('locked.json', readFileSync(ws.path('siem-event.json'))), 0o000)
      await expectRefused(
        () => cavraAsNobody(['integration', 'deliver', 'locked.json']),
        4,
        /^Error: locked\.json: cannot read the file \(permission denied\)\.$/,
      )
      chmodSync(
        ws.write('locked-promotion.json', readFileSync(ws.path('rollout-promotion-execution.json'))),
        0o000,
      )
      await expectRefused(
        () => cavraAsNobody(['release', 'deliver-promotion-audit', 'locked-promotion.json']),
        4,
        /^Error: locked-promotion\.json: cannot read the file \(permission denied\)\.$/,
      )
    })

    it('a provider file of an endpoint export', async () => {
      const manifest = exportCopy('export-locked')
      chmodSync(ws.path('export-locked', 'jamf-policy.json'), 0o000)
      await expectRefused(
        () => cavraAsNobody(['release', 'deliver-endpoint-export', manifest, '--provider', 'jamf']),
        4,
        /^Error: export-locked\/endpoint-management-export-manifest\.json: cannot read jamf-policy\.json in the export folder \(permission denied\)\.$/,
      )
    })
  },
)

it.runIf(typeof asNobody === 'string')('explains why the permission tests did not run', () => {
  console.warn(`bad-input e2e: EACCES tests skipped: ${asNobody}`)
})

describe('a YAML "billion laughs" configuration: exit 3, quickly', () => {
  it('is refused before anything is read or sent', async () => {
    let yaml = 'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n'
    for (let level = 1; level < 10; level++) {
      yaml += `a${level}: &a${level} [${Array(9)
        .fill(`*a${level - 1}`)
        .join(', ')}]\n`
    }
    yaml += 'connectors:\n  webhook:\n    url_env: CAVRA_WEBHOOK_URL\n    headers:\n      X-Laugh: *a9\n'
    ws.write('laughs.yaml', yaml)
    await expectRefused(
      () => cavra(['integration', 'deliver', 'siem-event.json', '--config', 'laughs.yaml']),
      3,
      /^Error: laughs\.yaml: its YAML aliases \(\*name\) expand to more than 100 nodes, as a "billion laughs" document does; cavra refuses it rather than expand it\.$/,
      10_000,
    )
  })
})

describe('endpoint export files that are not regular files inside the folder: exit 4', () => {
  it('a provider file that is a directory', async () => {
    const manifest = exportCopy('export-dir')
    rmSync(ws.path('export-dir', 'jamf-policy.json'))
    mkdirSync(ws.path('export-dir', 'jamf-policy.json'))
    await expectRefused(
      () => publish(manifest),
      4,
      /^Error: export-dir\/endpoint-management-export-manifest\.json: jamf-policy\.json in the export folder is a directory, not a regular file; refusing the whole publication\.$/,
    )
  })

  it('a provider file that is a FIFO is refused at once, well before --deadline', async () => {
    const manifest = exportCopy('export-fifo')
    rmSync(ws.path('export-fifo', 'jamf-policy.json'))
    execFileSync('mkfifo', [ws.path('export-fifo', 'jamf-policy.json')])
    await expectRefused(
      () =>
        cavra(
          ['release', 'deliver-endpoint-export', manifest, '--provider', 'jamf', '--deadline', '5'],
          20_000,
        ),
      4,
      /^Error: export-fifo\/endpoint-management-export-manifest\.json: jamf-policy\.json in the export folder is a named pipe \(FIFO\), not a regular file; refusing the whole publication\.$/,
      5_000,
    )
  })

  it('checksums.txt linking out of the folder', async () => {
    const manifest = exportCopy('export-link')
    ws.write('outside-checksums.txt', readFileSync(ws.path('export-link', 'checksums.txt')))
    rmSync(ws.path('export-link', 'checksums.txt'))
    symlinkSync('../outside-checksums.txt', ws.path('export-link', 'checksums.txt'))
    await expectRefused(
      () => publish(manifest),
      4,
      /^Error: export-link\/endpoint-management-export-manifest\.json: checksums\.txt is a link that leaves the export folder; refusing it \(it resolves to .*outside-checksums\.txt\)\.$/,
    )
  })
})

describe('pipes as the artifact are streamed, validated, then delivered', () => {
  it('process substitution, <(…), which passes /dev/fd/N', async () => {
    const run = await runCli(
      [
        '-c',
        'exec "$0" "$1" integration deliver <(cat siem-event.json) --provider webhook',
        process.execPath,
        BIN,
      ],
      { cwd: ws.dir, env: env(), executable: '/bin/bash' },
    )
    expect(run.code, run.stderr).toBe(0)
    expect(receiver.deliveries).toHaveLength(1)
    expect(receiver.deliveries[0]!.payload).toMatchObject({
      event_id: 'sess-2026-11-28-ci-4812',
      payload: { decisions: expect.any(Array) },
    })
    expect(readdirSync(ws.path('tmp'))).toEqual([])
  })

  it('a named pipe (FIFO)', async () => {
    const fifo = ws.path('events.fifo')
    execFileSync('mkfifo', [fifo])
    spawn('sh', ['-c', 'cat siem-event.json > events.fifo'], { cwd: ws.dir, stdio: 'ignore' }).unref()
    const run = await cavra(['integration', 'deliver', 'events.fifo', '--provider', 'webhook', '--json'])
    expect(run.code, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({
      event_id: 'sess-2026-11-28-ci-4812',
      source_artifact: {
        path: null,
        sha256: createHash('sha256')
          .update(readFileSync(ws.path('siem-event.json')))
          .digest('hex'),
      },
    })
    expect(receiver.deliveries).toHaveLength(1)
    expect(readdirSync(ws.path('tmp'))).toEqual([])
  })

  it('what arrives through a pipe is validated like a file: bad JSON is refused with its position', async () => {
    await expectRefused(
      () =>
        runCli(['-c', `exec "$0" "$1" integration deliver <(printf '{"x": tru}')`, process.execPath, BIN], {
          cwd: ws.dir,
          env: env(),
          executable: '/bin/bash',
        }),
      4,
      /^Error: \/dev\/fd\/\d+: line 1, column 10: not valid JSON: unexpected "}"\.$/,
    )
  })
})

describe('JSON syntax errors name the real line and column', () => {
  it('in an event file and a promotion execution', async () => {
    ws.write('syntax.json', '{\n  "event_id": "e1",\n  "x": [1, 2,,]\n}\n')
    await expectRefused(
      () => cavra(['integration', 'deliver', 'syntax.json']),
      4,
      /^Error: syntax\.json: line 3, column 14: not valid JSON: unexpected ","\.$/,
    )
    const text = readFileSync(join(PROJECT_ROOT, PROMOTION), 'utf8')
    ws.write('syntax-promotion.json', text.replace('"executed",', '"executed"'))
    const line = text.slice(0, text.indexOf('"change_record"')).split('\n').length
    await expectRefused(
      () => cavra(['release', 'deliver-promotion-audit', 'syntax-promotion.json']),
      4,
      new RegExp(
        `^Error: syntax-promotion\\.json: line ${line}, column 3: not valid JSON: unexpected "change_record"\\.$`,
      ),
    )
  })
})

describe('an artifact that is a directory', () => {
  it('stays exit 4', async () => {
    mkdirSync(ws.path('a-folder'), { recursive: true })
    await expectRefused(
      () => cavra(['integration', 'deliver', 'a-folder']),
      4,
      /^Error: a-folder: is a directory, not a JSON file\.$/,
    )
  })
})
