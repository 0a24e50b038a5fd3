import { randomUUID } from 'node:crypto'
import { Webhook, WebhookVerificationError } from 'standardwebhooks'
import { Emulator, json, type RecordedRequest, type Reply } from './emulator.js'
import { standardSecret } from './fleet-receiver.js'

/**
 * A webhook receiver that does what a careful receiver does: verifies the Standard Webhooks
 * signature with the reference `standardwebhooks` library (an independent judge of cavra's
 * signing, including its 5-minute timestamp tolerance) with a secret of the spec's 24 to 64
 * bytes, drops duplicates by `webhook-id`, answering `{delivery_id, duplicate: true}` with the
 * delivery it already stored, and answers `{delivery_id}`. With `bearer` set it also requires `Authorization: Bearer`.
 */

export interface WebhookReceiverOptions {
  path?: string
  secret?: string
  bearer?: string
}

export interface ReceivedDelivery {
  deliveryId: string
  webhookId: string | undefined
  payload: Record<string, unknown>
  request: RecordedRequest
}

export class WebhookReceiver extends Emulator {
  readonly deliveries: ReceivedDelivery[] = []
  readonly rejected: Array<{ reason: string; request: RecordedRequest }> = []
  private readonly byWebhookId = new Map<string, string>()
  private readonly verifier: Webhook | undefined

  constructor(readonly options: WebhookReceiverOptions = {}) {
    super('webhook-receiver')
    this.verifier = options.secret ? new Webhook(standardSecret(options.secret)) : undefined
    const path = options.path ?? '/hooks/cavra'
    this.route('POST', path, (request) => this.receive(request))
    this.route('PUT', path, (request) => this.receive(request))
  }

  /** Forgets every delivery, rejection and seen webhook-id. */
  override reset(): void {
    super.reset()
    this.deliveries.length = 0
    this.rejected.length = 0
    this.byWebhookId.clear()
  }

  get path(): string {
    return this.options.path ?? '/hooks/cavra'
  }

  get endpoint(): string {
    return `${this.url}${this.path}`
  }

  private receive(request: RecordedRequest): Reply {
    if (this.options.bearer && request.headers.authorization !== `Bearer ${this.options.bearer}`) {
      this.rejected.push({ reason: 'bearer', request })
      return json(401, { error: 'missing or wrong bearer token' })
    }
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return json(415, { error: 'content-type must be application/json' })
    }
    let payload: Record<string, unknown>
    if (this.verifier) {
      try {
        payload = this.verifier.verify(request.text, {
          'webhook-id': request.headers['webhook-id'] ?? '',
          'webhook-timestamp': request.headers['webhook-timestamp'] ?? '',
          'webhook-signature': request.headers['webhook-signature'] ?? '',
        }) as Record<string, unknown>
      } catch (error) {
        const reason = error instanceof WebhookVerificationError ? error.message : String(error)
        this.rejected.push({ reason, request })
        return json(401, { error: `signature verification failed: ${reason}` })
      }
    } else {
      try {
        payload = JSON.parse(request.text)
      } catch {
        return json(400, { error: 'body is not JSON' })
      }
    }
    const webhookId = request.headers['webhook-id']
    const known = webhookId ? this.byWebhookId.get(webhookId) : undefined
    if (known) return json(200, { delivery_id: known, duplicate: true })
    const deliveryId = `dlv_${randomUUID().slice(0, 12)}`
    if (webhookId) this.byWebhookId.set(webhookId, deliveryId)
    this.deliveries.push({ deliveryId, webhookId, payload, request })
    return json(202, { delivery_id: deliveryId })
  }
}
