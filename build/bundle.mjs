// Builds what `bin/run.js` (and the single binary) start: dist/cavra.cjs (oclif and cavra's own
// code) and, beside it, one file per heavy dependency (dist/vendor/*.cjs), each with V8 code
// caches, and dist/manifest.json, which names them.
//
// Why bundles: resolving and reading ~100 modules of oclif, zod, undici and cavra itself was
// a quarter of every run. Why separate dependency files: `--version` or a history query never
// needs undici, zod or listr2, and a file that is not needed is neither read nor compiled; the
// bundle asks for them by name when a command first imports them (bin/bundles.js maps the
// names). Why CommonJS: Node 20 can feed a V8 code cache only to a classic script (vm.Script
// cachedData), not to an ES module, and the cache halves start-up by skipping the parse and
// compile of what a run touches. The caches are made here by running representative commands
// of each kind (start-up and help; a dry-run delivery to every connector kind and a refused
// one; the store readers), so they cover the code those runs execute; the main bundle gets one
// cache per kind (bin/bundles.js picks it from the command line). A Node whose V8 does not
// match ignores them.
//
// The connector catalog (each provider's kind, category, title and the keys its entries may
// hold) is computed here from the connector modules and compiled into the bundle, so that
// checking a configuration file loads only the connectors a command selects (src/config/catalog.ts).
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')

/** Dependencies kept out of the main bundle, loaded on first use. */
export const VENDOR = [
  'undici',
  'zod',
  'yaml',
  'listr2',
  '@streamparser/json',
  'proper-lockfile',
  'lowdb',
  // Only a certificate credential (client_certificate_file) loads this.
  'jose',
  // Only `cavra serve` loads these.
  'hono',
  '@hono/node-server',
  // Only a store given by --metadata-url / CAVRA_METADATA_URL loads the PostgreSQL driver.
  'postgres',
]
/** Entry points that replace a dependency's own index (what cavra uses of it, no more). */
const VENDOR_ENTRIES = { undici: join(root, 'build', 'undici.cjs'), zod: join(root, 'build', 'zod.mjs') }

/**
 * A module of a dependency evaluated only when first used: the importer gets its stand-in
 * (`standIn`: `functions` it calls, or `callable` for a module that is a function), and the
 * real module, which esbuild bundles as usual, runs (with the Node modules it needs) only on
 * the first call.
 */
function lazyModule(name, { importer, request, ...stands }) {
  return {
    name,
    setup(build) {
      build.onResolve(
        { filter: new RegExp(`^${request.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`) },
        (args) =>
          importer.test(args.importer)
            ? { path: join(dirname(args.importer), request), namespace: name }
            : undefined,
      )
      build.onLoad({ filter: /.*/, namespace: name }, (args) => ({
        contents: standIn({ request: args.path, ...stands }),
        loader: 'js',
        resolveDir: dirname(args.path),
      }))
    },
  }
}

/**
 * oclif reads its theme file and package files through node:fs/promises on every start, and
 * loading that module costs about 2 ms on Node 24 (readline, the REPL's history and the file
 * watchers come with it). oclif gets the same calls as promises of Node's synchronous calls:
 * each is one small file or folder, read before the command runs, with nothing else to do
 * meanwhile, where a trip through the thread pool cost more than the read itself.
 */
