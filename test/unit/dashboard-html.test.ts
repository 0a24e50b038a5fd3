import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { StoreItem } from '../../src/metadata/chain.js'
import { buildDashboard, type Dashboard } from '../../src/metadata/dashboard.js'
import { DASHBOARD_HTML_CSP, htmlText, renderDashboardHtml } from '../../src/metadata/dashboard-html.js'
import { deliveryTimeline, MAX_BUCKETS } from '../../src/metadata/dashboard-timeline.js'
import {
  CONNECTOR_KINDS,
  type DeliveryRow,
  deliveryRows,
  publicationRows,
} from '../../src/metadata/history.js'
import {
  connectorItems,
  DAYS,
  HOSTILE,
  LONG_EVENT_ID,
  LONG_PROVIDER,
  publicationItems,
  SINCE,
} from '../support/dashboard-store.js'

/** The HTML renderer and the deliveries per day, without a browser (the browser tests are in e2e). */

const NOW = new Date('2026-11-24T12:00:00.000Z')

function connectorPage(items: StoreItem[] = connectorItems(), since: string | null = SINCE) {
  const rows = deliveryRows(items, CONNECTOR_KINDS)
  const dashboard = buildDashboard(rows, {
    kind: 'connector',
    since: since ? new Date(since) : null,
    now: NOW,
  })
  return {
    rows,
    dashboard,
    html: renderDashboardHtml(dashboard, 'cavra connector deliveries', deliveryTimeline(rows, dashboard)),
  }
}

function publicationPage() {
  const rows = publicationRows(publicationItems())
  const dashboard = buildDashboard(rows, { kind: 'publication', since: null, now: NOW })
  return renderDashboardHtml(dashboard, 'cavra endpoint publications', deliveryTimeline(rows, dashboard))
}

describe('the HTML dashboard document', () => {
  it('is one HTML5 document whose policy forbids every load and allows only its own stylesheet', () => {
    const { html } = connectorPage()
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true)
    expect(html.trimEnd().endsWith('</html>')).toBe(true)
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)
    expect(meta).not.toBeNull()
    const policy = meta![1]!.replace(/&#39;/g, "'")
    expect(policy).toBe(DASHBOARD_HTML_CSP)
    expect(policy.startsWith("default-src 'none';")).toBe(true)
    // The stylesheet's hash is the one the policy names: change a byte and the page loses its style.
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)]
    expect(styles).toHaveLength(1)
    const hash = createHash('sha256').update(styles[0]![1]!, 'utf8').digest('base64')
    expect(policy).toContain(`style-src 'sha256-${hash}'`)
    expect(policy).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/)
  })

  it('holds nothing that loads or runs: no script, link, image, frame, src, href or url()', () => {
    for (const html of [connectorPage().html, publicationPage()]) {
      expect(html).not.toMatch(/<(script|img|iframe|object|embed|link|a|base|form|image|use)\b/i)
      // Escaped text holds no `<`, so every `<…>` is one of the page's own tags.
      for (const [tag] of html.matchAll(/<[a-z][^>]*>/gi))
        expect(tag).not.toMatch(/\s(src|href|xlink:href|srcset|action|style|on[a-z]+)\s*=/i)
      expect(html).not.toMatch(/url\(|@import/i)
    }
  })

  it('escapes every text from the store and strips control and bidirectional characters', () => {
    const html = `${connectorPage().html}${publicationPage()}`
    for (const hostile of Object.values(HOSTILE)) {
      expect(html).toContain(htmlText(hostile))
      expect(html).not.toContain(hostile.replace(/[\u202a-\u202e]/g, ''))
    }
    expect(html).toContain('hook&lt;script&gt;window.__owned=1&lt;/script&gt;')
    expect(html).toContain('stable&quot;&gt;&lt;script src=&quot;https://evil.example/x.js&quot;&gt;')
    expect(html).not.toMatch(
      /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/,
    )
    // The only style element is the page's own; a stored `</style>` cannot close it.
    expect(html.match(/<\/style>/g)).toHaveLength(2)
  })

  it('escapes the five characters that end a text or an attribute, and folds line breaks', () => {
    expect(htmlText(`a&b<c>d"e'f`)).toBe('a&amp;b&lt;c&gt;d&quot;e&#39;f')
    expect(htmlText('one\r\n\n  two\u001b[31m\u202e')).toBe('one two')
  })

  it('shows ids and names in full', () => {
    const { html } = connectorPage()
    expect(html).toContain(LONG_PROVIDER)
    expect(html).toContain(LONG_EVENT_ID)
    expect(html).not.toMatch(/…|\.\.\.\s*</)
  })

  it('shows the alert level and the open alerts before the connector table and the charts', () => {
    const { html, dashboard } = connectorPage()
    expect(dashboard.alert_level).toBe('critical')
    expect(html).toContain('<title>cavra connector deliveries: critical</title>')
    const order = [
      'id="alert-level"',
      'id="summary"',
      'id="alerts"',
      'id="connectors"',
      'id="success-rates"',
      'id="deliveries-per-day"',
      'id="event-types"',
    ]
    const positions = order.map((marker) => html.indexOf(marker))
    expect(positions.every((position) => position > 0)).toBe(true)
    expect([...positions].sort((a, b) => a - b)).toEqual(positions)
    expect(html).toContain(`Open alerts (${dashboard.alerts.length})`)
    for (const alert of dashboard.alerts) expect(html).toContain(htmlText(alert.message))
  })

  it('draws one success-rate bar per connector, as wide as its share of successes', () => {
    const { html, dashboard } = connectorPage()
    const bars = [...html.matchAll(/<li><span class="name">([^<]*)<\/span><svg class="rate"[\s\S]*?<\/svg>/g)]
    expect(bars.map((bar) => bar[1])).toEqual(dashboard.providers.map((p) => htmlText(p.provider)))
    for (const [index, bar] of bars.entries()) {
      const p = dashboard.providers[index]!
      const ok = /<rect class="ok" x="0" y="0" width="([\d.]+)"/.exec(bar[0])
      expect(Number(ok?.[1] ?? 0)).toBeCloseTo((p.succeeded / p.total) * 100, 1)
    }
  })

  it('draws deliveries per day as stacked bars whose heights follow the counts', () => {
    const { html } = connectorPage()
    const groups = [...html.matchAll(/<g class="bucket" data-start="([^"]+)"[^>]*>([\s\S]*?)<\/g>/g)]
    const height = (start: string, kind: 'ok' | 'failed') => {
      const group = groups.find((g) => g[1] === start)
      const rect = group && new RegExp(`<rect class="${kind}"[^>]* height="([\\d.]+)"`).exec(group[2]!)
      return rect ? Number(rect[1]) : 0
    }
    const unit = height('2026-11-20', 'ok') / 3
    expect(unit).toBeGreaterThan(0)
    for (const day of DAYS) {
      expect(height(day.day, 'ok')).toBeCloseTo(day.succeeded * unit, 1)
      expect(height(day.day, 'failed')).toBeCloseTo(day.failed * unit, 1)
    }
    expect(html).toContain('Deliveries per day, 2026-11-20 to 2026-11-24 (UTC)')
  })

  it('lists the latest publications with their exports in the publication dashboard', () => {
    const html = publicationPage()
    expect(html).toContain('id="latest"')
    expect(html).toContain(htmlText(HOSTILE.exportId))
    expect(html).toContain('<td class="result-failed">failed: jamf</td>')
  })

  it('says so when there is nothing to draw', () => {
    const { html } = connectorPage([], null)
    expect(html).toContain('No deliveries in the window.')
    expect(html).toContain('No connector delivery has been recorded')
    expect(html).not.toContain('<svg')
  })
})

