import { createHash, randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { Webhook, WebhookVerificationError } from 'standardwebhooks'
import { z } from 'zod'
import { Emulator, json, type RecordedRequest, type Reply } from './emulator.js'

/**
 * A Linux fleet publication receiver (the contract the `linux` connector publishes to, as the
 * README's "Linux fleet" section describes it), as careful as one that hands binaries to a
 * fleet must be: it authenticates every request (a Standard Webhooks signature checked with
 * the reference `standardwebhooks` library, including its 5-minute timestamp tolerance,
 * and/or `Authorization: Bearer`), validates the document strictly, decodes every artifact
 * and recomputes its SHA-256 and length, requires both files, checks that the targets are the
 * fleet manifest's own, drops duplicates by `webhook-id` (answering with the delivery it
 * already stored) and answers 202 `{delivery_id}`. `GET /health` answers 200 `{"status":"ok"}`
 * while the receiver is up, and 503 when `up` is false (the contract's health endpoint).
 */

export interface FleetReceiverOptions {
  path?: string
  secret?: string
  bearer?: string
  /** Largest body accepted, in bytes (413 above it). */
  maxBodyBytes?: number
}

export const FLEET_FILES = ['linux-fleet-manifest.json', 'linux-install-cavra-runtime.sh'] as const

const text = z.string().min(1)
const publicationSchema = z.strictObject({
  schema_version: z.literal('cavra.linux-fleet.publication.v1'),
  publication_id: z.string().regex(/^emp_[0-9a-f]{12}$/),
  export_id: text,
  channel: text,
  release: z.looseObject({ version: text, commit: text, repository: text }),
  approval_id: z.string().min(1).nullable(),
  targets: z.array(z.looseObject({ id: text })).min(1),
  artifacts: z
    .array(
      z.strictObject({
        name: text,
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
        bytes: z.number().int().min(0),
        content_base64: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/),
      }),
    )
    .min(1),
})

export type FleetPublicationBody = z.infer<typeof publicationSchema>

export interface StoredPublication {
  deliveryId: string
  webhookId: string
  publication: FleetPublicationBody
  /** The decoded artifacts, by name. */
  files: Record<string, Buffer>
  request: RecordedRequest
}

export class FleetReceiver extends Emulator {
  readonly publications: StoredPublication[] = []
  readonly rejected: Array<{ status: number; reason: string; request: RecordedRequest }> = []
  private readonly byWebhookId = new Map<string, string>()
  private readonly verifier: Webhook | undefined
  /** Whether `GET /health` says the receiver can take publications. */
  up = true

  constructor(readonly options: FleetReceiverOptions) {
    super('fleet-receiver')
    if (!options.secret && !options.bearer) {
      throw new Error('a fleet receiver authenticates publications: give it a secret and/or a bearer token')
    }
    this.verifier = options.secret ? new Webhook(standardSecret(options.secret)) : undefined
    this.route('POST', this.path, (request) => this.receive(request))
    this.route('GET', '/health', () =>
      this.up
        ? json(200, { status: 'ok' })
        : json(503, { status: 'down', reason: 'publication queue unavailable' }),
    )
  }

  get path(): string {
    return this.options.path ?? '/fleet/publications'
  }

  get endpoint(): string {
    return `${this.url}${this.path}`
  }

  /** Forgets every publication, rejection, seen webhook-id and pending fault. */
  override reset(): void {
    super.reset()
    this.publications.length = 0
    this.rejected.length = 0
    this.byWebhookId.clear()
    this.up = true
  }

  private refuse(request: RecordedRequest, status: number, reason: string): Reply {
    this.rejected.push({ status, reason, request })
    return json(status, { error: reason })
  }

