import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { z as full } from 'zod'
import { filesUnder, PROJECT_ROOT } from '../support/cli.js'

/**
 * build/zod.mjs (the vendor bundle of zod) hands cavra's code a `z` with only the members that
 * code reads, so that the rest of zod is left out of the bundle. A member the code starts to
 * use without adding it there would be undefined at run time: these checks fail first.
 */

// @ts-expect-error: a build script in plain JavaScript, without declarations.
const { z: entry } = (await import('../../build/zod.mjs')) as { z: Record<string, unknown> }

/** Members of `z` that cavra's code names only in types (erased when compiled). */
const TYPE_ONLY = new Set(['core'])

/** cavra's TypeScript sources, each read once: path and text. */
const sources = filesUnder(join(PROJECT_ROOT, 'src'))
  .filter((file) => file.endsWith('.ts'))
  .map((file) => ({ file, text: readFileSync(file, 'utf8') }))

/** Every `z.name` in cavra's sources, with a file that uses it. */
function membersUsed(): Map<string, string> {
  const used = new Map<string, string>()
  for (const { file, text } of sources)
    for (const [, name] of text.matchAll(/\bz\.([A-Za-z_$][\w$]*)/g))
      if (name !== undefined && !used.has(name)) used.set(name, file)
  return used
}

describe('the zod vendor entry', () => {
  it('holds every member of z that cavra’s code uses at run time', () => {
    const missing = [...membersUsed()]
      .filter(([name]) => name in full && !TYPE_ONLY.has(name) && !(name in entry))
      .map(([name, file]) => `z.${name} (${file.slice(PROJECT_ROOT.length + 1)})`)
    expect(missing, 'add these to build/zod.mjs').toEqual([])
  })

  it('uses z.core only in types', () => {
    for (const { file, text } of sources)
      for (const match of text.matchAll(/\bz\.core\.([\w$]+)/g))
        expect(match[1], `${file}: z.core.${match[1]} is not a type`).toMatch(/^\$Zod/)
  })

  it('hands out zod’s own members, not copies', () => {
    for (const [name, member] of Object.entries(entry)) {
      expect(name in full, `z.${name} is not a member of zod`).toBe(true)
      expect(typeof member).toBe(typeof (full as unknown as Record<string, unknown>)[name])
    }
    // The same schema kinds: what one builds, the other's classes recognise.
    const schema = (entry.string as typeof full.string)().optional()
    expect(schema).toBeInstanceOf(full.ZodOptional)
    expect(schema.safeParse(7).success).toBe(false)
  })
})
