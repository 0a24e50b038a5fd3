import { z } from 'zod'
import { sha256Hex } from '../common/digest.js'
import { ConfigError } from '../common/errors.js'
import type { Severity } from '../common/severity.js'
import { recoveryOf, type TokenSource } from '../delivery/exchange.js'
import type { HttpResponse } from '../delivery/http.js'
import { isRetryableStatus, serverWaitMs } from '../delivery/retry.js'
import type { Session } from '../delivery/session.js'
import { excerpt, type Verdict } from '../delivery/verdict.js'
import type { DeliveryEvent } from '../events/event.js'
import { PROMOTION_EVENT_TYPE, ROLLBACK_EVENT_TYPE } from '../events/release.js'
import { objectField } from '../events/views.js'
import { basicAuthorization, configuredHeaders } from './shared/auth.js'
import { jsonObject } from './shared/json.js'
import { renewableToken } from './shared/oauth.js'
import { recoveredWarnings } from './shared/outcomes.js'
import { headline, severityWord, truncate } from './shared/presentation.js'
import { isPlainHttpOffHost, parseUrlSetting } from './shared/urls.js'
import { type ConnectorResult, defineConnector, type ProbeResult } from './types.js'

/**
 * ServiceNow change requests, through the Table API
 * (https://www.servicenow.com/docs/bundle/zurich-api-reference/page/integrate/inbound-rest/concept/c_TableAPI.html)
 * or the Change Management API
 * (https://www.servicenow.com/docs/bundle/zurich-api-reference/page/integrate/inbound-rest/concept/change-management-api.html).
 * Neither has an idempotency key, so the task's `correlation_id` carries `cavra:<event_id>` and,
 * with `dedupe`, is looked up before every create and before any resend of an ambiguous one.
 */

export type ChangeModel = { kind: 'normal' } | { kind: 'emergency' } | { kind: 'standard'; template: string }

export interface ServiceNowConfig {
  api: 'table' | 'change'
  table: string
  changeModel: ChangeModel
  /** Where records are created (Table API with its sysparm_* options, or a Change API endpoint). */
  createUrl: string
  /** Table API URL of the table the records land in, for the duplicate check. */
  lookupUrl: string
  /** A fixed Authorization header (Basic or a given token), or none with OAuth. */
  authorization?: string
  /** An OAuth token from the instance's /oauth_token.do, fetched and renewed by the session. */
  auth?: TokenSource
  /** `base64(user:password)`, a run-time credential registered with the session. */
  basicBlob?: string
  assignmentGroup?: string
  category: string
  correlationDisplay: string
  dedupe: boolean
  title?: string
  headers: Record<string, string>
}

/** What a create or a duplicate check hands back. */
export interface RecordRef {
  sysId: string | null
  number: string | null
}

// Dictionary sizes of the task table: short_description String(160), description String(4000),
// correlation_id and correlation_display String(100). Longer values are cut silently on insert.
const SHORT_DESCRIPTION_MAX = 160
const DESCRIPTION_MAX = 4000
const CORRELATION_MAX = 100
const SYS_ID = /^[0-9a-f]{32}$/
// The standard-change endpoint ignores these fields: the template owns them (POST /change/standard).
const TEMPLATE_OWNED = ['description', 'backout_plan', 'test_plan', 'implementation_plan']

