import { hmacSha256, sha256Hex } from '../../common/digest.js'
import { ConfigError } from '../../common/errors.js'

/**
 * Standard Webhooks v1 signing (https://github.com/standard-webhooks/standard-webhooks,
 * spec/standard-webhooks.md): `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
 * keyed with the base64-decoded part of a `whsec_` secret. The id stays the same for every
 * attempt of one message, so receivers can drop duplicates; the timestamp and signature are
 * fresh per attempt, so receivers can enforce their replay tolerance.
 */

const SECRET_PREFIX = 'whsec_'

/**
 * The symmetric signing secret is random, "at least 24 bytes (192 bits, 512 maximum)", i.e. 24
 * to 64 bytes once base64-decoded (spec, "Signature scheme").
 */
export const MIN_SECRET_BYTES = 24
export const MAX_SECRET_BYTES = 64

/**
 * The HMAC key of a `whsec_…` secret, checked when the config is prepared (a ConfigError naming
 * `signing_secret`, exit 3, before anything is sent).
 */
export function signingKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    throw new ConfigError('signing_secret must be a Standard Webhooks secret: "whsec_" followed by base64.')
  }
  const key = Buffer.from(encoded, 'base64')
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw new ConfigError(
      `signing_secret decodes to ${key.length} bytes; a Standard Webhooks secret is ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} random bytes (e.g. "whsec_" + the output of openssl rand -base64 32).`,
    )
  }
  return key
}

/** `msg_` + a hash of the connector name and event id: stable across retries and re-deliveries. */
export function messageId(connectorName: string, eventId: string): string {
  return `msg_${sha256Hex(`${connectorName}\n${eventId}`).slice(0, 32)}`
}

export interface SignedHeaders {
  'webhook-id': string
  'webhook-timestamp': string
  'webhook-signature': string
}

export function signMessage(
  key: Buffer,
  id: string,
  timestampSeconds: number,
  body: Buffer | string,
): SignedHeaders {
  const signature = hmacSha256(key, `${id}.${timestampSeconds}.`, body).toString('base64')
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': `v1,${signature}`,
  }
}