export const OCLIF_FS_PROMISES = ['access', 'readdir', 'readFile', 'stat']
const oclifLoadsLess = {
  name: 'oclif-loads-less',
  setup(build) {
    const fromOclif = /[\\/]@oclif[\\/]core[\\/]lib[\\/]/
    build.onResolve({ filter: /^node:fs\/promises$/ }, (args) =>
      fromOclif.test(args.importer) ? { path: args.path, namespace: 'oclif-fs-promises' } : undefined,
    )
    build.onLoad({ filter: /.*/, namespace: 'oclif-fs-promises' }, () => ({
      contents: `"use strict";const fs=require("node:fs");${OCLIF_FS_PROMISES.map(
        (key) => `exports.${key}=async(...a)=>fs.${key}Sync(...a)`,
      ).join(';')}`,
      loader: 'js',
    }))
    // oclif's platform check imports wsl-utils, which loads node:child_process: isWsl comes
    // from is-wsl, which is where wsl-utils takes it from, and the rest loads on first use.
    build.onResolve({ filter: /^wsl-utils$/ }, (args) =>
      fromOclif.test(args.importer) ? { path: 'wsl-utils', namespace: 'oclif-wsl-utils' } : undefined,
    )
    build.onLoad({ filter: /.*/, namespace: 'oclif-wsl-utils' }, () => ({
      contents: `export { default as isWsl } from 'is-wsl'
export const powerShellPath = async (...args) => (await import('wsl-utils')).powerShellPath(...args)`,
      loader: 'js',
      resolveDir: root,
    }))
  },
}

/**
 * oclif's logger makes its `debug` loggers at load, and debug loads node:tty and
 * supports-color to pick their colours: about 3 ms of every start, for output that only the
 * DEBUG variable turns on. Unless DEBUG is set when cavra starts (debug itself reads it once,
 * at load), the logger gets loggers that print nothing; with DEBUG set, the real debug.
 */
const oclifDebugOnDemand = {
  name: 'oclif-debug-on-demand',
  setup(build) {
    build.onResolve({ filter: /^debug$/ }, (args) =>
      /[\\/]@oclif[\\/]core[\\/]lib[\\/]logger\.js$/.test(args.importer)
        ? { path: 'debug', namespace: 'oclif-debug-on-demand' }
        : undefined,
    )
    build.onLoad({ filter: /.*/, namespace: 'oclif-debug-on-demand' }, () => ({
      contents: `"use strict";module.exports=process.env.DEBUG?require("debug"):function(namespace){const off=function(){};off.enabled=false;off.namespace=namespace;return off}`,
      loader: 'js',
      resolveDir: root,
    }))
  },
}

/**
 * Modules oclif loads at start for what cavra never does, or only does to print help or an
 * error: node:readline (a flag read from standard input), node:perf_hooks (OCLIF_PERF
 * timings), node:child_process (the Windows shell), tinyglobby (with fdir and picomatch)
 * finds commands by file pattern, minimatch filters plugins by name pattern, lilconfig finds
 * rc files, ejs renders help templates, wrap-ansi wraps help and error messages, clean-stack
 * trims an error's stack, cli-spinners draws oclif's own spinner (cavra has its own progress
 * lines), and supports-color detects colour for oclif's theme, reading the terminal and the
 * environment and loading node:tty and node:os as it loads. Each importer gets a stand-in
 * (`standIn`) that loads the module on first use. test/unit/start-up.test.ts reads oclif's
 * sources and fails if an importer uses a module any other way than its stand-in provides.
 */
