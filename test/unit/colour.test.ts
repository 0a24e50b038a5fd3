import { Chalk } from 'chalk'
import { describe, expect, it } from 'vitest'
import { colourFor, noColour } from '../../src/cli/output.js'

/** Output without colour is what a Chalk of level 0 gives, without loading chalk for it. */

const chalkPlain = new Chalk({ level: 0 })
const stream = (isTTY: boolean) => ({ isTTY }) as NodeJS.WriteStream

describe('colour', () => {
  it('gives without colour exactly what a Chalk of level 0 gives, chained or not', () => {
    const cases: [string, unknown[]][] = [
      ['bold', ['Evidence:']],
      ['red', ['failed', 3]],
      ['green', ['ok']],
      ['yellow', ['Warning:']],
      ['dim', [42]],
      ['cyan', ['a', 'b', 'c']],
      ['red', ['']],
      ['bold', [undefined]],
      ['green', []],
    ]
    for (const [style, text] of cases) {
      const plain = (noColour as unknown as Record<string, (...args: unknown[]) => string>)[style]!
      const reference = (chalkPlain as unknown as Record<string, (...args: unknown[]) => string>)[style]!
      expect(plain(...text), `${style}(${text.join(', ')})`).toBe(reference(...text))
    }
    expect(noColour.bold.red('chained', 'twice')).toBe(chalkPlain.bold.red('chained', 'twice'))
    expect(noColour('called', 'directly')).toBe(chalkPlain('called', 'directly'))
    expect(noColour.level).toBe(0)
  })

  it('colours a terminal and FORCE_COLOR, and nothing else', () => {
    expect(colourFor(stream(true), {}).red('x')).toBe('\u001b[31mx\u001b[39m')
    expect(colourFor(stream(false), { FORCE_COLOR: '1' }).red('x')).toBe('\u001b[31mx\u001b[39m')
    expect(colourFor(stream(false), {}).red('x')).toBe('x')
    expect(colourFor(stream(true), { NO_COLOR: '1' }).red('x')).toBe('x')
    expect(colourFor(stream(true), { FORCE_COLOR: '0' }).red('x')).toBe('\u001b[31mx\u001b[39m')
  })
})
