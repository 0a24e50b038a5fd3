import { access, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { StoreError } from '../common/errors.js'
import { acquireLock } from './file-lock.js'
import { smallJsonFile } from './json-store.js'

/**
 * The integration registry: which configured connectors the HTTP API delivers through, and
 * whether each is active and healthy. One small JSON file (`.cavra/integrations.json` by
 * default) written whole through lowdb with the store's durable adapter (unique temp file,
 * fsync, rename), every change made under an exclusive cross-process lock (the
 * `integrations.json.lock` folder) and, inside one process, one change at a time. A file that
 * does not parse or has the wrong shape is reported and never overwritten.
 */

export const REGISTRY_SCHEMA = 'cavra.integration_registry.v1'
export const INTEGRATION_SCHEMA = 'cavra.integration.v1'
export const DEFAULT_REGISTRY_PATH = '.cavra/integrations.json'

export const INTEGRATION_STATUSES = ['active', 'inactive', 'disabled'] as const
export type IntegrationStatus = (typeof INTEGRATION_STATUSES)[number]
export const HEALTH_STATUSES = ['unknown', 'healthy', 'degraded', 'failed', 'not_checked'] as const
export type HealthStatus = (typeof HEALTH_STATUSES)[number]

export interface IntegrationRecord {
  schema_version: typeof INTEGRATION_SCHEMA
  integration_id: string
  /** The connector of the configuration it delivers through. */
  connector: string
  /** The connector's provider kind (splunk, webhook, …). */
  provider: string
  category: string
  status: IntegrationStatus
  health_status: HealthStatus
  name?: string
  owner?: string
  environment?: string
  created_at: string
  updated_at: string
  last_delivery_at: string | null
  last_delivery_success: boolean | null
  last_delivery_evidence: string | null
}

/** What a caller registers; the registry keeps the timestamps and the delivery fields. */
export type IntegrationInput = Pick<
  IntegrationRecord,
  'integration_id' | 'connector' | 'provider' | 'category' | 'status' | 'health_status'
> &
  Partial<Pick<IntegrationRecord, 'name' | 'owner' | 'environment'>>

interface RegistryDocument {
  schema_version: string
  product: string
  integrations: IntegrationRecord[]
}

/** How long a change waits for another process's lock before giving up. */

export class IntegrationRegistry {
  /** Changes of this process, one after another; other processes wait on the file lock. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(readonly path: string) {}

  /** Whether the registry file is there (a missing one reads as empty). */
  async exists(): Promise<boolean> {
    return access(this.path).then(
      () => true,
      () => false,
    )
  }

  /** Every record, in registration order; a missing file is an empty registry. */
  async list(): Promise<IntegrationRecord[]> {
    return (await this.read()).integrations
  }

  async get(id: string): Promise<IntegrationRecord | undefined> {
    return (await this.list()).find((record) => record.integration_id === id)
  }

  /** Registers a record or updates the one with the same id; says which it did. */
  async upsert(
    input: IntegrationInput,
    now: Date = new Date(),
  ): Promise<{ record: IntegrationRecord; created: boolean }> {
    return this.change((document) => {
      const at = now.toISOString()
      const index = document.integrations.findIndex(
        (record) => record.integration_id === input.integration_id,
      )
      const earlier = index >= 0 ? document.integrations[index] : undefined
      const record: IntegrationRecord = {
        schema_version: INTEGRATION_SCHEMA,
        ...input,
        created_at: earlier?.created_at ?? at,
        updated_at: at,
        last_delivery_at: earlier?.last_delivery_at ?? null,
        last_delivery_success: earlier?.last_delivery_success ?? null,
        last_delivery_evidence: earlier?.last_delivery_evidence ?? null,
      }
      if (earlier) document.integrations[index] = record
      else document.integrations.push(record)
      return { record, created: !earlier }
    })
  }

  /** Records a delivery's outcome: `health_status` follows the latest delivery. */
  async recordDelivery(
    id: string,
    outcome: { success: boolean; at: string; evidence: string | null },
  ): Promise<IntegrationRecord | undefined> {
    return this.change((document) => {
      const record = document.integrations.find((candidate) => candidate.integration_id === id)
      if (!record) return undefined
      record.health_status = outcome.success ? 'healthy' : 'failed'
      record.last_delivery_at = outcome.at
      record.last_delivery_success = outcome.success
      record.last_delivery_evidence = outcome.evidence
      record.updated_at = new Date().toISOString()
      return { ...record }
    })
  }

  /**
   * Sets `health_status` on every record that delivers through a checked connector (a check
   * that could not verify a connector leaves its records alone); returns the ids changed.
   * Nothing is written when no record matches.
   */
  async recordHealth(health: ReadonlyMap<string, HealthStatus>, now: Date = new Date()): Promise<string[]> {
    const matches = (record: IntegrationRecord) => health.has(record.connector)
    if (!(await this.list()).some(matches)) return []
    return this.change((document) => {
      const changed: string[] = []
      for (const record of document.integrations.filter(matches)) {
        record.health_status = health.get(record.connector)!
        record.updated_at = now.toISOString()
        changed.push(record.integration_id)
      }
      return changed
    })
  }

  /** Reads, changes and writes the document under the lock; a damaged file is never written. */
  private change<T>(mutate: (document: RegistryDocument) => T): Promise<T> {
    const run = this.queue.then(async () => {
      await mkdir(dirname(this.path), { recursive: true }).catch((error) => {
        throw new StoreError(
          `${this.path}: cannot create the integration registry's folder (${(error as Error).message}).`,
          ['Pass --registry with a path in a folder cavra may write.'],
        )
      })
      const release = await lockOf(this.path)
      try {
        const db = smallJsonFile<RegistryDocument>(this.path, emptyDocument())
        db.data = await this.read()
        const result = mutate(db.data)
        await db.write()
        return result
      } finally {
        await release().catch(() => {})
      }
    })
    this.queue = run.catch(() => {})
    return run
  }

  private async read(): Promise<RegistryDocument> {
    const db = smallJsonFile<RegistryDocument>(this.path, emptyDocument())
    try {
      await db.read()
    } catch (error) {
      throw damaged(
        this.path,
        error instanceof SyntaxError ? 'it is not JSON' : `it cannot be read (${(error as Error).message})`,
      )
    }
    const document = db.data as unknown
    if (
      typeof document !== 'object' ||
      document === null ||
      !Array.isArray((document as RegistryDocument).integrations) ||
      !(document as RegistryDocument).integrations.every(
        (record) =>
          typeof record === 'object' && record !== null && typeof record.integration_id === 'string',
      )
    ) {
      throw damaged(this.path, 'it is not a registry document ({"integrations": [...]})')
    }
    return document as RegistryDocument
  }
}

function emptyDocument(): RegistryDocument {
  return { schema_version: REGISTRY_SCHEMA, product: 'CAVRA', integrations: [] }
}

function damaged(path: string, problem: string): StoreError {
  return new StoreError(`${path}: the integration registry is damaged: ${problem}; it was not changed.`, [
    'Restore the file from a backup, or move it aside to start an empty registry.',
  ])
}

function lockOf(path: string): Promise<() => Promise<void>> {
  return acquireLock(path, {
    cannotLock: (reason) =>
      new StoreError(`${path}: cannot lock the integration registry (${reason}).`, [
        'Pass --registry with a path in a folder cavra may write.',
      ]),
    heldTooLong: (seconds) =>
      new StoreError(`${path}: another process has held ${path}.lock for over ${seconds} s.`, [
        `If no cavra process is running, the lock is left over: remove the ${path}.lock folder.`,
      ]),
  })
}
