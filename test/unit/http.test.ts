import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, request as httpRequest } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { type AddressInfo, connect, createServer as createNetServer } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/common/errors.js'
import { MAX_RESPONSE_BYTES, TransportPool, USER_AGENT } from '../../src/delivery/http.js'
import { Emulator, json, sleep } from '../emulators/emulator.js'
import { PROJECT_ROOT } from '../support/cli.js'
import { Workspace } from '../support/workspace.js'

/** The transport against a real local server: what reaches it, and how failures are classified. */

const server = new Emulator('http-test')
  .route('POST', '/echo', (request) => json(200, { headers: request.headers, body: request.text }))
  .route('GET', '/big', () => ({ status: 200, body: Buffer.alloc(MAX_RESPONSE_BYTES + 10, 'a') }))
  .route('GET', '/slow', async () => {
    await sleep(2000)
    return json(200, {})
  })
  .route('GET', '/redirect', () => ({ status: 302, headers: { location: 'https://elsewhere.example/' } }))

let pool: TransportPool
beforeAll(async () => {
  await server.start()
})
afterAll(async () => {
  await server.stop()
})
afterEach(async () => {
  await pool?.close()
  server.clearFaults()
})

/** Without a proxy requests go through node:http; with one, through undici (here told to bypass it). */
const TRANSPORTS: [string, NodeJS.ProcessEnv][] = [
  ['node:http', {}],
  ['undici', { HTTP_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9', NO_PROXY: '*' }],
]

describe.each(TRANSPORTS)('the %s transport', (_name, env) => {
  it('sends the exact bytes and headers, with a cavra user agent', async () => {
    pool = new TransportPool(env)
    const transport = await pool.transportFor(undefined)
    const result = await transport.send(
      {
        method: 'POST',
        url: `${server.url}/echo`,
        headers: { 'content-type': 'application/json', 'x-a': '1' },
        body: '{"é":1}',
      },
      5000,
    )
    expect(result.kind).toBe('response')
    const echoed = JSON.parse(result.kind === 'response' ? result.response.body : '{}')
    expect(echoed.body).toBe('{"é":1}')
    expect(echoed.headers['user-agent']).toBe(USER_AGENT)
    expect(echoed.headers['content-length']).toBe(String(Buffer.byteLength('{"é":1}')))
  })

  it('reports a response slower than the timeout as an ambiguous timeout', async () => {
    pool = new TransportPool(env)
    const transport = await pool.transportFor(undefined)
    const started = Date.now()
    const result = await transport.send({ method: 'GET', url: `${server.url}/slow`, headers: {} }, 300)
    expect(Date.now() - started).toBeLessThan(1500)
    expect(result).toEqual({
      kind: 'network',
      failure: { code: 'TIMEOUT', message: 'no response within 0.3 s', ambiguous: true, timedOut: true },
    })
  })

  it('reports a refused connection as a failure that never reached the server', async () => {
    const closed = createHttpServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    pool = new TransportPool(env)
    const result = await (await pool.transportFor(undefined)).send(
      { method: 'GET', url: `http://127.0.0.1:${port}/`, headers: {} },
      2000,
    )
    expect(result.kind === 'network' && result.failure).toMatchObject({
      code: 'ECONNREFUSED',
      ambiguous: false,
    })
  })

  it('reports a reset after the request was read as ambiguous', async () => {
    pool = new TransportPool(env)
    server.inject({ kind: 'reset' })
    const result = await (await pool.transportFor(undefined)).send(
      { method: 'POST', url: `${server.url}/echo`, headers: {}, body: 'x' },
      2000,
    )
    expect(result.kind).toBe('network')
    expect(result.kind === 'network' && result.failure.ambiguous).toBe(true)
  })

  it('reports a connection closed partway through the response body as ambiguous, not as a response', async () => {
    // Headers promise 100 bytes; 10 arrive, then the connection goes away.
    const cut = createNetServer((socket) => {
      socket.once('data', () => {
        socket.write(
          'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"ok":true',
        )
        setTimeout(() => socket.destroy(), 20)
      })
    })
    await new Promise<void>((resolve) => cut.listen(0, '127.0.0.1', resolve))
    try {
      pool = new TransportPool(env)
      const result = await (await pool.transportFor(undefined)).send(
        {
          method: 'POST',
          url: `http://127.0.0.1:${(cut.address() as AddressInfo).port}/`,
          headers: {},
          body: 'x',
        },
        2000,
      )
      expect(result.kind).toBe('network')
      expect(result.kind === 'network' && result.failure).toMatchObject({ ambiguous: true, timedOut: false })
    } finally {
      await new Promise<void>((resolve) => cut.close(() => resolve()))
    }
  })

  it('reads at most MAX_RESPONSE_BYTES of a response', async () => {
    pool = new TransportPool(env)
    const result = await (await pool.transportFor(undefined)).send(
      { method: 'GET', url: `${server.url}/big`, headers: {} },
      5000,
    )
    expect(result.kind === 'response' && result.response.truncated).toBe(true)
    expect(result.kind === 'response' && result.response.body.length).toBe(MAX_RESPONSE_BYTES)
  })

  it('does not follow redirects', async () => {
    pool = new TransportPool(env)
    const result = await (await pool.transportFor(undefined)).send(
      { method: 'GET', url: `${server.url}/redirect`, headers: {} },
      5000,
    )
    expect(result.kind === 'response' && result.response.status).toBe(302)
  })

  it('refuses an unreadable or non-PEM ca_file as a configuration error', async () => {
    pool = new TransportPool(env)
    await expect(pool.transportFor('/nonexistent/ca.pem')).rejects.toBeInstanceOf(ConfigError)
    const ws = new Workspace()
    const file = ws.write('ca.pem', 'not a certificate')
    await expect(new TransportPool(env).transportFor(file)).rejects.toThrow(/holds no PEM certificate/)
    ws.remove()
  })

  it('trusts a ca_file in addition to the system roots, and only with it', async () => {
    const tls = `${PROJECT_ROOT}/test/fixtures/tls`
    const https = createHttpsServer(
      { key: readFileSync(`${tls}/server.key`), cert: readFileSync(`${tls}/server.pem`) },
      (_req, res) => res.end('ok'),
    )
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve))
    const url = `https://127.0.0.1:${(https.address() as AddressInfo).port}/`
    try {
      pool = new TransportPool(env)
      const untrusted = await (await pool.transportFor(undefined)).send(
        { method: 'GET', url, headers: {} },
        5000,
      )
      expect(untrusted.kind === 'network' && untrusted.failure).toMatchObject({ ambiguous: false })
      const trusted = await (await pool.transportFor(`${tls}/ca.pem`)).send(
        { method: 'GET', url, headers: {} },
        5000,
      )
      expect(trusted.kind === 'response' && trusted.response.body).toBe('ok')
    } finally {
      https.closeAllConnections()
      await new Promise<void>((resolve) => https.close(() => resolve()))
    }
  })
})

