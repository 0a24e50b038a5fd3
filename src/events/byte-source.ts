import { createReadStream } from 'node:fs'

/**
 * Where a reader finds an artifact's bytes: the path of its file, or the bytes themselves,
 * which `openArtifact` keeps when the file is small (artifact.ts). Kept bytes are read without
 * opening the file again, and are the very bytes that were hashed.
 */
export type ByteSource = string | Buffer

/**
 * The bytes of `source` from `start` up to `end` (exclusive; to the end when absent), in
 * chunks of at most `chunkBytes` from a file, or as one chunk of kept bytes.
 */
export function chunksOf(
  source: ByteSource,
  chunkBytes: number,
  start = 0,
  end?: number,
): AsyncIterable<Buffer> | Iterable<Buffer> {
  if (typeof source !== 'string') return [source.subarray(start, end)]
  if (end !== undefined && end <= start) return []
  return createReadStream(source, {
    start,
    end: end === undefined ? undefined : end - 1,
    highWaterMark: chunkBytes,
  }) as AsyncIterable<Buffer>
}
