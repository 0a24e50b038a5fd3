import { z } from 'zod'
import { ConfigError } from '../common/errors.js'
import { once } from '../common/once.js'
import { type Exchange, type ExchangeResult, recoveryOf, type TokenSource } from '../delivery/exchange.js'
import type { HttpRequest, HttpResponse } from '../delivery/http.js'
import { isRetryableStatus } from '../delivery/retry.js'
import type { Session } from '../delivery/session.js'
import { excerpt, type Verdict } from '../delivery/verdict.js'
import type { JamfPolicy, PublicationFields } from '../events/endpoint-export.js'
import { basicAuthorization, configuredHeaders } from './shared/auth.js'
import { CookieJar } from './shared/cookies.js'
import { jsonObject } from './shared/json.js'
import { clientCredentialsToken } from './shared/oauth.js'
import { LOST_ANSWER } from './shared/outcomes.js'
import { isPlainHttpOffHost, parseUrlSetting } from './shared/urls.js'
import { childText, decodeEntities, el, elements, parseXml, serializeXml } from './shared/xml.js'
import { defineConnector, type ProbeResult } from './types.js'

/**
 * Jamf Pro: an endpoint export becomes a script (Jamf Pro API) and a policy that runs
 * it on the export's custom event (Classic API), both named exactly the export's `policy_name`
 * and updated in place when the export is published again.
 * Docs: https://developer.jamf.com/jamf-pro/reference/scripts (Jamf Pro API scripts),
 * https://developer.jamf.com/jamf-pro/reference/policies (Classic API policies),
 * https://developer.jamf.com/jamf-pro/docs/client-credentials (API clients).
 * Every call is made one after the other, never in parallel: Jamf asks API clients to keep at most
 * five concurrent connections because writes fan out into server work such as smart-group
 * recalculation (https://developer.jamf.com/jamf-pro/docs/jamf-pro-api-scalability-best-practices).
 * Jamf Cloud runs several web-app nodes behind a load balancer and refreshes the cluster about
 * once a minute, so a script created on one node is unknown to the next call's node until then
 * (a policy naming it is refused, a lookup misses it and a second one is created); the cookies
 * the server sets pin the client to one node, so every call of a delivery after the first sends
 * them back ("Sticky Sessions for Jamf Cloud",
 * https://developer.jamf.com/jamf-pro/docs/sticky-sessions-for-jamf-cloud). The cookie jar
 * lives for one delivery of one connector.
 */

export interface JamfConfig {
  baseUrl: string
  credentials:
    | { kind: 'api-client'; clientId: string; clientSecret: string }
    | { kind: 'account'; username: string; password: string }
  computerGroupIds: number[]
  categoryId?: number
  headers: Record<string, string>
}

type Found = string | null

const jamfId = once(() =>
  z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d*$/, 'must be a Jamf object id')]),
)

