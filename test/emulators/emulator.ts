import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A small framework for local vendor emulators: a real HTTP server on loopback that records
 * every request, routes them to the emulator's handlers (which enforce the vendor's rules),
 * and can inject faults before a handler runs: an HTTP status with a body and headers, a
 * connection reset, or a delay longer than the client's timeout.
 */

export interface RecordedRequest {
  method: string
  path: string
  query: URLSearchParams
  headers: Record<string, string>
  body: Buffer
  text: string
  at: number
}

export interface Reply {
  status: number
  headers?: Record<string, string>
  body?: string | Buffer | object
}

export type Fault =
  /** Answer with this status; a `body` function answers from the request (a server echoing what it got). */
  | {
      kind: 'status'
      status: number
      body?: string | object | ((request: RecordedRequest) => string | object)
      headers?: Record<string, string>
    }
  | { kind: 'reset' }
  /** Wait this long, then let the handler answer (a response slower than the client's timeout). */
  | { kind: 'delay'; ms: number }
  /** Handle the request (store it), then reset the connection: an ambiguous create. */
  | { kind: 'reset-after-handling' }
  /** Handle the request, then hold the response this long: the client times out after the server stored it. */
  | { kind: 'delay-after-handling'; ms: number }

interface FaultEntry {
  fault: Fault
  remaining: number
  match?: (request: RecordedRequest) => boolean
}

export type Handler = (request: RecordedRequest) => Reply | Promise<Reply>

export interface Route {
  method: string
  /** Exact path, or a pattern whose named groups are passed in `params`. */
  path: string | RegExp
  handle: (request: RecordedRequest, params: Record<string, string>) => Reply | Promise<Reply>
}

export class Emulator {
  readonly requests: RecordedRequest[] = []
  private readonly faults: FaultEntry[] = []
  private readonly routes: Route[] = []
  private readonly inFlight = new Set<Promise<void>>()
  private server: Server | undefined
  private port = 0

  constructor(readonly name: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  route(method: string, path: string | RegExp, handle: Route['handle']): this {
    this.routes.push({ method, path, handle })
    return this
  }

  /** Injects `fault` for the next `times` matching requests. */
  inject(fault: Fault, times = 1, match?: (request: RecordedRequest) => boolean): this {
    this.faults.push({ fault, remaining: times, match })
    return this
  }

  clearFaults(): void {
    this.faults.length = 0
  }

  /** Forgets every request received and every pending fault; vendor emulators also forget what they stored. */
  reset(): void {
    this.clearFaults()
    this.requests.length = 0
  }

  requestsTo(path: string | RegExp): RecordedRequest[] {
    return this.requests.filter((request) =>
      typeof path === 'string' ? request.path === path : path.test(request.path),
    )
  }

  /**
   * Waits until every request received so far has been handled, including one a client gave
   * up on (a delayed answer the server still completes): call before resetting between tests,
   * so a late request of one test never lands in the next.
   */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const handling = this.dispatch(req, res).catch((error) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain' })
          res.end(`emulator ${this.name} failed: ${(error as Error).message}`)
        }
      })
      this.inFlight.add(handling)
      void handling.finally(() => this.inFlight.delete(handling))
    })
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve))
    this.port = (this.server.address() as AddressInfo).port
    return this
  }

  async stop(): Promise<void> {
    const server = this.server
    if (!server) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    this.server = undefined
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const url = new URL(req.url ?? '/', 'http://emulator')
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
    }
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers,
      body,
      text: body.toString('utf8'),
      at: Date.now(),
    }
    this.requests.push(request)

    const fault = this.takeFault(request)
    if (fault?.kind === 'reset') {
      req.socket.destroy()
      return
    }
    if (fault?.kind === 'status') {
      const body = typeof fault.body === 'function' ? fault.body(request) : fault.body
      send(res, { status: fault.status, headers: fault.headers, body: body ?? '' })
      return
    }
    if (fault?.kind === 'delay') await sleep(fault.ms)
    const reply = await this.handle(request)
    if (fault?.kind === 'reset-after-handling') {
      req.socket.destroy()
      return
    }
    if (fault?.kind === 'delay-after-handling') await sleep(fault.ms)
    if (!res.destroyed) send(res, reply)
  }

  private takeFault(request: RecordedRequest): Fault | undefined {
    const index = this.faults.findIndex(
      (entry) => entry.remaining > 0 && (!entry.match || entry.match(request)),
    )
    if (index === -1) return undefined
    const entry = this.faults[index]!
    entry.remaining--
    if (entry.remaining === 0) this.faults.splice(index, 1)
    return entry.fault
  }

  private async handle(request: RecordedRequest): Promise<Reply> {
    let allowed: string[] = []
    for (const route of this.routes) {
      const params = matchPath(route.path, request.path)
      if (!params) continue
      if (route.method !== request.method) {
        allowed.push(route.method)
        continue
      }
      return route.handle(request, params)
    }
    allowed = [...new Set(allowed)]
    if (allowed.length > 0)
      return { status: 405, headers: { allow: allowed.join(', ') }, body: 'Method Not Allowed' }
    return { status: 404, body: { error: `no route for ${request.method} ${request.path} on ${this.name}` } }
  }
}

function matchPath(pattern: string | RegExp, path: string): Record<string, string> | undefined {
  if (typeof pattern === 'string') return pattern === path ? {} : undefined
  const match = pattern.exec(path)
  return match ? { ...(match.groups ?? {}) } : undefined
}

function send(res: ServerResponse, reply: Reply): void {
  let body: Buffer
  const headers = { ...(reply.headers ?? {}) }
  if (reply.body === undefined) body = Buffer.alloc(0)
  else if (Buffer.isBuffer(reply.body)) body = reply.body
  else if (typeof reply.body === 'string') body = Buffer.from(reply.body)
  else {
    body = Buffer.from(JSON.stringify(reply.body))
    headers['content-type'] ??= 'application/json'
  }
  if (reply.status !== 204 && reply.status !== 304) headers['content-length'] = String(body.length)
  res.writeHead(reply.status, headers)
  res.end(reply.status === 204 ? undefined : body)
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export function json(status: number, body: object, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body }
}

/** A fixed-window limiter: answers 429 with Retry-After once `limit` requests arrived within `windowMs`. */
export class RateLimiter {
  private stamps: number[] = []

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** undefined when allowed; else the Retry-After seconds. */
  check(now = Date.now()): number | undefined {
    this.stamps = this.stamps.filter((stamp) => now - stamp < this.windowMs)
    if (this.stamps.length >= this.limit) {
      return Math.max(1, Math.ceil((this.windowMs - (now - this.stamps[0]!)) / 1000))
    }
    this.stamps.push(now)
    return undefined
  }
}
