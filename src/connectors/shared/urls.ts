import { ConfigError } from '../../common/errors.js'

/** http:// to anything but this machine sends the token in clear text. */
export function isPlainHttpOffHost(url: string): boolean {
  try {
    const { protocol, hostname } = new URL(url)
    return protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]', '::1'].includes(hostname)
  } catch {
    return false
  }
}

/**
 * A URL setting, parsed; anything else is a ConfigError naming the key. The value is shown
 * only when the URL is not a credential itself (Slack, Teams and webhook URLs are).
 */
export function parseUrlSetting(
  value: string,
  key = 'url',
  options: { secret?: boolean; hint?: string } = {},
): URL {
  try {
    const url = new URL(value)
    if (url.protocol === 'http:' || url.protocol === 'https:') return url
  } catch {
    // Reported below.
  }
  const shown = options.secret ? '' : ` "${value}"`
  throw new ConfigError(
    `${key}${shown} is not a valid URL (http:// or https://)${options.hint ? `; ${options.hint}` : ''}.`,
  )
}
