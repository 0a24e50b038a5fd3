import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/common/canonical-json.js'
import { InputError } from '../../src/common/errors.js'
import { openArtifact } from '../../src/events/artifact.js'
import type { DeliveryEvent } from '../../src/events/event.js'
import { readEventFile, validateEventFile } from '../../src/events/integration-event.js'
import { PROJECT_ROOT } from '../support/cli.js'
import { Workspace } from '../support/workspace.js'

const workspaces: Workspace[] = []
function workspace(): Workspace {
  const ws = new Workspace()
  workspaces.push(ws)
  return ws
}
afterEach(() => {
  for (const ws of workspaces.splice(0)) ws.remove()
})

async function eventsOf(path: string): Promise<DeliveryEvent[]> {
  const artifact = await openArtifact(path)
  await validateEventFile(artifact)
  const events: DeliveryEvent[] = []
  for await (const event of readEventFile(artifact)) events.push(event)
  return events
}

async function decisionsOf(event: DeliveryEvent): Promise<unknown[]> {
  const all: unknown[] = []
  for await (const decision of event.decisions()) all.push(decision)
  return all
}

async function inputError(path: string): Promise<InputError> {
  const artifact = await openArtifact(path).catch((error) => {
    throw error
  })
  try {
    await validateEventFile(artifact)
  } catch (error) {
    if (error instanceof InputError) return error
    throw error
  }
  throw new Error('expected an input error')
}

