/** Kept equal to package.json's version by a test; the single binary cannot read package.json. */
export const VERSION = '0.1.0'