export const servicenow = defineConnector({
  provider: 'servicenow',
  category: 'itsm',
  title: 'ServiceNow',
  docs: 'https://www.servicenow.com/docs/bundle/zurich-api-reference/page/integrate/inbound-rest/concept/c_TableAPI.html',
  settings: () => ({
    api: z
      .enum(['table', 'change'])
      .optional()
      .describe('table (default) or change (Change Management API).'),
    table: z.string().min(1).optional().describe('Table API target table (default change_request).'),
    change_model: z.string().min(1).optional().describe('normal (default), emergency or standard:<sys_id>.'),
    username: z.string().min(1).optional().describe('Integration user, Basic auth with password.'),
    password: z.string().min(1).optional().describe('Password of username.'),
    token: z.string().min(1).optional().describe('OAuth access token obtained elsewhere, sent as Bearer.'),
    client_id: z
      .string()
      .min(1)
      .optional()
      .describe('Client id of an OAuth application registry entry: cavra asks /oauth_token.do for tokens.'),
    client_secret: z.string().min(1).optional().describe('Client secret of that OAuth application.'),
    grant_type: z
      .enum(['client_credentials', 'password'])
      .optional()
      .describe('OAuth grant: client_credentials (default) or password (with username + password).'),
    assignment_group: z.string().min(1).optional().describe('sys_id of the assignment group.'),
    category: z.string().min(1).optional().describe('Category choice value (default software).'),
    correlation_display: z.string().min(1).optional().describe('Source named on records (default CAVRA).'),
    dedupe: z.boolean().optional().describe('Look the correlation id up before creating (default true).'),
  }),
  secrets: ['password', 'token', 'client_secret'],
  urlIsSecret: false,

  configure(settings, context): ServiceNowConfig {
    const url = settings.url
    if (!url) {
      throw new ConfigError(
        'url is required (the instance, e.g. https://acme.service-now.com, or a full /api/now/table/<table> URL); set url or url_env.',
      )
    }
    const instance = instanceOf(url)
    const api = settings.api === 'change' ? 'change' : 'table'
    const named = settings.table
    if (named && instance.table && named !== instance.table) {
      throw new ConfigError(`table "${named}" contradicts the table in url ("${instance.table}"); keep one.`)
    }
    const table = named ?? instance.table ?? 'change_request'
    if (!/^[a-z0-9_]+$/.test(table)) throw new ConfigError(`table "${table}" is not a ServiceNow table name.`)
    if (api === 'change' && table !== 'change_request') {
      throw new ConfigError(`api "change" creates change_request records; table "${table}" cannot be used.`)
    }
    const model = settings.change_model
    if (model && api !== 'change')
      context.warn(`connector ${context.name}: change_model applies to api: change only.`)
    const changeModel = parseChangeModel(model)
    const display = settings.correlation_display ?? 'CAVRA'
    if (display.length > CORRELATION_MAX || display.includes('^')) {
      throw new ConfigError(`correlation_display must be at most ${CORRELATION_MAX} characters, without "^".`)
    }
    const dedupe = settings.dedupe !== false
    if (dedupe && api === 'change' && changeModel.kind === 'standard') {
      context.warn(
        `connector ${context.name}: a standard change keeps only the fields its template exposes; unless the template includes correlation_id and correlation_display, re-deliveries cannot be recognised.`,
      )
    }
    const assignmentGroup = settings.assignment_group
    if (assignmentGroup && !SYS_ID.test(assignmentGroup)) {
      context.warn(
        `connector ${context.name}: assignment_group is a reference field; give the group's sys_id.`,
      )
    }
    if (isPlainHttpOffHost(url))
      context.warn(`connector ${context.name}: url uses http://; credentials travel unencrypted.`)
    const tableUrl = instance.tableUrl ?? `${instance.base}/api/now/table/${table}`
    return {
      api,
      table,
      changeModel,
      createUrl:
        api === 'change'
          ? `${instance.base}/api/sn_chg_rest/change/${changeModel.kind === 'standard' ? `standard/${changeModel.template}` : changeModel.kind}`
          : tableCreateUrl(tableUrl),
      lookupUrl: api === 'change' ? `${instance.base}/api/now/table/change_request` : tableUrl,
      ...credentials(settings, instance.base),
      assignmentGroup,
      category: settings.category ?? 'software',
      correlationDisplay: display,
      dedupe,
      title: settings.title,
      headers: configuredHeaders(settings),
    }
  },

  deliver: deliverRecord,
  probe: probeTable,
})

/** The instance base (any path prefix before `/api/` kept), and the table of a full Table API URL. */
export function instanceOf(url: string): { base: string; tableUrl?: string; table?: string } {
  const parsed = parseUrlSetting(url)
  const path = parsed.pathname.replace(/\/+$/, '')
  const at = path.indexOf('/api/')
  if (at === -1) return { base: `${parsed.origin}${path}` }
  const table = /^\/api\/now\/(?:v\d+\/)?table\/([^/]+)$/.exec(path.slice(at))?.[1]
  if (!table)
    throw new ConfigError(`url path "${path}" is neither an instance nor a /api/now/table/<table> URL.`)
  return { base: `${parsed.origin}${path.slice(0, at)}`, tableUrl: `${parsed.origin}${path}`, table }
}

export function parseChangeModel(value: string | undefined): ChangeModel {
  if (value === undefined || value === 'normal') return { kind: 'normal' }
  if (value === 'emergency') return { kind: 'emergency' }
  const template = /^standard:(.*)$/.exec(value)?.[1]
  if (template !== undefined && SYS_ID.test(template)) return { kind: 'standard', template }
  throw new ConfigError(
    `change_model "${value}" must be normal, emergency or standard:<sys_id of a standard change template, 32 hex>.`,
  )
}

