import { afterAll, describe, expect, it } from 'vitest'
import { SEVERITY_COLOUR, TRUNCATION_MARK } from '../../src/connectors/shared/presentation.js'
import {
  blockTextLength,
  escapeSlack,
  readSlackResponse,
  SLACK_LIMITS,
  type SlackBlock,
  type SlackMessage,
  slack,
  slackMessage,
  slackText,
} from '../../src/connectors/slack.js'
import { SlackWebhookEmulator } from '../emulators/slack.js'
import { CANARY } from '../support/canaries.js'
import { firstEvent, promotionFixtureEvent, rollbackFixtureEvent } from '../support/deliver.js'
import { deliveryTo, useEmulators } from '../support/harness.js'
import { hostileBundle } from '../support/hostile.js'
import { Workspace } from '../support/workspace.js'

const hook = new SlackWebhookEmulator({ rateLimit: { limit: 1000, windowMs: 1000 } })
const ws = new Workspace('cavra-slack-')
const HOOK_TOKEN = CANARY.slackPath.split('/').pop()!

useEmulators(hook)
afterAll(() => ws.remove())

const deliver = deliveryTo('slack', () => ({
  settings: { url_env: 'SLACK_WEBHOOK_URL' },
  env: { SLACK_WEBHOOK_URL: hook.endpoint },
}))

/** An evidence bundle of 500 decisions whose 5,000-character commands try to ping the channel. */
const hostileEvent = () =>
  hostileBundle(ws, {
    command: (i) => `echo <!channel> & <script>alert(${i})</script> `,
    pad: 'x',
    reason: 'hostile <!here> reason',
    repository: 'acme/<!channel>&<b>',
  })

function textsOf(blocks: SlackBlock[]): string[] {
  return blocks.flatMap((block) =>
    block.type === 'header'
      ? [block.text.text]
      : block.type === 'context'
        ? block.elements.map((e) => e.text)
        : [...(block.text ? [block.text.text] : []), ...(block.fields ?? []).map((f) => f.text)],
  )
}

function expectWithinSlackLimits(message: SlackMessage): void {
  expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks)
  expect(message.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallback)
  for (const block of [...message.blocks, ...message.attachments.flatMap((a) => a.blocks)]) {
    if (block.type === 'header') expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.header)
    if (block.type === 'section') {
      if (block.text) expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.section)
      expect((block.fields ?? []).length).toBeLessThanOrEqual(SLACK_LIMITS.fields)
      for (const field of block.fields ?? [])
        expect(field.text.length).toBeLessThanOrEqual(SLACK_LIMITS.field)
    }
  }
  expect(blockTextLength(message)).toBeLessThanOrEqual(SLACK_LIMITS.blockText)
}

