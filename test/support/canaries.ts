/**
 * Canary secrets planted in every test configuration. None of them may ever appear in any
 * output (stdout, stderr, evidence, metadata, dry-run), in any encoding.
 */
export const CANARY = {
  splunkToken: '5f1c2e3d-4a5b-4c6d-8e7f-canary0splunk',
  webhookSecret: `whsec_${Buffer.from('canary-webhook-signing-key-0123456789').toString('base64')}`,
  webhookBearer: 'canary-webhook-bearer-7d1e',
  webhookPath: '/hooks/canary-path-T0KEN-9f3a',
  datadogKey: 'canary-datadog-api-key-51bd',
  sentinelSecret: 'canary-entra-client-secret-6e2a',
  sentinelSharedKey: Buffer.from('canary-sentinel-shared-key-material').toString('base64'),
  slackPath: '/services/T00CANARY/B00CANARY/canarySlackHookSecret',
  teamsSig: 'canaryTeamsSig0123456789abcdef',
  jiraToken: 'canary-jira-api-token-88aa',
  servicenowPassword: 'canary-snow-password-13fe',
  jamfSecret: 'canary-jamf-client-secret-a1b2',
  intuneSecret: 'canary-intune-client-secret-c3d4',
  linuxSecret: `whsec_${Buffer.from('canary-linux-fleet-signing-key-xyz').toString('base64')}`,
  linuxToken: 'canary-linux-fleet-token-e5f6',
} as const

/** Every canary value in the forms it could leak in. */
export function canaryForms(extra: string[] = []): string[] {
  const values = [...Object.values(CANARY), ...extra]
  const forms = new Set<string>()
  for (const value of values) {
    const bare = value.startsWith('whsec_') ? value.slice(6) : value
    for (const v of [value, bare]) {
      forms.add(v)
      forms.add(Buffer.from(v).toString('base64').replace(/=+$/, ''))
      forms.add(Buffer.from(v).toString('base64url'))
      forms.add(encodeURIComponent(v))
    }
  }
  // The URL paths are secrets without their leading slash too.
  for (const value of [CANARY.webhookPath, CANARY.slackPath]) forms.add(value.slice(1))
  return [...forms].filter((form) => form.length >= 8)
}

/** The canaries found in `text` (empty when clean). */
export function leakedCanaries(text: string, extra: string[] = []): string[] {
  return canaryForms(extra).filter((form) => text.includes(form))
}

/** The emulator stack's secrets, all canaries. */
export function canaryStackSecrets(): import('../emulators/stack.js').StackSecrets {
  return {
    splunkToken: CANARY.splunkToken,
    entraSentinelSecret: CANARY.sentinelSecret,
    datadogKey: CANARY.datadogKey,
    slackPath: CANARY.slackPath,
    teamsSig: CANARY.teamsSig,
    jiraToken: CANARY.jiraToken,
    servicenowPassword: CANARY.servicenowPassword,
    webhookSecret: CANARY.webhookSecret,
    jamfSecret: CANARY.jamfSecret,
    entraIntuneSecret: CANARY.intuneSecret,
    linuxSecret: CANARY.linuxSecret,
    linuxToken: CANARY.linuxToken,
  }
}
