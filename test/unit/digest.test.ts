import { execFileSync } from 'node:child_process'
import * as nodeCrypto from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it, vi } from 'vitest'
import { assembleSha256 } from '../../scripts/wasm-assembly.js'
import {
  hmacSha256,
  JS_LIMIT,
  JsSha256,
  jsHmacSha256,
  randomBytes,
  randomUuid,
  sha256,
  sha256Hex,
} from '../../src/common/digest.js'
import { SHA256_WASM } from '../../src/common/sha256-wasm.js'
import { PROJECT_ROOT } from '../support/cli.js'

// node:crypto (OpenSSL) is the judge: every size around the block and padding boundaries, and
// around the point where a hash moves to node:crypto.
const SIZES = [
  0,
  1,
  3,
  55,
  56,
  57,
  63,
  64,
  65,
  119,
  120,
  127,
  128,
  1000,
  JS_LIMIT - 1,
  JS_LIMIT,
  JS_LIMIT + 1,
  300_000,
]

function expected(data: Buffer): string {
  return nodeCrypto.createHash('sha256').update(data).digest('hex')
}

// Both ways JsSha256 compresses: the WebAssembly module, and JavaScript where it is missing.
const COMPRESSORS: [string, boolean][] = [
  ['WebAssembly', true],
  ['JavaScript', false],
]

