import type { DeliveryEvent } from '../../src/events/event.js'
import type { Emulator, RecordedRequest } from '../emulators/emulator.js'
import { Stack } from '../emulators/stack.js'
import { CANARY, canaryStackSecrets } from '../support/canaries.js'
import { firstEvent, publicationFixtureEvent } from '../support/deliver.js'

/**
 * The conformance table: one row per registered connector, with what the shared behaviours of
 * `conformance.test.ts` need to drive it against its emulator (resets, timeouts, 5xx, 429 with
 * Retry-After, a final 4xx, servers echoing credentials, --dry-run, a stored but unanswered
 * create). Each row is built on a fresh emulator stack planted with canary secrets, and takes
 * the connector's entry from it: the configuration the demo and the end-to-end tests use.
 */

/** One request of a delivery: the step the evidence names it by, and where it goes. */
export interface RequestShape {
  step: string
  method: string
  path: string | RegExp
}

/**
 * What keeps a resent create from being stored twice:
 * - `duplicate-check`: the connector looks the record up before resending an ambiguous create;
 * - `idempotency-key`: every attempt carries the same key and the receiver drops repeats;
 * - `plain`: nothing (SIEM ingestion and chat posts); a resend is stored again.
 */
export type CreateSafety = 'duplicate-check' | 'idempotency-key' | 'plain'

export interface ConformanceRow {
  /** Every emulator the connector talks to, token services included, started on loopback. */
  emulators: Emulator[]
  /** The emulator its primary requests reach, where faults are injected. */
  vendor: Emulator
  /** Its entry in the configuration file: URLs and secrets through `_env` variables. */
  settings: Record<string, unknown>
  /** The environment those `_env` keys read (call once the emulators have started). */
  env(): Record<string, string>
  /** The planted canary secrets of the entry (a secret URL path is `urlPath`). */
  secrets: string[]
  /** Where the URL is itself the credential: its secret path, a planted canary too. */
  urlPath?: string
  /** The Basic blob the connector derives from its secrets, where it uses Basic. */
  basic?: string
  event(): Promise<DeliveryEvent>
  /** The primary create/ingest request(s), in the order sent; faults hit the first. */
  primary: [RequestShape, ...RequestShape[]]
  creates: CreateSafety
  /** `duplicate-check`: the lookup that runs before the create. */
  lookup?: RequestShape
  /** `idempotency-key`: the header carrying the key. */
  idempotencyHeader?: string
  /** An error body in the vendor's own shape, carrying `message`. */
  errorBody(status: number, message: string): string | object
  /** What the vendor stored, in the units the delivery counts in `records_sent`. */
  stored(): number
}

export function matches(shape: RequestShape): (request: RecordedRequest) => boolean {
  return (request) =>
    request.method === shape.method &&
    (typeof shape.path === 'string' ? request.path === shape.path : shape.path.test(request.path))
}

type RowOf = (stack: Stack, entry: Record<string, unknown>) => Omit<ConformanceRow, 'settings' | 'env'>

/** Builds a row on a fresh stack: `entry` is the connector's configuration there. */
function row(provider: string, build: RowOf): () => ConformanceRow {
  return () => {
    // The webhook URL carries a secret path here, as many receivers' URLs do.
    const stack = new Stack({ ...canaryStackSecrets(), webhookPath: CANARY.webhookPath })
    const settings = stack.connectors()[provider]
    if (!settings) throw new Error(`the emulator stack configures no ${provider} connector`)
    return { ...build(stack, settings), settings, env: () => stack.env() }
  }
}

const evidenceBundle = () => firstEvent()
const basicBlob = (user: unknown, password: string) =>
  Buffer.from(`${String(user)}:${password}`).toString('base64')

/** Azure's `{"error":{"code","message"}}`, as Monitor, Graph and the Workflows trigger answer. */
function azureError(status: number, message: string): object {
  const code = status === 400 ? 'BadRequest' : status === 429 ? 'TooManyRequests' : 'ServiceUnavailable'
  return { error: { code, message } }
}

const SCRIPTS = '/beta/deviceManagement/deviceManagementScripts'

