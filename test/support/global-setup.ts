import { execFileSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/**
 * End-to-end tests run the built CLI; rebuild dist/ (the compiled sources and the bundles
 * bin/run.js starts) first when any source is newer, so `npx vitest` alone never tests stale
 * JavaScript.
 */
export default function setup(): void {
  const root = join(import.meta.dirname, '..', '..')
  const built = Math.min(
    mtime(join(root, 'dist', 'commands.js')),
    mtime(join(root, 'dist', 'cavra.cjs.cache')),
  )
  const sources = Math.max(
    newestSource(join(root, 'src')),
    newestSource(join(root, 'build')),
    mtime(join(root, 'bin', 'run.js')),
  )
  if (built !== 0 && sources <= built) return
  const run = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
  run([join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'])
  run([join(root, 'build', 'bundle.mjs')])
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs
  } catch {
    return 0
  }
}

function newestSource(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : mtime(path))
  }
  return newest
}
