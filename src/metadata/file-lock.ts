import lockfile from 'proper-lockfile'
import type { StoreError } from '../common/errors.js'

/**
 * The exclusive cross-process lock of a file cavra writes (the store, the integration
 * registry): the folder `<file>.lock` beside it, refreshed while held. A lock not refreshed
 * for LOCK_STALE_MS belongs to a process that died and is taken over; waiting for a live one is
 * bounded, then a StoreError says what to do.
 */

/** How long to wait for another process's lock before giving up (exit 5). */
export const LOCK_WAIT_MS = Number(process.env.CAVRA_METADATA_LOCK_WAIT_MS ?? 15_000)
const LOCK_STALE_MS = 5_000

export interface LockMessages {
  /** The lock folder could not be made (`reason` is the system's). */
  cannotLock(reason: string): StoreError
  /** Another process kept the lock past the wait. */
  heldTooLong(seconds: number): StoreError
}

export async function acquireLock(file: string, messages: LockMessages): Promise<() => Promise<void>> {
  const started = Date.now()
  for (;;) {
    try {
      return await lockfile.lock(file, {
        realpath: false,
        stale: LOCK_STALE_MS,
        update: LOCK_STALE_MS / 2,
        retries: { retries: 20, minTimeout: 5, maxTimeout: 100, factor: 1.5, randomize: true },
      })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED')
        throw messages.cannotLock((error as Error).message)
      if (Date.now() - started >= LOCK_WAIT_MS) throw messages.heldTooLong(Math.round(LOCK_WAIT_MS / 1000))
    }
  }
}