function tableCreateUrl(tableUrl: string): string {
  return `${tableUrl}?${new URLSearchParams({ sysparm_fields: 'sys_id,number', sysparm_exclude_reference_link: 'true' })}`
}

interface CredentialSettings {
  username?: string
  password?: string
  token?: string
  client_id?: string
  client_secret?: string
  grant_type?: 'client_credentials' | 'password'
}

/** The entry's one credential form: Basic, a given token, or OAuth with one of two grants. */
function credentials(
  settings: CredentialSettings,
  instanceBase: string,
): Pick<ServiceNowConfig, 'authorization' | 'auth' | 'basicBlob'> {
  const { username, password, token } = settings
  if (settings.client_id || settings.client_secret || settings.grant_type)
    return { auth: oauthToken(settings, instanceBase) }
  if (token && (username || password))
    throw new ConfigError(
      'username + password and token are each a credential and an entry takes exactly one; keep one of them.',
    )
  if (token) return { authorization: `Bearer ${token}` }
  if (username && !password) throw new ConfigError('password is required with username; set password_env.')
  if (password && !username) throw new ConfigError('username is required with password.')
  if (!username || !password) {
    throw new ConfigError(
      'a credential is required: client_id + client_secret_env (OAuth), username + password_env (Basic) or token_env (Bearer).',
      ['docs/credentials.md shows each credential form.'],
    )
  }
  const { header, blob } = basicAuthorization(username, password)
  return { authorization: header, basicBlob: blob }
}

/**
 * OAuth through the instance's token endpoint, `POST {instance}/oauth_token.do`, form-encoded
 * (ServiceNow "OAuth inbound"; the client-credentials grant needs the system property
 * glide.oauth.inbound.client.credential.grant_type.enabled and an OAuth Application User).
 */
function oauthToken(settings: CredentialSettings, instanceBase: string): TokenSource {
  const { username, password, token } = settings
  const grantType = settings.grant_type ?? 'client_credentials'
  if (token)
    throw new ConfigError(
      'client_id and token are each a credential and an entry takes exactly one; keep one of them.',
    )
  if (!settings.client_id)
    throw new ConfigError('client_id is required for OAuth (the OAuth application registry entry).')
  if (!settings.client_secret)
    throw new ConfigError('client_secret is required with client_id; set client_secret_env.')
  if (grantType === 'client_credentials' && (username || password))
    throw new ConfigError(
      'username and password are not used by the client_credentials grant: set grant_type: password to sign in as that user, or remove them.',
    )
  if (grantType === 'password' && (!username || !password))
    throw new ConfigError('grant_type password needs username and password (password_env).')
  return renewableToken({
    issuer: 'ServiceNow',
    tokenUrl: `${instanceBase}/oauth_token.do`,
    clientId: settings.client_id,
    clientSecret: settings.client_secret,
    grant:
      grantType === 'password'
        ? { type: 'password', username: username!, password: password! }
        : { type: 'client_credentials' },
    // Instances answer a refused token request 401 {"error":"server_error","error_description":"access_denied"}.
    advise: (error, description) =>
      description === 'access_denied' || error === 'invalid_client' || error === 'unauthorized_client'
        ? grantType === 'client_credentials'
          ? 'check client_id and client_secret; the client_credentials grant also needs the instance property glide.oauth.inbound.client.credential.grant_type.enabled and an OAuth Application User on the application'
          : 'check client_id, client_secret, username and password'
        : undefined,
  })
}

/**
 * `cavra:<event_id>`, unless that exceeds correlation_id's 100 characters or the id holds a
 * caret (the AND of an encoded query) or whitespace: then the first characters of the id, `~`,
 * and 32 hex of its SHA-256, exactly 100 characters. The same id always gives the same value,
 * so the duplicate check finds what an earlier delivery stored instead of a truncated copy.
 */
export function correlationId(eventId: string): string {
  const plain = `cavra:${eventId}`
  if (plain.length <= CORRELATION_MAX && !/[\^\s]/.test(eventId)) return plain
  const digest = sha256Hex(eventId).slice(0, 32)
  const room = CORRELATION_MAX - 'cavra:'.length - 1 - digest.length
  const head = Array.from(eventId.replace(/[\^\s]/g, '_'))
    .slice(0, room)
    .join('')
  return `cavra:${head}~${digest}`
}

