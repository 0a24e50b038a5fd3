import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/common/errors.js'
import { loadConnectorConfig } from '../../src/config/load.js'
import { REGISTRY } from '../../src/connectors/index.js'
import { Workspace } from '../support/workspace.js'

/** Hostile and broken connector configurations: exit 3 (ConfigError), quickly, with the spot. */

const workspaces: Workspace[] = []
afterEach(() => {
  for (const ws of workspaces.splice(0)) ws.remove()
})
function write(name: string, content: string): string {
  const ws = new Workspace('cavra-bad-config-')
  workspaces.push(ws)
  return ws.write(name, content)
}
async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a configuration error')
}

const HOOK = 'connectors:\n  hook:\n    provider: webhook\n    url_env: HOOK_URL\n'

/** The classic "billion laughs": nine levels of nine aliases each, 9^9 strings once expanded. */
function billionLaughs(): string {
  let text = 'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n'
  for (let level = 1; level < 10; level++) {
    text += `a${level}: &a${level} [${Array(9)
      .fill(`*a${level - 1}`)
      .join(', ')}]\n`
  }
  return `${text}${HOOK}    headers:\n      X-Laugh: *a9\n`
}

describe('YAML alias expansion', () => {
  it('refuses a billion-laughs configuration quickly, as a configuration error', async () => {
    const path = write('laughs.yaml', billionLaughs())
    const started = Date.now()
    const error = await configError(loadConnectorConfig(path, REGISTRY))
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(error.message).toBe(
      `${path}: its YAML aliases (*name) expand to more than 100 nodes, as a "billion laughs" document does; cavra refuses it rather than expand it.`,
    )
    expect(error.actions.join(' ')).toMatch(/Write the values out/)
  })

  it('does not hang on thousands of aliases, and still reads a few', async () => {
    const many = `${HOOK}    headers: &h {X-A: a}\nextra: [${Array(5_000).fill('*h').join(', ')}]\n`
    let started = Date.now()
    let error = await configError(loadConnectorConfig(write('many.yaml', many), REGISTRY))
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(error.message).toMatch(/many\.yaml: uses more than 100 YAML aliases \(\*name\)/)
    // Distinct anchors, each used once, expand to nothing much, but the yaml package resolves
    // every alias by searching the document: 20,000 of them took over ten seconds.
    let distinct = `${HOOK}anchors:\n`
    for (let i = 0; i < 20_000; i++) distinct += `  a${i}: &a${i} v${i}\n`
    distinct += `uses: [${Array.from({ length: 20_000 }, (_, i) => `*a${i}`).join(', ')}]\n`
    started = Date.now()
    error = await configError(loadConnectorConfig(write('distinct.yaml', distinct), REGISTRY))
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(error.message).toMatch(/distinct\.yaml: uses more than 100 YAML aliases/)
    const few = `connectors:\n  a:\n    provider: webhook\n    url_env: &url HOOK_URL\n  b:\n    provider: webhook\n    url_env: *url\n`
    const config = await loadConnectorConfig(write('few.yaml', few), REGISTRY)
    expect(config.entries.map((entry) => entry.raw.url_env)).toEqual(['HOOK_URL', 'HOOK_URL'])
  })

  it('reports a YAML document nested too deeply as a configuration error naming the spot', async () => {
    const path = write('deep.yaml', `${HOOK}    headers: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`)
    const error = await configError(loadConnectorConfig(path, REGISTRY))
    expect(error.message).toMatch(/deep\.yaml: line 5, column \d+: not valid YAML: nested too deeply/)
  })
})

describe('JSON configuration syntax errors', () => {
  it('names the real line and column, also when the file ends early', async () => {
    const comma = write(
      'c.json',
      '{\n  "connectors": {\n    "hook": {"provider": "webhook", "url_env": "U",}\n  }\n}\n',
    )
    expect((await configError(loadConnectorConfig(comma, REGISTRY))).message).toBe(
      `${comma}: line 3, column 52: not valid JSON (Expected double-quoted property name).`,
    )
    const text = '{\n  "connectors": {\n    "hook": {"provider":'
    const truncated = write('t.json', text)
    expect((await configError(loadConnectorConfig(truncated, REGISTRY))).message).toBe(
      `${truncated}: line 3, column 25: not valid JSON (Unexpected end of JSON input).`,
    )
    const accented = write('a.json', '{"connectors": {"café": {"provider": "webhook" "url_env": "U"}}}')
    expect((await configError(loadConnectorConfig(accented, REGISTRY))).message).toMatch(
      /a\.json: line 1, column 48: not valid JSON/,
    )
  })
})
