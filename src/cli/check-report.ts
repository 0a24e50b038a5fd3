import type { CheckReport, CheckStatus } from '../flow/check-connectors.js'
import { colourFor, table } from './output.js'

/** The check as people read it: one row per connector, what was asked, and what to fix. */
export function checkTable(report: CheckReport, stream: NodeJS.WriteStream): string {
  const colour = colourFor(stream)
  const label: Record<CheckStatus, string> = {
    healthy: colour.green('healthy'),
    unhealthy: colour.red('UNHEALTHY'),
    unverified: colour.yellow('unverified'),
  }
  const rows = report.checks.map((check) => [
    label[check.status],
    check.connector,
    check.provider,
    check.status_code === null ? '-' : String(check.status_code),
    `${check.duration_ms} ms`,
    check.detail,
  ])
  const counts = (status: CheckStatus) => report.checks.filter((check) => check.status === status).length
  const summary = `${counts('healthy')} healthy, ${counts('unhealthy')} unhealthy, ${counts('unverified')} unverified (nothing sent to those)`
  return [
    table([
      [
        colour.bold('status'),
        colour.bold('connector'),
        colour.bold('provider'),
        colour.bold('http'),
        colour.bold('time'),
        colour.bold('detail'),
      ],
      ...rows,
    ]),
    '',
    report.healthy ? colour.green(summary) : colour.red(summary),
  ].join('\n')
}
