import { randomBytes, randomUUID } from 'node:crypto'
import { Emulator, json, type RecordedRequest, type Reply, type Route } from './emulator.js'

/**
 * Jamf Pro, as strict as the real server on the calls cavra makes:
 * - tokens: `POST /api/oauth/token` (client credentials, form body only; https://developer.jamf.com/jamf-pro/docs/client-credentials)
 *   and the legacy `POST /api/v1/auth/token` (Basic); bearer tokens expire and can be expired at will;
 * - Jamf Pro API scripts: `GET /api/v1/scripts` with an RSQL `name==` filter (quoted arguments with
 *   backslash escapes, compared without case as Jamf does), `POST` (201 `{id, href}`, 409 on a
 *   duplicate name), `PUT /{id}`; errors as `{httpStatus, errors: [{code, field, description}]}`;
 * - Classic API policies: `GET /JSSResource/policies/name/{name}` (XML or a 404 status page),
 *   `POST /id/0`, `PUT /id/{id}` (201 `<policy><id>N</id></policy>`). Bodies go through a strict
 *   XML 1.0 well-formedness check written here; anything it refuses, a duplicate name, or an id of
 *   a script, computer group or category that does not exist ends as the Classic API's HTML
 *   "Status page" 409, as Jamf answers.
 * - Jamf Cloud's cluster (`cluster`): several web-app nodes behind a load balancer that deals
 *   requests round robin unless they carry its cookie (`jpro-ingress`, set on the first answer),
 *   which pins them to one node; a script or policy written on one node is unknown to the others
 *   until the cluster refresh (about once a minute, `syncLagMs`, or after `syncAfterRequests`
 *   further requests), so a policy naming a fresh script on another node is the 409 "Problem
 *   with script" and a lookup there misses it
 *   (https://developer.jamf.com/jamf-pro/docs/sticky-sessions-for-jamf-cloud).
 */

export interface JamfClusterOptions {
  /** Web-app nodes behind the load balancer. */
  nodes: number
  /** A write on one node reaches the others this long after it (default 60 s, Jamf Cloud's refresh). */
  syncLagMs?: number
  /** …or once this many further requests have reached the cluster, whichever comes first. */
  syncAfterRequests?: number
  /** The load balancer's cookie (default `jpro-ingress`; older stacks used `APBALANCEID`). */
  cookie?: string
  /** The balancer sets its cookie on every answer, not only the first (as AWS's does with `AWSALB`). */
  refreshCookie?: boolean
}

export interface JamfEmulatorOptions {
  clients?: Array<{ clientId: string; clientSecret: string }>
  accounts?: Array<{ username: string; password: string }>
  computerGroups?: number[]
  categories?: number[]
  tokenLifetimeSeconds?: number
  /** Names the database refuses to store: forces the opaque 409 "Unable to update the database". */
  unstorablePolicyNames?: string[]
  /** Object types the API role may not read or write (403). */
  deny?: Array<'scripts' | 'policies' | 'computergroups'>
  /** What `GET /api/v1/jamf-pro-version` reports (default 11.12.0). */
  version?: string
  /** Jamf Cloud's load-balanced nodes; without it, one server. */
  cluster?: JamfClusterOptions
}

/** Where and when an object was written, for the nodes that have not synced yet. */
interface Origin {
  node: number
  at: number
  /** The cluster's request count when it was written. */
  seq: number
}

export interface StoredScript {
  id: string
  name: string
  categoryId: string
  priority: string
  info: string
  notes: string
  scriptContents: string
  osRequirements: string
}

export interface StoredPolicy {
  id: number
  name: string
  enabled: string
  trigger: string
  triggerOther: string
  frequency: string
  disabledTriggers: string[]
  categoryId: number | null
  allComputers: string
  computerGroups: number[]
  scripts: Array<{ id: number; priority: string }>
}

const SCRIPT_FIELDS = new Set([
  'id',
  'name',
  'info',
  'notes',
  'priority',
  'categoryId',
  'categoryName',
  'osRequirements',
  'scriptContents',
  ...[4, 5, 6, 7, 8, 9, 10, 11].map((n) => `parameter${n}`),
])
const FREQUENCIES = [
  'Once per computer',
  'Once per user per computer',
  'Once per user',
  'Once every day',
  'Once every week',
  'Once every month',
  'Ongoing',
]

