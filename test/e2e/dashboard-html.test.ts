import { readFileSync } from 'node:fs'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Browser, countColours, DOCUMENT_URL, launchChromium, openDocument } from '../support/browser.js'
import { runCli } from '../support/cli.js'
import {
  connectorItems,
  DAYS,
  HOSTILE,
  LONG_EVENT_ID,
  LONG_PROVIDER,
  publicationItems,
  SINCE,
  writeDashboardStore,
} from '../support/dashboard-store.js'
import type { PageDocument, PageStyle } from '../support/page-types.js'
import { Workspace } from '../support/workspace.js'

// Used only inside page.evaluate, where the page provides them.
declare const document: PageDocument
declare const window: { __owned?: unknown }
declare const getComputedStyle: PageStyle

/**
 * The HTML dashboards as the built CLI writes them, opened in a real headless Chromium: the
 * page asks for nothing, hostile text from the store stays text, the charts are drawn to scale,
 * and the page reads in dark mode and in print.
 */

let ws: Workspace
let browser: Browser
let connectorsHtml: string
let publicationsHtml: string

const IMAGE_URL = 'http://images.cavra.test/x.png'
const LIGHT = { ok: '#1a7f37', failed: '#cf222e' }
const DARK = { ok: '#3fb950', failed: '#f85149' }

beforeAll(async () => {
  ws = new Workspace('cavra-html-')
  await writeDashboardStore(ws.path('metadata.json'), [...connectorItems(), ...publicationItems()])
  const written = await runCli(
    [
      'release',
      'connector-delivery-dashboard',
      '--format',
      'html',
      '--since',
      SINCE,
      '--metadata-json',
      'metadata.json',
      '--output',
      'connectors.html',
    ],
    { cwd: ws.dir },
  )
  expect(written.code, written.stderr).toBe(0)
  expect(written.stdout).toBe('Wrote connectors.html (alert level critical).\n')
  connectorsHtml = readFileSync(ws.path('connectors.html'), 'utf8')
  const printed = await runCli(
    ['release', 'endpoint-publication-dashboard', '--format', 'html', '--metadata-json', 'metadata.json'],
    { cwd: ws.dir },
  )
  expect(printed.code, printed.stderr).toBe(0)
  publicationsHtml = printed.stdout
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  ws?.remove()
})

const documents = () =>
  [
    ['connector dashboard', connectorsHtml],
    ['publication dashboard', publicationsHtml],
  ] as const

/** What a reader sees: the rendered text, so that markup that is not shown does not count. */
async function shownText(page: Page, selector = 'body'): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is checked
  return page.locator(selector).first().innerText()
}

async function box(page: Page, selector: string) {
  const found = await page.locator(selector).first().boundingBox()
  if (!found) throw new Error(`${selector} is not rendered`)
  return found
}

