import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { renderConfigurationDoc, typeOf } from '../../scripts/configuration-doc.js'
import { CONNECTORS } from '../../src/connectors/index.js'
import { PROJECT_ROOT } from '../support/cli.js'

const DOCS = join(PROJECT_ROOT, 'docs')
const docFiles = readdirSync(DOCS)
  .filter((name) => name.endsWith('.md'))
  .sort()
const read = (path: string) => readFileSync(path, 'utf8')

/** Inline markdown links and images: `[text](target)`, without code spans and fenced blocks. */
function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '')
  return [...prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => match[1]!)
}

function isRelative(target: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#')
}

describe('reference documentation', () => {
  it('keeps docs/configuration.md equal to what the connector registry generates (npm run schema)', () => {
    expect(read(join(DOCS, 'configuration.md'))).toBe(renderConfigurationDoc(CONNECTORS))
  })

  it('documents every provider, its secrets and its own keys', () => {
    const doc = renderConfigurationDoc(CONNECTORS)
    for (const connector of CONNECTORS) {
      const section = doc.split(`\n## ${connector.provider}\n`)[1]?.split('\n## ')[0]
      expect(section, connector.provider).toBeDefined()
      expect(section).toContain(connector.docs)
      for (const key of Object.keys(connector.settings())) expect(section).toContain(`| \`${key}\` |`)
      for (const key of connector.secrets)
        expect(section).toMatch(new RegExp(`\\| \`${key}\` \\|[^\\n]*\\| yes \\|`))
      if (connector.urlIsSecret) expect(section).toMatch(/\| `url` \|[^\n]*\| yes \|/)
    }
  })

  it('reads JSON Schema types for the type column', () => {
    expect(typeOf({ type: 'integer', minimum: 0, maximum: 10 })).toBe('integer ≥ 0 and ≤ 10')
    expect(typeOf({ type: 'string', enum: ['table', 'change'] })).toBe('one of `"table"`, `"change"`')
    expect(typeOf({ anyOf: [{ const: 2 }, { type: 'string', enum: ['2'] }] })).toBe('one of `2`, `"2"`')
    expect(typeOf({ type: 'array', items: { type: 'string' } })).toBe('list of strings')
    expect(typeOf({ type: 'object', additionalProperties: { type: 'string' } })).toBe('map of strings')
  })

  it('is linked from README.md, and its index lists every page', () => {
    expect(linkTargets(read(join(PROJECT_ROOT, 'README.md')))).toContain('docs/README.md')
    const index = linkTargets(read(join(DOCS, 'README.md')))
    for (const name of docFiles.filter((name) => name !== 'README.md')) expect(index).toContain(name)
  })

  it.each(docFiles)('docs/%s links only to files that exist', (name) => {
    const missing = linkTargets(read(join(DOCS, name)))
      .filter(isRelative)
      .map((target) => decodeURIComponent(target.replace(/[#?].*$/, '')))
      .filter((path) => path !== '' && !existsSync(join(dirname(join(DOCS, name)), path)))
    expect(missing).toEqual([])
  })
})
