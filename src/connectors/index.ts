import { datadog } from './datadog.js'
import { intune } from './intune.js'
import { jamf } from './jamf.js'
import { jira } from './jira.js'
import { linux } from './linux.js'
import { sentinel } from './sentinel.js'
import { servicenow } from './servicenow.js'
import { slack } from './slack.js'
import { splunk } from './splunk.js'
import { teams } from './teams.js'
import type { AnyConnector } from './types.js'
import { webhook } from './webhook.js'

/**
 * Every provider cavra delivers to. An explicit list (not a folder scan) so the bundler and
 * the type checker see every connector; adding one is one import and one entry here.
 */
export const CONNECTORS: readonly AnyConnector[] = [
  splunk,
  sentinel,
  datadog,
  slack,
  teams,
  jira,
  servicenow,
  webhook,
  jamf,
  intune,
  linux,
]

export const REGISTRY: ReadonlyMap<string, AnyConnector> = new Map(
  CONNECTORS.map((connector) => [connector.provider, connector]),
)