export const jamf = defineConnector({
  provider: 'jamf',
  category: 'endpoint',
  title: 'Jamf Pro',
  docs: 'https://developer.jamf.com/jamf-pro/docs/client-credentials',
  settings: () => ({
    client_id: z.string().min(1).optional().describe('API client id (Jamf Pro 10.49+), with client_secret.'),
    client_secret: z.string().min(1).optional().describe('API client secret, with client_id.'),
    username: z
      .string()
      .min(1)
      .optional()
      .describe('Jamf Pro account for legacy bearer tokens, with password.'),
    password: z.string().min(1).optional().describe('Password of username (legacy bearer tokens).'),
    computer_group_ids: z
      .array(jamfId())
      .optional()
      .describe('Computer group ids the policy is scoped to (default none: scope it in Jamf Pro).'),
    category_id: jamfId().optional().describe('Category id of the script and the policy.'),
  }),
  secrets: ['client_secret', 'password'],
  urlIsSecret: false,

  configure(settings, context): JamfConfig {
    const baseUrl = jamfBaseUrl(settings.url)
    const client = pairOf(['client_id', settings.client_id], ['client_secret', settings.client_secret])
    const account = pairOf(['username', settings.username], ['password', settings.password])
    if (client && account)
      throw new ConfigError('set client_id + client_secret or username + password, not both.')
    if (!client && !account) {
      throw new ConfigError(
        'credentials are required: client_id + client_secret of a Jamf Pro API client, or username + password of a Jamf Pro account; set them with _env.',
      )
    }
    if (account) {
      context.warn(
        `connector ${context.name}: username + password use legacy account tokens; a Jamf Pro API client (client_id + client_secret) with a dedicated API role is the supported way.`,
      )
    }
    const groups = [
      ...new Set(Array.isArray(settings.computer_group_ids) ? settings.computer_group_ids.map(Number) : []),
    ]
    if (groups.length === 0) {
      context.warn(
        `connector ${context.name}: computer_group_ids is empty; a new policy is scoped to no computer until someone scopes it in Jamf Pro.`,
      )
    }
    if (isPlainHttpOffHost(baseUrl))
      context.warn(`connector ${context.name}: url uses http://; Jamf credentials would travel unencrypted.`)
    return {
      baseUrl,
      credentials: client
        ? { kind: 'api-client', clientId: client[0], clientSecret: client[1] }
        : { kind: 'account', username: account![0], password: account![1] },
      computerGroupIds: groups,
      categoryId: settings.category_id === undefined ? undefined : Number(settings.category_id),
      headers: configuredHeaders(settings),
    }
  },

  async deliver(event, config, session) {
    const fields = event.fields as Partial<PublicationFields>
    const policy = fields.jamf_policy
    if (!policy) {
      return {
        ok: false,
        error:
          'the event carries no Jamf policy export (jamf-policy.json); Jamf Pro receives endpoint exports only (cavra release deliver-endpoint-export).',
      }
    }
    if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(policy.policy_name + policy.trigger)) {
      return {
        ok: false,
        error: 'policy_name or trigger holds control characters, which XML 1.0 cannot carry.',
      }
    }
    // Cookies of this delivery only: the load balancer's pin, and any session cookie with it.
    const jar = new CookieJar(
      () => session.now(),
      (value) => session.addSecret(value),
    )
    const send: Send = (spec) => session.exchange(jar.exchange(spec))
    const auth = jar.tokenSource(jamfToken(config))
    const name = policy.policy_name
    const script = await upsert(
      send,
      auth,
      'script',
      { build: () => scriptSearchRequest(config, name), read: readScriptSearch(name) },
      (id) => ({
        build: () => scriptSaveRequest(config, id, scriptBody(fields as PublicationFields, policy, config)),
        read: readScriptSaved,
      }),
    )
    if (!script.ok) return { ok: false, error: script.error, recordsSent: 0 }
    const saved = await upsert(
      send,
      auth,
      'policy',
      { build: () => policyLookupRequest(config, name), read: readPolicyLookup(name) },
      (id) => ({
        build: () => policySaveRequest(config, id, policyXml(policy, script.id, config)),
        read: readPolicySaved,
      }),
    )
    if (!saved.ok) {
      return {
        ok: false,
        error: `${saved.error} (script ${script.id} was saved; the policy was not)`,
        recordsSent: 1,
        remoteReference: session.dryRun ? null : `script:${script.id}`,
      }
    }
    // An object found after a lost create answer is this delivery's own, not a duplicate.
    const lost = [script.recovered ? 'script' : '', saved.recovered ? 'policy' : ''].filter(Boolean)
    return {
      ok: true,
      remoteReference: session.dryRun ? null : `policy:${saved.id} script:${script.id}`,
      recordsSent: 2,
      ...(lost.length > 0 ? { warnings: lost.map((kind) => `${kind}: ${LOST_ANSWER}`) } : {}),
    }
  },
  probe: probeServer,
})

function pairOf(
  [first, a]: [string, string | undefined],
  [second, b]: [string, string | undefined],
): [string, string] | undefined {
  if (a && !b) throw new ConfigError(`${first} is set but ${second} is not; set ${second}_env too.`)
  if (b && !a) throw new ConfigError(`${second} is set but ${first} is not; set ${first} too.`)
  return a && b ? [a, b] : undefined
}

/** The instance base (`https://acme.jamfcloud.com`); both APIs hang below it. */
export function jamfBaseUrl(url: string | undefined): string {
  if (!url) throw new ConfigError('url is required (the Jamf Pro base URL, e.g. https://acme.jamfcloud.com).')
  const parsed = parseUrlSetting(url)
  const path = parsed.pathname.replace(/\/+$/, '')
  if (/\/(api|JSSResource)(\/|$)/i.test(path) || parsed.search) {
    throw new ConfigError(`url must be the Jamf Pro base URL (e.g. ${parsed.origin}), not an API path.`)
  }
  return `${parsed.origin}${path}`
}

