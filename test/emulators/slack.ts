import { CANARY } from '../support/canaries.js'
import { Emulator, RateLimiter, type RecordedRequest, type Reply } from './emulator.js'

/**
 * A Slack incoming webhook, answering like Slack does: plain-text codes, not JSON
 * (https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks).
 * Only the hook's secret path exists (anything else is 404 `no_service`); the body must be
 * JSON (`invalid_payload`) with `text` or blocks (`no_text`); blocks are checked against the
 * Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks) and refused with
 * `invalid_blocks` / `invalid_blocks_format`; more than 100 attachments is
 * `too_many_attachments`; posting faster than the hook's rate (Slack: about one message per
 * second) is 429 `rate_limited` with Retry-After. Mentions (`<!channel>`, `<@U…>`) are parsed
 * as Slack parses them, so a test can see who a message would have pinged.
 * `hook` plays what can happen to the hook itself, which Slack checks before it reads the
 * message: its token revoked (403 `invalid_token`), the app removed (404 `no_service`), the
 * channel archived (410 `channel_is_archived`).
 */

export interface SlackWebhookOptions {
  path?: string
  /** Messages allowed per window; Slack allows about 1 per second with short bursts. */
  rateLimit?: { limit: number; windowMs: number }
  /** Slack's undocumented cap on all block text of one message (slackapi/bolt-js#2509). */
  maxBlockText?: number
}

export interface ReceivedSlackMessage {
  text?: string
  blocks: Array<Record<string, unknown>>
  attachments: Array<Record<string, unknown>>
  /** Mentions Slack would act on: `<!channel>`, `<!here>`, `<!everyone>`, `<@U…>`, `<!subteam^…>`. */
  pings: string[]
  request: RecordedRequest
}

const TEXT_TYPES = new Set(['plain_text', 'mrkdwn'])
const MENTION = /<(?:!(?:channel|here|everyone)|!subteam\^[^>]+|@[UW][A-Z0-9]+)(?:\|[^>]*)?>/g
const BLOCK_KEYS: Record<string, string[]> = {
  header: ['type', 'block_id', 'text'],
  section: ['type', 'block_id', 'text', 'fields'],
  context: ['type', 'block_id', 'elements'],
  divider: ['type', 'block_id'],
}

