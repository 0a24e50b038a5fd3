'use strict'
// The vendor bundle of undici (dist/vendor/undici.cjs) holds only what cavra uses
// (src/delivery/http.ts): EnvHttpProxyAgent, and request(url, options) on a dispatcher. undici's
// own index also loads fetch, WebSocket, EventSource, caches, cookies and mocks, and its cookies
// module reads globalThis.Headers, a lazy getter that makes Node load and compile its own copy
// of undici besides this one.
//
// The paths below are undici's internal layout (7.x; package.json pins ^7.30) and `request`
// is its index's makeDispatcher(api.request), repeated; test/unit/undici-entry.test.ts fails
// if an upgrade moves a file or changes what the index does for `request`.
const { InvalidArgumentError } = require('undici/lib/core/errors')
const util = require('undici/lib/core/util')
const Dispatcher = require('undici/lib/dispatcher/dispatcher')
const EnvHttpProxyAgent = require('undici/lib/dispatcher/env-http-proxy-agent')
const api = require('undici/lib/api')
const { getGlobalDispatcher } = require('undici/lib/global')

// As the index does: every dispatcher gets request, stream, pipeline, upgrade and connect
// (a proxy agent tunnels through connect).
Object.assign(Dispatcher.prototype, api)

function request(url, opts, handler) {
  if (typeof opts === 'function') {
    handler = opts
    opts = null
  }
  if (!url || (typeof url !== 'string' && typeof url !== 'object' && !(url instanceof URL))) {
    throw new InvalidArgumentError('invalid url')
  }
  if (opts != null && typeof opts !== 'object') {
    throw new InvalidArgumentError('invalid opts')
  }
  if (opts && opts.path != null) {
    if (typeof opts.path !== 'string') {
      throw new InvalidArgumentError('invalid opts.path')
    }
    let path = opts.path
    if (!opts.path.startsWith('/')) {
      path = `/${path}`
    }
    url = new URL(util.parseOrigin(url).origin + path)
  } else {
    if (!opts) {
      opts = typeof url === 'object' ? url : {}
    }
    url = util.parseURL(url)
  }
  const { agent, dispatcher = getGlobalDispatcher() } = opts
  if (agent) {
    throw new InvalidArgumentError('unsupported opts.agent. Did you mean opts.client?')
  }
  return api.request.call(
    dispatcher,
    {
      ...opts,
      origin: url.origin,
      path: url.search ? `${url.pathname}${url.search}` : url.pathname,
      method: opts.method || (opts.body ? 'PUT' : 'GET'),
    },
    handler,
  )
}

module.exports = { Dispatcher, EnvHttpProxyAgent, request }
