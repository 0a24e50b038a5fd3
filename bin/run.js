#!/usr/bin/env node
// Starts cavra from its bundles (built by `npm run build`): dist/cavra.cjs, and the heavy
// dependencies in dist/vendor/, each read and compiled only when a command first needs it.
//
// On Node 20 every bundle is compiled through vm.Script with the V8 code cache made at build
// time (<bundle>.cache): parsing and compiling was most of a run's start-up. A cache made by
// another Node version is rejected by V8 and the bundle compiles as usual.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import Module from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'
import vm from 'node:vm'

// undici's llhttp WASM otherwise keeps V8 optimising for ~200 ms after the last request.
v8.setFlagsFromString('--liftoff-only')

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')
const main = join(dist, 'cavra.cjs')
if (!existsSync(main)) {
  process.stderr.write(`cavra is not built: ${main} is missing. Run npm run build.\n`)
  process.exit(1)
}
const writeCaches = process.env.CAVRA_WRITE_CODE_CACHE === '1'
const vendor = JSON.parse(readFileSync(join(dist, 'vendor', 'manifest.json'), 'utf8'))
const loaded = new Map()
const scripts = []

/** `require` as the bundles see it: the vendored dependencies by name, anything else as usual. */
function requireFrom(file) {
  const plain = Module.createRequire(file)
  return (id) => (Object.hasOwn(vendor, id) ? load(join(dist, vendor[id])) : plain(id))
}

function load(file) {
  const known = loaded.get(file)
  if (known) return known.exports
  const module = new Module(file)
  module.filename = file
  module.paths = Module._nodeModulePaths(dirname(file))
  loaded.set(file, module)
  const cacheFile = `${file}.cache`
  const script = new vm.Script(Module.wrap(readFileSync(file, 'utf8')), {
    filename: file,
    cachedData: existsSync(cacheFile) ? readFileSync(cacheFile) : undefined,
  })
  // The first run that loads a bundle writes its cache; later runs keep it.
  if (writeCaches && !existsSync(cacheFile)) scripts.push({ script, cacheFile })
  script
    .runInThisContext()
    .call(module.exports, module.exports, requireFrom(file), module, file, dirname(file))
  return module.exports
}

// Made at exit, so each cache holds every function the run compiled, not only the top level.
if (writeCaches) {
  process.on('exit', () => {
    for (const { script, cacheFile } of scripts) {
      writeFileSync(`${cacheFile}.${process.pid}.tmp`, script.createCachedData())
      renameSync(`${cacheFile}.${process.pid}.tmp`, cacheFile)
    }
  })
}

load(main)
