import type { HttpResponse } from './http.js'
import { isRetryableStatus } from './retry.js'

/** How a connector reads a response: pure, from status, headers and body. */
export type Verdict<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'retryable'; reason: string; retryAfterMs?: number }
  | { kind: 'failed'; reason: string }

/** The default reading of a status when the body carries nothing more specific. */
export function readStatus<T>(response: HttpResponse, value: T, describe = excerpt): Verdict<T> {
  if (response.status >= 200 && response.status < 300) return { kind: 'ok', value }
  const reason = describe(response)
  if (isRetryableStatus(response.status)) return { kind: 'retryable', reason }
  return { kind: 'failed', reason }
}

/** A short, single-line excerpt of a response body for error messages. */
export function excerpt(response: HttpResponse, max = 300): string {
  const text = response.body.replace(/\s+/g, ' ').trim()
  if (text === '') return statusText(response.status)
  return text.length > max ? `${text.slice(0, max)}...` : text
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? `HTTP ${status}`
}
