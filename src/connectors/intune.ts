import { z } from 'zod'
import { ConfigError } from '../common/errors.js'
import type { TokenSource } from '../delivery/exchange.js'
import type { HttpRequest, HttpResponse } from '../delivery/http.js'
import { isRetryableStatus } from '../delivery/retry.js'
import type { Session } from '../delivery/session.js'
import { excerpt, type Verdict } from '../delivery/verdict.js'
import { exportManifestSchema, type IntuneApp, intuneAppSchema } from '../events/endpoint-export.js'
import type { DeliveryEvent } from '../events/event.js'
import { configuredHeaders } from './shared/auth.js'
import {
  ENTRA_CREDENTIAL_SECRETS,
  entraCredential,
  entraCredentialSettings,
  entraToken,
} from './shared/entra-credentials.js'
import { jsonObject } from './shared/json.js'
import { recoveredWarnings } from './shared/outcomes.js'
import { isPlainHttpOffHost, parseUrlSetting } from './shared/urls.js'
import { type ConnectorResult, defineConnector, type ProbeResult } from './types.js'

/**
 * Microsoft Intune through Microsoft Graph.
 * Docs: https://learn.microsoft.com/graph/api/resources/intune-shared-devicemanagementscript?view=graph-rest-beta
 * The export's install step becomes a Windows PowerShell platform script (`deviceManagementScript`,
 * beta only) named after the export's `display_name`: it runs the install command and fails unless
 * the installed binary matches the export's SHA-256. Re-publishing updates the same Graph object;
 * with `group_id` the script is assigned to that Entra group beside its existing assignments.
 */

export interface IntuneConfig {
  graphUrl: string
  groupId?: string
  auth: TokenSource
  headers: Record<string, string>
}

/** What the connector reads from a publication event. */
export interface IntunePublication {
  publicationId: string
  exportId: string
  channel: string
  release: { version: string; commit: string; repository: string }
  approval: { approval_id?: string | null; state?: string }
  app: IntuneApp
}

export interface ScriptRef {
  id: string
  displayName: string
}

/** One page of a Graph collection; `nextLink` is the absolute `@odata.nextLink`, if any. */
export interface Page<T> {
  items: T[]
  nextLink: string | null
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const SCRIPT_TYPE = '#microsoft.graph.deviceManagementScript'
const GROUP_TARGET = '#microsoft.graph.groupAssignmentTarget'
const EXCLUDED_GROUP_TARGET = '#microsoft.graph.exclusionGroupAssignmentTarget'
const MAX_PAGES = 200
// Windows PowerShell 5.1 reads a .ps1 without a BOM in the ANSI code page, so a non-ASCII path
// or command would be mangled (PSScriptAnalyzer rule UseBOMForUnicodeEncodedFile).
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf])

