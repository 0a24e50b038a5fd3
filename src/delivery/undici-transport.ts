import { EnvHttpProxyAgent, request } from 'undici'
import {
  type ClosableTransport,
  describeNetworkError,
  flattenHeaders,
  type HttpRequest,
  type HttpResult,
  readLimited,
  USER_AGENT,
} from './http-basics.js'

/**
 * Requests through undici's EnvHttpProxyAgent, for runs with HTTPS_PROXY / HTTP_PROXY set:
 * it honours them and NO_PROXY, which node:http on Node 20 does not. Loaded only then.
 */
export class UndiciTransport implements ClosableTransport {
  private readonly dispatcher: EnvHttpProxyAgent

  constructor(ca: string[] | undefined, env: NodeJS.ProcessEnv) {
    const tls = ca ? { ca } : undefined
    this.dispatcher = new EnvHttpProxyAgent({
      connect: tls,
      requestTls: tls,
      keepAliveTimeout: 1000,
      httpProxy: env.HTTP_PROXY || env.http_proxy || undefined,
      httpsProxy: env.HTTPS_PROXY || env.https_proxy || undefined,
      noProxy: env.NO_PROXY || env.no_proxy || undefined,
    })
  }

  async close(): Promise<void> {
    await this.dispatcher.destroy()
  }

  async send(req: HttpRequest, timeoutMs: number): Promise<HttpResult> {
    const signal = AbortSignal.timeout(Math.max(1, timeoutMs))
    try {
      const response = await request(req.url, {
        dispatcher: this.dispatcher,
        method: req.method,
        headers: { 'user-agent': USER_AGENT, ...req.headers },
        body: req.body,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        // undici's request() follows no redirects: a 3xx from a delivery endpoint is reported as is.
      })
      const { text, truncated } = await readLimited(response.body)
      return {
        kind: 'response',
        response: {
          status: response.statusCode,
          headers: flattenHeaders(response.headers),
          body: text,
          truncated,
        },
      }
    } catch (error) {
      return { kind: 'network', failure: describeNetworkError(error, signal.aborted, timeoutMs) }
    }
  }
}
