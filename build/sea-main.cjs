'use strict'
// The main script of the single executables (scripts/build-binaries.mjs): the same bundles as
// the npm package (dist/, see bin/bundles.js), kept as assets inside the executable, so it runs
// alone in an empty folder. Assets are read in place (getRawAsset), not copied. The code caches
// are the embedded Node's own, made at build time when the target's CPU is the build machine's;
// an executable built for another CPU has none, and its bundles are compiled as they load.
const { dirname } = require('node:path')
const sea = require('node:sea')

const bytes = (name) => Buffer.from(sea.getRawAsset(name))

require('../bin/bundles.js').start({
  dir: dirname(process.execPath),
  manifest: JSON.parse(bytes('manifest.json').toString('latin1')),
  source: (name) => bytes(name).toString('latin1'),
  cache: (name) => {
    try {
      return bytes(name)
    } catch {
      // No such asset: this executable carries no cache for it.
      return undefined
    }
  },
  // Only Node's own modules can be required inside a single executable.
  requireBuiltin: (id) => require(id),
})
