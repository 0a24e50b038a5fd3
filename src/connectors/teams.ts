import { ConfigError } from '../common/errors.js'
import type { Severity } from '../common/severity.js'
import type { HttpResponse } from '../delivery/http.js'
import { isRetryableStatus } from '../delivery/retry.js'
import { excerpt, type Verdict } from '../delivery/verdict.js'
import type { DeliveryEvent } from '../events/event.js'
import { objectField } from '../events/views.js'
import { configuredHeaders } from './shared/auth.js'
import { jsonObject } from './shared/json.js'
import { headline, truncate } from './shared/presentation.js'
import { isPlainHttpOffHost } from './shared/urls.js'
import { defineConnector } from './types.js'

/**
 * Microsoft Teams through a Workflows trigger, "When a Teams webhook request is received":
 * one Adaptive Card per event, inside the message envelope whose `attachments`
 * the trigger's template loops over.
 * Docs: https://support.microsoft.com/office/create-incoming-webhooks-with-workflows-for-microsoft-teams-8ae491c7-0394-4861-ba59-055e33f75498
 * Limits: https://learn.microsoft.com/connectors/teams/#known-issues-and-limitations
 * Office 365 connectors and their MessageCard are retired
 * (https://devblogs.microsoft.com/microsoft365dev/retirement-of-office-365-connectors-within-microsoft-teams/);
 * this module only speaks the Workflows form. The `sig` query parameter is the credential.
 */

export interface TeamsConfig {
  url: string
  title?: string
  headers: Record<string, string>
}

export const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive'

/**
 * Teams refuses to post a message of more than about 28 KB, and that limit applies to the
 * message the flow builds around the card, so the body stays under 24 KB (UTF-8 bytes).
 */
export const TEAMS_BODY_BUDGET = 24 * 1024

type CardElement = Record<string, unknown>

interface Budget {
  summary: number
  fact: number
  item: number
  items: number
  references: number
}

/** Tried in order; the first card under the budget is sent, else the short card below. */
const BUDGETS: readonly Budget[] = [
  { summary: 2000, fact: 500, item: 500, items: 10, references: 1000 },
  { summary: 1000, fact: 250, item: 250, items: 10, references: 500 },
  { summary: 500, fact: 120, item: 150, items: 5, references: 300 },
]

/** A view never has this many facts; the bound keeps the card's size bounded too. */
const MAX_FACTS = 20

const TOO_LARGE =
  'The facts and highlights did not fit the Teams message size limit; see the source artifact.'

/**
 * TextBlock colours (https://adaptivecards.io/explorer/TextBlock.html) are named by the
 * host's theme, so the title reads red for critical and high in light, dark and
 * high-contrast Teams alike; the severity word says it again for anyone who cannot see colour.
 */
const SEVERITY_COLOR: Record<Severity, string> = {
  critical: 'attention',
  high: 'attention',
  medium: 'warning',
  low: 'accent',
  info: 'good',
}

/** Error codes of the trigger (Azure Logic Apps / Power Automate `{"error":{code,message}}`), with what to do. */
const FLOW_ERRORS: Record<string, string> = {
  MissingApiVersionParameter:
    'url is incomplete: copy the whole URL from the trigger, with api-version and sig',
  WorkflowTriggerIsNotEnabled:
    'the flow is turned off or was deleted: turn it on in the Workflows app in Teams, or create it again and update url',
  WorkflowNotFound: 'the flow was deleted: create it again and update url',
  TriggerInputSchemaMismatch:
    "the trigger's request body schema does not accept the Teams message envelope: remove or widen it",
}

const AUTH_FIX =
  'use the complete URL copied from the trigger, with its sig parameter; a URL without sig belongs to a trigger that requires Entra sign-in, which cavra does not do: set the trigger\'s "Who can trigger the flow?" to "Anyone" and copy the new URL'

