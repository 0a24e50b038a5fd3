import { randomInt } from 'node:crypto'
import { CANARY } from '../support/canaries.js'
import { Emulator, json, RateLimiter, type RecordedRequest, type Reply } from './emulator.js'

/**
 * A Teams Workflows trigger, "When a Teams webhook request is received", with the default
 * "Post card in a chat or channel" template. The trigger answers 202 Accepted with an empty body
 * as soon as the run is queued: the card is posted later, and a card the flow cannot post shows
 * only in the run history (https://learn.microsoft.com/azure/connectors/connectors-native-reqres).
 * Only a flow whose author added a "Response" action (`responseAction`) answers 200 once the
 * card is posted. Here the card is checked before answering either way, so a malformed card is
 * refused at once (what the run history would show).
 * - `/workflows/<id>/triggers/manual/paths/invoke` (with or without the
 *   `/powerautomate/automations/direct` prefix of current URLs); an unknown id is 404
 *   `WorkflowNotFound`, a turned-off flow 400 `WorkflowTriggerIsNotEnabled`.
 * - `api-version` required (400 `MissingApiVersionParameter`); `sig` required and equal to
 *   the trigger's signature (401 `DirectApiAuthorizationRequired` /
 *   `DirectApiInvalidAuthorizationSignature`): Azure-style `{"error":{code,message}}` bodies.
 * - The body must be the message envelope: anything without an `attachments` array fails
 *   like the template's foreach does; each attachment must be an Adaptive Card 1.x whose
 *   elements are well formed; a body over 28 KB is 413 `RequestEntityTooLarge`.
 * - Success is 202 with an empty body and the run id in `x-ms-workflow-run-id` (200 with a
 *   body when the flow has a Response action).
 */

export interface TeamsWorkflowOptions {
  workflowId?: string
  sig?: string
  enabled?: boolean
  maxBytes?: number
  rateLimit?: { limit: number; windowMs: number }
  /** The flow ends with a Response action: 200 once the card is posted instead of 202 Accepted. */
  responseAction?: boolean
}

export interface ReceivedCard {
  runId: string
  card: Record<string, unknown>
  request: RecordedRequest
}

const FOREACH_NULL =
  "The execution of template action 'Send_each_adaptive_card' failed: the result of the evaluation of 'foreach' expression '@triggerOutputs()?['body']?['attachments']' is of type 'Null'. The result must be a valid array."
const PATH =
  /^(?:\/powerautomate\/automations\/direct)?\/workflows\/(?<id>[A-Za-z0-9-]+)\/triggers\/manual\/paths\/invoke$/
const COLORS = ['default', 'dark', 'light', 'accent', 'good', 'warning', 'attention']
const SIZES = ['default', 'small', 'medium', 'large', 'extralarge']
const WEIGHTS = ['default', 'lighter', 'bolder']
const SPACINGS = ['none', 'small', 'default', 'medium', 'large', 'extralarge', 'padding']

class CardProblem extends Error {}

export class TeamsWorkflowEmulator extends Emulator {
  readonly cards: ReceivedCard[] = []
  readonly rejected: string[] = []
  private limiter: RateLimiter | undefined
  readonly workflowId: string

  constructor(readonly options: TeamsWorkflowOptions = {}) {
    super('teams-workflow')
    this.workflowId = options.workflowId ?? '4f0c2a8e9b7d41c3a5e6f7081920abcd'
    this.limiter = this.newLimiter()
    this.route('POST', PATH, (request, params) => this.invoke(request, params.id!))
  }

  /** The trigger URL as Teams shows it, signature included. */
  get endpoint(): string {
    return `${this.url}/powerautomate/automations/direct/workflows/${this.workflowId}/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${this.options.sig ?? CANARY.teamsSig}`
  }

  override reset(): void {
    super.reset()
    this.cards.length = 0
    this.rejected.length = 0
    this.limiter = this.newLimiter()
  }

  private newLimiter(): RateLimiter | undefined {
    const limit = this.options.rateLimit
    return limit ? new RateLimiter(limit.limit, limit.windowMs) : undefined
  }

