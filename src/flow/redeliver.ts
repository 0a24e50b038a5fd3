import { dirname } from 'node:path'
import { InputError } from '../common/errors.js'
import { inertText } from '../common/text.js'
import { connectorCatalog } from '../config/catalog.js'
import { type ConnectorEntry, loadConnectorConfig, loadSelected } from '../config/load.js'
import { prepareConnectors, type SelectionRule } from '../config/select.js'
import type { PreparedConnector } from '../connectors/types.js'
import type { DeliveryResult } from '../delivery/evidence-types.js'
import type { Redactor } from '../delivery/redact.js'
import type { Deadline } from '../delivery/retry.js'
import { checkRecordedArtifact } from '../events/artifact.js'
import type { StoreItem } from '../metadata/chain.js'
import { openPairs } from '../metadata/dashboard.js'
import { storeIndex } from '../metadata/evidence-index.js'
import {
  CONNECTOR_KINDS,
  collectRowGroups,
  type DeliveryRow,
  PUBLICATION_KIND,
  type PublicationRow,
} from '../metadata/history.js'
import type { MetadataStore } from '../metadata/metadata-store.js'
import { DELIVERY_KINDS, type DeliveryKind } from './delivery-kinds.js'
import { type Delivered, type EventSource, runDelivery } from './run-delivery.js'

/**
 * Re-delivery of the open alerts of the store: each (connector, event) whose latest delivery
 * failed, as the dashboards find them, delivered again to that connector only, from the
 * artifact the failed item recorded once its SHA-256 shows it unchanged. The event is rebuilt
 * from the same bytes, so its identity, and with it every idempotency key a connector derives
 * from it (webhook-id, Jira label, ServiceNow correlation id), is the same: a vendor that
 * already holds the event recognises it. The new item names the failed ones in `redelivery_of`.
 */

export const REDELIVERY_SCHEMA = 'cavra.release.redelivery.v1'

export interface RedeliveryFilter {
  /** Event ids (an endpoint publication also answers to its export id); empty for every event. */
  eventIds: readonly string[]
  /** Connector names or provider kinds; empty for every connector. */
  providers: readonly string[]
}

/** A connector with an open alert for the event. */
export interface AlertConnector {
  name: string
  providerType: string
}

/** One event to deliver again, from one recorded artifact, to the connectors of its open alerts. */
export interface Redelivery {
  /** The kind of the failed delivery; null when the item does not say. */
  kind: DeliveryKind | null
  eventId: string
  eventType: string
  connectors: AlertConnector[]
  /** session_id of every failed item the open alerts are made of, newest first. */
  redeliveryOf: string[]
  source: { path: string | null; sha256: string | null }
  /** The export files the failed publication verified, by name (endpoint publications only). */
  publishedFiles: Map<string, string> | null
}

export interface RedeliveryResult {
  event_id: string
  event_type: string
  provider: string
  provider_type: string
  outcome: 'delivered' | 'failed' | 'refused'
  /** Why it failed or was refused; null when delivered. */
  reason: string | null
  remote_reference: string | null
  /** Whether the vendor already held the event (its duplicate check found it). */
  deduplicated: boolean
  delivery_evidence: string | null
  /** The new store item; null when refused, under --dry-run, or when nothing was appended. */
  session_id: string | null
  redelivery_of: string[]
}

export interface RedeliveryPlan {
  store: MetadataStore
  filter: RedeliveryFilter
  configPath: string
  retries: number
  timeoutMs: number
  /** The budget of the whole command, shared by every re-delivery. */
  deadline: Deadline
  dryRun: boolean
  env: NodeJS.ProcessEnv
  redactor: Redactor
  warn(message: string): void
}

/** Hears each event's results as soon as they are known. */
export type RedeliveryListener = (results: readonly RedeliveryResult[], delivered: Delivered | null) => void

/**
 * Re-delivers every open alert that matches the filter; returns every result (empty when
 * nothing is open). A refused alert skips only itself; a broken configuration or store stops
 * everything before anything is sent (ConfigError, StoreError).
 */
