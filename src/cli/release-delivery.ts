import { Args, Flags } from '@oclif/core'
import type { z } from 'zod'
import { EXIT_CODE_HELP } from '../common/exit-codes.js'
import type { DeliveryEvent } from '../events/event.js'
import {
  DeliveryCommand,
  type DeliveryFlags,
  type EventSource,
  type EvidenceIndex,
} from './delivery-command.js'
import { deliveryFlags } from './delivery-flags.js'
import { metadataJsonFlag } from './store-flags.js'

/** Flags of the release delivery commands beyond the shared delivery flags (SPEC §2.1). */
export const releaseStoreFlags = {
  'metadata-json': metadataJsonFlag,
  metadata: Flags.boolean({
    allowNo: true,
    default: true,
    description: 'Index the delivery in the metadata store (--no-metadata skips it).',
  }),
}

export type ReleaseFlags = DeliveryFlags & { 'metadata-json'?: string; metadata: boolean }

/** The metadata store index of a release delivery, or null with --no-metadata. */
export async function releaseIndex(flags: ReleaseFlags, source: string): Promise<EvidenceIndex | null> {
  if (!flags.metadata) return null
  const [{ storeIndex }, { metadataPathFrom }] = await Promise.all([
    import('../metadata/evidence-index.js'),
    import('../metadata/store.js'),
  ])
  return storeIndex(
    metadataPathFrom(flags['metadata-json'], process.env),
    'release-connector-delivery',
    source,
  )
}

/** Loads one release artifact (promotion or rollback) as a single audit event. */
export async function releaseEventSource<S extends z.ZodType>(
  input: string,
  schema: S,
  kind: string,
  toEvent: (value: z.infer<S>, artifact: import('../events/artifact.js').Artifact) => DeliveryEvent,
): Promise<EventSource> {
  const [{ openArtifact }, { readReleaseArtifact }] = await Promise.all([
    import('../events/artifact.js'),
    import('../events/release.js'),
  ])
  const artifact = await openArtifact(input)
  try {
    const event = toEvent(await readReleaseArtifact(artifact, schema, kind), artifact)
    return {
      events: (async function* () {
        yield event
      })(),
      warnings: [],
      single: true,
      dispose: () => artifact.dispose(),
    }
  } catch (error) {
    await artifact.dispose()
    throw error
  }
}

export interface ReleaseCommandSpec {
  /** `deliver-promotion-audit` */
  name: string
  summary: string
  description: string
  examples: string[]
  file: string
  outputDir: string
  source: string
  kind: string
  load(): Promise<{
    schema: z.ZodType
    toEvent: (value: never, artifact: import('../events/artifact.js').Artifact) => DeliveryEvent
  }>
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
      const { schema, toEvent } = await spec.load()
      await this.deliver(flags, {
        command: `release ${spec.name}`,
        rule: { categories: ['siem', 'chatops', 'itsm', 'webhook'], command: `release ${spec.name}` },
        defaultOutputDir: spec.outputDir,
        input: args.file,
        index: await releaseIndex(flags, spec.source),
        loadEvents: (input) => releaseEventSource(input, schema, spec.kind, toEvent as never),
      })
    }
  }
  return ReleaseAuditCommand
}
