import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openArtifact } from '../../src/events/artifact.js'
import {
  decisionSchema,
  eventHeaderSchema,
  isPlainDecision,
  plainHeader,
} from '../../src/events/input-schema.js'
import { validateEventFile } from '../../src/events/integration-event.js'

/**
 * Validation checks the fields of a plain decision directly and asks the schema only about
 * the others: it must accept exactly the decisions the schema accepts, find the same highest
 * severity, and name the same first problem.
 */

const dir = mkdtempSync(join(tmpdir(), 'cavra-decision-check-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const CANDIDATES = [
  '{}',
  '{"decision_id":"d-1","decision":"block","severity":"critical","command":"rm -rf /"}',
  '{"decision_id":7,"decision":"allow","severity":"low","extra":{"nested":[1,2]}}',
  '{"decision_id":1e400}',
  '{"decision_id":-0}',
  '{"decision_id":true}',
  '{"decision_id":null}',
  '{"decision":"deny"}',
  '{"decision":"require_approval","severity":"info"}',
  '{"severity":"HIGH"}',
  '{"severity":null}',
  '{"timestamp":5}',
  '{"reason":["a"]}',
  '{"policy_id":"","action_type":""}',
  '{"__proto__":{"severity":"critical"}}',
  '{"severity":"medium","severity":"high"}',
  'null',
  '[]',
  '"text"',
  '42',
]

describe('the check of each decision', () => {
  it('accepts, ranks and refuses decisions as the schema does', async () => {
    let file = 0
    for (const a of CANDIDATES) {
      for (const b of CANDIDATES) {
        const decisions = [JSON.parse(a), JSON.parse(b)]
        const path = join(dir, `e${file++}.json`)
        writeFileSync(
          path,
          `{"event_id":"evt-1","event_type":"cavra.evidence_bundle","max_severity":"low","decisions":[${a},${b}]}`,
        )
        const artifact = await openArtifact(path)
        const outcome = await validateEventFile(artifact).then(
          (summary) => ({ decisions: summary.decisions, warnings: summary.warnings }),
          (error: Error) => ({ error: error.message }),
        )
        const firstBad = decisions.findIndex((decision) => !decisionSchema().safeParse(decision).success)
        if (firstBad >= 0) {
          expect(outcome, `${a}, ${b}`).toHaveProperty('error')
          expect((outcome as { error: string }).error, `${a}, ${b}`).toContain(`$.decisions[${firstBad}]`)
        } else {
          const severities = decisions
            .map((decision) => decisionSchema().parse(decision).severity)
            .filter(Boolean)
          const ranked = ['info', 'low', 'medium', 'high', 'critical']
          const highest = severities.sort((x, y) => ranked.indexOf(y!) - ranked.indexOf(x!))[0]
          expect(outcome, `${a}, ${b}`).toEqual({
            decisions: 2,
            warnings:
              highest && ranked.indexOf(highest) > 1
                ? [expect.stringContaining(`holds a ${highest} decision`)]
                : [],
          })
        }
      }
    }
  })
})

const HEADER_VALUES: Record<string, unknown[]> = {
  event_type: ['cavra.evidence_bundle', '', 'bad\u001b[2Jtype', 7, null],
  event_id: ['evt-1', 42, -0.5, null, '', 'id\u0007', true, {}],
  session_id: ['sess-1', 0, null, ['x']],
  timestamp: ['2026-11-28T10:00:00Z', 5, null],
  product: ['CAVRA', ''],
  decision_count: [0, 3, -1, 2.5, 2 ** 53, '3', null],
  blocked_count: [1, -0],
  max_severity: ['high', 'HIGH', null],
  severity: ['critical', 'unknown'],
  decisions: [[], [{ severity: 'low' }], [{ severity: 'LOW' }], [null], 'many', { length: 0 }],
}

describe('the check of an event header', () => {
  it('accepts exactly the headers the schema accepts, as the schema reads them', () => {
    for (const [key, values] of Object.entries(HEADER_VALUES)) {
      for (const value of values) {
        const fields = { event_id: 'evt-base', extra: { kept: [1, 2] }, [key]: value }
        const parsed = eventHeaderSchema().safeParse(fields)
        const plain = plainHeader(fields)
        expect(plain !== undefined, `${key}: ${JSON.stringify(value)}`).toBe(parsed.success)
        if (plain) expect(plain).toEqual(parsed.data)
      }
    }
  })

  it('accepts exactly the decisions the schema accepts', () => {
    for (const candidate of CANDIDATES) {
      const decision = JSON.parse(candidate)
      expect(isPlainDecision(decision), candidate).toBe(decisionSchema().safeParse(decision).success)
    }
  })
})