describe('proxies', () => {
  it('sends through HTTP_PROXY and skips hosts in NO_PROXY', async () => {
    // A forward proxy that counts what it relays.
    const relayed: string[] = []
    const proxy = createHttpServer((req, res) => {
      relayed.push(`${req.method} ${req.url}`)
      const upstream = httpRequest(req.url!, { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      })
      req.pipe(upstream)
    })
    proxy.on('connect', (req, socket, head) => {
      relayed.push(`CONNECT ${req.url}`)
      const [host, port] = (req.url ?? '').split(':')
      const upstream = connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        upstream.write(head)
        upstream.pipe(socket)
        socket.pipe(upstream)
      })
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
    const saved = {
      HTTP_PROXY: process.env.HTTP_PROXY,
      NO_PROXY: process.env.NO_PROXY,
      no_proxy: process.env.no_proxy,
    }
    try {
      process.env.HTTP_PROXY = proxyUrl
      delete process.env.no_proxy
      process.env.NO_PROXY = 'unrelated.example'
      pool = new TransportPool()
      const viaProxy = await (await pool.transportFor(undefined)).send(
        { method: 'POST', url: `${server.url}/echo`, headers: {}, body: 'x' },
        5000,
      )
      expect(viaProxy.kind === 'response' && viaProxy.response.status).toBe(200)
      expect(relayed.length).toBeGreaterThan(0)
      await pool.close()
      relayed.length = 0
      process.env.NO_PROXY = '127.0.0.1'
      pool = new TransportPool()
      await (await pool.transportFor(undefined)).send(
        { method: 'POST', url: `${server.url}/echo`, headers: {}, body: 'x' },
        5000,
      )
      expect(relayed).toEqual([])
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
      proxy.closeAllConnections()
      await new Promise<void>((resolve) => proxy.close(() => resolve()))
    }
  })
})
