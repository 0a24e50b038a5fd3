// What the tests take from build/bundle.mjs.
/** The node:fs/promises calls oclif gets from the bundle's stand-in. */
export const OCLIF_FS_PROMISES: readonly string[]
/** The packages oclif's files get a stand-in for, loaded on first use. */
export const OCLIF_LAZY_PACKAGES: readonly {
  importer: RegExp
  request: string
  functions?: string[]
  callable?: boolean
  getters?: string[]
  defaultGetter?: boolean
}[]
/** The packages cavra's own modules get a stand-in for, loaded when first read. */
export const CAVRA_LAZY_PACKAGES: readonly { importer: RegExp; request: string; getters: string[] }[]