export async function redeliverOpenAlerts(
  plan: RedeliveryPlan,
  onResults: RedeliveryListener = () => {},
): Promise<RedeliveryResult[]> {
  const targets = await findRedeliveries(plan.store, plan.filter)
  if (targets.length === 0) return []
  const unusable = await checkConnectors(targets, plan)
  const results: RedeliveryResult[] = []
  for (const target of targets) {
    const outcome = await redeliver(target, unusable, plan)
    results.push(...outcome.results)
    onResults(outcome.results, outcome.delivered)
  }
  return results
}

/** The open alerts of both dashboards that match the filter, grouped by event and artifact. */
export async function findRedeliveries(
  store: MetadataStore,
  filter: RedeliveryFilter,
): Promise<Redelivery[]> {
  // Only an item with a failure can head an open alert; those few are kept for their artifact.
  const failedItems = new Map<string, StoreItem>()
  async function* keepingFailures(items: AsyncIterable<StoreItem>): AsyncIterable<StoreItem> {
    for await (const item of items) {
      if (item.delivery_success !== true && typeof item.session_id === 'string') {
        failedItems.set(inertText(item.session_id), item)
      }
      yield item
    }
  }
  const [connectorRows, publicationRows] = await collectRowGroups(keepingFailures(store.items()), [
    CONNECTOR_KINDS,
    [PUBLICATION_KIND],
  ])
  const pairs = [...openPairs(connectorRows!), ...openPairs(publicationRows as PublicationRow[])]
  const targets = new Map<string, Redelivery>()
  for (const { latest, failures } of pairs) {
    if (!matches(latest, filter)) continue
    const item = failedItems.get(latest.session_id)
    const source = recordedSource(item)
    const kind = item ? kindOf(item) : null
    const key = JSON.stringify([kind, latest.event_id, source.path, source.sha256])
    let target = targets.get(key)
    if (!target) {
      target = {
        kind,
        eventId: latest.event_id,
        eventType: latest.event_type,
        connectors: [],
        redeliveryOf: [],
        source,
        publishedFiles: kind === 'endpoint-export' && item ? publishedFiles(item) : null,
      }
      targets.set(key, target)
    }
    target.connectors.push({ name: latest.provider, providerType: latest.provider_type })
    for (const failure of failures) {
      if (!target.redeliveryOf.includes(failure.session_id)) target.redeliveryOf.push(failure.session_id)
    }
  }
  return [...targets.values()]
}

function matches(row: DeliveryRow & Partial<PublicationRow>, filter: RedeliveryFilter): boolean {
  const eventMatches =
    filter.eventIds.length === 0 ||
    filter.eventIds.includes(row.event_id) ||
    (row.export_id != null && filter.eventIds.includes(row.export_id))
  const providerMatches =
    filter.providers.length === 0 ||
    filter.providers.includes(row.provider) ||
    filter.providers.includes(row.provider_type)
  return eventMatches && providerMatches
}

function recordedSource(item: StoreItem | undefined): Redelivery['source'] {
  const source = item?.source_artifact as { path?: unknown; sha256?: unknown } | null | undefined
  return {
    path: typeof source?.path === 'string' && source.path !== '' && source.path !== '-' ? source.path : null,
    sha256: typeof source?.sha256 === 'string' ? source.sha256.toLowerCase() : null,
  }
}

/** The delivery kind of a store item; items of the earlier tool may lack their source. */
function kindOf(item: StoreItem): DeliveryKind | null {
  const kinds = Object.entries(DELIVERY_KINDS) as [DeliveryKind, (typeof DELIVERY_KINDS)[DeliveryKind]][]
  const exact = kinds.find(
    ([, spec]) => spec.metadataKind === item.metadata_kind && spec.source === item.connector_delivery_source,
  )
  if (exact) return exact[0]
  if (item.metadata_kind === 'integration-connector-delivery') return 'integration'
  if (item.metadata_kind === PUBLICATION_KIND) return 'endpoint-export'
  if (item.metadata_kind === 'release-connector-delivery') {
    const type = String(item.event_type ?? '')
    if (type === 'cavra.rollout_rollback_execution') return 'rollback'
    if (type === 'cavra.rollout_promotion_execution') return 'promotion'
  }
  return null
}

