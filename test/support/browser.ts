import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { inject } from 'vitest'
import { CHROMIUM } from './chromium-setup.js'
import type { PageDocument, PageImage } from './page-types.js'

// Used only inside page.evaluate, where the page provides them.
declare const document: PageDocument
declare const Image: new () => PageImage

/**
 * A headless Chromium with a fresh profile, none of the browser's own network traffic
 * (updates, sync, QUIC probes), and pages whose every request is seen by the test.
 */

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export interface Browser {
  context: BrowserContext
  close(): Promise<void>
}

export async function launchChromium(): Promise<Browser> {
  const problem = inject('chromiumProblem')
  if (problem) throw new Error(problem)
  const profile = mkdtempSync(join(tmpdir(), 'cavra-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1200, height: 900 },
    offline: true,
  })
  return {
    context,
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

/** What a page did while a document was open: every request, dialog, error and console line. */
export interface PageActivity {
  /** Every request the page started, including those its Content-Security-Policy then refused. */
  requests: string[]
  /** The requests that got past the page to the network (here, to the test's router). */
  sent: string[]
  /** Requests that failed, with the reason (`csp` when the page's policy refused them). */
  failed: string[]
  dialogs: string[]
  errors: string[]
  console: string[]
}

/** The origin documents are served from: never resolved, the test answers for it. */
export const DOCUMENT_URL = 'http://dashboard.cavra.test/dashboard.html'

/**
 * Opens `html` as the document at DOCUMENT_URL. Every request the page makes is recorded; the
 * document's own is answered with `html`, any other is refused.
 */
export async function openDocument(
  browser: Browser,
  html: string,
): Promise<{ page: Page; activity: PageActivity }> {
  const page = await browser.context.newPage()
  const activity: PageActivity = { requests: [], sent: [], failed: [], dialogs: [], errors: [], console: [] }
  // The machine running the suite may be busy; a slow page is not a broken one.
  page.setDefaultTimeout(120_000)
  page.on('request', (request) => activity.requests.push(request.url()))
  page.on('requestfailed', (request) =>
    activity.failed.push(`${request.url()} ${request.failure()?.errorText}`),
  )
  page.on('websocket', (socket) => activity.requests.push(socket.url()))
  page.on('dialog', (dialog) => {
    activity.dialogs.push(dialog.message())
    void dialog.dismiss()
  })
  page.on('pageerror', (error) => activity.errors.push(error.message))
  page.on('console', (message) => activity.console.push(message.text()))
  await page.route('**/*', (route) => {
    activity.sent.push(route.request().url())
    return route.request().url() === DOCUMENT_URL
      ? route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html })
      : route.abort('blockedbyclient')
  })
  await page.goto(DOCUMENT_URL, { waitUntil: 'load' })
  return { page, activity }
}

/** Pixels of a PNG, counted in a blank page of the same browser (no decoder dependency). */
export async function countColours(
  browser: Browser,
  png: Buffer,
  colours: Record<string, string>,
  tolerance = 24,
): Promise<{ total: number; distinct: number; matches: Record<string, number> }> {
  const page = await browser.context.newPage()
  try {
    return await page.evaluate(
      async ({ dataUrl, colours, tolerance }) => {
        const image = new Image()
        image.src = dataUrl
        await image.decode()
        const canvas = document.createElement('canvas')
        canvas.width = image.width
        canvas.height = image.height
        const context = canvas.getContext('2d')!
        context.drawImage(image, 0, 0)
        const { data } = context.getImageData(0, 0, image.width, image.height)
        const wanted = Object.entries(colours).map(([name, hex]) => ({
          name,
          rgb: [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)),
        }))
        const matches: Record<string, number> = Object.fromEntries(wanted.map((w) => [w.name, 0]))
        const distinct = new Set<number>()
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!]
          distinct.add((r << 16) | (g << 8) | b)
          for (const w of wanted)
            if (
              Math.abs(r - w.rgb[0]!) <= tolerance &&
              Math.abs(g - w.rgb[1]!) <= tolerance &&
              Math.abs(b - w.rgb[2]!) <= tolerance
            )
              matches[w.name]!++
        }
        return { total: data.length / 4, distinct: distinct.size, matches }
      },
      { dataUrl: `data:image/png;base64,${png.toString('base64')}`, colours, tolerance },
    )
  } finally {
    await page.close()
  }
}