export const CONFORMANCE: Record<string, () => ConformanceRow> = {
  splunk: row('splunk', ({ splunk, secrets }) => ({
    emulators: [splunk],
    vendor: splunk,
    secrets: [secrets.splunkToken],
    event: evidenceBundle,
    primary: [{ step: 'send batch 1', method: 'POST', path: '/services/collector/event' }],
    creates: 'plain',
    // HEC answers `{text, code}`; code 9 (server busy) is transient, code 6 (invalid data format) final.
    errorBody: (status, message) => ({ text: message, code: status >= 500 || status === 429 ? 9 : 6 }),
    stored: () => splunk.events.length,
  })),

  sentinel: row('sentinel', ({ entra, sentinel, secrets }) => ({
    emulators: [entra, sentinel],
    vendor: sentinel,
    secrets: [secrets.entraSentinelSecret],
    event: evidenceBundle,
    primary: [
      { step: 'send batch 1', method: 'POST', path: /^\/dataCollectionRules\/[^/]+\/streams\/[^/]+$/ },
    ],
    creates: 'plain',
    errorBody: azureError,
    stored: () => sentinel.rows.length,
  })),

  datadog: row('datadog', ({ datadog, secrets }) => ({
    emulators: [datadog],
    vendor: datadog,
    secrets: [secrets.datadogKey],
    event: evidenceBundle,
    primary: [{ step: 'send batch 1', method: 'POST', path: '/api/v2/logs' }],
    creates: 'plain',
    errorBody: (_status, message) => ({ errors: [message] }),
    stored: () => datadog.logs.length,
  })),

  slack: row('slack', ({ slack, secrets }) => ({
    emulators: [slack],
    vendor: slack,
    secrets: [],
    urlPath: secrets.slackPath,
    event: evidenceBundle,
    primary: [{ step: 'post message', method: 'POST', path: secrets.slackPath }],
    creates: 'plain',
    // Slack answers in plain text.
    errorBody: (_status, message) => message,
    stored: () => slack.messages.length,
  })),

  teams: row('teams', ({ teams, secrets }) => ({
    emulators: [teams],
    vendor: teams,
    secrets: [secrets.teamsSig],
    event: evidenceBundle,
    primary: [
      { step: 'post card', method: 'POST', path: /\/workflows\/[^/]+\/triggers\/manual\/paths\/invoke$/ },
    ],
    creates: 'plain',
    errorBody: azureError,
    stored: () => teams.cards.length,
  })),

  jira: row('jira', ({ jira, secrets }, entry) => ({
    emulators: [jira],
    vendor: jira,
    secrets: [secrets.jiraToken],
    basic: basicBlob(entry.email, secrets.jiraToken),
    event: evidenceBundle,
    primary: [{ step: 'create issue', method: 'POST', path: '/rest/api/3/issue' }],
    creates: 'duplicate-check',
    lookup: { step: 'search duplicates', method: 'POST', path: '/rest/api/3/search/jql' },
    errorBody: (_status, message) => ({ errorMessages: [message], errors: {} }),
    stored: () => jira.issues.length,
  })),

  servicenow: row('servicenow', ({ servicenow, secrets }, entry) => ({
    emulators: [servicenow],
    vendor: servicenow,
    secrets: [secrets.servicenowPassword],
    basic: basicBlob(entry.username, secrets.servicenowPassword),
    event: evidenceBundle,
    // The stack creates normal changes through the Change API.
    primary: [{ step: 'create normal change', method: 'POST', path: '/api/sn_chg_rest/change/normal' }],
    creates: 'duplicate-check',
    lookup: { step: 'find existing record', method: 'GET', path: '/api/now/table/change_request' },
    errorBody: (_status, message) => ({ error: { message, detail: null }, status: 'failure' }),
    stored: () => servicenow.rows('change_request').length,
  })),

  webhook: row('webhook', ({ webhook, secrets }) => ({
    emulators: [webhook],
    vendor: webhook,
    secrets: [secrets.webhookSecret],
    urlPath: webhook.path,
    event: evidenceBundle,
    primary: [{ step: 'post event', method: 'POST', path: webhook.path }],
    creates: 'idempotency-key',
    idempotencyHeader: 'webhook-id',
    errorBody: (_status, message) => ({ error: message }),
    stored: () => webhook.deliveries.length,
  })),

  jamf: row('jamf', ({ jamf, secrets }) => ({
    emulators: [jamf],
    vendor: jamf,
    secrets: [secrets.jamfSecret],
    event: () => publicationFixtureEvent(['jamf']),
    primary: [
      { step: 'create script', method: 'POST', path: '/api/v1/scripts' },
      { step: 'create policy', method: 'POST', path: '/JSSResource/policies/id/0' },
    ],
    creates: 'duplicate-check',
    lookup: { step: 'find script', method: 'GET', path: '/api/v1/scripts' },
    // The Jamf Pro API's error shape (the Classic API answers status pages).
    errorBody: (status, message) => ({
      httpStatus: status,
      errors: [
        {
          code: status === 400 ? 'INVALID_FIELD' : 'SERVER_ERROR',
          description: message,
          field: null,
          id: '0',
        },
      ],
    }),
    stored: () => jamf.scripts.size + jamf.policies.size,
  })),

  intune: row('intune', ({ entra, graph, secrets }) => ({
    emulators: [entra, graph],
    vendor: graph,
    secrets: [secrets.entraIntuneSecret],
    event: () => publicationFixtureEvent(['intune']),
    primary: [{ step: 'create script', method: 'POST', path: SCRIPTS }],
    creates: 'duplicate-check',
    lookup: { step: 'find script', method: 'GET', path: SCRIPTS },
    errorBody: azureError,
    stored: () => graph.scripts.size,
  })),

  linux: row('linux', ({ fleet, secrets }) => ({
    emulators: [fleet],
    vendor: fleet,
    secrets: [secrets.linuxSecret, secrets.linuxToken],
    event: () => publicationFixtureEvent(['linux']),
    primary: [{ step: 'publish to fleet', method: 'POST', path: fleet.path }],
    creates: 'idempotency-key',
    idempotencyHeader: 'webhook-id',
    errorBody: (_status, message) => ({ error: message }),
    // records_sent counts the artifacts of the publication.
    stored: () => fleet.publications.reduce((sum, { files }) => sum + Object.keys(files).length, 0),
  })),
}
