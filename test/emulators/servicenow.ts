import { randomBytes } from 'node:crypto'
import { Emulator, json, type RecordedRequest, type Reply } from './emulator.js'

/**
 * A ServiceNow instance's Table API and Change Management API (sn_chg_rest), as strict as the
 * real one where it matters to a client:
 * - Basic (`user:password`) or Bearer auth; anything else is 401 with ServiceNow's body.
 * - Table API: `POST /api/now/table/{table}` → 201 + Location, values as strings, reference
 *   fields as `{link, value}` unless `sysparm_exclude_reference_link=true`; `sysparm_fields`;
 *   an unknown table is 400 "Invalid table <name>" (what instances answer); unknown fields are
 *   dropped silently and strings are cut to their dictionary length, as the database does.
 * - `GET /api/now/table/{table}` (a read ACL: users without a reading role get 403) with `sysparm_query` (`^` AND, `=` / `!=`): conditions on
 *   fields the table does not have are IGNORED, as ServiceNow does by default
 *   (glide.invalid_query.returns_no_rows=false), so a misspelt query returns unrelated rows.
 * - Change API: `POST /api/sn_chg_rest/change/{normal|emergency|standard/{template}}` → 200
 *   with EVERY field as `{value, display_value}` and `__meta.ignoredFields`; needs the itil,
 *   change_manager or admin role (403 otherwise); an unknown template is 404.
 * - impact / urgency outside 1–3 are refused (400); priority follows the impact × urgency matrix.
 * - Rate limiting on demand: 429 with X-RateLimit-Limit / -Reset (Unix seconds) / -Rule and,
 *   optionally, Retry-After.
 * - OAuth ("OAuth inbound"): `POST /oauth_token.do`, form-encoded only, with the password,
 *   client_credentials (only where enabled, and acting as the application's OAuth Application
 *   User) and refresh_token grants; answers `access_token`, `refresh_token`, `scope`,
 *   `token_type`, `expires_in` (1,799 s by default). A refused request is 401
 *   `{"error":"server_error","error_description":"access_denied"}`, as instances answer. An
 *   access token past its lifetime (or expired on demand) is 401 at the REST APIs.
 */

export interface ServiceNowUser {
  username: string
  password?: string
  token?: string
  roles: string[]
}

/** An OAuth application registry entry. */
export interface ServiceNowOAuthClient {
  clientId: string
  clientSecret: string
  /** The user a client_credentials token acts as; without one that grant is refused. */
  applicationUser?: string
}

export interface ServiceNowOptions {
  users: ServiceNowUser[]
  oauthClients?: ServiceNowOAuthClient[]
  /** glide.oauth.inbound.client.credential.grant_type.enabled (default true here). */
  clientCredentialsGrant?: boolean
  /** Access token lifetime (the instance default is 1,799 s). */
  accessTokenSeconds?: number
  /** Standard change templates: sys_id → the fields the template sets (and lets a caller override). */
  templates?: Record<string, Record<string, string>>
  /** Extra tables: name → number prefix (or null) and fields. */
  tables?: Record<string, { prefix: string | null; fields: string[] }>
  /** The instance property glide.invalid_query.returns_no_rows. */
  invalidQueryReturnsNoRows?: boolean
}

export type Row = Record<string, string>

const TASK_FIELDS = [
  'sys_id',
  'number',
  'sys_class_name',
  'sys_created_on',
  'short_description',
  'description',
  'correlation_id',
  'correlation_display',
  'impact',
  'urgency',
  'priority',
  'category',
  'assignment_group',
  'state',
  'active',
  'work_notes',
]
const TABLES: Record<string, { prefix: string | null; fields: string[] }> = {
  change_request: {
    prefix: 'CHG',
    fields: [
      ...TASK_FIELDS,
      'type',
      'justification',
      'implementation_plan',
      'backout_plan',
      'test_plan',
      'risk',
      'start_date',
      'end_date',
    ],
  },
  incident: { prefix: 'INC', fields: [...TASK_FIELDS, 'caller_id', 'subcategory', 'severity'] },
}
const MAX_LENGTH: Record<string, number> = {
  short_description: 160,
  description: 4000,
  correlation_id: 100,
  correlation_display: 100,
  justification: 4000,
  implementation_plan: 4000,
  backout_plan: 4000,
  test_plan: 4000,
}
// The standard-change endpoint never takes these from the caller: the template owns them.
const TEMPLATE_OWNED = ['description', 'backout_plan', 'test_plan', 'implementation_plan']
const REFERENCES: Record<string, string> = { assignment_group: 'sys_user_group' }
const LEVEL = ['1', '2', '3']
const LEVEL_NAME: Record<string, string> = { '1': '1 - High', '2': '2 - Medium', '3': '3 - Low' }
/** Priority from impact × urgency (the default Priority Lookup Rules). */
const PRIORITY: Record<string, string> = {
  '1,1': '1',
  '1,2': '2',
  '2,1': '2',
  '1,3': '3',
  '2,2': '3',
  '3,1': '3',
  '2,3': '4',
  '3,2': '4',
  '3,3': '5',
}
/** Roles the Change API's POST requires (Change Management API, roles). */
const CHANGE_ROLES = ['itil', 'change_manager', 'admin']
/** Roles the task tables' create ACLs grant in a base instance. */
const WRITE_ROLES = ['itil', 'change_manager', 'admin']
/** Roles the task tables' read ACLs grant: the writers and the read-only roles. */
const READ_ROLES = [...WRITE_ROLES, 'sn_change_read', 'snc_read_only']