export class JamfEmulator extends Emulator {
  readonly scripts = new Map<string, StoredScript>()
  readonly policies = new Map<number, StoredPolicy>()
  readonly tokens: Array<{ token: string; expiresAt: number; via: 'oauth' | 'account' }> = []
  private nextScript = 1
  private nextPolicy = 1
  /** The load balancer: the cluster's nodes (by cookie value), round robin, what each request hit. */
  cluster: JamfClusterOptions | undefined
  private nodeIds: string[] = []
  private roundRobin = 0
  private clusterRequests = 0
  private node = 0
  private readonly origins = new Map<string, Origin>()
  private readonly routedTo = new Map<RecordedRequest, number>()

  constructor(readonly options: JamfEmulatorOptions) {
    super('jamf-pro')
    this.useCluster(options.cluster)
    this.route('POST', '/api/oauth/token', (request) => this.oauthToken(request))
    this.route('POST', '/api/v1/auth/token', (request) => this.accountToken(request))
    this.route('GET', '/api/v1/scripts', (request) =>
      this.guard(request, 'scripts', () => this.findScripts(request)),
    )
    this.route('POST', '/api/v1/scripts', (request) =>
      this.guard(request, 'scripts', () => this.saveScript(request, null)),
    )
    this.route('PUT', /^\/api\/v1\/scripts\/(?<id>[^/]+)$/, (request, params) =>
      this.guard(request, 'scripts', () => this.saveScript(request, params.id!)),
    )
    this.route('GET', '/JSSResource/policies', (request) =>
      this.guard(request, 'policies', () => this.listPolicies()),
    )
    this.route('GET', /^\/JSSResource\/policies\/name\/(?<name>.+)$/, (request, params) =>
      this.guard(request, 'policies', () => this.policyByName(request, params.name!)),
    )
    this.route('POST', /^\/JSSResource\/policies\/id\/(?<id>\d+)$/, (request, params) =>
      this.guard(request, 'policies', () =>
        params.id === '0'
          ? this.savePolicy(request, null)
          : statusPage(409, 'Conflict', 'Error: Use id 0 to create'),
      ),
    )
    this.route('PUT', /^\/JSSResource\/policies\/id\/(?<id>\d+)$/, (request, params) =>
      this.guard(request, 'policies', () => this.savePolicy(request, Number(params.id))),
    )
    // Any signed-in client may read the version (Jamf Pro API, GET /v1/jamf-pro-version).
    this.route('GET', '/api/v1/jamf-pro-version', (request) =>
      this.guard(request, 'version', () =>
        json(200, { version: `${this.options.version ?? '11.12.0'}-t1733158815` }),
      ),
    )
    this.route('GET', /^\/JSSResource\/computergroups\/id\/(?<id>\d+)$/, (request, params) =>
      this.guard(request, 'computergroups', () => this.computerGroup(request, Number(params.id))),
    )
  }

  /**
   * Classic API `GET /JSSResource/computergroups/id/{id}`: JSON when asked with
   * `Accept: application/json`, else XML; an unknown id is the 404 status page.
   */
  private computerGroup(request: RecordedRequest, id: number): Reply {
    if (!(this.options.computerGroups ?? []).includes(id)) {
      return statusPage(404, 'Not Found', 'The server has not found anything matching the request URI')
    }
    const group = { id, name: `Group ${id}`, is_smart: false, site: { id: -1, name: 'None' }, computers: [] }
    if ((request.headers.accept ?? '').includes('application/json'))
      return json(200, { computer_group: group })
    return xml(
      200,
      `<?xml version="1.0" encoding="UTF-8"?><computer_group><id>${id}</id><name>${group.name}</name><is_smart>false</is_smart><computers/></computer_group>`,
    )
  }

  /** Clears every store, token, fault and recorded request; the cluster is the configured one again. */
  override reset(): void {
    super.reset()
    this.scripts.clear()
    this.policies.clear()
    this.tokens.length = 0
    this.nextScript = 1
    this.nextPolicy = 1
    this.useCluster(this.options.cluster)
  }

