import { Flags } from '@oclif/core'
import { CavraCommand } from '../../cli/base-command.js'
import {
  DEFAULT_DEADLINE_SECONDS,
  DEFAULT_RETRIES,
  DEFAULT_TIMEOUT_SECONDS,
  deliveryFlags,
} from '../../cli/delivery-flags.js'
import type { RedeliveryDocument } from '../../cli/redelivery-output.js'
import { metadataStoreFlags } from '../../cli/store-flags.js'
import { EXIT_CODE_HELP } from '../../common/exit-codes.js'

export default class ReleaseRedeliver extends CavraCommand {
  static override summary =
    'Deliver again each open alert of the store: a connector and event whose latest delivery failed.'
  static override description =
    `Finds the open alerts of both dashboards (release and integration deliveries, endpoint publications) and re-delivers each event to the connectors whose delivery of it failed, and to no other. The event is read again from the artifact the failed delivery recorded, only when the file is still there with the recorded SHA-256; otherwise that alert is refused and nothing is sent for it. The same bytes give the same event identity, so webhook ids, Jira labels and ServiceNow correlation ids repeat and a vendor that already holds the event is not given a second copy. Each event re-delivered writes its evidence and appends one store item whose redelivery_of lists the failed items; a successful one resolves its alerts.

Exit codes:
${EXIT_CODE_HELP}
  With re-delivery: 1 when any re-delivery failed, else 4 when any was refused (artifact missing or changed), else 0 (also when nothing was open).`
  static override examples = [
    '<%= config.bin %> release redeliver',
    '<%= config.bin %> release redeliver --event-id rre_b83f10c6d2a1 --provider jira',
    '<%= config.bin %> release redeliver --dry-run',
    '<%= config.bin %> release redeliver --metadata-json evidence/metadata.json --json',
  ]
  static override flags = {
    'event-id': Flags.string({
      multiple: true,
      helpValue: 'ID',
      description:
        'Only alerts of this event (an endpoint publication also answers to its export id); repeatable.',
    }),
    provider: Flags.string({
      char: 'p',
      multiple: true,
      helpValue: 'NAME',
      description: 'Only alerts of this connector name or provider kind; repeatable and comma-separated.',
    }),
    config: deliveryFlags.config,
    ...metadataStoreFlags,
    retries: deliveryFlags.retries,
    timeout: deliveryFlags.timeout,
    deadline: deliveryFlags.deadline,
    'dry-run': Flags.boolean({
      description:
        'Check the artifacts and build every request, printed redacted; send, write and append nothing.',
    }),
  }

  async run(): Promise<RedeliveryDocument | undefined> {
    const { flags } = await this.parse(ReleaseRedeliver)
    const json = this.jsonEnabled()
    const dryRun = flags['dry-run']
    const [
      { redeliverOpenAlerts },
      output,
      { Deadline },
      { configPathFrom },
      { parseProviderFlags },
      { colourFor },
    ] = await Promise.all([
      import('../../flow/redeliver.js'),
      import('../../cli/redelivery-output.js'),
      import('../../delivery/retry.js'),
      import('../../config/load.js'),
      import('../../config/select.js'),
      import('../../cli/output.js'),
    ])
    const providers = parseProviderFlags(flags.provider).filter((name) => name !== 'all')
    const eventIds = flags['event-id'] ?? []
    const colour = colourFor(process.stdout)
    const warned = new Set<string>()
    const store = await this.openStore(flags)
    const results = await redeliverOpenAlerts(
      {
        store,
        filter: { eventIds, providers },
        configPath: configPathFrom(flags.config, process.env),
        retries: flags.retries ?? DEFAULT_RETRIES,
        timeoutMs: (flags.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
        deadline: new Deadline((flags.deadline ?? DEFAULT_DEADLINE_SECONDS) * 1000),
        dryRun,
        env: process.env,
        redactor: this.redactor,
        // Every event loads the configuration again: say each warning once.
        warn: (message) => {
          if (!warned.has(message)) this.note(message)
          warned.add(message)
        },
      },
      (eventResults, delivered) => {
        if (!json) {
          const text = output.renderEventResults(eventResults, delivered, colour, dryRun)
          process.stdout.write(this.redactor.scrub(text))
        }
      },
    ).finally(() => store.close())
    if (!json) {
      process.stdout.write(
        results.length === 0
          ? output.nothingOpen(eventIds.length > 0 || providers.length > 0)
          : output.summaryLine(results, dryRun),
      )
    }
    process.exitCode = output.redeliveryExitCode(results, dryRun)
    return json ? output.redeliveryDocument(results, dryRun) : undefined
  }
}
