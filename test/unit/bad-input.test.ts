import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/common/canonical-json.js'
import { InputError } from '../../src/common/errors.js'
import { type Artifact, openArtifact } from '../../src/events/artifact.js'
import { buildPublication, readExportManifest } from '../../src/events/endpoint-export.js'
import type { DeliveryEvent } from '../../src/events/event.js'
import { readEventFile, validateEventFile } from '../../src/events/integration-event.js'
import {
  promotionEvent,
  promotionExecutionSchema,
  readReleaseArtifact,
  rollbackExecutionSchema,
} from '../../src/events/release.js'
import { PROJECT_ROOT } from '../support/cli.js'
import { Workspace } from '../support/workspace.js'

/**
 * Hostile and broken inputs: each must end as an InputError (exit 4) that names the file and
 * the spot, before anything could be sent, instead of a crash, a hang or a silent misread.
 */

const DEPTH = 256
const HOSTILE = 100_000
const PROMOTION = `${PROJECT_ROOT}/examples/release/rollout-promotion-execution.json`
const ROLLBACK = `${PROJECT_ROOT}/examples/release/rollout-rollback-execution.json`
const SIEM_EVENT = `${PROJECT_ROOT}/examples/events/siem-event.json`

const workspaces: Workspace[] = []
function workspace(): Workspace {
  const ws = new Workspace('cavra-bad-input-')
  workspaces.push(ws)
  return ws
}
const opened: Artifact[] = []
afterEach(async () => {
  for (const artifact of opened.splice(0)) await artifact.dispose()
  for (const ws of workspaces.splice(0)) ws.remove()
})

async function open(path: string, stdin?: NodeJS.ReadableStream): Promise<Artifact> {
  const artifact = await openArtifact(path, stdin)
  opened.push(artifact)
  return artifact
}

/** The InputError `body` throws; fails the test when it throws anything else or nothing. */
async function inputError(body: () => Promise<unknown>): Promise<InputError> {
  try {
    await body()
  } catch (error) {
    if (error instanceof InputError) return error
    throw error
  }
  throw new Error('expected an input error')
}

async function validateEvents(path: string): Promise<DeliveryEvent[]> {
  const artifact = await open(path)
  await validateEventFile(artifact)
  const events: DeliveryEvent[] = []
  for await (const event of readEventFile(artifact)) events.push(event)
  return events
}

/** `levels` objects nested as `{"a":{"a":…1…}}`. */
function nestedObjects(levels: number): string {
  return `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`
}

/** A copy of `file` (a pretty-printed JSON object) with `"extra": VALUE` as its last field. */
function withExtraField(file: string, value: string): string {
  return readFileSync(file, 'utf8').replace(/\n\}\s*$/, `,\n  "extra": ${value}\n}\n`)
}

function lineOf(text: string, marker: string): number {
  return text.slice(0, text.indexOf(marker)).split('\n').length
}

const EXTRA = '  "extra": '
/** Column of the first bracket beyond the limit on the `"extra": {"a":…` line of `withExtraField`. */
const EXTRA_COLUMN = EXTRA.length + (DEPTH - 1) * '{"a":'.length + 1

