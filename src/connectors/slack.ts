import { ConfigError } from '../common/errors.js'
import type { Severity } from '../common/severity.js'
import type { HttpResponse } from '../delivery/http.js'
import { isRetryableStatus } from '../delivery/retry.js'
import type { Session } from '../delivery/session.js'
import { excerpt, readStatus, type Verdict } from '../delivery/verdict.js'
import type { DeliveryEvent, Fact } from '../events/event.js'
import { configuredHeaders } from './shared/auth.js'
import { headline, SEVERITY_COLOUR, TRUNCATION_MARK } from './shared/presentation.js'
import { isPlainHttpOffHost } from './shared/urls.js'
import { defineConnector, type ProbeResult } from './types.js'

/**
 * Slack incoming webhooks: one Block Kit message per event.
 * Docs: https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks
 * The webhook URL is the only credential (Slack revokes URLs it finds in public code), so it
 * is configured as a secret and its path is scrubbed from everything cavra writes.
 */

export interface SlackConfig {
  url: string
  title?: string
  headers: Record<string, string>
}

export type SlackText =
  | { type: 'plain_text'; text: string; emoji?: boolean }
  | { type: 'mrkdwn'; text: string }
export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text?: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] }
export interface SlackMessage {
  text: string
  blocks: SlackBlock[]
  attachments: Array<{ color: string; blocks: SlackBlock[] }>
}

/**
 * Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks): 50 blocks, header
 * 150 characters, section text 3,000, 10 fields of 2,000, 10 context elements. The top-level
 * `text` is cut by Slack at 40,000 characters and should stay under 4,000
 * (https://api.slack.com/changelog/2018-04-truncating-really-long-messages). Messages whose
 * blocks hold more than about 13,200 characters in all are refused although no documented
 * limit is hit (slackapi/bolt-js#2509), so the blocks stay under 12,000.
 */
export const SLACK_LIMITS = {
  blocks: 50,
  header: 150,
  section: 3000,
  fields: 10,
  field: 2000,
  fallback: 4000,
  blockText: 12_000,
} as const

/** How much of each part a message may use; the first budget whose message fits is sent. */
interface Budget {
  summary: number
  field: number
  item: number
  items: number
  context: number
}

/**
 * The last budget fits by arithmetic whatever the event holds: 150 (header) + 500 (summary)
 * + 20 × 200 (facts) + 60 + 5 × 200 + 60 (highlights) + 2 × 300 (context) < 6,500.
 */
const BUDGETS: readonly Budget[] = [
  { summary: 3000, field: 1000, item: 600, items: 10, context: 1000 },
  { summary: 1500, field: 400, item: 300, items: 10, context: 500 },
  { summary: 500, field: 200, item: 200, items: 5, context: 300 },
]

/** At most two sections of fields; a view never has this many facts, but the limit must hold. */
const MAX_FACTS = 2 * SLACK_LIMITS.fields

/**
 * Severity shows as a word and an emoji in the header, which every client, notification and
 * screen reader shows, and as a colour bar. Slack draws colour bars only on secondary
 * attachments, a legacy feature whose content Slack may collapse or show less prominently
 * (https://api.slack.com/reference/messaging/attachments), so the
 * message itself stays in top-level blocks and only the reference footer rides in the
 * coloured attachment: the bar marks critical events at a glance and nothing a reader needs
 * depends on it.
 */
const SEVERITY_EMOJI: Record<Severity, string> = {
  critical: ':red_circle:',
  high: ':large_orange_circle:',
  medium: ':large_yellow_circle:',
  low: ':large_blue_circle:',
  info: ':white_circle:',
}

/** Messages are built within every documented limit, so a refused one is a defect to report. */
const DEFECT = '; this is a defect in cavra: please report it with the --dry-run output of this delivery'

/**
 * Plain-text answers of the webhook (https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks;
 * the block, token and hook codes as Slack answers them today), each with what to do.
 */
const SLACK_ERRORS: Record<string, { fix: string; retry?: true }> = {
  invalid_payload: { fix: `Slack could not read the message body as JSON${DEFECT}` },
  invalid_blocks: { fix: `Slack refused a block of the message${DEFECT}` },
  invalid_blocks_format: { fix: `Slack refused the blocks as not an array of block objects${DEFECT}` },
  msg_blocks_too_long: { fix: `Slack refused the message because its blocks hold too much text${DEFECT}` },
  no_text: { fix: `Slack refused a message without text or blocks${DEFECT}` },
  too_many_attachments: { fix: `Slack refused a message with more than 100 attachments${DEFECT}` },
  user_not_found: { fix: `the user named in the message does not exist${DEFECT}` },
  invalid_token: {
    fix: 'the token in the webhook URL is not valid: create a new incoming webhook and update url',
  },
  action_prohibited: {
    fix: 'the workspace restricts posting here (an admin setting or a posting-restricted channel): ask a workspace admin, or create the webhook for another channel',
  },
  channel_not_found: {
    fix: 'the channel of this webhook no longer exists: create a new incoming webhook for an existing channel and update url',
  },
  no_service: {
    fix: 'the webhook was revoked or its app uninstalled (Slack also revokes webhook URLs found in public code): create a new incoming webhook and update url',
  },
  no_team: {
    fix: 'the workspace of this webhook no longer exists or removed the app: create a new incoming webhook and update url',
  },
  channel_is_archived: {
    fix: 'the channel is archived: unarchive it, or create a webhook for another channel and update url',
  },
  rate_limited: { fix: 'Slack allows about one message per second per webhook', retry: true },
  rollup_error: { fix: 'an error on Slack’s side', retry: true },
}

