import { describe, expect, it } from 'vitest'
import { CONNECTORS } from '../../src/connectors/index.js'
import type { Fault } from '../emulators/emulator.js'
import { leakedCanaries } from '../support/canaries.js'
import { deliveryTo, useEmulators } from '../support/harness.js'
import { CONFORMANCE, matches } from './conformance.js'

/**
 * Every connector against hostile answers on its main request: escape sequences that repaint
 * a terminal or fake an "ok" line, workflow commands and markup, a redirect elsewhere, a body
 * far over the read limit. Whatever comes back, the recorded delivery is inert (no control
 * character, no workflow command, no secret), the redirect is not followed and the error stays
 * short. Servers that echo credentials, never answer or answer too late are in the conformance
 * suite; compressed bombs and endless bodies are bounded by the transport (test/unit/http.test.ts).
 */

interface Hostile {
  name: string
  fault: Fault
  /** Extra checks on the recorded error. */
  check?: (error: string) => void
}

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/
const inOrder = { concurrent: false } as const

const HOSTILE: Hostile[] = [
  {
    name: 'escape sequences that fake an ok line and a hyperlink',
    fault: {
      kind: 'status',
      status: 400,
      body: '\u001b[2K\r\u001b[32mok\u001b[0m delivered \u001b]8;;https://evil.example/\u0007click\u001b]8;;\u0007 \u202egpj.exe',
    },
  },
  {
    name: 'workflow commands and markup',
    fault: {
      kind: 'status',
      status: 400,
      body: '\n::error title=cavra::all good\n##[warning]fake\n<img src=x onerror=alert(1)> [docs](https://evil.example)',
    },
    check: (error) => {
      expect(error).not.toMatch(/^\s*::/m)
      expect(error).not.toContain('##[')
    },
  },
  {
    name: 'a redirect elsewhere',
    fault: { kind: 'status', status: 302, body: '', headers: { location: 'https://evil.example/steal' } },
  },
  {
    name: 'a body far over the read limit',
    fault: { kind: 'status', status: 400, body: 'x'.repeat(3 * 1024 * 1024) },
    check: (error) => expect(error.length).toBeLessThan(4096),
  },
]

for (const connector of CONNECTORS) {
  const make = CONFORMANCE[connector.provider]
  if (!make) continue
  describe(`${connector.title} (${connector.provider}) against hostile servers`, { concurrent: true }, () => {
    const row = make()
    const [primary] = row.primary
    useEmulators(...row.emulators)
    const delivery = deliveryTo(connector.provider, () => ({
      settings: row.settings,
      env: row.env(),
      event: row.event,
    }))
    for (const hostile of HOSTILE) {
      it(`records ${hostile.name} inertly and fails the delivery`, inOrder, async () => {
        // Every attempt meets the same answer.
        row.vendor.inject(hostile.fault, 10, matches(primary!))
        const result = await delivery({}, { retries: 1, timeoutMs: 2000 })
        const record = result.deliveries[0]!
        expect(record.success).toBe(false)
        const text = `${JSON.stringify(result)}\n${result.evidence}`
        expect(text, 'a control character reached the result').not.toMatch(CONTROL)
        expect(leakedCanaries(text)).toEqual([])
        const error = record.error ?? ''
        expect(error).not.toMatch(CONTROL)
        hostile.check?.(error)
        // A redirect is never followed: nothing reached another host, one request per attempt.
        if (hostile.fault.kind === 'status' && hostile.fault.status === 302) {
          expect(error).toMatch(/redirect|302|Found/i)
        }
      })
    }
  })
}