/**
 * API clients use the client-credentials grant with a form body and no scope, so the token carries
 * every role assigned to the client (https://developer.jamf.com/jamf-pro/reference/postoauthtoken);
 * accounts trade Basic credentials for a bearer token at `/api/v1/auth/token`
 * (https://developer.jamf.com/jamf-pro/reference/post_v1-auth-token).
 */
export function jamfToken(config: JamfConfig): TokenSource {
  const credentials = config.credentials
  if (credentials.kind === 'api-client') {
    return clientCredentialsToken({
      issuer: 'Jamf Pro',
      tokenUrl: `${config.baseUrl}/api/oauth/token`,
      clientId: credentials.clientId,
      clientSecret: credentials.clientSecret,
    })
  }
  const basic = basicAuthorization(credentials.username, credentials.password)
  return {
    key: `jamf-account:${config.baseUrl}:${credentials.username}`,
    async fetch(session) {
      session.addSecret(basic.blob)
      const result = await session.exchange({
        step: 'token',
        build: () => ({
          method: 'POST',
          url: `${config.baseUrl}/api/v1/auth/token`,
          headers: { authorization: basic.header, accept: 'application/json' },
        }),
        read: readAccountToken,
        dryRun: 'DRY-RUN-TOKEN',
      })
      if (result.ok) return { ok: true, token: result.value }
      return { ok: false, error: `could not obtain a Jamf Pro bearer token: ${result.error}` }
    },
  }
}

export function readAccountToken(response: HttpResponse): Verdict<string> {
  if (response.status >= 200 && response.status < 300) {
    const token = jsonObject(response.body)?.token
    if (typeof token === 'string' && token !== '') return { kind: 'ok', value: token }
    return { kind: 'failed', reason: `Jamf Pro answered ${response.status} without a token` }
  }
  const text = jamfErrorText(response)
  if (isRetryableStatus(response.status)) return { kind: 'retryable', reason: text }
  if (response.status === 401) {
    return {
      kind: 'failed',
      reason: `${text} (Jamf Pro refused the username or password; SSO accounts cannot use the API)`,
    }
  }
  return { kind: 'failed', reason: text }
}

type Call<T> = Pick<Exchange<T>, 'build' | 'read'>
/** Sends an exchange of this delivery (through its cookie jar). */
type Send = <T>(spec: Exchange<T>) => Promise<ExchangeResult<T>>

/** Looks an object up, then updates what it found or creates it; a lost create is looked up again. */
async function upsert(
  send: Send,
  auth: TokenSource,
  kind: 'script' | 'policy',
  lookup: Call<Found>,
  save: (id: Found) => Call<string>,
): Promise<{ ok: true; id: string; recovered: boolean } | { ok: false; error: string }> {
  const find: Exchange<Found> = { step: `find ${kind}`, ...lookup, auth, dryRun: null }
  const found = await send(find)
  if (!found.ok) return { ok: false, error: found.error }
  const id = found.value
  // Jamf has no idempotency key: a create that may have landed is found by its name, not resent.
  const recover = async () => recoveryOf(await send(find), `the ${kind}`)
  const saved = await send({
    step: id ? `update ${kind} ${id}` : `create ${kind}`,
    primary: true,
    ...save(id),
    auth,
    dryRun: id ?? 'DRY-RUN',
    recover: id ? undefined : recover,
    creates: kind,
  })
  return saved.ok
    ? { ok: true, id: saved.value, recovered: saved.recovered }
    : { ok: false, error: saved.error }
}

const jsonHeaders = (config: JamfConfig) => ({ ...config.headers, accept: 'application/json' })
const xmlHeaders = (config: JamfConfig) => ({ ...config.headers, accept: 'application/xml' })

/**
 * An RSQL equality on the name. The argument is always double-quoted (names hold spaces) with
 * `\` and `"` backslash-escaped (RSQL grammar, https://github.com/jirutka/rsql-parser#grammar-and-semantic).
 * Jamf compares strings without case (https://developer.jamf.com/jamf-pro/docs/filtering-with-rsql),
 * so the answer is matched exactly here.
 */
