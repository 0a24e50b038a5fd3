import type { HttpRequest, HttpResponse } from './http.js'
import type { Verdict } from './verdict.js'

/**
 * The contract between a connector and the delivery core: one logical request (an
 * `Exchange`) that the core sends with retries, token handling and evidence, and what comes
 * back (an `ExchangeResult`). Types only, so connectors and the core can share them.
 */

export interface Exchange<T> {
  /** Names the request in the evidence: `send batch 1`, `create issue`. */
  step: string
  /**
   * Builds the request for an attempt (1-based); called again per attempt, so signatures stay
   * fresh. It may be asynchronous: a signed client assertion is made with WebCrypto.
   */
  build(attempt: number): HttpRequest | Promise<HttpRequest>
  read(response: HttpResponse): Verdict<T>
  /** Bearer token to attach per attempt; a 401 invalidates it and the attempt is repeated once. */
  auth?: TokenSource
  /**
   * The delivery's main request(s): described in the evidence `request` record, and their
   * bytes are hashed into `body_sha256`.
   */
  primary?: boolean
  /**
   * The duplicate check after an ambiguous failure (the request may have been stored): run
   * before resending, and once more when no attempt is left. `found` ends the exchange as a
   * success; `absent` allows the resend; `unknown` (the check itself failed) stops without
   * resending, since a second create could duplicate the first.
   */
  recover?: () => Promise<Recovery<T>>
  /** What a blind resend could create twice ("issue", "change request"), for messages. */
  creates?: string
  /** The value `exchange` returns under --dry-run, where nothing is sent. */
  dryRun: T
}

export type Recovery<T> = { found: T } | { absent: true } | { unknown: string }

export type ExchangeResult<T> =
  | { ok: true; value: T; status: number | null; recovered: boolean }
  | { ok: false; status: number | null; error: string; ambiguous: boolean }

/** Whatever can run an exchange: the session, as token sources see it. */
export interface Exchanger {
  exchange<T>(spec: Exchange<T>): Promise<ExchangeResult<T>>
  /** Registers a credential derived at run time (a Basic blob) for scrubbing. */
  addSecret(value: string): void
}

export type TokenResult = { ok: true; token: string } | { ok: false; error: string }

/** A bearer credential fetched at run time and shared by every connector that needs it. */
export interface TokenSource {
  /** Cache key: the same key means the same credential. */
  key: string
  /** Fetches a fresh token through the session (recorded as a `token` step). */
  fetch(exchanger: Exchanger): Promise<TokenResult>
  /** The header that carries the token. */
  header?(token: string): Record<string, string>
}

/** A lookup's answer as a Recovery: a hit is `found`, a miss `absent`, a failed lookup `unknown`. */
export function recoveryOf<T>(lookup: ExchangeResult<T | null | undefined>, what: string): Recovery<T> {
  if (!lookup.ok) return { unknown: `the lookup for ${what} failed (${lookup.error})` }
  return lookup.value === null || lookup.value === undefined ? { absent: true } : { found: lookup.value }
}

/** The request with the exchange's token attached (Bearer unless the source says otherwise). */
export function withToken<T>(
  request: HttpRequest,
  spec: Exchange<T>,
  token: string | undefined,
): HttpRequest {
  if (!spec.auth || token === undefined) return request
  const header = spec.auth.header?.(token) ?? { authorization: `Bearer ${token}` }
  return { ...request, headers: { ...request.headers, ...header } }
}
