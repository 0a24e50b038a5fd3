import type * as NodeCrypto from 'node:crypto'
import { closeSync, openSync, readSync } from 'node:fs'
import { quietly } from './files.js'
import { once } from './once.js'
import { SHA256_WASM } from './sha256-wasm.js'

/**
 * SHA-256, HMAC-SHA-256 and random bytes without loading node:crypto for small inputs.
 *
 * Loading node:crypto costs a delivery more than everything it hashes: about 9 ms in the Node
 * the single executable embeds (internal/crypto/util builds the WebCrypto algorithm tables and
 * initialises OpenSSL at load) and about 4 ms in Node 20, against well under a millisecond to
 * hash the few kilobytes of one event, its request body and its evidence in JavaScript. So the
 * first `JS_LIMIT` bytes a process hashes are hashed here (FIPS 180-4); past that, and once
 * node:crypto is loaded for any reason, hashes go to node:crypto, which a bulk bundle or a
 * whole store needs for its speed. Results are the same either way (test/unit/digest.test.ts
 * checks both against node:crypto).
 */

/** Bytes a process hashes in JavaScript before it loads node:crypto for the rest. */
export const JS_LIMIT = 64 * 1024
let hashedInJs = 0

let nodeCrypto: typeof NodeCrypto | undefined
/** node:crypto, loaded on first need. */
function crypto(): typeof NodeCrypto {
  nodeCrypto ??= process.getBuiltinModule('node:crypto')
  return nodeCrypto
}

type Data = string | Uint8Array
type Encoding = 'hex' | 'base64' | 'base64url'

export interface Sha256 {
  update(data: Data): Sha256
  /** A hash in the same state, to digest while this one goes on. */
  copy(): Sha256
  digest(): Buffer
  digest(encoding: Encoding): string
}

/** A SHA-256 hash with node:crypto's update/digest shape; strings are hashed as UTF-8. */
export function sha256(): Sha256 {
  return new HybridSha256()
}

/** The SHA-256 of `data` as lowercase hex. */
export function sha256Hex(data: Data): string {
  // node:crypto's one-shot hash: no Hash object per call, which a store's worth of items
  // (a hash each) would otherwise create and collect.
  if (!claimJs(() => byteLength(data))) return crypto().hash('sha256', data, 'hex')
  const hash = new JsSha256()
  hash.update(toBytes(data))
  return hash.digest().toString('hex')
}

/** HMAC-SHA-256 (RFC 2104) of the concatenated `parts` under `key`. */
export function hmacSha256(key: Uint8Array, ...parts: Data[]): Buffer {
  // The two 64-byte pads are hashed too.
  if (!claimJs(() => parts.reduce((sum, part) => sum + byteLength(part), 0) + 128)) {
    const hmac = crypto().createHmac('sha256', key)
    for (const part of parts) hmac.update(part)
    return hmac.digest()
  }
  return jsHmacSha256(key, parts)
}

/** HMAC-SHA-256 in JavaScript (exported for the tests, which compare it with node:crypto). */
export function jsHmacSha256(key: Uint8Array, parts: Data[]): Buffer {
  const block = new Uint8Array(64)
  if (key.length > 64) {
    const long = new JsSha256()
    long.update(key)
    block.set(long.digest())
  } else block.set(key)
  const inner = new JsSha256()
  const outer = new JsSha256()
  const pad = new Uint8Array(64)
  for (let i = 0; i < 64; i++) pad[i] = block[i]! ^ 0x36
  inner.update(pad)
  for (const part of parts) inner.update(toBytes(part))
  for (let i = 0; i < 64; i++) pad[i] = block[i]! ^ 0x5c
  outer.update(pad)
  outer.update(inner.digest())
  return outer.digest()
}

let urandom: number | null | undefined
/**
 * `size` bytes from the kernel's random source (/dev/urandom, the source node:crypto's
 * randomBytes draws from too), or from node:crypto where that file is missing.
 */
