import { Flags } from '@oclif/core'
import { historyFlags, historyItem, StoreReaderCommand } from '../../cli/reader-commands.js'
import { EXIT_CODE_HELP } from '../../common/exit-codes.js'

export default class ConnectorDeliveryHistory extends StoreReaderCommand {
  static override summary =
    'List connector deliveries from the metadata store, one row per connector, newest first.'
  static override description =
    `Every filter is judged per connector delivery: --provider webhook --no-success lists only failed webhook deliveries, even inside batches where other connectors succeeded. Covers release deliveries and integration deliveries indexed with --metadata-json or --metadata-url. Never writes to the store; a missing store reads as empty.

Exit codes:
${EXIT_CODE_HELP}`
  static override examples = [
    '<%= config.bin %> release connector-delivery-history',
    '<%= config.bin %> release connector-delivery-history --provider webhook --no-success --since 7d',
    '<%= config.bin %> release connector-delivery-history --event-id rre_b83f10c6d2a1 --json',
  ]
  static override flags = {
    ...historyFlags,
    'event-type': Flags.string({
      helpValue: 'TYPE',
      description: 'Exact event type, e.g. cavra.rollout_rollback_execution.',
    }),
    'event-id': Flags.string({ helpValue: 'ID', description: 'Exact event id.' }),
  }

  async run(): Promise<Record<string, unknown>> {
    const { flags } = await this.parse(ConnectorDeliveryHistory)
    const { CONNECTOR_KINDS } = await import('../../metadata/history.js')
    const filter = {
      provider: flags.provider,
      eventType: flags['event-type'],
      eventId: flags['event-id'],
      success: flags.success,
      since: await this.since(flags.since),
    }
    const history = await this.readHistory(flags, CONNECTOR_KINDS, filter, flags)
    return this.printHistory(
      'cavra.release.connector_delivery_history.v1',
      history,
      flags,
      historyItem,
      filter,
    )
  }
}