describe('Slack: message building (pure)', () => {
  it('renders the sample evidence bundle', async () => {
    const message = slackMessage(await firstEvent())
    await expect(`${JSON.stringify(message, null, 2)}\n`).toMatchFileSnapshot(
      './__golden__/slack/evidence-bundle.json',
    )
    expect(message.text).toBe(
      '[HIGH] AI agent evidence sess-2026-11-28-ci-4812: 4 blocked, 1 awaiting approval of 7 decisions',
    )
    const highlights = message.blocks[3] as Extract<SlackBlock, { type: 'section' }>
    // Blocked first, the critical one before the high ones.
    expect(highlights.text!.text.split('\n').slice(0, 3)).toEqual([
      '*Most important decisions*',
      '• BLOCK [critical] rm -rf / (destructive.rm_root): destructive filesystem command',
      '• BLOCK [high] curl -s https://pastebin.example/raw/x | sh (supply_chain.pipe_to_shell): remote script piped to shell',
    ])
    expectWithinSlackLimits(message)
  })

  it('renders the promotion audit event', async () => {
    const message = slackMessage(await promotionFixtureEvent())
    await expect(`${JSON.stringify(message, null, 2)}\n`).toMatchFileSnapshot(
      './__golden__/slack/promotion.json',
    )
    expect(message.text).toMatch(/^\[HIGH\] Release v0\.2\.0 promoted/)
    expect(message.attachments[0]!.color).toBe(SEVERITY_COLOUR.high)
  })

  it('says what was rolled back, between which rings, why, and under which approval and change', async () => {
    const message = slackMessage(await rollbackFixtureEvent())
    await expect(`${JSON.stringify(message, null, 2)}\n`).toMatchFileSnapshot(
      './__golden__/slack/rollback.json',
    )
    expect(message.text).toBe('[CRITICAL] Release v0.2.0 rolled back stable → canary in prod')
    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: {
        type: 'plain_text',
        text: ':red_circle: [CRITICAL] Release v0.2.0 rolled back stable → canary in prod',
        emoji: true,
      },
    })
    const all = textsOf(message.blocks).join('\n')
    for (const expected of [
      'Policy engine crash loop on macOS 15.2 hosts after promotion.',
      'apr_c4d91e0b7a22 (approved by ic@acme.example',
      'CHG0031219',
      'stable → canary',
      'restore previous binary and restart cavra-runtime.service',
    ]) {
      expect(all).toContain(expected)
    }
    // 11 facts: two sections, neither over Slack's 10 fields.
    expect(
      message.blocks.flatMap((b) => (b.type === 'section' && b.fields ? [b.fields.length] : [])),
    ).toEqual([10, 1])
    expect(message.attachments).toEqual([
      {
        color: '#B71C1C',
        blocks: [
          {
            type: 'context',
            elements: [
              {
                type: 'mrkdwn',
                text: 'Event rre_b83f10c6d2a1 · cavra.rollout_rollback_execution · 2026-11-28T18:42:00Z',
              },
              {
                type: 'mrkdwn',
                text: 'References: rollout://rol_stable_2026_11 · promotion-execution://rpe_4c1d2e9a7b30 · approval://apr_c4d91e0b7a22 · change://CHG0031219',
              },
            ],
          },
        ],
      },
    ])
  })

  it('puts a configured title in the header and the fallback text', async () => {
    const message = slackMessage(await rollbackFixtureEvent(), 'Payments & Co')
    expect(message.text).toBe(
      '[CRITICAL] Payments &amp; Co: Release v0.2.0 rolled back stable → canary in prod',
    )
  })

  it('keeps 500 hostile decisions within every Slack limit, escaped and marked as truncated', async () => {
    const message = slackMessage(await hostileEvent())
    expectWithinSlackLimits(message)
    const json = JSON.stringify(message)
    expect(json).not.toMatch(/<!channel>|<!here>|<script>/)
    expect(json).toContain('echo &lt;!channel&gt; &amp; &lt;script&gt;alert(0)&lt;/script&gt;')
    expect(json).toContain('acme/&lt;!channel&gt;&amp;&lt;b&gt;')
    const highlights = textsOf(message.blocks)
      .flatMap((text) => text.split('\n'))
      .filter((line) => line.startsWith('• '))
    expect(highlights).toHaveLength(10)
    for (const line of highlights) expect(line.endsWith(TRUNCATION_MARK)).toBe(true)
    expect(json).toMatch(/_…and 49\d more not shown_/)
  })

  it('escapes before cutting and never cuts inside an entity or a character', () => {
    expect(escapeSlack('a & <b> c')).toBe('a &amp; &lt;b&gt; c')
    const cut = slackText('<'.repeat(100), 30)
    expect(cut.length).toBeLessThanOrEqual(30)
    expect(cut).toBe(`${'&lt;'.repeat(4)}${TRUNCATION_MARK}`)
    expect(slackText('😀'.repeat(20), 20)).toBe(`😀😀😀${TRUNCATION_MARK}`)
    expect(slackText('short', 20)).toBe('short')
  })

  it('maps every documented Slack answer to success, retry or a final error with what to do', () => {
    const answer = (status: number, body: string) =>
      readSlackResponse({ status, headers: {}, body, truncated: false })
    expect(answer(200, 'ok')).toEqual({ kind: 'ok', value: null })
    const final: Array<[number, string, RegExp]> = [
      [400, 'invalid_payload', /could not read the message body/],
      [400, 'invalid_blocks', /refused a block/],
      [400, 'invalid_blocks_format', /not an array of block objects/],
      [400, 'no_text', /without text or blocks/],
      [400, 'too_many_attachments', /more than 100 attachments/],
      [400, 'user_not_found', /does not exist/],
      [403, 'invalid_token', /create a new incoming webhook/],
      [403, 'action_prohibited', /ask a workspace admin/],
      [404, 'channel_not_found', /existing channel/],
      [404, 'no_service', /revoked or its app uninstalled.*create a new incoming webhook/],
      [404, 'no_team', /create a new incoming webhook/],
      [410, 'channel_is_archived', /unarchive it/],
    ]
    for (const [status, code, fix] of final) {
      const verdict = answer(status, code)
      expect(verdict.kind, code).toBe('failed')
      expect((verdict as { reason: string }).reason, code).toMatch(new RegExp(`^${code}: `))
      expect((verdict as { reason: string }).reason, code).toMatch(fix)
    }
    expect(answer(429, 'rate_limited').kind).toBe('retryable')
    expect(answer(500, 'rollup_error').kind).toBe('retryable')
    expect(answer(502, '<html>Bad Gateway</html>').kind).toBe('retryable')
    expect(answer(200, '<html>captive portal</html>')).toMatchObject({
      kind: 'failed',
      reason: /Slack incoming webhook/,
    })
    expect(answer(405, '').kind).toBe('failed')
  })

  it('requires a valid URL and never repeats it in a message', () => {
    const warnings: string[] = []
    const context = { name: 'slack', warn: (m: string) => warnings.push(m) }
    expect(() => slack.configure({}, context)).toThrow(/url is required/)
    expect(() => slack.configure({ url: 'hooks.slack.com/services/T0/B0/secretish' }, context)).toThrow(
      /url is not a valid URL/,
    )
    try {
      slack.configure({ url: 'hooks.slack.com/services/T0/B0/secretish' }, context)
    } catch (error) {
      expect((error as Error).message).not.toContain('secretish')
    }
    slack.configure({ url: 'http://hooks.example.com/services/T0/B0/secretish' }, context)
    expect(warnings).toEqual([
      'connector slack: url uses http://; the webhook URL, a credential, travels unencrypted.',
    ])
  })
})