describe('deliveries per day', () => {
  const window = (
    since: string | null,
    generated = NOW.toISOString(),
  ): Pick<Dashboard, 'since' | 'generated_at'> => ({
    since,
    generated_at: generated,
  })
  const row = (createdAt: string, success: boolean) => ({ created_at: createdAt, success }) as DeliveryRow

  it('counts ok and failed per UTC day from the window start to the day it was generated', () => {
    const rows = deliveryRows(connectorItems(), CONNECTOR_KINDS)
    const timeline = deliveryTimeline(rows, window(SINCE))
    expect(timeline.bucket_days).toBe(1)
    expect(timeline.buckets.map((b) => b.start)).toEqual([
      '2026-11-20',
      '2026-11-21',
      '2026-11-22',
      '2026-11-23',
      '2026-11-24',
    ])
    for (const day of DAYS)
      expect(timeline.buckets.find((b) => b.start === day.day)).toEqual({
        start: day.day,
        succeeded: day.succeeded,
        failed: day.failed,
      })
  })

  it('starts at the oldest delivery without a window, and leaves out rows before the window', () => {
    const rows = [
      row('2026-11-23T23:59:59Z', false),
      row('2026-11-22T00:00:00Z', true),
      row('2026-11-01T12:00:00Z', true),
    ]
    expect(deliveryTimeline(rows, window(null)).buckets[0]).toEqual({
      start: '2026-11-01',
      succeeded: 1,
      failed: 0,
    })
    const windowed = deliveryTimeline(rows, window('2026-11-22T00:00:00Z'))
    expect(windowed.buckets.map((b) => [b.start, b.succeeded, b.failed])).toEqual([
      ['2026-11-22', 1, 0],
      ['2026-11-23', 0, 1],
      ['2026-11-24', 0, 0],
    ])
  })

  it(`groups a long window into buckets of whole days, at most ${MAX_BUCKETS} bars, losing no delivery`, () => {
    const rows = Array.from({ length: 400 }, (_, i) =>
      row(new Date(Date.UTC(2025, 10, 1) + i * 86_400_000).toISOString(), i % 4 !== 0),
    )
    const timeline = deliveryTimeline(rows, window(null, '2026-12-05T00:00:00Z'))
    expect(timeline.bucket_days).toBeGreaterThan(1)
    expect(timeline.buckets.length).toBeLessThanOrEqual(MAX_BUCKETS)
    const total = timeline.buckets.reduce((sum, b) => sum + b.succeeded + b.failed, 0)
    expect(total).toBe(400)
    expect(timeline.buckets.reduce((sum, b) => sum + b.failed, 0)).toBe(100)
    const html = renderDashboardHtml(
      buildDashboard([], { kind: 'connector', since: null, now: NOW }),
      'cavra connector deliveries',
      timeline,
    )
    expect(html).toContain(`Deliveries per ${timeline.bucket_days} days`)
  })

  it('is empty for an empty store without a window, and skips rows without a readable time', () => {
    expect(deliveryTimeline([], window(null)).buckets).toEqual([])
    const timeline = deliveryTimeline(
      [row('not a time', false), row('2026-11-24T01:00:00Z', true)],
      window(null),
    )
    expect(timeline.buckets).toEqual([{ start: '2026-11-24', succeeded: 1, failed: 0 }])
  })
})
