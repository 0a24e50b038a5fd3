import { z } from 'zod'
import { sha256Hex } from '../common/digest.js'
import { ConfigError } from '../common/errors.js'
import { isSeverity, SEVERITIES, type Severity } from '../common/severity.js'
import type { ExchangeResult, Recovery } from '../delivery/exchange.js'
import type { HttpRequest, HttpResponse } from '../delivery/http.js'
import { isRetryableStatus, serverWaitMs } from '../delivery/retry.js'
import type { Session } from '../delivery/session.js'
import { excerpt, type Verdict } from '../delivery/verdict.js'
import type { DeliveryEvent } from '../events/event.js'
import { basicAuthorization, configuredHeaders } from './shared/auth.js'
import { jsonObject } from './shared/json.js'
import { recoveredWarnings } from './shared/outcomes.js'
import { headline, truncate } from './shared/presentation.js'
import { isPlainHttpOffHost, parseUrlSetting } from './shared/urls.js'
import { type ConnectorResult, defineConnector, type ProbeResult } from './types.js'

/**
 * Jira issues: one issue per event, and never a second one for the same event.
 * Cloud (REST v3, or v2): https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-post
 * Data Center (REST v2): https://developer.atlassian.com/server/jira/platform/jira-rest-api-example-create-issue-7897248/
 * Jira has no idempotency key, so every event carries a deterministic label
 * (`cavra-<12 hex of sha256(event_id)>`) that a JQL search finds before any create.
 * Cloud and Data Center search differently: Cloud removed `/rest/api/{2,3}/search` (410 Gone)
 * for `/rest/api/{2,3}/search/jql` (https://developer.atlassian.com/changelog/#CHANGE-2046),
 * which Data Center does not have.
 */

export type JiraDeployment = 'cloud' | 'datacenter'

export interface JiraConfig {
  /** Site base without a trailing slash (a Data Center context path is kept). */
  base: string
  /**
   * Jira Cloud or Data Center / Server: decides how duplicates are searched for. `configure`
   * always sets it; a config built by hand without it means Cloud for REST v3, else Data Center.
   */
  deployment?: JiraDeployment
  apiVersion: 2 | 3
  projectKey: string
  issueType: string
  authorization: string
  /** base64(email:token): a derived credential, registered with the session at delivery. */
  basicBlob?: string
  labels: string[]
  priorityMap: Partial<Record<Severity, string>>
  dedupe: boolean
  title?: string
  headers: Record<string, string>
}

/** Issue summaries are limited to 255 characters ("Summary must be less than 255 characters."). */
const SUMMARY_MAX = 255
/** Pauses before searching again for a create that got no answer (see `reconcile`). */
const RECONCILE_PAUSES_MS = [1500, 3000]
const MAX_LIST_ITEMS = 25
const MAX_TEXT = 2000
/** Ids, times and states an auditor matches the issue against (the code block of the description). */
const KEY_FIELDS = [
  ...['execution_id', 'rollback_id', 'promotion_execution_id', 'rollout_id', 'request_id', 'approval_id'],
  ...['publication_id', 'export_id', 'change_record', 'created_at', 'environment', 'approval_state'],
  ...['execution_status', 'rollback_status', 'decision_count', 'blocked_count', 'approval_required_count'],
]

