/**
 * Secret hygiene. A `Redactor` knows every secret value of the run (configured
 * secrets and credentials derived at run time: Basic blobs, OAuth tokens, signatures) and
 * removes them, in every encoding they may travel in, from anything that is written or printed.
 */

export const REDACTED = 'REDACTED'

/** Shorter values would mask ordinary words; no real credential is this short. */
const MIN_SECRET_LENGTH = 4

const SECRET_HEADER_NAMES = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie'])
const SECRET_HEADER_PARTS = ['key', 'token', 'secret', 'signature', 'auth']

export class Redactor {
  private readonly forms = new Set<string>()
  private ordered: string[] | undefined
  private readonly secretHeaderNames = new Set<string>()

  /** Registers a secret and the encodings it may appear in. */
  addSecret(value: string | undefined | null): void {
    if (!value || value.length < MIN_SECRET_LENGTH) return
    for (const form of encodingsOf(value)) {
      if (form.length >= MIN_SECRET_LENGTH) this.forms.add(form)
    }
    this.ordered = undefined
  }

  /** Marks a header name as secret for this run (a configured `api_key_header`). */
  addSecretHeader(name: string): void {
    this.secretHeaderNames.add(name.toLowerCase())
  }

  /** Never serialise the secrets it holds, whatever ends up in a JSON.stringify. */
  toJSON(): string {
    return '[Redactor]'
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Redactor(${this.forms.size} secret forms)`
  }

  get size(): number {
    return this.forms.size
  }

  /** Replaces every known secret form in `text` with `REDACTED`. */
  scrub(text: string): string {
    if (this.forms.size === 0 || text.length === 0) return text
    if (!this.ordered) this.ordered = [...this.forms].sort((a, b) => b.length - a.length)
    let result = text
    for (const form of this.ordered) {
      if (result.includes(form)) result = result.split(form).join(REDACTED)
    }
    return result
  }

  /** Whether `text` holds a known secret in any form. */
  contains(text: string): boolean {
    return this.scrub(text) !== text
  }

  /** Header values: secret by name or because they carry a secret value. */
  redactHeaders(headers: Record<string, string>): Record<string, string> {
    const result: Record<string, string> = {}
    for (const [name, value] of Object.entries(headers)) {
      const lower = name.toLowerCase()
      result[lower] = this.isSecretHeader(lower) || this.contains(value) ? REDACTED : value
    }
    return result
  }

  isSecretHeader(lowerName: string): boolean {
    return (
      SECRET_HEADER_NAMES.has(lowerName) ||
      this.secretHeaderNames.has(lowerName) ||
      SECRET_HEADER_PARTS.some((part) => lowerName.includes(part))
    )
  }

  /**
   * URLs: user-info removed, every query value replaced; when the URL is itself the
   * credential (Slack, Teams, webhook), only scheme and host remain and the path is `/REDACTED`.
   */
  redactUrl(url: string, urlIsSecret = false): string {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return urlIsSecret ? REDACTED : this.scrub(url)
    }
    if (urlIsSecret) return `${parsed.protocol}//${parsed.host}/${REDACTED}`
    parsed.username = ''
    parsed.password = ''
    const names = [...new Set(parsed.searchParams.keys())]
    if (names.length > 0) {
      parsed.search = names.map((name) => `${encodeURIComponent(name)}=${REDACTED}`).join('&')
    }
    return this.scrub(parsed.toString())
  }
}

/** The plain value and the encodings a secret travels in: base64, base64url, URL and JSON escaping. */
export function encodingsOf(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8')
  const base64 = bytes.toString('base64')
  const base64url = bytes.toString('base64url')
  return [
    value,
    base64,
    base64.replace(/=+$/, ''),
    base64url,
    encodeURIComponent(value),
    new URLSearchParams({ v: value }).toString().slice(2),
    JSON.stringify(value).slice(1, -1),
  ]
}
