import { readWindows, WINDOW_BYTES } from '../common/file-windows.js'

const NEWLINE = 0x0a
const CARRIAGE_RETURN = 0x0d

/**
 * The lines of a file, in order, in groups: each group holds the lines completed by one read
 * (a window, common/file-windows.ts). Lines are cut at newline bytes, which never occur inside
 * a UTF-8 character, so each line is decoded whole; a line ending CRLF (a store saved by a
 * Windows editor) loses its CR, and a last line without a newline is a line too. A line
 * longer than a read grows the window.
 *
 * Whole groups instead of one line per step: the store's readers handle a line in a few
 * microseconds, and an async step per line (readline over a read stream) cost more than that:
 * a regular-expression split, a string decoder and a 64 KB read per thread-pool trip.
 */
export async function* readLineGroups(path: string): AsyncGenerator<string[]> {
  let lines: string[] = []
  // The unfinished line a window starts with was searched for a newline already.
  let searched = 0
  const cut = (data: Buffer, base: number, eof: boolean): number => {
    let start = 0
    for (let at = data.indexOf(NEWLINE, searched); at !== -1; at = data.indexOf(NEWLINE, at + 1)) {
      lines.push(lineText(data, start, at))
      start = at + 1
    }
    if (eof && start < data.length) {
      lines.push(lineText(data, start, data.length))
      start = data.length
    }
    searched = data.length - start
    return base + start
  }
  for await (const _ of readWindows(path, 0, undefined, WINDOW_BYTES, cut)) {
    if (lines.length > 0) yield lines
    lines = []
  }
}

function lineText(buffer: Buffer, start: number, end: number): string {
  return buffer.toString('utf8', start, end > start && buffer[end - 1] === CARRIAGE_RETURN ? end - 1 : end)
}