/** ServiceNow's impact and urgency choices, 1 (High) to 3 (Low). */
export function severityLevel(severity: Severity): '1' | '2' | '3' {
  return severity === 'critical' ? '1' : severity === 'high' ? '2' : '3'
}

/** The record's fields; all values are strings, as the Table API reads and writes them. */
export function buildRecord(event: DeliveryEvent, config: ServiceNowConfig): Record<string, string> {
  const level = severityLevel(event.severity)
  const record: Record<string, string> = {
    short_description: truncate(headline(event, config.title), SHORT_DESCRIPTION_MAX),
    description: truncate(describe(event), DESCRIPTION_MAX),
    correlation_id: correlationId(event.eventId),
    correlation_display: config.correlationDisplay,
    impact: level,
    urgency: level,
    category: config.category,
    ...(config.assignmentGroup ? { assignment_group: config.assignmentGroup } : {}),
    ...(config.table === 'change_request' ? changeFields(event) : {}),
  }
  if (config.api === 'change' && config.changeModel.kind === 'standard') {
    for (const field of TEMPLATE_OWNED) delete record[field]
  }
  return record
}

/** A plain-text rendering of the event's view: ServiceNow shows description as text. */
export function describe(event: DeliveryEvent): string {
  const { view } = event
  const parts = [`Severity: ${severityWord(event.severity)}`, view.summary]
  if (view.facts.length > 0) parts.push(view.facts.map((fact) => `${fact.label}: ${fact.value}`).join('\n'))
  if (view.highlights)
    parts.push(listOf(view.highlights.heading, view.highlights.items, view.highlights.omitted))
  if (view.references.length > 0) parts.push(listOf('References', view.references, 0))
  if (!view.facts.some((fact) => fact.value.includes(event.eventType))) {
    parts.push(`Event: ${event.eventType} ${event.eventId}`)
  }
  return parts.join('\n\n')
}

function listOf(heading: string, items: string[], omitted: number): string {
  const more = omitted > 0 ? `\n(${omitted} more not shown)` : ''
  return `${heading}:\n${items.map((item) => `- ${item}`).join('\n')}${more}`
}

/**
 * change_request's planning fields for release events: why (justification), what was done
 * (implementation_plan) and, for a promotion, how to undo it (backout_plan: its rollback plan).
 */
function changeFields(event: DeliveryEvent): Record<string, string> {
  const fact = (label: string) => event.view.facts.find((entry) => entry.label === label)?.value
  const labelled = (label: string) => (fact(label) ? `${label}: ${fact(label)}` : undefined)
  const lines = (...entries: Array<string | undefined>) => entries.filter(Boolean).join('\n')
  const done = (verb: string) =>
    `${verb} ${fact('Release')}, ${fact('Rings')}, in ${fact('Environment')} (status ${fact('Status')}).`
  const steps = event.view.highlights
  const plan = steps ? listOf(steps.heading, steps.items, steps.omitted) : undefined
  if (event.eventType === ROLLBACK_EVENT_TYPE) {
    return {
      justification: lines(fact('Reason'), labelled('Approval'), labelled('Change record')),
      implementation_plan: lines(done('Rolled back'), labelled('Targets'), plan && `\n${plan}`),
    }
  }
  if (event.eventType !== PROMOTION_EVENT_TYPE) return {}
  return {
    justification: lines(labelled('Approval'), labelled('Change record')),
    implementation_plan: lines(done('Promoted'), labelled('Targets')),
    ...(plan ? { backout_plan: plan } : {}),
  }
}

/**
 * The duplicate check. Invalid parts of `sysparm_query` are ignored by default (Table API,
 * sysparm_query: "the instance ignores the invalid part"; unless glide.invalid_query.returns_no_rows),
 * so an instance may answer with an unrelated row: only a row carrying our correlation id and
 * display counts as a duplicate.
 */
export function lookupUrl(config: ServiceNowConfig, correlation: string): string {
  const url = new URL(config.lookupUrl)
  url.searchParams.set(
    'sysparm_query',
    `correlation_id=${correlation}^correlation_display=${config.correlationDisplay}`,
  )
  url.searchParams.set('sysparm_fields', 'sys_id,number,correlation_id,correlation_display')
  url.searchParams.set('sysparm_limit', '1')
  url.searchParams.set('sysparm_exclude_reference_link', 'true')
  return url.toString()
}

