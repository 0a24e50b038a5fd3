import type { ChalkInstance } from 'chalk'
import type { Alert, Dashboard } from '../metadata/dashboard.js'
import { percent } from '../metadata/dashboard-markdown.js'
import { workflowCommand } from './github-actions.js'
import { table } from './output.js'

/** Renders a dashboard as aligned text and as annotations; the markdown is shared with the HTTP API. */

export { renderDashboardMarkdown } from '../metadata/dashboard-markdown.js'

export function renderDashboardText(dashboard: Dashboard, title: string, colour: ChalkInstance): string {
  const level = levelColour(dashboard.alert_level, colour)
  const lines = [
    `${colour.bold(title)}  alert level: ${level(dashboard.alert_level.toUpperCase())}`,
    `Window: ${dashboard.since ? `since ${dashboard.since}` : 'all history'}   Generated: ${dashboard.generated_at}`,
    `Deliveries: ${dashboard.total_deliveries} (${dashboard.successful_deliveries} ok, ${dashboard.failed_deliveries} failed, ${percent(dashboard.success_rate)})   Records: ${dashboard.total_events}`,
    '',
  ]
  if (dashboard.providers.length > 0) {
    lines.push(
      table([
        [
          'CONNECTOR',
          'KIND',
          'STATE',
          'TOTAL',
          'OK',
          'FAILED',
          'RATE',
          'ATTEMPTS',
          'P50',
          'P95',
          'LAST SUCCESS',
          'LAST FAILURE',
          'STREAK',
        ].map((h) => colour.dim(h)),
        ...dashboard.providers.map((p) => [
          p.provider,
          p.provider_type,
          stateColour(p.state, colour)(p.state),
          String(p.total),
          String(p.succeeded),
          String(p.failed),
          percent(p.success_rate),
          String(p.attempt_count),
          ms(p.p50_duration_ms),
          ms(p.p95_duration_ms),
          p.last_success_at ?? '-',
          p.last_failure_at ?? '-',
          String(p.failure_streak),
        ]),
      ]),
      '',
    )
  }
  const types = Object.entries(dashboard.event_types)
  if (types.length > 0)
    lines.push(`Event types: ${types.map(([type, count]) => `${type} ${count}`).join(', ')}`, '')
  if (dashboard.latest && dashboard.latest.length > 0) {
    lines.push(
      'Latest publications:',
      table(
        dashboard.latest.map((p) => [
          p.created_at,
          p.export_id ?? '-',
          p.channel ?? '-',
          p.release_version ?? '-',
          p.success ? colour.green('published') : colour.red(`failed: ${p.failed_providers.join(', ')}`),
        ]),
      ),
      '',
    )
  }
  if (dashboard.alerts.length === 0) lines.push(colour.green('No open alerts.'))
  else {
    lines.push(`Open alerts (${dashboard.alerts.length}):`)
    for (const alert of dashboard.alerts) {
      lines.push(
        `  ${levelColour(alert.severity, colour)(alert.severity.toUpperCase().padEnd(8))} ${alert.message}`,
      )
    }
  }
  return lines.join('\n')
}

/**
 * GitHub Actions workflow commands for open alerts (`::error::` for critical, `::warning::`
 * otherwise), escaped as the runner requires.
 */
export function githubAnnotations(alerts: readonly Alert[], title: string): string[] {
  return alerts.map((alert) =>
    workflowCommand(alert.severity === 'critical' ? 'error' : 'warning', { title }, alert.message),
  )
}

function ms(value: number | null): string {
  return value === null ? '-' : `${value} ms`
}

function levelColour(level: string, colour: ChalkInstance): (text: string) => string {
  return level === 'critical' ? colour.red.bold : level === 'warning' ? colour.yellow : colour.green
}

function stateColour(state: string, colour: ChalkInstance): (text: string) => string {
  return state === 'failing' ? colour.red : state === 'degraded' ? colour.yellow : colour.green
}