describe('JSON nested too deeply', () => {
  it('refuses an event nested 100,000 levels deep, naming the line and column where the limit is crossed', async () => {
    const ws = workspace()
    const text = withExtraField(SIEM_EVENT, nestedObjects(HOSTILE))
    const path = ws.write('deep.json', text)
    const error = await inputError(() => validateEvents(path))
    expect(error.message).toBe(
      `${path}: nested deeper than ${DEPTH} levels at line ${lineOf(text, '"extra"')}, column ${EXTRA_COLUMN}; cavra reads JSON nested at most ${DEPTH} levels deep.`,
    )
    expect(error.actions.join(' ')).toMatch(/producer/)
  })

  it('refuses deep nesting in an array of events, in JSON Lines and inside a streamed decision', async () => {
    const ws = workspace()
    const array = ws.write('a.json', `[{"event_id":"e1"},\n{"event_id":"e2","x":${'['.repeat(HOSTILE)}]}]`)
    expect((await inputError(() => validateEvents(array))).message).toMatch(
      new RegExp(`nested deeper than ${DEPTH} levels at line 2, column ${21 + DEPTH - 1}; `),
    )
    const lines = ws.write(
      'l.jsonl',
      `{"event_id":"e1"}\n{"event_id":"e2"}\n{"x":${nestedObjects(HOSTILE)}}\n`,
    )
    expect((await inputError(() => validateEvents(lines))).message).toMatch(
      new RegExp(`l\\.jsonl: nested deeper than ${DEPTH} levels at line 3, column ${6 + (DEPTH - 1) * 5}; `),
    )
    const decision = ws.write('d.json', `{"decisions":[{"decision":"allow","x":${'['.repeat(HOSTILE)}]}]}`)
    expect((await inputError(() => validateEvents(decision))).message).toMatch(
      new RegExp(`nested deeper than ${DEPTH} levels at line 1, column ${39 + DEPTH - 3}; `),
    )
  })

  it('refuses a bare [[[[…]]]] document as soon as it finds an array where an event belongs', async () => {
    const ws = workspace()
    const path = ws.write('arrays.json', `${'['.repeat(HOSTILE)}${']'.repeat(HOSTILE)}`)
    expect((await inputError(() => validateEvents(path))).message).toBe(
      `${path}: line 1, column 2 ($[0]): expected an event object, found an array.`,
    )
  })

  it('accepts an event exactly at the limit: identity hash, canonical JSON and serialisation all cope', async () => {
    const ws = workspace()
    // The event object is level 1, so its field may nest DEPTH - 1 levels.
    const path = ws.write('limit.json', `{"product":"X","extra":${nestedObjects(DEPTH - 1)}}`)
    const [event] = await validateEvents(path)
    expect(event!.eventId).toMatch(/^evt_[0-9a-f]{12}$/)
    expect(canonicalJson(event!.fields)).toContain('{"a":1}')
    expect(JSON.stringify({ wrapped: { in: [event!.fields] } })).toContain('{"a":1}')
    await expect(
      validateEvents(ws.write('over.json', `{"product":"X","extra":${nestedObjects(DEPTH)}}`)),
    ).rejects.toThrow(/nested deeper than 256 levels at line 1, column/)
  })

  it('refuses deep promotion and rollback executions before parsing them into memory', async () => {
    const ws = workspace()
    for (const [file, schema, kind] of [
      [PROMOTION, promotionExecutionSchema, 'promotion execution'],
      [ROLLBACK, rollbackExecutionSchema, 'rollback execution'],
    ] as const) {
      const text = withExtraField(file, nestedObjects(HOSTILE))
      const path = ws.write(`deep-${kind.split(' ')[0]}.json`, text)
      const error = await inputError(async () => readReleaseArtifact(await open(path), schema, kind))
      expect(error.message).toBe(
        `${path}: nested deeper than ${DEPTH} levels at line ${lineOf(text, '"extra"')}, column ${EXTRA_COLUMN}; cavra reads JSON nested at most ${DEPTH} levels deep.`,
      )
    }
    // Exactly at the limit it is read and becomes an event that serialises.
    const path = ws.write('limit.json', withExtraField(PROMOTION, nestedObjects(DEPTH - 1)))
    const artifact = await open(path)
    const event = promotionEvent(
      await readReleaseArtifact(artifact, promotionExecutionSchema, 'promotion execution'),
      artifact,
    )
    expect(canonicalJson(event.fields)).toContain('{"a":1}')
  })

  it('refuses a deep export manifest and a deep provider file', async () => {
    const ws = workspace()
    const folder = exportCopy(ws)
    const manifestPath = join(folder, 'endpoint-management-export-manifest.json')
    const original = readFileSync(manifestPath, 'utf8')
    writeFileSync(manifestPath, original.replace(/\n\}\s*$/, `,\n  "extra": ${nestedObjects(HOSTILE)}\n}\n`))
    expect((await inputError(async () => readExportManifest(await open(manifestPath)))).message).toMatch(
      new RegExp(
        `endpoint-management-export-manifest\\.json: nested deeper than ${DEPTH} levels at line \\d+, column ${EXTRA_COLUMN}; `,
      ),
    )
    writeFileSync(manifestPath, original)
    replaceExportFile(folder, 'jamf-policy.json', `{"policy_name":"p","x":${nestedObjects(HOSTILE)}}`)
    const artifact = await open(manifestPath)
    const manifest = await readExportManifest(artifact)
    expect((await inputError(() => buildPublication(artifact, manifest, ['jamf']))).message).toMatch(
      new RegExp(
        `jamf-policy\\.json: nested deeper than ${DEPTH} levels at line 1, column ${24 + (DEPTH - 1) * 5}; `,
      ),
    )
  })
})