export function readLookupResponse(
  response: HttpResponse,
  config: ServiceNowConfig,
  correlation: string,
  now = Date.now(),
): Verdict<RecordRef | null> {
  if (response.status >= 200 && response.status < 300) {
    const result = jsonObject(response.body)?.result
    const row = objectField(Array.isArray(result) ? result[0] : undefined)
    const ours =
      row &&
      fieldValue(row.correlation_id) === correlation &&
      fieldValue(row.correlation_display) === config.correlationDisplay
    return { kind: 'ok', value: ours ? refOf(row) : null }
  }
  // GET /now/v1/table answers a query without matches with 404 (v2 with an empty array).
  if (response.status === 404 && /no record/i.test(errorOf(response.body).message ?? '')) {
    return { kind: 'ok', value: null }
  }
  return readFailure(response, config, 'lookup', now)
}

/** Table API answers 201 `{result: {...strings}}`; the Change API 200 with `{value, display_value}` per field. */
export function readCreateResponse(
  response: HttpResponse,
  config: ServiceNowConfig,
  now = Date.now(),
): Verdict<RecordRef> {
  if (response.status >= 200 && response.status < 300) {
    const result = jsonObject(response.body)?.result
    // The Change API's own examples show `result` both as an object and as a one-element array.
    const row = objectField(Array.isArray(result) ? result[0] : result) ?? {}
    const fromLocation = /\/([0-9a-f]{32})$/.exec(response.headers.location ?? '')?.[1] ?? null
    const ref = refOf(row)
    return { kind: 'ok', value: { sysId: ref.sysId ?? fromLocation, number: ref.number } }
  }
  return readFailure(response, config, 'create', now)
}

/**
 * ServiceNow's error body `{"error":{"message","detail"},"status":"failure"}`, with a hint for
 * the final statuses; 429 waits for Retry-After or, without it, until X-RateLimit-Reset (Unix
 * seconds; Inbound REST API rate limiting).
 */
function readFailure(
  response: HttpResponse,
  config: ServiceNowConfig,
  step: 'lookup' | 'create',
  now: number,
): Verdict<never> {
  const { message, detail } = errorOf(response.body)
  const text = message ? `${message}${detail ? ` (${detail})` : ''}` : excerpt(response)
  if (response.status === 429) {
    return { kind: 'retryable', reason: text, retryAfterMs: serverWaitMs(response.headers, now) }
  }
  if (isRetryableStatus(response.status)) return { kind: 'retryable', reason: text }
  const hint = hintFor(response.status, message ?? '', config, step)
  return { kind: 'failed', reason: hint ? `${text}: ${hint}` : text }
}

function hintFor(
  status: number,
  message: string,
  config: ServiceNowConfig,
  step: string,
): string | undefined {
  const { changeModel: model, table } = config
  const changeCreate = config.api === 'change' && step === 'create'
  if (status === 401)
    return config.auth
      ? 'the instance refused a fresh OAuth token too; check that the OAuth application and its user are active'
      : 'check username and password (Basic) or token (Bearer)'
  if (status === 403) {
    if (changeCreate) return 'creating through the Change API needs the itil, change_manager or admin role'
    return `the user lacks the role or ACL to ${step === 'lookup' ? 'read' : 'create records in'} ${table}`
  }
  if (status === 404 && changeCreate && model.kind === 'standard') {
    return `standard change template ${model.template} was not found or is not published; check change_model`
  }
  if (status === 404 && changeCreate) {
    return 'the Change Management API (sn_chg_rest) is not active on this instance; use api: table'
  }
  if (status === 404 || (status === 400 && /invalid table/i.test(message))) {
    return `table "${table}" does not exist on this instance; check table or url`
  }
  return undefined
}

function errorOf(body: string): { message?: string; detail?: string } {
  const error = objectField(jsonObject(body)?.error)
  return {
    message: typeof error?.message === 'string' ? error.message : undefined,
    detail: typeof error?.detail === 'string' ? error.detail : undefined,
  }
}

/** A Table API string, a `{value, display_value}` Change API field, or a `{link, value}` reference. */
function fieldValue(field: unknown): string | undefined {
  const value = typeof field === 'string' ? field : objectField(field)?.value
  return typeof value === 'string' && value !== '' ? value : undefined
}

function refOf(row: Record<string, unknown>): RecordRef {
  return { sysId: fieldValue(row.sys_id) ?? null, number: fieldValue(row.number) ?? null }
}