export function failure(status: number, message: string, detail: string | null, headers = {}): Reply {
  return json(status, { error: { message, detail }, status: 'failure' }, headers)
}

export const UNAUTHENTICATED = {
  error: { message: 'User Not Authenticated', detail: 'Required to provide Auth information' },
  status: 'failure',
}

export class ServiceNowEmulator extends Emulator {
  readonly tables = new Map<string, Row[]>()
  private readonly schema: Record<string, { prefix: string | null; fields: string[] }>
  private readonly counters = new Map<string, number>()
  private limit: { max: number; resetAt: number; retryAfter: boolean; rule: string; seen: number } | undefined
  /** Issued OAuth access tokens: the user they act as and when they expire. */
  readonly accessTokens = new Map<string, { username: string; expiresAt: number }>()
  private expiryCountdown: number | undefined
  private readonly refreshTokens = new Map<string, { clientId: string; username: string }>()

  constructor(readonly options: ServiceNowOptions) {
    super('servicenow')
    this.schema = { ...TABLES, ...(options.tables ?? {}) }
    const table = /^\/api\/now\/(?:v[12]\/)?table\/(?<table>[^/]+)$/
    this.route('POST', table, (request, params) =>
      this.guard(request, (user) => this.insert(request, params.table!, user)),
    )
    this.route('GET', table, (request, params) =>
      this.guard(request, (user) => this.query(request, params.table!, user)),
    )
    const change =
      /^\/api\/sn_chg_rest\/(?:v1\/)?change\/(?<model>normal|emergency|standard\/(?<template>[^/]+))$/
    this.route('POST', change, (request, params) =>
      this.guard(request, (user) => this.createChange(request, params.model!, params.template, user)),
    )
    this.route('POST', '/oauth_token.do', (request) => this.oauthToken(request))
  }

  /** Expires every access token issued so far (refresh tokens stay valid). */
  expireAccessTokens(): void {
    for (const entry of this.accessTokens.values()) entry.expiresAt = 0
  }

  /** Expires every access token once `requests` more API requests have been answered: mid-run. */
  expireAccessTokensAfter(requests: number): void {
    this.expiryCountdown = requests
  }

  /** Forgets every refresh token (revoked, or past its 100-day lifetime). */
  revokeRefreshTokens(): void {
    this.refreshTokens.clear()
  }

  oauthRequests(): Array<{ grant: string | null }> {
    return this.requestsTo('/oauth_token.do').map((request) => ({
      grant: new URLSearchParams(request.text).get('grant_type'),
    }))
  }

