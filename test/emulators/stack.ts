import { randomBytes, randomUUID } from 'node:crypto'
import { DatadogIntake } from './datadog.js'
import type { Emulator } from './emulator.js'
import { EntraEmulator } from './entra.js'
import { FleetReceiver } from './fleet-receiver.js'
import { GraphEmulator } from './graph.js'
import { JamfEmulator } from './jamf.js'
import { JiraEmulator } from './jira.js'
import { CAVRA_STREAM_COLUMNS, SentinelEmulator } from './sentinel.js'
import { ServiceNowEmulator } from './servicenow.js'
import { SlackWebhookEmulator } from './slack.js'
import { SplunkHecEmulator } from './splunk-hec.js'
import { TeamsWorkflowEmulator } from './teams.js'
import { WebhookReceiver } from './webhook-receiver.js'

/**
 * Every vendor emulator on loopback at once, with a connector configuration that points at
 * them through environment variables: what the demo and the end-to-end tests deliver to.
 */

export interface StackSecrets {
  splunkToken: string
  entraSentinelSecret: string
  datadogKey: string
  slackPath: string
  teamsSig: string
  jiraToken: string
  servicenowPassword: string
  webhookSecret: string
  jamfSecret: string
  entraIntuneSecret: string
  linuxSecret: string
  linuxToken: string
  /** The webhook receiver's path, when the URL is to carry a secret in it too (default `/hooks/cavra`). */
  webhookPath?: string
}

export function randomSecrets(): StackSecrets {
  const token = () => randomBytes(18).toString('base64url')
  return {
    splunkToken: randomUUID(),
    entraSentinelSecret: token(),
    datadogKey: randomBytes(16).toString('hex'),
    slackPath: `/services/T${token().slice(0, 8)}/B${token().slice(0, 8)}/${token()}`,
    teamsSig: token(),
    jiraToken: token(),
    servicenowPassword: token(),
    webhookSecret: `whsec_${randomBytes(32).toString('base64')}`,
    jamfSecret: token(),
    entraIntuneSecret: token(),
    linuxSecret: `whsec_${randomBytes(32).toString('base64')}`,
    linuxToken: token(),
  }
}

const TENANT = '7f3e2d1c-0b0a-4908-8706-05040302010f'
const SENTINEL_CLIENT = '1a2b3c4d-5e6f-4a0b-8c1d-2e3f4a5b6c7d'
const INTUNE_CLIENT = '2b3c4d5e-6f7a-4b1c-9d2e-3f4a5b6c7d8e'
const INTUNE_GROUP = '3c4d5e6f-7a8b-4c2d-8e3f-4a5b6c7d8e9f'
const DCR = 'dcr-0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d'
const JIRA_EMAIL = 'cavra-bot@acme.example'
const SNOW_USER = 'cavra.integration'
const JAMF_CLIENT = 'cavra-publisher'

export class Stack {
  readonly entra: EntraEmulator
  readonly splunk: SplunkHecEmulator
  readonly sentinel: SentinelEmulator
  readonly datadog: DatadogIntake
  readonly slack: SlackWebhookEmulator
  readonly teams: TeamsWorkflowEmulator
  readonly jira: JiraEmulator
  readonly servicenow: ServiceNowEmulator
  readonly webhook: WebhookReceiver
  readonly jamf: JamfEmulator
  readonly graph: GraphEmulator
  readonly fleet: FleetReceiver

  constructor(readonly secrets: StackSecrets) {
    this.entra = new EntraEmulator([
      { tenantId: TENANT, clientId: SENTINEL_CLIENT, clientSecret: secrets.entraSentinelSecret },
      { tenantId: TENANT, clientId: INTUNE_CLIENT, clientSecret: secrets.entraIntuneSecret },
    ])
    this.splunk = new SplunkHecEmulator({ token: secrets.splunkToken, allowedIndexes: ['cavra'] })
    this.sentinel = new SentinelEmulator({
      entra: this.entra,
      dcrImmutableId: DCR,
      streamName: 'Custom-CAVRAEvents',
      columns: CAVRA_STREAM_COLUMNS,
      workspaceId: '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a',
      sharedKey: Buffer.from(secrets.entraSentinelSecret).toString('base64'),
    })
    this.datadog = new DatadogIntake({ apiKey: secrets.datadogKey })
    this.slack = new SlackWebhookEmulator({
      path: secrets.slackPath,
      rateLimit: { limit: 100, windowMs: 1000 },
    })
    this.teams = new TeamsWorkflowEmulator({ sig: secrets.teamsSig })
    this.jira = new JiraEmulator({ email: JIRA_EMAIL, apiToken: secrets.jiraToken, pat: randomUUID() })
    this.servicenow = new ServiceNowEmulator({
      users: [{ username: SNOW_USER, password: secrets.servicenowPassword, roles: ['itil'] }],
    })
    this.webhook = new WebhookReceiver({ secret: secrets.webhookSecret, path: secrets.webhookPath })
    this.jamf = new JamfEmulator({
      clients: [{ clientId: JAMF_CLIENT, clientSecret: secrets.jamfSecret }],
      computerGroups: [12],
    })
    this.graph = new GraphEmulator(this.entra)
    this.fleet = new FleetReceiver({ secret: secrets.linuxSecret, bearer: secrets.linuxToken })
  }