export function randomBytes(size: number): Buffer {
  if (urandom === undefined) {
    try {
      urandom = openSync('/dev/urandom', 'r')
    } catch {
      urandom = null
    }
  }
  if (urandom !== null) {
    const bytes = Buffer.allocUnsafe(size)
    let filled = 0
    try {
      while (filled < size) {
        const count = readSync(urandom, bytes, filled, size - filled, null)
        if (count === 0) break
        filled += count
      }
    } catch {
      filled = 0
    }
    if (filled === size) return bytes
    const broken = urandom
    quietly(() => closeSync(broken))
    urandom = null
  }
  return crypto().randomBytes(size)
}

/** A random (version 4) UUID, RFC 9562. */
export function randomUuid(): string {
  const bytes = randomBytes(16)
  bytes[6] = (bytes[6]! & 0x0f) | 0x40
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** Whether `size` more bytes may be hashed in JavaScript (and counts them if so). */
function claimJs(size: () => number): boolean {
  // Once node:crypto is loaded, input goes straight to it: not even measured, nor copied.
  if (nodeCrypto !== undefined) return false
  const bytes = size()
  if (hashedInJs + bytes > JS_LIMIT) return false
  hashedInJs += bytes
  return true
}

function byteLength(data: Data): number {
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length
}

function toBytes(data: Data): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data
}

/**
 * Keeps (a copy of) its input while the process may still hash in JavaScript, then hands it
 * all to node:crypto. Copies, because callers reuse their buffers between updates.
 */
class HybridSha256 implements Sha256 {
  private kept: Uint8Array[] = []
  private native: NodeCrypto.Hash | undefined

  update(data: Data): Sha256 {
    if (!this.native) {
      if (claimJs(() => byteLength(data))) {
        this.kept.push(typeof data === 'string' ? toBytes(data) : Uint8Array.prototype.slice.call(data))
        return this
      }
      this.native = crypto().createHash('sha256')
      for (const part of this.kept) this.native.update(part)
      this.kept = []
    }
    this.native.update(data)
    return this
  }

  copy(): Sha256 {
    const twin = new HybridSha256()
    twin.native = this.native?.copy()
    twin.kept = [...this.kept]
    return twin
  }

  digest(): Buffer
  digest(encoding: Encoding): string
  digest(encoding?: Encoding): Buffer | string {
    let result: Buffer
    if (this.native) result = this.native.digest()
    else {
      const hash = new JsSha256()
      for (const part of this.kept) hash.update(part)
      this.kept = []
      result = hash.digest()
    }
    return encoding ? result.toString(encoding) : result
  }
}

// FIPS 180-4, 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first
// 64 primes.
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
])

/**
 * The compression function compiled to WebAssembly (sha256.wat, assembled into sha256-wasm.ts
 * by `npm run wasm`). A delivery hashes about a hundred blocks (its event, the signed request
 * body, the recorded body), and JavaScript runs them in V8's interpreter, since a short run ends
 * before the optimising compilers take over: 2.2-3.6 ms in a cold Node 24 process, against
 * 1.2-1.8 ms for the same hashes with this module, its compile and instantiation included. The
 * module is made on first use; where WebAssembly is missing or refused (Node's --jitless),
 * JavaScript compresses instead, with the same results.
 */
interface WasmCompressor {
  compress(pointer: number, blocks: number): void
  /** Bytes 0-31: the state, as little-endian words. */
  state: Int32Array
  memory: Uint8Array
}
/** Where the blocks go in the module's memory (below: the state, K and the schedule). */
const WASM_BLOCKS_AT = 1024
/** Blocks per call: what fits in the module's one page of memory after WASM_BLOCKS_AT. */
const WASM_BLOCKS_PER_CALL = (65536 - WASM_BLOCKS_AT) / 64

/** What sha256.wat's module needs of the WebAssembly API (Node's types for 20 leave it out). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (
    module: object,
  ) => { exports: { compress: WasmCompressor['compress']; memory: { buffer: ArrayBuffer } } }
}

/** The module, made on first use; null where WebAssembly is missing or refuses it. */
const wasmCompressor = once((): WasmCompressor | null => {
  const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly
  if (api === undefined) return null
  try {
    const { compress, memory } = new api.Instance(new api.Module(Buffer.from(SHA256_WASM, 'base64'))).exports
    return { compress, state: new Int32Array(memory.buffer, 0, 8), memory: new Uint8Array(memory.buffer) }
  } catch {
    return null
  }
})

