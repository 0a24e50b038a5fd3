import { Args, Flags } from '@oclif/core'
import { EXIT_CODE_HELP } from '../common/exit-codes.js'
import type { DeliveryKind } from '../flow/delivery-kinds.js'
import type { EvidenceIndex } from '../metadata/evidence-index.js'
import { DeliveryCommand, type DeliveryFlags } from './delivery-command.js'
import { deliveryFlags } from './delivery-flags.js'
import { metadataStoreFlags } from './store-flags.js'

/** Flags of the release delivery commands beyond the shared delivery flags. */
export const releaseStoreFlags = {
  ...metadataStoreFlags,
  metadata: Flags.boolean({
    allowNo: true,
    default: true,
    description: 'Index the delivery in the metadata store (--no-metadata skips it).',
  }),
}

export type ReleaseFlags = DeliveryFlags & {
  'metadata-json'?: string
  'metadata-url'?: string
  metadata: boolean
}

/** The metadata store index of a release delivery, or null with --no-metadata. */
export async function releaseIndex(
  store: (
    flags: import('../metadata/store.js').StoreFlags,
  ) => Promise<import('../metadata/metadata-store.js').MetadataStore>,
  flags: ReleaseFlags,
  kind: DeliveryKind,
  extra?: (result: import('../delivery/evidence-types.js').DeliveryResult) => Record<string, unknown>,
): Promise<EvidenceIndex | null> {
  if (!flags.metadata) return null
  const [{ storeIndex }, { DELIVERY_KINDS }] = await Promise.all([
    import('../metadata/evidence-index.js'),
    import('../flow/delivery-kinds.js'),
  ])
  const { metadataKind, source } = DELIVERY_KINDS[kind]
  return storeIndex(await store(flags), metadataKind, source, extra)
}

export interface ReleaseCommandSpec {
  kind: 'promotion' | 'rollback'
  summary: string
  description: string
  examples: string[]
  file: string
}

/** Builds a release audit delivery command (promotion or rollback): same flow, different artifact. */
export function releaseAuditCommand(spec: ReleaseCommandSpec) {
  class ReleaseAuditCommand extends DeliveryCommand {
    static override summary = spec.summary
    static override description = `${spec.description}

Exit codes:
${EXIT_CODE_HELP}`
    static override examples = spec.examples
    static override args = {
      file: Args.string({ required: true, description: `${spec.file}, or - for stdin.` }),
    }
    static override flags = { ...deliveryFlags, ...releaseStoreFlags }

    async run(): Promise<void> {
      const { args, flags } = await this.parse(ReleaseAuditCommand)
      const { releaseEvents } = await import('../flow/sources.js')
      await this.deliver(flags, {
        kind: spec.kind,
        index: await releaseIndex((storeFlags) => this.openStore(storeFlags), flags, spec.kind),
        loadEvents: () => releaseEvents(args.file, spec.kind),
      })
    }
  }
  return ReleaseAuditCommand
}