export const intune = defineConnector({
  provider: 'intune',
  category: 'endpoint',
  title: 'Microsoft Intune',
  docs: 'https://learn.microsoft.com/graph/api/intune-shared-devicemanagementscript-create?view=graph-rest-beta',
  settings: () => ({
    tenant_id: z.string().min(1).optional().describe('Entra directory (tenant) ID or verified domain.'),
    client_id: z.string().min(1).optional().describe('Application (client) ID of the app registration.'),
    client_secret: z.string().min(1).optional().describe('Client secret value of the app registration.'),
    ...entraCredentialSettings(),
    authority_url: z
      .string()
      .min(1)
      .optional()
      .describe('Entra authority [https://login.microsoftonline.com].'),
    graph_url: z
      .string()
      .min(1)
      .optional()
      .describe('Graph root, also the token scope [https://graph.microsoft.com].'),
    group_id: z.string().min(1).optional().describe('Object ID of the Entra group to assign the script to.'),
  }),
  secrets: [...ENTRA_CREDENTIAL_SECRETS],
  urlIsSecret: false,

  configure(settings, context): IntuneConfig {
    const required = (key: 'tenant_id' | 'client_id', what: string) => {
      const value = settings[key]
      if (!value) throw new ConfigError(`${key} is required (${what}); set ${key} or ${key}_env.`)
      return value
    }
    const tenantId = required('tenant_id', 'the Entra directory (tenant) ID')
    const clientId = required('client_id', 'the application (client) ID of the app registration')
    const credential = entraCredential(settings, context)
    if (!GUID.test(tenantId) && !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(tenantId))
      throw new ConfigError(`tenant_id "${tenantId}" is neither a GUID nor a domain name.`)
    if (!GUID.test(clientId)) throw new ConfigError('client_id must be the application (client) ID, a GUID.')
    const authority = rootUrl(
      settings.authority_url,
      'authority_url',
      'https://login.microsoftonline.com',
      true,
    )
    // The Graph root is also the resource of the token scope, so it cannot carry /beta or /v1.0.
    const graphUrl = rootUrl(settings.graph_url, 'graph_url', 'https://graph.microsoft.com', false)
    const groupId = settings.group_id
    if (groupId && !GUID.test(groupId))
      throw new ConfigError(
        `group_id "${groupId}" must be the Entra group's object ID (a GUID), not its name.`,
      )
    const plain = Object.entries({ authority_url: authority, graph_url: graphUrl }).filter(([, url]) =>
      isPlainHttpOffHost(url),
    )
    for (const [key] of plain)
      context.warn(`connector ${context.name}: ${key} uses http://; tokens travel unencrypted.`)
    if (settings.url)
      context.warn(`connector ${context.name}: url is not used by intune; Graph is reached at graph_url.`)
    return {
      graphUrl,
      groupId,
      headers: configuredHeaders(settings),
      auth: entraToken({
        tokenUrl: `${authority}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`,
        clientId,
        scope: `${graphUrl}/.default`,
        credential,
      }),
    }
  },

  async deliver(event, config, session) {
    const publication = publicationOf(event)
    if (typeof publication === 'string') return { ok: false, error: publication }
    return publish(publication, config, session)
  },

  probe: probeGraph,
})

function rootUrl(value: string | undefined, key: string, fallback: string, pathAllowed: boolean): string {
  const url = parseUrlSetting(value ?? fallback, key)
  const path = url.pathname.replace(/\/+$/, '')
  if ((path !== '' && !pathAllowed) || url.search !== '')
    throw new ConfigError(`${key} must be a root URL such as ${fallback}, without a path or query.`)
  return `${url.origin}${path}`
}

/** The publication's Intune part, or why the event cannot be published to Intune. */
export function publicationOf(event: DeliveryEvent): IntunePublication | string {
  const f = event.fields
  const app = intuneAppSchema.safeParse(f.intune_app)
  if (!app.success)
    return 'the event carries no valid intune_app; publish an endpoint export whose providers include intune'
  const release = exportManifestSchema.shape.release.safeParse(f.release)
  if (typeof f.publication_id !== 'string' || typeof f.channel !== 'string' || !release.success)
    return 'the event is not an endpoint-export publication (publication_id, channel or release missing)'
  return {
    publicationId: f.publication_id,
    exportId: String(f.export_id ?? ''),
    channel: f.channel,
    release: release.data,
    approval: (f.approval ?? {}) as IntunePublication['approval'],
    app: app.data,
  }
}

/**
 * A PowerShell single-quoted literal: nothing inside expands (`$`, backtick, `$(...)`), and the
 * only way out is a quote, which is doubled. PowerShell treats U+2018–U+201B as single quotes
 * too (CharTraits.IsSingleQuote; CodeGeneration.EscapeSingleQuotedStringContent doubles them).
 */
export function psQuote(value: string): string {
  return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, '$&$&')}'`
}

