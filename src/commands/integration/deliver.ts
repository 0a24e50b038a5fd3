import { Args } from '@oclif/core'
import { DeliveryCommand } from '../../cli/delivery-command.js'
import { deliveryFlags } from '../../cli/delivery-flags.js'
import { metadataJsonFlag, metadataUrlFlag } from '../../cli/store-flags.js'
import { EXIT_CODE_HELP } from '../../common/exit-codes.js'

export default class IntegrationDeliver extends DeliveryCommand {
  static override summary = 'Deliver governance events to SIEM, chat, ITSM and webhook connectors.'
  static override description =
    `Reads FILE (an event object, a JSON array of events, or JSON Lines; - for standard input), validates every event, then delivers each to the selected connectors concurrently, with retries, and writes one redacted evidence file per event.

Exit codes:
${EXIT_CODE_HELP}`
  static override examples = [
    '<%= config.bin %> integration deliver evidence/siem-event.json',
    '<%= config.bin %> integration deliver siem-event.json --provider splunk,webhook --retries 4',
    'cat events.jsonl | <%= config.bin %> integration deliver - --json',
    '<%= config.bin %> integration deliver siem-event.json --dry-run',
    '<%= config.bin %> integration deliver siem-event.json --metadata-json .cavra/evidence/metadata.json',
    '<%= config.bin %> integration deliver siem-event.json --metadata-url "$CAVRA_METADATA_URL"',
  ]
  static override args = {
    file: Args.string({
      required: true,
      description: 'Event file (JSON, JSON array or JSON Lines), or - for stdin.',
    }),
  }
  static override flags = {
    ...deliveryFlags,
    'metadata-json': {
      ...metadataJsonFlag,
      description: 'Also index each delivery in this metadata store (as integration-connector-delivery).',
    },
    'metadata-url': {
      ...metadataUrlFlag,
      description:
        'Also index each delivery in the metadata store in this PostgreSQL database (as integration-connector-delivery).',
    },
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(IntegrationDeliver)
    const [{ integrationEvents }, { storeIndex }, { DELIVERY_KINDS }] = await Promise.all([
      import('../../flow/sources.js'),
      import('../../metadata/evidence-index.js'),
      import('../../flow/delivery-kinds.js'),
    ])
    const { metadataKind, source } = DELIVERY_KINDS.integration
    // An integration delivery is indexed only when a store is named on the command line.
    const indexed = flags['metadata-json'] !== undefined || flags['metadata-url'] !== undefined
    await this.deliver(flags, {
      kind: 'integration',
      index: indexed ? storeIndex(await this.openStore(flags), metadataKind, source) : null,
      loadEvents: () => integrationEvents(args.file),
    })
  }
}
