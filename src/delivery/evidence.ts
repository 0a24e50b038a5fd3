import { mkdir, open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { DeliveryResult } from './evidence-types.js'
import type { Redactor } from './redact.js'

/**
 * Writes a delivery result as `<output>/<event_id>-<UTC yyyymmddThhmmssZ>-connector-delivery.json`
 * (docs/evidence.md). Files are created exclusively, so an earlier delivery's evidence is never
 * overwritten: a second delivery in the same second gets a `-2` suffix. The JSON is scrubbed
 * of every secret of the run before it touches the disk.
 */
export async function writeEvidence(
  dir: string,
  result: DeliveryResult,
  redactor: Redactor,
): Promise<string> {
  await mkdir(dir, { recursive: true })
  const stem = `${safeFileName(result.event_id)}-${compactUtc(result.generated_at)}`
  const text = `${redactor.scrub(JSON.stringify(result, null, 2))}\n`
  for (let copy = 1; ; copy++) {
    const path = join(dir, `${stem}${copy === 1 ? '' : `-${copy}`}-connector-delivery.json`)
    let handle: Awaited<ReturnType<typeof open>> | undefined
    try {
      handle = await open(path, 'wx', 0o644)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && copy < 1000) continue
      throw error
    }
    try {
      await handle.writeFile(text, 'utf8')
      await handle.sync()
    } catch (error) {
      await handle.close()
      await rm(path, { force: true })
      throw error
    }
    await handle.close()
    return path
  }
}

/** Event ids come from artifacts; keep file names portable and inside the directory. */
export function safeFileName(id: string): string {
  const cleaned = id.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '')
  return (cleaned || 'event').slice(0, 120)
}

/** 2026-11-28T15:21:04.312Z → 20261128T152104Z */
export function compactUtc(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '')
}
