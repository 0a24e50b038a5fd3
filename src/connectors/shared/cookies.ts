import type { Exchange, Exchanger, TokenSource } from '../../delivery/exchange.js'
import type { HttpRequest, HttpResponse } from '../../delivery/http.js'
import { REDACTED } from '../../delivery/redact.js'

/**
 * A cookie jar for one delivery of one connector, never shared: it keeps the cookies a server
 * sets (`Set-Cookie`) and sends them back on every later request, so a load balancer that pins
 * a client to one node by cookie (Jamf Cloud's, for one) keeps sending this delivery to the
 * node that saw its earlier writes. It follows RFC 6265 (https://www.rfc-editor.org/rfc/rfc6265)
 * as far as an API client needs: name and value (§5.2), `Expires` and `Max-Age` (§5.2.1–2,
 * Max-Age winning), `Domain` (§5.2.3, host-only without it, §5.3 step 6) and its domain-match
 * (§5.1.3), `Path` and the default path (§5.1.4, §5.2.4), `Secure` (§5.2.5), replacement of a
 * cookie by one of the same name, domain and path, removal by an expiry in the past (§5.3
 * steps 11–12), and the `Cookie` header with longer paths first (§5.4). Cookie values are
 * credentials (a session cookie can act as the client): each value of 8 characters or more is
 * handed to `onValue`, the run's redactor, and the `Cookie` request header is redacted by
 * name in the evidence. Since answers reach connectors with every known secret scrubbed, a
 * server that sets the same cookie again on every answer (AWS's load balancer re-sends
 * `AWSALB` each time, https://docs.aws.amazon.com/elasticloadbalancing/latest/application/sticky-sessions.html)
 * shows it as `REDACTED`: the value held is kept then, with the new attributes.
 */

export interface StoredCookie {
  name: string
  value: string
  domain: string
  hostOnly: boolean
  path: string
  /** Epoch milliseconds; null for a session cookie (kept for the whole delivery). */
  expiresAt: number | null
  secure: boolean
}

/** Shorter values are not credentials, and scrubbing them would mangle ordinary words. */
const MIN_SECRET_VALUE = 8

export class CookieJar {
  private cookies: StoredCookie[] = []

  constructor(
    private readonly now: () => number,
    private readonly onValue: (value: string) => void = () => {},
  ) {}

  /** Every cookie held now (expired ones dropped). */
  get all(): readonly StoredCookie[] {
    this.evict()
    return this.cookies
  }

  /** Stores what the `Set-Cookie` header of a response to `url` says. */
  store(url: string, setCookie: string | undefined): void {
    if (!setCookie) return
    let target: URL
    try {
      target = new URL(url)
    } catch {
      return
    }
    for (const line of splitSetCookie(setCookie)) {
      const cookie = parseSetCookie(line, target, this.now())
      if (!cookie) continue
      const same = (held: StoredCookie) =>
        held.name === cookie.name && held.domain === cookie.domain && held.path === cookie.path
      if (cookie.value.includes(REDACTED)) {
        // A value we sent, scrubbed on the way in: keep ours; one we never held is of no use.
        const held = this.cookies.find(same)
        if (!held) continue
        cookie.value = held.value
      }
      this.cookies = this.cookies.filter((held) => !same(held))
      if (cookie.expiresAt !== null && cookie.expiresAt <= this.now()) continue
      if (cookie.value.length >= MIN_SECRET_VALUE) this.onValue(cookie.value)
      this.cookies.push(cookie)
    }
  }

  /** The `Cookie` header for a request to `url`, or undefined when no cookie applies. */
  header(url: string): string | undefined {
    let target: URL
    try {
      target = new URL(url)
    } catch {
      return undefined
    }
    const host = target.hostname.toLowerCase()
    const path = target.pathname || '/'
    const sending = this.all
      .filter(
        (cookie) =>
          (cookie.hostOnly ? host === cookie.domain : domainMatches(host, cookie.domain)) &&
          pathMatches(path, cookie.path) &&
          (!cookie.secure || target.protocol === 'https:'),
      )
      .sort((a, b) => b.path.length - a.path.length)
    if (sending.length === 0) return undefined
    return sending.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ')
  }