  private oauthToken(request: RecordedRequest): Reply {
    const denied = json(401, { error: 'server_error', error_description: 'access_denied' })
    if (!(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
      return denied
    const form = new URLSearchParams(request.text)
    const client = this.options.oauthClients?.find(
      (candidate) =>
        candidate.clientId === form.get('client_id') && candidate.clientSecret === form.get('client_secret'),
    )
    if (!client) return denied
    let username: string | undefined
    const grant = form.get('grant_type')
    if (grant === 'password') {
      username = this.options.users.find(
        (user) =>
          user.username === form.get('username') &&
          user.password !== undefined &&
          user.password === form.get('password'),
      )?.username
    } else if (grant === 'client_credentials') {
      if (this.options.clientCredentialsGrant !== false) username = client.applicationUser
    } else if (grant === 'refresh_token') {
      const held = this.refreshTokens.get(form.get('refresh_token') ?? '')
      if (held?.clientId === client.clientId) username = held.username
    }
    if (!username) return denied
    const access = randomBytes(32).toString('base64url')
    const lifetime = this.options.accessTokenSeconds ?? 1799
    this.accessTokens.set(access, { username, expiresAt: Date.now() + lifetime * 1000 })
    const refresh =
      grant === 'refresh_token' ? form.get('refresh_token')! : randomBytes(32).toString('base64url')
    this.refreshTokens.set(refresh, { clientId: client.clientId, username })
    return json(200, {
      access_token: access,
      refresh_token: refresh,
      scope: 'useraccount',
      token_type: 'Bearer',
      expires_in: lifetime,
    })
  }

  /** Every stored row of a table. */
  rows(table: string): Row[] {
    let rows = this.tables.get(table)
    if (!rows) {
      rows = []
      this.tables.set(table, rows)
    }
    return rows
  }

  /** Stores a row as if another system had created it. */
  seed(table: string, fields: Row): Row {
    return this.store(table, fields)
  }

  /** Refuses requests beyond `max` until the window ends (Inbound REST API rate limiting). */
  limitRate(max: number, windowMs: number, retryAfter = true): void {
    this.limit = { max, resetAt: Date.now() + windowMs, retryAfter, rule: sysId(), seen: 0 }
  }

  override reset(): void {
    super.reset()
    this.tables.clear()
    this.counters.clear()
    this.accessTokens.clear()
    this.refreshTokens.clear()
    this.expiryCountdown = undefined
    this.limit = undefined
  }

  private authenticate(request: RecordedRequest): ServiceNowUser | undefined {
    const header = request.headers.authorization ?? ''
    const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header)
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      const [name, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)]
      return this.options.users.find((u) => colon > 0 && u.username === name && u.password === password)
    }
    const bearer = /^Bearer (\S+)$/.exec(header)?.[1]
    if (!bearer) return undefined
    const issued = this.accessTokens.get(bearer)
    if (issued) {
      return issued.expiresAt > Date.now()
        ? this.options.users.find((u) => u.username === issued.username)
        : undefined
    }
    return this.options.users.find((u) => u.token !== undefined && u.token === bearer)
  }

  private guard(request: RecordedRequest, handle: (user: ServiceNowUser) => Reply): Reply {
    const user = this.authenticate(request)
    if (!user) return json(401, UNAUTHENTICATED)
    if (this.expiryCountdown !== undefined && --this.expiryCountdown <= 0) {
      this.expiryCountdown = undefined
      const reply = this.answer(user, handle)
      this.expireAccessTokens()
      return reply
    }
    return this.answer(user, handle)
  }

  private answer(user: ServiceNowUser, handle: (user: ServiceNowUser) => Reply): Reply {
    const limit = this.limit
    if (!limit) return handle(user)
    const now = Date.now()
    if (now >= limit.resetAt) {
      this.limit = undefined
      return handle(user)
    }
    const headers: Record<string, string> = {
      'x-ratelimit-limit': String(limit.max),
      'x-ratelimit-reset': String(Math.ceil(limit.resetAt / 1000)),
      'x-ratelimit-rule': limit.rule,
    }
    if (++limit.seen > limit.max) {
      if (limit.retryAfter)
        headers['retry-after'] = String(Math.max(1, Math.ceil((limit.resetAt - now) / 1000)))
      return failure(
        429,
        'Rate limit exceeded',
        `Rate limit of ${limit.max} requests per hour for Table API exceeded`,
        headers,
      )
    }
    const reply = handle(user)
    return { ...reply, headers: { ...(reply.headers ?? {}), ...headers } }
  }

  private parseBody(request: RecordedRequest): { body?: Record<string, unknown>; error?: Reply } {
    try {
      const body = JSON.parse(request.text)
      if (body && typeof body === 'object' && !Array.isArray(body)) return { body }
    } catch {
      // answered below
    }
    return { error: failure(400, 'Exception while reading request', 'The payload is not valid JSON.') }
  }

  /** Validates and stores; unknown fields are returned (the database drops them silently). */
  private accept(
    table: string,
    body: Record<string, unknown>,
    allowed?: string[],
  ): { row?: Row; ignored: string[]; error?: Reply } {
    const fields = this.schema[table]!.fields
    const row: Row = {}
    const ignored: string[] = []
    for (const [name, value] of Object.entries(body)) {
      if (
        !fields.includes(name) ||
        name === 'sys_id' ||
        name === 'number' ||
        (allowed && !allowed.includes(name))
      ) {
        ignored.push(name)
        continue
      }
      const text = typeof value === 'string' ? value : JSON.stringify(value)
      if ((name === 'impact' || name === 'urgency') && !LEVEL.includes(text)) {
        return {
          ignored,
          error: failure(400, 'Operation Failed', `Invalid value "${text}" for ${name}: choose 1, 2 or 3`),
        }
      }
      row[name] = MAX_LENGTH[name] ? text.slice(0, MAX_LENGTH[name]) : text
    }
    return { row, ignored }
  }

  private store(table: string, fields: Row): Row {
    const schema = this.schema[table]!
    const row: Row = { sys_id: sysId(), sys_class_name: table, sys_created_on: new Date().toISOString() }
    if (schema.prefix) {
      const next = (this.counters.get(table) ?? 0) + 1
      this.counters.set(table, next)
      const start = schema.prefix === 'CHG' ? 30000 : 10000
      row.number = `${schema.prefix}${String(start + next).padStart(7, '0')}`
    }
    Object.assign(row, fields)
    if (schema.fields.includes('priority') && row.impact && row.urgency) {
      row.priority = PRIORITY[`${row.impact},${row.urgency}`]!
    }
    this.rows(table).push(row)
    return row
  }

  private insert(request: RecordedRequest, table: string, user: ServiceNowUser): Reply {
    if (!this.schema[table]) return failure(400, `Invalid table ${table}`, null)
    if (!user.roles.some((role) => WRITE_ROLES.includes(role))) {
      return failure(403, 'Operation Failed', 'ACL Exception Insert Failed due to security constraints')
    }
    const { body, error } = this.parseBody(request)
    if (error) return error
    const accepted = this.accept(table, body!)
    if (accepted.error) return accepted.error
    const row = this.store(table, accepted.row!)
    const base = `http://${request.headers.host}`
    return {
      status: 201,
      headers: {
        'content-type': 'application/json',
        location: `${base}/api/now/table/${table}/${row.sys_id}`,
      },
      body: { result: this.present(row, request.query, base) },
    }
  }

  private present(row: Row, query: URLSearchParams, base: string): Record<string, unknown> {
    const fields = query
      .get('sysparm_fields')
      ?.split(',')
      .map((field) => field.trim())
    const links = query.get('sysparm_exclude_reference_link') !== 'true'
    const shown: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(row)) {
      if (fields && !fields.includes(name)) continue
      shown[name] =
        links && REFERENCES[name] && value
          ? { link: `${base}/api/now/table/${REFERENCES[name]}/${value}`, value }
          : value
    }
    return shown
  }

  private query(request: RecordedRequest, table: string, user: ServiceNowUser): Reply {
    const schema = this.schema[table]
    if (!schema) return failure(400, `Invalid table ${table}`, null)
    // A table-level read ACL the user's roles do not satisfy refuses the whole query.
    if (!user.roles.some((role) => READ_ROLES.includes(role))) {
      return failure(
        403,
        'User Not Authorized',
        `Not sufficient permissions to read records of table ${table}`,
      )
    }
    const conditions: Array<{ field: string; value: string; negate: boolean }> = []
    let invalid = false
    for (const term of (request.query.get('sysparm_query') ?? '').split('^')) {
      if (term === '' || term.startsWith('ORDERBY')) continue
      const match = /^([A-Za-z0-9_.]+)(!=|=)(.*)$/.exec(term)
      // Invalid parts (unknown fields, unsupported operators) are ignored, like the instance does.
      if (!match || !schema.fields.includes(match[1]!)) {
        invalid = true
        continue
      }
      conditions.push({ field: match[1]!, value: match[3]!, negate: match[2] === '!=' })
    }
    if (invalid && this.options.invalidQueryReturnsNoRows) return json(200, { result: [] })
    const limit = Number(request.query.get('sysparm_limit') ?? '10000')
    const rows = this.rows(table)
      .filter((row) => conditions.every((c) => ((row[c.field] ?? '') === c.value) !== c.negate))
      .slice(0, limit)
    const base = `http://${request.headers.host}`
    return json(200, { result: rows.map((row) => this.present(row, request.query, base)) })
  }

  private createChange(
    request: RecordedRequest,
    model: string,
    template: string | undefined,
    user: ServiceNowUser,
  ): Reply {
    if (!user.roles.some((role) => CHANGE_ROLES.includes(role))) {
      return failure(403, 'Operation Failed', 'ACL Exception Insert Failed due to security constraints')
    }
    const defaults = template === undefined ? {} : this.options.templates?.[template]
    if (!defaults) {
      return failure(404, 'No Record found', "Record doesn't exist or ACL restricts the record retrieval")
    }
    const { body, error } = this.parseBody(request)
    if (error) return error
    // A standard change takes only the fields its template exposes (POST /change/standard).
    const accepted = this.accept(
      'change_request',
      body!,
      template ? Object.keys(defaults).filter((field) => !TEMPLATE_OWNED.includes(field)) : undefined,
    )
    if (accepted.error) return accepted.error
    const type = template ? 'standard' : model
    const row = this.store('change_request', { ...defaults, ...accepted.row!, type, state: '-5' })
    const result: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(row))
      result[name] = { value, display_value: displayOf(name, value) }
    result.__meta = { ignoredFields: accepted.ignored }
    return json(200, { result })
  }
}

function displayOf(field: string, value: string): string {
  if (field === 'impact' || field === 'urgency') return LEVEL_NAME[value] ?? value
  if (field === 'type') return value.charAt(0).toUpperCase() + value.slice(1)
  if (field === 'state' && value === '-5') return 'New'
  return value
}

export function sysId(): string {
  return randomBytes(16).toString('hex')
}