export const jira = defineConnector({
  provider: 'jira',
  category: 'itsm',
  title: 'Jira',
  docs: 'https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/',
  settings: () => ({
    deployment: z
      .enum(['cloud', 'datacenter'])
      .optional()
      .describe(
        'Where Jira runs: cloud (default for *.atlassian.net sites) or datacenter (Data Center / Server, default for other hosts). Decides the duplicate search: /rest/api/{2|3}/search/jql on Cloud, /rest/api/2/search on Data Center.',
      ),
    api_version: z
      .union([z.literal(2), z.literal(3), z.enum(['2', '3'])])
      .optional()
      .describe(
        'REST API version: 3 (default on Cloud, description in Atlassian Document Format) or 2 (default and only version on Data Center; Cloud takes it too, with a wiki-markup description).',
      ),
    project_key: z
      .string()
      .min(1)
      .optional()
      .describe('Key of the project issues are created in (required).'),
    issue_type: z.string().min(1).optional().describe('Issue type name (default Task).'),
    email: z.string().min(1).optional().describe('Atlassian account email; with token, Cloud Basic auth.'),
    token: z
      .string()
      .min(1)
      .optional()
      .describe('Cloud API token (with email) or Data Center personal access token (alone, Bearer).'),
    labels: z.array(z.string()).optional().describe('Extra labels (no spaces); cavra adds its own.'),
    priority_map: z
      .record(z.string(), z.string())
      .optional()
      .describe('Severity → Jira priority name, e.g. {"critical": "Highest"}; unmapped: no priority.'),
    dedupe: z
      .boolean()
      .optional()
      .describe("Search for the event's label first and reuse an existing issue (default true)."),
  }),
  secrets: ['token'],
  urlIsSecret: false,

  configure(settings, context): JiraConfig {
    const url = settings.url
    if (!url) {
      throw new ConfigError(
        'url is required (the Jira site, e.g. https://acme.atlassian.net, or a full /rest/api/3/issue URL); set url or url_env.',
      )
    }
    const site = jiraSite(url)
    const configured =
      settings.api_version === undefined ? undefined : (Number(settings.api_version) as 2 | 3)
    if (configured && site.version && configured !== site.version) {
      context.warn(
        `connector ${context.name}: url names REST API ${site.version} but api_version is ${configured}; using ${configured}.`,
      )
    }
    const wanted = configured ?? site.version
    const deployment = jiraDeployment(url, settings.deployment, wanted)
    const apiVersion = wanted ?? (deployment === 'cloud' ? 3 : 2)
    const projectKey = settings.project_key
    if (!projectKey) {
      throw new ConfigError(
        'project_key is required (the key of the Jira project issues are created in, e.g. SEC); set project_key.',
      )
    }
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(projectKey)) {
      throw new ConfigError(`project_key "${projectKey}" is not a Jira project key (e.g. SEC).`)
    }
    const token = settings.token
    const email = settings.email
    if (!token) {
      throw new ConfigError(
        `token is required (${email ? 'the Atlassian API token for email' : 'a Cloud API token with email, or a Data Center personal access token'}); set token_env.`,
      )
    }
    // Cloud takes API tokens only as Basic email:token (jira-rest-api-basic-authentication);
    // Data Center PATs only as Bearer, never as a Basic password (personal-access-token).
    if (deployment === 'cloud' && !email) {
      context.warn(
        `connector ${context.name}: a token without email is sent as a Data Center personal access token (Bearer); Jira Cloud refuses that with 401. Set email for Cloud, or deployment: datacenter for Data Center.`,
      )
    }
    if (deployment === 'datacenter' && email) {
      context.warn(
        `connector ${context.name}: email + token is sent as Basic auth; Data Center expects a personal access token alone (Bearer), and failed Basic logins can trigger a CAPTCHA lockout. If this is Jira Cloud under another host name, set deployment: cloud.`,
      )
    }
    const basic = email ? basicAuthorization(email, token) : undefined
    if (isPlainHttpOffHost(url)) {
      context.warn(`connector ${context.name}: url uses http://; the Jira credentials travel unencrypted.`)
    }
    return {
      base: site.base,
      deployment,
      apiVersion,
      projectKey,
      issueType: settings.issue_type ?? 'Task',
      authorization: basic ? basic.header : `Bearer ${token}`,
      basicBlob: basic?.blob,
      labels: labelsOf(settings.labels),
      priorityMap: priorityMapOf(settings.priority_map),
      dedupe: settings.dedupe !== false,
      title: settings.title,
      headers: configuredHeaders(settings),
    }
  },

  deliver: deliverIssue,
  probe: probeSite,
})

/**
 * Cloud or Data Center: the `deployment` setting, else Cloud for an `*.atlassian.net` site (where
 * every Jira Cloud site lives) or for REST API 3 (which only Cloud has, e.g. behind a proxy),
 * else Data Center.
 */
export function jiraDeployment(
  url: string,
  configured: JiraDeployment | undefined,
  apiVersion: 2 | 3 | undefined,
): JiraDeployment {
  const atlassian = /(^|\.)atlassian\.net$/i.test(parseUrlSetting(url).hostname)
  if (configured === 'datacenter' && atlassian) {
    throw new ConfigError(
      `deployment is datacenter, but url is an *.atlassian.net site, which is Jira Cloud; remove deployment or set it to cloud.`,
    )
  }
  if (configured === 'datacenter' && apiVersion === 3) {
    throw new ConfigError(
      'api_version 3 is a Jira Cloud API; Data Center and Server offer REST API 2 only. Set api_version: 2, or deployment: cloud.',
    )
  }
  return configured ?? (atlassian || apiVersion === 3 ? 'cloud' : 'datacenter')
}

