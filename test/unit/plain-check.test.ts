import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { describeConnectors } from '../../src/config/catalog.js'
import { entrySchema, settingsSchema, settingsShape } from '../../src/config/load.js'
import {
  describeSettings,
  entryPlainlyFits,
  fitsRule,
  settingsPlainlyFit,
} from '../../src/config/plain-check.js'
import { CONNECTORS } from '../../src/connectors/index.js'
import {
  ENTRA_CREDENTIAL_KEYS,
  entraCredentialSettings,
} from '../../src/connectors/shared/entra-credentials.js'

/**
 * The plain check answers "fits" only where zod would: for every setting of every provider,
 * on values of every kind, and for whole entries and resolved settings. zod is the judge.
 */

const VALUES: unknown[] = [
  '',
  'x',
  'POST',
  'patch',
  'datadoghq.eu',
  'cavra@acme.example',
  'not an email',
  'SPLUNK_TOKEN',
  '9LIVES',
  'github-actions',
  'logs-ingestion',
  '2',
  '3',
  '42',
  '042',
  'a'.repeat(300),
  0,
  -0,
  1,
  2,
  3,
  0.5,
  -1,
  10,
  11,
  600,
  600.5,
  601,
  2 ** 53,
  true,
  false,
  null,
  [],
  ['tag:a', 'env:prod'],
  ['has space'],
  [1, 2],
  {},
  { 'x-team': 'soc' },
  { 'x-team': 1 },
  { customfield_10010: 'value' },
]

describe('the rules taken from the settings schemas', () => {
  it('cover every setting of the delivery path, and the common ones everywhere', () => {
    const described = describeConnectors(CONNECTORS)
    for (const connector of described) {
      const unknown = connector.plainSettings.filter((setting) => setting.rule === null).map((s) => s.key)
      expect(unknown, connector.provider).not.toContain('url')
      if (connector.provider === 'webhook') expect(unknown).toEqual([])
    }
  })

  it.each(CONNECTORS.map((connector) => [connector.provider, connector] as const))(
    '%s: a value fits a rule exactly when it fits the schema',
    (_provider, connector) => {
      const shape = settingsShape(connector)
      for (const setting of describeSettings(shape)) {
        if (setting.rule === null) continue
        const schema = shape[setting.key] as z.ZodType
        for (const value of VALUES) {
          expect(fitsRule(value, setting.rule), `${setting.key}: ${JSON.stringify(value)}`).toBe(
            schema.safeParse(value).success,
          )
        }
      }
    },
  )
})

function entriesOf(connector: (typeof CONNECTORS)[number]): Record<string, unknown>[] {
  const shape = settingsShape(connector)
  const keys = Object.keys(entrySchema(connector).shape)
  const entries: Record<string, unknown>[] = [{}]
  // Each key with each value, alone and beside a valid url.
  for (const key of keys) {
    for (const value of VALUES) {
      entries.push({ [key]: value })
      entries.push({ url_env: 'RECEIVER_URL', [key]: value })
    }
  }
  entries.push({ unknown_key: 'x' }, { url: 'https://x.example', url_env: 'BOTH' })
  expect(Object.keys(shape).length).toBeGreaterThan(0)
  return entries
}

describe('the check of a whole entry', () => {
  it.each(CONNECTORS.map((connector) => [connector.provider, connector] as const))(
    '%s: an entry plainly fits only when the entry schema accepts it',
    (_provider, connector) => {
      const plain = describeSettings(settingsShape(connector))
      let fast = 0
      for (const entry of entriesOf(connector)) {
        const fits = entryPlainlyFits(entry, plain)
        const accepted = entrySchema(connector).safeParse(entry).success
        if (fits) {
          fast++
          expect(accepted, JSON.stringify(entry)).toBe(true)
        }
        if (accepted && plain.every((setting) => setting.rule !== null))
          expect(fits, JSON.stringify(entry)).toBe(true)
      }
      expect(fast).toBeGreaterThan(0)
    },
  )

  it('takes the shipped example configuration as it is', () => {
    const example = JSON.parse(
      readFileSync(
        join(import.meta.dirname, '../../examples/connectors/cavra-connectors.example.json'),
        'utf8',
      ),
    ) as { connectors: Record<string, Record<string, unknown>> }
    const byProvider = new Map(CONNECTORS.map((connector) => [connector.provider, connector]))
    for (const [name, entry] of Object.entries(example.connectors)) {
      const connector = byProvider.get((entry.provider as string | undefined) ?? name)!
      const plain = describeSettings(settingsShape(connector))
      expect(entrySchema(connector).safeParse(entry).success, name).toBe(true)
      if (plain.every((setting) => setting.rule !== null))
        expect(entryPlainlyFits(entry, plain), name).toBe(true)
    }
  })
})

describe('the check of resolved settings', () => {
  it.each(CONNECTORS.map((connector) => [connector.provider, connector] as const))(
    '%s: settings plainly fit only when the settings schema accepts them',
    (_provider, connector) => {
      const shape = settingsShape(connector)
      const plain = describeSettings(shape)
      for (const key of Object.keys(shape)) {
        for (const value of VALUES) {
          const settings = { url: 'https://receiver.example/hook', [key]: value }
          if (settingsPlainlyFit(settings, plain))
            expect(
              settingsSchema(connector).safeParse(settings).success,
              `${key}: ${JSON.stringify(value)}`,
            ).toBe(true)
        }
      }
      expect(settingsPlainlyFit({ surprise: 'x' }, plain)).toBe(false)
    },
  )
})

describe('shared settings', () => {
  it('name the Entra credential keys without building their schemas', () => {
    expect([...ENTRA_CREDENTIAL_KEYS]).toEqual(Object.keys(entraCredentialSettings()))
  })
})