  /** Puts the server behind a load balancer with `cluster.nodes` nodes (or back to one server). */
  useCluster(cluster: JamfClusterOptions | undefined): void {
    this.cluster = cluster
    this.nodeIds = Array.from({ length: cluster?.nodes ?? 0 }, () => randomBytes(8).toString('hex'))
    this.roundRobin = 0
    this.clusterRequests = 0
    this.node = 0
    this.origins.clear()
    this.routedTo.clear()
  }

  /** The node a request reached (0-based), or undefined without a cluster. */
  nodeOf(request: RecordedRequest): number | undefined {
    return this.routedTo.get(request)
  }

  /** Every route goes through the load balancer first. */
  override route(method: string, path: string | RegExp, handle: Route['handle']): this {
    return super.route(method, path, (request, params) =>
      this.balance(request, () => handle(request, params)),
    )
  }

  /**
   * Round robin, unless the request carries the balancer's cookie naming a node; an answer to a
   * request without it sets it, as the load balancer's stickiness does.
   */
  private async balance(request: RecordedRequest, handle: () => Reply | Promise<Reply>): Promise<Reply> {
    const cluster = this.cluster
    if (!cluster) return handle()
    const name = cluster.cookie ?? 'jpro-ingress'
    const pinned = cookiesOf(request.headers.cookie ?? '')[name]
    const index = pinned === undefined ? -1 : this.nodeIds.indexOf(pinned)
    this.clusterRequests++
    this.node = index >= 0 ? index : this.roundRobin++ % this.nodeIds.length
    this.routedTo.set(request, this.node)
    const reply = await handle()
    if (index >= 0 && !cluster.refreshCookie) return reply
    return {
      ...reply,
      headers: {
        ...(reply.headers ?? {}),
        'set-cookie': `${name}=${this.nodeIds[this.node]}; Path=/; HttpOnly`,
      },
    }
  }

  /** Whether the node of the current request knows the object yet. */
  private visible(kind: 'script' | 'policy', id: string | number): boolean {
    const origin = this.origins.get(`${kind}:${id}`)
    if (!origin || !this.cluster || origin.node === this.node) return true
    const lag = this.cluster.syncLagMs ?? 60_000
    const after = this.cluster.syncAfterRequests
    return (
      Date.now() - origin.at >= lag || (after !== undefined && this.clusterRequests - origin.seq >= after)
    )
  }

  private written(kind: 'script' | 'policy', id: string | number): void {
    if (!this.cluster || this.origins.has(`${kind}:${id}`)) return
    this.origins.set(`${kind}:${id}`, { node: this.node, at: Date.now(), seq: this.clusterRequests })
  }

  private visibleScripts(): StoredScript[] {
    return [...this.scripts.values()].filter((script) => this.visible('script', script.id))
  }

  private visiblePolicies(): StoredPolicy[] {
    return [...this.policies.values()].filter((policy) => this.visible('policy', policy.id))
  }

  /** Every token issued so far is past its expiry: the next call with one gets 401. */
  expireTokens(): void {
    for (const token of this.tokens) token.expiresAt = 0
  }

  addScript(name: string): StoredScript {
    const script: StoredScript = {
      id: String(this.nextScript++),
      name,
      categoryId: '-1',
      priority: 'AFTER',
      info: '',
      notes: '',
      scriptContents: '#!/bin/sh\n',
      osRequirements: '',
    }
    this.scripts.set(script.id, script)
    return script
  }

  tokenRequests(): RecordedRequest[] {
    return this.requests.filter((request) => /^\/api\/(oauth|v1\/auth)\/token$/.test(request.path))
  }