class Refusal extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`)
  }
}

export type SlackHookState = 'live' | 'invalid_token' | 'no_service' | 'channel_is_archived'

const HOOK_REFUSALS: Record<Exclude<SlackHookState, 'live'>, number> = {
  invalid_token: 403,
  no_service: 404,
  channel_is_archived: 410,
}

export class SlackWebhookEmulator extends Emulator {
  readonly messages: ReceivedSlackMessage[] = []
  hook: SlackHookState = 'live'
  readonly rejected: Array<{ code: string; detail: string }> = []
  private limiter: RateLimiter
  readonly path: string

  constructor(readonly options: SlackWebhookOptions = {}) {
    super('slack-webhook')
    this.path = options.path ?? CANARY.slackPath
    this.limiter = this.newLimiter()
    this.route('POST', /^\/.*$/, (request) => this.receive(request))
  }

  get endpoint(): string {
    return `${this.url}${this.path}`
  }

  override reset(): void {
    super.reset()
    this.messages.length = 0
    this.rejected.length = 0
    this.hook = 'live'
    this.limiter = this.newLimiter()
  }

  private newLimiter(): RateLimiter {
    const { limit, windowMs } = this.options.rateLimit ?? { limit: 1, windowMs: 1000 }
    return new RateLimiter(limit, windowMs)
  }

  private receive(request: RecordedRequest): Reply {
    if (request.path !== this.path) return this.refuse(404, 'no_service', 'no hook at this path')
    if (this.hook !== 'live') return this.refuse(HOOK_REFUSALS[this.hook], this.hook, 'the hook itself')
    const wait = this.limiter.check()
    if (wait !== undefined) {
      return {
        status: 429,
        headers: { 'content-type': 'text/plain', 'retry-after': String(wait) },
        body: 'rate_limited',
      }
    }
    try {
      const message = this.read(request)
      this.messages.push(message)
      return { status: 200, headers: { 'content-type': 'text/html' }, body: 'ok' }
    } catch (error) {
      if (!(error instanceof Refusal)) throw error
      return this.refuse(400, error.code, error.detail)
    }
  }

  private refuse(status: number, code: string, detail: string): Reply {
    this.rejected.push({ code, detail })
    return { status, headers: { 'content-type': 'text/plain' }, body: code }
  }

  private read(request: RecordedRequest): ReceivedSlackMessage {
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      throw new Refusal('invalid_payload', 'content-type is not application/json')
    }
    let payload: unknown
    try {
      payload = JSON.parse(request.text)
    } catch {
      throw new Refusal('invalid_payload', 'body is not JSON')
    }
    if (!isObject(payload)) throw new Refusal('invalid_payload', 'body is not a JSON object')
    const { text, blocks, attachments } = payload
    if (text !== undefined && typeof text !== 'string')
      throw new Refusal('invalid_payload', 'text is not a string')
    if (blocks !== undefined && !Array.isArray(blocks))
      throw new Refusal('invalid_blocks_format', 'blocks is not an array')
    if (attachments !== undefined && !Array.isArray(attachments)) {
      throw new Refusal('invalid_payload', 'attachments is not an array')
    }
    const blockList = (blocks ?? []) as unknown[]
    const attachmentList = (attachments ?? []) as unknown[]
    if (!text && blockList.length === 0 && attachmentList.length === 0)
      throw new Refusal('no_text', 'no text or blocks')
    if (attachmentList.length > 100)
      throw new Refusal('too_many_attachments', `${attachmentList.length} attachments`)
    let blockText = checkBlocks(blockList, 'blocks')
    for (const [index, attachment] of attachmentList.entries()) {
      if (!isObject(attachment))
        throw new Refusal('invalid_payload', `attachments[${index}] is not an object`)
      const color = attachment.color
      if (
        color !== undefined &&
        !(typeof color === 'string' && /^(#?[0-9a-f]{6}|good|warning|danger)$/i.test(color))
      ) {
        throw new Refusal('invalid_payload', `attachments[${index}].color ${String(color)}`)
      }
      if (attachment.blocks !== undefined) {
        if (!Array.isArray(attachment.blocks))
          throw new Refusal('invalid_blocks_format', `attachments[${index}].blocks`)
        blockText += checkBlocks(attachment.blocks, `attachments[${index}].blocks`)
      }
    }
    if (blockText > (this.options.maxBlockText ?? 13_000)) {
      throw new Refusal('invalid_blocks', `${blockText} characters of block text`)
    }
    return {
      text: text as string | undefined,
      blocks: blockList as Array<Record<string, unknown>>,
      attachments: attachmentList as Array<Record<string, unknown>>,
      pings: mentionsIn(payload),
      request,
    }
  }
}

/** Validates a block list; returns the characters of text it holds. */
function checkBlocks(blocks: unknown[], where: string): number {
  if (blocks.length > 50) throw new Refusal('invalid_blocks', `${where}: ${blocks.length} blocks, at most 50`)
  let chars = 0
  for (const [index, block] of blocks.entries()) {
    const at = `${where}[${index}]`
    if (!isObject(block) || typeof block.type !== 'string')
      throw new Refusal('invalid_blocks_format', `${at} has no type`)
    const allowed = BLOCK_KEYS[block.type]
    if (!allowed) throw new Refusal('invalid_blocks', `${at}: block type ${block.type} is not modelled`)
    const extra = Object.keys(block).filter((key) => !allowed.includes(key))
    if (extra.length > 0) throw new Refusal('invalid_blocks', `${at}: unknown properties ${extra.join(', ')}`)
    if (
      block.block_id !== undefined &&
      !(typeof block.block_id === 'string' && block.block_id.length <= 255)
    ) {
      throw new Refusal('invalid_blocks', `${at}.block_id`)
    }
    if (block.type === 'header') {
      chars += checkText(block.text, `${at}.text`, 150, ['plain_text'])
    } else if (block.type === 'section') {
      if (block.text === undefined && block.fields === undefined)
        throw new Refusal('invalid_blocks', `${at}: no text or fields`)
      if (block.text !== undefined) chars += checkText(block.text, `${at}.text`, 3000)
      if (block.fields !== undefined) {
        if (!Array.isArray(block.fields) || block.fields.length === 0 || block.fields.length > 10) {
          throw new Refusal('invalid_blocks', `${at}.fields must hold 1 to 10 text objects`)
        }
        for (const [f, field] of block.fields.entries()) chars += checkText(field, `${at}.fields[${f}]`, 2000)
      }
    } else if (block.type === 'context') {
      if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 10) {
        throw new Refusal('invalid_blocks', `${at}.elements must hold 1 to 10 elements`)
      }
      for (const [e, element] of block.elements.entries())
        chars += checkText(element, `${at}.elements[${e}]`, 3000)
    }
  }
  return chars
}

function checkText(value: unknown, at: string, max: number, types = [...TEXT_TYPES]): number {
  if (!isObject(value) || !types.includes(value.type as string)) {
    throw new Refusal('invalid_blocks', `${at} must be a ${types.join(' or ')} text object`)
  }
  const allowed = value.type === 'plain_text' ? ['type', 'text', 'emoji'] : ['type', 'text', 'verbatim']
  const extra = Object.keys(value).filter((key) => !allowed.includes(key))
  if (extra.length > 0) throw new Refusal('invalid_blocks', `${at}: unknown properties ${extra.join(', ')}`)
  if (typeof value.text !== 'string' || value.text.length === 0)
    throw new Refusal('invalid_blocks', `${at}.text is empty`)
  if (value.text.length > max) {
    throw new Refusal(
      'invalid_blocks',
      `${at}.text must be less than ${max + 1} characters, has ${value.text.length}`,
    )
  }
  return value.text.length
}

/** Mentions Slack acts on in the fallback text and in mrkdwn text objects (plain_text is never parsed). */
function mentionsIn(payload: Record<string, unknown>): string[] {
  const texts: string[] = typeof payload.text === 'string' ? [payload.text] : []
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit)
    else if (isObject(value)) {
      if (value.type === 'mrkdwn' && typeof value.text === 'string') texts.push(value.text)
      for (const child of Object.values(value)) if (typeof child === 'object') visit(child)
    }
  }
  visit(payload.blocks)
  visit(payload.attachments)
  return texts.flatMap((text) => text.match(MENTION) ?? [])
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