describe('integration events', () => {
  it('reads the sample evidence bundle: identity, severity, decisions and view', async () => {
    const [event] = await eventsOf(`${PROJECT_ROOT}/examples/events/siem-event.json`)
    expect(event!.eventId).toBe('sess-2026-11-28-ci-4812')
    expect(event!.eventType).toBe('cavra.evidence_bundle')
    expect(event!.severity).toBe('high')
    expect(event!.decisionCount).toBe(7)
    expect('decisions' in event!.fields).toBe(false)
    const original = JSON.parse(readFileSync(`${PROJECT_ROOT}/examples/events/siem-event.json`, 'utf8'))
    expect(await decisionsOf(event!)).toEqual(original.decisions)
    // Decisions can be streamed again by every connector.
    expect(await decisionsOf(event!)).toHaveLength(7)
    expect(event!.view.highlights?.items[0]).toMatch(/^BLOCK \[critical\] rm -rf \//)
    expect(event!.view.highlights?.items.slice(0, 4).every((item) => item.startsWith('BLOCK'))).toBe(true)
    expect(event!.source?.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(`${PROJECT_ROOT}/examples/events/siem-event.json`))
        .digest('hex'),
    )
  })

  it('warns when a decision is more severe than the declared max_severity', async () => {
    const artifact = await openArtifact(`${PROJECT_ROOT}/examples/events/siem-event.json`)
    const summary = await validateEventFile(artifact)
    expect(summary).toMatchObject({ events: 1, decisions: 7 })
    expect(summary.warnings[0]).toMatch(/declares max_severity high but holds a critical decision/)
  })

  it('takes identity from the first present of the identity fields, in their order', async () => {
    const ws = workspace()
    const file = ws.write(
      'e.jsonl',
      [
        JSON.stringify({ request_id: 'r1', approval_id: 'a1' }),
        JSON.stringify({ execution_id: 'x1', session_id: 's1' }),
        JSON.stringify({ event_id: 'e1', session_id: 's1' }),
        JSON.stringify({ session_id: '  ', rollback_id: 'rb1' }),
      ].join('\n'),
    )
    const events = await eventsOf(file)
    expect(events.map((e) => e.eventId)).toEqual(['a1', 's1', 'e1', 'rb1'])
    expect(events[0]!.eventType).toBe('cavra.connector.event')
    expect(events[0]!.severity).toBe('low')
  })

  it('falls back to evt_ + 12 hex of the sha256 of the canonical event, decisions included', async () => {
    const ws = workspace()
    const content = { zeta: 1, decisions: [{ decision: 'block', command: 'x' }], alpha: { b: 2, a: 1 } }
    const file = ws.write(
      'anon.json',
      `{"zeta":1,"decisions":[{"decision":"block","command":"x"}],"alpha":{"b":2,"a":1}}`,
    )
    const [event] = await eventsOf(file)
    const expected = createHash('sha256').update(canonicalJson(content)).digest('hex').slice(0, 12)
    expect(event!.eventId).toBe(`evt_${expected}`)
  })

  it('reads JSON arrays and JSON Lines as several events', async () => {
    const ws = workspace()
    const array = ws.write(
      'a.json',
      JSON.stringify([{ session_id: 'a', decisions: [{ decision: 'allow' }] }, { session_id: 'b' }]),
    )
    expect((await eventsOf(array)).map((e) => [e.eventId, e.decisionCount])).toEqual([
      ['a', 1],
      ['b', 0],
    ])
    const lines = ws.write('l.jsonl', '{"session_id":"a"}\n\n{"session_id":"b","decisions":[]}\n')
    expect((await eventsOf(lines)).map((e) => e.eventId)).toEqual(['a', 'b'])
  })

  it('delivers the bytes it hashed: a small file is read once, a large one streamed from its file', async () => {
    const ws = workspace()
    const decisions = (prefix: string, count: number) =>
      Array.from({ length: count }, (_, i) => ({
        decision_id: `${prefix}-${i}`,
        action: 'deploy',
        severity: 'low',
      }))
    const small = ws.write('small.json', { session_id: 's', decisions: decisions('before', 3) })
    const sha256 = createHash('sha256').update(readFileSync(small)).digest('hex')
    const artifact = await openArtifact(small)
    expect(Buffer.isBuffer(artifact.source)).toBe(true)
    await validateEventFile(artifact)
    // Replaced after it was opened and checked: what is delivered is still what was hashed.
    ws.write('small.json', { session_id: 's', decisions: decisions('after', 3) })
    const [event] = await (async () => {
      const events: DeliveryEvent[] = []
      for await (const event of readEventFile(artifact)) events.push(event)
      return events
    })()
    expect(artifact.sha256).toBe(sha256)
    expect(await decisionsOf(event!)).toEqual(decisions('before', 3))

    // Past a megabyte the file is read again for each pass, a window at a time.
    const large = ws.write('large.json', { session_id: 'l', decisions: decisions('x'.repeat(200), 6000) })
    expect(readFileSync(large).length).toBeGreaterThan(1024 * 1024)
    const streamed = await openArtifact(large)
    expect(streamed.source).toBe(large)
    const [read] = await eventsOf(large)
    expect(await decisionsOf(read!)).toEqual(decisions('x'.repeat(200), 6000))
  })

  it('reads standard input through a private spool file', async () => {
    const artifact = await openArtifact('-', Readable.from([Buffer.from('{"session_id":"from-stdin"}')]))
    expect(artifact.displayPath).toBe('-')
    await validateEventFile(artifact)
    const events: DeliveryEvent[] = []
    for await (const event of readEventFile(artifact)) events.push(event)
    expect(events[0]!.eventId).toBe('from-stdin')
    await artifact.dispose()
  })

  it('names the file, line and JSON path of a bad value', async () => {
    const ws = workspace()
    const file = ws.write(
      'bad.jsonl',
      '{"session_id":"ok"}\n{"session_id":"x","decisions":[{"decision":"allow"},{"decision":"deny"}]}\n',
    )
    const error = await inputError(file)
    expect(error.message).toContain('bad.jsonl: line 2: $.decisions[1].decision')
    expect(error.message).toContain('"allow"|"block"|"require_approval"')
    expect(error.exitCode).toBe(4)
  })

  it('names the array index of a bad event in a JSON array', async () => {
    const ws = workspace()
    const file = ws.write(
      'bad.json',
      JSON.stringify([{ session_id: 'a' }, { session_id: 'b', max_severity: 'urgent' }]),
    )
    const error = await inputError(file)
    expect(error.message).toContain('$[1].max_severity')
  })

  it('reports not-JSON, truncated, empty and binary files with their position', async () => {
    const ws = workspace()
    expect((await inputError(ws.write('x.json', '{\n  "a": 1,\n  "b": tru\n}'))).message).toMatch(
      /x\.json: line 3, column \d+: not valid JSON/,
    )
    expect((await inputError(ws.write('t.json', '{"a": [1, 2'))).message).toMatch(
      /ends before it is complete/,
    )
    await expect(openArtifact(ws.write('e.json', ''))).rejects.toThrow(/e\.json: the file is empty/)
    await expect(
      openArtifact(ws.write('b.json', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0x00]))),
    ).rejects.toThrow(/looks like a binary file/)
    await expect(openArtifact(ws.path('missing.json'))).rejects.toThrow(
      /missing\.json: cannot read the file \(no such file\)/,
    )
    expect((await inputError(ws.write('n.json', '[1]'))).message).toMatch(
      /\$\[0\]\): expected an event object, found a number/,
    )
  })
})