export const OCLIF_LAZY_PACKAGES = [
  {
    importer: /[\\/]@oclif[\\/]core[\\/]lib[\\/]parser[\\/]parse\.js$/,
    request: 'node:readline',
    getters: ['createInterface'],
  },
  {
    importer: /[\\/]@oclif[\\/]core[\\/]lib[\\/]performance\.js$/,
    request: 'node:perf_hooks',
    getters: ['performance', 'PerformanceObserver'],
  },
  {
    importer: /[\\/]@oclif[\\/]core[\\/]lib[\\/]util[\\/]os\.js$/,
    request: 'node:child_process',
    getters: ['execSync'],
  },
  {
    importer: /[\\/]@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/,
    request: 'tinyglobby',
    functions: ['glob'],
  },
  {
    importer: /[\\/]@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin-loader\.js$/,
    request: 'minimatch',
    functions: ['minimatch'],
  },
  // lilconfig looks for an .oclifrc only for a package.json without an oclif section (cavra's
  // has one); it takes fs.promises.readFile when it loads, which loads node:fs/promises.
  {
    importer: /[\\/]@oclif[\\/]core[\\/]lib[\\/]util[\\/]read-pjson\.js$/,
    request: 'lilconfig',
    functions: ['lilconfig'],
  },
  {
    importer: /[\\/]@oclif[\\/]core[\\/]lib[\\/](config[\\/]config|help[\\/]util)\.js$/,
    request: 'ejs',
    functions: ['render'],
  },
  {
    importer: /[\\/]@oclif[\\/]core[\\/]lib[\\/](errors[\\/]errors[\\/][^\\/]+|help[\\/]formatter)\.js$/,
    request: 'wrap-ansi',
    callable: true,
  },
  {
    importer: /[\\/]@oclif[\\/]core[\\/]lib[\\/]errors[\\/](handle|errors[\\/]cli)\.js$/,
    request: 'clean-stack',
    callable: true,
  },
  {
    importer: /[\\/]@oclif[\\/]core[\\/]lib[\\/]ux[\\/]action[\\/]spinner\.js$/,
    request: 'cli-spinners',
    defaultGetter: true,
  },
  // oclif colours help and themed output with ansis; a command that prints neither never uses it.
  {
    importer:
      /[\\/]@oclif[\\/]core[\\/]lib[\\/](ux[\\/]theme|ux[\\/]action[\\/]spinner|help[\\/](formatter|index|command|root))\.js$/,
    request: 'ansis',
    defaultGetter: true,
  },
  {
    importer: /[\\/]@oclif[\\/]core[\\/]lib[\\/]ux[\\/]supports-color\.js$/,
    request: 'supports-color',
    getters: ['stdout', 'stderr'],
  },
]

/**
 * The text of a module standing in for `request`, which it requires on first use: its
 * `functions` load it when first called, `callable` makes the stand-in the module's own
 * function, its `getters` and its `defaultGetter` (an object taken as the module's default)
 * load it when first read.
 */
function standIn({ request, functions = [], callable = false, getters = [], defaultGetter = false }) {
  const parts = ['"use strict"', `let m;const real=()=>m??(m=require(${JSON.stringify(request)}))`]
  if (callable) parts.push('module.exports=function(...a){return real().apply(this,a)}')
  for (const key of functions) parts.push(`exports.${key}=function(...a){return real().${key}.apply(this,a)}`)
  for (const key of getters)
    parts.push(
      `Object.defineProperty(exports,${JSON.stringify(key)},{enumerable:true,get:()=>real().${key}})`,
    )
  if (defaultGetter)
    parts.push(
      'Object.defineProperty(exports,"__esModule",{value:true});Object.defineProperty(exports,"default",{enumerable:true,get:real})',
    )
  return parts.join(';')
}

/** A plugin that gives each entry's importers its stand-in (`standIn`), loaded on first use. */
function lazyPackages(name, entries) {
  return {
    name,
    setup(build) {
      for (const entry of entries) {
        const namespace = `${name}-${entry.request}`
        build.onResolve({ filter: new RegExp(`^${entry.request.replace('/', '\\/')}$`) }, (args) =>
          args.namespace === 'file' && entry.importer.test(args.importer)
            ? { path: entry.request, namespace }
            : undefined,
        )
        build.onLoad({ filter: /.*/, namespace }, () => ({
          contents: standIn(entry),
          loader: 'js',
          resolveDir: root,
        }))
      }
    },
  }
}

const oclifLazyPackages = lazyPackages('oclif-lazy', OCLIF_LAZY_PACKAGES)

/**
 * A package written as an ES module that takes a Node module as its default import
 * (`import fs from 'node:fs'`, as is-wsl, is-inside-container and is-docker do, which oclif
 * loads to tell WSL apart) gets it through esbuild's CommonJS interop, which copies every
 * property of the module into a new object as the bundle loads: node:fs and node:process have
 * a hundred or more each, about a millisecond of every start. Where a file takes a Node module
 * only as its default import, the import goes to a module whose default export is Node's own
 * object, which needs no copy; any other import of it keeps the interop.
 */