  private oauthToken(request: RecordedRequest): Reply {
    if (!(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return json(400, { error: 'invalid_request', error_description: 'form body required' })
    }
    const form = new URLSearchParams(request.text)
    if (form.get('grant_type') !== 'client_credentials') return json(400, { error: 'unsupported_grant_type' })
    const client = this.options.clients?.find(
      (candidate) =>
        candidate.clientId === form.get('client_id') && candidate.clientSecret === form.get('client_secret'),
    )
    if (!client) return json(401, { error: 'invalid_client' })
    const token = this.issue('oauth')
    return json(200, {
      access_token: token.token,
      scope: 'api-role:2',
      token_type: 'Bearer',
      expires_in: this.options.tokenLifetimeSeconds ?? 599,
    })
  }

  private accountToken(request: RecordedRequest): Reply {
    const basic = /^Basic (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
    const [username, ...rest] = Buffer.from(basic ?? '', 'base64')
      .toString('utf8')
      .split(':')
    const account = this.options.accounts?.find(
      (candidate) => basic && candidate.username === username && candidate.password === rest.join(':'),
    )
    if (!account) return json(401, { httpStatus: 401, errors: [] })
    const token = this.issue('account')
    return json(200, { token: token.token, expires: new Date(token.expiresAt).toISOString() })
  }

  private issue(via: 'oauth' | 'account') {
    const token = {
      token: `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(randomUUID()).toString('base64url')}.jamf`,
      expiresAt: Date.now() + (this.options.tokenLifetimeSeconds ?? 599) * 1000,
      via,
    }
    this.tokens.push(token)
    return token
  }

  /** Bearer tokens only (Basic on the Classic API is off since 10.42), and the API role's privileges. */
  private guard(
    request: RecordedRequest,
    kind: 'scripts' | 'policies' | 'computergroups' | 'version',
    handle: () => Reply,
  ): Reply {
    const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
    const live = this.tokens.some((token) => token.token === bearer && token.expiresAt > Date.now())
    const classic = kind === 'policies' || kind === 'computergroups'
    if (!live) {
      return classic
        ? statusPage(401, 'Unauthorized', 'The request requires user authentication')
        : jamfError(401, 'INVALID_TOKEN', 'Unauthorized')
    }
    if (kind !== 'version' && this.options.deny?.includes(kind)) {
      return classic
        ? statusPage(403, 'Forbidden', 'The server understood the request, but is refusing to fulfill it')
        : jamfError(403, 'FORBIDDEN', 'Forbidden')
    }
    return handle()
  }

  private findScripts(request: RecordedRequest): Reply {
    const filter = request.query.get('filter')
    const pageSize = Number(request.query.get('page-size') ?? '100')
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 2000)
      return jamfError(400, 'INVALID_PAGE_SIZE', 'page-size must be between 1 and 2000', 'page-size')
    let matches = this.visibleScripts()
    if (filter !== null) {
      const wanted = parseRsqlName(filter)
      if (wanted === undefined)
        return jamfError(400, 'INVALID_RSQL_FILTER', `Invalid filter: ${filter}`, 'filter')
      matches = matches.filter((script) => wanted.test(script.name))
    }
    return json(200, { totalCount: matches.length, results: matches.slice(0, pageSize) })
  }

  private saveScript(request: RecordedRequest, id: string | null): Reply {
    if (!(request.headers['content-type'] ?? '').startsWith('application/json'))
      return jamfError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json')
    if (id !== null && (!this.scripts.has(id) || !this.visible('script', id)))
      return jamfError(404, 'INVALID_ID', `Script with id ${id} not found`)
    let body: Record<string, unknown>
    try {
      body = JSON.parse(request.text)
    } catch {
      return jamfError(400, 'INVALID_JSON', 'Unable to parse the request body')
    }
    const unknown = Object.keys(body).find((key) => !SCRIPT_FIELDS.has(key))
    if (unknown) return jamfError(400, 'INVALID_FIELD', `Unrecognized field "${unknown}"`, unknown)
    if (typeof body.name !== 'string' || body.name.trim() === '')
      return jamfError(400, 'INVALID_FIELD', 'name is required', 'name')
    if (!['BEFORE', 'AFTER', 'AT_REBOOT'].includes(String(body.priority)))
      return jamfError(400, 'INVALID_FIELD', 'priority must be BEFORE, AFTER or AT_REBOOT', 'priority')
    if (typeof body.scriptContents !== 'string' || body.scriptContents === '')
      return jamfError(400, 'INVALID_FIELD', 'scriptContents is required', 'scriptContents')
    const categoryId = body.categoryId === undefined ? '-1' : body.categoryId
    if (
      typeof categoryId !== 'string' ||
      (categoryId !== '-1' && !this.options.categories?.includes(Number(categoryId)))
    )
      return jamfError(400, 'INVALID_ID', `Category with id ${String(categoryId)} not found`, 'categoryId')
    const name = body.name
    const taken = this.visibleScripts().find(
      (script) => script.id !== id && script.name.toLowerCase() === name.toLowerCase(),
    )
    if (taken) return jamfError(409, 'DUPLICATE_FIELD', 'duplicate name', 'name')
    const script: StoredScript = {
      id: id ?? String(this.nextScript++),
      name,
      categoryId,
      priority: String(body.priority),
      info: String(body.info ?? ''),
      notes: String(body.notes ?? ''),
      scriptContents: body.scriptContents,
      osRequirements: String(body.osRequirements ?? ''),
    }
    this.scripts.set(script.id, script)
    this.written('script', script.id)
    if (id !== null) return json(200, script)
    return json(201, { id: script.id, href: `${this.url}/api/v1/scripts/${script.id}` })
  }

  private listPolicies(): Reply {
    const items = this.visiblePolicies().map(
      (p) => `<policy><id>${p.id}</id><name>${esc(p.name)}</name></policy>`,
    )
    return xml(200, `<policies><size>${items.length}</size>${items.join('')}</policies>`)
  }

  private policyByName(request: RecordedRequest, raw: string): Reply {
    // Tomcat refuses an encoded slash in a path.
    if (/%2f/i.test(raw)) return statusPage(400, 'Bad Request', 'Invalid URI')
    const name = decodeURIComponent(raw)
    const policy = this.visiblePolicies().find((p) => p.name.toLowerCase() === name.toLowerCase())
    if (!policy)
      return statusPage(404, 'Not Found', 'The server has not found anything matching the request URI')
    if ((request.headers.accept ?? '').includes('application/json'))
      return json(200, { policy: { general: { id: policy.id, name: policy.name } } })
    return xml(200, policyDocument(policy))
  }

  private savePolicy(request: RecordedRequest, id: number | null): Reply {
    if (!/^(application|text)\/xml/.test(request.headers['content-type'] ?? ''))
      return statusPage(415, 'Unsupported Media Type', 'The server is refusing to service the request')
    const existing = id === null || !this.visible('policy', id) ? undefined : this.policies.get(id)
    if (id !== null && !existing)
      return statusPage(404, 'Not Found', 'The server has not found anything matching the request URI')
    const parsed = parseStrictXml(request.text)
    if ('error' in parsed || parsed.root.name !== 'policy')
      return statusPage(409, 'Conflict', 'Error: Unable to update the database')
    const doc = parsed.root
    const general = doc.child('general')
    const policy: StoredPolicy = existing
      ? structuredClone(existing)
      : {
          id: 0,
          name: '',
          enabled: 'true',
          trigger: 'USER_INITIATED',
          triggerOther: '',
          frequency: 'Once per computer',
          disabledTriggers: [],
          categoryId: null,
          allComputers: 'false',
          computerGroups: [],
          scripts: [],
        }
    if (general) {
      policy.name = general.text('name') ?? policy.name
      policy.enabled = general.text('enabled') ?? policy.enabled
      policy.trigger = general.text('trigger') ?? policy.trigger
      policy.triggerOther = general.text('trigger_other') ?? policy.triggerOther
      policy.frequency = general.text('frequency') ?? policy.frequency
      policy.disabledTriggers = general.children
        .filter((c) => /^trigger_(?!other$)/.test(c.name) && c.content === 'false')
        .map((c) => c.name)
      const category = general.child('category')?.text('id')
      if (category !== undefined) policy.categoryId = Number(category)
    }
    const scope = doc.child('scope')
    if (scope) {
      policy.allComputers = scope.text('all_computers') ?? policy.allComputers
      const groups = scope.child('computer_groups')
      if (groups) policy.computerGroups = groups.all('computer_group').map((g) => Number(g.text('id')))
    }
    const scripts = doc.child('scripts')
    if (scripts) {
      policy.scripts = scripts
        .all('script')
        .map((s) => ({ id: Number(s.text('id')), priority: s.text('priority') ?? 'After' }))
    }
    const problem = this.policyProblem(policy)
    if (problem) return statusPage(409, 'Conflict', `Error: ${problem}`)
    policy.id = existing?.id ?? this.nextPolicy++
    this.policies.set(policy.id, policy)
    this.written('policy', policy.id)
    return xml(201, `<policy><id>${policy.id}</id></policy>`)
  }

  private policyProblem(policy: StoredPolicy): string | undefined {
    if (policy.name.trim() === '') return 'Unable to update the database'
    if (this.options.unstorablePolicyNames?.includes(policy.name)) return 'Unable to update the database'
    if (!['true', 'false'].includes(policy.enabled) || !['true', 'false'].includes(policy.allComputers))
      return 'Unable to update the database'
    if (!FREQUENCIES.includes(policy.frequency)) return 'Problem with frequency'
    if (policy.trigger === 'EVENT' && policy.triggerOther.trim() === '') return 'Problem with trigger'
    const duplicate = this.visiblePolicies().some(
      (other) => other.id !== policy.id && other.name.toLowerCase() === policy.name.toLowerCase(),
    )
    if (duplicate) return 'Duplicate name'
    if (
      policy.categoryId !== null &&
      policy.categoryId !== -1 &&
      !this.options.categories?.includes(policy.categoryId)
    )
      return 'Problem with category'
    if (policy.computerGroups.some((id) => !this.options.computerGroups?.includes(id)))
      return 'Problem with computer group'
    for (const script of policy.scripts) {
      if (!this.scripts.has(String(script.id)) || !this.visible('script', script.id))
        return 'Problem with script'
      if (!['Before', 'After', 'At Reboot'].includes(script.priority)) return 'Problem with script priority'
    }
    return undefined
  }
}

/** `a=1; b=2` as a map (the first of a repeated name wins, as servers read it). */
function cookiesOf(header: string): Record<string, string> {
  const cookies: Record<string, string> = {}
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=')
    if (at < 0) continue
    const name = pair.slice(0, at).trim()
    if (name && !(name in cookies)) cookies[name] = pair.slice(at + 1).trim()
  }
  return cookies
}

