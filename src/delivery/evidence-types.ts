import type { Category } from '../common/category.js'
import type { Severity } from '../common/severity.js'

/** Shapes of the delivery result `cavra.connector.delivery.v1`. */

export const DELIVERY_SCHEMA = 'cavra.connector.delivery.v1'

export interface AttemptRecord {
  /** 1-based attempt number within its step. */
  attempt: number
  /** What the request was for: `send batch 1/2`, `token`, `search duplicates`, `create issue`. */
  step: string
  started_at: string
  duration_ms: number
  status_code: number | null
  outcome: 'success' | 'retryable' | 'failed'
  /** The wait before the next attempt (the server's Retry-After or the jittered backoff). */
  retry_after_ms: number | null
  error: string | null
}

export interface RequestRecord {
  method: string
  url: string
  headers: Record<string, string>
  /** sha256 of the bytes sent; over all batches in order when the request was split. */
  body_sha256: string | null
  body_bytes: number
  batches?: number
  idempotency_key: string | null
}

export interface DeliveryRecord {
  provider: string
  provider_type: string
  category: Category
  success: boolean
  status_code: number | null
  attempt_count: number
  started_at: string
  completed_at: string
  duration_ms: number
  error: string | null
  remote_reference: string | null
  deduplicated: boolean
  records_sent: number
  /** Records cavra shortened to fit the vendor's limits, with a visible marker. */
  records_shortened: number
  /** Present and true when the destination accepted the request for later processing (202). */
  accepted_async?: boolean
  request: RequestRecord | null
  attempts: AttemptRecord[]
  warnings?: string[]
  /** Under --dry-run: the requests that would have been sent, redacted. */
  dry_run_requests?: DryRunRequest[]
}

export interface DryRunRequest {
  step: string
  method: string
  url: string
  headers: Record<string, string>
  body: unknown
}

export interface DeliveryResult {
  schema_version: typeof DELIVERY_SCHEMA
  product: string
  event_type: string
  event_id: string
  session_id: string | null
  severity: Severity
  generated_at: string
  success: boolean
  dry_run?: boolean
  source_artifact: { path: string | null; sha256: string } | null
  deliveries: DeliveryRecord[]
}
