import { ConfigError, InputError, isCavraError, StoreError, UsageError } from '../common/errors.js'
import type { Redactor } from '../delivery/redact.js'

/**
 * Errors as `application/problem+json` (RFC 9457): `type`, `title`, `status`, `detail`, and
 * the request id. A detail is written for the caller and scrubbed of every secret the server
 * knows; a stack trace is never part of it.
 */

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

export interface ProblemDocument {
  type: string
  title: string
  status: number
  detail: string
  request_id?: string
  [extension: string]: unknown
}

/** A problem a handler answers with on purpose (404 unknown id, 409 inactive, 422 invalid body…). */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    readonly title: string,
    detail: string,
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail)
  }
}

export function problemType(kind: string): string {
  return `urn:cavra:problem:${kind}`
}

export function badRequest(detail: string, extensions?: Record<string, unknown>): HttpProblem {
  return new HttpProblem(400, 'bad-request', 'Bad request', detail, extensions)
}

export function notFound(detail: string): HttpProblem {
  return new HttpProblem(404, 'not-found', 'Not found', detail)
}

export function conflict(detail: string, extensions?: Record<string, unknown>): HttpProblem {
  return new HttpProblem(409, 'conflict', 'Conflict', detail, extensions)
}

export interface IssueReport {
  /** The JSON path of the value, `$.event.max_severity`. */
  path: string
  message: string
}

/** 422: the body is JSON but not what the endpoint takes; every issue names its JSON path. */
export function unprocessable(issues: readonly IssueReport[]): HttpProblem {
  const first = issues[0]
  return new HttpProblem(
    422,
    'validation',
    'The request body is not valid',
    first ? `${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}` : 'invalid body',
    { json_path: first?.path ?? '$', errors: issues },
  )
}

/** What an error becomes on the wire: a CavraError by its kind, anything else an opaque 500. */
export function problemOf(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error
  if (isCavraError(error)) {
    const detail = withActions(error.message, error.actions)
    if (error instanceof InputError) {
      return new HttpProblem(422, 'invalid-input', 'The input artifact is not valid', detail)
    }
    if (error instanceof UsageError) return badRequest(detail)
    if (error instanceof ConfigError) {
      return new HttpProblem(500, 'configuration', 'The server connector configuration has a problem', detail)
    }
    if (error instanceof StoreError) {
      return new HttpProblem(500, 'store', 'The metadata store or the registry has a problem', detail)
    }
  }
  return new HttpProblem(
    500,
    'internal',
    'Internal server error',
    'The request failed inside cavra; the server log has the request id. This is a bug in cavra.',
  )
}

/** The problem document, every text scrubbed of the server's secrets. */
export function problemDocument(
  problem: HttpProblem,
  requestId: string,
  redactor: Redactor,
): ProblemDocument {
  const document: ProblemDocument = {
    type: problemType(problem.kind),
    title: problem.title,
    status: problem.status,
    detail: problem.message,
    ...problem.extensions,
    request_id: requestId,
  }
  return scrubDeep(document, redactor) as ProblemDocument
}

/** Every string inside `value` scrubbed of the server's secrets. */
export function scrubDeep(value: unknown, redactor: Redactor): unknown {
  if (typeof value === 'string') return redactor.scrub(value)
  if (Array.isArray(value)) return value.map((item) => scrubDeep(item, redactor))
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [redactor.scrub(key), scrubDeep(item, redactor)]),
    )
  }
  return value
}

function withActions(message: string, actions: readonly string[]): string {
  const text = message.replace(/\s+$/, '')
  return actions.length > 0 ? `${text} ${actions.join(' ')}` : text
}
