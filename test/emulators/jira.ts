import { Emulator, json, type RecordedRequest, type Reply } from './emulator.js'

/**
 * A Jira site, as strict as Jira, in one of two deployments (`deployment`, switchable per test):
 * - **Cloud** serves REST v3 and v2 (`/rest/api/{2,3}/issue`), both with `Basic
 *   base64(email:api token)` only, and searches only through `/rest/api/{2,3}/search/jql`
 *   (POST, or GET with query parameters) with token-based pagination: `maxResults`,
 *   `nextPageToken` in, `issues`, `nextPageToken` and `isLast` out
 *   (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/#api-rest-api-3-search-jql-post).
 *   The old `/rest/api/{2,3}/search` answers 410 Gone with Atlassian's own body (CHANGE-2046,
 *   https://developer.atlassian.com/changelog/#CHANGE-2046). Its search index is eventually
 *   consistent: an issue shows up only `searchLagMs` after its creation
 *   (https://developer.atlassian.com/cloud/jira/platform/search-and-reconcile/).
 * - **Data Center** serves REST v2 only (`/rest/api/2/issue`, `/rest/api/2/search` by GET or
 *   POST, offset pagination), with a personal access token as `Bearer`; v3 and `/search/jql`
 *   do not exist there (404).
 * Creates are validated field by field with Jira's own error bodies (`{"errorMessages": [],
 * "errors": {"field": "message"}}`): the project exists, the issue type exists in it, the
 * summary is a single line of at most 255 characters, labels have no spaces, the v3
 * description is Atlassian Document Format and the v2 one a string, the description is at most
 * 32,767 characters (for ADF: its serialized JSON, the stored form Jira counts;
 * https://jira.atlassian.com/browse/JRACLOUD-68949), the priority exists, and no unknown
 * field is set. Issues get sequential keys per project (SEC-1, SEC-2…). Searches evaluate
 * `project = "X" AND labels = "Y"` (optionally `AND created >= -Nm`).
 * `GET /rest/api/{2,3}/myself` answers the account (Cloud: `accountId`; Data Center: `name`),
 * and `GET /rest/api/{2,3}/project/{key}` the project with its issue types, or 404 with "No
 * project could be found with key 'X'."; both 401 for wrong credentials.
 */

export type JiraDeployment = 'cloud' | 'datacenter'

export interface JiraEmulatorOptions {
  /** Which Jira this site is (default cloud). */
  deployment?: JiraDeployment
  /** Cloud (v3): the account email and API token for Basic auth. */
  email: string
  apiToken: string
  /** Data Center (v2): the personal access token sent as Bearer. */
  pat: string
  /** Project key → issue type names. */
  projects?: Record<string, string[]>
  priorities?: string[]
  /** Issues become visible to Cloud's `/search/jql` only this long after creation. */
  searchLagMs?: number
}

export interface StoredIssue {
  id: string
  key: string
  apiVersion: 2 | 3
  fields: Record<string, unknown>
  createdAt: number
}

const SETTABLE = new Set(['project', 'issuetype', 'summary', 'description', 'labels', 'priority'])
const NOT_ADF = 'Operation value must be an Atlassian Document (see the Atlassian Document Format)'
/** Jira's limit on multi-line text fields such as the description. */
export const JIRA_TEXT_LIMIT = 32_767
export const TEXT_TOO_LONG =
  'The entered text is too long. It exceeds the allowed limit of 32,767 characters.'
/** What Jira Cloud answers on the search resources it removed (CHANGE-2046). */
export const SEARCH_REMOVED =
  'The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046'

export class JiraEmulator extends Emulator {
  readonly issues: StoredIssue[] = []
  searchLagMs: number
  deployment: JiraDeployment
  private readonly projects: Record<string, string[]>
  private readonly priorities: string[]

