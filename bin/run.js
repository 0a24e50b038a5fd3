#!/usr/bin/env node
'use strict'
// The npm entry: starts cavra from the bundles in dist/ (built by `npm run build`); see
// bin/bundles.js. CommonJS (bin/package.json), because an ES module entry costs Node its ES
// module loader on every start.
const {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
} = require('node:fs')
const { join } = require('node:path')

const dist = join(__dirname, '..', 'dist')
const manifestFile = join(dist, 'manifest.json')
if (!existsSync(manifestFile)) {
  process.stderr.write(`cavra is not built: ${manifestFile} is missing. Run npm run build.\n`)
  process.exit(1)
}
// The bundles require only Node's own modules by name (their dependencies are bundled or in
// dist/vendor/); process.getBuiltinModule spares loading node:module for createRequire.
function requireBuiltin(id) {
  const builtin = process.getBuiltinModule(id)
  if (builtin === undefined) {
    throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' })
  }
  return builtin
}

// Bundles and their caches are read into one buffer: a buffer per file was a megabyte and a
// half of fresh memory for the main bundle alone, and touching fresh memory is much of what
// start-up costs. It is sized past the largest file (pages are touched only as they are read),
// and a cache is used only until the next file is read.
let scratch = Buffer.alloc(0)
function read(file) {
  const fd = openSync(file, 'r')
  try {
    const size = fstatSync(fd).size
    if (scratch.length < size) scratch = Buffer.allocUnsafeSlow(Math.max(size, 4 * 1024 * 1024))
    let length = 0
    while (length < size) {
      const count = readSync(fd, scratch, length, size - length, length)
      if (count === 0) break
      length += count
    }
    return scratch.subarray(0, length)
  } finally {
    closeSync(fd)
  }
}

require('./bundles.js').start({
  dir: dist,
  manifest: JSON.parse(readFileSync(manifestFile, 'latin1')),
  source: (name) => read(join(dist, name)).toString('latin1'),
  cache: (name) => {
    try {
      return read(join(dist, name))
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
