/**
 * Groups encoded records into request bodies that stay within a byte limit (UTF-8 bytes, as the
 * vendors measure) and an optional count limit, encoding each record straight into a body
 * buffer as it arrives. Two buffers take turns: while the caller sends one batch, the next is
 * encoded into the other, so reading and encoding the bundle overlap the request's round trip
 * instead of following it. A batch's body is valid until the caller asks for the batch after
 * the next one (it never does: it is done with a batch before it asks for the next). A Buffer
 * per record and a fresh body per batch were external memory the collector freed late, so the
 * peak memory of a large bundle grew with the bundle; two reused buffers keep it flat.
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
 * The batches of `records`, each encoded while the caller sends the one before. A record that
 * does not fit in `maxBytes` even alone goes in a batch of its own, whose body is then larger
 * than `maxBytes`: the caller decides what to do with it.
 */
export function batchBodies(
  records: AsyncIterable<EncodedRecord>,
  limits: BatchLimits,
): AsyncGenerator<BodyBatch> {
  return readAhead(encodeBatches(records, limits))
}

/**
 * Yields what `source` yields, asking it for the next value as soon as the caller has the
 * current one. The request is made on the next turn of the event loop, after the caller has
 * started on the value it was given (a batch's request is written before the next batch's
 * encoding takes the thread). A failure in reading ahead reaches the caller when it asks for
 * that value, as it would without reading ahead; a caller that stops early waits for the read
 * in progress, then closes the source (its file handle).
 */
export async function* readAhead<T>(source: AsyncGenerator<T>): AsyncGenerator<T> {
  let next: Promise<IteratorResult<T>> = source.next()
  try {
    for (;;) {
      const result = await next
      if (result.done) return
      next = new Promise((resolve) => setImmediate(() => resolve(source.next())))
      // Handled when the caller asks for the value; until then a failure must not count as unhandled.
      next.catch(() => {})
      yield result.value
    }
  } finally {
    // After the last value both are done already; after an early stop this waits for the read
    // in progress and closes the source.
    await next.catch(() => {})
    await source.return(undefined)
  }
}

async function* encodeBatches(
  records: AsyncIterable<EncodedRecord>,
  limits: BatchLimits,
): AsyncGenerator<BodyBatch> {
  const array = limits.framing === 'json-array'
  const buffers = [Buffer.allocUnsafe(limits.maxBytes), Buffer.allocUnsafe(limits.maxBytes)]
  let turn = 0
  let buffer = buffers[turn]!
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
      turn ^= 1
      buffer = buffers[turn]!
      filled = 0
      count = 0
      shortened = 0
    }
    if (filled + record.bytes + 2 > buffer.length) {
      const grown = Buffer.allocUnsafe(filled + record.bytes + 2)
      buffer.copy(grown, 0, 0, filled)
      buffer = grown
      buffers[turn] = grown
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
