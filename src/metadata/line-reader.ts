import { open } from 'node:fs/promises'

/** Bytes read at a time: large enough that a big store costs few reads (each a thread-pool trip). */
const CHUNK_BYTES = 1024 * 1024
const NEWLINE = 0x0a
const CARRIAGE_RETURN = 0x0d

/**
 * The lines of a file, in order, in groups: each group holds the lines completed by one read.
 * Lines are cut at newline bytes, which never occur inside a UTF-8 character, so each line is
 * decoded whole; a line ending CRLF (a store saved by a Windows editor) loses its CR, and a
 * last line without a newline is a line too. A line longer than a read grows the buffer.
 *
 * Whole groups instead of one line per step: the store's readers handle a line in a few
 * microseconds, and an async step per line (readline over a read stream) cost more than that:
 * a regular-expression split, a string decoder and a 64 KB read per thread-pool trip.
 */
export async function* readLineGroups(path: string): AsyncGenerator<string[]> {
  const handle = await open(path, 'r')
  try {
    let buffer = Buffer.allocUnsafe(CHUNK_BYTES)
    // Bytes of an unfinished line wait at [start, end).
    let start = 0
    let end = 0
    for (;;) {
      if (end === buffer.length) {
        if (start > 0) {
          buffer.copy(buffer, 0, start, end)
          end -= start
          start = 0
        } else {
          const grown = Buffer.allocUnsafe(buffer.length * 2)
          buffer.copy(grown, 0, 0, end)
          buffer = grown
        }
      }
      const { bytesRead } = await handle.read(buffer, end, buffer.length - end, null)
      if (bytesRead === 0) break
      const scanFrom = end
      end += bytesRead
      const filled = buffer.subarray(0, end)
      const lines: string[] = []
      for (let at = filled.indexOf(NEWLINE, scanFrom); at !== -1; at = filled.indexOf(NEWLINE, at + 1)) {
        lines.push(lineText(buffer, start, at))
        start = at + 1
      }
      if (lines.length > 0) yield lines
      if (start === end) {
        start = 0
        end = 0
      }
    }
    if (start < end) yield [lineText(buffer, start, end)]
  } finally {
    await handle.close()
  }
}

function lineText(buffer: Buffer, start: number, end: number): string {
  return buffer.toString('utf8', start, end > start && buffer[end - 1] === CARRIAGE_RETURN ? end - 1 : end)
}