  private receive(request: RecordedRequest): Reply {
    if (this.options.bearer && request.headers.authorization !== `Bearer ${this.options.bearer}`) {
      return this.refuse(request, 401, 'missing or wrong bearer token')
    }
    if (this.verifier) {
      try {
        this.verifier.verify(request.text, {
          'webhook-id': request.headers['webhook-id'] ?? '',
          'webhook-timestamp': request.headers['webhook-timestamp'] ?? '',
          'webhook-signature': request.headers['webhook-signature'] ?? '',
        })
      } catch (error) {
        const reason = error instanceof WebhookVerificationError ? error.message : String(error)
        return this.refuse(request, 401, `signature verification failed: ${reason}`)
      }
    }
    const webhookId = request.headers['webhook-id']
    if (!webhookId) return this.refuse(request, 400, 'webhook-id header is required (the duplicate key)')
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return this.refuse(request, 415, 'content-type must be application/json')
    }
    if (request.body.length > (this.options.maxBodyBytes ?? 10 * 1024 * 1024)) {
      return this.refuse(request, 413, 'publication too large')
    }
    let value: unknown
    try {
      value = JSON.parse(request.text)
    } catch {
      return this.refuse(request, 400, 'body is not JSON')
    }
    const parsed = publicationSchema.safeParse(value)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      return this.refuse(request, 400, `invalid publication at $.${issue.path.join('.')}: ${issue.message}`)
    }
    const publication = parsed.data
    const checked = checkArtifacts(publication)
    if ('error' in checked) return this.refuse(request, 422, checked.error)

    const known = this.byWebhookId.get(webhookId)
    if (known) return json(200, { delivery_id: known, duplicate: true })
    const deliveryId = `fdl_${randomUUID().replace(/-/g, '').slice(0, 16)}`
    this.byWebhookId.set(webhookId, deliveryId)
    this.publications.push({ deliveryId, webhookId, publication, files: checked.files, request })
    return json(202, { delivery_id: deliveryId })
  }
}

/**
 * A receiver's secret as the Standard Webhooks spec defines it: `whsec_` + base64 of 24 to 64
 * random bytes ("Signature scheme": at least 24 bytes, 512 bits maximum,
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md).
 */
export function standardSecret(secret: string): string {
  const bytes = Buffer.from(secret.replace(/^whsec_/, ''), 'base64').length
  if (bytes < 24 || bytes > 64) {
    throw new Error(
      `a Standard Webhooks secret is 24 to 64 bytes, not ${bytes}: a receiver cannot hold this one`,
    )
  }
  return secret
}

function checkArtifacts(
  publication: FleetPublicationBody,
): { files: Record<string, Buffer> } | { error: string } {
  const files: Record<string, Buffer> = {}
  for (const artifact of publication.artifacts) {
    if (!(FLEET_FILES as readonly string[]).includes(artifact.name)) {
      return { error: `artifact ${artifact.name} is not part of a Linux fleet publication` }
    }
    if (files[artifact.name]) return { error: `artifact ${artifact.name} appears twice` }
    const content = Buffer.from(artifact.content_base64, 'base64')
    const sha256 = createHash('sha256').update(content).digest('hex')
    if (sha256 !== artifact.sha256) {
      return {
        error: `artifact ${artifact.name} sha256 mismatch (declared ${artifact.sha256}, content ${sha256})`,
      }
    }
    if (content.length !== artifact.bytes) {
      return {
        error: `artifact ${artifact.name} bytes mismatch (declared ${artifact.bytes}, content ${content.length})`,
      }
    }
    files[artifact.name] = content
  }
  for (const name of FLEET_FILES) if (!files[name]) return { error: `artifact ${name} is missing` }
  let manifest: { targets?: unknown }
  try {
    manifest = JSON.parse(files['linux-fleet-manifest.json']!.toString('utf8'))
  } catch {
    return { error: 'artifact linux-fleet-manifest.json is not JSON' }
  }
  if (!isDeepStrictEqual(manifest.targets, publication.targets)) {
    return { error: 'targets differ from the targets of linux-fleet-manifest.json' }
  }
  return { files }
}