function publishedFiles(item: StoreItem): Map<string, string> | null {
  if (!Array.isArray(item.artifacts)) return null
  const files = new Map<string, string>()
  for (const file of item.artifacts as { name?: unknown; sha256?: unknown }[]) {
    if (typeof file?.name === 'string' && typeof file.sha256 === 'string') files.set(file.name, file.sha256)
  }
  return files
}

/**
 * The connectors of the alerts as the configuration has them now. One that is gone, disabled
 * or now of another provider kind refuses its alerts (delivering elsewhere would not fix
 * them); the others are loaded and resolved here, so a configuration problem stops the
 * command (exit 3) before anything is sent. Returns the refusal reason of each unusable one.
 */
async function checkConnectors(
  targets: readonly Redelivery[],
  plan: RedeliveryPlan,
): Promise<Map<string, string>> {
  const config = await loadConnectorConfig(plan.configPath, await connectorCatalog())
  const unusable = new Map<string, string>()
  const usable = new Map<string, ConnectorEntry>()
  for (const { name, providerType } of targets.flatMap((target) => target.connectors)) {
    if (usable.has(name) || unusable.has(name)) continue
    const entry = config.entries.find((candidate) => candidate.name === name)
    if (!entry) unusable.set(name, `${config.path} has no connector "${name}" any more`)
    else if (!entry.enabled) unusable.set(name, `connector "${name}" is disabled in ${config.path}`)
    else if (entry.provider !== providerType) {
      unusable.set(
        name,
        `connector "${name}" is now a ${entry.provider} connector in ${config.path}; the failed delivery went to ${providerType}`,
      )
    } else usable.set(name, entry)
  }
  const entries = [...usable.values()]
  await loadSelected(config, entries)
  prepareConnectors(config, entries, plan.env)
  return unusable
}

interface RedeliveryInput {
  rule: SelectionRule
  loadEvents(connectors: readonly PreparedConnector[]): Promise<EventSource>
  indexFields?(result: DeliveryResult): Record<string, unknown>
}

async function redeliver(
  target: Redelivery,
  unusable: ReadonlyMap<string, string>,
  plan: RedeliveryPlan,
): Promise<{ results: RedeliveryResult[]; delivered: Delivered | null }> {
  const results: RedeliveryResult[] = []
  const refuse = (connectors: readonly AlertConnector[], reason: string) => {
    for (const connector of connectors)
      results.push(resultOf(target, connector, 'refused', inertText(reason)))
  }
  const connectors: AlertConnector[] = []
  for (const connector of target.connectors) {
    const problem = unusable.get(connector.name)
    if (problem) refuse([connector], problem)
    else connectors.push(connector)
  }
  if (connectors.length === 0) return { results, delivered: null }
  if (target.kind === null) {
    refuse(
      connectors,
      'the failed item does not say which kind of delivery it was, so its artifact cannot be read',
    )
    return { results, delivered: null }
  }
  const artifact = await checkRecordedArtifact(target.source.path, target.source.sha256)
  if (!artifact.usable) {
    refuse(connectors, artifact.reason)
    return { results, delivered: null }
  }
  const kind = DELIVERY_KINDS[target.kind]
  let delivered: Delivered | null = null
  try {
    const input = await inputOf(target, artifact.path)
    await runDelivery(
      {
        configPath: plan.configPath,
        providers: connectors.map((connector) => connector.name),
        rule: input.rule,
        loadEvents: input.loadEvents,
        outputDir: kind.outputDir,
        index: storeIndex(plan.store, kind.metadataKind, kind.source, (result) => ({
          ...input.indexFields?.(result),
          redelivery_of: target.redeliveryOf,
        })),
        retries: plan.retries,
        timeoutMs: plan.timeoutMs,
        deadlineMs: plan.deadline.remainingMs(),
        dryRun: plan.dryRun,
        env: plan.env,
        redactor: plan.redactor,
        warn: plan.warn,
      },
      (done) => {
        delivered = done
      },
    )
  } catch (error) {
    // The artifact is read and checked before anything is sent: an input problem refuses it.
    if (error instanceof InputError && delivered === null) {
      refuse(connectors, error.message)
      return { results, delivered: null }
    }
    throw error
  }
  const done = delivered as Delivered | null
  if (done === null) {
    refuse(connectors, `${artifact.path}: holds no event ${target.eventId} any more`)
    return { results, delivered: null }
  }
  for (const connector of connectors) {
    const record = done.result.deliveries.find((delivery) => delivery.provider === connector.name)
    const success = record?.success === true
    results.push({
      ...resultOf(
        target,
        connector,
        success ? 'delivered' : 'failed',
        success ? null : (record?.error ?? 'not delivered'),
      ),
      remote_reference: record?.remote_reference ?? null,
      deduplicated: record?.deduplicated === true,
      delivery_evidence: done.evidencePath,
      session_id: typeof done.metadata?.session_id === 'string' ? done.metadata.session_id : null,
    })
  }
  return { results, delivered: done }
}