  constructor(readonly options: JiraEmulatorOptions) {
    super('jira')
    this.projects = options.projects ?? { SEC: ['Task', 'Bug', 'Story'] }
    this.priorities = options.priorities ?? ['Highest', 'High', 'Medium', 'Low', 'Lowest']
    this.searchLagMs = options.searchLagMs ?? 0
    this.deployment = options.deployment ?? 'cloud'
    for (const version of [2, 3] as const) {
      this.route('GET', `/rest/api/${version}/myself`, (request) => this.myself(request, version))
      this.route('GET', new RegExp(`^/rest/api/${version}/project/(?<key>[^/]+)$`), (request, params) =>
        this.project(request, version, decodeURIComponent(params.key!)),
      )
      this.route(
        'POST',
        `/rest/api/${version}/issue`,
        (request) => this.exists(request, version, false) ?? this.create(request, version),
      )
      for (const method of ['GET', 'POST']) {
        this.route(
          method,
          `/rest/api/${version}/search/jql`,
          (request) => this.exists(request, version, true) ?? this.searchCloud(request),
        )
        this.route(method, `/rest/api/${version}/search`, (request) =>
          // CHANGE-2046: Cloud removed the old search; clients must move to /search/jql.
          this.deployment === 'cloud'
            ? errors(410, [SEARCH_REMOVED])
            : (this.exists(request, version, false) ?? this.searchDataCenter(request)),
        )
      }
    }
  }

  private myself(request: RecordedRequest, version: 2 | 3): Reply {
    const denied = this.exists(request, version, false) ?? this.authorise(request)
    if (denied) return denied
    return json(
      200,
      this.deployment === 'cloud'
        ? {
            accountId: '5b10ac8d82e05b22cc7d4ef5',
            emailAddress: this.options.email,
            displayName: 'cavra bot',
            active: true,
          }
        : { name: 'cavra-bot', displayName: 'cavra bot', active: true },
    )
  }

  private project(request: RecordedRequest, version: 2 | 3, key: string): Reply {
    const denied = this.exists(request, version, false) ?? this.authorise(request)
    if (denied) return denied
    const types = this.projects[key]
    if (!types) return errors(404, [`No project could be found with key '${key}'.`])
    return json(200, {
      id: '10000',
      key,
      name: `${key} project`,
      issueTypes: types.map((name, index) => ({ id: String(10001 + index), name, subtask: false })),
    })
  }

  /** Data Center has no REST v3 and no `/search/jql`: Jersey's 404 for an unknown resource. */
  private exists(request: RecordedRequest, version: 2 | 3, cloudOnly: boolean): Reply | undefined {
    if (this.deployment === 'cloud' || (version === 2 && !cloudOnly)) return undefined
    return errors(404, [`null for uri: ${this.url}${request.path}`])
  }

  override reset(): void {
    super.reset()
    this.issues.length = 0
    this.searchLagMs = this.options.searchLagMs ?? 0
    this.deployment = this.options.deployment ?? 'cloud'
  }

