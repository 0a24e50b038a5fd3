import { afterAll, describe, expect, it } from 'vitest'
import { TRUNCATION_MARK } from '../../src/connectors/shared/presentation.js'
import {
  ACCEPTED_ASYNC,
  ADAPTIVE_CARD,
  bodyBytes,
  readTeamsResponse,
  TEAMS_BODY_BUDGET,
  teams,
  teamsMessage,
} from '../../src/connectors/teams.js'
import type { DeliveryEvent } from '../../src/events/event.js'
import { TeamsWorkflowEmulator } from '../emulators/teams.js'
import { CANARY } from '../support/canaries.js'
import { firstEvent, promotionFixtureEvent, rollbackFixtureEvent } from '../support/deliver.js'
import { deliveryTo, useEmulators } from '../support/harness.js'
import { hostileBundle } from '../support/hostile.js'
import { Workspace } from '../support/workspace.js'

const flow = new TeamsWorkflowEmulator()
const ws = new Workspace('cavra-teams-')
const TEAMS_LIMIT = 28 * 1024

/** A flow someone turned off in the Workflows app. */
const turnedOff = new TeamsWorkflowEmulator({ enabled: false })
useEmulators(flow, turnedOff)
afterAll(() => ws.remove())

const deliver = deliveryTo('teams', () => ({
  settings: { url_env: 'TEAMS_WORKFLOW_URL' },
  env: { TEAMS_WORKFLOW_URL: flow.endpoint },
}))
const deliverTo = (url: string) => deliver({}, { env: { TEAMS_WORKFLOW_URL: url } })

type Card = { version: string; body: Array<Record<string, unknown>>; msteams: unknown }

function cardOf(message: Record<string, unknown>): Card {
  const [attachment] = message.attachments as Array<{ contentType: string; content: Card }>
  expect(attachment!.contentType).toBe(ADAPTIVE_CARD)
  return attachment!.content
}

/** Every text the card shows, TextBlocks and TextRuns alike. */
function textsOf(card: Card): string[] {
  return card.body.flatMap((element) =>
    element.type === 'TextBlock'
      ? [element.text as string]
      : element.type === 'RichTextBlock'
        ? (element.inlines as Array<{ text: string }>).map((run) => run.text)
        : element.type === 'FactSet'
          ? (element.facts as Array<{ title: string; value: string }>).map((f) => `${f.title}: ${f.value}`)
          : [],
  )
}

/** An evidence bundle of 500 decisions whose 5,000-character commands hold mentions and markup. */
const hostileEvent = () =>
  hostileBundle(ws, {
    command: (i) => `echo <!channel> & <script>alert(${i})</script> **bold** [x](https://evil.example) `,
    pad: 'ü',
    reason: 'hostile reason',
  })