describe('invalid UTF-8', () => {
  /** A valid event whose `padding` field pushes `tail` past the first 4 KB. */
  function paddedEvent(tail: Buffer): Buffer {
    return Buffer.concat([
      Buffer.from(`{\n  "event_id": "e1",\n  "padding": "${'x'.repeat(5000)}",\n  "note": "caf`),
      tail,
      Buffer.from('"\n}\n'),
    ])
  }

  it('refuses an invalid byte after the first 4 KB, naming its byte offset, line and column', async () => {
    const ws = workspace()
    const content = paddedEvent(Buffer.from([0xe9]))
    const offset = content.indexOf(0xe9)
    expect(offset).toBeGreaterThan(4096)
    const path = ws.write('latin1.json', content)
    const error = await inputError(() => open(path))
    expect(error.message).toBe(
      `${path}: not UTF-8 text: invalid byte 0xE9 at byte offset ${offset} (line 4, column 15).`,
    )
    expect(error.actions.join(' ')).toMatch(/UTF-8/)
  })

  it('checks the whole file across read chunks, in standard input and in release artifacts', async () => {
    const ws = workspace()
    // A valid three-byte character straddling the 64 KiB read boundary is fine…
    const big = Buffer.alloc(70_000, 0x20)
    Buffer.from('{"event_id":"e1","x":"').copy(big, 0)
    Buffer.from('€').copy(big, 65_535)
    Buffer.from('"}').copy(big, 69_000)
    const fine = ws.write('straddle.json', big)
    expect(await validateEvents(fine)).toHaveLength(1)
    // …a truncated one at the very end is not.
    const truncated = ws.write(
      'truncated.json',
      Buffer.concat([big.subarray(0, 69_002), Buffer.from([0xe2, 0x82])]),
    )
    expect((await inputError(() => open(truncated))).message).toMatch(
      /invalid byte 0xE2 at byte offset 69002/,
    )
    // Surrogates encoded in UTF-8 (CESU-8) are not UTF-8 either.
    const stdin = Readable.from([paddedEvent(Buffer.from([0xed, 0xa0, 0x80]))])
    expect((await inputError(() => open('-', stdin))).message).toMatch(
      /^standard input: not UTF-8 text: invalid byte 0xED at byte offset \d+ \(line 4, column 15\)\.$/,
    )
    const release = ws.write(
      'promotion.json',
      Buffer.concat([
        Buffer.from(withExtraField(PROMOTION, `"${'x'.repeat(5000)}"`).replace(/\n\}\n$/, ',\n  "y": "')),
        Buffer.from([0xff]),
        Buffer.from('"\n}\n'),
      ]),
    )
    expect((await inputError(() => open(release))).message).toMatch(
      /promotion\.json: not UTF-8 text: invalid byte 0xFF/,
    )
  })

  it('refuses a provider file of an export that is not UTF-8', async () => {
    const ws = workspace()
    const folder = exportCopy(ws)
    replaceExportFile(folder, 'jamf-policy.json', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))
    const artifact = await open(join(folder, 'endpoint-management-export-manifest.json'))
    const error = await inputError(async () =>
      buildPublication(artifact, await readExportManifest(artifact), ['jamf']),
    )
    expect(error.message).toBe(
      'jamf-policy.json: not UTF-8 text: invalid byte 0xFF at byte offset 2 (line 1, column 3).',
    )
  })
})

