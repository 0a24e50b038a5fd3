'use strict'
// The main script of the single executables (scripts/build-binaries.mjs): the same bundles as
// the npm package (dist/, see bin/bundles.js), kept as assets inside the executable, so it runs
// alone in an empty folder. Assets are read in place (getRawAsset), not copied. The code caches
// are the embedded Node's own, made at build time when the target's CPU is the build machine's;
// an executable built for another CPU has none, and its bundles are compiled as they load.
// The caches share one asset, each at an 8-byte aligned address, where V8 reads them without a
// copy (scripts/build-binaries.mjs packCaches): its first byte is the length of its lead-in,
// and the manifest gives each cache's offset after it and length.
const { dirname } = require('node:path')
const sea = require('node:sea')

const bytes = (name) => Buffer.from(sea.getRawAsset(name))
const manifest = JSON.parse(bytes('manifest.json').toString('latin1'))
let caches

require('../bin/bundles.js').start({
  dir: dirname(process.execPath),
  manifest,
  source: (name) => bytes(name).toString('latin1'),
  cache: (name) => {
    // None in an executable built for another CPU.
    const entry = manifest.caches?.[name]
    if (entry === undefined) return undefined
    caches ??= bytes('caches.bin')
    const start = caches[0] + entry[0]
    return caches.subarray(start, start + entry[1])
  },
  // Only Node's own modules can be required inside a single executable.
  requireBuiltin: (id) => require(id),
})
