import { Flags } from '@oclif/core'
import { writeFile } from '../common/files.js'
import type { Dashboard } from '../metadata/dashboard.js'
import type { DeliveryTimeline } from '../metadata/dashboard-timeline.js'
import type { DeliveryRow, RowFilter } from '../metadata/history.js'
import type { HistoryPage } from '../metadata/metadata-store.js'
import type { StoreFlags } from '../metadata/store.js'
import { CavraCommand } from './base-command.js'
import { colourFor, emitWorkflowCommand, noColour, table } from './output.js'
import { metadataStoreFlags, pagingFlags, sinceFlag, successFlag } from './store-flags.js'

/**
 * What the history and dashboard commands share: they read the store (a missing file is an
 * empty store, a damaged one exit 5), never write to it, and print a table, markdown or JSON.
 */

export const historyFlags = {
  ...metadataStoreFlags,
  provider: Flags.string({ char: 'p', helpValue: 'NAME', description: 'Connector name or provider kind.' }),
  success: successFlag,
  since: sinceFlag,
  ...pagingFlags,
}

export const dashboardFlags = {
  ...metadataStoreFlags,
  since: sinceFlag,
  format: Flags.string({
    options: ['text', 'json', 'markdown', 'html'],
    default: 'text',
    description:
      'text tables, JSON, markdown (also appended to $GITHUB_STEP_SUMMARY when set), or a self-contained HTML page that opens offline.',
  }),
  output: Flags.string({
    char: 'o',
    helpValue: 'FILE',
    description: 'Write the dashboard to FILE instead of stdout.',
  }),
}

export abstract class StoreReaderCommand extends CavraCommand {
  /** One page of the history of the given store kinds, newest first, and the count of every matching row. */
  protected async readHistory(
    flags: StoreFlags,
    kinds: readonly string[],
    filter: RowFilter,
    paging: { limit: number; offset: number },
  ): Promise<HistoryPage> {
    const store = await this.openStore(flags)
    try {
      const { readHistory } = await import('../metadata/store-readers.js')
      return await readHistory(store, kinds, filter, paging)
    } finally {
      await store.close()
    }
  }

  /** The dashboard of the given store kinds, and its deliveries per day when `withTimeline` (the HTML page). */
  protected async readDashboard(
    flags: StoreFlags,
    kinds: readonly string[],
    options: import('../metadata/dashboard.js').DashboardOptions,
    withTimeline: boolean,
  ): Promise<{ dashboard: Dashboard; timeline: DeliveryTimeline | null }> {
    const store = await this.openStore(flags)
    try {
      const { readDashboard, readTimeline } = await import('../metadata/store-readers.js')
      const dashboard = await readDashboard(store, kinds, options)
      return { dashboard, timeline: withTimeline ? await readTimeline(store, kinds, dashboard) : null }
    } finally {
      await store.close()
    }
  }

  protected async since(value: string | undefined): Promise<Date | undefined> {
    if (value === undefined) return undefined
    const { parseSince } = await import('../metadata/history.js')
    return parseSince(value)
  }

  /** One page of rows, as the history JSON document and as a table for people. */
  protected printHistory<R extends DeliveryRow>(
    schema: string,
    history: HistoryPage,
    flags: { limit: number; offset: number },
    itemOf: (row: R) => Record<string, unknown>,
    filter: RowFilter,
  ): Record<string, unknown> {
    const page = history.rows as R[]
    const document: Record<string, unknown> = {
      schema_version: schema,
      product: 'CAVRA',
      items: page.map(itemOf),
      total: history.total,
      limit: flags.limit,
      offset: flags.offset,
    }
    if (this.jsonEnabled()) return document
    const colour = colourFor(process.stdout)
    if (history.total === 0) {
      process.stdout.write(`No deliveries match${describeFilter(filter)}.\n`)
      return document
    }
    const lines = table([
      ['TIME', 'CONNECTOR', 'KIND', 'EVENT', 'RESULT', 'ATTEMPTS', 'DURATION', 'REFERENCE / ERROR'].map((h) =>
        colour.dim(h),
      ),
      ...page.map((row) => [
        row.created_at,
        row.provider,
        row.provider_type,
        `${row.event_id} (${row.event_type})`,
        row.success
          ? colour.green('ok')
          : colour.red(`FAILED${row.status_code ? ` ${row.status_code}` : ''}`),
        String(row.attempt_count),
        row.duration_ms === null ? '-' : `${row.duration_ms} ms`,
        (row.success ? row.remote_reference : row.error) ?? '-',
      ]),
    ])
    const last = Math.min(flags.offset + flags.limit, history.total)
    process.stdout.write(
      `${lines}\n${colour.dim(`Rows ${flags.offset + 1}-${last} of ${history.total}, newest first${describeFilter(filter)}.`)}\n`,
    )
    return document
  }