  private invoke(request: RecordedRequest, id: string): Reply {
    if (!request.query.get('api-version')) {
      return this.error(
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      )
    }
    const sig = request.query.get('sig')
    if (sig === null) {
      return this.error(
        401,
        'DirectApiAuthorizationRequired',
        'The request must be authenticated only by Shared Access scheme.',
      )
    }
    if (sig !== (this.options.sig ?? CANARY.teamsSig)) {
      return this.error(
        401,
        'DirectApiInvalidAuthorizationSignature',
        'The provided authorization signature is not valid.',
      )
    }
    if (id !== this.workflowId)
      return this.error(404, 'WorkflowNotFound', `The workflow '${id}' could not be found.`)
    if (this.options.enabled === false) {
      return this.error(
        400,
        'WorkflowTriggerIsNotEnabled',
        `The workflow '${id}' cannot be triggered because its state is 'Disabled'.`,
      )
    }
    const wait = this.limiter?.check()
    if (wait !== undefined) {
      return json(
        429,
        { error: { code: 'TooManyRequests', message: 'Rate limit is exceeded.' } },
        { 'retry-after': String(wait) },
      )
    }
    if (request.body.length > (this.options.maxBytes ?? 28 * 1024)) {
      return this.error(
        413,
        'RequestEntityTooLarge',
        `The request of ${request.body.length} bytes exceeds the 28 KB a Teams message may hold.`,
      )
    }
    let payload: unknown
    try {
      // The Request trigger parses only JSON bodies; anything else reaches the template as no attachments.
      payload = (request.headers['content-type'] ?? '').startsWith('application/json')
        ? JSON.parse(request.text)
        : undefined
    } catch {
      payload = undefined
    }
    if (!isObject(payload) || !Array.isArray(payload.attachments))
      return this.error(400, 'InvalidTemplate', FOREACH_NULL)
    try {
      if (payload.type !== 'message')
        throw new CardProblem(`the message type is '${String(payload.type)}', not 'message'`)
      const cards = payload.attachments.map((attachment, index) => cardOf(attachment, index))
      const runId = `08584${String(randomInt(1e9)).padStart(9, '0')}CU${randomInt(10, 99)}`
      for (const card of cards) this.cards.push({ runId, card, request })
      if (this.options.responseAction) {
        return json(200, { status: 'posted' }, { 'x-ms-workflow-run-id': runId })
      }
      return { status: 202, headers: { 'x-ms-workflow-run-id': runId } }
    } catch (error) {
      if (!(error instanceof CardProblem)) throw error
      return this.error(400, 'BadRequest', `Post card in a chat or channel failed: ${error.message}`)
    }
  }

  private error(status: number, code: string, message: string): Reply {
    this.rejected.push(`${code}: ${message}`)
    return json(status, { error: { code, message } })
  }
}

function cardOf(attachment: unknown, index: number): Record<string, unknown> {
  const at = `attachments[${index}]`
  if (!isObject(attachment)) throw new CardProblem(`${at} is not an object`)
  if (attachment.contentType !== 'application/vnd.microsoft.card.adaptive') {
    throw new CardProblem(`${at}.contentType '${String(attachment.contentType)}' is not an Adaptive Card`)
  }
  const card = attachment.content
  if (!isObject(card) || card.type !== 'AdaptiveCard')
    throw new CardProblem(`${at}.content is not an AdaptiveCard`)
  if (typeof card.version !== 'string' || !/^1\.\d+$/.test(card.version)) {
    throw new CardProblem(`Adaptive Card version '${String(card.version)}' is not supported`)
  }
  if (!Array.isArray(card.body)) throw new CardProblem(`${at}.content.body is not an array`)
  for (const [i, element] of card.body.entries()) checkElement(element, `${at}.content.body[${i}]`)
  return card
}

/** The elements a notification card uses, checked against the Adaptive Cards schema (adaptivecards.io/explorer). */
function checkElement(element: unknown, at: string): void {
  if (!isObject(element) || typeof element.type !== 'string') throw new CardProblem(`${at} has no type`)
  checkEnum(element.spacing, SPACINGS, `${at}.spacing`)
  if (element.separator !== undefined && typeof element.separator !== 'boolean')
    throw new CardProblem(`${at}.separator`)
  switch (element.type) {
    case 'TextBlock':
      if (typeof element.text !== 'string' || element.text === '')
        throw new CardProblem(`${at}.text is required`)
      checkStyle(element, at)
      if (element.wrap !== undefined && typeof element.wrap !== 'boolean') throw new CardProblem(`${at}.wrap`)
      return
    case 'RichTextBlock':
      if (!Array.isArray(element.inlines) || element.inlines.length === 0)
        throw new CardProblem(`${at}.inlines is required`)
      element.inlines.forEach((inline, i) => {
        if (typeof inline === 'string') return
        if (!isObject(inline) || inline.type !== 'TextRun' || typeof inline.text !== 'string') {
          throw new CardProblem(`${at}.inlines[${i}] is not a TextRun`)
        }
        checkStyle(inline, `${at}.inlines[${i}]`)
      })
      return
    case 'FactSet':
      if (!Array.isArray(element.facts) || element.facts.length === 0)
        throw new CardProblem(`${at}.facts is required`)
      element.facts.forEach((fact, i) => {
        if (!isObject(fact) || typeof fact.title !== 'string' || typeof fact.value !== 'string') {
          throw new CardProblem(`${at}.facts[${i}] needs a title and a value`)
        }
      })
      return
    case 'Container':
      if (!Array.isArray(element.items)) throw new CardProblem(`${at}.items is required`)
      for (const [i, item] of element.items.entries()) checkElement(item, `${at}.items[${i}]`)
      return
    default:
      throw new CardProblem(`${at}: element type '${element.type}' is not modelled`)
  }
}

function checkStyle(element: Record<string, unknown>, at: string): void {
  checkEnum(element.color, COLORS, `${at}.color`)
  checkEnum(element.size, SIZES, `${at}.size`)
  checkEnum(element.weight, WEIGHTS, `${at}.weight`)
  if (element.isSubtle !== undefined && typeof element.isSubtle !== 'boolean')
    throw new CardProblem(`${at}.isSubtle`)
}

function checkEnum(value: unknown, allowed: string[], at: string): void {
  if (value === undefined) return
  if (typeof value !== 'string' || !allowed.includes(value.toLowerCase())) {
    throw new CardProblem(`${at} '${String(value)}' is not one of ${allowed.join(', ')}`)
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
