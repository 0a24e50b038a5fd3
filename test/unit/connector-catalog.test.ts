import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/common/errors.js'
import { connectorCatalog, describeConnectors } from '../../src/config/catalog.js'
import { loadConnectorConfig, loadSelected } from '../../src/config/load.js'
import { prepareConnectors, selectConnectors } from '../../src/config/select.js'
import { CONNECTORS, REGISTRY } from '../../src/connectors/index.js'
import { CONNECTOR_MODULES } from '../../src/connectors/lazy.js'

/**
 * A delivery checks its configuration against the on-demand registry: every entry's keys at
 * once, the selected entries whole once their modules are loaded. It must accept and refuse
 * exactly what checking every entry against every module accepts and refuses, in the same
 * words.
 */

function write(name: string, document: unknown): string {
  const path = join(tmpdir(), `cavra-catalog-${process.pid}-${name}`)
  writeFileSync(path, JSON.stringify(document))
  return path
}

async function messageOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).message
  }
  throw new Error('expected a ConfigError')
}

describe('the on-demand connector registry', () => {
  it('lists every connector of CONNECTORS, in order, each module loading the very definition', async () => {
    expect(Object.keys(CONNECTOR_MODULES)).toEqual(CONNECTORS.map((connector) => connector.provider))
    for (const connector of CONNECTORS) expect(await CONNECTOR_MODULES[connector.provider]!()).toBe(connector)
    const catalog = await connectorCatalog()
    expect([...catalog.values()].map(({ load: _load, ...description }) => description)).toEqual(
      describeConnectors(CONNECTORS),
    )
  })

  it('refuses a misspelt key in any entry, selected or not, in the same words', async () => {
    const path = write('misspelt.json', {
      connectors: {
        webhook: { url_env: 'URL' },
        splunk: { url: 'https://splunk.example.com:8088', token_env: 'T', indx: 'main' },
      },
    })
    const eager = await messageOf(loadConnectorConfig(path, REGISTRY))
    expect(eager).toMatch(
      /connector splunk: unknown key "indx" at \$\.connectors\.splunk \(did you mean "index"\?\)/,
    )
    expect(await messageOf(loadConnectorConfig(path, await connectorCatalog()))).toBe(eager)
  })

  it('checks the values of a selected entry once its module is loaded, in the same words', async () => {
    const path = write('value.json', {
      connectors: { webhook: { url_env: 'URL', retries: 'three' }, splunk: { url: 'x', token_env: 'T' } },
    })
    const eager = await messageOf(loadConnectorConfig(path, REGISTRY))
    const config = await loadConnectorConfig(path, await connectorCatalog())
    const selected = selectConnectors(config, ['webhook'], {
      categories: ['webhook'],
      command: 'integration deliver',
    })
    expect(await messageOf(loadSelected(config, selected))).toBe(eager)
  })

  it('loads only the selected connectors, and prepares them as the eager registry does', async () => {
    const path = write('ok.json', {
      connectors: {
        webhook: { url_env: 'URL' },
        jira: {
          url: 'https://acme.atlassian.net',
          email: 'a@acme.example',
          token_env: 'T',
          project_key: 'SEC',
        },
      },
    })
    const env = { URL: 'https://receiver.example/hooks', T: 'token-value' }
    const rule = { categories: ['webhook', 'itsm'] as const, command: 'integration deliver' }
    const lazy = await loadConnectorConfig(path, await connectorCatalog())
    const selected = selectConnectors(lazy, ['webhook'], { ...rule, categories: [...rule.categories] })
    expect(() => lazy.entries.find((entry) => entry.name === 'jira')!.definition).toThrow(
      /not loaded|before loadSelected/,
    )
    await loadSelected(lazy, selected)
    const eager = await loadConnectorConfig(path, REGISTRY)
    const strip = (list: ReturnType<typeof prepareConnectors>) => list.map(({ config: _c, ...rest }) => rest)
    expect(strip(prepareConnectors(lazy, selected, env))).toEqual(
      strip(
        prepareConnectors(
          eager,
          selectConnectors(eager, ['webhook'], { ...rule, categories: [...rule.categories] }),
          env,
        ),
      ),
    )
  })
})
