import { constants, type Stats } from 'node:fs'
import { type FileHandle, open, realpath, stat } from 'node:fs/promises'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { z } from 'zod'
import { sha256, sha256Hex } from '../common/digest.js'
import { InputError } from '../common/errors.js'
import { describeIssue } from '../common/zod-issues.js'
import {
  type Artifact,
  artifactBytes,
  describeFileType,
  describeFsError,
  nameOf,
  sourceOf,
} from './artifact.js'
import type { DeliveryEvent, VerifiedFile } from './event.js'
import { identifier } from './identifier.js'
import { parseJsonDocument } from './json-text.js'
import { compactFacts } from './views.js'

/**
 * Endpoint-management export bundles: the manifest, its `checksums.txt` and the
 * per-provider files beside it. Nothing is published unless every file the selected providers
 * need sits inside the manifest's folder, is listed in checksums.txt and matches its SHA-256,
 * and the export's approval (when required and recorded) is granted.
 */

export const EXPORT_SCHEMA = 'cavra.endpoint-management-export.v1'
export const PUBLICATION_EVENT_TYPE = 'cavra.endpoint_management_export_publication'
export const ENDPOINT_PROVIDERS = ['jamf', 'intune', 'linux'] as const
export type EndpointProvider = (typeof ENDPOINT_PROVIDERS)[number]

/** The files each provider publishes from the export folder. */
export const PROVIDER_FILES: Record<EndpointProvider, readonly string[]> = {
  jamf: ['jamf-policy.json'],
  intune: ['intune-win32-app.json'],
  linux: ['linux-fleet-manifest.json', 'linux-install-cavra-runtime.sh'],
}

const text = z.string().min(1)

export const exportManifestSchema = z.looseObject({
  schema_version: z.literal(EXPORT_SCHEMA),
  export_id: identifier(),
  channel: identifier(),
  providers: z.array(z.enum(ENDPOINT_PROVIDERS)).min(1),
  release: z.looseObject({ version: identifier(), commit: text, repository: text }),
  approval: z.looseObject({
    required: z.boolean(),
    approval_id: z.string().nullable().optional(),
    request_id: z.string().nullable().optional(),
    state: z.string().optional(),
  }),
  files: z.array(text),
  created_at: z.string().optional(),
})

const target = z.looseObject({
  id: text,
  binary: z.string().optional(),
  binary_sha256: z.string().optional(),
  installer_target: z.string().optional(),
})

export const jamfPolicySchema = z.looseObject({
  policy_name: text,
  trigger: text,
  install_script: text,
  targets: z.array(target).optional(),
})

