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
  postgresPassword: 'canary-postgres-password-7c9e',
} as const

/** The secret parts of the canaries: URL paths leak by their segments, signing secrets bare too. */
function secretAtoms(extra: string[]): string[] {
  const atoms = new Set<string>()
  for (const value of [...Object.values(CANARY), ...extra]) {
    if (value.startsWith('/')) {
      // The segments that carry the secret: 8+ characters with a digit, or 20+ ('services' is not one).
      for (const segment of value.split('/')) {
        if ((segment.length >= 8 && /\d/.test(segment)) || segment.length >= 20) atoms.add(segment)
      }
      continue
    }
    atoms.add(value)
    if (value.startsWith('whsec_')) atoms.add(value.slice(6))
  }
  return [...atoms]
}

/** Base64 of `bytes` as it appears inside a longer encoded text, at each byte alignment. */
function alignedBase64(bytes: Buffer, encoding: 'base64' | 'base64url'): string[] {
  return [0, 1, 2].map((offset) =>
    Buffer.concat([Buffer.alloc(offset), bytes])
      .toString(encoding)
      .replace(/=+$/, '')
      .slice(offset === 0 ? 0 : 4, Math.floor((offset + bytes.length) / 3) * 4),
  )
}

/** Every canary value in the forms it could leak in. */
export function canaryForms(extra: string[] = []): string[] {
  const forms = new Set<string>()
  for (const atom of secretAtoms(extra)) {
    const bytes = Buffer.from(atom)
    for (const form of [
      atom,
      encodeURIComponent(atom),
      ...alignedBase64(bytes, 'base64'),
      ...alignedBase64(bytes, 'base64url'),
    ]) {
      forms.add(form)
    }
  }
  return [...forms].filter((form) => form.length >= 8)
}

/**
 * The canaries found in `text` (empty when clean): any of their forms, or the first 8
 * characters of one, which is as good as the secret to someone guessing the rest.
 */
export function leakedCanaries(text: string, extra: string[] = []): string[] {
  return canaryForms(extra).filter((form) => text.includes(form.slice(0, 8)))
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
