import {
  access as accessCallback,
  appendFile as appendFileCallback,
  close as closeCallback,
  fstat as fstatCallback,
  fsync as fsyncCallback,
  mkdtemp as mkdtempCallback,
  open as openCallback,
  read as readCallback,
  readFile as readFileCallback,
  rm as rmCallback,
  stat as statCallback,
  writeFile as writeFileCallback,
} from 'node:fs'
import { promisify } from 'node:util'

/**
 * The file-system calls that may take long (large artifacts, the evidence's fsync, the store),
 * as promises over Node's callback API, through the same thread pool as node:fs/promises:
 * loading node:fs/promises costs a run about 2 ms on the Node the single executable embeds
 * (1.3 ms on Node 20), for the readline interface, the REPL's history and the file watchers
 * of FileHandle's extras, which cavra never uses. Descriptors are plain numbers, closed in
 * `finally` blocks. The small calls made before anything is sent (the configuration, a small
 * artifact, the evidence folder's checks) and the evidence file's creation use Node's
 * synchronous calls instead: a trip through the thread pool cost more than each of them, about
 * twenty times in one delivery, while nothing else was under way. (Named imports: a namespace
 * import of node:fs is copied property by property when the bundle loads.)
 */
export const open = promisify(openCallback)
export const close = promisify(closeCallback)
/** Resolves to `{ bytesRead, buffer }`, as FileHandle.read does. */
export const read = promisify(readCallback)
export const fstat = promisify(fstatCallback)
export const stat = promisify(statCallback)
export const fsync = promisify(fsyncCallback)
export const readFile = promisify(readFileCallback)
export const writeFile = promisify(writeFileCallback)
export const appendFile = promisify(appendFileCallback)
export const access = promisify(accessCallback)
export const mkdtemp = promisify(mkdtempCallback)
export const rm = promisify(rmCallback)

/** Cleanup after a failure or at the end: its own error would only hide the one that matters. */
export function quietly(cleanup: () => void): void {
  try {
    cleanup()
  } catch {
    // Nothing more to undo.
  }
}
