import type { Agent as HttpAgent, IncomingMessage } from 'node:http'
import type { Agent as HttpsAgent } from 'node:https'
import { ConfigError } from '../common/errors.js'
import { readFile } from '../common/files.js'
import {
  type ClosableTransport,
  describeNetworkError,
  flattenHeaders,
  formatSeconds,
  type HttpRequest,
  type HttpResult,
  readLimited,
  type Transport,
  USER_AGENT,
} from './http-basics.js'

/**
 * The only module that touches the network (with undici-transport.ts, which it loads for
 * proxied runs). What requests and results look like is in http-basics.ts.
 */
export * from './http-basics.js'

/**
 * Requests through node:http and node:https. Node's own HTTP client parses responses with
 * the llhttp compiled into Node, where undici compiles llhttp from WebAssembly in every process:
 * for a run that sends one request, that compile was most of the delivery's time. It has no
 * proxy support on Node 20, so a proxied run uses undici instead (`undici-transport.ts`).
 */
export class NodeTransport implements Transport {
  private httpAgent: HttpAgent | undefined
  private httpsAgent: HttpsAgent | undefined

  constructor(private readonly ca: string[] | undefined) {}

  async send(req: HttpRequest, timeoutMs: number): Promise<HttpResult> {
    let url: URL
    try {
      url = new URL(req.url)
    } catch (error) {
      return { kind: 'network', failure: describeNetworkError(error, false, timeoutMs) }
    }
    const secure = url.protocol === 'https:'
    const client = secure ? await import('node:https') : await import('node:http')
    const agent = secure ? await this.agentForHttps() : await this.agentForHttp()
    const body = typeof req.body === 'string' ? Buffer.from(req.body) : req.body
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...req.headers }
    // Without it node:http sends a chunked body, which some endpoints refuse (Splunk HEC
    // behind a load balancer, Graph uploads); undici sent the length too.
    if (body !== undefined && !hasHeader(headers, 'content-length'))
      headers['content-length'] = String(body.length)
    return new Promise<HttpResult>((resolve) => {
      let connected = false
      let settled = false
      const finish = (result: HttpResult) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(result)
      }
      const fail = (error: unknown) =>
        finish({ kind: 'network', failure: describeNetworkError(error, false, timeoutMs) })
      const timer = setTimeout(
        () => {
          finish({
            kind: 'network',
            failure: connected
              ? describeNetworkError(undefined, true, timeoutMs)
              : {
                  code: 'CONNECT_TIMEOUT',
                  message: `could not connect within ${formatSeconds(timeoutMs)}`,
                  ambiguous: false,
                  timedOut: true,
                },
          })
          request?.destroy()
        },
        Math.max(1, timeoutMs),
      )
      let request: ReturnType<typeof client.request> | undefined
      try {
        // No redirect is followed: a 3xx from a delivery endpoint is reported as is.
        request = client.request(url, { method: req.method, headers, agent }, (response: IncomingMessage) => {
          readLimited(response).then(
            ({ text, truncated }) =>
              finish({
                kind: 'response',
                response: {
                  status: response.statusCode ?? 0,
                  headers: flattenHeaders(response.headers),
                  body: text,
                  truncated,
                },
              }),
            fail,
          )
        })
      } catch (error) {
        fail(error)
        return
      }
      request.on('socket', (socket) => {
        // A reused keep-alive socket is connected already; a new one says so when it is.
        if (!socket.connecting) connected = true
        else socket.once(secure ? 'secureConnect' : 'connect', () => (connected = true))
      })
      request.on('error', fail)
      request.end(body)
    })
  }

  async close(): Promise<void> {
    this.httpAgent?.destroy()
    this.httpsAgent?.destroy()
  }

  // Idle keep-alive sockets close after a second, as undici's keepAliveTimeout did: the batches
  // of one delivery share a connection, and nothing is left open between runs of `serve`.
  private async agentForHttp(): Promise<HttpAgent> {
    if (!this.httpAgent) {
      const { Agent } = await import('node:http')
      this.httpAgent = new Agent({ keepAlive: true, timeout: 1000 })
    }
    return this.httpAgent
  }

  private async agentForHttps(): Promise<HttpsAgent> {
    if (!this.httpsAgent) {
      const { Agent } = await import('node:https')
      this.httpsAgent = new Agent({ keepAlive: true, timeout: 1000, ...(this.ca ? { ca: this.ca } : {}) })
    }
    return this.httpsAgent
  }
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name)
}

/** True when the environment names a proxy (HTTPS_PROXY / HTTP_PROXY, either case). */
export function proxyConfigured(env: NodeJS.ProcessEnv): boolean {
  return ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].some((name) => (env[name] ?? '') !== '')
}

/**
 * One transport per distinct `ca_file`, shared by every connector that uses it. Proxies come
 * from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (Node 20's own fetch and node:http ignore them), so
 * a run with a proxy goes through undici's EnvHttpProxyAgent, loaded only then. A `ca_file` is
 * added to Node's root store rather than replacing it, so public endpoints keep working.
 */
export class TransportPool {
  private readonly transports = new Map<string, Promise<ClosableTransport>>()

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async transportFor(caFile: string | undefined): Promise<Transport> {
    const key = caFile ?? ''
    let transport = this.transports.get(key)
    if (!transport) {
      transport = this.createTransport(caFile)
      this.transports.set(key, transport)
    }
    return transport
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled(this.transports.values())
    await Promise.allSettled(
      all.map((entry) => (entry.status === 'fulfilled' ? entry.value.close() : Promise.resolve())),
    )
    this.transports.clear()
  }

  private async createTransport(caFile: string | undefined): Promise<ClosableTransport> {
    const ca = caFile ? await trustedWith(caFile) : undefined
    if (!proxyConfigured(this.env)) return new NodeTransport(ca)
    const { UndiciTransport } = await import('./undici-transport.js')
    return new UndiciTransport(ca, this.env)
  }
}

/** Node's root certificates and those of `caFile`, which must be a readable PEM bundle. */
async function trustedWith(caFile: string): Promise<string[]> {
  let pem: string
  try {
    pem = await readFile(caFile, 'utf8')
  } catch (error) {
    throw new ConfigError(`ca_file ${caFile}: cannot be read (${(error as Error).message}).`, [
      'Point ca_file at a PEM bundle of the certificate authorities to trust.',
    ])
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`ca_file ${caFile}: holds no PEM certificate.`, [
      'Use a PEM file (-----BEGIN CERTIFICATE----- blocks).',
    ])
  }
  // node:tls is loaded here, for a ca_file, or for an https:// URL: not for every run.
  const { rootCertificates } = await import('node:tls')
  return [...rootCertificates, pem]
}
