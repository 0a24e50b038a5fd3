import { InputError } from '../common/errors.js'
import type { SelectionRule } from '../config/select.js'
import type { PreparedConnector } from '../connectors/types.js'
import type { Artifact } from '../events/artifact.js'
import type { EndpointProvider, ExportManifest } from '../events/endpoint-export.js'
import type { DeliveryEvent } from '../events/event.js'
import { DELIVERY_KINDS } from './delivery-kinds.js'
import type { EventSource } from './run-delivery.js'

/**
 * The inputs of each delivery kind, opened and validated completely before anything is sent.
 * Each kind loads only its own readers.
 */

/**
 * An event file: one object, a JSON array or JSON Lines (`-` for standard input, or for
 * `stdin` when given: the HTTP API spools a request's event through the same path).
 */
export async function integrationEvents(input: string, stdin?: NodeJS.ReadableStream): Promise<EventSource> {
  const [{ openArtifact }, { readEventFile, validateEventFile }] = await Promise.all([
    import('../events/artifact.js'),
    import('../events/integration-event.js'),
  ])
  const artifact = await openArtifact(input, stdin)
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
}

/** A promotion or rollback execution, delivered as one audit event. */
export async function releaseEvents(input: string, kind: 'promotion' | 'rollback'): Promise<EventSource> {
  const [
    { openArtifact },
    { promotionEvent, promotionExecutionSchema, readReleaseArtifact, rollbackEvent, rollbackExecutionSchema },
  ] = await Promise.all([import('../events/artifact.js'), import('../events/release.js')])
  const artifact = await openArtifact(input)
  try {
    const event =
      kind === 'promotion'
        ? promotionEvent(
            await readReleaseArtifact(artifact, promotionExecutionSchema, 'promotion execution'),
            artifact,
          )
        : rollbackEvent(
            await readReleaseArtifact(artifact, rollbackExecutionSchema, 'rollback execution'),
            artifact,
          )
    return single(event, [], artifact)
  } catch (error) {
    await artifact.dispose()
    throw error
  }
}

/** An endpoint export: its manifest decides which connectors fit, its verified files the event. */
export interface EndpointExportInput {
  manifest: ExportManifest
  rule: SelectionRule
  loadEvents(connectors: readonly PreparedConnector[]): Promise<EventSource>
  /** The store fields of a publication (ids and artifact hashes, never contents); after loadEvents. */
  indexFields(publicationId: string): Record<string, unknown>
}

export async function endpointExport(manifestPath: string): Promise<EndpointExportInput> {
  if (manifestPath === '-') {
    throw new InputError(
      'deliver-endpoint-export needs the manifest file itself: its folder holds the export files.',
    )
  }
  const [{ nameOf, openArtifact }, { buildPublication, ENDPOINT_PROVIDERS, readExportManifest }] =
    await Promise.all([import('../events/artifact.js'), import('../events/endpoint-export.js')])
  const artifact = await openArtifact(manifestPath)
  const manifest = await readExportManifest(artifact).catch(async (error) => {
    await artifact.dispose()
    throw error
  })
  const manifestName = nameOf(artifact)
  const { command, categories } = DELIVERY_KINDS['endpoint-export']
  let verifiedArtifacts: unknown[] = []
  return {
    manifest,
    rule: {
      categories,
      command,
      kinds: {
        allowed: manifest.providers,
        known: ENDPOINT_PROVIDERS,
        outside: (name, provider) =>
          new InputError(
            `${manifestName}: the export has no ${provider} files (its providers are ${manifest.providers.join(', ')}), so connector "${name}" cannot publish it.`,
            [
              'Choose connectors for the providers the export was made for, or export again for this provider.',
            ],
          ),
      },
    },
    async loadEvents(connectors) {
      const kinds = [...new Set(connectors.map((connector) => connector.provider))] as EndpointProvider[]
      const { event, warnings } = await buildPublication(artifact, manifest, kinds)
      verifiedArtifacts = event.fields.artifacts as unknown[]
      return single(event, warnings, artifact)
    },
    indexFields: (publicationId) => ({
      publication_id: publicationId,
      export_id: manifest.export_id,
      channel: manifest.channel,
      release: manifest.release,
      approval_id: manifest.approval.approval_id ?? null,
      artifacts: verifiedArtifacts,
    }),
  }
}

function single(event: DeliveryEvent, warnings: string[], artifact: Artifact): EventSource {
  return {
    events: (async function* () {
      yield event
    })(),
    warnings,
    single: true,
    dispose: () => artifact.dispose(),
  }
}
