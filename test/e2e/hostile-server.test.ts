import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebhookReceiver } from '../emulators/webhook-receiver.js'
import { CANARY, leakedCanaries } from '../support/canaries.js'
import { expectNoLeaksUnder, runCli } from '../support/cli.js'
import { Workspace } from '../support/workspace.js'

/**
 * A receiver that answers with everything a hostile server can put in an error body: escape
 * sequences that fake an "ok" line, an OSC hyperlink, GitHub workflow commands, HTML and
 * markdown links, and the secret parts of its own URL, placed so that the 300-character
 * excerpt cuts through the token. Nothing of it may reach a terminal, a CI log, the evidence,
 * the store or a dashboard in a live form.
 */

const receiver = new WebhookReceiver({ secret: CANARY.webhookSecret, path: CANARY.webhookPath })
let ws: Workspace

beforeAll(async () => {
  await receiver.start()
})
afterAll(async () => {
  await receiver.stop()
})
afterEach(async () => {
  await receiver.idle()
  expectNoLeaksUnder(ws.dir)
  ws.remove()
  receiver.reset()
})

const segment = CANARY.webhookPath.split('/').pop()!

function hostileBody(cut: number): string {
  const pad = 'x'.repeat(Math.max(0, cut))
  return [
    `${pad}Cannot POST ${CANARY.webhookPath} with token ${CANARY.webhookBearer} ?sig=${segment}`,
    '\u001b[2K\r\u001b[32mok\u001b[0m webhook: delivered',
    '\u001b]8;;https://evil.example/\u0007click\u001b]8;;\u0007',
    '::error title=cavra webhook::all good',
    '##[warning]fake',
    '<img src=x onerror=alert(1)> [docs](https://evil.example) <script>alert(1)</script>',
  ].join('\n')
}

function setUp(): void {
  ws = new Workspace('cavra-hostile-')
  ws.write('.cavra/connectors.json', {
    connectors: {
      webhook: {
        url_env: 'CAVRA_WEBHOOK_URL',
        signing_secret_env: 'CAVRA_WEBHOOK_SECRET',
        token_env: 'CAVRA_WEBHOOK_BEARER',
      },
    },
  })
  ws.copy('examples/release/rollout-rollback-execution.json')
}

const env = () => ({
  CAVRA_WEBHOOK_URL: `${receiver.url}${CANARY.webhookPath}?sig=${segment}`,
  CAVRA_WEBHOOK_SECRET: CANARY.webhookSecret,
  CAVRA_WEBHOOK_BEARER: CANARY.webhookBearer,
})

const cavra = (args: string[], extra: Record<string, string> = {}) =>
  runCli(args, { cwd: ws.dir, env: { ...env(), ...extra } })

/** Text that is inert: no escape or control character, no workflow command, no live markup. */
function expectInert(text: string, where: string): void {
  expect(text, `${where} holds a control character`).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/)
  expect(text, `${where} holds ##[`).not.toContain('##[')
  const commands = text.split('\n').filter((line) => /^\s*::/.test(line))
  // Only cavra's own annotations start a line with `::`; a server's text stays in their data.
  for (const line of commands)
    expect(line, `${where} lets a server start a workflow command`).toMatch(
      /^::(error|warning) title=cavra connector deliver[^:]*::/,
    )
  // Every 8-character prefix of every secret, in every encoding.
  expect(leakedCanaries(text), `${where} leaks a secret`).toEqual([])
}

describe('a hostile receiver', () => {
  for (const cut of [0, 250, 270, 290, 299]) {
    it(`cannot reach the operator through its error body (secret at offset ${cut})`, async () => {
      setUp()
      receiver.inject({ kind: 'status', status: 400, body: hostileBody(cut) }, 5)
      const run = await cavra(['release', 'deliver-rollback-execution', 'rollout-rollback-execution.json'])
      expect(run.code).toBe(1)
      expectInert(run.stdout, 'stdout')
      expectInert(run.stderr, 'stderr')
      expect(run.stdout).not.toMatch(/^ok\s+webhook/m)
      const evidenceDir = ws.path('.cavra/release/rollback-deliveries')
      const [file] = readdirSync(evidenceDir)
      expectInert(readFileSync(join(evidenceDir, file!), 'utf8'), 'the evidence')
      expectInert(readFileSync(ws.path('.cavra/evidence/metadata.json'), 'utf8'), 'the store')

      const history = await cavra(['release', 'connector-delivery-history'])
      expectInert(history.stdout, 'history')
      const markdown = await cavra(['release', 'connector-delivery-dashboard', '--format', 'markdown'], {
        GITHUB_ACTIONS: 'true',
      })
      expectInert(markdown.stdout, 'the markdown dashboard')
      // Annotations are plain text in the runner; the markdown itself must hold no live markup.
      const markdownLines = markdown.stdout.split('\n').filter((line) => !line.startsWith('::'))
      expect(markdownLines.join('\n')).not.toMatch(/<img|<script|(?<!\\)\]\(https?:\/\//)
      expect(markdown.stdout).toMatch(/^::(error|warning) title=/m)
      const html = await cavra(['release', 'connector-delivery-dashboard', '--format', 'html'])
      expectInert(html.stdout, 'the HTML dashboard')
      // With no padding, the markup is inside the stored excerpt: it shows as text.
      if (cut === 0) expect(html.stdout).toContain('&lt;img src=x onerror=alert(1)&gt;')
      expect(html.stdout).not.toMatch(/<(img|script|a)\b/i)
    })
  }
})
