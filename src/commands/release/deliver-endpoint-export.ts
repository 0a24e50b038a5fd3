import { Args } from '@oclif/core'
import { DeliveryCommand } from '../../cli/delivery-command.js'
import { deliveryFlags } from '../../cli/delivery-flags.js'
import { releaseStoreFlags } from '../../cli/release-delivery.js'
import { InputError } from '../../common/errors.js'
import { EXIT_CODE_HELP } from '../../common/exit-codes.js'
import type { EndpointProvider } from '../../events/endpoint-export.js'

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
    const [{ openArtifact, nameOf }, exportModule, { metadataPathFrom }, { storeIndex }] = await Promise.all([
      import('../../events/artifact.js'),
      import('../../events/endpoint-export.js'),
      import('../../metadata/store.js'),
      import('../../metadata/evidence-index.js'),
    ])
    if (args.manifest === '-') {
      throw new InputError(
        'deliver-endpoint-export needs the manifest file itself: its folder holds the export files.',
      )
    }
    const artifact = await openArtifact(args.manifest)
    const manifest = await exportModule.readExportManifest(artifact)
    const manifestName = nameOf(artifact)
    // Filled once the export is verified; indexed with each publication (hashes, never contents).
    let verifiedArtifacts: unknown[] = []
    await this.deliver(flags, {
      command: 'release deliver-endpoint-export',
      rule: {
        categories: ['endpoint'],
        command: 'release deliver-endpoint-export',
        kinds: {
          allowed: manifest.providers,
          known: exportModule.ENDPOINT_PROVIDERS,
          outside: (name, provider) =>
            new InputError(
              `${manifestName}: the export has no ${provider} files (its providers are ${manifest.providers.join(', ')}), so connector "${name}" cannot publish it.`,
              [
                'Choose connectors for the providers the export was made for, or export again for this provider.',
              ],
            ),
        },
      },
      defaultOutputDir: '.cavra/release/endpoint-publication-deliveries',
      input: args.manifest,
      index: flags.metadata
        ? storeIndex(
            metadataPathFrom(flags['metadata-json'], process.env),
            'endpoint-management-publication-delivery',
            'endpoint_management_publication',
            (result) => publicationExtras(result.event_id, manifest, verifiedArtifacts),
          )
        : null,
      loadEvents: async (_input, connectors) => {
        const kinds = [...new Set(connectors.map((connector) => connector.provider))] as EndpointProvider[]
        const { event, warnings } = await exportModule.buildPublication(artifact, manifest, kinds)
        verifiedArtifacts = event.fields.artifacts as unknown[]
        return {
          events: (async function* () {
            yield event
          })(),
          warnings,
          single: true,
          dispose: () => artifact.dispose(),
        }
      },
    })
  }
}

function publicationExtras(
  publicationId: string,
  manifest: {
    export_id: string
    channel: string
    release: unknown
    approval: { approval_id?: string | null }
  },
  artifacts: unknown[],
): Record<string, unknown> {
  return {
    publication_id: publicationId,
    export_id: manifest.export_id,
    channel: manifest.channel,
    release: manifest.release,
    approval_id: manifest.approval.approval_id ?? null,
    artifacts,
  }
}
