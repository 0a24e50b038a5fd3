import {
  access as accessCallback,
  appendFile as appendFileCallback,
  close as closeCallback,
  fstat as fstatCallback,
  fsync as fsyncCallback,
  mkdir as mkdirCallback,
  mkdtemp as mkdtempCallback,
  open as openCallback,
  read as readCallback,
  readFile as readFileCallback,
  rm as rmCallback,
  stat as statCallback,
  unlink as unlinkCallback,
  writeFile as writeFileCallback,
} from 'node:fs'
import { promisify } from 'node:util'

/**
 * The file-system calls a delivery makes where they may take long (large artifacts, fsync,
 * the store), as promises over Node's callback API. The small calls made before anything is
 * sent (the configuration, a small artifact, the evidence folder's checks) and the evidence
 * file's creation are Node's synchronous ones instead: each trip through the thread pool
 * cost a run about a tenth of a millisecond more than the call itself, twenty times over
 * in one delivery, while the process had nothing else to do. These do what
 * node:fs/promises does, through the same thread pool, but loading node:fs/promises costs a
 * run about 2 ms on the Node the single executable embeds (1.3 ms on Node 20): it loads the
 * readline interface, the REPL's history and the file watchers for FileHandle's extras, which
 * cavra never uses. Descriptors are plain numbers, closed in `finally` blocks. (Named imports:
 * a namespace import of node:fs is copied property by property when the bundle loads.)
 */
export const open = promisify(openCallback)
export const close = promisify(closeCallback)
/** Resolves to `{ bytesRead, buffer }`, as FileHandle.read does. */
export const read = promisify(readCallback)
export const fstat = promisify(fstatCallback)
export const stat = promisify(statCallback)
export const fsync = promisify(fsyncCallback)
export const mkdir = promisify(mkdirCallback)
export const unlink = promisify(unlinkCallback)
export const readFile = promisify(readFileCallback)
export const writeFile = promisify(writeFileCallback)
export const appendFile = promisify(appendFileCallback)
export const access = promisify(accessCallback)
export const mkdtemp = promisify(mkdtempCallback)
export const rm = promisify(rmCallback)
