import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { COMMANDS } from '../../src/commands.js'
import { VERSION } from '../../src/common/version.js'
import { commandManifest, loadCavraConfig } from '../../src/oclif-config.js'
import { PROJECT_ROOT } from '../support/cli.js'

/**
 * The single binary builds oclif's Config from the explicit command list through internals of
 * @oclif/core 4.14; these tests fail if an upgrade changes them.
 */

const pjson = JSON.parse(readFileSync(`${PROJECT_ROOT}/package.json`, 'utf8'))

describe('oclif configuration without a disk scan', () => {
  it('registers every command of the explicit list, shown with spaces', async () => {
    const config = await loadCavraConfig(PROJECT_ROOT, pjson)
    expect(config.commands.map((command) => command.id).sort()).toEqual(Object.keys(COMMANDS).sort())
    expect(config.topicSeparator).toBe(' ')
    expect(config.findCommand('release:deliver-rollback-execution')?.summary).toMatch(/rollback/)
  })

  it('knows every command file under src/commands', async () => {
    const { readdirSync } = await import('node:fs')
    const files = ['integration', 'release', 'metadata'].flatMap((topic) =>
      readdirSync(`${PROJECT_ROOT}/src/commands/${topic}`).map(
        (file) => `${topic}:${file.replace(/\.ts$/, '')}`,
      ),
    )
    // Commands without a topic (`cavra serve`) sit at the top of src/commands.
    files.push(
      ...readdirSync(`${PROJECT_ROOT}/src/commands`)
        .filter((file) => file.endsWith('.ts'))
        .map((file) => file.replace(/\.ts$/, '')),
    )
    expect(Object.keys(COMMANDS).sort()).toEqual(files.sort())
  })

  it('keeps the compiled-in version equal to package.json', () => {
    expect(VERSION).toBe(pjson.version)
  })

  it('builds the configuration from a compiled command manifest, as oclif would make it', async () => {
    const made = await commandManifest(PROJECT_ROOT, pjson)
    expect(Object.keys(made.commands).sort()).toEqual(Object.keys(COMMANDS).sort())
    expect(made.commands['integration:deliver']?.flags.config?.char).toBe('c')
    // Compiled in, it is used as it is: oclif does not make its own again.
    const compiled = structuredClone(made)
    compiled.commands['metadata:verify']!.summary = 'compiled-manifest-marker'
    const global = globalThis as { CAVRA_OCLIF_MANIFEST?: unknown }
    global.CAVRA_OCLIF_MANIFEST = compiled
    try {
      const config = await loadCavraConfig(PROJECT_ROOT, pjson)
      expect(config.findCommand('metadata:verify')?.summary).toBe('compiled-manifest-marker')
      expect(config.commands.map((command) => command.id).sort()).toEqual(Object.keys(COMMANDS).sort())
    } finally {
      delete global.CAVRA_OCLIF_MANIFEST
    }
  })
})