/** The platform script: install, then verify the binary's SHA-256 against the export's values. */
export function installScript(p: IntunePublication): string {
  const rule = p.app.detection_rule
  const expected = rule.sha256_values.map((value) => `  ${psQuote(value)}`).join(',\n')
  return `# Managed by cavra: the next publication of this export replaces this script; edits here are lost.
# Runs the export's install command, then fails unless the installed binary has an approved SHA-256.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$PublicationId = ${psQuote(p.publicationId)}
$Release = ${psQuote(`${p.release.repository} ${p.release.version}`)}
$InstallCommand = ${psQuote(p.app.install_command)}
$DetectionPath = ${psQuote(rule.path)}
$ExpectedSha256 = @(
${expected}
)

Write-Output ('cavra {0}: installing {1}' -f $PublicationId, $Release)
# cmd.exe /s /c runs the command line exactly as exported (quotes kept, %VARIABLES% expanded),
# as an Intune Win32 install command would; .NET passes Arguments through unparsed.
$install = New-Object System.Diagnostics.ProcessStartInfo
$install.FileName = $env:ComSpec
$install.Arguments = '/d /s /c "' + $InstallCommand + '"'
$install.UseShellExecute = $false
$process = [System.Diagnostics.Process]::Start($install)
$process.WaitForExit()
if ($process.ExitCode -ne 0) {
  [Console]::Error.WriteLine(('cavra {0}: the install command exited with {1}' -f $PublicationId, $process.ExitCode))
  exit $process.ExitCode
}

$path = [System.Environment]::ExpandEnvironmentVariables($DetectionPath)
if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
  [Console]::Error.WriteLine(('cavra {0}: {1} is missing after the install' -f $PublicationId, $path))
  exit 2
}
$actual = (Get-FileHash -LiteralPath $path -Algorithm SHA256).Hash.ToLowerInvariant()
$expected = @($ExpectedSha256 | ForEach-Object { $_.ToLowerInvariant() })
if ($expected -notcontains $actual) {
  [Console]::Error.WriteLine(('cavra {0}: {1} has SHA-256 {2}, which the export does not approve' -f $PublicationId, $path, $actual))
  exit 3
}
Write-Output ('cavra {0}: {1} verified (sha256 {2})' -f $PublicationId, $path, $actual)
exit 0
`
}

/** The deviceManagementScript body (Create deviceManagementScript, beta). */
export function scriptBody(p: IntunePublication): Record<string, unknown> {
  const approval = `${p.approval.approval_id ?? 'none'} (${p.approval.state ?? 'state not recorded'})`
  return {
    '@odata.type': SCRIPT_TYPE,
    displayName: p.app.display_name,
    description: `Managed by cavra. Publication ${p.publicationId} of export ${p.exportId} (${p.channel}), release ${p.release.repository} ${p.release.version} (${p.release.commit.slice(0, 12)}), approval ${approval}.`,
    scriptContent: Buffer.concat([UTF8_BOM, Buffer.from(installScript(p), 'utf8')]).toString('base64'),
    runAsAccount: 'system',
    enforceSignatureCheck: false,
    // 64-bit PowerShell, so %ProgramFiles% is the real Program Files, not Program Files (x86).
    runAs32Bit: false,
    fileName: `cavra-${p.channel.replace(/[^A-Za-z0-9._-]/g, '_')}.ps1`,
  }
}

/**
 * Graph's error body is `{"error":{"code","message","innerError":{"request-id",…}}}`
 * (https://learn.microsoft.com/graph/errors); Intune's messages run over several lines, so the
 * first is kept with the request id support asks for.
 */
export function graphReason(response: HttpResponse): string {
  const error = jsonObject(response.body)?.error as Record<string, unknown> | undefined
  const code = typeof error?.code === 'string' ? error.code : undefined
  const message = typeof error?.message === 'string' ? error.message.split(/\r?\n/)[0]!.trim() : undefined
  const inner = (error?.innerError ?? error?.innererror) as Record<string, unknown> | undefined
  const requestId = typeof inner?.['request-id'] === 'string' ? ` (request-id ${inner['request-id']})` : ''
  const text =
    code || message ? `${code ?? 'Error'}: ${message ?? ''}`.slice(0, 400) + requestId : excerpt(response)
  if (response.status === 403) {
    return `${text}; the app registration needs the Microsoft Graph application permission DeviceManagementScripts.ReadWrite.All (or DeviceManagementConfiguration.ReadWrite.All) with admin consent, and the tenant an active Intune licence`
  }
  if (response.status === 401)
    return `${text}; the token was refused after a refresh: check tenant_id and graph_url`
  return response.status === 404 ? `${text}; the script is gone or graph_url is not Microsoft Graph` : text
}

/** 2xx through `value`; 429/5xx retryable (Retry-After honoured by the session); other 4xx final. */
export function readGraph<T>(
  response: HttpResponse,
  value: (body: Record<string, unknown>) => T | undefined,
): Verdict<T> {
  if (response.status >= 200 && response.status < 300) {
    const read = value(jsonObject(response.body) ?? {})
    if (read !== undefined) return { kind: 'ok', value: read }
    return { kind: 'failed', reason: `unexpected answer from Graph: ${excerpt(response)}` }
  }
  const reason = graphReason(response)
  return isRetryableStatus(response.status) ? { kind: 'retryable', reason } : { kind: 'failed', reason }
}

