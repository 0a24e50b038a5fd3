import { createHash, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { ConfigError } from '../common/errors.js'

/**
 * Bearer tokens of the HTTP API: from `--token-file` (one per line) or `CAVRA_API_TOKEN` (a
 * comma-separated list, so a new token can be added before the old one is removed). A
 * presented token is compared with every configured one in constant time: both sides are
 * hashed to equal-length SHA-256 digests and compared with `timingSafeEqual`, and the loop
 * never stops early.
 */

export async function loadApiTokens(
  tokenFile: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<string[]> {
  if (tokenFile !== undefined) {
    let text: string
    try {
      text = await readFile(tokenFile, 'utf8')
    } catch (error) {
      throw new ConfigError(
        `--token-file ${tokenFile}: cannot be read (${(error as NodeJS.ErrnoException).code ?? error}).`,
        ['Point --token-file at a file holding one API token per line.'],
      )
    }
    const tokens = text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
    if (tokens.length === 0) {
      throw new ConfigError(`--token-file ${tokenFile}: holds no token.`, [
        'Write one API token per line (lines starting with # are comments).',
      ])
    }
    return unique(tokens)
  }
  return unique(
    (env.CAVRA_API_TOKEN ?? '')
      .split(',')
      .map((token) => token.trim())
      .filter(Boolean),
  )
}

function unique(tokens: string[]): string[] {
  return [...new Set(tokens)]
}

export class BearerTokens {
  private readonly digests: Buffer[]

  constructor(tokens: readonly string[]) {
    this.digests = tokens.map(digest)
  }

  get configured(): boolean {
    return this.digests.length > 0
  }

  /** Whether an `Authorization` header carries one of the tokens. */
  accepts(header: string | undefined): boolean {
    const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header ?? '')
    const presented = digest(match?.[1] ?? '')
    let accepted = false
    for (const known of this.digests) {
      // No short-circuit: every configured token is compared, whatever matched before.
      if (timingSafeEqual(known, presented)) accepted = true
    }
    return accepted && match !== null
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

/** Whether `host` is a loopback address (or `localhost`), where an open server is tolerable. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  if (bare === 'localhost') return true
  if (isIP(bare) === 4) return bare.startsWith('127.')
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./.test(bare)
  return false
}