describe('files that are not regular files', () => {
  it('keeps refusing a directory given as the artifact', async () => {
    const ws = workspace()
    mkdirSync(ws.path('events'))
    await expect(open(ws.path('events'))).rejects.toThrow(/events: is a directory, not a JSON file\./)
  })

  it('refuses an export provider file that is a directory', async () => {
    const ws = workspace()
    const folder = exportCopy(ws)
    const artifact = await open(join(folder, 'endpoint-management-export-manifest.json'))
    const manifest = await readExportManifest(artifact)
    rmSync(join(folder, 'jamf-policy.json'))
    mkdirSync(join(folder, 'jamf-policy.json'))
    const error = await inputError(() => buildPublication(artifact, manifest, ['jamf']))
    expect(error.message).toMatch(
      /endpoint-management-export-manifest\.json: jamf-policy\.json in the export folder is a directory, not a regular file; refusing the whole publication\.$/,
    )
  })

  it('refuses a FIFO in the export folder at once, without opening it', async () => {
    const ws = workspace()
    const folder = exportCopy(ws)
    const artifact = await open(join(folder, 'endpoint-management-export-manifest.json'))
    const manifest = await readExportManifest(artifact)
    rmSync(join(folder, 'jamf-policy.json'))
    mkfifo(join(folder, 'jamf-policy.json'))
    const started = Date.now()
    const error = await inputError(() => buildPublication(artifact, manifest, ['jamf']))
    expect(error.message).toMatch(
      /jamf-policy\.json in the export folder is a named pipe \(FIFO\), not a regular file/,
    )
    expect(Date.now() - started).toBeLessThan(2_000)
    // checksums.txt as a FIFO is refused the same way.
    rmSync(join(folder, 'checksums.txt'))
    mkfifo(join(folder, 'checksums.txt'))
    expect((await inputError(() => buildPublication(artifact, manifest, ['intune']))).message).toMatch(
      /checksums\.txt in the export folder is a named pipe \(FIFO\), not a regular file/,
    )
  }, 10_000)

  it('refuses checksums.txt linking out of the export folder, and accepts a link that stays inside', async () => {
    const ws = workspace()
    const folder = exportCopy(ws)
    const outside = ws.write('elsewhere/checksums.txt', readFileSync(join(folder, 'checksums.txt')))
    rmSync(join(folder, 'checksums.txt'))
    symlinkSync(outside, join(folder, 'checksums.txt'))
    const artifact = await open(join(folder, 'endpoint-management-export-manifest.json'))
    const manifest = await readExportManifest(artifact)
    const error = await inputError(() => buildPublication(artifact, manifest, ['jamf']))
    expect(error.message).toMatch(
      /endpoint-management-export-manifest\.json: checksums\.txt is a link that leaves the export folder; refusing it \(it resolves to .*elsewhere\/checksums\.txt\)\.$/,
    )
    // A link that stays inside the folder is fine.
    rmSync(join(folder, 'checksums.txt'))
    cpSync(outside, join(folder, 'sums.txt'))
    symlinkSync('sums.txt', join(folder, 'checksums.txt'))
    await expect(buildPublication(artifact, manifest, ['jamf'])).resolves.toBeDefined()
  })

  it('refuses a manifest that arrived through a pipe: its folder is what holds the export', async () => {
    const ws = workspace()
    const folder = exportCopy(ws)
    const fifo = join(folder, 'manifest.fifo')
    mkfifo(fifo)
    feed(join(folder, 'endpoint-management-export-manifest.json'), fifo)
    const artifact = await open(fifo)
    expect((await inputError(() => readExportManifest(artifact))).message).toMatch(
      /manifest\.fifo: the export manifest must be a regular file in the export folder, not a pipe/,
    )
  }, 10_000)
})

describe('named pipes and process substitution as the artifact', () => {
  it('spools a FIFO to a private temp file, validates and reads what arrived, then removes it', async () => {
    const ws = workspace()
    const fifo = ws.path('events.fifo')
    mkfifo(fifo)
    feed(SIEM_EVENT, fifo)
    const artifact = await open(fifo)
    expect(artifact.displayPath).toBe(fifo)
    expect(artifact.file).not.toBe(fifo)
    expect(statSync(artifact.file).mode & 0o777).toBe(0o600)
    const content = readFileSync(SIEM_EVENT)
    expect(artifact.bytes).toBe(content.length)
    expect(artifact.sha256).toBe(createHash('sha256').update(content).digest('hex'))
    const summary = await validateEventFile(artifact)
    expect(summary).toMatchObject({ events: 1, decisions: 7 })
    const events: DeliveryEvent[] = []
    for await (const event of readEventFile(artifact)) events.push(event)
    expect(events[0]!.eventId).toBe('sess-2026-11-28-ci-4812')
    // A pipe cannot be read again: the source records its hash and no path.
    expect(events[0]!.source).toEqual({ path: null, sha256: artifact.sha256 })
    await artifact.dispose()
    expect(existsSync(artifact.file)).toBe(false)
  }, 10_000)

  it('refuses a bad document that arrived through a FIFO, and still removes the spool', async () => {
    const ws = workspace()
    const fifo = ws.path('deep.fifo')
    mkfifo(fifo)
    feed(ws.write('deep.json', `{"x":${nestedObjects(HOSTILE)}}`), fifo)
    const artifact = await open(fifo)
    await expect(validateEventFile(artifact)).rejects.toThrow(
      new RegExp(`deep\\.fifo: nested deeper than ${DEPTH} levels at line 1, column`),
    )
    await artifact.dispose()
    expect(existsSync(artifact.file)).toBe(false)
  }, 10_000)
})

