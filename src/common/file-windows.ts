import { close, open, read } from './files.js'

/** Bytes read at a time: large enough that a big file costs few reads (each a thread-pool trip). */
export const WINDOW_BYTES = 1024 * 1024

/**
 * Reads `file` from `start` up to `limit` (its end when absent) through one reused buffer,
 * `chunkBytes` at a time, for readers that take whole units (a JSON value, a line) out of it.
 * Each window is what the reader left of the one before, followed by the bytes just read;
 * `consume(data, base, eof)` takes what it can and says how far it got, as a file offset
 * (`base` is the offset of `data[0]`). What it left opens the next window, and the buffer
 * grows when a full window held no whole unit. The last window, after the last read, has
 * `eof` set. Each window is yielded after it was consumed, valid until the next one.
 */
export async function* readWindows(
  file: string,
  start: number,
  limit: number | undefined,
  chunkBytes: number,
  consume: (data: Buffer, base: number, eof: boolean) => number,
): AsyncGenerator<Buffer> {
  const fd = await open(file, 'r')
  try {
    let buffer = Buffer.allocUnsafe(chunkBytes)
    let base = start
    let filled = 0
    for (;;) {
      if (filled === buffer.length) {
        const grown = Buffer.allocUnsafe(buffer.length * 2)
        buffer.copy(grown, 0, 0, filled)
        buffer = grown
      }
      const room = buffer.length - filled
      const want = limit === undefined ? room : Math.min(room, limit - base - filled)
      const { bytesRead } = want > 0 ? await read(fd, buffer, filled, want, base + filled) : { bytesRead: 0 }
      filled += bytesRead
      const eof = bytesRead === 0
      const data = buffer.subarray(0, filled)
      const consumed = consume(data, base, eof) - base
      yield data
      if (eof) return
      if (consumed > 0) {
        buffer.copy(buffer, 0, consumed, filled)
        filled -= consumed
        base += consumed
      }
    }
  } finally {
    await close(fd)
  }
}