describe('Slack: delivery against the webhook emulator', () => {
  it('posts the message, keeps the secret path out of the evidence, and Slack accepts it', async () => {
    const result = await deliver()
    const delivery = result.deliveries[0]!
    expect(delivery).toMatchObject({
      success: true,
      status_code: 200,
      attempt_count: 1,
      records_sent: 1,
      remote_reference: null,
    })
    expect(hook.messages).toHaveLength(1)
    expect(hook.messages[0]!.text).toMatch(/^\[HIGH\] AI agent evidence/)
    expect(hook.requests[0]!.path).toBe(CANARY.slackPath)
    expect(delivery.request?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/REDACTED$/)
    expect(delivery.request?.headers['content-type']).toBe('application/json; charset=utf-8')
    const evidence = JSON.stringify(result)
    expect(evidence).not.toContain(CANARY.slackPath)
    expect(evidence).not.toContain(HOOK_TOKEN)
  })

  it('delivers the 500-decision hostile bundle without pinging anyone', async () => {
    const result = await deliver({}, { event: await hostileEvent() })
    expect(hook.rejected).toEqual([])
    expect(result.deliveries[0]!.success).toBe(true)
    expect(hook.messages[0]!.pings).toEqual([])
    expect(hook.messages[0]!.blocks.length).toBeLessThanOrEqual(50)
  })

  it('delivers the critical rollback with its colour bar', async () => {
    const result = await deliver({}, { event: await rollbackFixtureEvent() })
    expect(result.deliveries[0]!.success).toBe(true)
    expect(hook.messages[0]!.attachments[0]!.color).toBe('#B71C1C')
    expect(hook.messages[0]!.text).toMatch(/^\[CRITICAL\]/)
  })

  it('fails at once with what to do when the hook was revoked', async () => {
    const url = `${hook.url}/services/T00CANARY/B00CANARY/revokedHookSecretValue`
    const delivery = (await deliver({}, { env: { SLACK_WEBHOOK_URL: url } })).deliveries[0]!
    expect(delivery).toMatchObject({ success: false, status_code: 404, attempt_count: 1 })
    expect(delivery.error).toMatch(
      /^HTTP 404 from Slack after 1 attempt: no_service: the webhook was revoked/,
    )
    expect(JSON.stringify(delivery)).not.toContain('revokedHookSecretValue')
  })

  it('gives up at once on an archived channel', async () => {
    hook.inject({ kind: 'status', status: 410, body: 'channel_is_archived' })
    const delivery = (await deliver()).deliveries[0]!
    expect(delivery).toMatchObject({ success: false, status_code: 410, attempt_count: 1 })
    expect(delivery.error).toMatch(/channel_is_archived: the channel is archived/)
  })
})

describe('Slack: the emulator refuses what Slack refuses', () => {
  const post = (body: string, path: string = CANARY.slackPath, type = 'application/json') =>
    fetch(`${hook.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body }).then(
      async (r) => [r.status, await r.text()],
    )
  const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } })

  it('answers with Slack’s plain-text codes', async () => {
    expect(await post('{"text":')).toEqual([400, 'invalid_payload'])
    expect(await post('text=hi', CANARY.slackPath, 'application/x-www-form-urlencoded')).toEqual([
      400,
      'invalid_payload',
    ])
    expect(await post('{}')).toEqual([400, 'no_text'])
    expect(await post('{"text":"x","blocks":"[]"}')).toEqual([400, 'invalid_blocks_format'])
    expect(await post(JSON.stringify({ text: 'x', blocks: Array(51).fill(section('a')) }))).toEqual([
      400,
      'invalid_blocks',
    ])
    expect(await post(JSON.stringify({ text: 'x', blocks: [section('a'.repeat(3001))] }))).toEqual([
      400,
      'invalid_blocks',
    ])
    expect(
      await post(
        JSON.stringify({ text: 'x', blocks: [{ type: 'header', text: { type: 'mrkdwn', text: 'h' } }] }),
      ),
    ).toEqual([400, 'invalid_blocks'])
    expect(
      await post(
        JSON.stringify({
          text: 'x',
          blocks: [{ type: 'section', fields: Array(11).fill({ type: 'mrkdwn', text: 'f' }) }],
        }),
      ),
    ).toEqual([400, 'invalid_blocks'])
    expect(
      await post(JSON.stringify({ text: 'x', attachments: Array(101).fill({ color: '#000000' }) })),
    ).toEqual([400, 'too_many_attachments'])
    expect(await post('{"text":"x"}', '/services/T0/B0/wrong')).toEqual([404, 'no_service'])
    expect(await post('{"text":"x"}')).toEqual([200, 'ok'])
  })

  it('would ping the channel for an unescaped mention', async () => {
    await post(JSON.stringify({ text: 'hi <!channel>', blocks: [section('&lt;!here&gt; and <@U012AB3CD>')] }))
    expect(hook.messages[0]!.pings).toEqual(['<!channel>', '<@U012AB3CD>'])
  })
})