describe.each(COMPRESSORS)('sha256 without node:crypto, compressed in %s', (_name, useWasm) => {
  function js(data: Uint8Array): string {
    const hash = new JsSha256(useWasm)
    hash.update(data)
    return hash.digest().toString('hex')
  }

  it('matches the FIPS 180-4 examples', () => {
    expect(js(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(js(Buffer.alloc(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(js(Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    )
  })

  // 300,000 bytes is more than the module takes in one call.
  it.each(SIZES)('matches node:crypto on %i random bytes, whole and in uneven pieces', (size) => {
    const data = nodeCrypto.randomBytes(size)
    expect(js(data)).toBe(expected(data))
    const pieces = new JsSha256(useWasm)
    for (let at = 0; at < size; ) {
      const step = 1 + ((at * 7919) % 97)
      pieces.update(data.subarray(at, at + step))
      at += step
    }
    expect(pieces.digest().toString('hex')).toBe(expected(data))
  })
})

describe('the WebAssembly compressor', () => {
  it('is sha256.wat as assembled now (npm run wasm makes sha256-wasm.ts)', async () => {
    const text = readFileSync(join(PROJECT_ROOT, 'src', 'common', 'sha256.wat'), 'utf8')
    expect((await assembleSha256(text)).toString('base64')).toBe(SHA256_WASM)
  })

  it('gives way to JavaScript where WebAssembly is missing (node --jitless)', () => {
    const data = nodeCrypto.randomBytes(3000)
    const script = `const { sha256Hex } = await import(${JSON.stringify(pathToFileURL(join(PROJECT_ROOT, 'dist', 'common', 'digest.js')).href)})
process.stdout.write(typeof WebAssembly + ' ' + sha256Hex(Buffer.from('${data.toString('hex')}', 'hex')))`
    const out = execFileSync(process.execPath, ['--jitless', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    expect(out).toBe(`undefined ${expected(data)}`)
  })

  it('keeps each hash state its own while hashes interleave', () => {
    const first = nodeCrypto.randomBytes(5000)
    const second = nodeCrypto.randomBytes(7000)
    const a = new JsSha256()
    const b = new JsSha256()
    for (let at = 0; at < 7000; at += 640) {
      a.update(first.subarray(at, at + 640))
      b.update(second.subarray(at, at + 640))
    }
    expect(a.digest().toString('hex')).toBe(expected(first))
    expect(b.digest().toString('hex')).toBe(expected(second))
  })
})

describe('sha256', () => {
  it('matches the FIPS 180-4 examples', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    )
  })

  it.each(SIZES)('matches node:crypto on %i random bytes, whole and in uneven pieces', (size) => {
    const data = nodeCrypto.randomBytes(size)
    expect(sha256().update(data).digest('hex')).toBe(expected(data))
    const pieces = sha256()
    for (let at = 0; at < size; ) {
      const step = 1 + ((at * 7919) % 97)
      pieces.update(data.subarray(at, at + step))
      at += step
    }
    expect(pieces.digest('hex')).toBe(expected(data))
  })

  it('hashes strings as UTF-8', () => {
    const text = 'décision — 決定 🔒'.repeat(40)
    expect(sha256Hex(text)).toBe(expected(Buffer.from(text, 'utf8')))
    expect(sha256().update(text).digest('base64')).toBe(
      nodeCrypto.createHash('sha256').update(text).digest('base64'),
    )
  })

  it('copies a hash to digest while the original goes on', () => {
    for (const size of [100, JS_LIMIT * 2]) {
      const data = nodeCrypto.randomBytes(size)
      const hash = sha256().update(data)
      expect(hash.copy().digest('hex')).toBe(expected(data))
      expect(hash.update(data).digest('hex')).toBe(expected(Buffer.concat([data, data])))
    }
  })

  it('keeps its own copy of the input, as a caller may reuse its buffer', () => {
    const buffer = Buffer.from('first part;')
    const hash = sha256().update(buffer)
    buffer.fill(0x41)
    hash.update(buffer)
    expect(hash.digest('hex')).toBe(expected(Buffer.concat([Buffer.from('first part;'), buffer])))
  })
})

describe('hmacSha256', () => {
  it.each([0, 16, 32, 64, 65, 200])('in JavaScript, matches node:crypto with a %i-byte key', (keySize) => {
    const key = nodeCrypto.randomBytes(keySize)
    for (const size of [0, 10, 64, 5000]) {
      const data = nodeCrypto.randomBytes(size)
      expect(jsHmacSha256(key, ['msg_1.1700000000.', data]).toString('base64')).toBe(
        nodeCrypto.createHmac('sha256', key).update('msg_1.1700000000.').update(data).digest('base64'),
      )
    }
  })

  it('matches RFC 4231 test case 2', () => {
    expect(hmacSha256(Buffer.from('Jefe'), 'what do ya want ', 'for nothing?').toString('hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    )
  })

  it.each([0, 16, 32, 64, 65, 200])('matches node:crypto with a %i-byte key', (keySize) => {
    const key = nodeCrypto.randomBytes(keySize)
    for (const size of [0, 10, 64, 5000, JS_LIMIT + 10]) {
      const data = nodeCrypto.randomBytes(size)
      expect(hmacSha256(key, 'msg_1.1700000000.', data).toString('base64')).toBe(
        nodeCrypto.createHmac('sha256', key).update('msg_1.1700000000.').update(data).digest('base64'),
      )
    }
  })
})

describe('random values', () => {
  it('gives the bytes asked for, different each time', () => {
    const a = randomBytes(32)
    const b = randomBytes(32)
    expect(a).toHaveLength(32)
    expect(a.equals(b)).toBe(false)
  })

  it('makes version 4 UUIDs', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const id = randomUuid()
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      seen.add(id)
    }
    expect(seen.size).toBe(200)
  })
})

describe('moving to node:crypto', () => {
  it('gives the same digests before, across and after the move', async () => {
    vi.resetModules()
    const fresh = await import('../../src/common/digest.js')
    const small = nodeCrypto.randomBytes(3000)
    const large = nodeCrypto.randomBytes(JS_LIMIT * 2)
    const open = fresh.sha256().update(small)
    expect(fresh.sha256Hex(small)).toBe(expected(small))
    expect(fresh.sha256Hex(large)).toBe(expected(large))
    // Begun before the move, finished after it.
    expect(open.update(small).digest('hex')).toBe(expected(Buffer.concat([small, small])))
    expect(fresh.hmacSha256(small, large).toString('hex')).toBe(
      nodeCrypto.createHmac('sha256', small).update(large).digest('hex'),
    )
  })
})