/** A site base, or a full `/rest/api/N/issue` URL (the earlier tool's JIRA_ISSUE_URL) whose N is kept. */
export function jiraSite(url: string): { base: string; version?: 2 | 3 } {
  const parsed = parseUrlSetting(url)
  const path = parsed.pathname.replace(/\/+$/, '')
  const rest = /^(.*)\/rest\/api\/(2|3|latest)\/issue$/.exec(path)
  if (!rest && path.includes('/rest/')) {
    throw new ConfigError(`url "${url}" is neither a Jira site nor a /rest/api/{2|3}/issue URL.`)
  }
  const base = `${parsed.origin}${rest ? rest[1] : path}`
  // `latest` is v2 on Cloud and Data Center alike.
  return rest ? { base, version: rest[2] === '3' ? 3 : 2 } : { base }
}

function labelsOf(value: unknown): string[] {
  const labels = Array.isArray(value) ? (value as string[]) : []
  for (const label of labels) {
    // "The label 'x y' contains spaces which is invalid." (create issue, 400).
    if (label === '' || /\s/.test(label) || label.length > 255) {
      throw new ConfigError(`labels: "${label}" is not a Jira label (no spaces, 1 to 255 characters).`)
    }
    // cavra's own labels find the event's issue and state its severity; a configured one could contradict them.
    if (label.startsWith('cavra-'))
      throw new ConfigError(`labels: "${label}": the cavra- prefix is cavra's own.`)
  }
  return labels
}

function priorityMapOf(value: unknown): Partial<Record<Severity, string>> {
  const map: Partial<Record<Severity, string>> = {}
  for (const [severity, priority] of Object.entries((value ?? {}) as Record<string, string>)) {
    if (!isSeverity(severity)) {
      throw new ConfigError(`priority_map key "${severity}" is not a severity; use ${SEVERITIES.join(', ')}.`)
    }
    if (priority.trim() === '')
      throw new ConfigError(`priority_map.${severity} is empty; name a Jira priority.`)
    map[severity] = priority
  }
  return map
}

/** The label that finds this event's issue again: `cavra-` + 12 hex of sha256(event_id). */
export function dedupeLabel(eventId: string): string {
  return `cavra-${sha256Hex(eventId).slice(0, 12)}`
}

/** The issue's `fields`: v3 with an ADF description, v2 with wiki markup. */
export function issueFields(event: DeliveryEvent, config: JiraConfig): Record<string, unknown> {
  const label = dedupeLabel(event.eventId)
  const priority = config.priorityMap[event.severity]
  return {
    project: { key: config.projectKey },
    issuetype: { name: config.issueType },
    // Jira refuses summaries with line breaks ("contains newline characters").
    summary: truncate(headline(event, config.title).replace(/\s+/g, ' ').trim(), SUMMARY_MAX),
    description:
      config.apiVersion === 3 ? adfDescription(event, config.title) : wikiDescription(event, config.title),
    labels: [...new Set([...config.labels, 'cavra', label, `cavra-severity-${event.severity}`])],
    // No map entry, no priority (the project's default applies).
    ...(priority ? { priority: { name: priority } } : {}),
  }
}

/** Identity, time and ids of the event (not the whole artifact). */
export function keyFields(
  event: DeliveryEvent,
  maxValue = Number.POSITIVE_INFINITY,
): Record<string, unknown> {
  const cut = (value: unknown) => (typeof value === 'string' ? truncate(value, maxValue) : value)
  const record: Record<string, unknown> = {
    event_id: event.eventId,
    event_type: event.eventType,
    severity: event.severity,
    timestamp: event.timestamp,
    product: cut(event.product),
  }
  if (event.sessionId) record.session_id = cut(event.sessionId)
  for (const name of KEY_FIELDS) {
    const value = event.fields[name]
    if (typeof value === 'string' || typeof value === 'number') record[name] = cut(value)
  }
  const release = event.fields.release as Record<string, unknown> | undefined
  if (release && typeof release === 'object') {
    record.release = {
      version: cut(release.version),
      commit: cut(release.commit),
      repository: cut(release.repository),
    }
  }
  if (event.source) record.source_sha256 = event.source.sha256
  record.dedupe_label = dedupeLabel(event.eventId)
  return record
}

