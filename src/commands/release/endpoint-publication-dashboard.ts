import { dashboardFlags, StoreReaderCommand } from '../../cli/reader-commands.js'
import { EXIT_CODE_HELP } from '../../common/exit-codes.js'
import type { Dashboard } from '../../metadata/dashboard.js'

export default class EndpointPublicationDashboard extends StoreReaderCommand {
  static override summary =
    'Show Jamf, Intune and Linux-fleet publication health, the latest publications and open alerts.'
  static override description =
    `Per provider: publications, successes, failures, rate, attempts, p50/p95 duration, last success and failure, streak and state; the ten latest publications; an alert naming the export for each provider whose latest publication of it failed, resolved by a later successful publication.

Exit codes:
${EXIT_CODE_HELP}`
  static override examples = [
    '<%= config.bin %> release endpoint-publication-dashboard',
    '<%= config.bin %> release endpoint-publication-dashboard --format markdown --since 30d',
    '<%= config.bin %> release endpoint-publication-dashboard --format html --output publications.html',
  ]
  static override flags = dashboardFlags

  async run(): Promise<Dashboard | undefined> {
    const { flags } = await this.parse(EndpointPublicationDashboard)
    const { PUBLICATION_KIND } = await import('../../metadata/history.js')
    const since = (await this.since(flags.since)) ?? null
    const { dashboard, timeline } = await this.readDashboard(
      flags,
      [PUBLICATION_KIND],
      { kind: 'publication', since },
      flags.format === 'html',
    )
    return this.emitDashboard(dashboard, timeline, 'cavra endpoint publications', flags)
  }
}