// Each test drives a real browser, on a machine that may be busy.
describe('an HTML dashboard opened in Chromium', { timeout: 240_000 }, () => {
  it('asks for nothing but the document itself', async () => {
    for (const [name, html] of documents()) {
      const { page, activity } = await openDocument(browser, html)
      // Give anything lazy (fonts, images, prefetches) the time to start.
      await page.waitForTimeout(300)
      // Not even started: nothing in the page asks for anything.
      expect(activity.requests, name).toEqual([DOCUMENT_URL])
      expect(activity.sent, name).toEqual([DOCUMENT_URL])
      expect(activity.errors, name).toEqual([])
      await page.close()
    }
  })

  it('would catch a load or a script: the probes see them in a page without the policy', async () => {
    const leaky = `<!DOCTYPE html><html><body><img src="${IMAGE_URL}"><script>window.__owned = 1</script></body></html>`
    const { page, activity } = await openDocument(browser, leaky)
    await page.waitForTimeout(300)
    expect(activity.sent).toEqual([DOCUMENT_URL, IMAGE_URL])
    expect(await page.evaluate(() => window.__owned)).toBe(1)
    await page.close()
  })

  it('blocks even markup that escaped escaping: the policy forbids the load and the script', async () => {
    const injected = connectorsHtml.replace(
      '</body>',
      `<img src="${IMAGE_URL}"><script>window.__owned = 1</script><link rel="stylesheet" href="${IMAGE_URL}"></body>`,
    )
    const { page, activity } = await openDocument(browser, injected)
    await page.waitForTimeout(300)
    expect(activity.sent).toEqual([DOCUMENT_URL])
    expect(activity.failed).toEqual([`${IMAGE_URL} csp`, `${IMAGE_URL} csp`])
    expect(await page.evaluate(() => window.__owned)).toBeUndefined()
    expect(activity.console.join('\n')).toMatch(/Content Security Policy/)
    await page.close()
  })

  it('runs no script from hostile text in the store and shows it as text', async () => {
    for (const [name, html] of documents()) {
      const { page, activity } = await openDocument(browser, html)
      expect(await page.evaluate(() => window.__owned), name).toBeUndefined()
      expect(activity.dialogs, name).toEqual([])
      const live = await page.evaluate(
        () =>
          document.querySelectorAll('script, img, iframe, a, object, embed, link, base, form, image').length,
      )
      expect(live, `${name}: live elements`).toBe(0)
      const handlers = await page.evaluate(
        () =>
          Array.from(document.querySelectorAll('*')).flatMap((element) =>
            Array.from(element.attributes).filter((a) => /^on/i.test(a.name) || /javascript:/i.test(a.value)),
          ).length,
      )
      expect(handlers, `${name}: event handlers or javascript: URLs`).toBe(0)
      // A stored `</style><style>body{display:none}` does not hide the page.
      expect(await page.evaluate(() => getComputedStyle(document.body).display), name).toBe('block')
      const text = await shownText(page)
      expect(text, name).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/)
      expect(text, name).toContain('gnp.exe done')
      expect(text, name).toContain('<a href="javascript:window.__owned=3">fix here</a>')
      await page.close()
    }
    const { page } = await openDocument(browser, connectorsHtml)
    const text = await shownText(page)
    for (const hostile of [HOSTILE.provider, HOSTILE.eventId, HOSTILE.eventType])
      expect(text).toContain(hostile)
    await page.close()
    const publications = await openDocument(browser, publicationsHtml)
    const publicationText = await shownText(publications.page)
    for (const hostile of [HOSTILE.exportId, HOSTILE.channel]) expect(publicationText).toContain(hostile)
    await publications.page.close()
  })

  it('shows the alert level and the open alerts first', async () => {
    const { page } = await openDocument(browser, connectorsHtml)
    expect(await shownText(page, '#alert-level')).toBe('Alert level: critical')
    const [level, alerts, table] = [
      await box(page, '#alert-level'),
      await box(page, '#alerts'),
      await box(page, '#connectors'),
    ]
    expect(level.y).toBeLessThan(alerts.y)
    expect(alerts.y).toBeLessThan(table.y)
    expect(await page.locator('#alerts li.alert').count()).toBe(3)
    expect(await shownText(page, '#alerts li.alert-critical')).toContain(HOSTILE.provider)
    await page.close()
  })

  it('shows ids and names in full, wrapped inside their box', async () => {
    const { page } = await openDocument(browser, connectorsHtml)
    for (const [selector, value] of [
      [`#connectors th.id`, LONG_PROVIDER],
      [`#success-rates .name`, LONG_PROVIDER],
      [`#alerts dd`, LONG_EVENT_ID],
    ] as const) {
      const cell = page.locator(selector, { hasText: value.slice(0, 40) }).first()
      const shown = await cell.evaluate((element) => ({
        text: element.textContent,
        overflow: element.scrollWidth - element.clientWidth,
        lines:
          element.getBoundingClientRect().height / Number.parseFloat(getComputedStyle(element).lineHeight),
      }))
      expect(shown.text, selector).toBe(value)
      expect(shown.overflow, `${selector} is cut`).toBeLessThanOrEqual(0)
      expect(shown.lines, `${selector} wraps`).toBeGreaterThan(1.5)
    }
    await page.close()
  })

  it('draws a success-rate bar per connector, as wide as its share of successes', async () => {
    const { page } = await openDocument(browser, connectorsHtml)
    const expected: Record<string, number> = { webhook: 5 / 6, [LONG_PROVIDER]: 4 / 5, [HOSTILE.provider]: 0 }
    const rows = page.locator('#success-rates li')
    expect(await rows.count()).toBe(3)
    for (let i = 0; i < 3; i++) {
      const row = rows.nth(i)
      const name = (await row.locator('.name').textContent()) ?? ''
      const track = await row.locator('rect.track').boundingBox()
      expect(track!.width).toBeGreaterThan(200)
      expect(track!.height).toBeGreaterThan(5)
      const ok =
        (await row.locator('rect.ok').count()) > 0 ? (await row.locator('rect.ok').boundingBox())!.width : 0
      expect(ok / track!.width, name).toBeCloseTo(expected[name]!, 2)
    }
    await page.close()
  })

  it('draws deliveries per day with bars in proportion to the counts', async () => {
    const { page } = await openDocument(browser, connectorsHtml)
    const chart = await box(page, '#deliveries-per-day svg.timeline')
    expect(chart.width).toBeGreaterThan(600)
    expect(chart.height).toBeGreaterThan(150)
    const height = async (day: string, kind: 'ok' | 'failed') => {
      const rect = page.locator(`g.bucket[data-start="${day}"] rect.${kind}`)
      return (await rect.count()) === 0 ? 0 : (await rect.boundingBox())!.height
    }
    const unit = (await height('2026-11-20', 'ok')) / 3
    expect(unit).toBeGreaterThan(5)
    for (const day of DAYS) {
      expect(await height(day.day, 'ok'), `${day.day} ok`).toBeCloseTo(day.succeeded * unit, 0)
      expect(await height(day.day, 'failed'), `${day.day} failed`).toBeCloseTo(day.failed * unit, 0)
    }
    await page.close()
  })

  it('renders the chart in its colours: a screenshot holds successes and failures in proportion', async () => {
    const { page } = await openDocument(browser, connectorsHtml)
    for (const [scheme, colours] of [
      ['light', LIGHT],
      ['dark', DARK],
    ] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      const png = await page.locator('#deliveries-per-day svg.timeline').screenshot()
      const pixels = await countColours(browser, png, colours, 12)
      expect(pixels.distinct, `${scheme}: the chart is not blank`).toBeGreaterThan(4)
      expect(pixels.matches.ok, scheme).toBeGreaterThan(pixels.total * 0.01)
      expect(pixels.matches.failed, scheme).toBeGreaterThan(pixels.total * 0.005)
      // Bars are equally wide: 9 successes against 3 failures in area.
      const ratio = pixels.matches.ok! / pixels.matches.failed!
      expect(ratio, scheme).toBeGreaterThan(2.5)
      expect(ratio, scheme).toBeLessThan(3.5)
    }
    await page.close()
  })

  it('reads in dark mode', async () => {
    const { page } = await openDocument(browser, connectorsHtml)
    const luminance = () =>
      page.evaluate(() => {
        const channels = (value: string) => (value.match(/\d+/g) ?? []).slice(0, 3).map(Number)
        const light = (value: string) => channels(value).reduce((sum, c) => sum + c, 0) / (3 * 255)
        const body = getComputedStyle(document.body)
        return { background: light(body.backgroundColor), text: light(body.color) }
      })
    await page.emulateMedia({ colorScheme: 'light' })
    const light = await luminance()
    expect(light.background).toBeGreaterThan(0.9)
    expect(light.text).toBeLessThan(0.2)
    await page.emulateMedia({ colorScheme: 'dark' })
    const dark = await luminance()
    expect(dark.background).toBeLessThan(0.15)
    expect(dark.text).toBeGreaterThan(0.8)
    await page.close()
  })

  it('prints: light colours even in dark mode, nothing scrolled away, a PDF with the content', async () => {
    const { page } = await openDocument(browser, connectorsHtml)
    // The printable width of an A4 page with the page's 14 mm margins, in CSS pixels.
    await page.setViewportSize({ width: 688, height: 1000 })
    await page.emulateMedia({ media: 'print', colorScheme: 'dark' })
    const printed = await page.evaluate(() => {
      const table = document.querySelector('#connectors table')!
      return {
        background: getComputedStyle(document.body).backgroundColor,
        overflow: getComputedStyle(table.parentElement!).overflowX,
        tableOverflow: table.scrollWidth - table.parentElement!.clientWidth,
      }
    })
    expect(printed.background).toBe('rgb(255, 255, 255)')
    expect(printed.overflow).toBe('visible')
    expect(printed.tableOverflow).toBeLessThanOrEqual(0)
    const pdf = await page.pdf({ format: 'A4', preferCSSPageSize: true, printBackground: true })
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-')
    expect(pdf.length).toBeGreaterThan(20_000)
    await page.close()
  })
})