  get emulators(): Emulator[] {
    return [
      this.entra,
      this.splunk,
      this.sentinel,
      this.datadog,
      this.slack,
      this.teams,
      this.jira,
      this.servicenow,
      this.webhook,
      this.jamf,
      this.graph,
      this.fleet,
    ]
  }

  async start(): Promise<this> {
    await Promise.all(this.emulators.map((emulator) => emulator.start()))
    return this
  }

  async stop(): Promise<void> {
    await Promise.all(this.emulators.map((emulator) => emulator.stop()))
  }

  /** Waits for every request in flight, including late ones a client gave up on. */
  async idle(): Promise<void> {
    await Promise.all(this.emulators.map((emulator) => emulator.idle()))
  }

  /** Forgets everything received and every injected fault. */
  reset(): void {
    for (const emulator of this.emulators) emulator.reset()
  }

  /** The connector configuration: every secret and URL comes from the environment. */
  connectors(): Record<string, Record<string, unknown>> {
    return {
      splunk: { url_env: 'SPLUNK_HEC_URL', token_env: 'SPLUNK_HEC_TOKEN', index: 'cavra' },
      sentinel: {
        url_env: 'SENTINEL_DCE_URL',
        dcr_immutable_id: DCR,
        tenant_id: TENANT,
        client_id: SENTINEL_CLIENT,
        client_secret_env: 'SENTINEL_CLIENT_SECRET',
        authority_url_env: 'ENTRA_AUTHORITY_URL',
      },
      datadog: {
        url_env: 'DATADOG_INTAKE_URL',
        api_url_env: 'DATADOG_API_URL',
        api_key_env: 'DD_API_KEY',
        tags: ['env:demo'],
      },
      slack: { url_env: 'SLACK_WEBHOOK_URL', title: 'AI agent governance' },
      teams: { url_env: 'TEAMS_WORKFLOW_URL', title: 'AI agent governance' },
      jira: {
        url_env: 'JIRA_BASE_URL',
        // The emulator plays Jira Cloud on a loopback URL, which is no *.atlassian.net site.
        deployment: 'cloud',
        project_key: 'SEC',
        email: JIRA_EMAIL,
        token_env: 'JIRA_API_TOKEN',
        priority_map: { critical: 'Highest', high: 'High', medium: 'Medium', low: 'Low' },
      },
      servicenow: {
        url_env: 'SERVICENOW_INSTANCE_URL',
        api: 'change',
        change_model: 'normal',
        username: SNOW_USER,
        password_env: 'SERVICENOW_PASSWORD',
      },
      webhook: { url_env: 'CAVRA_WEBHOOK_URL', signing_secret_env: 'CAVRA_WEBHOOK_SECRET' },
      jamf: {
        url_env: 'JAMF_URL',
        client_id: JAMF_CLIENT,
        client_secret_env: 'JAMF_CLIENT_SECRET',
        computer_group_ids: [12],
      },
      intune: {
        tenant_id: TENANT,
        client_id: INTUNE_CLIENT,
        client_secret_env: 'INTUNE_CLIENT_SECRET',
        authority_url_env: 'ENTRA_AUTHORITY_URL',
        graph_url_env: 'GRAPH_URL',
        group_id: INTUNE_GROUP,
      },
      linux: {
        url_env: 'LINUX_FLEET_URL',
        signing_secret_env: 'LINUX_FLEET_SECRET',
        token_env: 'LINUX_FLEET_TOKEN',
      },
    }
  }

  env(): Record<string, string> {
    const s = this.secrets
    return {
      SPLUNK_HEC_URL: this.splunk.url,
      SPLUNK_HEC_TOKEN: s.splunkToken,
      SENTINEL_DCE_URL: this.sentinel.url,
      SENTINEL_CLIENT_SECRET: s.entraSentinelSecret,
      ENTRA_AUTHORITY_URL: this.entra.url,
      DATADOG_INTAKE_URL: this.datadog.endpoint,
      DATADOG_API_URL: this.datadog.url,
      DD_API_KEY: s.datadogKey,
      SLACK_WEBHOOK_URL: this.slack.endpoint,
      TEAMS_WORKFLOW_URL: this.teams.endpoint,
      JIRA_BASE_URL: this.jira.url,
      JIRA_API_TOKEN: s.jiraToken,
      SERVICENOW_INSTANCE_URL: this.servicenow.url,
      SERVICENOW_PASSWORD: s.servicenowPassword,
      CAVRA_WEBHOOK_URL: this.webhook.endpoint,
      CAVRA_WEBHOOK_SECRET: s.webhookSecret,
      JAMF_URL: this.jamf.url,
      JAMF_CLIENT_SECRET: s.jamfSecret,
      INTUNE_CLIENT_SECRET: s.entraIntuneSecret,
      GRAPH_URL: this.graph.url,
      LINUX_FLEET_URL: this.fleet.endpoint,
      LINUX_FLEET_SECRET: s.linuxSecret,
      LINUX_FLEET_TOKEN: s.linuxToken,
    }
  }
}