describe('syntax errors name the real line and column', () => {
  it('in event files, for parser and tokenizer errors, also past the first read chunk', async () => {
    const ws = workspace()
    const parser = ws.write('p.json', '{\n  "event_id": "e1",\n  "x": [1, 2,,]\n}\n')
    expect((await inputError(() => validateEvents(parser))).message).toBe(
      `${parser}: line 3, column 14: not valid JSON: unexpected ",".`,
    )
    const closing = ws.write('c.json', '{\n  "event_id": "e1",\n  "x": {"a": 1]\n}\n')
    expect((await inputError(() => validateEvents(closing))).message).toBe(
      `${closing}: line 3, column 15: not valid JSON: unexpected "]".`,
    )
    const far = ws.write('far.json', `{"event_id":"e1",\n"pad":"${'x'.repeat(70_000)}",\n"y": tru }\n`)
    expect((await inputError(() => validateEvents(far))).message).toMatch(
      /far\.json: line 3, column 9: not valid JSON: unexpected " "\./,
    )
  })

  it('in release artifacts, export manifests and provider files', async () => {
    const ws = workspace()
    const text = readFileSync(PROMOTION, 'utf8')
    const broken = ws.write('p.json', text.replace('"executed",', '"executed"'))
    const line = lineOf(text, '"change_record"')
    expect(
      (
        await inputError(async () =>
          readReleaseArtifact(await open(broken), promotionExecutionSchema, 'promotion execution'),
        )
      ).message,
    ).toBe(`${broken}: line ${line}, column 3: not valid JSON: unexpected "change_record".`)
    const truncated = ws.write('t.json', text.slice(0, text.indexOf('"release"')))
    const lines = text.slice(0, text.indexOf('"release"')).split('\n')
    expect(
      (
        await inputError(async () =>
          readReleaseArtifact(await open(truncated), promotionExecutionSchema, 'promotion execution'),
        )
      ).message,
    ).toBe(
      `${truncated}: line ${lines.length}, column ${lines.at(-1)!.length + 1}: the JSON ends before it is complete (is the file truncated?).`,
    )

    const folder = exportCopy(ws)
    const manifestPath = join(folder, 'endpoint-management-export-manifest.json')
    const manifestText = readFileSync(manifestPath, 'utf8')
    writeFileSync(manifestPath, manifestText.replace('"channel": "stable",', '"channel": "stable"'))
    expect((await inputError(async () => readExportManifest(await open(manifestPath)))).message).toMatch(
      new RegExp(
        `manifest\\.json: line ${lineOf(manifestText, '"provider":')}, column 3: not valid JSON: unexpected "provider"\\.$`,
      ),
    )
    writeFileSync(manifestPath, manifestText)
    replaceExportFile(folder, 'jamf-policy.json', '{\n  "policy_name": "p",\n  "trigger": \n}\n')
    const artifact = await open(manifestPath)
    const manifest = await readExportManifest(artifact)
    expect((await inputError(() => buildPublication(artifact, manifest, ['jamf']))).message).toBe(
      'jamf-policy.json: line 4, column 1: not valid JSON: unexpected "}".',
    )
  })
})

/** A copy of examples/endpoint-export/stable in `ws`; returns its folder. */
function exportCopy(ws: Workspace): string {
  const folder = ws.path('export')
  cpSync(`${PROJECT_ROOT}/examples/endpoint-export/stable`, folder, { recursive: true })
  return folder
}

/** Replaces one file of an export copy and its line in checksums.txt, so only `content` is wrong. */
function replaceExportFile(folder: string, name: string, content: string | Buffer): void {
  writeFileSync(join(folder, name), content)
  const digest = createHash('sha256').update(content).digest('hex')
  const sums = readFileSync(join(folder, 'checksums.txt'), 'utf8')
    .split('\n')
    .map((line) => (line.endsWith(`  ${name}`) ? `${digest}  ${name}` : line))
  writeFileSync(join(folder, 'checksums.txt'), sums.join('\n'))
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', ['-m', '600', path])
}

/** Writes `file` into the FIFO `fifo` from another process (the write end blocks until read). */
function feed(file: string, fifo: string): void {
  const writer = spawn('sh', ['-c', 'cat "$0" > "$1"', file, fifo], { stdio: 'ignore' })
  writer.unref()
}
