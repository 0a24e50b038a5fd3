import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { ByteSource } from '../../src/events/byte-source.js'
import {
  FastScanFailure,
  fastReadDecisions,
  fastScanEvents,
  parseElement,
} from '../../src/events/json-fast-scan.js'
import {
  MAX_JSON_DEPTH,
  readDecisions,
  readDecisionsExactly,
  type ScannedEvent,
  scanEvents,
  scanEventsExactly,
} from '../../src/events/json-scan.js'

/**
 * The quick scanner must read every well-formed event file exactly as the token parser does
 * (same events, lines, fields, decision ranges and decisions), whatever its windows cut, and
 * give up on anything else; scanEvents then ends with the token parser's own error. Each reads
 * a file's kept bytes (a small artifact's) exactly as it reads the file.
 */

const dir = mkdtempSync(join(tmpdir(), 'cavra-quick-scan-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let count = 0
function file(text: string | Buffer): string {
  const path = join(dir, `f${count++}.json`)
  writeFileSync(path, text)
  return path
}

type Visit = [number, number, string, number, unknown]

/** Every event, visit and decision of `source`, through a scanner and its decisions reader. */
async function readThrough(
  source: ByteSource,
  scan: typeof scanEvents,
  read: typeof readDecisions,
): Promise<{ visits: Visit[]; events: ScannedEvent[]; decisions: unknown[] }> {
  const visits: Visit[] = []
  const events: ScannedEvent[] = []
  const decisions: unknown[] = []
  for await (const event of scan(source, (e, d, p) => visits.push([e.index, e.line, e.layout, p, d]))) {
    events.push(event)
    if (event.decisions) for await (const d of read(source, event.decisions)) decisions.push(d)
  }
  return { visits, events, decisions }
}

/** The token parser's reading: the reference. */
const exactly = (source: ByteSource) => readThrough(source, scanEventsExactly, readDecisionsExactly)

async function quickly(path: ByteSource, chunkBytes: number) {
  const visits: Visit[] = []
  const events: ScannedEvent[] = []
  const decisions: unknown[] = []
  let current = { index: 0, line: 0, layout: 'object' as 'object' | 'array' }
  const scan = fastScanEvents(
    path,
    {
      eventStart: (index, line, layout) => {
        current = { index, line, layout }
      },
      decision: (value, position) =>
        visits.push([current.index, current.line, current.layout, position, value]),
      eventEnd: (fields, range) => events.push({ ...current, fields, decisions: range }),
    },
    { maxDepth: MAX_JSON_DEPTH, parseDecisionsOf: () => true, chunkBytes },
  )
  for await (const _ of scan) {
  }
  for (const event of events) {
    if (!event.decisions) continue
    for await (const { data, count, starts, ends } of fastReadDecisions(
      path,
      event.decisions,
      MAX_JSON_DEPTH,
    )) {
      for (let i = 0; i < count; i++) decisions.push(parseElement(data, starts[i]!, ends[i]!))
    }
  }
  return { visits, events, decisions }
}

/** A deterministic generator of JSON values of every kind, escapes and characters included. */
function generator(seed: number) {
  let state = seed >>> 0
  const next = () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!
  const space = () => pick(['', '', ' ', '\n', '\t', ' \r\n  '])
  const text = () =>
    JSON.stringify(
      pick([
        '',
        'plain',
        'quote " and \\ backslash',
        'é ü 日本 😀',
        '\u0001\u001f',
        '[{]}',
        'decisions',
        ':,',
      ]),
    )
  const value = (depth: number): string => {
    const kind = depth > 3 ? pick(['n', 's', 'b']) : pick(['n', 's', 'b', 'o', 'a', 'z'])
    if (kind === 'n') return pick(['0', '-1', '3.25', '1e400', '-0', '12345678901234567890', '2.5E-3'])
    if (kind === 's') return text()
    if (kind === 'b') return pick(['true', 'false', 'null'])
    if (kind === 'z') return `${space()}[${space()}]`
    if (kind === 'a')
      return `[${Array.from({ length: Math.floor(next() * 3) }, () => space() + value(depth + 1) + space()).join(',')}]`
    return `{${Array.from({ length: Math.floor(next() * 4) }, () => `${space()}${text()}${space()}:${space()}${value(depth + 1)}`).join(',')}}`
  }
  const event = () => {
    const members = Array.from({ length: Math.floor(next() * 4) }, () => `${text()}:${space()}${value(1)}`)
    if (next() < 0.8) {
      const decisions = Array.from({ length: Math.floor(next() * 6) }, () => space() + value(2) + space())
      members.splice(
        Math.floor(next() * (members.length + 1)),
        0,
        `${pick(['"decisions"', '"decision\\u0073"'])}${space()}:${space()}[${decisions.join(',')}]`,
      )
    }
    return `{${space()}${members.join(`${space()},${space()}`)}${space()}}`
  }
  return { next, event, space }
}

describe('the quick event-file scanner', () => {
  it('reads every well-formed file as the token parser does, whatever its windows cut', async () => {
    for (let seed = 1; seed <= 60; seed++) {
      const g = generator(seed)
      const events = Array.from({ length: 1 + Math.floor(g.next() * 4) }, g.event)
      const text =
        g.next() < 0.5
          ? `${g.space()}[${events.map((e) => g.space() + e + g.space()).join(',')}]${g.space()}`
          : events.map((e) => g.space() + e).join(g.next() < 0.5 ? '\n' : '') + g.space()
      const path = file(text)
      const kept = readFileSync(path)
      const reference = await exactly(path)
      expect(await exactly(kept), `seed ${seed}, kept bytes`).toEqual(reference)
      for (const chunk of [1, 3, 17, 1 << 20])
        expect(await quickly(path, chunk), `seed ${seed}, chunk ${chunk}`).toEqual(reference)
      expect(await quickly(kept, 1 << 20), `seed ${seed}, kept bytes`).toEqual(reference)
      // And through the public readers, which fall back when they must.
      for (const source of [path, kept])
        expect(await readThrough(source, scanEvents, readDecisions)).toEqual(reference)
    }
  })

  it('gives up on what is not well-formed, and scanEvents ends with the token parser’s error', async () => {
    const broken = [
      '',
      '   ',
      '{"a":tru,"decisions":[{"x":1}]}',
      '{"a":1,"decisions":[{"x":1},]}',
      '{"a":1,"decisions":[{"x":1}',
      '[{"a":1}] x',
      '{"a":01}',
      '{"a":"tab\there"}',
      '5',
      '[1]',
      `{"decisions":[${'['.repeat(300)}${']'.repeat(300)}]}`,
      '\u00ef\u00bb\u00bf{"a":1}',
    ]
    for (const text of broken) {
      const path = file(Buffer.from(text, 'latin1'))
      const exact = await exactly(path).then(
        () => 'no error',
        (error: Error) => error.message,
      )
      for (const source of [path, readFileSync(path)]) {
        await expect(quickly(source, 1 << 20)).rejects.toBeInstanceOf(FastScanFailure)
        const viaScan = await (async () => {
          for await (const _ of scanEvents(source)) {
          }
          return 'no error'
        })().catch((error: Error) => error.message)
        expect(viaScan, JSON.stringify(text)).toBe(exact)
      }
    }
  })
})
