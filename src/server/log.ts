import type { Redactor } from '../delivery/redact.js'

/**
 * The server's log: one JSON object per line on stderr (a request, a warning, start and
 * stop), every text scrubbed of the server's secrets. Request lines carry the method, the
 * path without its query (query values may be anything a caller typed), the status, the
 * duration and the request id; never a header or a body.
 */

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
  request(fields: RequestLog): void
}

export interface RequestLog {
  request_id: string
  method: string
  path: string
  status: number
  duration_ms: number
  /** For a 500: what went wrong, scrubbed (the caller sees only the request id). */
  error?: string
}

export function jsonLogger(redactor: Redactor, write: (line: string) => void = stderrWrite): Logger {
  const emit = (level: string, fields: Record<string, unknown>) =>
    write(`${redactor.scrub(JSON.stringify({ time: new Date().toISOString(), level, ...fields }))}\n`)
  return {
    info: (msg, fields) => emit('info', { msg, ...fields }),
    warn: (msg, fields) => emit('warn', { msg, ...fields }),
    error: (msg, fields) => emit('error', { msg, ...fields }),
    request: (fields) => emit(fields.status >= 500 ? 'error' : 'info', { msg: 'request', ...fields }),
  }
}

function stderrWrite(line: string): void {
  process.stderr.write(line)
}
