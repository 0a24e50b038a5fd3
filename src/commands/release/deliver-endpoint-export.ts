import { Args } from '@oclif/core'
import { DeliveryCommand } from '../../cli/delivery-command.js'
import { deliveryFlags } from '../../cli/delivery-flags.js'
import { releaseIndex, releaseStoreFlags } from '../../cli/release-delivery.js'
import { EXIT_CODE_HELP } from '../../common/exit-codes.js'

export default class DeliverEndpointExport extends DeliveryCommand {
  static override summary =
    'Publish an endpoint-management export to Jamf Pro, Microsoft Intune and Linux fleets.'
  static override description =
    `Before anything is sent, every file the selected providers need must sit inside MANIFEST's folder, be listed in checksums.txt and match its SHA-256, and the export's approval (when required and recorded) must be "approved"; otherwise exit 4 and nothing is sent or indexed. Without --provider, publishes to every enabled endpoint connector whose kind is in the manifest's providers; naming a provider the manifest lacks is an error. Publishing again updates the same objects. Each publication is indexed as endpoint-management-publication-delivery (epd-…) with its publication and export ids and artifact hashes.

Exit codes:
${EXIT_CODE_HELP}`
  static override examples = [
    '<%= config.bin %> release deliver-endpoint-export exports/stable/endpoint-management-export-manifest.json',
    '<%= config.bin %> release deliver-endpoint-export endpoint-management-export-manifest.json --provider jamf --json',
  ]
  static override args = {
    manifest: Args.string({
      required: true,
      description: 'endpoint-management-export-manifest.json (its folder holds the export).',
    }),
  }
  static override flags = { ...deliveryFlags, ...releaseStoreFlags }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(DeliverEndpointExport)
    const { endpointExport } = await import('../../flow/sources.js')
    const input = await endpointExport(args.manifest)
    await this.deliver(flags, {
      kind: 'endpoint-export',
      rule: input.rule,
      index: await releaseIndex(
        (storeFlags) => this.openStore(storeFlags),
        flags,
        'endpoint-export',
        (result) => input.indexFields(result.event_id),
      ),
      loadEvents: input.loadEvents,
    })
  }
}