/**
 * How much of the event a description shows. Jira refuses a description over 32,767
 * characters ("The entered text is too long. It exceeds the allowed limit of 32,767
 * characters.", fixed on Cloud: https://jira.atlassian.com/browse/JRACLOUD-68949; the Data
 * Center default of `jira.text.field.character.limit`:
 * https://confluence.atlassian.com/adminjiraserver/configuring-advanced-settings-938847853.html),
 * and the issue is then never created. An ADF description counts as the JSON Jira stores, so
 * its markup counts too.
 */
interface Limits {
  /** Items shown per list (highlights, references); the rest are counted in a marker. */
  items: number
  /** Characters per text: the summary, each fact value and each list item. */
  text: number
  facts: number
  /** Characters per string value of the event record (its ids and states). */
  record: number
}

/** What the whole description must stay within: Jira's 32,767 less a margin for how Jira re-serializes ADF. */
export const DESCRIPTION_BUDGET = 32_000
const FULL: Limits = {
  items: MAX_LIST_ITEMS,
  text: MAX_TEXT,
  facts: Number.POSITIVE_INFINITY,
  record: Number.POSITIVE_INFINITY,
}
/** Tried in order when the full description is over budget; within each, lists are shortened first. */
const SHORTER: readonly Limits[] = [
  FULL,
  { items: MAX_LIST_ITEMS, text: 500, facts: 20, record: 500 },
  { items: MAX_LIST_ITEMS, text: 200, facts: 10, record: 200 },
]
/** The last resort, far below the budget whatever the event holds: no lists, no facts, short texts. */
const MINIMAL: Limits = { items: 0, text: 100, facts: 0, record: 100 }

/** `… and 12 more (see the source artifact).`: what a shortened list or table leaves out. */
export function moreMarker(count: number): string {
  return `… and ${count} more (see the source artifact).`
}

/** What the description says, in order; rendered as ADF for v3 and wiki markup for v2. */
function outline(event: DeliveryEvent, title: string | undefined, limits: Limits) {
  const { view } = event
  const lists: Array<{ heading: string; items: string[]; note: number }> = []
  const highlights = view.highlights
  if (highlights && highlights.items.length > 0) {
    const items = highlights.items.slice(0, limits.items)
    lists.push({
      heading: highlights.heading,
      items,
      note: highlights.omitted + highlights.items.length - items.length,
    })
  }
  if (view.references.length > 0) {
    const items = view.references.slice(0, limits.items)
    lists.push({ heading: 'References', items, note: view.references.length - items.length })
  }
  const facts = view.facts.slice(0, limits.facts)
  return {
    heading: headline(event, title),
    summary: view.summary,
    facts,
    factsOmitted: view.facts.length - facts.length,
    lists,
    record: JSON.stringify(keyFields(event, limits.record), null, 2),
    label: dedupeLabel(event.eventId),
    text: limits.text,
  }
}

type Outline = ReturnType<typeof outline>

/**
 * The richest description that stays within `DESCRIPTION_BUDGET` as `measure` counts it: the
 * full one when it fits; else, at each level of shorter texts, the most list items that fit
 * (binary search; each list then ends with a marker counting what it left out); else the minimal one.
 */
function withinBudget<T>(
  event: DeliveryEvent,
  title: string | undefined,
  render: (o: Outline) => T,
  measure: (rendered: T) => number,
): T {
  const attempt = (limits: Limits) => {
    const rendered = render(outline(event, title, limits))
    return measure(rendered) <= DESCRIPTION_BUDGET ? rendered : undefined
  }
  for (const level of SHORTER) {
    const full = attempt(level)
    if (full !== undefined) return full
    let best: T | undefined
    let low = 0
    let high = level.items - 1
    while (low <= high) {
      const middle = Math.floor((low + high) / 2)
      const fits = attempt({ ...level, items: middle })
      if (fits === undefined) high = middle - 1
      else {
        best = fits
        low = middle + 1
      }
    }
    if (best !== undefined) return best
  }
  return render(outline(event, title, MINIMAL))
}

const FOOTER = [
  'Delivered by cavra. The label ',
  ' identifies the event; cavra looks for it before creating an issue.',
]

type AdfNode = {
  type: string
  attrs?: Record<string, unknown>
  content?: AdfNode[]
  text?: string
  marks?: Array<{ type: string; attrs?: Record<string, unknown> }>
}
type AdfDoc = { type: 'doc'; version: 1; content: AdfNode[] }

