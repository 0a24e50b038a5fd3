import type { Readable } from 'node:stream'
import { VERSION } from '../common/version.js'

/**
 * The only module that touches the network. Sends one request and reports what happened as
 * data: a response, or a network failure that says whether the request may have reached the
 * server (an "ambiguous" failure, which matters for creates that are not idempotent).
 */

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  url: string
  headers: Record<string, string>
  /** The exact bytes to send; signatures are computed over these. */
  body?: string | Buffer
}

export interface HttpResponse {
  status: number
  headers: Record<string, string>
  body: string
  /** The body was longer than `MAX_RESPONSE_BYTES` and was cut. */
  truncated: boolean
}

export interface NetworkFailure {
  code: string
  message: string
  /** True when the request may have been received (timeout or reset after connecting). */
  ambiguous: boolean
  timedOut: boolean
}

export type HttpResult =
  | { kind: 'response'; response: HttpResponse }
  | { kind: 'network'; failure: NetworkFailure }

export interface Transport {
  send(request: HttpRequest, timeoutMs: number): Promise<HttpResult>
}

/** Responses are read for their status and error text, never stored whole. */
export const MAX_RESPONSE_BYTES = 1024 * 1024

export const USER_AGENT = `cavra/${VERSION}`

/** Errors raised before any byte of the request left this machine. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UND_ERR_INVALID_ARG',
  'CONNECT_TIMEOUT',
  // node:http refuses a header name or value it cannot send before opening any connection.
  'ERR_INVALID_CHAR',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'ERR_INVALID_URL',
])

/**
 * The body of a response, at most MAX_RESPONSE_BYTES of it. Read through the stream's events,
 * not its async iterator: the iterator's machinery (end-of-stream tracking, promises per chunk)
 * is Node code compiled on first use, about half a millisecond of a one-request run for a body
 * that arrives in one piece. A body whose connection closes before its end is a failure.
 */
export function readLimited(body: Readable): Promise<{ text: string; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    const settle = (finish: () => void) => {
      if (settled) return
      settled = true
      finish()
    }
    body.on('data', (chunk: Buffer) => {
      if (settled) return
      chunks.push(chunk)
      size += chunk.length
      if (size > MAX_RESPONSE_BYTES) {
        settle(() =>
          resolve({
            text: Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString('utf8'),
            truncated: true,
          }),
        )
        body.destroy()
      }
    })
    body.once('end', () =>
      settle(() => resolve({ text: Buffer.concat(chunks).toString('utf8'), truncated: false })),
    )
    body.once('error', (error) => settle(() => reject(error)))
    // After 'end' this changes nothing; before it, the connection went away mid-body.
    body.once('close', () =>
      settle(() =>
        reject(
          Object.assign(new Error('the connection closed before the response was complete'), {
            code: 'ERR_STREAM_PREMATURE_CLOSE',
          }),
        ),
      ),
    )
  })
}

export function flattenHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const flat: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value
  }
  return flat
}

export function describeNetworkError(error: unknown, aborted: boolean, timeoutMs: number): NetworkFailure {
  const err = error as { code?: string; message?: string; cause?: { code?: string; message?: string } }
  const code = err?.cause?.code ?? err?.code ?? 'UNKNOWN'
  const timedOut =
    aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ABORT_ERR'
  if (timedOut) {
    return {
      code: 'TIMEOUT',
      message: `no response within ${formatSeconds(timeoutMs)}`,
      ambiguous: true,
      timedOut: true,
    }
  }
  const detail = err?.cause?.message ?? err?.message ?? String(error)
  return { code, message: `${code}: ${detail}`, ambiguous: !NOT_SENT_CODES.has(code), timedOut: false }
}

export function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`
}

/** A transport the pool can close when the run ends. */
export interface ClosableTransport extends Transport {
  close(): Promise<void>
}