describe('Teams: card building (pure)', () => {
  it('renders the sample evidence bundle as an Adaptive Card 1.4 in the message envelope', async () => {
    const message = teamsMessage(await firstEvent())
    await expect(`${JSON.stringify(message, null, 2)}\n`).toMatchFileSnapshot(
      './__golden__/teams/evidence-bundle.json',
    )
    expect(Object.keys(message)).toEqual(['type', 'attachments'])
    expect(message.type).toBe('message')
    expect(JSON.stringify(message)).not.toMatch(/MessageCard|themeColor|@type/)
    const card = cardOf(message)
    expect(card.version).toBe('1.4')
    expect(card.msteams).toEqual({ width: 'Full' })
    expect(card.body[0]).toEqual({
      type: 'TextBlock',
      text: '[HIGH] AI agent evidence sess-2026-11-28-ci-4812: 4 blocked, 1 awaiting approval of 7 decisions',
      wrap: true,
      weight: 'Bolder',
      size: 'Large',
      color: 'attention',
    })
    const texts = textsOf(card)
    expect(texts.indexOf('Most important decisions')).toBeGreaterThan(0)
    expect(texts.slice(texts.indexOf('Most important decisions') + 1)[0]).toBe(
      '• BLOCK [critical] rm -rf / (destructive.rm_root): destructive filesystem command',
    )
    expect(texts).toContain('Blocked: 4')
  })

  it('renders the promotion audit event', async () => {
    const message = teamsMessage(await promotionFixtureEvent())
    await expect(`${JSON.stringify(message, null, 2)}\n`).toMatchFileSnapshot(
      './__golden__/teams/promotion.json',
    )
    expect(cardOf(message).body[0]).toMatchObject({
      color: 'attention',
      text: expect.stringMatching(/^\[HIGH\] Release v0\.2\.0 promoted/),
    })
  })

  it('shows a critical rollback as CRITICAL in the attention colour, with what, where, why, approval and change', async () => {
    const message = teamsMessage(await rollbackFixtureEvent())
    await expect(`${JSON.stringify(message, null, 2)}\n`).toMatchFileSnapshot(
      './__golden__/teams/rollback.json',
    )
    const card = cardOf(message)
    expect(card.body[0]).toMatchObject({
      type: 'TextBlock',
      text: '[CRITICAL] Release v0.2.0 rolled back stable → canary in prod',
      weight: 'Bolder',
      size: 'Large',
      color: 'attention',
    })
    const all = textsOf(card).join('\n')
    for (const expected of [
      'Reason: Policy engine crash loop on macOS 15.2 hosts after promotion.',
      'Approval: apr_c4d91e0b7a22 (approved by ic@acme.example: Sev-2 incident INC0098812.)',
      'Change record: CHG0031219',
      'Rings: stable → canary',
      '• linux-amd64-fleet: restore previous binary and restart cavra-runtime.service',
      'References: rollout://rol_stable_2026_11',
    ]) {
      expect(all).toContain(expected)
    }
  })

  it('colours every severity in its own terms, never as routine', async () => {
    const event = await firstEvent()
    const titleOf = (severity: DeliveryEvent['severity']) =>
      cardOf(teamsMessage({ ...event, severity })).body[0]!
    expect(titleOf('critical')).toMatchObject({
      color: 'attention',
      size: 'Large',
      text: expect.stringMatching(/^\[CRITICAL\]/),
    })
    expect(titleOf('medium')).toMatchObject({
      color: 'warning',
      size: 'Medium',
      text: expect.stringMatching(/^\[MEDIUM\]/),
    })
    expect(titleOf('low')).toMatchObject({ color: 'accent', text: expect.stringMatching(/^\[LOW\]/) })
    expect(titleOf('info')).toMatchObject({ color: 'good', text: expect.stringMatching(/^\[INFO\]/) })
  })

  it('keeps 500 hostile decisions under 28 KB, verbatim in TextRuns and marked as truncated', async () => {
    const message = teamsMessage(await hostileEvent(), 'Payments')
    expect(bodyBytes(message)).toBeLessThanOrEqual(TEAMS_BODY_BUDGET)
    const card = cardOf(message)
    const items = card.body.filter(
      (element) =>
        element.type === 'RichTextBlock' &&
        (element.inlines as Array<{ text: string }>)[0]!.text.startsWith('• '),
    )
    expect(items.length).toBeGreaterThan(0)
    for (const item of items) {
      const run = (item.inlines as Array<{ text: string }>)[0]!
      expect(run.text.startsWith('• BLOCK [critical] echo <!channel> & <script>alert(')).toBe(true)
      expect(run.text.endsWith(TRUNCATION_MARK)).toBe(true)
    }
    expect(textsOf(card)).toContainEqual(expect.stringMatching(/^…and 49\d more not shown$/))
    expect(card.body[0]!.text).toMatch(/^\[CRITICAL\] Payments: AI agent evidence/)
  })

  it('falls back to a short card when even the smallest rendering is too large', async () => {
    const event = await firstEvent()
    const control = '\u0001'.repeat(5000)
    const huge: DeliveryEvent = {
      ...event,
      view: {
        ...event.view,
        summary: control,
        facts: Array.from({ length: 30 }, (_, i) => ({ label: `${control}${i}`, value: control })),
      },
    }
    const message = teamsMessage(huge)
    expect(bodyBytes(message)).toBeLessThanOrEqual(TEAMS_BODY_BUDGET)
    expect(textsOf(cardOf(message))).toContain(
      'The facts and highlights did not fit the Teams message size limit; see the source artifact.',
    )
  })

  it('maps every answer of the trigger to success, retry or a final error with what to do', () => {
    const answer = (status: number, body = '', headers: Record<string, string> = {}) =>
      readTeamsResponse({ status, headers, body, truncated: false })
    const azure = (code: string, message: string) => JSON.stringify({ error: { code, message } })
    expect(answer(202, '', { 'x-ms-workflow-run-id': '08584123' })).toEqual({
      kind: 'ok',
      value: { runId: '08584123', accepted: true },
    })
    expect(answer(200, 'posted')).toEqual({ kind: 'ok', value: { runId: null, accepted: false } })
    const final: Array<[number, string, RegExp]> = [
      [
        400,
        azure('MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required.'),
        /copy the whole URL/,
      ],
      [
        400,
        azure('InvalidTemplate', "the result of the evaluation of 'foreach' expression … is of type 'Null'"),
        /^InvalidTemplate: .*'foreach'/,
      ],
      [400, azure('WorkflowTriggerIsNotEnabled', "state is 'Disabled'"), /turn it on in the Workflows app/],
      [400, azure('TriggerInputSchemaMismatch', 'did not match its schema'), /remove or widen it/],
      [
        401,
        azure(
          'DirectApiAuthorizationRequired',
          'The request must be authenticated only by Shared Access scheme.',
        ),
        /"Anyone"/,
      ],
      [
        401,
        azure('DirectApiInvalidAuthorizationSignature', 'The provided authorization signature is not valid.'),
        /with its sig parameter/,
      ],
      [403, '', /"Anyone"/],
      [404, azure('WorkflowNotFound', 'The workflow could not be found.'), /deleted: create it again/],
      [404, '', /deleted or turned off/],
      [413, azure('RequestEntityTooLarge', 'too large'), /larger than the flow accepts/],
    ]
    for (const [status, body, fix] of final) {
      const verdict = answer(status, body)
      expect(verdict.kind, body).toBe('failed')
      expect((verdict as { reason: string }).reason, body).toMatch(fix)
    }
    for (const status of [408, 429, 500, 502, 503, 504])
      expect(answer(status, 'busy').kind, String(status)).toBe('retryable')
  })

  it('warns about retired connector URLs, old trigger hosts and URLs without sig, never repeating the URL', () => {
    const warningsFor = (url: string) => {
      const warnings: string[] = []
      teams.configure({ url }, { name: 'teams', warn: (m) => warnings.push(m) })
      return warnings
    }
    for (const url of [
      'https://acme.webhook.office.com/webhookb2/abc@def/IncomingWebhook/0123/secretish',
      'https://outlook.office.com/webhook/abc@def/IncomingWebhook/0123/secretish',
    ]) {
      const [warning, ...rest] = warningsFor(url)
      expect(rest).toEqual([])
      expect(warning).toMatch(
        /Office 365 connector webhook, which Microsoft has retired; create a Workflows trigger/,
      )
      expect(warning).not.toContain('secretish')
    }
    expect(
      warningsFor(
        'https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=secretish',
      ),
    ).toEqual([
      'connector teams: url is an older Workflows trigger URL (…logic.azure.com), which Microsoft no longer serves; copy the current URL from the trigger.',
    ])
    expect(
      warningsFor(
        'https://x.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?api-version=1',
      )[0],
    ).toMatch(/no sig parameter.*"Who can trigger the flow\?" to "Anyone"/)
    expect(warningsFor(flow.endpoint)).toEqual([])
    expect(() => teams.configure({}, { name: 'teams', warn: () => {} })).toThrow(/url is required/)
    expect(() => teams.configure({ url: 'not a url secretish' }, { name: 'teams', warn: () => {} })).toThrow(
      /^url is not a valid URL \(the Workflows trigger URL copied from Teams\)\.$/,
    )
  })
})

