import { Args } from '@oclif/core'
import { DeliveryCommand } from '../../cli/delivery-command.js'
import { deliveryFlags } from '../../cli/delivery-flags.js'
import { metadataJsonFlag } from '../../cli/store-flags.js'
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
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(IntegrationDeliver)
    await this.deliver(flags, {
      command: 'integration deliver',
      rule: { categories: ['siem', 'chatops', 'itsm', 'webhook'], command: 'integration deliver' },
      defaultOutputDir: '.cavra/integrations/deliveries',
      input: args.file,
      index: flags['metadata-json'] ? await integrationIndex(flags['metadata-json']) : null,
      loadEvents: async (input) => {
        const [{ openArtifact }, { readEventFile, validateEventFile }] = await Promise.all([
          import('../../events/artifact.js'),
          import('../../events/integration-event.js'),
        ])
        const artifact = await openArtifact(input)
        try {
          const summary = await validateEventFile(artifact)
          return {
            events: readEventFile(artifact),
            warnings: summary.warnings,
            single: summary.events === 1,
            dispose: () => artifact.dispose(),
          }
        } catch (error) {
          await artifact.dispose()
          throw error
        }
      },
    })
  }
}

async function integrationIndex(path: string) {
  const { storeIndex } = await import('../../metadata/evidence-index.js')
  return storeIndex(path, 'integration-connector-delivery', 'integration_deliver')
}