export const slack = defineConnector({
  provider: 'slack',
  category: 'chatops',
  title: 'Slack',
  docs: 'https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks',
  settings: () => ({}),
  secrets: [],
  urlIsSecret: true,

  configure(settings, context): SlackConfig {
    const url = settings.url
    if (!url) {
      throw new ConfigError(
        'url is required (the incoming webhook URL, https://hooks.slack.com/services/…); set url_env, the URL is a secret.',
      )
    }
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new ConfigError(
        'url is not a valid URL (the incoming webhook URL, https://hooks.slack.com/services/…).',
      )
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw new ConfigError(`url must be an https:// URL, not ${parsed.protocol}.`)
    }
    if (isPlainHttpOffHost(url)) {
      context.warn(
        `connector ${context.name}: url uses http://; the webhook URL, a credential, travels unencrypted.`,
      )
    }
    return { url, title: settings.title, headers: configuredHeaders(settings) }
  },

  async deliver(event, config, session) {
    guardHookPath(config, session)
    const body = Buffer.from(JSON.stringify(slackMessage(event, config.title)), 'utf8')
    // Incoming webhooks have no idempotency key and answer no message id
    // (https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks): a retry after
    // a timeout may post twice, which beats a lost alert.
    const result = await session.exchange({
      step: 'post message',
      primary: true,
      build: () => ({
        method: 'POST',
        url: config.url,
        headers: { ...config.headers, 'content-type': 'application/json; charset=utf-8' },
        body,
      }),
      read: readSlackResponse,
      dryRun: null,
    })
    if (!result.ok) return { ok: false, error: result.error }
    return { ok: true, remoteReference: null, recordsSent: 1 }
  },

  probe: probeHook,
})

/** The path is the credential: scrub it wherever Slack or a proxy echoes it without the host. */
function guardHookPath(config: SlackConfig, session: Session): void {
  const path = new URL(config.url).pathname
  for (const part of [path, path.split('/').pop() ?? '']) if (part.length > 0) session.addSecret(part)
}

/**
 * Slack's three control characters become entities (https://api.slack.com/reference/surfaces/formatting#escaping),
 * so `<!channel>` in a command is shown, not obeyed.
 */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Escaped text in at most `max` characters; a cut falls between entities and is marked. */
export function slackText(text: string, max: number): string {
  const escaped = escapeSlack(text)
  if (escaped.length <= max) return escaped
  const room = max - TRUNCATION_MARK.length
  let kept = ''
  for (const char of text) {
    const next = escapeSlack(char)
    if (kept.length + next.length > room) break
    kept += next
  }
  return `${kept}${TRUNCATION_MARK}`
}

/** The message for an event: the largest rendering that stays within every Slack limit. */
export function slackMessage(event: DeliveryEvent, title?: string): SlackMessage {
  for (const budget of BUDGETS.slice(0, -1)) {
    const message = renderMessage(event, title, budget)
    if (blockTextLength(message) <= SLACK_LIMITS.blockText) return message
  }
  return renderMessage(event, title, BUDGETS[BUDGETS.length - 1]!)
}

function renderMessage(event: DeliveryEvent, title: string | undefined, budget: Budget): SlackMessage {
  const { view } = event
  const line = headline(event, title)
  const blocks: SlackBlock[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: slackText(`${SEVERITY_EMOJI[event.severity]} ${line}`, SLACK_LIMITS.header),
        emoji: true,
      },
    },
    { type: 'section', text: mrkdwn(slackText(view.summary, budget.summary)) },
    ...factSections(view.facts, budget),
    ...highlightSections(view.highlights, budget),
  ]
  const context: SlackText[] = [
    mrkdwn(slackText(`Event ${event.eventId} · ${event.eventType} · ${event.timestamp}`, budget.context)),
  ]
  if (view.references.length > 0) {
    context.push(mrkdwn(slackText(`References: ${view.references.join(' · ')}`, budget.context)))
  }
  return {
    text: slackText(line, SLACK_LIMITS.fallback),
    blocks,
    attachments: [
      { color: SEVERITY_COLOUR[event.severity], blocks: [{ type: 'context', elements: context }] },
    ],
  }
}

