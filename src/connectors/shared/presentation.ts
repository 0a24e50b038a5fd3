import type { Severity } from '../../common/severity.js'
import type { DeliveryEvent } from '../../events/event.js'

/**
 * How chat and ITSM connectors say the severity: always as a word as well as a
 * colour, so a critical rollback never reads as routine in any client or notification.
 */

export function severityWord(severity: Severity): string {
  return severity.toUpperCase()
}

/** `[CRITICAL] Release v0.2.0 rolled back stable → canary in prod`, or with a configured title. */
export function headline(event: DeliveryEvent, configuredTitle?: string): string {
  const title = configuredTitle ? `${configuredTitle}: ${event.view.title}` : event.view.title
  return `[${severityWord(event.severity)}] ${title}`
}

/** Hex colours by severity, red for critical down to grey for info. */
export const SEVERITY_COLOUR: Record<Severity, string> = {
  critical: '#B71C1C',
  high: '#E65100',
  medium: '#F9A825',
  low: '#1565C0',
  info: '#607D8B',
}

export const TRUNCATION_MARK = '… (truncated)'

/** Cuts `text` to at most `max` characters, saying so when it does. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text
  let end = Math.max(0, max - TRUNCATION_MARK.length)
  // Never leave the first half of a surrogate pair (an emoji) without its second half.
  const last = text.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  return `${text.slice(0, end)}${TRUNCATION_MARK}`
}
