import { dashboardFlags, StoreReaderCommand } from '../../cli/reader-commands.js'
import { EXIT_CODE_HELP } from '../../common/exit-codes.js'
import type { Dashboard } from '../../metadata/dashboard.js'

export default class ConnectorDeliveryDashboard extends StoreReaderCommand {
  static override summary = 'Show per-connector delivery health and open alerts from the metadata store.'
  static override description =
    `Per connector: deliveries, successes, failures, success rate, its own attempts, p50/p95 duration, last success and failure, failure streak and state (healthy, degraded, failing). Alerts stay open for each connector and event whose latest delivery failed, until a later delivery of that event succeeds; rollbacks and streaks of 3 or more are critical.

In GitHub Actions the markdown is appended to $GITHUB_STEP_SUMMARY and open alerts become ::error:: / ::warning:: annotations.

Exit codes:
${EXIT_CODE_HELP}`
  static override examples = [
    '<%= config.bin %> release connector-delivery-dashboard',
    '<%= config.bin %> release connector-delivery-dashboard --since 7d --format markdown',
    '<%= config.bin %> release connector-delivery-dashboard --format json --output dashboard.json',
    '<%= config.bin %> release connector-delivery-dashboard --since 30d --format html --output dashboard.html',
  ]
  static override flags = dashboardFlags

  async run(): Promise<Dashboard | undefined> {
    const { flags } = await this.parse(ConnectorDeliveryDashboard)
    const { CONNECTOR_KINDS } = await import('../../metadata/history.js')
    const since = (await this.since(flags.since)) ?? null
    const { dashboard, timeline } = await this.readDashboard(
      flags,
      CONNECTOR_KINDS,
      { kind: 'connector', since },
      flags.format === 'html',
    )
    return this.emitDashboard(dashboard, timeline, 'cavra connector deliveries', flags)
  }
}
