import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openArtifact } from '../../src/events/artifact.js'
import { decisionSchema } from '../../src/events/input-schema.js'
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
        const firstBad = decisions.findIndex((decision) => !decisionSchema.safeParse(decision).success)
        if (firstBad >= 0) {
          expect(outcome, `${a}, ${b}`).toHaveProperty('error')
          expect((outcome as { error: string }).error, `${a}, ${b}`).toContain(`$.decisions[${firstBad}]`)
        } else {
          const severities = decisions
            .map((decision) => decisionSchema.parse(decision).severity)
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
