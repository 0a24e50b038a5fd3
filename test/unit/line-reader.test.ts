import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readLineGroups } from '../../src/metadata/line-reader.js'

const folder = mkdtempSync(join(tmpdir(), 'cavra-lines-'))
let files = 0

async function linesOf(content: string | Buffer): Promise<{ lines: string[]; groups: number }> {
  const file = join(folder, `lines-${files++}.txt`)
  writeFileSync(file, content)
  const lines: string[] = []
  let groups = 0
  for await (const group of readLineGroups(file)) {
    expect(group.length).toBeGreaterThan(0)
    groups++
    lines.push(...group)
  }
  return { lines, groups }
}

describe('readLineGroups', () => {
  it('reads lines as written, with or without a last newline, and CRLF endings', async () => {
    expect((await linesOf('')).lines).toEqual([])
    expect((await linesOf('\n')).lines).toEqual([''])
    expect((await linesOf('a\nb\n')).lines).toEqual(['a', 'b'])
    expect((await linesOf('a\n\nb')).lines).toEqual(['a', '', 'b'])
    expect((await linesOf('{"a":1}\r\n,{"b":2}\r\n]}\r\n')).lines).toEqual(['{"a":1}', ',{"b":2}', ']}'])
    // Only a CR that ends a line is dropped.
    expect((await linesOf('a\rb\n')).lines).toEqual(['a\rb'])
  })

  it('keeps multi-byte characters whole across reads and grows for a line longer than a read', async () => {
    // Four-byte characters put some character across every read boundary; the long line is
    // over two reads on its own.
    const short = Array.from({ length: 40_000 }, (_, i) => `${i}:é€😀${'x'.repeat(i % 97)}`)
    const long = `{"note":"${'😀'.repeat(700_000)}"}`
    const lines = [...short.slice(0, 20_000), long, ...short.slice(20_000)]
    const read = await linesOf(`${lines.join('\n')}\n`)
    expect(read.lines.length).toBe(lines.length)
    expect(read.lines).toEqual(lines)
    expect(read.groups).toBeGreaterThanOrEqual(3)
  })

  it('reads bytes that are not UTF-8 as the replacement character, as a text decoder does', async () => {
    const bytes = Buffer.concat([Buffer.from('a'), Buffer.from([0xff, 0xfe]), Buffer.from('b\nc\n')])
    expect((await linesOf(bytes)).lines).toEqual([new TextDecoder().decode(bytes.subarray(0, 4)), 'c'])
  })
})
