/**
 * The parts of a URL that are secrets on their own, so that a server echoing only a path
 * (`Cannot POST /hooks/T0/B0/XXXX`) or only a query value (`sig=…`) cannot leak them.
 * - Every query value of 8 or more characters, except the parameters that are public by
 *   nature: `api-version` and the shared-access-signature fields Azure Logic Apps put beside
 *   the signature (`sv`, `sp`, `sr`, `se`, `st`, `spr`; "Shared access signature" docs).
 * - User name and password of the user-info.
 * - When the whole URL is a credential (Slack, Teams, webhook), every path segment of 8 or more
 *   characters that holds a digit, or of 20 or more, except the fixed words of the vendors' URL
 *   schemes.
 */

const PUBLIC_QUERY_PARAMETERS = new Set(['api-version', 'sv', 'sp', 'sr', 'se', 'st', 'spr'])

/** Path words of the vendors' webhook URL schemes that the length rule would otherwise catch. */
const FIXED_PATH_WORDS = new Set(['webhookb2', 'incomingwebhook'])

export function secretUrlParts(url: string, urlIsSecret: boolean): string[] {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return []
  }
  const parts: string[] = []
  for (const [name, value] of parsed.searchParams) {
    if (value.length >= 8 && !PUBLIC_QUERY_PARAMETERS.has(name.toLowerCase())) parts.push(value)
  }
  if (parsed.username) parts.push(decodeURIComponent(parsed.username))
  if (parsed.password) parts.push(decodeURIComponent(parsed.password))
  if (urlIsSecret) {
    for (const raw of parsed.pathname.split('/')) {
      const segment = safeDecode(raw)
      if (FIXED_PATH_WORDS.has(segment.toLowerCase())) continue
      if ((segment.length >= 8 && /\d/.test(segment)) || segment.length >= 20) parts.push(segment)
    }
  }
  return [...new Set(parts)]
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}