const text = (value: string, mark?: 'code', max = MAX_TEXT): AdfNode => ({
  type: 'text',
  text: truncate(value, max),
  ...(mark ? { marks: [{ type: mark }] } : {}),
})
const paragraph = (...content: AdfNode[]): AdfNode => ({ type: 'paragraph', content })
const heading = (level: number, value: string): AdfNode => ({
  type: 'heading',
  attrs: { level },
  content: [text(value)],
})
/** http(s) references become links; the others (rollout://…) stay text. */
const inline = (value: string, max: number): AdfNode =>
  /^https?:\/\/\S+$/.test(value) && value.length <= max
    ? { type: 'text', text: value, marks: [{ type: 'link', attrs: { href: value } }] }
    : text(value, undefined, max)

/**
 * Atlassian Document Format (https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/):
 * v3 refuses a plain string ("Operation value must be an Atlassian Document"); text nodes
 * must not be empty. Facts become a two-column table, lists bullet lists. The whole document,
 * as JSON, stays within `DESCRIPTION_BUDGET`.
 */
export function adfDescription(event: DeliveryEvent, title?: string): AdfDoc {
  return withinBudget(event, title, renderAdf, (doc) => JSON.stringify(doc).length)
}

function renderAdf(o: Outline): AdfDoc {
  const cell = (type: string, value: string): AdfNode => ({
    type,
    content: [paragraph(text(value, undefined, o.text))],
  })
  const content: AdfNode[] = [heading(2, o.heading), paragraph(text(o.summary, undefined, o.text))]
  if (o.facts.length > 0) {
    content.push({
      type: 'table',
      attrs: { isNumberColumnEnabled: false, layout: 'default' },
      content: o.facts.map((fact) => ({
        type: 'tableRow',
        content: [cell('tableHeader', fact.label), cell('tableCell', fact.value)],
      })),
    })
  }
  if (o.factsOmitted > 0) content.push(paragraph(text(moreMarker(o.factsOmitted))))
  for (const list of o.lists) {
    content.push(heading(3, list.heading))
    if (list.items.length > 0) {
      content.push({
        type: 'bulletList',
        content: list.items.map((item) => ({ type: 'listItem', content: [paragraph(inline(item, o.text))] })),
      })
    }
    if (list.note > 0) content.push(paragraph(text(moreMarker(list.note))))
  }
  content.push(
    heading(3, 'Event record'),
    { type: 'codeBlock', attrs: { language: 'json' }, content: [{ type: 'text', text: o.record }] },
    paragraph(text(FOOTER[0]!), text(o.label, 'code'), text(FOOTER[1]!)),
  )
  return { type: 'doc', version: 1, content }
}

/**
 * Wiki markup reads `[x]`, `*x*`, `|`, `{x}`… as formatting, and a `-` that opens a word as
 * strikethrough or a dash; a backslash escapes each (Text Formatting Notation Help).
 */