export function rsqlName(name: string): string {
  return `name=="${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

export function scriptSearchRequest(config: JamfConfig, name: string): HttpRequest {
  const query = `page=0&page-size=100&filter=${encodeURIComponent(rsqlName(name))}`
  return { method: 'GET', url: `${config.baseUrl}/api/v1/scripts?${query}`, headers: jsonHeaders(config) }
}

export function readScriptSearch(name: string): (response: HttpResponse) => Verdict<Found> {
  return (response) => {
    if (response.status < 200 || response.status >= 300) return readFailure(response, 'scripts')
    const results = jsonObject(response.body)?.results
    if (!Array.isArray(results))
      return { kind: 'failed', reason: `unexpected script search answer: ${excerpt(response)}` }
    return matchName(
      results.map((r: Record<string, unknown>) => ({ id: String(r?.id), name: String(r?.name) })),
      name,
      'script',
    )
  }
}

function matchName(found: Array<{ id: string; name: string }>, name: string, kind: string): Verdict<Found> {
  const exact = found.find((candidate) => candidate.name === name)
  if (exact) return { kind: 'ok', value: exact.id }
  const near = found.find((candidate) => candidate.name.toLowerCase() === name.toLowerCase())
  if (near) {
    return {
      kind: 'failed',
      reason: `Jamf Pro already has ${kind} ${near.id} named "${near.name}", which Jamf treats as the same name as "${name}"; rename one of them`,
    }
  }
  return { kind: 'ok', value: null }
}

export function scriptBody(fields: PublicationFields, policy: JamfPolicy, config: JamfConfig): object {
  return {
    name: policy.policy_name,
    ...(config.categoryId === undefined ? {} : { categoryId: String(config.categoryId) }),
    priority: 'AFTER',
    info: `Managed by cavra: publication ${fields.publication_id} of ${fields.release.repository} ${fields.release.version}. Edits made in Jamf Pro are replaced by the next publication.`,
    notes: `Export ${fields.export_id}, channel ${fields.channel}, commit ${fields.release.commit}, approval ${fields.approval.approval_id ?? 'none'}, run by the policy's custom event "${policy.trigger}".`,
    scriptContents: policy.install_script,
    osRequirements: '',
  }
}