const builtinDefaultImports = {
  name: 'builtin-default-imports',
  setup(build) {
    const sources = new Map()
    build.onResolve({ filter: /^node:[a-z_/]+$/ }, async (args) => {
      if (args.kind !== 'import-statement' || !/[\\/]node_modules[\\/]/.test(args.importer)) return undefined
      let text = sources.get(args.importer)
      if (text === undefined) {
        text = await readFile(args.importer, 'utf8')
        sources.set(args.importer, text)
      }
      const quoted = `['"]${args.path.replaceAll('/', '\\/')}['"]`
      const imports = [...text.matchAll(new RegExp(`\\b(?:import|export)\\b[^;'"]*?from\\s*${quoted}`, 'g'))]
      const defaultOnly =
        imports.length > 0 &&
        imports.every(([statement]) => /^import\s+[A-Za-z_$][\w$]*\s+from/.test(statement))
      return defaultOnly ? { path: args.path, namespace: 'builtin-default' } : undefined
    })
    build.onLoad({ filter: /.*/, namespace: 'builtin-default' }, (args) => ({
      contents: `export default require(${JSON.stringify(args.path)})`,
      loader: 'js',
    }))
  },
}

/**
 * Dependencies of cavra's own modules read only on some paths, each loaded when first read.
 * The token-by-token JSON parser reads an event file only when the quick scanner gives up on
 * it (a malformed file, or one it does not read): loading it for every delivery cost about
 * half a millisecond.
 */
export const CAVRA_LAZY_PACKAGES = [
  // chalk builds its style tables as it loads; cavra needs it only for colour (src/cli/output.ts).
  {
    importer: /[\\/]src[\\/]cli[\\/]output\.ts$/,
    request: 'chalk',
    getters: ['Chalk'],
  },
  {
    importer: /[\\/]src[\\/]events[\\/]json-scan\.ts$/,
    request: '@streamparser/json',
    getters: ['Tokenizer', 'TokenizerError', 'TokenParser', 'TokenParserError', 'TokenType'],
  },
]
const cavraLazyPackages = lazyPackages('cavra-lazy', CAVRA_LAZY_PACKAGES)

/**
 * Each of cavra's ES modules that imports oclif (a CommonJS package) gets esbuild's interop
 * object for it: a fresh copy of oclif's 25 exports, one getter each, made as the bundle
 * loads. Sixteen modules import oclif, so every start made sixteen copies (half a millisecond
 * of a delivery). Here they all import one ES module that re-exports oclif: one copy.
 */
const oneOclifInterop = {
  name: 'one-oclif-interop',
  setup(build) {
    build.onResolve({ filter: /^@oclif\/core$/ }, (args) =>
      args.namespace === 'file' && !/[\\/]node_modules[\\/]/.test(args.importer)
        ? { path: '@oclif/core', namespace: 'one-oclif-interop' }
        : undefined,
    )
    build.onLoad({ filter: /.*/, namespace: 'one-oclif-interop' }, () => ({
      contents: "export * from '@oclif/core'",
      loader: 'js',
      resolveDir: root,
    }))
  },
}

/**
 * cavra gives every Chalk it makes its colour level (src/cli/output.ts), so chalk's own
 * detection, which loads node:tty and node:os and reads the terminal and the environment when
 * chalk loads, decides nothing: chalk gets "no colour support detected" for its default
 * instances, which cavra does not use (test/unit/start-up.test.ts checks that).
 */