  /**
   * Prints or writes the dashboard; markdown also goes to the GitHub step summary, alerts become
   * annotations. `timeline` holds the HTML page's deliveries per day.
   */
  protected async emitDashboard(
    dashboard: Dashboard,
    timeline: DeliveryTimeline | null,
    title: string,
    flags: { format: string; output?: string },
  ): Promise<Dashboard | undefined> {
    const [{ githubAnnotations, renderDashboardMarkdown }, { appendStepFile, stepFilesFrom }] =
      await Promise.all([import('./dashboard-render.js'), import('./github-step.js')])
    const json = this.jsonEnabled() || flags.format === 'json'
    const { summary } = stepFilesFrom(process.env)
    // Each form is built only when it is written: a shared store can hold tens of thousands of
    // open alerts, and every form of them costs time and memory.
    const markdown =
      summary || (!json && flags.format === 'markdown') ? renderDashboardMarkdown(dashboard, title) : ''
    // Under --json without --output the document is printed by logJson, from the returned object.
    const printedByOclif = this.jsonEnabled() && !flags.output
    const text = printedByOclif ? '' : await dashboardText(dashboard, title, timeline, flags, json, markdown)
    if (summary) await appendStepFile(summary, `${markdown}\n`, 'the dashboard was built')
    if (process.env.GITHUB_ACTIONS === 'true') {
      // The runner reads workflow commands from both streams; stdout stays one JSON document
      // under --json, and one HTML document when the page is printed there.
      const documentOnStdout = !flags.output && (json || flags.format === 'html')
      const stream = this.jsonEnabled() || documentOnStdout ? process.stderr : process.stdout
      for (const line of githubAnnotations(dashboard.alerts, title)) emitWorkflowCommand(stream, line)
    }
    if (flags.output) {
      await writeFile(flags.output, text)
      if (!this.jsonEnabled())
        process.stdout.write(`Wrote ${flags.output} (alert level ${dashboard.alert_level}).\n`)
      return this.jsonEnabled() ? dashboard : undefined
    }
    if (this.jsonEnabled()) return dashboard
    process.stdout.write(text)
    return undefined
  }
}

/** The dashboard in the format asked for, as written to a file or stdout. */
async function dashboardText(
  dashboard: Dashboard,
  title: string,
  timeline: DeliveryTimeline | null,
  flags: { format: string; output?: string },
  json: boolean,
  markdown: string,
): Promise<string> {
  if (json) return `${JSON.stringify(dashboard, null, 2)}\n`
  if (flags.format === 'markdown') return markdown
  if (flags.format === 'html') {
    if (!timeline) throw new Error('the HTML dashboard needs its deliveries per day')
    const { renderDashboardHtml } = await import('../metadata/dashboard-html.js')
    return renderDashboardHtml(dashboard, title, timeline)
  }
  const { renderDashboardText } = await import('./dashboard-render.js')
  return `${renderDashboardText(dashboard, title, flags.output ? noColour : colourFor(process.stdout))}\n`
}

function describeFilter(filter: RowFilter): string {
  const parts = Object.entries(filter)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${value instanceof Date ? value.toISOString() : String(value)}`)
  return parts.length > 0 ? ` (${parts.join(', ')})` : ''
}

// The history items are shared with the HTTP API, which reads the same documents.
export { historyItem, publicationItem } from '../metadata/history.js'
