import { readdir, readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { conflict, notFound } from './problem.js'

/**
 * Release artifacts by id: the JSON files under the `--artifacts` folders (searched
 * recursively) whose top-level `execution_id`, `rollback_id` or `export_id` is the id asked
 * for. Each file is read once and its ids remembered until its size or mtime changes, so a
 * request costs a folder walk, not a parse of every file.
 */

export type ArtifactIdField = 'execution_id' | 'rollback_id' | 'export_id'

const ID_FIELDS: readonly ArtifactIdField[] = ['execution_id', 'rollback_id', 'export_id']
/** Artifacts are small; larger JSON files (evidence of big deliveries) cannot be one. */
const MAX_ARTIFACT_BYTES = 16 * 1024 * 1024
/** Folders never searched. */
const SKIPPED_FOLDERS = new Set(['node_modules', '.git'])
const MAX_DEPTH = 16

interface Known {
  size: number
  mtimeMs: number
  ids: Partial<Record<ArtifactIdField, string>>
}

export class ArtifactFinder {
  private readonly known = new Map<string, Known>()
  readonly folders: readonly string[]

  constructor(folders: readonly string[]) {
    this.folders = folders.map((folder) => resolve(folder))
  }

  /** The one file whose `field` is `id`: 404 when none, 409 when several. */
  async find(field: ArtifactIdField, id: string, what: string): Promise<string> {
    const matches: string[] = []
    const seen = new Set<string>()
    for (const folder of this.folders) {
      for await (const file of jsonFiles(folder, 0)) {
        if (seen.has(file)) continue
        seen.add(file)
        const ids = await this.idsOf(file)
        if (ids?.[field] === id) matches.push(file)
      }
    }
    if (matches.length === 0) {
      throw notFound(
        `No ${what} with ${field} "${id}" under ${this.folders.join(', ')}. Put the artifact there or start the server with --artifacts naming its folder.`,
      )
    }
    if (matches.length > 1) {
      throw conflict(
        `${matches.length} files have ${field} "${id}": ${matches.join(', ')}. Keep one of them.`,
        {
          files: matches,
        },
      )
    }
    return matches[0]!
  }

  private async idsOf(file: string): Promise<Known['ids'] | undefined> {
    const info = await stat(file).catch(() => undefined)
    if (!info?.isFile() || info.size > MAX_ARTIFACT_BYTES) return undefined
    const cached = this.known.get(file)
    if (cached && cached.size === info.size && cached.mtimeMs === info.mtimeMs) return cached.ids
    const ids: Known['ids'] = {}
    try {
      const document = JSON.parse(await readFile(file, 'utf8')) as unknown
      if (typeof document === 'object' && document !== null && !Array.isArray(document)) {
        for (const field of ID_FIELDS) {
          const value = (document as Record<string, unknown>)[field]
          if (typeof value === 'string') ids[field] = value
        }
      }
    } catch {
      // Not JSON (or gone meanwhile): not an artifact.
    }
    this.known.set(file, { size: info.size, mtimeMs: info.mtimeMs, ids })
    return ids
  }
}

/** Every `*.json` file under `folder`; linked folders are not followed (no cycles). */
async function* jsonFiles(folder: string, depth: number): AsyncGenerator<string> {
  if (depth > MAX_DEPTH) return
  let entries: import('node:fs').Dirent[]
  try {
    entries = await readdir(folder, { withFileTypes: true })
  } catch {
    return
  }
  entries.sort((a, b) => a.name.localeCompare(b.name))
  for (const entry of entries) {
    const path = join(folder, entry.name)
    if (entry.isDirectory()) {
      if (!SKIPPED_FOLDERS.has(entry.name)) yield* jsonFiles(path, depth + 1)
    } else if ((entry.isFile() || entry.isSymbolicLink()) && entry.name.endsWith('.json')) {
      yield path
    }
  }
}