const chalkLevelGiven = {
  name: 'chalk-level-given',
  setup(build) {
    build.onResolve({ filter: /^#supports-color$/ }, (args) =>
      /[\\/]chalk[\\/]source[\\/]index\.js$/.test(args.importer)
        ? { path: 'supports-color', namespace: 'chalk-level-given' }
        : undefined,
    )
    build.onLoad({ filter: /.*/, namespace: 'chalk-level-given' }, () => ({
      contents: 'export default { stdout: false, stderr: false }',
      loader: 'js',
    }))
  },
}

/**
 * cavra's own modules get zod on first use: `z` is a getter that loads the vendored zod when
 * a schema is first built. A delivery whose configuration and event plainly fit builds none
 * (src/config/plain-check.ts, src/events/input-schema.ts), so it neither reads nor runs zod.
 */
const zodOnFirstUse = lazyPackages('zod-on-first-use', [
  { importer: /^(?![\s\S]*[\\/]node_modules[\\/])/, request: 'zod', getters: ['z'] },
])

/**
 * oclif sorts a plugin's commands with localeCompare when it loads them, and the first
 * localeCompare of a process builds ICU's collator: 15 to 30 ms of every run, for an order
 * nothing shows (help and the topic lists sort again by code unit, oclif's sortBy). The
 * commands are sorted by code unit here too, without ICU.
 */
const OCLIF_COMMAND_SORT = '.sort((a, b) => a.id.localeCompare(b.id));'
const oclifSortsWithoutIcu = {
  name: 'oclif-sorts-without-icu',
  setup(build) {
    build.onLoad({ filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8')
      if (!source.includes(OCLIF_COMMAND_SORT))
        throw new Error(
          `${args.path} no longer sorts commands as ${OCLIF_COMMAND_SORT}: revisit build/bundle.mjs`,
        )
      return {
        contents: source.replace(
          OCLIF_COMMAND_SORT,
          '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));',
        ),
        loader: 'js',
      }
    })
  },
}

/**
 * listr2 imports node:util as a namespace for util.format alone, and its bundler's namespace
 * helper reads the descriptor of every export: on Node 24 that materialises util's lazy
 * TextDecoder and TextEncoder and loads Node's encoding, worker and SIGINT-tracing modules
 * (7 ms of the single executable's start). It gets a module with util.format only.
 */
const listr2UtilFormatOnly = {
  name: 'listr2-util-format-only',
  setup(build) {
    build.onResolve({ filter: /^util$/ }, (args) =>
      /[\\/]listr2[\\/]dist[\\/]/.test(args.importer)
        ? { path: 'util', namespace: 'listr2-util' }
        : undefined,
    )
    build.onLoad({ filter: /.*/, namespace: 'listr2-util' }, () => ({
      contents: '"use strict";exports.format=require("node:util").format',
      loader: 'js',
    }))
  },
}

/**
 * oclif loads its configuration again whenever it is handed one: run() reloads the one cavra
 * builds, and each command's static run() reloads it once more, three loads per command (each
 * reads the theme file and lists every command and topic again). A configuration of this
 * very oclif (the bundle holds one) is used as it is.
 */
const OCLIF_CONFIG_RELOAD = '        if (isConfig(opts)) {\n            debug(`reloading config from '
const oclifConfigLoadedOnce = {
  name: 'oclif-config-loaded-once',
  setup(build) {
    build.onLoad({ filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/]config[\\/]config\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8')
      if (!source.includes(OCLIF_CONFIG_RELOAD))
        throw new Error(
          `${args.path} no longer reloads a configuration as expected: revisit build/bundle.mjs`,
        )
      return {
        contents: source.replace(
          OCLIF_CONFIG_RELOAD,
          `        if (isConfig(opts) && opts._base === BASE)\n            return opts;\n${OCLIF_CONFIG_RELOAD}`,
        ),
        loader: 'js',
      }
    })
  },
}

const VENDOR_PLUGINS = {
  listr2: [listr2UtilFormatOnly],
  undici: [
    // HTTP/2 (node:http2, with node:tls) is loaded only for a connection that negotiates it;
    // cavra's dispatchers do not ask for it (allowH2 is off).
    lazyModule('undici-client-h2', {
      importer: /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client\.js$/,
      request: './client-h2.js',
      callable: true,
    }),
  ],
}
/** The code caches of the main bundle, by kind of command (bin/bundles.js commandFamily). */
export const FAMILY_CACHES = {
  deliver: 'cavra.cjs.cache',
  start: 'cavra.cjs.start.cache',
  store: 'cavra.cjs.store.cache',
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // CAVRA_PROFILE_BUILD=1 keeps names, for CPU profiles that say which function ran.
  minify: process.env.CAVRA_PROFILE_BUILD !== '1',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  legalComments: 'none',
}

export function vendorFile(name) {
  return `vendor/${name.replace(/^@/, '').replace(/\//g, '-')}.cjs`
}

