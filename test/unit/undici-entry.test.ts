import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../support/cli.js'

/**
 * build/undici.cjs (the vendor bundle of undici) reaches into undici's internal layout and
 * repeats its index's `request`; these checks fail when an undici upgrade moves a file or
 * changes what `request` does, so the entry is looked at again.
 */

const require = createRequire(import.meta.url)
const entry = join(PROJECT_ROOT, 'build', 'undici.cjs')
type Entry = {
  EnvHttpProxyAgent: typeof import('undici').EnvHttpProxyAgent
  request: (url: string, options: object) => ReturnType<typeof import('undici').request>
}
const trimmed = require(entry) as Entry
const full = require('undici') as Entry

let server: Server
let url: string

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => res.end(JSON.stringify({ method: req.method, url: req.url, body })))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe('the undici vendor entry', () => {
  it('repeats the index’s request word for word', () => {
    const index = readFileSync(require.resolve('undici'), 'utf8')
    const body =
      /function makeDispatcher \(fn\) \{\n {2}return \(url, opts, handler\) => \{\n([\s\S]*?)\n {2}\}\n\}/.exec(
        index,
      )?.[1]
    expect(body, 'undici’s index no longer has makeDispatcher: review build/undici.cjs').toBeDefined()
    const ours = readFileSync(entry, 'utf8')
    // Compared without white space and trailing commas; `fn` is api.request here.
    const normalise = (text: string) =>
      text
        .replace(/fn\.call\(/g, 'api.request.call(')
        .replace(/\s+/g, '')
        .replace(/,([)}])/g, '$1')
    expect(normalise(ours)).toContain(normalise(body!))
  })

  it('sends what undici’s own request sends, through EnvHttpProxyAgent', async () => {
    for (const lib of [trimmed, full]) {
      const dispatcher = new lib.EnvHttpProxyAgent({})
      try {
        const response = await lib.request(`${url}/hooks/x?y=1`, { dispatcher, method: 'POST', body: 'abc' })
        expect(response.statusCode).toBe(200)
        expect(await response.body.json()).toEqual({ method: 'POST', url: '/hooks/x?y=1', body: 'abc' })
        const byPath = await lib.request(url, { dispatcher, path: 'p', body: 'x' })
        expect(await byPath.body.json()).toEqual({ method: 'PUT', url: '/p', body: 'x' })
        expect(() => lib.request('', { dispatcher })).toThrow(/invalid url/)
        expect(() => lib.request(url, { dispatcher, agent: {} })).toThrow(/unsupported opts.agent/)
      } finally {
        await dispatcher.destroy()
      }
    }
  })

  it('does not make Node load its own copy of undici', () => {
    const loaded = execFileSync(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(entry)}); process.stdout.write(String(process.moduleLoadList.some((m) => m.includes('deps/undici'))))`,
      ],
      { encoding: 'utf8' },
    )
    expect(loaded).toBe('false')
  })
})