describe('Teams: delivery against the Workflows emulator', () => {
  it('posts the card, keeps the run id, and keeps the signature out of the evidence', async () => {
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({ success: true, status_code: 202, attempt_count: 1, records_sent: 1 })
    // 202: the flow queued the run; the card is posted later, which the evidence says.
    expect(delivery).toMatchObject({ accepted_async: true, warnings: [ACCEPTED_ASYNC] })
    expect(flow.cards).toHaveLength(1)
    expect(delivery.remote_reference).toBe(flow.cards[0]!.runId)
    expect(flow.requests[0]!.query.get('sig')).toBe(CANARY.teamsSig)
    expect(delivery.request?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/REDACTED$/)
    expect(JSON.stringify(result)).not.toContain(CANARY.teamsSig)
  })

  it('reports plain success when the flow answers 200 after posting (a Response action)', async () => {
    flow.options.responseAction = true
    try {
      const delivery = (await deliver()).deliveries[0]!
      expect(delivery).toMatchObject({ success: true, status_code: 200, records_sent: 1 })
      expect(delivery.remote_reference).toBe(flow.cards[0]!.runId)
      expect(delivery).not.toHaveProperty('accepted_async')
      expect(delivery).not.toHaveProperty('warnings')
    } finally {
      flow.options.responseAction = undefined
    }
  })

  it('delivers the critical rollback and the 500-decision bundle, both accepted under 28 KB', async () => {
    for (const event of [await rollbackFixtureEvent(), await hostileEvent()]) {
      const delivery = (await deliver({}, { event })).deliveries[0]!
      expect(delivery.success).toBe(true)
      expect(delivery.request!.body_bytes).toBeLessThan(TEAMS_LIMIT)
    }
    expect(flow.rejected).toEqual([])
    expect(flow.cards.map((c) => (c.card.body as Array<{ text?: string }>)[0]!.text)).toEqual([
      '[CRITICAL] Release v0.2.0 rolled back stable → canary in prod',
      '[CRITICAL] AI agent evidence sess-hostile-500: 250 blocked, 0 awaiting approval of 500 decisions',
    ])
  })

  it('fails at once on a wrong signature, saying how to fix the trigger', async () => {
    const url = flow.endpoint.replace(CANARY.teamsSig, 'wrongSignatureValue0123')
    const delivery = (await deliverTo(url)).deliveries[0]!
    expect(delivery).toMatchObject({ success: false, status_code: 401, attempt_count: 1 })
    expect(delivery.error).toMatch(
      /DirectApiInvalidAuthorizationSignature: The provided authorization signature is not valid\.; use the complete URL/,
    )
    expect(JSON.stringify(delivery)).not.toContain('wrongSignatureValue0123')
  })

  it('warns about, then fails on, a URL without sig', async () => {
    const url = flow.endpoint.replace(/&sig=[^&]+/, '')
    const delivery = (await deliverTo(url)).deliveries[0]!
    expect(delivery).toMatchObject({ success: false, status_code: 401, attempt_count: 1 })
    expect(delivery.error).toMatch(/DirectApiAuthorizationRequired: .*"Anyone"/)
    expect(delivery.warnings).toEqual([expect.stringMatching(/url has no sig parameter/)])
  })

  it('fails at once when the flow is turned off or deleted', async () => {
    const off = (await deliverTo(turnedOff.endpoint)).deliveries[0]!
    expect(off).toMatchObject({ success: false, status_code: 400, attempt_count: 1 })
    expect(off.error).toMatch(/WorkflowTriggerIsNotEnabled: .*turn it on in the Workflows app/)
    const deleted = (
      await deliverTo(flow.endpoint.replace(flow.workflowId, 'ffffffffffffffffffffffffffffffff'))
    ).deliveries[0]!
    expect(deleted).toMatchObject({ success: false, status_code: 404, attempt_count: 1 })
    expect(deleted.error).toMatch(/WorkflowNotFound: .*create it again/)
  })
})