export function scriptSaveRequest(config: JamfConfig, id: Found, body: object): HttpRequest {
  return {
    method: id ? 'PUT' : 'POST',
    url: `${config.baseUrl}/api/v1/scripts${id ? `/${encodeURIComponent(id)}` : ''}`,
    headers: { ...jsonHeaders(config), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }
}

/** 201 `{id, href}` after a create, 200 with the whole script after an update. */
export function readScriptSaved(response: HttpResponse): Verdict<string> {
  if (response.status < 200 || response.status >= 300) return readFailure(response, 'scripts')
  const id = jsonObject(response.body)?.id
  if (typeof id === 'string' || typeof id === 'number') return { kind: 'ok', value: String(id) }
  return {
    kind: 'failed',
    reason: `Jamf Pro saved the script but answered without its id: ${excerpt(response)}`,
  }
}

/**
 * `/policies/name/{name}`, except for a name holding "/": Tomcat refuses an encoded slash in a
 * path (`encodedSolidusHandling`, https://tomcat.apache.org/tomcat-9.0-doc/config/http.html), so the
 * policy list is read instead.
 */
export function policyLookupRequest(config: JamfConfig, name: string): HttpRequest {
  const path = name.includes('/')
    ? '/JSSResource/policies'
    : `/JSSResource/policies/name/${encodeURIComponent(name)}`
  return { method: 'GET', url: `${config.baseUrl}${path}`, headers: xmlHeaders(config) }
}

export function readPolicyLookup(name: string): (response: HttpResponse) => Verdict<Found> {
  return (response) => {
    // The Classic API answers 404 for a name no policy has.
    if (response.status === 404) return { kind: 'ok', value: null }
    if (response.status < 200 || response.status >= 300) return readFailure(response, 'policies')
    const doc = parseXml(response.body)
    const entries =
      doc?.name === 'policies'
        ? elements(doc, 'policy')
        : doc?.name === 'policy'
          ? elements(doc, 'general')
          : undefined
    if (!entries) return { kind: 'failed', reason: `unexpected policy lookup answer: ${excerpt(response)}` }
    return matchName(
      entries.map((entry) => ({ id: childText(entry, 'id'), name: childText(entry, 'name') })),
      name,
      'policy',
    )
  }
}

/**
 * The Classic policy document: a custom-event policy (`trigger_other` is the event name that
 * `jamf policy -event <name>` runs) with the script attached. The other triggers are switched off
 * explicitly because a PUT keeps every element it is not sent. Without computer_group_ids the scope
 * is left to Jamf Pro administrators. Elements: https://developer.jamf.com/jamf-pro/reference/policies
 */
export function policyXml(policy: JamfPolicy, scriptId: string, config: JamfConfig): string {
  const off = ['checkin', 'enrollment_complete', 'login', 'logout', 'network_state_changed', 'startup']
  return serializeXml(
    el(
      'policy',
      el(
        'general',
        el('name', policy.policy_name),
        el('enabled', 'true'),
        el('trigger', 'EVENT'),
        ...off.map((trigger) => el(`trigger_${trigger}`, 'false')),
        el('trigger_other', policy.trigger),
        el('frequency', 'Ongoing'),
        config.categoryId === undefined ? undefined : el('category', el('id', String(config.categoryId))),
      ),
      el(
        'scope',
        el('all_computers', 'false'),
        config.computerGroupIds.length === 0
          ? undefined
          : el(
              'computer_groups',
              ...config.computerGroupIds.map((id) => el('computer_group', el('id', String(id)))),
            ),
      ),
      el('scripts', el('size', '1'), el('script', el('id', scriptId), el('priority', 'After'))),
    ),
  )
}

export function policySaveRequest(config: JamfConfig, id: Found, xml: string): HttpRequest {
  return {
    method: id ? 'PUT' : 'POST',
    url: `${config.baseUrl}/JSSResource/policies/id/${id ?? '0'}`,
    headers: { ...xmlHeaders(config), 'content-type': 'application/xml' },
    body: xml,
  }
}

/** Create and update both answer 201 `<policy><id>N</id></policy>`. */
export function readPolicySaved(response: HttpResponse): Verdict<string> {
  if (response.status < 200 || response.status >= 300) return readFailure(response, 'policies')
  const doc = parseXml(response.body)
  const id = doc?.name === 'policy' ? childText(doc, 'id').trim() : ''
  if (/^\d+$/.test(id)) return { kind: 'ok', value: id }
  return {
    kind: 'failed',
    reason: `Jamf Pro saved the policy but answered without its id: ${excerpt(response)}`,
  }
}

const PRIVILEGES = {
  scripts: 'Read, Create and Update Scripts',
  policies: 'Read, Create and Update Policies',
}

/**
 * Jamf's answers other than success: 429 and 5xx are transient; the rest need a person. The
 * Classic API's 409 is opaque: it means XML it could not store (a bare `&` or `<`), a duplicate
 * name or an id that does not exist, all as "Unable to update the database" or a terse
 * "Error: …" (https://github.com/Jamf-Concepts/jamf-cli/pull/310,
 * https://github.com/grahampugh/jamf-upload/issues/157).
 */
export function readFailure(response: HttpResponse, target: keyof typeof PRIVILEGES): Verdict<never> {
  const text = jamfErrorText(response)
  if (isRetryableStatus(response.status)) return { kind: 'retryable', reason: text }
  const hints: Record<number, string> = {
    400: 'Jamf Pro refused the request as malformed',
    // The Classic API also answers 401, not 403, when the role lacks a privilege.
    401: `Jamf Pro refused a freshly issued token too; check that the API client (or account) is enabled and has the ${PRIVILEGES[target]} privileges`,
    403: `the API role (or account) lacks the ${PRIVILEGES[target]} privileges`,
    404: 'not found; check that url is the Jamf Pro base URL',
    409:
      target === 'policies'
        ? 'the Classic API refused to store the policy: it answers 409 for XML it cannot read, a name another policy has, or a category, script or computer group id that does not exist'
        : 'another script already has this name',
  }
  const hint = hints[response.status]
  return { kind: 'failed', reason: hint ? `${text} (${hint})` : text }
}

/**
 * Jamf Pro API errors are `{httpStatus, errors: [{code, field, description}]}`; the Classic API
 * answers an HTML "Status page" whose paragraphs carry the reason ("Conflict", "Error: Duplicate name").
 */
export function jamfErrorText(response: HttpResponse): string {
  const errors = jsonObject(response.body)?.errors
  if (Array.isArray(errors) && errors.length > 0) {
    return errors
      .map((e: Record<string, unknown>) =>
        [e?.code, e?.description, e?.field ? `(field ${e.field})` : undefined].filter(Boolean).join(' '),
      )
      .join('; ')
  }
  if (/<title>\s*Status page\s*<\/title>/i.test(response.body)) {
    const paragraphs = [...response.body.matchAll(/<p[^>]*>([\s\S]*?)<\/p>/gi)]
      .map(
        (match) =>
          decodeEntities(match[1]!.replace(/<[^>]*>/g, ''))
            ?.replace(/\s+/g, ' ')
            .trim() ?? '',
      )
      .filter((text) => text !== '' && !/technical details/i.test(text))
    if (paragraphs.length > 0) return paragraphs.join(': ')
  }
  return excerpt(response)
}

/** `GET /api/v1/jamf-pro-version`: `{"version": "11.12.0-t…"}`; any signed-in client may read it. */
export function readVersion(response: HttpResponse): Verdict<string> {
  if (response.status >= 200 && response.status < 300) {
    const version = jsonObject(response.body)?.version
    if (typeof version === 'string') return { kind: 'ok', value: version }
    return { kind: 'failed', reason: `unexpected answer (is url the Jamf Pro server?): ${excerpt(response)}` }
  }
  const text = jamfErrorText(response)
  if (isRetryableStatus(response.status)) return { kind: 'retryable', reason: text }
  const hint =
    response.status === 404
      ? 'url is not a Jamf Pro server (no /api/v1/jamf-pro-version)'
      : response.status === 401
        ? 'Jamf Pro refused a freshly issued token; check that the API client (or account) is enabled'
        : undefined
  return { kind: 'failed', reason: hint ? `${text} (${hint})` : text }
}

/**
 * `GET /JSSResource/computergroups/id/{id}` (Classic API, JSON with `Accept: application/json`):
 * 404 when there is no such group; 401 also when the role lacks Read Smart/Static Computer Groups.
 */
export function readComputerGroup(response: HttpResponse, id: number): Verdict<string> {
  if (response.status >= 200 && response.status < 300) {
    const group = jsonObject(response.body)?.computer_group as Record<string, unknown> | undefined
    return { kind: 'ok', value: typeof group?.name === 'string' ? group.name : String(id) }
  }
  const text = jamfErrorText(response)
  if (isRetryableStatus(response.status)) return { kind: 'retryable', reason: text }
  const hints: Record<number, string> = {
    401: 'the API role (or account) lacks the Read Smart Computer Groups and Read Static Computer Groups privileges',
    403: 'the API role (or account) lacks the Read Smart Computer Groups and Read Static Computer Groups privileges',
    404: `computer group ${id} does not exist; check computer_group_ids`,
  }
  const hint = hints[response.status]
  return { kind: 'failed', reason: hint ? `${text} (${hint})` : text }
}

/** A token (the configured credential form), the server's version, and each group a policy is scoped to. */
async function probeServer(config: JamfConfig, session: Session): Promise<ProbeResult> {
  const groups = config.computerGroupIds
  const probe = [
    'obtain a token',
    'GET /api/v1/jamf-pro-version',
    ...groups.map((id) => `GET /JSSResource/computergroups/id/${id}`),
  ].join(', ')
  const jar = new CookieJar(
    () => session.now(),
    (value) => session.addSecret(value),
  )
  const auth = jar.tokenSource(jamfToken(config))
  const version = await session.exchange(
    jar.exchange({
      step: 'version',
      auth,
      build: () => ({
        method: 'GET',
        url: `${config.baseUrl}/api/v1/jamf-pro-version`,
        headers: jsonHeaders(config),
      }),
      read: readVersion,
      dryRun: '',
    }),
  )
  if (!version.ok) return { status: 'unhealthy', probe, detail: version.error }
  const names: string[] = []
  for (const id of groups) {
    const group = await session.exchange(
      jar.exchange({
        step: `computer group ${id}`,
        auth,
        build: () => ({
          method: 'GET',
          url: `${config.baseUrl}/JSSResource/computergroups/id/${id}`,
          headers: jsonHeaders(config),
        }),
        read: (response) => readComputerGroup(response, id),
        dryRun: '',
      }),
    )
    if (!group.ok) return { status: 'unhealthy', probe, detail: group.error }
    names.push(`${id} (${group.value})`)
  }
  const scoped =
    names.length > 0 ? `computer groups ${names.join(', ')} exist` : 'no computer_group_ids to check'
  return {
    status: 'healthy',
    probe,
    detail: `token issued; Jamf Pro ${version.value}; ${scoped}; the script and policy privileges were not verified`,
  }
}
