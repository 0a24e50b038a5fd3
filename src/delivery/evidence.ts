import { closeSync, mkdirSync, openSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from '../common/digest.js'
import { StoreError } from '../common/errors.js'
import { fsync, quietly } from '../common/files.js'
import { fsReason } from '../common/fs-errors.js'
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
  // Creating and writing a file of a few kilobytes is done at once; only fsync, which waits for
  // the disk, goes through the thread pool, so other connectors' responses are read meanwhile.
  try {
    mkdirSync(dir, { recursive: true })
  } catch (error) {
    throw evidenceError(dir, error, true)
  }
  const stem = `${safeFileName(result.event_id)}-${compactUtc(result.generated_at)}`
  const text = `${redactor.scrub(JSON.stringify(result, null, 2))}\n`
  for (let copy = 1; ; copy++) {
    const path = join(dir, `${stem}${copy === 1 ? '' : `-${copy}`}-connector-delivery.json`)
    let fd: number
    try {
      fd = openSync(path, 'wx', 0o644)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && copy < 1000) continue
      throw evidenceError(path, error, true)
    }
    try {
      writeFileSync(fd, text, 'utf8')
      await fsync(fd)
    } catch (error) {
      quietly(() => closeSync(fd))
      quietly(() => unlinkSync(path))
      throw evidenceError(path, error, true)
    }
    closeSync(fd)
    return path
  }
}

/**
 * Checks, before anything is sent, that evidence can be written to `dir`: it is (or can be
 * made) a folder, and a file can be created in it. A regular file or an unwritable folder
 * would otherwise only fail after the delivery was made.
 */
export async function assertEvidenceDir(dir: string): Promise<void> {
  // Synchronous, as the evidence is written: a few calls on one folder, before anything is sent.
  let info: ReturnType<typeof statSync>
  try {
    info = statSync(dir, { throwIfNoEntry: false })
  } catch (error) {
    throw evidenceError(dir, error, false)
  }
  if (info && !info.isDirectory()) {
    throw new StoreError(`${dir}: the evidence folder is ${info.isFile() ? 'a file' : 'not a folder'}.`, [
      'Pass --output with a folder (it is created when missing).',
    ])
  }
  const probe = join(dir, `.cavra-probe-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    mkdirSync(dir, { recursive: true })
    closeSync(openSync(probe, 'wx', 0o600))
  } catch (error) {
    throw evidenceError(dir, error, false)
  } finally {
    // unlink, not rm: rm walks the path as a tree (Node loads its rimraf for it).
    quietly(() => unlinkSync(probe))
  }
}

function evidenceError(path: string, error: unknown, delivered: boolean): StoreError {
  const why = fsReason(error)
  const what = delivered
    ? `the delivery ran (its outcome is above), but its evidence could not be written to ${path} (${why}); nothing was indexed.`
    : `evidence cannot be written to ${path} (${why}); nothing was sent.`
  return new StoreError(what, ['Pass --output with a writable folder on a disk with free space.'])
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
