import { execFileSync, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CAVRA_LAZY_PACKAGES, OCLIF_FS_PROMISES, OCLIF_LAZY_PACKAGES } from '../../build/bundle.mjs'
import { versionLine } from '../../build/version.js'
import { loadCavraConfig } from '../../src/oclif-config.js'
import { WebhookReceiver } from '../emulators/webhook-receiver.js'
import { CANARY } from '../support/canaries.js'
import { BIN, PROJECT_ROOT, runCli } from '../support/cli.js'
import { Workspace } from '../support/workspace.js'

/**
 * What start-up takes as given: `--version` is answered without oclif (build/version.ts), so
 * its line must stay oclif's own; each kind of command reads the code cache made by runs of
 * its kind (bin/bundles.js); oclif's debug output is loaded only when DEBUG asks for it
 * (build/bundle.mjs); a delivery does without node:fs/promises (src/common/files.ts), and
 * oclif's stand-in for it has every call oclif makes.
 */

const pjson = JSON.parse(readFileSync(`${PROJECT_ROOT}/package.json`, 'utf8'))
const { commandFamily } = createRequire(import.meta.url)('../../bin/bundles.js') as {
  commandFamily(argv: string[]): string
}

describe('start-up', () => {
  it('prints for --version the line oclif prints', async () => {
    const config = await loadCavraConfig(PROJECT_ROOT, pjson)
    expect(versionLine()).toBe(config.userAgent)
    expect(execFileSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' })).toBe(
      `${config.userAgent}\n`,
    )
  })

  it.each([
    ['absent', 'undefined'],
    // Bytes V8 cannot take as a cache of this source: it rejects them and compiles instead.
    ['rejected', 'Buffer.alloc(4096, 0x5a)'],
  ])('starts when every code cache is %s (an executable cross-built for another CPU)', (_, cache) => {
    // As a script file would see it: the bundle reads its arguments from process.argv[2] on.
    const script = `
      process.argv.splice(1, 0, 'start-up-test')
      const { readFileSync } = require('node:fs')
      const { join } = require('node:path')
      const dist = ${JSON.stringify(`${PROJECT_ROOT}/dist`)}
      const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'latin1'))
      require(${JSON.stringify(`${PROJECT_ROOT}/bin/bundles.js`)}).start({
        dir: dist,
        // Caches claimed to be this Node's own, so each is offered to V8.
        manifest: { ...manifest, node: process.version },
        source: (name) => readFileSync(join(dist, name), 'latin1'),
        cache: () => ${cache},
        requireBuiltin: require,
      }, process.argv.slice(2))`
    const run = (...args: string[]) =>
      execFileSync(process.execPath, ['-e', script, '--', ...args], { encoding: 'utf8', cwd: PROJECT_ROOT })
    expect(run('--version')).toBe(`${versionLine()}\n`)
    expect(run('integration', 'deliver', '--help')).toContain('$ cavra integration deliver')
  })

  it('picks the code cache of each kind of command', () => {
    expect(commandFamily(['integration', 'deliver', 'event.json'])).toBe('deliver')
    expect(commandFamily(['release', 'deliver-promotion-audit', 'x.json'])).toBe('deliver')
    expect(commandFamily(['release', 'connector-delivery-history'])).toBe('store')
    expect(commandFamily(['release', 'endpoint-publication-dashboard', '--since', '7d'])).toBe('store')
    expect(commandFamily(['metadata', 'verify'])).toBe('store')
    expect(commandFamily(['integration', 'deliver', '--help'])).toBe('start')
    expect(commandFamily(['integration'])).toBe('start')
    expect(commandFamily([])).toBe('start')
    expect(commandFamily(['integration', 'deliver', '--', '--help'])).toBe('deliver')
  })

  it("prints oclif's debug output only when DEBUG asks for it", () => {
    const help = (env: Record<string, string>) =>
      spawnSync(process.execPath, [BIN, 'metadata', '--help'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, NO_COLOR: '1', ...env },
      })
    const quiet = help({})
    expect(quiet.stdout).toContain('$ cavra metadata')
    expect(quiet.stderr).toBe('')
    const debugging = help({ DEBUG: 'oclif:*' })
    expect(debugging.stdout).toContain('$ cavra metadata')
    expect(debugging.stderr).toMatch(/oclif:config/)
  })

  it('delivers without loading node:fs/promises', async () => {
    const ws = new Workspace('cavra-start-up-')
    const receiver = new WebhookReceiver({ secret: CANARY.webhookSecret })
    await receiver.start()
    try {
      ws.write('connectors.json', {
        connectors: { webhook: { url_env: 'HOOK_URL', signing_secret_env: 'HOOK_SECRET' } },
      })
      const modules = ws.path('modules.txt')
      const preload = ws.write(
        'modules.cjs',
        `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(modules)}, process.moduleLoadList.join('\\n')))`,
      )
      const run = await runCli(
        [
          'integration',
          'deliver',
          join(PROJECT_ROOT, 'examples', 'events', 'siem-event.json'),
          '-c',
          'connectors.json',
          '-o',
          'evidence',
        ],
        {
          cwd: ws.dir,
          env: {
            HOOK_URL: receiver.endpoint,
            HOOK_SECRET: CANARY.webhookSecret,
            NODE_OPTIONS: `-r ${preload}`,
          },
        },
      )
      expect(run.code, run.stderr).toBe(0)
      expect(receiver.deliveries).toHaveLength(1)
      expect(readdirSync(ws.path('evidence'))).toHaveLength(1)
      const loaded = readFileSync(modules, 'utf8').split('\n')
      expect(loaded).toContain('NativeModule http')
      // Node's internal module behind node:fs/promises, which fs.promises loads too.
      expect(loaded).not.toContain('NativeModule internal/fs/promises')
      // Nor node:tty, with neither output a terminal: colour is decided from the stream itself.
      expect(loaded).not.toContain('NativeModule tty')
    } finally {
      await receiver.stop()
      ws.remove()
    }
  })

  it("gives oclif every node:fs/promises call it makes, through the bundle's stand-in", () => {
    const lib = join(PROJECT_ROOT, 'node_modules', '@oclif', 'core', 'lib')
    const used = new Set<string>()
    for (const file of readdirSync(lib, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.js')) continue
      const text = readFileSync(join(lib, file), 'utf8')
      for (const [, name] of text.matchAll(/const (\w+) = require\("(?:node:)?fs\/promises"\)/g)) {
        for (const [, call] of text.matchAll(new RegExp(`\\b${name}\\.(\\w+)`, 'g'))) used.add(call!)
        // Anything but member calls (a spread, a destructuring, passing the module on) would
        // reach names the stand-in cannot know.
        const uses = text.match(new RegExp(`\\b${name}\\b(?!\\.)`, 'g')) ?? []
        expect(uses, `${file} uses ${name} other than by member`).toHaveLength(1)
      }
    }
    expect(used.size).toBeGreaterThan(0)
    expect([...used].sort()).toEqual([...used].filter((call) => OCLIF_FS_PROMISES.includes(call)).sort())
  })

  it("gives every Chalk its level: chalk's own detection, left out of the bundle, is never asked", () => {
    const imports: string[] = []
    for (const file of readdirSync(join(PROJECT_ROOT, 'src'), { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue
      const text = readFileSync(join(PROJECT_ROOT, 'src', file), 'utf8')
      for (const [statement] of text.matchAll(/import[^;]*?from 'chalk'/g)) imports.push(statement)
    }
    expect(imports.length).toBeGreaterThan(0)
    // Only the Chalk class and types: never chalk's default instances or its detected levels.
    for (const statement of imports) {
      const names = /^import (?:type )?\{([^}]*)\} from 'chalk'$/.exec(statement)?.[1]
      expect(names, statement).toBeDefined()
      for (const name of names!.split(','))
        expect(['Chalk', 'ChalkInstance']).toContain(name.replace(/^\s*type\s+/, '').trim())
    }
  })

  it("reads each package cavra's modules load on first use only through its stand-in's getters", () => {
    const src = join(PROJECT_ROOT, 'src')
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((file) =>
      file.endsWith('.ts'),
    )
    for (const entry of CAVRA_LAZY_PACKAGES) {
      const importers = files.filter((file) => entry.importer.test(join(src, file)))
      expect(importers, entry.request).toHaveLength(1)
      const text = readFileSync(join(src, importers[0]!), 'utf8')
      const statements = [...text.matchAll(new RegExp(`import ([^;]*?) from '${entry.request}'`, 'g'))]
      expect(statements, `${importers[0]} imports ${entry.request}`).toHaveLength(1)
      // Named imports only: a namespace or default import would be read at load, not on first use.
      const names = /^\{([^}]*)\}$/.exec(statements[0]![1]!.trim())?.[1]
      expect(names, statements[0]![0]).toBeDefined()
      const values = names!
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== '' && !name.startsWith('type '))
      expect(values.length).toBeGreaterThan(0)
      for (const name of values) expect(entry.getters, `${importers[0]}: ${name}`).toContain(name)
    }
  })

  it('uses each package oclif loads on first use only as its stand-in provides', () => {
    const lib = join(PROJECT_ROOT, 'node_modules', '@oclif', 'core', 'lib')
    const files = readdirSync(lib, { recursive: true, encoding: 'utf8' }).filter((file) =>
      file.endsWith('.js'),
    )
    for (const entry of OCLIF_LAZY_PACKAGES) {
      let importers = 0
      for (const file of files.filter((name) => entry.importer.test(join(lib, name)))) {
        const text = readFileSync(join(lib, file), 'utf8')
        const declared = new RegExp(
          `const (\\w+) = (__importDefault\\()?require\\("${entry.request}"\\)\\)?;`,
        ).exec(text)
        if (declared === null) continue
        importers++
        const [, name, viaDefault] = declared
        // What the stand-in answers: through __importDefault its default (the stand-in itself,
        // or the real module behind its default getter), otherwise its functions and getters.
        // What a getter or the default getter returns is the real module's, used any way.
        const exact = viaDefault
          ? entry.callable
            ? ['default']
            : (entry.functions ?? []).map((key) => `default.${key}`)
          : (entry.functions ?? [])
        const real = viaDefault ? (entry.defaultGetter ? ['default'] : []) : (entry.getters ?? [])
        const uses = [...text.matchAll(new RegExp(`\\b${name}\\b(\\.[\\w.]+)?`, 'g'))].slice(1)
        expect(uses.length, `${file} uses ${entry.request}`).toBeGreaterThan(0)
        for (const [, member] of uses) {
          const path = (member ?? '').slice(1)
          const ok = exact.includes(path) || real.some((key) => path === key || path.startsWith(`${key}.`))
          expect(ok, `${file}: ${name}.${path}`).toBe(true)
        }
      }
      expect(importers, entry.request).toBeGreaterThan(0)
    }
  })
})