  /** `request` with the jar's cookies added to any `cookie` header it already has. */
  attach(request: HttpRequest): HttpRequest {
    const jar = this.header(request.url)
    if (!jar) return request
    const headers = { ...request.headers }
    const own = Object.keys(headers).find((name) => name.toLowerCase() === 'cookie')
    const existing = own ? headers[own] : undefined
    if (own) delete headers[own]
    headers.cookie = existing ? `${existing}; ${jar}` : jar
    return { ...request, headers }
  }

  /** The exchange with the jar applied: cookies attached to every attempt, those set by every answer kept. */
  exchange<T>(spec: Exchange<T>): Exchange<T> {
    let url = ''
    return {
      ...spec,
      build: async (attempt) => {
        const request = await spec.build(attempt)
        url = request.url
        return this.attach(request)
      },
      read: (response: HttpResponse) => {
        this.store(url, response.headers['set-cookie'])
        return spec.read(response)
      },
    }
  }

  /** A token source whose requests go through the jar too (the token request is the first one sent). */
  tokenSource(source: TokenSource): TokenSource {
    return {
      ...source,
      fetch: (exchanger: Exchanger) =>
        source.fetch({
          exchange: (spec) => exchanger.exchange(this.exchange(spec)),
          addSecret: (value) => exchanger.addSecret(value),
        }),
    }
  }

  private evict(): void {
    const now = this.now()
    this.cookies = this.cookies.filter((cookie) => cookie.expiresAt === null || cookie.expiresAt > now)
  }
}

/**
 * The separate cookies of a `Set-Cookie` value. The transport joins repeated headers with
 * ", ", and an `Expires` date holds a comma too ("Wed, 21 Oct 2026 07:28:00 GMT"), so a comma
 * starts a new cookie only when a `name=` follows it.
 */
export function splitSetCookie(header: string): string[] {
  return header
    .split(/,(?=\s*[^;,=\s]+=)/)
    .map((part) => part.trim())
    .filter((part) => part !== '')
}

/** One `Set-Cookie` line as RFC 6265 §5.2–5.3 stores it, or undefined when it is to be ignored. */
export function parseSetCookie(line: string, url: URL, now: number): StoredCookie | undefined {
  const [pair = '', ...attributes] = line.split(';')
  const equals = pair.indexOf('=')
  if (equals < 0) return undefined
  const name = pair.slice(0, equals).trim()
  const value = pair.slice(equals + 1).trim()
  if (name === '') return undefined
  const host = url.hostname.toLowerCase()
  let expires: number | null = null
  let maxAge: number | null = null
  let domain: string | undefined
  let path: string | undefined
  let secure = false
  for (const attribute of attributes) {
    const at = attribute.indexOf('=')
    const key = (at < 0 ? attribute : attribute.slice(0, at)).trim().toLowerCase()
    const raw = at < 0 ? '' : attribute.slice(at + 1).trim()
    if (key === 'expires') {
      const time = Date.parse(raw)
      if (!Number.isNaN(time)) expires = time
    } else if (key === 'max-age') {
      if (/^-?\d+$/.test(raw)) maxAge = Number(raw) <= 0 ? Number.NEGATIVE_INFINITY : now + Number(raw) * 1000
    } else if (key === 'domain') {
      if (raw !== '') domain = raw.replace(/^\./, '').toLowerCase()
    } else if (key === 'path') {
      path = raw.startsWith('/') ? raw : undefined
    } else if (key === 'secure') {
      secure = true
    }
  }
  // A Domain the request host does not domain-match is refused (§5.3 step 6).
  if (domain !== undefined && !domainMatches(host, domain)) return undefined
  return {
    name,
    value,
    domain: domain ?? host,
    hostOnly: domain === undefined,
    path: path ?? defaultPath(url.pathname),
    expiresAt: maxAge ?? expires,
    secure,
  }
}

/** §5.1.3: the host is the domain, or ends with "." + domain and is not an IP address. */
function domainMatches(host: string, domain: string): boolean {
  if (host === domain) return true
  return host.endsWith(`.${domain}`) && !/^[\d.]+$/.test(host) && !host.includes(':')
}

/** §5.1.4: the cookie path is the request path, or a prefix of it ending at a "/". */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true
  if (!requestPath.startsWith(cookiePath)) return false
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/'
}

/** §5.1.4: the request path up to its last "/", or "/" alone. */
function defaultPath(requestPath: string): string {
  if (!requestPath.startsWith('/')) return '/'
  const last = requestPath.lastIndexOf('/')
  return last <= 0 ? '/' : requestPath.slice(0, last)
}
