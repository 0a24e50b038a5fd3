import { expect, it } from 'vitest'
import { Stack } from '../emulators/stack.js'
import { canaryStackSecrets } from '../support/canaries.js'
import { checkInProcess } from '../support/check.js'
import { deliverInProcess, publicationFixtureEvent } from '../support/deliver.js'
import { useEmulators } from '../support/harness.js'

/**
 * `integration check` creates or changes nothing at any vendor: after a check of every
 * connector of the stack, everything each emulator holds (events ingested, rows, logs,
 * messages, cards, issues, change requests, webhook deliveries, scripts, policies,
 * assignments, publications) is exactly what it held before.
 */

const stack = new Stack(canaryStackSecrets())
useEmulators(...stack.emulators)

/** Everything the emulators store, as JSON (the recorded requests inside left out). */
function stored(): string {
  const s = stack
  return JSON.stringify(
    {
      splunk: s.splunk.events,
      sentinel: [s.sentinel.rows, s.sentinel.custom],
      datadog: [s.datadog.logs, s.datadog.dropped],
      slack: s.slack.messages,
      teams: s.teams.cards,
      jira: s.jira.issues,
      servicenow: [...s.servicenow.tables],
      webhook: s.webhook.deliveries,
      jamf: [[...s.jamf.scripts], [...s.jamf.policies]],
      graph: [[...s.graph.scripts], [...s.graph.assignments]],
      fleet: s.fleet.publications.map(({ publication, deliveryId }) => ({ publication, deliveryId })),
    },
    (key, value) => (key === 'request' ? undefined : value),
  )
}

it('leaves every emulator holding exactly what it held before, and posts nothing anywhere', async () => {
  const connectors = stack.connectors()
  const env = stack.env()
  // Something to lose at every vendor: one event and one endpoint publication delivered.
  const event = await deliverInProcess({ connectors, env })
  const publication = await deliverInProcess({
    connectors,
    env,
    categories: ['endpoint'],
    event: await publicationFixtureEvent(),
  })
  expect(event.success && publication.success).toBe(true)
  const before = stored()
  for (const part of ['splunk', 'jira', 'servicenow', 'jamf', 'graph', 'fleet'])
    expect(JSON.parse(before)[part]).not.toEqual([])
  const sent = stack.emulators.map((emulator) => emulator.requests.length)

  const report = await checkInProcess({ connectors, env })

  expect(report.checks.map((check) => [check.connector, check.status])).toEqual([
    ['splunk', 'healthy'],
    ['sentinel', 'healthy'],
    ['datadog', 'healthy'],
    ['slack', 'healthy'],
    ['teams', 'unverified'],
    ['jira', 'healthy'],
    ['servicenow', 'healthy'],
    ['webhook', 'unverified'],
    ['jamf', 'healthy'],
    ['intune', 'healthy'],
    ['linux', 'healthy'],
  ])
  expect(stored()).toBe(before)
  // The only bodies a check sends: token requests, HEC's empty post and Slack's empty message.
  const since = (emulator: (typeof stack.emulators)[number]) =>
    emulator.requests.slice(sent[stack.emulators.indexOf(emulator)])
  const writes = stack.emulators
    .flatMap(since)
    .filter((request) => request.method !== 'GET')
    .map((request) => {
      const body =
        request.body.length === 0 ? 'empty' : request.text === '{}' ? '{}' : request.headers['content-type']
      return `${request.method} ${request.path} ${body}`
    })
  const tokens = writes.filter((write) => write.endsWith('application/x-www-form-urlencoded'))
  expect(
    tokens.map((write) => write.replace(/^POST \/[^/]+\/oauth2/, 'POST /{tenant}/oauth2')).sort(),
  ).toEqual(
    [
      'POST /{tenant}/oauth2/v2.0/token application/x-www-form-urlencoded',
      'POST /{tenant}/oauth2/v2.0/token application/x-www-form-urlencoded',
      'POST /api/oauth/token application/x-www-form-urlencoded',
    ].sort(),
  )
  expect(writes.filter((write) => !tokens.includes(write)).sort()).toEqual(
    [`POST ${stack.slack.path} {}`, 'POST /services/collector/event empty'].sort(),
  )
  expect([...since(stack.teams), ...since(stack.webhook), ...since(stack.sentinel)]).toEqual([])
})