function readPage<T>(
  response: HttpResponse,
  item: (value: Record<string, unknown>) => T | undefined,
): Verdict<Page<T>> {
  return readGraph(response, (body) => {
    if (!Array.isArray(body.value)) return undefined
    const items = (body.value as Array<Record<string, unknown>>)
      .map((value) => (value && typeof value === 'object' ? item(value) : undefined))
      .filter((value): value is T => value !== undefined)
    const next = body['@odata.nextLink']
    return { items, nextLink: typeof next === 'string' ? next : null }
  })
}

export function readScriptPage(response: HttpResponse): Verdict<Page<ScriptRef>> {
  return readPage(response, (value) =>
    typeof value.id === 'string' ? { id: value.id, displayName: String(value.displayName ?? '') } : undefined,
  )
}

/** The `target` of each deviceManagementScriptAssignment. */
export function readAssignmentPage(response: HttpResponse): Verdict<Page<Record<string, unknown>>> {
  return readPage(response, (value) =>
    value.target && typeof value.target === 'object' ? (value.target as Record<string, unknown>) : undefined,
  )
}

/**
 * `assign` REPLACES the whole assignment set (microsoft/Intune-PowerShell-SDK#70,
 * microsoftgraph/powershell-intune-samples#36), so every existing target is sent back with ours.
 */
export function mergeAssignments(
  existing: Array<Record<string, unknown>>,
  groupId: string,
): { kind: 'present' } | { kind: 'excluded' } | { kind: 'merged'; body: Record<string, unknown> } {
  const sameGroup = (t: Record<string, unknown>) =>
    String(t.groupId ?? '').toLowerCase() === groupId.toLowerCase()
  if (existing.some((t) => t['@odata.type'] === EXCLUDED_GROUP_TARGET && sameGroup(t)))
    return { kind: 'excluded' }
  if (existing.some((t) => t['@odata.type'] === GROUP_TARGET && sameGroup(t))) return { kind: 'present' }
  const targets = [...existing, { '@odata.type': GROUP_TARGET, groupId }]
  return {
    kind: 'merged',
    body: {
      deviceManagementScriptAssignments: targets.map((target) => ({
        '@odata.type': '#microsoft.graph.deviceManagementScriptAssignment',
        target,
      })),
    },
  }
}

