/**
 * Groups encoded records into request bodies that stay within a byte limit (UTF-8 bytes, as the
 * vendors measure) and an optional count limit, encoding each record straight into one body
 * buffer as it arrives. The buffer is reused: a batch's body is valid until the caller asks for
 * the next batch, and the next batch is only read when the caller is done with the last. A
 * Buffer per record and a fresh body per batch were external memory the collector freed late,
 * so the peak memory of a large bundle grew with the bundle.
 */

/** A record's JSON text, that text's UTF-8 size, and whether it was shortened to fit. */
export interface EncodedRecord {
  text: string
  bytes: number
  shortened: boolean
}

export interface BatchLimits {
  maxBytes: number
  maxItems?: number
  /**
   * `json-array`: `[a,b]` (Datadog, Sentinel); `concatenated`: `ab` (Splunk HEC's event
   * endpoint). The framing counts against `maxBytes`.
   */
  framing: 'json-array' | 'concatenated'
}

export interface BodyBatch {
  /** Valid until the next batch is asked for. */
  body: Buffer
  records: number
  shortened: number
}

const OPEN = 0x5b
const COMMA = 0x2c
const CLOSE = 0x5d

/**
 * The batches of `records`. A record that does not fit in `maxBytes` even alone goes in a batch
 * of its own, whose body is then larger than `maxBytes`: the caller decides what to do with it.
 */
export async function* batchBodies(
  records: AsyncIterable<EncodedRecord>,
  limits: BatchLimits,
): AsyncGenerator<BodyBatch> {
  const array = limits.framing === 'json-array'
  let buffer = Buffer.allocUnsafe(limits.maxBytes)
  let filled = 0
  let count = 0
  let shortened = 0
  const close = (): BodyBatch => {
    if (array) buffer[filled++] = CLOSE
    return { body: buffer.subarray(0, filled), records: count, shortened }
  }
  for await (const record of records) {
    // The batch's size with this record: in an array, a comma (or the opening bracket) before
    // it and the closing bracket after it.
    const sizeWith = filled + record.bytes + (array ? 2 : 0)
    const full =
      count > 0 && (sizeWith > limits.maxBytes || (limits.maxItems !== undefined && count >= limits.maxItems))
    if (full) {
      yield close()
      filled = 0
      count = 0
      shortened = 0
    }
    if (filled + record.bytes + 2 > buffer.length) {
      const grown = Buffer.allocUnsafe(filled + record.bytes + 2)
      buffer.copy(grown, 0, 0, filled)
      buffer = grown
    }
    if (array) buffer[filled++] = count === 0 ? OPEN : COMMA
    filled += buffer.write(record.text, filled, 'utf8')
    count++
    if (record.shortened) shortened++
  }
  if (count > 0) yield close()
}

/** The UTF-8 size of a JSON array's framing around one record: `[` and `]`. */
export const ONE_RECORD_ARRAY_FRAMING = 2
