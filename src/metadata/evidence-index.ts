import type { DeliveryResult } from '../delivery/evidence-types.js'
import type { StoreItem } from './chain.js'
import { deliveryItem, type MetadataKind } from './items.js'
import type { MetadataStore } from './metadata-store.js'

/** Where delivery results are indexed: the metadata store, or nowhere (a null index). */
export interface EvidenceIndex {
  /** Verifies the store can take an item; fails with exit 5 before anything is sent. */
  prepare(): Promise<void>
  append(result: DeliveryResult, evidencePath: string | null): Promise<StoreItem>
}

/** Indexes each delivery result as one item of the metadata store. */
export function storeIndex(
  store: MetadataStore,
  kind: MetadataKind,
  source: string,
  extra?: (result: DeliveryResult) => Record<string, unknown>,
): EvidenceIndex {
  return {
    prepare: () => store.prepareAppend(),
    append: (result, evidencePath) =>
      store.append(deliveryItem(result, { kind, source, evidencePath, extra: extra?.(result) })),
  }
}