/** FIPS 180-4 SHA-256 over bytes (exported for the tests, which can keep it to JavaScript). */
export class JsSha256 {
  // 5.3.3: the initial hash value.
  private readonly state = new Int32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ])
  private readonly words = new Int32Array(64)
  private readonly block = new Uint8Array(64)
  private filled = 0
  private length = 0

  constructor(private readonly useWasm = true) {}

  update(bytes: Uint8Array): void {
    this.length += bytes.length
    let offset = 0
    if (this.filled > 0) {
      const take = Math.min(64 - this.filled, bytes.length)
      this.block.set(bytes.subarray(0, take), this.filled)
      this.filled += take
      offset = take
      if (this.filled < 64) return
      this.compressBlocks(this.block, 0, 1)
      this.filled = 0
    }
    const whole = (bytes.length - offset) >> 6
    if (whole > 0) {
      this.compressBlocks(bytes, offset, whole)
      offset += whole * 64
    }
    if (offset < bytes.length) {
      this.block.set(bytes.subarray(offset), 0)
      this.filled = bytes.length - offset
    }
  }

  digest(): Buffer {
    // 5.1.1: a 1 bit, zeros, and the message length in bits as a 64-bit big-endian number.
    const bits = this.length * 8
    const tail = new Uint8Array(this.filled < 56 ? 64 - this.filled : 128 - this.filled)
    tail[0] = 0x80
    const view = new DataView(tail.buffer)
    view.setUint32(tail.length - 8, Math.floor(bits / 0x100000000))
    view.setUint32(tail.length - 4, bits >>> 0)
    this.update(tail)
    const out = Buffer.alloc(32)
    for (let i = 0; i < 8; i++) out.writeInt32BE(this.state[i]!, i * 4)
    return out
  }

  /** Compresses `count` whole blocks of `bytes` from `offset` into the state. */
  private compressBlocks(bytes: Uint8Array, offset: number, count: number): void {
    const wasm = this.useWasm ? wasmCompressor() : null
    if (!wasm) {
      for (let i = 0; i < count; i++) this.compress(bytes, offset + i * 64)
      return
    }
    // The module holds one state: each hash brings its own in and takes it back out.
    wasm.state.set(this.state)
    for (let done = 0; done < count; ) {
      const blocks = Math.min(WASM_BLOCKS_PER_CALL, count - done)
      const from = offset + done * 64
      wasm.memory.set(bytes.subarray(from, from + blocks * 64), WASM_BLOCKS_AT)
      wasm.compress(WASM_BLOCKS_AT, blocks)
      done += blocks
    }
    this.state.set(wasm.state)
  }

  // 6.2.2: the compression function, on the block at `offset`.
  private compress(bytes: Uint8Array, offset: number): void {
    const w = this.words
    for (let i = 0; i < 16; i++) {
      const at = offset + i * 4
      w[i] = (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15]!
      const y = w[i - 2]!
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0
    }
    const state = this.state
    let a = state[0]!
    let b = state[1]!
    let c = state[2]!
    let d = state[3]!
    let e = state[4]!
    let f = state[5]!
    let g = state[6]!
    let h = state[7]!
    for (let i = 0; i < 64; i++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
      const choice = (e & f) ^ (~e & g)
      const t1 = (h + s1 + choice + K[i]! + w[i]!) | 0
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
      const majority = (a & b) ^ (a & c) ^ (b & c)
      const t2 = (s0 + majority) | 0
      h = g
      g = f
      f = e
      e = (d + t1) | 0
      d = c
      c = b
      b = a
      a = (t1 + t2) | 0
    }
    state[0] = (state[0]! + a) | 0
    state[1] = (state[1]! + b) | 0
    state[2] = (state[2]! + c) | 0
    state[3] = (state[3]! + d) | 0
    state[4] = (state[4]! + e) | 0
    state[5] = (state[5]! + f) | 0
    state[6] = (state[6]! + g) | 0
    state[7] = (state[7]! + h) | 0
  }
}
