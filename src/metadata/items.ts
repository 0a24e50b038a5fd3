import { sha256Hex } from '../common/digest.js'
import type { DeliveryResult } from '../delivery/evidence-types.js'
import type { StoreItem } from './chain.js'
import { METADATA_SCHEMA } from './store-layout.js'

/**
 * Store items built from delivery results (docs/metadata-store.md): per-provider outcomes without the
 * attempts or payloads (those stay in the evidence file the item points to).
 */

export type MetadataKind =
  | 'release-connector-delivery'
  | 'integration-connector-delivery'
  | 'endpoint-management-publication-delivery'

const ID_PREFIX: Record<MetadataKind, string> = {
  'release-connector-delivery': 'rcd',
  'integration-connector-delivery': 'icd',
  'endpoint-management-publication-delivery': 'epd',
}

export interface ItemOptions {
  kind: MetadataKind
  source: string
  evidencePath: string | null
  /** Extra top-level fields (endpoint publications: publication_id, export_id, …). */
  extra?: Record<string, unknown>
}

export function deliveryItem(result: DeliveryResult, options: ItemOptions): StoreItem {
  const providers = result.deliveries.map((delivery) => delivery.provider)
  const failed = result.deliveries
    .filter((delivery) => !delivery.success)
    .map((delivery) => delivery.provider)
  // Unique per delivery: the evidence file name is created exclusively.
  const digest = sha256Hex(
    `${result.event_id}|${result.generated_at}|${providers.join(',')}|${options.evidencePath ?? ''}`,
  ).slice(0, 12)
  return {
    schema_version: METADATA_SCHEMA,
    product: result.product,
    session_id: `${ID_PREFIX[options.kind]}-${slug(result.event_id)}-${digest}`,
    metadata_kind: options.kind,
    connector_delivery_source: options.source,
    created_at: result.generated_at,
    event_id: result.event_id,
    event_type: result.event_type,
    severity: result.severity,
    delivery_success: result.success,
    providers,
    failed_providers: failed,
    deliveries: result.deliveries.map((delivery) => ({
      provider: delivery.provider,
      provider_type: delivery.provider_type,
      category: delivery.category,
      success: delivery.success,
      status_code: delivery.status_code,
      attempt_count: delivery.attempt_count,
      duration_ms: delivery.duration_ms,
      started_at: delivery.started_at,
      completed_at: delivery.completed_at,
      error: delivery.error,
      remote_reference: delivery.remote_reference,
      deduplicated: delivery.deduplicated,
    })),
    attempt_count: result.deliveries.reduce((sum, delivery) => sum + delivery.attempt_count, 0),
    delivery_evidence: options.evidencePath,
    source_artifact: result.source_artifact,
    ...options.extra,
  }
}

/** `rpe_4c1d2e9a7b30` → `rpe-4c1d2e9a7b30`: lower case, anything else a dash. */
export function slug(id: string): string {
  return (
    id
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 80) || 'event'
  )
}
