import type { Category } from '../common/category.js'
import type { MetadataKind } from '../metadata/items.js'

/**
 * The four kinds of delivery: which connectors they send to, where their evidence goes by
 * default, and how they are indexed. Commands, the HTTP API and re-delivery read this table.
 */

export type DeliveryKind = 'integration' | 'promotion' | 'rollback' | 'endpoint-export'

export interface DeliveryKindSpec {
  /** The command, for messages. */
  command: string
  categories: readonly Category[]
  outputDir: string
  metadataKind: MetadataKind
  /** `connector_delivery_source` of the store items. */
  source: string
}

const EVENT_CATEGORIES: readonly Category[] = ['siem', 'chatops', 'itsm', 'webhook']

export const DELIVERY_KINDS: Record<DeliveryKind, DeliveryKindSpec> = {
  integration: {
    command: 'integration deliver',
    categories: EVENT_CATEGORIES,
    outputDir: '.cavra/integrations/deliveries',
    metadataKind: 'integration-connector-delivery',
    source: 'integration_deliver',
  },
  promotion: {
    command: 'release deliver-promotion-audit',
    categories: EVENT_CATEGORIES,
    outputDir: '.cavra/release/promotion-audit-deliveries',
    metadataKind: 'release-connector-delivery',
    source: 'release_governance_promotion',
  },
  rollback: {
    command: 'release deliver-rollback-execution',
    categories: EVENT_CATEGORIES,
    outputDir: '.cavra/release/rollback-deliveries',
    metadataKind: 'release-connector-delivery',
    source: 'release_governance_rollback',
  },
  'endpoint-export': {
    command: 'release deliver-endpoint-export',
    categories: ['endpoint'],
    outputDir: '.cavra/release/endpoint-publication-deliveries',
    metadataKind: 'endpoint-management-publication-delivery',
    source: 'endpoint_management_publication',
  },
}

/** What a delivery uses when its caller (a flag, an API request) does not say. */
export const DELIVERY_DEFAULTS = {
  /** Extra attempts after the first. */
  retries: 2,
  timeoutSeconds: 10,
  deadlineSeconds: 120,
} as const