  /** The next `times` requests (matching `match`) get Jira Cloud's rate-limit answer. */
  throttle(
    times: number,
    limit: { retryAfterSeconds?: number; resetAt?: Date },
    match?: (request: RecordedRequest) => boolean,
  ): void {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-ratelimit-limit': '100',
      'x-ratelimit-remaining': '0',
      'ratelimit-reason': 'jira-burst-based',
    }
    if (limit.retryAfterSeconds !== undefined) headers['retry-after'] = String(limit.retryAfterSeconds)
    if (limit.resetAt) headers['x-ratelimit-reset'] = limit.resetAt.toISOString()
    const body = { errorMessages: ['Rate limit exceeded.'], errors: {} }
    this.inject({ kind: 'status', status: 429, headers, body }, times, match)
  }

  /** Cloud takes API tokens only as Basic email:token (both versions); Data Center a PAT as Bearer. */
  private authorise(request: RecordedRequest): Reply | undefined {
    const header = request.headers.authorization ?? ''
    if (this.deployment === 'cloud') {
      const basic = Buffer.from(`${this.options.email}:${this.options.apiToken}`).toString('base64')
      if (header === `Basic ${basic}`) return undefined
      return {
        status: 401,
        headers: { 'content-type': 'text/plain', 'x-seraph-loginreason': 'AUTHENTICATED_FAILED' },
        body: 'Client must be authenticated to access this resource.',
      }
    }
    if (header === `Bearer ${this.options.pat}`) return undefined
    return errors(401, ['You are not authenticated. Authentication required to perform this operation.'])
  }

  private readJson(request: RecordedRequest): { value?: unknown; reply?: Reply } {
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return { reply: { status: 415, body: 'Unsupported Media Type' } }
    }
    try {
      return { value: JSON.parse(request.text) }
    } catch {
      return {
        reply: errors(400, ['Invalid request payload. Refer to the REST API documentation and try again.']),
      }
    }
  }

  private create(request: RecordedRequest, version: 2 | 3): Reply {
    const denied = this.authorise(request)
    if (denied) return denied
    const { value, reply } = this.readJson(request)
    if (reply) return reply
    const fields = (value as { fields?: unknown } | null)?.fields
    if (!isObject(fields)) {
      return errors(400, ['Invalid request payload. Refer to the REST API documentation and try again.'])
    }
    const problems: Record<string, string> = {}
    for (const name of Object.keys(fields)) {
      if (!SETTABLE.has(name))
        problems[name] = `Field '${name}' cannot be set. It is not on the appropriate screen, or unknown.`
    }
    const project = isObject(fields.project) ? String(fields.project.key ?? '') : ''
    const issueTypes = this.projects[project]
    if (!issueTypes) return errors(400, [], { ...problems, project: 'valid project is required' })
    const issuetype = isObject(fields.issuetype) ? fields.issuetype.name : undefined
    if (issuetype === undefined) problems.issuetype = 'Specify an issue type'
    else if (!issueTypes.includes(String(issuetype))) problems.issuetype = 'Specify a valid issue type'
    const summary = fields.summary
    if (typeof summary !== 'string' || summary.trim() === '') {
      problems.summary = 'You must specify a summary of the issue.'
    } else if (/[\r\n]/.test(summary)) {
      problems.summary = 'The summary is invalid because it contains newline characters.'
    } else if (summary.length > 255) problems.summary = 'Summary must be less than 255 characters.'
    if (fields.description !== undefined) {
      if (version === 2 && typeof fields.description !== 'string') {
        problems.description = 'Operation value must be a string'
      }
      if (version === 3 && adfProblem(fields.description) !== undefined) problems.description = NOT_ADF
      // Jira counts a plain description's characters, and an ADF one by its stored JSON.
      const stored =
        typeof fields.description === 'string' ? fields.description : JSON.stringify(fields.description)
      if (!problems.description && stored.length > JIRA_TEXT_LIMIT) problems.description = TEXT_TOO_LONG
    }
    if (fields.labels !== undefined) {
      if (!Array.isArray(fields.labels) || fields.labels.some((label) => typeof label !== 'string')) {
        problems.labels = 'Operation value must be an array of strings'
      } else {
        const spaced = fields.labels.find((label: string) => /\s/.test(label))
        if (spaced !== undefined) problems.labels = `The label '${spaced}' contains spaces which is invalid.`
      }
    }
    if (fields.priority !== undefined) {
      const name = isObject(fields.priority) ? fields.priority.name : undefined
      if (!this.priorities.includes(String(name))) problems.priority = 'The priority selected is invalid.'
    }
    if (Object.keys(problems).length > 0) return errors(400, [], problems)

    const id = String(10_000 + this.issues.length)
    const number = this.issues.filter((issue) => issue.key.startsWith(`${project}-`)).length + 1
    const issue = { id, key: `${project}-${number}`, apiVersion: version, fields, createdAt: Date.now() }
    this.issues.push(issue)
    return json(201, { id, key: issue.key, self: `${this.url}/rest/api/${version}/issue/${id}` })
  }

  /**
   * `/search/jql`: `jql`, `maxResults` (default 50) and `nextPageToken` from the JSON body of a
   * POST or the query of a GET; the answer carries `nextPageToken` while more issues remain and
   * `isLast`, never `total` or `startAt`.
   */
  private searchCloud(request: RecordedRequest): Reply {
    const denied = this.authorise(request)
    if (denied) return denied
    let body: { jql?: unknown; maxResults?: unknown; nextPageToken?: unknown }
    if (request.method === 'POST') {
      const { value, reply } = this.readJson(request)
      if (reply) return reply
      body = (value ?? {}) as typeof body
    } else {
      const max = request.query.get('maxResults')
      body = {
        jql: request.query.get('jql') ?? undefined,
        maxResults: max === null ? undefined : Number(max),
        nextPageToken: request.query.get('nextPageToken') ?? undefined,
      }
    }
    if (typeof body.jql !== 'string' || body.jql.trim() === '') {
      return errors(400, [
        'Unbounded JQL queries are not allowed here. Please add a search restriction to your query.',
      ])
    }
    const max = body.maxResults === undefined ? 50 : body.maxResults
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 0 || max > 5000) {
      return errors(400, ['maxResults: must be between 0 and 5000'])
    }
    let offset = 0
    if (body.nextPageToken !== undefined && body.nextPageToken !== null) {
      const decoded =
        typeof body.nextPageToken === 'string' ? pageOffset(body.nextPageToken, body.jql) : undefined
      if (decoded === undefined) return errors(400, ['The provided next page token is invalid or expired.'])
      offset = decoded
    }
    const found = this.evaluate(body.jql, Date.now() - this.searchLagMs)
    if ('reply' in found) return found.reply
    const page = found.issues.slice(offset, offset + max)
    const isLast = offset + page.length >= found.issues.length
    return json(200, {
      issues: page.map((issue) => this.summaryOf(issue, 3)),
      ...(isLast ? {} : { nextPageToken: pageToken(offset + page.length, body.jql) }),
      isLast,
    })
  }

  /** `/rest/api/2/search` on Data Center: GET with query parameters or POST with a JSON body. */
  private searchDataCenter(request: RecordedRequest): Reply {
    const denied = this.authorise(request)
    if (denied) return denied
    let jql: string | null
    let max: number
    if (request.method === 'POST') {
      const { value, reply } = this.readJson(request)
      if (reply) return reply
      const body = (value ?? {}) as { jql?: unknown; maxResults?: unknown }
      jql = typeof body.jql === 'string' ? body.jql : null
      max = typeof body.maxResults === 'number' ? body.maxResults : 50
    } else {
      jql = request.query.get('jql')
      max = Number(request.query.get('maxResults') ?? 50)
    }
    if (jql === null) return errors(400, ['The JQL query is required.'])
    const found = this.evaluate(jql, Date.now())
    if ('reply' in found) return found.reply
    return json(200, {
      expand: 'schema,names',
      startAt: 0,
      maxResults: max,
      total: found.issues.length,
      issues: found.issues.slice(0, max).map((issue) => this.summaryOf(issue, 2)),
    })
  }

  private summaryOf(issue: StoredIssue, version: 2 | 3): Record<string, unknown> {
    return {
      id: issue.id,
      key: issue.key,
      self: `${this.url}/rest/api/${version}/issue/${issue.id}`,
      fields: {},
    }
  }

  /**
   * `clause AND clause…` over project (=), labels (=) and created (>= -Nm), in creation order
   * unless the query ends with `ORDER BY created DESC`.
   */
  private evaluate(jql: string, visibleBefore: number): { issues: StoredIssue[] } | { reply: Reply } {
    let matches = this.issues.filter((issue) => issue.createdAt <= visibleBefore)
    const order = /\s+ORDER\s+BY\s+created\s+DESC\s*$/i.exec(jql)
    const where = order ? jql.slice(0, order.index) : jql
    for (const clause of where.trim().split(/\s+AND\s+/i)) {
      const parsed = /^(\w+)\s*(=|>=)\s*("(?:[^"\\]|\\.)*"|[\w-]+)$/.exec(clause.trim())
      if (!parsed) return { reply: errors(400, [`Error in the JQL Query: cannot parse '${clause}'.`]) }
      const [, field, operator, raw] = parsed as unknown as [string, string, string, string]
      const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw
      if (field === 'project' && operator === '=') {
        if (!this.projects[value]) {
          return { reply: errors(400, [`The value '${value}' does not exist for the field 'project'.`]) }
        }
        matches = matches.filter((issue) => (issue.fields.project as { key: string }).key === value)
      } else if (field === 'labels' && operator === '=') {
        matches = matches.filter((issue) => ((issue.fields.labels as string[]) ?? []).includes(value))
      } else if (field === 'created' && operator === '>=' && /^-\d+m$/.test(value)) {
        const since = Date.now() - Number(value.slice(1, -1)) * 60_000
        matches = matches.filter((issue) => issue.createdAt >= since)
      } else {
        return {
          reply: errors(400, [`Field '${field}' does not exist or you do not have permission to view it.`]),
        }
      }
    }
    return { issues: order ? [...matches].reverse() : matches }
  }
}

