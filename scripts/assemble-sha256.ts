// Assembles src/common/sha256.wat into src/common/sha256-wasm.ts (npm run wasm). The module is
// kept as base64 in a TypeScript file so that the bundles carry it with no file of their own;
// test/unit/digest.test.ts fails if the two drift apart.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { assembleSha256 } from './wasm-assembly.js'

const root = join(import.meta.dirname, '..')
const base64 = (
  await assembleSha256(readFileSync(join(root, 'src', 'common', 'sha256.wat'), 'utf8'))
).toString('base64')
writeFileSync(
  join(root, 'src', 'common', 'sha256-wasm.ts'),
  `// Made by scripts/assemble-sha256.ts from sha256.wat: do not edit.
/** The WebAssembly module of sha256.wat, base64. */
export const SHA256_WASM = '${base64}'
`,
)
