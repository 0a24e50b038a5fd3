import { execFileSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/**
 * End-to-end tests run the built CLI; rebuild dist/ first when any source is newer than it,
 * so `npx vitest` alone never tests stale JavaScript.
 */
export default function setup(): void {
  const root = join(import.meta.dirname, '..', '..')
  const built = mtime(join(root, 'dist', 'commands.js'))
  if (built !== 0 && newestSource(join(root, 'src')) <= built) return
  execFileSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  )
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
