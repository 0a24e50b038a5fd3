import type { EvidenceIndex } from '../cli/delivery-command.js'
import type { DeliveryResult } from '../delivery/evidence-types.js'
import { deliveryItem, type MetadataKind } from './items.js'
import { appendItem, assertWritable } from './store.js'

/** Indexes each delivery result as one item of the metadata store. */
export function storeIndex(
  path: string,
  kind: MetadataKind,
  source: string,
  extra?: (result: DeliveryResult) => Record<string, unknown>,
): EvidenceIndex {
  return {
    prepare: () => assertWritable(path),
    append: (result, evidencePath) =>
      appendItem(path, deliveryItem(result, { kind, source, evidencePath, extra: extra?.(result) })),
  }
}