function factSections(facts: Fact[], budget: Budget): SlackBlock[] {
  const shown = facts.length > MAX_FACTS ? facts.slice(0, MAX_FACTS - 1) : facts
  const fields = shown.map((fact) => {
    const label = `*${slackText(fact.label, 100)}*\n`
    return mrkdwn(`${label}${slackText(fact.value, budget.field - label.length)}`)
  })
  if (shown.length < facts.length)
    fields.push(mrkdwn(`_…and ${facts.length - shown.length} more facts not shown_`))
  const sections: SlackBlock[] = []
  for (let start = 0; start < fields.length; start += SLACK_LIMITS.fields) {
    sections.push({ type: 'section', fields: fields.slice(start, start + SLACK_LIMITS.fields) })
  }
  return sections
}

/** The highlights as bullet lines, packed into as few sections as the 3,000-character limit allows. */
function highlightSections(highlights: DeliveryEvent['view']['highlights'], budget: Budget): SlackBlock[] {
  if (!highlights || highlights.items.length === 0) return []
  const items = highlights.items.slice(0, budget.items)
  const omitted = highlights.omitted + highlights.items.length - items.length
  const lines = [
    `*${slackText(highlights.heading, 60)}*`,
    ...items.map((item) => `• ${slackText(item, budget.item)}`),
  ]
  if (omitted > 0) lines.push(`_…and ${omitted} more not shown_`)
  const sections: SlackBlock[] = []
  let current = ''
  for (const line of lines) {
    if (current !== '' && current.length + 1 + line.length > SLACK_LIMITS.section) {
      sections.push({ type: 'section', text: mrkdwn(current) })
      current = ''
    }
    current = current === '' ? line : `${current}\n${line}`
  }
  sections.push({ type: 'section', text: mrkdwn(current) })
  return sections
}

function mrkdwn(text: string): SlackText {
  return { type: 'mrkdwn', text }
}

/** Characters of text in every block, attachments included: what Slack's aggregate cap counts. */
export function blockTextLength(message: SlackMessage): number {
  const texts = (blocks: SlackBlock[]) =>
    blocks.flatMap((block) =>
      block.type === 'header'
        ? [block.text]
        : block.type === 'context'
          ? block.elements
          : [...(block.text ? [block.text] : []), ...(block.fields ?? [])],
    )
  const all = [...texts(message.blocks), ...message.attachments.flatMap((a) => texts(a.blocks))]
  return all.reduce((sum, text) => sum + text.text.length, 0)
}

/** 200 `ok` is success; every other answer is one of Slack's plain-text codes or a plain HTTP error. */
export function readSlackResponse(response: HttpResponse): Verdict<null> {
  const body = response.body.trim()
  if (response.status === 200 && body === 'ok') return { kind: 'ok', value: null }
  const known = /^[a-z_]+$/.test(body) ? SLACK_ERRORS[body] : undefined
  if (known) {
    const reason = `${body}: ${known.fix}`
    return known.retry || isRetryableStatus(response.status)
      ? { kind: 'retryable', reason }
      : { kind: 'failed', reason }
  }
  if (response.status >= 200 && response.status < 300) {
    return {
      kind: 'failed',
      reason: `HTTP ${response.status} without Slack's "ok" (${excerpt(response)}); is url a Slack incoming webhook?`,
    }
  }
  return readStatus(response, null)
}

/**
 * What Slack says to a message with nothing in it: the hook is live and nothing was posted.
 * Slack checks the hook (revoked, archived channel, bad token) before it reads the message.
 */
const EMPTY_MESSAGE_ANSWERS = ['no_text', 'missing_text_or_fallback_or_attachments']

/** An empty message's answer: `no_text` is the healthy one; anything else says what is wrong. */
export function readEmptyMessage(response: HttpResponse): Verdict<null> {
  const body = response.body.trim()
  if (response.status === 400 && EMPTY_MESSAGE_ANSWERS.includes(body)) return { kind: 'ok', value: null }
  if (response.status === 200 && body === 'ok') {
    return {
      kind: 'failed',
      reason: 'the URL answered "ok" to an empty message; is url a Slack incoming webhook?',
    }
  }
  const verdict = readSlackResponse(response)
  return verdict.kind === 'ok' ? { kind: 'failed', reason: excerpt(response) } : verdict
}

async function probeHook(config: SlackConfig, session: Session): Promise<ProbeResult> {
  guardHookPath(config, session)
  const probe = 'POST {} (an empty message) to the webhook URL'
  const result = await session.exchange({
    step: 'empty message',
    build: () => ({
      method: 'POST',
      url: config.url,
      headers: { ...config.headers, 'content-type': 'application/json; charset=utf-8' },
      body: '{}',
    }),
    read: readEmptyMessage,
    dryRun: null,
  })
  if (!result.ok) return { status: 'unhealthy', probe, detail: result.error }
  return {
    status: 'healthy',
    probe,
    detail: 'the webhook is live: Slack refused the empty message with no_text, and posted nothing',
  }
}
