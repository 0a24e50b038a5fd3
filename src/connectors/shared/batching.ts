/**
 * Groups serialised records into batches that stay within a byte limit (UTF-8 bytes, as the
 * vendors measure) and an optional count limit, without reading ahead more than one batch.
 */

export interface BatchLimits {
  maxBytes: number
  maxItems?: number
  /** Bytes a batch adds around its items: `[`, `]` and commas for a JSON array. */
  framing?: (items: number) => number
}

export interface Batch {
  items: Buffer[]
  bytes: number
}

export async function* batchByBytes(
  records: AsyncIterable<Buffer>,
  limits: BatchLimits,
  onOversize?: (record: Buffer) => void,
): AsyncGenerator<Batch> {
  const framing = limits.framing ?? (() => 0)
  let items: Buffer[] = []
  let bytes = 0
  for await (const record of records) {
    const grown = bytes + record.length
    const full =
      items.length > 0 &&
      (grown + framing(items.length + 1) > limits.maxBytes ||
        (limits.maxItems !== undefined && items.length >= limits.maxItems))
    if (full) {
      yield { items, bytes: bytes + framing(items.length) }
      items = []
      bytes = 0
    }
    if (record.length + framing(1) > limits.maxBytes) onOversize?.(record)
    items.push(record)
    bytes += record.length
  }
  if (items.length > 0) yield { items, bytes: bytes + framing(items.length) }
}

/** Framing of a JSON array: brackets plus a comma between items. */
export const jsonArrayFraming = (items: number): number => 2 + Math.max(0, items - 1)

export function jsonArrayBody(batch: Batch): Buffer {
  const parts: Buffer[] = [Buffer.from('[')]
  batch.items.forEach((item, index) => {
    if (index > 0) parts.push(Buffer.from(','))
    parts.push(item)
  })
  parts.push(Buffer.from(']'))
  return Buffer.concat(parts)
}