export const teams = defineConnector({
  provider: 'teams',
  category: 'chatops',
  title: 'Microsoft Teams',
  docs: 'https://learn.microsoft.com/connectors/teams/',
  settings: () => ({}),
  secrets: [],
  urlIsSecret: true,

  configure(settings, context): TeamsConfig {
    const url = settings.url
    if (!url) {
      throw new ConfigError(
        'url is required (the URL of a Workflows trigger "When a Teams webhook request is received"); set url_env, the URL is a secret.',
      )
    }
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new ConfigError('url is not a valid URL (the Workflows trigger URL copied from Teams).')
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw new ConfigError(`url must be an https:// URL, not ${parsed.protocol}.`)
    }
    const host = parsed.hostname.toLowerCase()
    const connectorUrl =
      /(^|\.)webhook\.office\.com$/.test(host) ||
      (/^outlook\.office(365)?\.com$/.test(host) && parsed.pathname.startsWith('/webhook'))
    if (connectorUrl) {
      context.warn(
        `connector ${context.name}: url is an Office 365 connector webhook, which Microsoft has retired; create a Workflows trigger "When a Teams webhook request is received" in the channel and use its URL instead.`,
      )
    } else if (host.endsWith('.logic.azure.com')) {
      // Microsoft moved trigger URLs to environment.api.powerplatform.com and stopped serving the
      // logic.azure.com ones on 2025-11-30 (https://aka.ms/flowtriggerurlchange).
      context.warn(
        `connector ${context.name}: url is an older Workflows trigger URL (…logic.azure.com), which Microsoft no longer serves; copy the current URL from the trigger.`,
      )
    } else if (!parsed.searchParams.has('sig')) {
      context.warn(`connector ${context.name}: url has no sig parameter; ${AUTH_FIX}.`)
    }
    if (isPlainHttpOffHost(url)) {
      context.warn(
        `connector ${context.name}: url uses http://; the trigger URL, a credential, travels unencrypted.`,
      )
    }
    return { url, title: settings.title, headers: configuredHeaders(settings) }
  },

  async deliver(event, config, session) {
    // The signature alone is the credential: scrub it wherever it is echoed without the URL.
    const sig = new URL(config.url).searchParams.get('sig')
    if (sig) session.addSecret(sig)
    const body = Buffer.from(JSON.stringify(teamsMessage(event, config.title)), 'utf8')
    // The trigger has no idempotency key: a retry after a timeout may post twice, which beats
    // a lost alert.
    const result = await session.exchange({
      step: 'post card',
      primary: true,
      build: () => ({
        method: 'POST',
        url: config.url,
        headers: { ...config.headers, 'content-type': 'application/json; charset=utf-8' },
        body,
      }),
      read: readTeamsResponse,
      dryRun: { runId: null, accepted: false },
    })
    if (!result.ok) return { ok: false, error: result.error }
    if (!result.value.accepted) return { ok: true, remoteReference: result.value.runId, recordsSent: 1 }
    return {
      ok: true,
      remoteReference: result.value.runId,
      recordsSent: 1,
      acceptedAsync: true,
      warnings: [ACCEPTED_ASYNC],
    }
  },
})

/**
 * The message envelope with one Adaptive Card 1.4 (never the retired MessageCard): the
 * trigger's template fails with "'foreach' … attachments … is of type 'Null'" on a bare card.
 */
export function teamsMessage(event: DeliveryEvent, title?: string): Record<string, unknown> {
  for (const budget of BUDGETS) {
    const message = envelope(event, title, renderCard(event, title, budget))
    if (bodyBytes(message) <= TEAMS_BODY_BUDGET) return message
  }
  return envelope(event, title, shortCard(event, title))
}

export function bodyBytes(message: unknown): number {
  return Buffer.byteLength(JSON.stringify(message), 'utf8')
}

function envelope(
  event: DeliveryEvent,
  title: string | undefined,
  body: CardElement[],
): Record<string, unknown> {
  return {
    type: 'message',
    attachments: [
      {
        contentType: ADAPTIVE_CARD,
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          fallbackText: truncate(headline(event, title), 300),
          body,
          msteams: { width: 'Full' },
        },
      },
    ],
  }
}

function renderCard(event: DeliveryEvent, title: string | undefined, budget: Budget): CardElement[] {
  const { view } = event
  const body = [titleBlock(event, title), literal(truncate(view.summary, budget.summary))]
  if (view.facts.length > 0) {
    const shown = view.facts.length > MAX_FACTS ? view.facts.slice(0, MAX_FACTS - 1) : view.facts
    const facts = shown.map((fact) => ({
      title: truncate(fact.label, 100),
      value: truncate(fact.value, budget.fact),
    }))
    if (shown.length < view.facts.length)
      facts.push({ title: '…', value: `${view.facts.length - shown.length} more facts not shown` })
    body.push({ type: 'FactSet', facts })
  }
  const highlights = view.highlights
  if (highlights && highlights.items.length > 0) {
    const items = highlights.items.slice(0, budget.items)
    const omitted = highlights.omitted + highlights.items.length - items.length
    body.push(
      textBlock(truncate(highlights.heading, 100), { weight: 'Bolder', spacing: 'Medium', separator: true }),
    )
    for (const item of items) body.push(literal(`• ${truncate(item, budget.item)}`, { spacing: 'Small' }))
    if (omitted > 0)
      body.push(textBlock(`…and ${omitted} more not shown`, { isSubtle: true, spacing: 'Small' }))
  }
  body.push(...footer(event, budget.references))
  return body
}