describe('Teams: the emulator refuses what the flow refuses', () => {
  const post = async (body: string, url = flow.endpoint) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    return [response.status, await response.text()] as const
  }
  const card = (version = '1.4') => ({
    type: 'AdaptiveCard',
    version,
    body: [{ type: 'TextBlock', text: 'hi', wrap: true }],
  })
  const envelope = (content: object) =>
    JSON.stringify({ type: 'message', attachments: [{ contentType: ADAPTIVE_CARD, content }] })

  it('answers like the trigger and its template', async () => {
    const [bare, bareBody] = await post(JSON.stringify(card()))
    expect(bare).toBe(400)
    expect(bareBody).toContain(
      "'foreach' expression '@triggerOutputs()?['body']?['attachments']' is of type 'Null'",
    )
    const messageCard = {
      '@type': 'MessageCard',
      '@context': 'https://schema.org/extensions',
      themeColor: 'C62828',
      summary: 'x',
    }
    expect((await post(JSON.stringify(messageCard)))[0]).toBe(400)
    expect(await post(envelope(card('2.0')))).toEqual([
      400,
      expect.stringContaining("version '2.0' is not supported"),
    ])
    expect(
      (await post(envelope({ ...card(), body: [{ type: 'TextBlock', text: 'x', color: 'red' }] })))[0],
    ).toBe(400)
    expect(
      await post(envelope({ ...card(), body: [{ type: 'TextBlock', text: 'x'.repeat(29 * 1024) }] })),
    ).toEqual([413, expect.stringContaining('RequestEntityTooLarge')])
    expect(await post(envelope(card()), flow.endpoint.replace(/api-version=1&/, ''))).toEqual([
      400,
      expect.stringContaining('MissingApiVersionParameter'),
    ])
    expect(await post(envelope(card()))).toEqual([202, ''])
    expect(flow.cards).toHaveLength(1)
  })
})