function resultOf(
  target: Redelivery,
  connector: AlertConnector,
  outcome: RedeliveryResult['outcome'],
  reason: string | null,
): RedeliveryResult {
  return {
    event_id: target.eventId,
    event_type: target.eventType,
    provider: connector.name,
    provider_type: connector.providerType,
    outcome,
    reason,
    remote_reference: null,
    deduplicated: false,
    delivery_evidence: null,
    session_id: null,
    redelivery_of: target.redeliveryOf,
  }
}

/** How the artifact is read, by the same source its delivery command uses. */
async function inputOf(target: Redelivery, path: string): Promise<RedeliveryInput> {
  const { endpointExport, integrationEvents, releaseEvents } = await import('./sources.js')
  const { categories } = DELIVERY_KINDS[target.kind!]
  const rule: SelectionRule = { categories, command: 'release redeliver' }
  switch (target.kind) {
    case 'integration':
      return { rule, loadEvents: async () => recordedEvent(await integrationEvents(path), target, path) }
    case 'promotion':
    case 'rollback': {
      const kind = target.kind
      return { rule, loadEvents: async () => recordedEvent(await releaseEvents(path, kind), target, path) }
    }
    default: {
      const input = await endpointExport(path)
      return {
        rule: input.rule,
        loadEvents: async (connectors) => recordedEvent(await input.loadEvents(connectors), target, path),
        indexFields: (result) => input.indexFields(result.event_id),
      }
    }
  }
}

/**
 * Only the event of the alert, and only from the recorded bytes: the file was checked before it
 * was opened, and is checked again by the hash taken while it was read, so a file swapped in
 * between is refused too. An endpoint export's files must be the ones the failed publication
 * verified.
 */
function recordedEvent(source: EventSource, target: Redelivery, path: string): EventSource {
  return {
    ...source,
    single: true,
    events: (async function* () {
      for await (const event of source.events) {
        if (event.eventId !== target.eventId) continue
        if (event.source?.sha256 !== target.source.sha256) {
          throw new InputError(`${path}: the artifact changed while it was being read for re-delivery.`, [
            'Restore the artifact the failed delivery used, or deliver the new one with its own command.',
          ])
        }
        assertSameFiles(event.fields.artifacts, target.publishedFiles, path)
        yield event
        return
      }
    })(),
  }
}

function assertSameFiles(artifacts: unknown, published: Map<string, string> | null, manifest: string): void {
  if (published === null || !Array.isArray(artifacts)) return
  for (const file of artifacts as { name: string; sha256: string }[]) {
    const before = published.get(file.name)
    if (before !== file.sha256) {
      throw new InputError(
        `${dirname(manifest)}/${file.name}: ${before === undefined ? 'was not part of the failed publication' : 'changed since the failed publication'} (its checksums.txt was changed too).`,
        ['Restore the export the failed publication used, or publish the new export with its own command.'],
      )
    }
  }
}