async function publish(
  p: IntunePublication,
  config: IntuneConfig,
  session: Session,
): Promise<ConnectorResult> {
  const scriptsUrl = `${config.graphUrl}/beta/deviceManagement/deviceManagementScripts`
  const request = (method: HttpRequest['method'], url: string, body?: object): HttpRequest => ({
    method,
    url,
    headers: {
      ...config.headers,
      accept: 'application/json',
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  })
  const pages = async <T>(step: string, first: string, read: (r: HttpResponse) => Verdict<Page<T>>) => {
    const items: T[] = []
    let url: string | null = first
    for (let page = 1; url; page++) {
      // nextLink is absolute; the bearer token only ever goes back to the configured Graph.
      if (page > MAX_PAGES || new URL(url).origin !== new URL(config.graphUrl).origin)
        return {
          ok: false as const,
          error: `${step}: Graph paging went beyond ${MAX_PAGES} pages or off ${config.graphUrl}`,
        }
      const target: string = url
      const result = await session.exchange({
        step: page === 1 ? step : `${step} (page ${page})`,
        auth: config.auth,
        build: () => request('GET', target),
        read,
        dryRun: { items: [], nextLink: null },
      })
      if (!result.ok) return { ok: false as const, error: result.error }
      items.push(...result.value.items)
      url = result.value.nextLink
    }
    return { ok: true as const, items }
  }

  /*
   * Find by display name: list and match here instead of `$filter=displayName eq '…'`. The List
   * deviceManagementScripts page documents no OData query parameters (its Get sibling does), and
   * Intune collections ignore filters they do not support and return everything
   * (microsoftgraph/microsoft-graph-docs-contrib#235); OData `eq` on strings is also not the
   * exact match we need. `$select` keeps each page small: the list otherwise carries every
   * script's content.
   */
  const find = async () => {
    const listed = await pages('find script', `${scriptsUrl}?$select=id,displayName`, readScriptPage)
    if (!listed.ok) return listed
    return { ok: true as const, matches: listed.items.filter((s) => s.displayName === p.app.display_name) }
  }

  const found = await find()
  if (!found.ok) return { ok: false, error: found.error }
  if (found.matches.length > 1) {
    return {
      ok: false,
      error: `${found.matches.length} Intune scripts are named "${p.app.display_name}" (${found.matches.map((s) => s.id).join(', ')}); delete the extra ones so the publication updates a single script`,
    }
  }
  const existingId = found.matches[0]?.id
  const body = scriptBody(p)
  const readId = (r: HttpResponse) =>
    readGraph(r, (b) => (typeof b.id === 'string' ? b.id : (existingId ?? undefined)))
  const upsert = await session.exchange<string>({
    step: existingId ? 'update script' : 'create script',
    primary: true,
    auth: config.auth,
    build: () =>
      existingId
        ? request('PATCH', `${scriptsUrl}/${encodeURIComponent(existingId)}`, body)
        : request('POST', scriptsUrl, body),
    read: readId,
    // A create whose answer was lost may have landed: look it up before posting a second one.
    recover: existingId
      ? undefined
      : async () => {
          const again = await find()
          if (!again.ok) return { unknown: `the lookup for the script failed (${again.error})` }
          if (again.matches.length === 0) return { absent: true }
          if (again.matches.length === 1) return { found: again.matches[0]!.id }
          return { unknown: `${again.matches.length} scripts now carry its name` }
        },
    creates: 'script',
    dryRun: existingId ?? 'DRY-RUN-SCRIPT-ID',
  })
  if (!upsert.ok) return { ok: false, error: upsert.error }
  const id = upsert.value
  const reference = session.dryRun ? null : id
  // Found after a lost answer: the script this delivery created, not a duplicate.
  const recovered = recoveredWarnings(upsert.recovered)
  if (!config.groupId) return { ok: true, remoteReference: reference, recordsSent: 1, ...recovered }

  const scriptUrl = `${scriptsUrl}/${encodeURIComponent(id)}`
  const partial = (error: string): ConnectorResult => ({
    ok: false,
    error: `script ${id} was ${existingId ? 'updated' : 'created'} but not assigned to group ${config.groupId}: ${error}`,
    recordsSent: 1,
    remoteReference: reference,
  })
  const current = await pages('read assignments', `${scriptUrl}/assignments`, readAssignmentPage)
  if (!current.ok) return partial(current.error)
  const merged = mergeAssignments(current.items, config.groupId)
  if (merged.kind === 'excluded')
    return partial(
      'the group is excluded from this script in Intune; remove the exclusion or change group_id',
    )
  if (merged.kind === 'merged') {
    const assigned = await session.exchange({
      step: 'assign script',
      auth: config.auth,
      build: () => request('POST', `${scriptUrl}/assign`, merged.body),
      read: (r) => readGraph(r, () => true),
      dryRun: true,
    })
    if (!assigned.ok) return partial(assigned.error)
  }
  return { ok: true, remoteReference: reference, recordsSent: 1, ...recovered }
}

/**
 * A Graph token through the configured credential, then one platform script read
 * (`$top=1`): the token's app holds a DeviceManagementScripts permission with admin consent
 * and the tenant has Intune (List deviceManagementScripts, beta).
 */
async function probeGraph(config: IntuneConfig, session: Session): Promise<ProbeResult> {
  const path = '/beta/deviceManagement/deviceManagementScripts?$top=1'
  const probe = `obtain the Graph token, GET ${path}`
  const result = await session.exchange({
    step: 'list one script',
    auth: config.auth,
    build: () => ({
      method: 'GET',
      url: `${config.graphUrl}${path}`,
      headers: { ...config.headers, accept: 'application/json' },
    }),
    read: readScriptPage,
    dryRun: { items: [], nextLink: null },
  })
  if (!result.ok) return { status: 'unhealthy', probe, detail: result.error }
  return {
    status: 'healthy',
    probe,
    detail:
      'token issued; Graph lists platform scripts for this app (write access and group_id were not verified)',
  }
}