function wiki(value: string, max = MAX_TEXT): string {
  return truncate(value.replace(/\s+/g, ' ').trim(), max)
    .replace(/[\\{}[\]|*_^~+?!#]/g, '\\$&')
    .replace(/(^|[\s(])-/g, '$1\\-')
}

/**
 * Data Center's v2 description: a string in Jira's wiki markup (Text Formatting Notation),
 * within `DESCRIPTION_BUDGET` characters.
 */
export function wikiDescription(event: DeliveryEvent, title?: string): string {
  return withinBudget(event, title, renderWiki, (description) => description.length)
}

function renderWiki(o: Outline): string {
  const lines = [`h2. ${wiki(o.heading)}`, '', wiki(o.summary, o.text), '']
  if (o.facts.length > 0) {
    lines.push(
      '||Field||Value||',
      ...o.facts.map((fact) => `|${wiki(fact.label, o.text)}|${wiki(fact.value, o.text)}|`),
      '',
    )
  }
  if (o.factsOmitted > 0) lines.push(wiki(moreMarker(o.factsOmitted)), '')
  for (const list of o.lists) {
    lines.push(`h3. ${wiki(list.heading)}`, ...list.items.map((item) => `* ${wiki(item, o.text)}`))
    lines.push(...(list.note > 0 ? [wiki(moreMarker(list.note))] : []), '')
  }
  // Inside {code} nothing is markup, but the text must not close the block early.
  lines.push('h3. Event record', '{code:json}', o.record.replaceAll('{code', '{ code'), '{code}', '')
  lines.push(`${FOOTER[0]}{{${o.label}}}${FOOTER[1]}`)
  return lines.join('\n')
}

function headersOf(config: JiraConfig, json: boolean): Record<string, string> {
  return {
    ...config.headers,
    authorization: config.authorization,
    accept: 'application/json',
    ...(json ? { 'content-type': 'application/json' } : {}),
  }
}

const jqlString = (value: string) => `"${value.replace(/[\\"]/g, '\\$&')}"`

/**
 * `project = "SEC" AND labels = "cavra-…"`; with `withinMinutes`, only issues created that
 * recently (relative to Jira's clock), newest first, since an older one may match too.
 */
export function duplicateJql(config: JiraConfig, label: string, withinMinutes?: number): string {
  const since = withinMinutes === undefined ? '' : ` AND created >= -${withinMinutes}m ORDER BY created DESC`
  return `project = ${jqlString(config.projectKey)} AND labels = ${jqlString(label)}${since}`
}

/**
 * Cloud: `POST /rest/api/{2|3}/search/jql` (the old `/search` answers 410 Gone on Cloud since
 * CHANGE-2046, https://developer.atlassian.com/changelog/#CHANGE-2046; api-group-issue-search);
 * Data Center: `GET /rest/api/2/search`
 * (https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/search-search).
 * One key is all we need, so one page of one issue is read (`isLast`/`nextPageToken` never matter).
 */
export function searchRequest(config: JiraConfig, label: string, withinMinutes?: number): HttpRequest {
  const jql = duplicateJql(config, label, withinMinutes)
  if (deploymentOf(config) === 'cloud') {
    return {
      method: 'POST',
      url: `${config.base}/rest/api/${config.apiVersion}/search/jql`,
      headers: headersOf(config, true),
      body: JSON.stringify({ jql, fields: ['key'], maxResults: 1 }),
    }
  }
  const query = new URLSearchParams({ jql, fields: 'key', maxResults: '1' })
  return {
    method: 'GET',
    url: `${config.base}/rest/api/2/search?${query}`,
    headers: headersOf(config, false),
  }
}

function deploymentOf(config: JiraConfig): JiraDeployment {
  return config.deployment ?? (config.apiVersion === 3 ? 'cloud' : 'datacenter')
}

/** The key of the first issue found, or null when there is none. */
export function readSearchResponse(
  response: HttpResponse,
  config: JiraConfig,
  now = Date.now(),
): Verdict<string | null> {
  if (response.status >= 200 && response.status < 300) {
    const issues = jsonObject(response.body)?.issues
    if (!Array.isArray(issues)) return notJira(response)
    const key = (issues[0] as { key?: unknown } | undefined)?.key
    return { kind: 'ok', value: typeof key === 'string' ? key : null }
  }
  return readFailure(response, config, 'search', now)
}

/** What a create came to: created (key null only under --dry-run), or found after no answer. */
export type CreateOutcome = { how: 'created'; key: string | null } | { how: 'found'; key: string }

/** 201 `{id, key, self}`; the key (SEC-24) is the remote reference. */
export function readCreateResponse(
  response: HttpResponse,
  config: JiraConfig,
  now = Date.now(),
): Verdict<CreateOutcome> {
  if (response.status >= 200 && response.status < 300) {
    const key = jsonObject(response.body)?.key
    return typeof key === 'string' ? { kind: 'ok', value: { how: 'created', key } } : notJira(response)
  }
  return readFailure(response, config, 'create', now)
}

/** A 2xx that is not Jira's JSON: a login page of an SSO proxy, or the wrong URL. */
function notJira(response: HttpResponse): Verdict<never> {
  return { kind: 'failed', reason: `unexpected answer (is url the Jira site?): ${excerpt(response, 200)}` }
}

/**
 * Jira's error body `{"errorMessages": [...], "errors": {"field": "message"}}`, with what to
 * fix for the statuses the create and search resources document (400/401/403/404 are final).
 * 429 and 5xx are retried after Retry-After or, without it, X-RateLimit-Reset
 * (https://developer.atlassian.com/cloud/jira/platform/rate-limiting/).
 */
function readFailure(
  response: HttpResponse,
  config: JiraConfig,
  what: 'search' | 'create',
  now: number,
): Verdict<never> {
  const reason = jiraErrorText(response)
  if (isRetryableStatus(response.status)) {
    return { kind: 'retryable', reason, retryAfterMs: serverWaitMs(response.headers, now) }
  }
  const project = config.projectKey
  const permission = what === 'create' ? 'Create Issues' : 'Browse Projects'
  const fix: Record<number, string> = {
    401: 'check email and token: Cloud takes Basic email:API token, Data Center a personal access token alone',
    403: `the account lacks the ${permission} permission in project ${project}`,
    404: `project ${project} is not visible to this account, or url is not the Jira site`,
    410: `this Jira no longer offers the endpoint (cavra searched as ${deploymentOf(config) === 'cloud' ? 'Jira Cloud' : 'Data Center'}); check deployment`,
  }
  return { kind: 'failed', reason: fix[response.status] ? `${reason} (${fix[response.status]})` : reason }
}

/** `issuetype: Specify a valid issue type; Field 'x' cannot be set`, or a body excerpt. */
export function jiraErrorText(response: HttpResponse): string {
  const body = jsonObject(response.body)
  const messages = Array.isArray(body?.errorMessages) ? body.errorMessages.map(String) : []
  const errors =
    body?.errors && typeof body.errors === 'object' ? (body.errors as Record<string, unknown>) : {}
  const parts = [...messages, ...Object.entries(errors).map(([field, message]) => `${field}: ${message}`)]
  return parts.length > 0 ? parts.join('; ') : excerpt(response)
}

async function deliverIssue(
  event: DeliveryEvent,
  config: JiraConfig,
  session: Session,
): Promise<ConnectorResult> {
  if (config.basicBlob) session.addSecret(config.basicBlob)
  const label = dedupeLabel(event.eventId)
  session.setIdempotencyKey(label)
  const search = (step: string, withinMinutes?: number) =>
    session.exchange<string | null>({
      step,
      build: () => searchRequest(config, label, withinMinutes),
      read: (response) => readSearchResponse(response, config),
      dryRun: null,
    })

  if (config.dedupe) {
    const existing = await search('search duplicates')
    if (!existing.ok) return { ok: false, error: `${existing.error} (duplicate check; no issue was created)` }
    if (existing.value)
      return { ok: true, remoteReference: existing.value, recordsSent: 0, deduplicated: true }
  }

  let firstSentAt: number | undefined
  // Without dedupe an older issue of this event may exist: only one created since our first try counts.
  const recentMinutes = () =>
    config.dedupe ? undefined : Math.ceil((session.now() - (firstSentAt ?? session.now())) / 60_000) + 1
  const recover = () => reconcile(session, () => search('search created issue', recentMinutes()))
  const url = `${config.base}/rest/api/${config.apiVersion}/issue`
  const body = JSON.stringify({ fields: issueFields(event, config) })
  const created = await session.exchange<CreateOutcome>({
    step: 'create issue',
    primary: true,
    build: () => {
      firstSentAt ??= session.now()
      return { method: 'POST', url, headers: headersOf(config, true), body }
    },
    read: (response) => readCreateResponse(response, config),
    recover,
    creates: 'issue',
    dryRun: { how: 'created', key: null },
  })

  if (created.ok) {
    // Found after a lost answer: the issue this delivery created, not a duplicate of an earlier one.
    return {
      ok: true,
      remoteReference: created.value.key,
      recordsSent: 1,
      ...recoveredWarnings(created.value.how === 'found'),
    }
  }
  // An unanswered create is never re-sent blind; say how to finish the job safely.
  return {
    ok: false,
    error: created.ambiguous ? `${created.error}; ${nextStep(config, label)}` : created.error,
  }
}

function nextStep(config: JiraConfig, label: string): string {
  return config.dedupe
    ? 'deliver again: the duplicate check will find the issue if it exists'
    : `look for label ${label} in project ${config.projectKey} before delivering again`
}

/**
 * The duplicate check after a create that got no answer (timeout or reset after sending).
 * Cloud's JQL search is eventually consistent ("Search After Write with Search And
 * Reconcile", https://developer.atlassian.com/cloud/jira/platform/search-and-reconcile): an
 * issue created moments ago may be missing for a few seconds, and `reconcileIssues` helps
 * only with issue ids we already know, which an unanswered create never gave us. The
 * session calls this after its backoff wait, which can be nearly zero, so one empty search
 * is not trusted: it is repeated after growing pauses, each bounded by the --deadline
 * (`session.pause`). Only when every search is empty may the create be re-sent; when the
 * deadline or a failing search leaves the question open, nothing is re-sent.
 */
async function reconcile(
  session: Session,
  search: () => Promise<ExchangeResult<string | null>>,
): Promise<Recovery<CreateOutcome>> {
  for (const pause of [0, ...RECONCILE_PAUSES_MS]) {
    if (pause > 0 && !(await session.pause(pause))) {
      return { unknown: 'the --deadline left no time to confirm it by search' }
    }
    const found = await search()
    if (!found.ok) return { unknown: `the search for it failed: ${found.error}` }
    if (found.value) return { found: { how: 'found', key: found.value } }
  }
  return { absent: true }
}

/** What a probe answer needs fixed, in Jira's terms (the statuses myself and get-project document). */
function probeFailure(
  response: HttpResponse,
  config: JiraConfig,
  step: 'myself' | 'project',
): Verdict<never> {
  const reason = jiraErrorText(response)
  if (isRetryableStatus(response.status)) return { kind: 'retryable', reason }
  const project = config.projectKey
  const fix: Record<number, string> = {
    401: 'Jira refused the credentials: Cloud takes email + an API token (Basic), Data Center a personal access token alone (Bearer); check email and token',
    403:
      step === 'myself'
        ? 'the account may not use the REST API'
        : `the account lacks the Browse Projects permission in project ${project}`,
    404:
      step === 'myself'
        ? `url is not a Jira site with REST API ${config.apiVersion}`
        : `project ${project} does not exist or is not visible to this account (Browse Projects permission); check project_key`,
  }
  return { kind: 'failed', reason: fix[response.status] ? `${reason} (${fix[response.status]})` : reason }
}

/** `GET /rest/api/{2|3}/myself`: the account the credentials belong to. */
export function readMyself(response: HttpResponse, config: JiraConfig): Verdict<string> {
  if (response.status >= 200 && response.status < 300) {
    const me = jsonObject(response.body)
    const who = me?.displayName ?? me?.name ?? me?.accountId
    return typeof who === 'string' ? { kind: 'ok', value: who } : notJira(response)
  }
  return probeFailure(response, config, 'myself')
}

/** `GET /rest/api/{2|3}/project/{key}`: the project, and the issue types it offers. */
export function readProject(response: HttpResponse, config: JiraConfig): Verdict<string[] | null> {
  if (response.status >= 200 && response.status < 300) {
    const project = jsonObject(response.body)
    if (typeof project?.key !== 'string') return notJira(response)
    const types = Array.isArray(project.issueTypes)
      ? project.issueTypes
          .map((type: { name?: unknown }) => type?.name)
          .filter((name): name is string => typeof name === 'string')
      : null
    return { kind: 'ok', value: types }
  }
  return probeFailure(response, config, 'project')
}

/**
 * Who the credentials are (Get current user) and whether the project is there for them (Get
 * project, which lists its issue types): https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-myself/,
 * https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-projects/#api-rest-api-3-project-projectidorkey-get.
 */
async function probeSite(config: JiraConfig, session: Session): Promise<ProbeResult> {
  if (config.basicBlob) session.addSecret(config.basicBlob)
  const api = `${config.base}/rest/api/${config.apiVersion}`
  const projectPath = `/project/${encodeURIComponent(config.projectKey)}`
  const probe = `GET /rest/api/${config.apiVersion}/myself, then GET /rest/api/${config.apiVersion}${projectPath}`
  const me = await session.exchange({
    step: 'myself',
    build: () => ({ method: 'GET', url: `${api}/myself`, headers: headersOf(config, false) }),
    read: (response) => readMyself(response, config),
    dryRun: '',
  })
  if (!me.ok) return { status: 'unhealthy', probe, detail: me.error }
  const project = await session.exchange({
    step: 'project',
    build: () => ({ method: 'GET', url: `${api}${projectPath}`, headers: headersOf(config, false) }),
    read: (response) => readProject(response, config),
    dryRun: null,
  })
  if (!project.ok) return { status: 'unhealthy', probe, detail: project.error }
  const types = project.value
  if (types && !types.some((type) => type.toLowerCase() === config.issueType.toLowerCase())) {
    return {
      status: 'unhealthy',
      probe,
      detail: `issue type "${config.issueType}" does not exist in project ${config.projectKey} (it has ${types.join(', ') || 'none'}); set issue_type`,
    }
  }
  return {
    status: 'healthy',
    probe,
    detail: `signed in as ${me.value}; project ${config.projectKey} is visible and offers issue type ${config.issueType}`,
  }
}
