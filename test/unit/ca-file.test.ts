import { readFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/common/errors.js'
import { CANARY } from '../support/canaries.js'
import { PROJECT_ROOT } from '../support/cli.js'
import { deliverInProcess } from '../support/deliver.js'
import { Workspace } from '../support/workspace.js'

/**
 * `ca_file` through the whole flow: named in the configuration (also through `ca_file_env`),
 * checked when the configuration is loaded, and added to the trusted roots of the transport.
 */

const TLS = `${PROJECT_ROOT}/test/fixtures/tls`

async function withPrivateCaServer(run: (url: string) => Promise<void>): Promise<void> {
  const server = createServer(
    { key: readFileSync(`${TLS}/server.key`), cert: readFileSync(`${TLS}/server.pem`) },
    (req, res) => {
      req.resume()
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{"delivery_id":"dlv_1"}')
      })
    },
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    await run(`https://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/cavra-ca-test-2026`)
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

const env = (url: string) => ({ HOOK_URL: url, HOOK_SECRET: CANARY.webhookSecret, CA_PATH: `${TLS}/ca.pem` })

describe('ca_file', () => {
  it('makes a server with a certificate of a private CA trusted, given literally or through ca_file_env', async () => {
    await withPrivateCaServer(async (url) => {
      for (const ca of [{ ca_file: `${TLS}/ca.pem` }, { ca_file_env: 'CA_PATH' }]) {
        const result = await deliverInProcess({
          connectors: { webhook: { url_env: 'HOOK_URL', signing_secret_env: 'HOOK_SECRET', ...ca } },
          env: env(url),
          retries: 0,
        })
        expect(result.deliveries[0], JSON.stringify(ca)).toMatchObject({
          success: true,
          remote_reference: 'dlv_1',
        })
      }
      // Without it the certificate is not trusted, and the failure says so.
      const untrusted = await deliverInProcess({
        connectors: { webhook: { url_env: 'HOOK_URL', signing_secret_env: 'HOOK_SECRET' } },
        env: env(url),
        retries: 0,
      })
      expect(untrusted.deliveries[0]!.success).toBe(false)
      expect(untrusted.deliveries[0]!.error).toMatch(/CERT|certificate/i)
    })
  })

  it('is a configuration error, before anything is sent, when missing or not PEM', async () => {
    const ws = new Workspace()
    try {
      const garbage = ws.write('garbage.pem', 'not a certificate')
      for (const [caFile, problem] of [
        ['/nonexistent/ca.pem', /ca_file \/nonexistent\/ca\.pem cannot be read \(ENOENT\)/],
        [garbage, /holds no PEM certificate/],
        [ws.dir, /is not a regular file/],
      ] as const) {
        const attempt = deliverInProcess({
          connectors: {
            webhook: {
              url: 'https://127.0.0.1:9/hooks/x',
              signing_secret_env: 'HOOK_SECRET',
              ca_file: caFile,
            },
          },
          env: env('https://127.0.0.1:9/hooks/x'),
        })
        await expect(attempt).rejects.toBeInstanceOf(ConfigError)
        await expect(attempt).rejects.toThrow(problem)
      }
    } finally {
      ws.remove()
    }
  })
})
