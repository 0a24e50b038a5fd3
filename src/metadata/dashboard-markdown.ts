import { markdownText } from '../common/markdown.js'
import type { Dashboard, ProviderHealth } from './dashboard.js'

/**
 * A dashboard as GitHub-flavoured markdown: what the dashboard commands print with
 * `--format markdown` (and append to the step summary) and what the HTTP API answers with
 * `?format=markdown`. Every text that came from the store is escaped.
 */

export function renderDashboardMarkdown(dashboard: Dashboard, title: string): string {
  const icon = { healthy: '🟢', warning: '🟠', critical: '🔴' }[dashboard.alert_level]
  const out = [
    `## ${title}: ${icon} ${dashboard.alert_level}`,
    '',
    `${dashboard.total_deliveries} deliveries (${dashboard.successful_deliveries} succeeded, ${dashboard.failed_deliveries} failed, ${percent(dashboard.success_rate)}) across ${dashboard.total_events} records; ${dashboard.since ? `since ${dashboard.since}` : 'all history'}.`,
    '',
  ]
  if (dashboard.providers.length > 0) {
    out.push(
      '| Connector | Kind | State | Total | OK | Failed | Rate | Attempts | p50 | p95 | Last success | Last failure | Streak |',
      '|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|--:|',
      ...dashboard.providers.map(
        (p: ProviderHealth) =>
          `| ${cell(p.provider)} | ${cell(p.provider_type)} | ${p.state} | ${p.total} | ${p.succeeded} | ${p.failed} | ${percent(p.success_rate)} | ${p.attempt_count} | ${ms(p.p50_duration_ms)} | ${ms(p.p95_duration_ms)} | ${cell(p.last_success_at ?? '-')} | ${cell(p.last_failure_at ?? '-')} | ${p.failure_streak} |`,
      ),
      '',
    )
  }
  const types = Object.entries(dashboard.event_types)
  if (types.length > 0) {
    out.push(
      '| Event type | Records |',
      '|---|--:|',
      ...types.map(([type, count]) => `| ${cell(type)} | ${count} |`),
      '',
    )
  }
  if (dashboard.latest && dashboard.latest.length > 0) {
    out.push(
      '| Published at | Export | Channel | Release | Result |',
      '|---|---|---|---|---|',
      ...dashboard.latest.map(
        (p) =>
          `| ${cell(p.created_at)} | ${cell(p.export_id ?? '-')} | ${cell(p.channel ?? '-')} | ${cell(p.release_version ?? '-')} | ${p.success ? 'published' : `failed: ${cell(p.failed_providers.join(', '))}`} |`,
      ),
      '',
    )
  }
  if (dashboard.alerts.length === 0) out.push('No open alerts.')
  else {
    out.push('### Open alerts', '')
    for (const alert of dashboard.alerts) out.push(`- **${alert.severity}**: ${cell(alert.message)}`)
  }
  return `${out.join('\n')}\n`
}

function cell(text: string): string {
  return markdownText(text)
}

export function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`
}

function ms(value: number | null): string {
  return value === null ? '-' : `${value} ms`
}