/**
 * The bundle as ASCII: esbuild escapes strings but leaves characters in regular expression
 * literals as they are. Each is written as `\uXXXX` (surrogate pairs above U+FFFF), which
 * means the same in a string, a template and a regular expression, so the loader can read
 * the file as latin1 and get the very string UTF-8 decoding would give.
 */
function ascii(contents) {
  const text = builtinImportsAsRequire(Buffer.from(contents).toString('utf8'))
  const escaped = text.replace(
    /[^\u0000-\u007f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
  return Buffer.from(escaped, 'latin1')
}

/**
 * Each bundle is kept already wrapped as a CommonJS module function (Node's own wrapper), so
 * bin/bundles.js compiles the text as read. Wrapping it at start-up made a second string of the
 * whole bundle, which V8 then copied flat once more before compiling: 700 KB of fresh memory
 * for the main bundle alone, on every run.
 */
const WRAPPER = ['(function (exports, require, module, __filename, __dirname) { ', '\n})']

/**
 * `import("node:http")` left in a bundle fails where it runs: bin/bundles.js compiles bundles
 * with vm.Script, which has no dynamic-import callback ("A dynamic import callback was not
 * specified"). A builtin's namespace and its `require` export the same names, so the lazy
 * imports of Node's own modules become a lazy `require`; any other literal `import()` is a
 * build error.
 */
function builtinImportsAsRequire(text) {
  const rewritten = text.replace(
    /\bimport\((["'])(node:[a-z_/]+)\1\)/g,
    (_match, _quote, id) => `Promise.resolve().then(() => require(${JSON.stringify(id)}))`,
  )
  const left = rewritten.match(/\bimport\((["'])[^"']+\1\)/)
  if (left) throw new Error(`a bundle keeps ${left[0]}, which vm.Script cannot run: bundle or require it`)
  return rewritten
}

/**
 * Writes each output to a temp file renamed into place, and drops the file's old code caches,
 * so a CLI started meanwhile (another test run) reads a whole bundle, never a half-written one.
 */
async function bundleTo(outfile, options) {
  const result = await build({ ...common, ...options, outfile, write: false })
  for (const file of result.outputFiles) {
    const temp = `${file.path}.${process.pid}.tmp`
    writeFileSync(
      temp,
      Buffer.concat([Buffer.from(WRAPPER[0]), ascii(file.contents), Buffer.from(WRAPPER[1])]),
    )
    for (const cache of [`${file.path}.cache`, `${file.path}.start.cache`, `${file.path}.store.cache`])
      rmSync(cache, { force: true })
    renameSync(temp, file.path)
  }
}

/** Each provider's kind, category, title and entry keys, from the compiled connector modules (dist/). */
async function connectorCatalog() {
  const { CONNECTORS } = await import(pathToFileURL(join(dist, 'connectors', 'index.js')).href)
  const { describeConnectors } = await import(pathToFileURL(join(dist, 'config', 'catalog.js')).href)
  return describeConnectors(CONNECTORS)
}

/** oclif's description of every command, from the compiled command modules (dist/). */
async function oclifManifest() {
  const { commandManifest } = await import(pathToFileURL(join(dist, 'oclif-config.js')).href)
  return commandManifest(root, JSON.parse(await readFile(join(root, 'package.json'), 'utf8')))
}

export async function buildBundles() {
  mkdirSync(join(dist, 'vendor'), { recursive: true })
  await bundleTo(join(dist, 'cavra.cjs'), {
    ...common,
    entryPoints: [join(root, 'build', 'entry.ts')],
    // oclif's optional require('typescript') is only reached for ts-node plugins, never here.
    external: ['typescript', ...VENDOR],
    // oclif's engine check would require package.json from disk.
    banner: { js: "process.env.OCLIF_DISABLE_ENGINE_WARNING??='1';" },
    define: {
      CAVRA_CONNECTOR_CATALOG: JSON.stringify(await connectorCatalog()),
      CAVRA_OCLIF_MANIFEST: JSON.stringify(await oclifManifest()),
    },
    plugins: [
      oclifLoadsLess,
      oclifDebugOnDemand,
      oclifLazyPackages,
      chalkLevelGiven,
      builtinDefaultImports,
      oneOclifInterop,
      cavraLazyPackages,
      oclifSortsWithoutIcu,
      oclifConfigLoadedOnce,
      zodOnFirstUse,
    ],
  })
  const vendor = {}
  for (const name of VENDOR) {
    const entry = VENDOR_ENTRIES[name]
    await bundleTo(join(dist, vendorFile(name)), {
      plugins: VENDOR_PLUGINS[name] ?? [],
      ...(entry
        ? { entryPoints: [entry] }
        : {
            stdin: {
              contents: `module.exports = require(${JSON.stringify(name)})`,
              resolveDir: root,
              loader: 'js',
            },
          }),
    })
    vendor[name] = vendorFile(name)
  }
  // `--version` is answered from a bundle of its own (build/version.ts), without oclif.
  await bundleTo(join(dist, 'version.cjs'), { entryPoints: [join(root, 'build', 'version.ts')] })
  rmSync(join(dist, 'vendor', 'manifest.json'), { force: true })
  const manifest = { main: 'cavra.cjs', version: 'version.cjs', vendor, node: process.version }
  writeFileSync(join(dist, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
}

/**
 * Runs commands of each kind, writing the code cache of each file they load. `node` and `cli`
 * default to this Node and bin/run.js over dist/; the single executables' build passes its own
 * runtime and a copy of bin/ and dist/, so that runtime's V8 makes the caches it will read.
 */
export function buildCodeCaches({ node = process.execPath, cli = join(root, 'bin', 'run.js') } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'cavra-code-cache-'))
  try {
    const run = (...args) =>
      spawnSync(node, [cli, ...args], {
        cwd: work,
        // Placeholders only: a dry run sends nothing.
        env: {
          PATH: process.env.PATH,
          NO_COLOR: '1',
          CAVRA_WRITE_CODE_CACHE: '1',
          CACHE_TOKEN: 'code-cache-placeholder-0000',
          CACHE_SLACK_URL: 'https://hooks.slack.invalid/services/T000/B000/placeholder',
          CACHE_TEAMS_URL: 'https://teams.invalid/workflows/0/triggers/manual/paths/invoke?sig=placeholder',
          CACHE_WEBHOOK_URL: 'https://receiver.invalid/hooks/cavra',
          CACHE_SIGNING_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
        encoding: 'utf8',
      })
    const config = join(root, 'build', 'code-cache-connectors.yaml')
    const event = join(root, 'examples', 'events', 'siem-event.json')
    const store = join(work, 'metadata.json')
    // The first run of a kind writes its cache: help, the version line, deliveries, store readers.
    run('integration', 'deliver', '--help')
    run('--version')
    // A real delivery to every connector kind, each refused at once (nothing listens on port
    // 9): configuration, request building, the transport, the retry loop, the task list, the
    // evidence and the store's append path; it loads every vendored dependency too.
    const kinds = ['splunk', 'sentinel', 'datadog', 'slack', 'teams', 'jira', 'servicenow', 'webhook']
    const refused = run(
      'integration',
      'deliver',
      event,
      '--provider',
      kinds.map((kind) => `refused-${kind}`).join(','),
      '--retries',
      '0',
      '--config',
      config,
      '--metadata-json',
      store,
    )
    // Exit 1: every delivery failed, as it should; anything else is a broken build.
    if (refused.status !== 1)
      throw new Error(`the code-cache delivery exited ${refused.status}:\n${refused.stderr}`)
    const dryRun = run(
      'integration',
      'deliver',
      event,
      '--dry-run',
      '--json',
      '--provider',
      kinds.join(','),
      '--config',
      config,
    )
    if (dryRun.status !== 0) throw new Error(`the code-cache dry run failed:\n${dryRun.stderr}`)
    run('release', 'connector-delivery-dashboard', '--metadata-json', store, '--format', 'json')
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildBundles()
  buildCodeCaches()
}