/**
 * The card when even the smallest budget is too large (text that JSON escapes six-fold):
 * title, summary and footer of at most 300 characters each stay far under the budget.
 */
function shortCard(event: DeliveryEvent, title: string | undefined): CardElement[] {
  return [
    titleBlock(event, title),
    literal(truncate(event.view.summary, 300)),
    textBlock(TOO_LARGE, { isSubtle: true }),
    ...footer(event, 0),
  ]
}

function titleBlock(event: DeliveryEvent, title: string | undefined): CardElement {
  const urgent = event.severity === 'critical' || event.severity === 'high'
  return textBlock(truncate(headline(event, title), 300), {
    weight: 'Bolder',
    size: urgent ? 'Large' : 'Medium',
    color: SEVERITY_COLOR[event.severity],
  })
}

function footer(event: DeliveryEvent, referenceChars: number): CardElement[] {
  const small = { isSubtle: true, size: 'Small' }
  const lines = [
    literal(truncate(`Event ${event.eventId} · ${event.eventType} · ${event.timestamp}`, 300), small),
  ]
  if (referenceChars > 0 && event.view.references.length > 0) {
    lines.push(literal(truncate(`References: ${event.view.references.join(' · ')}`, referenceChars), small))
  }
  lines[0]!.separator = true
  return lines
}

function textBlock(text: string, style: CardElement = {}): CardElement {
  return { type: 'TextBlock', text, wrap: true, ...style }
}

/**
 * Text from the artifact (summaries, commands, references) goes in a TextRun, which Adaptive
 * Cards never read as Markdown (https://learn.microsoft.com/adaptive-cards/authoring-cards/text-features),
 * so a command shows exactly as it was run.
 */
function literal(text: string, run: CardElement = {}): CardElement {
  const { spacing, separator, ...style } = run
  return {
    type: 'RichTextBlock',
    inlines: [{ type: 'TextRun', text, ...style }],
    ...(spacing ? { spacing } : {}),
    ...(separator ? { separator } : {}),
  }
}

/**
 * What a 202 means: the trigger queued the flow run and answered before the card was posted,
 * as it does unless the flow ends with a Response action
 * (https://learn.microsoft.com/azure/connectors/connectors-native-reqres); a card the flow then
 * fails to post shows only in the run history.
 */
export const ACCEPTED_ASYNC =
  "Teams accepted the card for later processing (HTTP 202): the flow posts it after answering, so a card it fails to post shows only in the flow's run history."

/**
 * 2xx is success and the run id is kept: 200 when the flow answered after posting (a Response
 * action), 202 when it only queued the run (`accepted`: posted later, not yet done).
 */
export function readTeamsResponse(
  response: HttpResponse,
): Verdict<{ runId: string | null; accepted: boolean }> {
  if (response.status >= 200 && response.status < 300) {
    return {
      kind: 'ok',
      value: { runId: response.headers['x-ms-workflow-run-id'] ?? null, accepted: response.status === 202 },
    }
  }
  const error = flowError(response.body)
  const vendor = error ? [error.code, error.message].filter(Boolean).join(': ') : excerpt(response)
  const fix =
    (error && FLOW_ERRORS[error.code]) ??
    (response.status === 401 || response.status === 403
      ? AUTH_FIX
      : response.status === 404
        ? 'the flow was deleted or turned off: turn it on in the Workflows app, or create it again and update url'
        : response.status === 413
          ? 'the message is larger than the flow accepts'
          : undefined)
  const reason = fix ? `${vendor}; ${fix}` : vendor
  return isRetryableStatus(response.status) ? { kind: 'retryable', reason } : { kind: 'failed', reason }
}

function flowError(body: string): { code: string; message: string } | undefined {
  const error = objectField(jsonObject(body)?.error)
  if (typeof error?.code !== 'string') return undefined
  const message = typeof error.message === 'string' ? error.message : ''
  return { code: error.code, message: message.replace(/\s+/g, ' ').trim().slice(0, 300) }
}