/** `CHG0030022 (c537bae64f411200adf9f8e18110c76e)`, as the evidence shows it. */
export function referenceOf(ref: RecordRef): string | null {
  if (ref.number && ref.sysId) return `${ref.number} (${ref.sysId})`
  return ref.number ?? ref.sysId
}

async function deliverRecord(
  event: DeliveryEvent,
  config: ServiceNowConfig,
  session: Session,
): Promise<ConnectorResult> {
  if (config.basicBlob) session.addSecret(config.basicBlob)
  const correlation = correlationId(event.eventId)
  session.setIdempotencyKey(correlation)
  const headers = {
    ...config.headers,
    accept: 'application/json',
    ...(config.authorization ? { authorization: config.authorization } : {}),
  }
  const findExisting = () =>
    session.exchange<RecordRef | null>({
      step: 'find existing record',
      auth: config.auth,
      build: () => ({ method: 'GET', url: lookupUrl(config, correlation), headers }),
      read: (response) => readLookupResponse(response, config, correlation),
      dryRun: null,
    })
  if (config.dedupe) {
    const existing = await findExisting()
    if (!existing.ok)
      return { ok: false, error: `duplicate check failed, nothing was created: ${existing.error}` }
    if (existing.value) {
      return { ok: true, remoteReference: referenceOf(existing.value), recordsSent: 0, deduplicated: true }
    }
  }
  const body = JSON.stringify(buildRecord(event, config))
  const created = await session.exchange<RecordRef>({
    step:
      config.api === 'change' ? `create ${config.changeModel.kind} change` : `create ${config.table} record`,
    primary: true,
    auth: config.auth,
    build: () => ({
      method: 'POST',
      url: config.createUrl,
      headers: { ...headers, 'content-type': 'application/json' },
      body,
    }),
    read: (response) => readCreateResponse(response, config),
    // The request may have been stored before the connection broke: look before creating again.
    recover: config.dedupe
      ? async () => recoveryOf(await findExisting(), `correlation id ${correlation}`)
      : undefined,
    creates: 'record',
    dryRun: { sysId: null, number: null },
  })
  if (!created.ok) return { ok: false, error: created.error }
  // Found by the duplicate check after a lost answer: this delivery's own record, not a duplicate.
  return {
    ok: true,
    remoteReference: referenceOf(created.value),
    recordsSent: 1,
    ...recoveredWarnings(created.recovered),
  }
}

/** One row's sys_id of the table records land in: read access proves the user, its roles and the table. */
export function probeUrl(config: ServiceNowConfig): string {
  const url = new URL(config.lookupUrl)
  url.search = new URLSearchParams({ sysparm_limit: '1', sysparm_fields: 'sys_id' }).toString()
  return url.toString()
}

/** 200 with `result`; an empty table may answer 404 "No Record found" (Table API v1), which is fine too. */
export function readProbeResponse(response: HttpResponse, config: ServiceNowConfig): Verdict<null> {
  if (response.status >= 200 && response.status < 300) {
    if (jsonObject(response.body)?.result !== undefined) return { kind: 'ok', value: null }
    return {
      kind: 'failed',
      reason: `unexpected answer (is url the ServiceNow instance?): ${excerpt(response)}`,
    }
  }
  if (response.status === 404 && /no record/i.test(errorOf(response.body).message ?? '')) {
    return { kind: 'ok', value: null }
  }
  return readFailure(response, config, 'lookup', Date.now())
}

async function probeTable(config: ServiceNowConfig, session: Session): Promise<ProbeResult> {
  if (config.basicBlob) session.addSecret(config.basicBlob)
  const probe = `GET /api/now/table/${config.table}?sysparm_limit=1&sysparm_fields=sys_id`
  const result = await session.exchange({
    step: 'read one row',
    auth: config.auth,
    build: () => ({
      method: 'GET',
      url: probeUrl(config),
      headers: {
        ...config.headers,
        accept: 'application/json',
        ...(config.authorization ? { authorization: config.authorization } : {}),
      },
    }),
    read: (response) => readProbeResponse(response, config),
    dryRun: null,
  })
  if (!result.ok) return { status: 'unhealthy', probe, detail: result.error }
  const create =
    config.api === 'change'
      ? 'creating through the Change API (itil, change_manager or admin role) was not verified'
      : `the create ACL of ${config.table} was not verified`
  return {
    status: 'healthy',
    probe,
    detail: `the user signed in and may read ${config.table}; ${create}`,
  }
}
