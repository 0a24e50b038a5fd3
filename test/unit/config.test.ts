import { readFileSync } from 'node:fs'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/common/errors.js'
import { connectorConfigJsonSchema } from '../../src/config/json-schema.js'
import { loadConnectorConfig } from '../../src/config/load.js'
import { parseProviderFlags, prepareConnectors, selectConnectors } from '../../src/config/select.js'
import { CONNECTORS, REGISTRY } from '../../src/connectors/index.js'
import { PROJECT_ROOT } from '../support/cli.js'
import { Workspace } from '../support/workspace.js'

const EXAMPLE = `${PROJECT_ROOT}/examples/connectors/cavra-connectors.example.json`
const LEGACY = `${PROJECT_ROOT}/test/fixtures/legacy-cavra-connectors.example.json`
const workspaces: Workspace[] = []
afterEach(() => {
  for (const ws of workspaces.splice(0)) ws.remove()
})
function write(name: string, content: string | object): string {
  const ws = new Workspace()
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
const rule = { categories: ['siem', 'chatops', 'itsm', 'webhook'] as const, command: 'integration deliver' }

describe('connector configuration', () => {
  it('loads the shipped example and the earlier tool’s example', async () => {
    const example = await loadConnectorConfig(EXAMPLE, REGISTRY)
    expect(example.entries.map((e) => e.provider).sort()).toEqual(
      [
        'datadog',
        'intune',
        'jamf',
        'jira',
        'linux',
        'sentinel',
        'servicenow',
        'slack',
        'splunk',
        'splunk',
        'teams',
        'webhook',
      ].sort(),
    )
    const legacy = await loadConnectorConfig(LEGACY, REGISTRY)
    expect(legacy.entries).toHaveLength(8)
  })

  it('ships a JSON Schema that is generated from the zod schemas and accepts the example', () => {
    const shipped = JSON.parse(
      readFileSync(`${PROJECT_ROOT}/examples/connectors/cavra-connectors.schema.json`, 'utf8'),
    )
    expect(shipped, 'run npm run schema to regenerate').toEqual(connectorConfigJsonSchema(CONNECTORS))
    const ajv = new Ajv2020({ strict: false, allErrors: true })
    const validate = ajv.compile(shipped)
    expect(validate(JSON.parse(readFileSync(EXAMPLE, 'utf8'))), JSON.stringify(validate.errors)).toBe(true)
    expect(validate(JSON.parse(readFileSync(LEGACY, 'utf8'))), JSON.stringify(validate.errors)).toBe(true)
    expect(validate({ connectors: { splunk: { url: 'x', indx: 'y' } } })).toBe(false)
    expect(validate({ connectors: { 'splunk-eu': { url: 'x' } } })).toBe(false)
    expect(validate({ connectors: { 'splunk-eu': { provider: 'splunk', url: 'x' } } })).toBe(true)
  })

  it('names the connector, the misspelt key and its likely fix', async () => {
    const path = write('c.json', { connectors: { splunk: { url_env: 'U', token_env: 'T', indx: 'main' } } })
    const error = await configError(loadConnectorConfig(path, REGISTRY))
    expect(error.message).toContain('connector splunk: unknown key "indx"')
    expect(error.message).toContain('did you mean "index"?')
    expect(error.message).toContain(path)
    expect(error.exitCode).toBe(3)
  })

  it('reads YAML with the same rules', async () => {
    const path = write('c.yaml', 'connectors:\n  audit-hook:\n    provider: webhook\n    url_env: HOOK_URL\n')
    const config = await loadConnectorConfig(path, REGISTRY)
    expect(config.entries[0]).toMatchObject({ name: 'audit-hook', provider: 'webhook' })
    const bad = write('b.yml', 'connectors:\n  splunk: [1, 2\n')
    expect((await configError(loadConnectorConfig(bad, REGISTRY))).message).toMatch(
      /b\.yml: line \d+, column \d+: not valid YAML/,
    )
  })

  it('reports JSON syntax errors with line and column', async () => {
    const path = write('c.json', '{\n  "connectors": {\n    "splunk": { "url": "x", }\n  }\n}')
    expect((await configError(loadConnectorConfig(path, REGISTRY))).message).toMatch(
      /c\.json: line 3, column \d+: not valid JSON/,
    )
  })

  it('keeps connector names apart from provider kinds', async () => {
    const path = write('c.json', { connectors: { primary: { url: 'https://x' } } })
    const error = await configError(loadConnectorConfig(path, REGISTRY))
    expect(error.message).toContain('"primary" is not a provider kind')
    const unsupported = write('g.json', { connectors: { github: { url: 'https://x' } } })
    expect((await configError(loadConnectorConfig(unsupported, REGISTRY))).message).toContain(
      '"github" is not supported',
    )
    const disabled = write('d.json', { connectors: { github: { url: 'https://x', enabled: false } } })
    expect((await loadConnectorConfig(disabled, REGISTRY)).entries).toEqual([])
  })

  it('resolves _env and _file only for the selected connectors', async () => {
    const ws = new Workspace()
    workspaces.push(ws)
    ws.write('token.txt', 'file-token-value\n')
    const path = ws.write('c.json', {
      connectors: {
        splunk: { url_env: 'SPLUNK_URL', token_file: 'token.txt' },
        webhook: { url_env: 'UNSET_HOOK_URL' },
      },
    })
    const config = await loadConnectorConfig(path, REGISTRY)
    const env = { SPLUNK_URL: 'https://splunk.example.com:8088' }
    const [splunk] = prepareConnectors(config, selectConnectors(config, ['splunk'], rule), env)
    expect(splunk!.secretValues).toEqual(['file-token-value'])
    expect((splunk!.config as { authorization: string }).authorization).toBe('Splunk file-token-value')
    const error = await configError(
      Promise.resolve().then(() =>
        prepareConnectors(config, selectConnectors(config, ['webhook'], rule), env),
      ),
    )
    expect(error.message).toContain('connector webhook: url_env names UNSET_HOOK_URL, which is not set')
  })

  it('refuses a setting given twice and warns about literal secrets', async () => {
    const path = write('c.json', {
      connectors: { splunk: { url: 'https://s', token: 'literal-token', token_env: 'T' } },
    })
    const config = await loadConnectorConfig(path, REGISTRY)
    const error = await configError(
      Promise.resolve().then(() => prepareConnectors(config, config.entries, { T: 'x' })),
    )
    expect(error.message).toContain('token and token_env are both set')
    const literal = write('l.json', { connectors: { splunk: { url: 'https://s', token: 'literal-token' } } })
    const loaded = await loadConnectorConfig(literal, REGISTRY)
    const [prepared] = prepareConnectors(loaded, loaded.entries, {})
    expect(prepared!.warnings.join('\n')).toContain('token is written in')
    expect(prepared!.secretValues).toContain('literal-token')
  })

  it('names a missing config file and how to create one', async () => {
    const error = await configError(loadConnectorConfig('/nonexistent/connectors.json', REGISTRY))
    expect(error.message).toContain('No connector configuration at /nonexistent/connectors.json')
    expect(error.actions.join(' ')).toContain('examples/connectors/cavra-connectors.example.json')
  })
})

describe('connector selection', () => {
  async function config() {
    return loadConnectorConfig(
      write('c.json', {
        connectors: {
          splunk: { url_env: 'A', token_env: 'B' },
          'splunk-eu': { provider: 'splunk', url_env: 'C', token_env: 'D' },
          webhook: { url_env: 'E' },
          archive: { provider: 'webhook', url_env: 'F', enabled: false },
          jamf: { url_env: 'G' },
        },
      }),
      REGISTRY,
    )
  }

  it('splits repeated and comma-separated --provider values', () => {
    expect(parseProviderFlags(['splunk, webhook', 'splunk', 'jira'])).toEqual(['splunk', 'webhook', 'jira'])
    expect(parseProviderFlags(undefined)).toEqual([])
  })

  it('defaults to every enabled connector that fits the command', async () => {
    const selected = selectConnectors(await config(), [], rule)
    expect(selected.map((e) => e.name)).toEqual(['splunk', 'splunk-eu', 'webhook'])
    expect(selectConnectors(await config(), ['all'], rule).map((e) => e.name)).toEqual([
      'splunk',
      'splunk-eu',
      'webhook',
    ])
  })

  it('selects by name or by provider kind', async () => {
    const cfg = await config()
    expect(selectConnectors(cfg, ['splunk-eu'], rule).map((e) => e.name)).toEqual(['splunk-eu'])
    expect(selectConnectors(cfg, ['splunk'], rule).map((e) => e.name)).toEqual(['splunk'])
  })

  it('rejects unknown, disabled and unfitting connectors, naming the known ones', async () => {
    const cfg = await config()
    const unknown = await configError(Promise.resolve().then(() => selectConnectors(cfg, ['splnk'], rule)))
    expect(unknown.message).toContain('unknown connector "splnk" (did you mean "splunk"?)')
    expect(unknown.actions.join(' ')).toContain('splunk, splunk-eu, webhook')
    const disabled = await configError(Promise.resolve().then(() => selectConnectors(cfg, ['archive'], rule)))
    expect(disabled.message).toContain('connector "archive" is disabled')
    const endpoint = await configError(Promise.resolve().then(() => selectConnectors(cfg, ['jamf'], rule)))
    expect(endpoint.message).toContain('"jamf" is an endpoint connector')
  })
})
