// What the tests take from build/bundle.mjs.
/** The node:fs/promises calls oclif gets from the bundle's stand-in. */
export const OCLIF_FS_PROMISES: readonly string[]
