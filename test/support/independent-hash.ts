import { createHash } from 'node:crypto'

/**
 * An independent judge of the store's hashes: a tiny sorted-keys serialiser written from the
 * documented rule (docs/metadata-store.md), not the product's canonical JSON.
 */
export function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>
    return `{${Object.keys(record)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${sortedJson(record[key])}`)
      .join(',')}}`
  }
  return JSON.stringify(value)
}

/** sha256 of the item's sorted-keys JSON without its record_hash. */
export function expectedHash(item: Record<string, unknown>): string {
  const { record_hash: _ignored, ...rest } = item
  return createHash('sha256').update(sortedJson(rest), 'utf8').digest('hex')
}
