import { type Sha256, sha256, sha256Hex } from '../common/digest.js'
import type { RequestRecord } from './evidence-types.js'
import type { HttpRequest } from './http.js'
import type { Redactor } from './redact.js'

/**
 * What the evidence `request` record describes: the delivery's main requests (their bytes
 * hashed in the order they were first sent) or, when none was sent (a duplicate check found
 * the record already there), the last request of any step.
 */
export class RequestLog {
  private primary: { request: HttpRequest; bodies: Sha256; bytes: number; batches: number } | undefined
  private last: HttpRequest | undefined
  private idempotencyKey: string | null = null

  /** The key that makes this delivery recognisable at the destination (a label, a webhook id). */
  setIdempotencyKey(key: string): void {
    this.idempotencyKey = key
  }

  sent(request: HttpRequest, attempt: number, primary: boolean): void {
    this.last = request
    if (!primary) return
    // Hash each distinct request body once (its first attempt), in the order they were sent.
    if (attempt > 1 && this.primary) {
      this.primary.request = request
      return
    }
    const body = bodyBytes(request)
    this.primary ??= { request, bodies: sha256(), bytes: 0, batches: 0 }
    this.primary.request = request
    this.primary.bodies.update(body)
    this.primary.bytes += body.length
    this.primary.batches++
  }

  record(redactor: Redactor, urlIsSecret: boolean): RequestRecord | null {
    const primary = this.primary
    const request = primary?.request ?? this.last
    if (!request) return null
    const describe = (body_sha256: string | null, body_bytes: number) => ({
      method: request.method,
      url: redactor.redactUrl(request.url, urlIsSecret),
      headers: redactor.redactHeaders(request.headers),
      body_sha256,
      body_bytes,
    })
    if (!primary) {
      const body = request.body === undefined ? undefined : bodyBytes(request)
      return {
        ...describe(body ? sha256Hex(body) : null, body?.length ?? 0),
        idempotency_key: this.idempotencyKey,
      }
    }
    return {
      ...describe(primary.batches > 0 ? primary.bodies.copy().digest('hex') : null, primary.bytes),
      ...(primary.batches > 1 ? { batches: primary.batches } : {}),
      idempotency_key: this.idempotencyKey,
    }
  }
}

/** The body's bytes, without copying a Buffer body (a Splunk batch is a megabyte per request). */
function bodyBytes(request: HttpRequest): Buffer {
  if (request.body === undefined) return Buffer.alloc(0)
  return typeof request.body === 'string' ? Buffer.from(request.body) : request.body
}