export const intuneAppSchema = z.looseObject({
  display_name: text,
  install_command: text,
  uninstall_command: z.string().optional(),
  detection_rule: z.looseObject({
    type: z.literal('file_sha256'),
    path: text,
    sha256_values: z.array(z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be a SHA-256 hex digest')).min(1),
  }),
  targets: z.array(target).optional(),
})

export const linuxFleetSchema = z.looseObject({ targets: z.array(target).min(1) })

export type ExportManifest = z.infer<typeof exportManifestSchema>
export type JamfPolicy = z.infer<typeof jamfPolicySchema>
export type IntuneApp = z.infer<typeof intuneAppSchema>
export type LinuxFleetManifest = z.infer<typeof linuxFleetSchema>

/** The fields of a publication event that endpoint connectors read. */
export interface PublicationFields {
  publication_id: string
  export_id: string
  channel: string
  release: ExportManifest['release']
  approval: ExportManifest['approval']
  providers: EndpointProvider[]
  jamf_policy?: JamfPolicy
  intune_app?: IntuneApp
  linux_fleet_manifest?: LinuxFleetManifest
  [field: string]: unknown
}

/** `emp_` + 12 hex of sha256("<export_id>:<channel>:<version>:<sorted providers>"). */
export function publicationId(
  manifest: Pick<ExportManifest, 'export_id' | 'channel' | 'release' | 'providers'>,
): string {
  const providers = [...manifest.providers].sort().join(',')
  const digest = sha256()
    .update(`${manifest.export_id}:${manifest.channel}:${manifest.release.version}:${providers}`)
    .digest('hex')
  return `emp_${digest.slice(0, 12)}`
}

export async function readExportManifest(artifact: Artifact): Promise<ExportManifest> {
  if (artifact.spooled) {
    // A pipe's content was copied to a temp folder, which is not where the export's files are.
    throw new InputError(
      `${nameOf(artifact)}: the export manifest must be a regular file in the export folder, not a pipe; its folder holds the files to publish.`,
      ['Pass the path of endpoint-management-export-manifest.json inside the export folder.'],
    )
  }
  const value = parseJsonDocument(await artifactBytes(artifact), nameOf(artifact))
  return validate(exportManifestSchema, value, nameOf(artifact), 'endpoint-management export manifest')
}

/**
 * Verifies the export for the selected providers and builds the publication event. Any
 * problem throws an InputError (exit 4) naming the file and the mismatch.
 */
export async function buildPublication(
  artifact: Artifact,
  manifest: ExportManifest,
  selected: readonly EndpointProvider[],
): Promise<{ event: DeliveryEvent; warnings: string[] }> {
  const warnings: string[] = []
  const name = nameOf(artifact)
  if (
    manifest.approval.required &&
    manifest.approval.state !== undefined &&
    manifest.approval.state !== 'approved'
  ) {
    throw new InputError(
      `${name}: approval ${manifest.approval.approval_id ?? '(no id)'} is "${manifest.approval.state}", not "approved"; the export may not be published.`,
      ['Publish only after the release-channel promotion is approved, then export again.'],
    )
  }
  if (manifest.approval.required && manifest.approval.state === undefined) {
    warnings.push(
      `${name}: approval ${manifest.approval.approval_id ?? ''} is required but the manifest does not record its state; publishing on the export's word.`,
    )
  }
  const folder = await realpath(dirname(resolve(artifact.file)))
  for (const listed of manifest.files) assertInside(folder, listed, `${name}: $.files lists`)
  const checksums = await readChecksums(folder, name)
  const needed = [...new Set(selected.flatMap((provider) => PROVIDER_FILES[provider]))]
  const files: VerifiedFile[] = []
  for (const file of needed) files.push(await verifyFile(folder, file, checksums, name))

  const contentOf = (file: string) => files.find((f) => f.name === file)!.content
  const fields: PublicationFields = {
    publication_id: publicationId(manifest),
    export_id: manifest.export_id,
    channel: manifest.channel,
    release: manifest.release,
    approval: manifest.approval,
    providers: [...manifest.providers],
    published_to: [...selected],
    artifacts: files.map(({ name: file, sha256, bytes }) => ({ name: file, sha256, bytes })),
  }
  // Each provider's own file, validated and kept exactly as exported.
  const providerFiles = [
    {
      provider: 'jamf',
      field: 'jamf_policy',
      file: 'jamf-policy.json',
      schema: jamfPolicySchema,
      kind: 'Jamf policy export',
    },
    {
      provider: 'intune',
      field: 'intune_app',
      file: 'intune-win32-app.json',
      schema: intuneAppSchema,
      kind: 'Intune app export',
    },
    {
      provider: 'linux',
      field: 'linux_fleet_manifest',
      file: 'linux-fleet-manifest.json',
      schema: linuxFleetSchema,
      kind: 'Linux fleet manifest',
    },
  ] as const
  for (const { provider, field, file, schema, kind } of providerFiles) {
    if (!selected.includes(provider)) continue
    const record: Record<string, unknown> = fields
    record[field] = validate(schema as z.ZodType, parseJsonDocument(contentOf(file), file), file, kind)
  }
  const id = fields.publication_id
  const event: DeliveryEvent = {
    eventId: id,
    eventType: PUBLICATION_EVENT_TYPE,
    sessionId: null,
    severity: 'medium',
    timestamp: manifest.created_at ?? new Date().toISOString(),
    product: typeof manifest.product === 'string' ? manifest.product : 'CAVRA',
    fields,
    decisionCount: 0,
    decisions: async function* () {},
    view: {
      title: `Endpoint export ${manifest.export_id} ${manifest.release.version} (${manifest.channel}) published to ${selected.join(', ')}`,
      summary: `${manifest.release.repository} ${manifest.release.version} from the ${manifest.channel} channel, export ${manifest.export_id}, published as ${id} under approval ${manifest.approval.approval_id ?? 'none'}.`,
      facts: compactFacts([
        ['Publication', id],
        ['Export', manifest.export_id],
        ['Channel', manifest.channel],
        [
          'Release',
          `${manifest.release.repository} ${manifest.release.version} (${manifest.release.commit.slice(0, 12)})`,
        ],
        [
          'Approval',
          `${manifest.approval.approval_id ?? 'none'} (${manifest.approval.state ?? 'state not recorded'})`,
        ],
        ['Providers', selected.join(', ')],
      ]),
      highlights: null,
      references: [],
    },
    source: sourceOf(artifact),
    files,
  }
  return { event, warnings }
}

/** Parses checksums.txt (sha256sum format: `<hex>  <name>` or `<hex> *<name>`). */
export async function readChecksums(folder: string, manifestName: string): Promise<Map<string, string>> {
  const path = join(folder, 'checksums.txt')
  const found = await readExportFile(folder, 'checksums.txt', manifestName)
  if (!found) {
    throw new InputError(`${manifestName}: checksums.txt is missing beside the manifest (${path}).`, [
      'Export the bundle again; publication needs the sha256sum list of its files.',
    ])
  }
  const content = found.toString('utf8')
  const sums = new Map<string, string>()
  for (const [index, raw] of content.split(/\r?\n/).entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const match = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line)
    if (!match)
      throw new InputError(`${path}: line ${index + 1} is not in sha256sum format ("<sha256>  <file>").`)
    const file = match[2]!
    assertInside(folder, file, `${path}: line ${index + 1} names`)
    sums.set(file.replace(/^\.\//, ''), match[1]!.toLowerCase())
  }
  return sums
}

async function verifyFile(
  folder: string,
  file: string,
  checksums: Map<string, string>,
  manifestName: string,
): Promise<VerifiedFile> {
  const expected = checksums.get(file)
  if (expected === undefined) {
    throw new InputError(`${manifestName}: ${file} is not listed in checksums.txt; it cannot be verified.`)
  }
  const content = await readExportFile(folder, file, manifestName)
  if (!content) throw new InputError(`${manifestName}: ${file} is missing from the export folder ${folder}.`)
  const actual = sha256Hex(content)
  if (actual !== expected) {
    throw new InputError(
      `${manifestName}: ${file} does not match checksums.txt (expected sha256 ${expected}, found ${actual}); the file changed after export.`,
      ['Do not publish a modified export: export the bundle again from the approved release.'],
    )
  }
  return { name: file, sha256: actual, bytes: content.length, content }
}

/**
 * Reads one file of the export folder (`folder` is already a real path), or returns undefined
 * when it does not exist. Its real path must stay inside the folder (no links out, also through
 * a linked sub-folder), and it must be a regular file: a directory cannot be read and a FIFO
 * would block the command until something writes to it, so neither is ever opened.
 */
async function readExportFile(
  folder: string,
  file: string,
  manifestName: string,
): Promise<Buffer | undefined> {
  const refuse = (
    problem: string,
    action = 'Export the bundle again: every file of an export is a regular file inside its folder.',
  ) => new InputError(`${manifestName}: ${file} ${problem}`, [action])
  let real: string
  try {
    real = await realpath(join(folder, file))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // Missing, or a link to something missing: either way there is nothing to publish.
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw cannotReadExportFile(manifestName, file, error)
  }
  if (!isWithin(folder, real)) {
    throw refuse(`is a link that leaves the export folder; refusing it (it resolves to ${real}).`)
  }
  let info: Stats
  try {
    info = await stat(real)
  } catch (error) {
    throw cannotReadExportFile(manifestName, file, error)
  }
  if (!info.isFile()) {
    throw refuse(
      `in the export folder is ${describeFileType(info)}, not a regular file; refusing the whole publication.`,
    )
  }
  // O_NOFOLLOW and O_NONBLOCK: were the file swapped for a link or a FIFO since the checks
  // above, opening fails or returns at once instead of following it out or blocking.
  let handle: FileHandle
  try {
    handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (error) {
    throw cannotReadExportFile(manifestName, file, error)
  }
  try {
    const opened = await handle.stat()
    if (!opened.isFile() || opened.ino !== info.ino || opened.dev !== info.dev) {
      throw refuse('changed while it was being read; refusing the whole publication.')
    }
    return await handle.readFile()
  } catch (error) {
    if (error instanceof InputError) throw error
    throw cannotReadExportFile(manifestName, file, error)
  } finally {
    await handle.close()
  }
}

function cannotReadExportFile(manifestName: string, file: string, error: unknown): InputError {
  return new InputError(
    `${manifestName}: cannot read ${file} in the export folder (${describeFsError(error)}).`,
    [
      'Make the export readable by the user running cavra (for example chmod -R u+r FOLDER), or run cavra as a user who may read it.',
    ],
  )
}

function assertInside(folder: string, file: string, what: string): void {
  if (isAbsolute(file) || !isWithin(folder, resolve(folder, file))) {
    throw new InputError(
      `${what} "${file}", a path outside the export folder; refusing the whole publication.`,
    )
  }
}

function isWithin(folder: string, path: string): boolean {
  const rel = relative(folder, path)
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel)
}

/** Validates `value` and returns it as written (key order and extra fields kept), typed by `schema`. */
function validate<S extends z.ZodType>(schema: S, value: unknown, name: string, kind: string): z.infer<S> {
  const parsed = schema.safeParse(value, { reportInput: true })
  if (parsed.success) return value as z.infer<S>
  const problems = parsed.error.issues.slice(0, 5).map((issue) => describeIssue(issue))
  throw new InputError(`${name}: not a valid ${kind}:\n  - ${problems.join('\n  - ')}`, [
    'Fix or re-export the bundle (docs/inputs.md describes it); unknown extra fields are fine.',
  ])
}
