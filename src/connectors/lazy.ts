import type { AnyConnector } from './types.js'

/**
 * Every provider's module, loaded on demand: a command imports only the connectors it
 * selects, so one webhook delivery neither reads nor runs the other ten. The same providers,
 * in the same order, as `CONNECTORS` (index.ts), which loads them all at once for the JSON
 * Schema, the docs and the tests; test/unit/connector-catalog.test.ts keeps the two equal.
 */
export const CONNECTOR_MODULES: Readonly<Record<string, () => Promise<AnyConnector>>> = {
  splunk: async () => (await import('./splunk.js')).splunk,
  sentinel: async () => (await import('./sentinel.js')).sentinel,
  datadog: async () => (await import('./datadog.js')).datadog,
  slack: async () => (await import('./slack.js')).slack,
  teams: async () => (await import('./teams.js')).teams,
  jira: async () => (await import('./jira.js')).jira,
  servicenow: async () => (await import('./servicenow.js')).servicenow,
  webhook: async () => (await import('./webhook.js')).webhook,
  jamf: async () => (await import('./jamf.js')).jamf,
  intune: async () => (await import('./intune.js')).intune,
  linux: async () => (await import('./linux.js')).linux,
}
