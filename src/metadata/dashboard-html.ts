import { createHash } from 'node:crypto'
import { stripControl } from '../common/text.js'
import type { Alert, Dashboard, ProviderHealth, PublicationSummary } from './dashboard.js'
import { percent } from './dashboard-markdown.js'
import type { DeliveryTimeline } from './dashboard-timeline.js'

/**
 * A dashboard as one self-contained HTML5 document, for an auditor to open on a laptop with no
 * network: what the dashboard commands write with `--format html` and what the HTTP API answers
 * with `?format=html`. It is drawn from the same `Dashboard` as the JSON and markdown formats,
 * plus the deliveries per day.
 *
 * Nothing in it loads anything: the stylesheet and the SVG charts are inline, there is no
 * script, no link and no image, and the Content-Security-Policy starts with `default-src 'none'`
 * and lets only this stylesheet apply (by its hash), so even markup that slipped through could
 * neither run nor fetch. Every text that came from the store (which holds what artifacts and
 * servers said) is stripped of control characters and entity-escaped; ids and names are shown in
 * full and wrap instead of being cut.
 */

const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #ffffff; --fg: #1b1f24; --muted: #57606a; --border: #d0d7de; --panel: #f6f8fa;
  --ok: #1a7f37; --failed: #cf222e; --warning: #9a6700; --track: #e6e9ed;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --border: #30363d; --panel: #161b22;
    --ok: #3fb950; --failed: #f85149; --warning: #d29922; --track: #262c36;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0 auto; max-width: 72rem; padding: 1.5rem; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
}
h1 { font-size: 1.6em; margin: 0 0 .25rem; }
h2 { font-size: 1.15em; margin: 0 0 .75rem; }
section, figure { margin: 0 0 1.75rem; }
.meta, .note, footer { color: var(--muted); font-size: .875em; }
.level { display: inline-block; margin: .25rem 0; padding: .2rem .7rem; border-radius: 1rem; font-weight: 600; }
.level-healthy { background: var(--ok); color: #fff; }
.level-warning { background: var(--warning); color: #fff; }
.level-critical { background: var(--failed); color: #fff; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .75rem; margin: 0; }
.figures div { background: var(--panel); border: 1px solid var(--border); border-radius: .5rem; padding: .6rem .8rem; }
.figures dt { color: var(--muted); font-size: .8em; }
.figures dd { margin: 0; font-size: 1.35em; font-weight: 600; font-variant-numeric: tabular-nums; }
.alerts { list-style: none; margin: 0; padding: 0; }
.alert { border: 1px solid var(--border); border-left: .35rem solid var(--warning); border-radius: .4rem; padding: .5rem .8rem; margin-bottom: .5rem; background: var(--panel); }
.alert-critical { border-left-color: var(--failed); }
.severity { font-weight: 700; text-transform: uppercase; font-size: .8em; margin-right: .4rem; }
.alert-critical .severity { color: var(--failed); }
.alert-warning .severity { color: var(--warning); }
.alert p { margin: .2rem 0; }
.facts { display: flex; flex-wrap: wrap; gap: .15rem 1.25rem; margin: .25rem 0 0; font-size: .85em; }
.facts div { display: flex; gap: .35rem; min-width: 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
p, dd, .name { overflow-wrap: anywhere; }
td, th { overflow-wrap: break-word; }
td.id, th.id { overflow-wrap: anywhere; min-width: 7em; }
td.kind { overflow-wrap: anywhere; min-width: 4em; }
td.state { white-space: nowrap; }
td.time { overflow-wrap: anywhere; min-width: 5.5em; }
.scroll { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: .875em; }
th, td { padding: .35rem .4rem; border-bottom: 1px solid var(--border); text-align: left; vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
td.durations { text-align: right; font-variant-numeric: tabular-nums; }
.state-healthy, .result-ok { color: var(--ok); font-weight: 600; }
.state-degraded { color: var(--warning); font-weight: 600; }
.state-failing, .result-failed { color: var(--failed); font-weight: 600; }
.rates { list-style: none; margin: 0; padding: 0; }
.rates li { display: grid; grid-template-columns: minmax(8rem, 16rem) 1fr 4.5rem; gap: .75rem; align-items: center; padding: .25rem 0; }
.rates .value { text-align: right; font-variant-numeric: tabular-nums; }
svg.rate { display: block; width: 100%; height: 14px; }
svg.timeline { display: block; width: 100%; height: auto; }
svg .ok { fill: var(--ok); }
svg .failed { fill: var(--failed); }
svg .track { fill: var(--track); }
svg .axis { stroke: var(--border); stroke-width: 1; }
svg text { fill: var(--muted); font-size: 11px; font-family: inherit; }
.legend { display: flex; gap: 1rem; font-size: .85em; color: var(--muted); margin: .4rem 0 0; }
.key { display: inline-block; width: .8rem; height: .8rem; border-radius: .15rem; margin-right: .3rem; vertical-align: -.1rem; }
.key-ok { background: var(--ok); }
.key-failed { background: var(--failed); }
figcaption { font-weight: 600; margin-bottom: .5rem; }
@media print {
  :root {
    --bg: #ffffff; --fg: #000000; --muted: #444c56; --border: #b6bec7; --panel: #ffffff;
    --ok: #1a7f37; --failed: #cf222e; --warning: #9a6700; --track: #e6e9ed;
  }
  @page { margin: 14mm; }
  body { max-width: none; padding: 0; font-size: 8.5pt; }
  th, td { padding: .25rem .3rem; }
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  .scroll { overflow: visible; }
  section, figure, .alert, tr { break-inside: avoid; }
  thead { display: table-header-group; }
}
`

/**
 * The page's Content-Security-Policy: nothing may load, connect, run or submit; the only style
 * allowed is the page's own stylesheet, named by its hash. `frame-ancestors` is left out because
 * browsers ignore it in a meta element; the HTTP API sends the same policy as a header.
 */
export const DASHBOARD_HTML_CSP = `default-src 'none'; style-src '${cspHash(STYLE)}'; base-uri 'none'; form-action 'none'`

export function renderDashboardHtml(dashboard: Dashboard, title: string, timeline: DeliveryTimeline): string {
  const level = dashboard.alert_level
  const body = [
    '<header>',
    `<h1>${text(title)}</h1>`,
    `<p class="level level-${text(level)}" id="alert-level">Alert level: ${text(level)}</p>`,
    `<p class="meta">Window: ${dashboard.since ? `since ${text(dashboard.since)}` : 'all history'} · Generated ${text(dashboard.generated_at)}</p>`,
    '</header>',
    '<main>',
    summary(dashboard),
    alerts(dashboard.alerts),
    connectors(dashboard.providers),
    dashboard.latest ? latestPublications(dashboard.latest) : '',
    successRates(dashboard.providers),
    deliveriesOverTime(timeline),
    eventTypes(dashboard.event_types),
    '</main>',
    `<footer>${text(dashboard.product)} · ${text(dashboard.schema_version)}</footer>`,
  ]
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${text(DASHBOARD_HTML_CSP)}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    `<title>${text(title)}: ${text(level)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    ...body.filter((part) => part !== ''),
    '</body>',
    '</html>',
    '',
  ].join('\n')
}

function summary(dashboard: Dashboard): string {
  const figure = (label: string, value: string, id: string) =>
    `<div id="${id}"><dt>${label}</dt><dd>${value}</dd></div>`
  return [
    '<section id="summary" aria-labelledby="summary-title">',
    '<h2 id="summary-title">Summary</h2>',
    '<dl class="figures">',
    figure('Deliveries', String(dashboard.total_deliveries), 'total-deliveries'),
    figure('Succeeded', String(dashboard.successful_deliveries), 'successful-deliveries'),
    figure('Failed', String(dashboard.failed_deliveries), 'failed-deliveries'),
    figure('Success rate', percent(dashboard.success_rate), 'success-rate'),
    figure('Records', String(dashboard.total_events), 'total-events'),
    '</dl>',
    '</section>',
  ].join('\n')
}

function alerts(list: readonly Alert[]): string {
  const out = [
    '<section id="alerts" aria-labelledby="alerts-title">',
    `<h2 id="alerts-title">Open alerts (${list.length})</h2>`,
  ]
  if (list.length === 0) out.push('<p class="none">No open alerts.</p>')
  else {
    out.push('<ol class="alerts">')
    for (const alert of list) {
      const facts: [string, string | null | undefined][] = [
        ['Connector', alert.provider],
        ['Event', alert.event_id],
        ['Type', alert.event_type],
        ['Export', alert.export_id],
        ['Last failure', alert.last_failure_at],
        ['Failures in a row', alert.failure_streak > 0 ? String(alert.failure_streak) : null],
      ]
      out.push(
        `<li class="alert alert-${text(alert.severity)}">`,
        `<p><span class="severity">${text(alert.severity)}</span>${text(alert.message)}</p>`,
        `<dl class="facts">${facts
          .filter((fact): fact is [string, string] => typeof fact[1] === 'string')
          .map(([label, value]) => `<div><dt>${label}</dt><dd>${text(value)}</dd></div>`)
          .join('')}</dl>`,
        '</li>',
      )
    }
    out.push('</ol>')
  }
  out.push('</section>')
  return out.join('\n')
}

function connectors(providers: readonly ProviderHealth[]): string {
  if (providers.length === 0) return ''
  const headings = ['Connector', 'Kind', 'State', 'Total', 'OK', 'Failed', 'Rate', 'Attempts', 'p50 / p95']
  const numeric = new Set(['Total', 'OK', 'Failed', 'Rate', 'Attempts', 'p50 / p95', 'Streak'])
  const head = [...headings, 'Last success', 'Last failure', 'Streak']
    .map((h) => `<th scope="col"${numeric.has(h) ? ' class="num"' : ''}>${h}</th>`)
    .join('')
  const rows = providers.map((p) =>
    [
      '<tr>',
      `<th scope="row" class="id">${text(p.provider)}</th>`,
      `<td class="kind">${text(p.provider_type)}</td>`,
      `<td class="state state-${text(p.state)}">${text(p.state)}</td>`,
      num(String(p.total)),
      num(String(p.succeeded)),
      num(String(p.failed)),
      num(percent(p.success_rate)),
      num(String(p.attempt_count)),
      `<td class="durations">${durations(p)}</td>`,
      `<td class="time">${time(p.last_success_at)}</td>`,
      `<td class="time">${time(p.last_failure_at)}</td>`,
      num(String(p.failure_streak)),
      '</tr>',
    ].join(''),
  )
  return [
    '<section id="connectors" aria-labelledby="connectors-title">',
    '<h2 id="connectors-title">Connectors</h2>',
    '<div class="scroll"><table>',
    `<thead><tr>${head}</tr></thead>`,
    '<tbody>',
    ...rows,
    '</tbody>',
    '</table></div>',
    '</section>',
  ].join('\n')
}

/** One bar per connector: its successes from the left, its failures after them, on a 0–100 scale. */
function successRates(providers: readonly ProviderHealth[]): string {
  if (providers.length === 0) return ''
  const items = providers.map((p) => {
    const okWidth = p.total === 0 ? 0 : (p.succeeded / p.total) * 100
    const label = `${p.provider}: ${percent(p.success_rate)} of ${p.total} deliveries succeeded`
    return [
      '<li>',
      `<span class="name">${text(p.provider)}</span>`,
      `<svg class="rate" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="${text(label)}">`,
      `<title>${text(label)}</title>`,
      '<rect class="track" x="0" y="0" width="100" height="10"/>',
      okWidth > 0 ? `<rect class="ok" x="0" y="0" width="${fixed(okWidth)}" height="10"/>` : '',
      okWidth < 100 && p.failed > 0
        ? `<rect class="failed" x="${fixed(okWidth)}" y="0" width="${fixed(100 - okWidth)}" height="10"/>`
        : '',
      '</svg>',
      `<span class="value">${percent(p.success_rate)}</span>`,
      '</li>',
    ].join('')
  })
  return [
    '<figure id="success-rates">',
    '<figcaption>Success rate per connector</figcaption>',
    '<ul class="rates">',
    ...items,
    '</ul>',
    legend(),
    '</figure>',
  ].join('\n')
}

/** Stacked bars per day (or bucket of days): successes at the bottom, failures above them. */
function deliveriesOverTime(timeline: DeliveryTimeline): string {
  const caption =
    timeline.bucket_days === 1 ? 'Deliveries per day' : `Deliveries per ${timeline.bucket_days} days`
  const { buckets } = timeline
  if (buckets.length === 0) {
    return [
      '<figure id="deliveries-per-day">',
      `<figcaption>${caption}</figcaption>`,
      '<p class="note">No deliveries in the window.</p>',
      '</figure>',
    ].join('\n')
  }
  const width = 720
  const height = 240
  const left = 44
  const right = 8
  const top = 10
  const bottom = 28
  const plotWidth = width - left - right
  const plotHeight = height - top - bottom
  const highest = Math.max(1, ...buckets.map((b) => b.succeeded + b.failed))
  const slot = plotWidth / buckets.length
  const barWidth = Math.min(40, Math.max(1, slot * 0.72))
  const y = (count: number) => top + plotHeight - (count / highest) * plotHeight
  const ticks = [...new Set([0, Math.round(highest / 2), highest])]
  const labelEvery = Math.ceil(buckets.length / 8)
  const parts = [
    `<svg class="timeline" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="deliveries-per-day-caption">`,
    ...ticks.map(
      (tick) =>
        `<line class="axis" x1="${left}" x2="${width - right}" y1="${fixed(y(tick))}" y2="${fixed(y(tick))}"/><text x="${left - 6}" y="${fixed(y(tick) + 4)}" text-anchor="end">${tick}</text>`,
    ),
  ]
  buckets.forEach((bucket, i) => {
    const x = left + i * slot + (slot - barWidth) / 2
    const okTop = y(bucket.succeeded)
    const failedTop = y(bucket.succeeded + bucket.failed)
    parts.push(
      `<g class="bucket" data-start="${text(bucket.start)}" data-succeeded="${bucket.succeeded}" data-failed="${bucket.failed}">`,
      `<title>${text(bucket.start)}: ${bucket.succeeded} ok, ${bucket.failed} failed</title>`,
      bucket.succeeded > 0
        ? `<rect class="ok" x="${fixed(x)}" y="${fixed(okTop)}" width="${fixed(barWidth)}" height="${fixed(top + plotHeight - okTop)}"/>`
        : '',
      bucket.failed > 0
        ? `<rect class="failed" x="${fixed(x)}" y="${fixed(failedTop)}" width="${fixed(barWidth)}" height="${fixed(okTop - failedTop)}"/>`
        : '',
      '</g>',
    )
    if (i % labelEvery === 0)
      parts.push(
        `<text x="${fixed(left + i * slot + slot / 2)}" y="${height - 10}" text-anchor="middle">${text(bucket.start.slice(5))}</text>`,
      )
  })
  parts.push('</svg>')
  const first = buckets[0]!.start
  const last = buckets[buckets.length - 1]!.start
  return [
    '<figure id="deliveries-per-day">',
    `<figcaption id="deliveries-per-day-caption">${caption}, ${text(first)} to ${text(last)} (UTC)</figcaption>`,
    parts.filter((part) => part !== '').join('\n'),
    legend(),
    '</figure>',
  ].join('\n')
}

function legend(): string {
  return '<p class="legend"><span><span class="key key-ok"></span>succeeded</span><span><span class="key key-failed"></span>failed</span></p>'
}

function eventTypes(types: Record<string, number>): string {
  const entries = Object.entries(types)
  if (entries.length === 0) return ''
  return [
    '<section id="event-types" aria-labelledby="event-types-title">',
    '<h2 id="event-types-title">Event types</h2>',
    '<table>',
    '<thead><tr><th scope="col">Event type</th><th scope="col" class="num">Records</th></tr></thead>',
    '<tbody>',
    ...entries.map(([type, count]) => `<tr><td class="id">${text(type)}</td>${num(String(count))}</tr>`),
    '</tbody>',
    '</table>',
    '</section>',
  ].join('\n')
}

function latestPublications(latest: readonly PublicationSummary[]): string {
  if (latest.length === 0) return ''
  return [
    '<section id="latest" aria-labelledby="latest-title">',
    '<h2 id="latest-title">Latest publications</h2>',
    '<div class="scroll"><table>',
    '<thead><tr><th scope="col">Published at</th><th scope="col">Export</th><th scope="col">Channel</th><th scope="col">Release</th><th scope="col">Result</th></tr></thead>',
    '<tbody>',
    ...latest.map((p) =>
      [
        '<tr>',
        `<td class="time">${time(p.created_at)}</td>`,
        `<td class="id">${text(p.export_id ?? '-')}</td>`,
        `<td class="id">${text(p.channel ?? '-')}</td>`,
        `<td>${text(p.release_version ?? '-')}</td>`,
        p.success
          ? '<td class="result-ok">published</td>'
          : `<td class="result-failed">failed: ${text(p.failed_providers.join(', '))}</td>`,
        '</tr>',
      ].join(''),
    ),
    '</tbody>',
    '</table></div>',
    '</section>',
  ].join('\n')
}

/**
 * Outside text as HTML text or attribute value: control and bidirectional characters removed,
 * line breaks folded (a line of the page never starts with outside text), and the five
 * characters that could end a text or an attribute entity-escaped.
 */
export function htmlText(value: string): string {
  return stripControl(value)
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

const text = htmlText

/** An ISO time that may wrap between its date and its time of day, else not at all. */
function time(value: string | null): string {
  if (value === null) return '-'
  return text(value).replace(/^(\d{4}-\d{2}-\d{2})T/, '$1<wbr>T')
}

function num(value: string): string {
  return `<td class="num">${text(value)}</td>`
}

/** `120 / 900 ms`: one column, so that the table fits a page; it may wrap at its spaces. */
function durations(p: ProviderHealth): string {
  if (p.p50_duration_ms === null || p.p95_duration_ms === null) return '-'
  return `${p.p50_duration_ms} / ${p.p95_duration_ms}&nbsp;ms`
}

function fixed(value: number): string {
  return String(Math.round(value * 100) / 100)
}

function cspHash(style: string): string {
  return `sha256-${createHash('sha256').update(style, 'utf8').digest('base64')}`
}
