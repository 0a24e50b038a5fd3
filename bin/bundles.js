'use strict'
// Starts cavra from its bundles, wherever they are kept: files in dist/ (bin/run.js, the npm
// package) or assets inside the single executable (build/sea-main.cjs). Both are made by
// build/bundle.mjs: dist/cavra.cjs (oclif and cavra's own code) and one file per heavy
// dependency (dist/vendor/*.cjs), each read and compiled only when a command first needs it.
//
// Each bundle is compiled through vm.Script with the V8 code cache made at build time, because
// parsing and compiling was most of a run's start-up. The main bundle has one cache per kind of
// command (start-up and help, deliveries, store readers): a cache holds the functions its runs
// compiled, and V8 reads a cache whole, so each kind reads only what it runs. Caches are made by
// one Node version and used only by that version (another V8 would reject them anyway); there,
// Node >= 22.1 keeps its own compile cache instead (module.enableCompileCache).
//
// Sources are read as latin1: the bundles are ASCII (build/bundle.mjs checks), and latin1 makes
// the one-byte string V8 wants without decoding UTF-8. Each bundle is stored already wrapped as
// a module function (build/bundle.mjs WRAPPER), so the text is compiled as read.
const { dirname, join } = require('node:path')
const vm = require('node:vm')

/** The code cache of the main bundle that fits a command line. */
function commandFamily(argv) {
  const [topic, command = ''] = argv
  const end = argv.indexOf('--')
  if (
    (end === -1 ? argv : argv.slice(0, end)).includes('--help') ||
    command === '' ||
    command.startsWith('-')
  )
    return 'start'
  if (topic === 'metadata' || (topic === 'release' && /-(history|dashboard)$/.test(command))) return 'store'
  if (topic === 'integration' || topic === 'release') return 'deliver'
  return 'start'
}

/**
 * Runs the main bundle (or, for `--version`, the version bundle). `store` says where the bundles are:
 * - `dir`: the folder the bundles claim as theirs (`__dirname`, stack traces);
 * - `manifest`: build/bundle.mjs's manifest (vendor file of each dependency, the Node version);
 * - `source(name)`: a bundle's text; `cache(name)`: its code cache, or undefined, read after the
 *   text and needed only until the next call of either (the npm entry reads both into one buffer);
 * - `saveCache(name, data)` (optional): keeps a cache made by this run;
 * - `requireBuiltin(id)`: require for anything not vendored (Node's own modules).
 */
function start(store, argv = process.argv.slice(2)) {
  const { manifest } = store
  const cachesFit = manifest.node === process.version
  // node:module (a third of a millisecond to load, with the ES module loader on Node 20) only
  // where Node keeps the compile cache: a bundle's own `module` needs no more than an object.
  const Module = cachesFit ? undefined : require('node:module')
  const nodeCache = typeof Module?.enableCompileCache === 'function'
  if (nodeCache) Module.enableCompileCache()
  const loaded = new Map()
  const made = []
  const writeCaches = process.env.CAVRA_WRITE_CODE_CACHE === '1' && store.saveCache !== undefined
  const family = commandFamily(argv)

  function load(name, cacheName) {
    const known = loaded.get(name)
    if (known) return known.exports
    const file = join(store.dir, name)
    const module = nodeCache ? new Module(file) : { id: file, exports: {}, loaded: false }
    module.filename = file
    loaded.set(name, module)
    const require = (id) => {
      if (!Object.hasOwn(manifest.vendor, id)) return store.requireBuiltin(id)
      // undici's llhttp WASM otherwise keeps V8 optimising for ~200 ms after the last request
      // (only a proxied run loads undici). Bundles compiled after this have no fitting code
      // cache (V8 takes a cache only under the flags it was made with) and are compiled.
      if (id === 'undici') store.requireBuiltin('node:v8').setFlagsFromString('--liftoff-only')
      return load(manifest.vendor[id], `${manifest.vendor[id]}.cache`)
    }
    const source = store.source(name)
    if (nodeCache) {
      // Through Node's own loader, which keeps the compiled code; the bundle's `require` is ours.
      module.require = require
      module._compile(`${source}.call(this, exports, require, module, __filename, __dirname)`, file)
      return module.exports
    }
    const cachedData = cachesFit ? store.cache(cacheName) : undefined
    const script = new vm.Script(source, { filename: file, cachedData })
    if (writeCaches && (cachedData === undefined || script.cachedDataRejected))
      made.push({ script, cacheName })
    script.runInThisContext().call(module.exports, module.exports, require, module, file, dirname(file))
    return module.exports
  }

  // Made at exit, so each cache holds every function the run compiled, not only the top level.
  if (writeCaches) {
    process.on('exit', () => {
      for (const { script, cacheName } of made) store.saveCache(cacheName, script.createCachedData())
    })
  }
  // Once nothing is left to do, exit as process.exit does: Node's own exit then tears down the
  // whole V8 heap page by page first (each page unmapped), which took longer than many of the
  // commands themselves. 'beforeExit' comes only when the event loop is empty (every write and
  // request done), and process.exit keeps process.exitCode and still emits 'exit'.
  process.once('beforeExit', () => process.exit())
  // oclif prints its version line when the first argument is --version, whatever follows;
  // build/version.ts prints the same line without loading oclif.
  if (argv[0] === '--version' && manifest.version) {
    load(manifest.version, `${manifest.version}.cache`).printVersion()
    return
  }
  load(manifest.main, family === 'deliver' ? `${manifest.main}.cache` : `${manifest.main}.${family}.cache`)
}

module.exports = { start, commandFamily }
