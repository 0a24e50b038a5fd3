#!/usr/bin/env node
'use strict'
// The npm entry: starts cavra from the bundles in dist/ (built by `npm run build`); see
// bin/bundles.js. CommonJS (bin/package.json), because an ES module entry costs Node its ES
// module loader on every start.
const { existsSync, readFileSync, renameSync, writeFileSync } = require('node:fs')
const Module = require('node:module')
const { join } = require('node:path')

const dist = join(__dirname, '..', 'dist')
const manifestFile = join(dist, 'manifest.json')
if (!existsSync(manifestFile)) {
  process.stderr.write(`cavra is not built: ${manifestFile} is missing. Run npm run build.\n`)
  process.exit(1)
}
const requireBuiltin = Module.createRequire(join(dist, 'cavra.cjs'))

require('./bundles.js').start({
  dir: dist,
  manifest: JSON.parse(readFileSync(manifestFile, 'latin1')),
  source: (name) => readFileSync(join(dist, name), 'latin1'),
  cache: (name) => {
    try {
      return readFileSync(join(dist, name))
    } catch {
      return undefined
    }
  },
  saveCache: (name, data) => {
    const file = join(dist, name)
    writeFileSync(`${file}.${process.pid}.tmp`, data)
    renameSync(`${file}.${process.pid}.tmp`, file)
  },
  requireBuiltin,
})