function jamfError(status: number, code: string, description: string, field: string | null = null): Reply {
  return json(status, { httpStatus: status, errors: [{ code, field, description, id: '0' }] })
}

/** The Classic API's HTML error page (as returned by Jamf Pro for every Classic error). */
export function statusPage(status: number, title: string, detail: string): Reply {
  return {
    status,
    headers: { 'content-type': 'text/html;charset=UTF-8' },
    body: `<html>\n<head>\n   <title>Status page</title>\n</head>\n<body style="font-family: sans-serif;">\n<p style="font-size: 1.2em;font-weight: bold;margin: 1em 0px;">${title}</p>\n<p>${detail}</p>\n<p>You can get technical details <a href="http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.10">here</a>.<br>\nPlease continue your visit at our <a href="/">home page</a>.\n</p>\n</body>\n</html>\n`,
  }
}

function xml(status: number, body: string): Reply {
  return {
    status,
    headers: { 'content-type': 'text/xml;charset=UTF-8' },
    body: `<?xml version="1.0" encoding="UTF-8"?>${body}`,
  }
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function policyDocument(p: StoredPolicy): string {
  const category =
    p.categoryId === null ? '<id>-1</id><name>No category assigned</name>' : `<id>${p.categoryId}</id>`
  const groups = p.computerGroups.map((id) => `<computer_group><id>${id}</id></computer_group>`).join('')
  const scripts = p.scripts
    .map((s) => `<script><id>${s.id}</id><priority>${s.priority}</priority></script>`)
    .join('')
  return `<policy><general><id>${p.id}</id><name>${esc(p.name)}</name><enabled>${p.enabled}</enabled><trigger>${p.trigger}</trigger><trigger_other>${esc(p.triggerOther)}</trigger_other><frequency>${p.frequency}</frequency><category>${category}</category></general><scope><all_computers>${p.allComputers}</all_computers><computer_groups>${groups}</computer_groups></scope><scripts><size>${p.scripts.length}</size>${scripts}</scripts></policy>`
}

/**
 * `name==<argument>`: a double- or single-quoted argument with backslash escapes, or a bare word.
 * `*` is a wildcard; comparison ignores case (Jamf, "Filtering with RSQL").
 */
function parseRsqlName(filter: string): RegExp | undefined {
  const match = /^name==(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^\s"'();,=!~<>]+))$/.exec(filter)
  if (!match) return undefined
  const value = (match[1] ?? match[2] ?? match[3]!).replace(/\\(.)/g, '$1')
  const pattern = value
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*')
  return new RegExp(`^${pattern}$`, 'is')
}

interface Node {
  name: string
  content: string
  children: Node[]
  child(name: string): Node | undefined
  all(name: string): Node[]
  text(name: string): string | undefined
}

/**
 * A strict XML 1.0 well-formedness check (§2.1 one root, §2.4 no bare `&` or `<` in character
 * data, §3.1 matching end tags, §4.6 only the predefined entities or character references).
 */
export function parseStrictXml(text: string): { root: Node } | { error: string } {
  let at = 0
  const fail = (why: string) => ({ error: `${why} at offset ${at}` })
  const skipMisc = () => {
    for (;;) {
      while (/\s/.test(text[at] ?? '')) at++
      if (text.startsWith('<?', at))
        at = text.indexOf('?>', at) < 0 ? text.length : text.indexOf('?>', at) + 2
      else if (text.startsWith('<!--', at))
        at = text.indexOf('-->', at) < 0 ? text.length : text.indexOf('-->', at) + 3
      else return
    }
  }
  const readName = (): string | undefined => {
    const name = /^[A-Za-z_][\w.-]*/.exec(text.slice(at))?.[0]
    if (name) at += name.length
    return name
  }
  const characterData = (raw: string): string | undefined => {
    let out = ''
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] !== '&') {
        out += raw[i]
        continue
      }
      const ref = /^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/.exec(raw.slice(i))
      if (!ref) return undefined
      const body = ref[1]!
      out += body.startsWith('#x')
        ? String.fromCodePoint(Number.parseInt(body.slice(2), 16))
        : body.startsWith('#')
          ? String.fromCodePoint(Number(body.slice(1)))
          : { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[body]!
      i += ref[0].length - 1
    }
    return out
  }
  const element = (): Node | { error: string } => {
    if (text[at] !== '<') return fail('expected an element')
    at++
    const name = readName()
    if (!name) return fail('bad element name')
    for (;;) {
      while (/\s/.test(text[at] ?? '')) at++
      if (text.startsWith('/>', at)) {
        at += 2
        return node(name, '', [])
      }
      if (text[at] === '>') break
      const attribute = /^[A-Za-z_][\w.:-]*\s*=\s*("[^"<]*"|'[^'<]*')/.exec(text.slice(at))
      if (!attribute) return fail('bad attribute')
      at += attribute[0].length
    }
    at++
    const children: Node[] = []
    let content = ''
    for (;;) {
      if (at >= text.length) return fail(`<${name}> is never closed`)
      if (text.startsWith('</', at)) {
        at += 2
        if (readName() !== name || text[at] !== '>') return fail(`end tag does not match <${name}>`)
        at++
        return node(name, content, children)
      }
      if (text.startsWith('<!--', at)) {
        const end = text.indexOf('-->', at)
        if (end < 0) return fail('unterminated comment')
        at = end + 3
      } else if (text.startsWith('<![CDATA[', at)) {
        const end = text.indexOf(']]>', at)
        if (end < 0) return fail('unterminated CDATA')
        content += text.slice(at + 9, end)
        at = end + 3
      } else if (text[at] === '<') {
        const child = element()
        if ('error' in child) return child
        children.push(child)
      } else {
        const end = text.indexOf('<', at) < 0 ? text.length : text.indexOf('<', at)
        const data = characterData(text.slice(at, end))
        if (data === undefined) return fail('bare "&" in character data')
        content += data
        at = end
      }
    }
  }
  if (text.charCodeAt(0) === 0xfeff) at = 1
  skipMisc()
  if (text.startsWith('<!DOCTYPE', at)) return fail('DTDs are not accepted')
  const root = element()
  if ('error' in root) return root
  skipMisc()
  if (at < text.length) return fail('content after the root element')
  return { root }
}

function node(name: string, content: string, children: Node[]): Node {
  return {
    name,
    content,
    children,
    child: (n) => children.find((c) => c.name === n),
    all: (n) => children.filter((c) => c.name === n),
    text: (n) => children.find((c) => c.name === n)?.content,
  }
}
