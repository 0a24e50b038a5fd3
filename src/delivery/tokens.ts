import type { Exchanger, TokenResult, TokenSource } from './exchange.js'

/**
 * The tokens of one run, keyed by credential and shared by every connector that uses the
 * same one; a fetch in flight is shared too. Each issued token is handed to `onIssued` (the
 * redactor) before anyone can use it.
 */
export class TokenCache {
  private readonly entries = new Map<string, Promise<TokenResult>>()

  get(source: TokenSource, exchanger: Exchanger, onIssued: (token: string) => void): Promise<TokenResult> {
    let entry = this.entries.get(source.key)
    if (!entry) {
      entry = source.fetch(exchanger).then((result) => {
        if (result.ok) onIssued(result.token)
        else this.entries.delete(source.key)
        return result
      })
      this.entries.set(source.key, entry)
    }
    return entry
  }

  /** Drops a token the destination rejected, so the next get() fetches a new one. */
  invalidate(source: TokenSource): void {
    this.entries.delete(source.key)
  }
}
