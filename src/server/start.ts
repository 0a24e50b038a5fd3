import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { ConfigError } from '../common/errors.js'
import { DELIVERY_DEFAULTS } from '../flow/delivery-kinds.js'
import { createApp } from './app.js'
import { BearerTokens, isLoopback } from './auth.js'
import { createContext, type ServerOptions } from './context.js'

/**
 * Starts the HTTP API and runs it until SIGTERM or SIGINT. A shutdown stops accepting
 * connections, lets the requests in flight finish (a delivery runs to its end, evidence and
 * store item included), closes the store and resolves `closed`. A second signal stops at once.
 */

export interface RunningServer {
  url: string
  /** Resolves once the server has shut down. */
  closed: Promise<void>
  /** What a signal does; for callers that manage signals themselves. */
  shutdown(reason: string): Promise<void>
}

/** Beyond the longest delivery (its deadline), a shutdown stops waiting. */
const DRAIN_LIMIT_MS = (DELIVERY_DEFAULTS.deadlineSeconds + 15) * 1000

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const tokens = new BearerTokens(options.tokens)
  if (!tokens.configured && !isLoopback(options.host)) {
    throw new ConfigError(
      `cavra serve will not listen on ${options.host} without an API token: anyone who reaches it could trigger deliveries.`,
      [
        'Set CAVRA_API_TOKEN (a comma-separated list) or pass --token-file, or listen on loopback (--host 127.0.0.1).',
      ],
    )
  }
  const context = await createContext(options)
  const { log } = options
  if (!tokens.configured) {
    log.warn(
      'No API token is configured (CAVRA_API_TOKEN or --token-file): the API is open to every process on this machine; it listens on loopback only.',
    )
  }

  let draining = false
  const app = createApp(context, tokens, {
    get draining() {
      return draining
    },
  })
  const server = createAdaptorServer({
    fetch: app.fetch,
    hostname: options.host,
    // Keep Node's own Request and Response: the delivery transport is undici's, not these.
    overrideGlobalObjects: false,
  }) as Server
  // A request is in flight until its answer has left (or its connection closed).
  let active = 0
  let idle: (() => void) | undefined
  server.on('request', (_request, response) => {
    active++
    response.once('close', () => {
      active--
      if (active === 0) idle?.()
    })
  })

  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      reject(
        new ConfigError(
          `cavra serve cannot listen on ${options.host}:${options.port} (${error.code === 'EADDRINUSE' ? 'the port is in use' : error.code === 'EACCES' ? 'permission denied' : error.message}).`,
          ['Pass another --port (0 picks a free one), or stop what is listening there.'],
        ),
      )
    }
    server.once('error', failed)
    server.listen(options.port, options.host, () => {
      server.off('error', failed)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${host}:${address.port}`
  log.info(`listening on ${url}`, { url, auth: tokens.configured ? 'bearer' : 'none' })

  let finished: () => void = () => {}
  const closed = new Promise<void>((resolve) => {
    finished = resolve
  })
  let stopping: Promise<void> | undefined
  const shutdown = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      draining = true
      log.info(`shutting down (${reason}): no new connections; waiting for ${active} request(s) in flight`)
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      if (active > 0) {
        await Promise.race([
          new Promise<void>((resolve) => {
            idle = resolve
          }),
          new Promise<void>((resolve) => setTimeout(resolve, DRAIN_LIMIT_MS).unref()),
        ])
      }
      server.closeAllConnections()
      await stopped
      await context.store.close()
      log.info('stopped')
      finished()
    })()
    return stopping
  }

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn(`${signal} again: stopping without waiting for the requests in flight`)
      process.exit(1)
    }
    void shutdown(signal)
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  void closed.then(() => {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
  })
  return { url, closed, shutdown }
}
