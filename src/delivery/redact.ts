/**
 * Secret hygiene. A `Redactor` knows every secret value of the run (configured
 * secrets and credentials derived at run time: Basic blobs, OAuth tokens, signatures) and
 * removes them, in every encoding they may travel in, from anything that is written or printed.
 */

export const REDACTED = 'REDACTED'

/** Shorter values would mask ordinary words; no real credential is this short. */
const MIN_SECRET_LENGTH = 4
/** A secret's beginning this long or longer is scrubbed wherever it stands alone. */
const PREFIX_LENGTH = 8

const SECRET_HEADER_NAMES = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie'])
const SECRET_HEADER_PARTS = ['key', 'token', 'secret', 'signature', 'auth']

export class Redactor {
  private readonly forms = new Set<string>()
  private ordered: string[] | undefined
  /**
   * Matches wherever a known secret form, or the beginning that `scrub` removes, could start:
   * one pass of a regular expression over a large text (a dashboard of tens of megabytes)
   * instead of one search per form, which was most of the time it took to print.
   */
  private probe: RegExp | undefined
  private readonly secretHeaderNames = new Set<string>()

  /** Registers a secret and the encodings it may appear in. */
  addSecret(value: string | undefined | null): void {
    if (!value || value.length < MIN_SECRET_LENGTH) return
    for (const form of encodingsOf(value)) {
      if (form.length >= MIN_SECRET_LENGTH) this.forms.add(form)
    }
    this.ordered = undefined
    this.probe = undefined
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

  /**
   * Replaces every known secret form in `text` with `REDACTED`, and also the beginning of one
   * (8 characters or more) that a server or a cut left behind: a secret's prefix narrows a
   * guess as much as the secret itself. URLs are scrubbed by their secret parts instead, so
   * that every `https://` is not taken for the start of a webhook URL. For text that is
   * written or printed.
   */
  scrub(text: string): string {
    if (!this.mayHold(text)) return text
    let result = this.replaceForms(text)
    if (result.length === 0) return result
    for (const form of this.ordered!) {
      if (prefixScrubbed(form)) result = scrubPrefixes(result, form)
    }
    return result
  }

  /**
   * Replaces whole secret forms only: for an answer a connector still reads. A new token's
   * beginning may equal an old one's (every JWT starts `eyJ0eXAi`), so prefixes stay until the
   * text is written or printed.
   */
  scrubWhole(text: string): string {
    return this.mayHold(text) ? this.replaceForms(text) : text
  }

  /** Every whole form replaced; for a text the probe has found a needle in. */
  private replaceForms(text: string): string {
    let result = text
    for (const form of this.ordered!) {
      if (result.includes(form)) result = result.split(form).join(REDACTED)
    }
    return result
  }

  /**
   * False when `text` cannot hold a secret form nor its scrubbed beginning: each needle of the
   * probe is a form, or the beginning of a form that `scrub` also removes alone, so a text
   * without any needle needs no scrubbing.
   */
  private mayHold(text: string): boolean {
    if (this.forms.size === 0 || text.length === 0) return false
    if (!this.ordered) this.ordered = [...this.forms].sort((a, b) => b.length - a.length)
    if (!this.probe) {
      const needles = new Set(
        this.ordered.map((form) => (prefixScrubbed(form) ? form.slice(0, PREFIX_LENGTH) : form)),
      )
      this.probe = new RegExp([...needles].map(escapeRegExp).join('|'))
    }
    return this.probe.test(text)
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

/** Replaces each place where `form` begins (8 characters or more of it) with `REDACTED`. */
/** Whether `scrub` also removes the form's beginning where it stands alone (URLs are scrubbed by their parts). */
function prefixScrubbed(form: string): boolean {
  return form.length > PREFIX_LENGTH && !form.includes('://')
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')
}

function scrubPrefixes(text: string, form: string): string {
  const start = form.slice(0, PREFIX_LENGTH)
  let at = text.indexOf(start)
  if (at === -1) return text
  let result = ''
  let from = 0
  while (at !== -1) {
    let length = PREFIX_LENGTH
    while (length < form.length && text[at + length] === form[length]) length++
    result += `${text.slice(from, at)}${REDACTED}`
    from = at + length
    at = text.indexOf(start, from)
  }
  return result + text.slice(from)
}

/**
 * The plain value and the encodings a secret travels in: base64 and base64url (also the core
 * of each as it appears inside a longer encoded text, at any of the three byte alignments),
 * URL encoding and JSON escaping.
 */
export function encodingsOf(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8')
  const base64 = bytes.toString('base64')
  return [
    value,
    base64,
    base64.replace(/=+$/, ''),
    bytes.toString('base64url'),
    ...alignedCores(bytes, 'base64'),
    ...alignedCores(bytes, 'base64url'),
    encodeURIComponent(value),
    new URLSearchParams({ v: value }).toString().slice(2),
    JSON.stringify(value).slice(1, -1),
  ]
}

/**
 * A secret inside a longer text that is then base64-encoded (`Cannot POST /hooks/<secret>`,
 * encoded whole) starts at some byte offset; its encoding there differs by alignment. For
 * each offset the characters that depend on the secret's bytes alone are the same wherever
 * it sits, so those cores are scrubbed too.
 */
function alignedCores(bytes: Buffer, encoding: 'base64' | 'base64url'): string[] {
  const cores: string[] = []
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes])
      .toString(encoding)
      .replace(/=+$/, '')
    const total = offset + bytes.length
    // Whole 3-byte groups only: the first depends on the bytes before, the last on those after.
    const from = offset === 0 ? 0 : 4
    const to = Math.floor(total / 3) * 4
    const core = encoded.slice(from, to)
    if (core.length >= 8) cores.push(core)
  }
  return cores
}