/** An opaque page token bound to its query, as Atlassian's are. */
function pageToken(offset: number, jql: string): string {
  return Buffer.from(JSON.stringify({ offset, jql })).toString('base64url')
}

function pageOffset(token: string, jql: string): number | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      offset?: unknown
      jql?: unknown
    }
    return typeof parsed.offset === 'number' && parsed.jql === jql ? parsed.offset : undefined
  } catch {
    return undefined
  }
}

function errors(status: number, errorMessages: string[], fieldErrors: Record<string, string> = {}): Reply {
  return json(status, { errorMessages, errors: fieldErrors })
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

const INLINE = ['text', 'hardBreak']
const BLOCKS = [
  'paragraph',
  'heading',
  'bulletList',
  'orderedList',
  'codeBlock',
  'blockquote',
  'rule',
  'panel',
  'table',
]
const CELL = ['paragraph', 'heading', 'bulletList', 'orderedList', 'codeBlock', 'panel', 'rule']
/** Which children each ADF node admits (ADF JSON schema, "Nodes"); `rule` and `text` have none. */
const CHILDREN: Record<string, readonly string[]> = {
  doc: BLOCKS,
  paragraph: INLINE,
  heading: INLINE,
  bulletList: ['listItem'],
  orderedList: ['listItem'],
  listItem: ['paragraph', 'bulletList', 'orderedList', 'codeBlock'],
  codeBlock: ['text'],
  blockquote: ['paragraph', 'bulletList', 'orderedList', 'codeBlock'],
  panel: ['paragraph', 'heading', 'bulletList', 'orderedList'],
  table: ['tableRow'],
  tableRow: ['tableHeader', 'tableCell'],
  tableHeader: CELL,
  tableCell: CELL,
  rule: [],
  hardBreak: [],
  text: [],
}
const NON_EMPTY = new Set([
  'bulletList',
  'orderedList',
  'listItem',
  'table',
  'tableRow',
  'tableHeader',
  'tableCell',
])
const MARKS = new Set(['strong', 'em', 'code', 'link', 'strike', 'underline', 'subsup', 'textColor'])

/** Why `value` is not a valid ADF document, or undefined when it is one. */
export function adfProblem(value: unknown, path = 'description'): string | undefined {
  if (!isObject(value)) return `${path}: not an object`
  if (path === 'description' && (value.type !== 'doc' || value.version !== 1)) {
    return `${path}: must be {"type": "doc", "version": 1}`
  }
  const type = String(value.type)
  const allowed = CHILDREN[type]
  if (!allowed || (type === 'doc') !== (path === 'description')) return `${path}: unknown node type ${type}`
  if (type === 'text') {
    if (typeof value.text !== 'string' || value.text === '') return `${path}: text must be a non-empty string`
    for (const mark of (value.marks ?? []) as Array<{ type?: string; attrs?: { href?: unknown } }>) {
      if (!MARKS.has(String(mark.type))) return `${path}: unknown mark ${mark.type}`
      if (mark.type === 'link' && typeof mark.attrs?.href !== 'string') return `${path}: link without href`
    }
    return undefined
  }
  if (type === 'heading') {
    const level = (value.attrs as { level?: unknown } | undefined)?.level
    if (typeof level !== 'number' || level < 1 || level > 6) return `${path}: heading level must be 1 to 6`
  }
  const content = value.content ?? []
  if (!Array.isArray(content)) return `${path}: content must be an array`
  if (NON_EMPTY.has(type) && content.length === 0) return `${path}: ${type} needs content`
  for (const [index, child] of content.entries()) {
    const childType = isObject(child) ? String(child.type) : 'none'
    if (!allowed.includes(childType)) return `${path}: ${childType} is not allowed in ${type}`
    if (type === 'codeBlock' && isObject(child) && child.marks) return `${path}: code text cannot have marks`
    const problem = adfProblem(child, `${path}.content[${index}]`)
    if (problem) return problem
  }
  return undefined
}
