import { randomUUID } from 'node:crypto'
import { Emulator, json, type RecordedRequest, type Reply } from './emulator.js'
import type { EntraEmulator } from './entra.js'

/**
 * The Intune part of Microsoft Graph beta that publishing a Windows platform script touches
 * (https://learn.microsoft.com/graph/api/resources/intune-shared-devicemanagementscript?view=graph-rest-beta):
 * list (`$select` honoured, `@odata.nextLink` paging with `$skiptoken`, `$filter` silently
 * ignored as Intune collections do with filters they do not support), create (201), update
 * (PATCH, 200), read assignments, and `assign`, which REPLACES the whole assignment set.
 * Bearer tokens must be live tokens the Entra emulator issued for `<graph url>/.default`;
 * bodies are checked like Graph checks them, with Graph's error envelope
 * `{"error":{"code","message","innerError":{"request-id",…}}}`.
 */

export interface StoredScript {
  id: string
  displayName: string
  description?: string
  scriptContent: string
  runAsAccount: 'system' | 'user'
  enforceSignatureCheck: boolean
  runAs32Bit: boolean
  fileName: string
  roleScopeTagIds: string[]
  createdDateTime: string
  lastModifiedDateTime: string
}

export interface GraphEmulatorOptions {
  /** Items per list page (Graph decides this itself; small values exercise paging). */
  pageSize?: number
}

const SCRIPT_TYPE = '#microsoft.graph.deviceManagementScript'
const ASSIGNMENT_TYPE = '#microsoft.graph.deviceManagementScriptAssignment'
const TARGET_TYPES = new Set([
  '#microsoft.graph.groupAssignmentTarget',
  '#microsoft.graph.exclusionGroupAssignmentTarget',
  '#microsoft.graph.allDevicesAssignmentTarget',
  '#microsoft.graph.allLicensedUsersAssignmentTarget',
])
const SCRIPT_PROPERTIES = new Set([
  '@odata.type',
  'id',
  'displayName',
  'description',
  'scriptContent',
  'runAsAccount',
  'enforceSignatureCheck',
  'runAs32Bit',
  'fileName',
  'roleScopeTagIds',
  'runSchedule',
  'createdDateTime',
  'lastModifiedDateTime',
])
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const COLLECTION = '/beta/deviceManagement/deviceManagementScripts'
const ONE = /^\/beta\/deviceManagement\/deviceManagementScripts\/(?<id>[^/]+)$/
const ASSIGNMENTS = /^\/beta\/deviceManagement\/deviceManagementScripts\/(?<id>[^/]+)\/assignments$/
const ASSIGN = /^\/beta\/deviceManagement\/deviceManagementScripts\/(?<id>[^/]+)\/assign$/

export class GraphEmulator extends Emulator {
  readonly scripts = new Map<string, StoredScript>()
  readonly assignments = new Map<string, Array<Record<string, unknown>>>()
  /** Writes answer 403 as for an app without DeviceManagementScripts.ReadWrite.All. */
  readOnly = false
  /** Reads answer 403 too, as for an app holding no DeviceManagementScripts permission at all. */
  noPermission = false
  /** The token audience accepted; defaults to this emulator's own `<url>/.default`. */
  audience: string | undefined
  /** Where `@odata.nextLink` points; defaults to this emulator (set to test a foreign link). */
  nextLinkOrigin: string | undefined

  constructor(
    readonly entra: EntraEmulator,
    readonly options: GraphEmulatorOptions = {},
  ) {
    super('graph')
    this.route('GET', COLLECTION, (r) => this.guard(r, false, () => this.list(r)))
    this.route('POST', COLLECTION, (r) => this.guard(r, true, () => this.create(r)))
    this.route('GET', ONE, (r, p) => this.guard(r, false, () => this.withScript(p.id!, (s) => json(200, s))))
    this.route('PATCH', ONE, (r, p) => this.guard(r, true, () => this.update(r, p.id!)))
    this.route('GET', ASSIGNMENTS, (r, p) => this.guard(r, false, () => this.listAssignments(p.id!)))
    this.route('POST', ASSIGN, (r, p) => this.guard(r, true, () => this.assign(r, p.id!)))
  }

  get scope(): string {
    return this.audience ?? `${this.url}/.default`
  }

  override reset(): void {
    super.reset()
    this.scripts.clear()
    this.assignments.clear()
    this.readOnly = false
    this.noPermission = false
    this.audience = undefined
    this.nextLinkOrigin = undefined
  }

  /** Stores a script as if an administrator had created it. */
  seed(displayName: string, fields: Partial<StoredScript> = {}): StoredScript {
    const now = new Date().toISOString()
    const script: StoredScript = {
      id: randomUUID(),
      displayName,
      scriptContent: Buffer.from('Write-Output "hand made"').toString('base64'),
      runAsAccount: 'system',
      enforceSignatureCheck: false,
      runAs32Bit: false,
      fileName: 'hand-made.ps1',
      roleScopeTagIds: ['0'],
      createdDateTime: now,
      lastModifiedDateTime: now,
      ...fields,
    }
    this.scripts.set(script.id, script)
    return script
  }

  /** The script's PowerShell text as a device would run it (UTF-8, BOM removed). */
  decoded(id: string): string {
    const bytes = Buffer.from(this.scripts.get(id)!.scriptContent, 'base64')
    const hasBom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
    return bytes.subarray(hasBom ? 3 : 0).toString('utf8')
  }

  /** The next `times` Graph requests answer 429, with Retry-After only when given. */
  throttle(times = 1, retryAfterSeconds?: number): void {
    this.inject(
      {
        kind: 'status',
        status: 429,
        headers: retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
        body: graphError('TooManyRequests', 'Too many requests.').body as object,
      },
      times,
    )
  }

  private guard(request: RecordedRequest, write: boolean, handle: () => Reply): Reply {
    const header = request.headers.authorization
    const token = /^Bearer (\S+)$/.exec(header ?? '')?.[1]
    if (!token) return graphError('InvalidAuthenticationToken', 'Access token is empty.', 401)
    if (!this.entra.accepts(header, this.scope)) {
      const issued = this.entra.issued.find((entry) => entry.token === token)
      const why = !issued
        ? 'Access token validation failure.'
        : issued.revoked
          ? 'Lifetime validation failed, the token is expired.'
          : 'Access token validation failure. Invalid audience.'
      return graphError('InvalidAuthenticationToken', why, 401)
    }
    if (this.noPermission) {
      return graphError(
        'Forbidden',
        'Application is not authorized to perform this operation. Application must have one of the following scopes: DeviceManagementScripts.Read.All, DeviceManagementScripts.ReadWrite.All, DeviceManagementConfiguration.Read.All, DeviceManagementConfiguration.ReadWrite.All - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000',
        403,
      )
    }
    if (write && this.readOnly) {
      return graphError(
        'Forbidden',
        'Application is not authorized to perform this operation. Application must have one of the following scopes: DeviceManagementScripts.ReadWrite.All, DeviceManagementConfiguration.ReadWrite.All - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000\r\n - Activity ID: 7d1f0c2a-0000-0000-0000-000000000000',
        403,
      )
    }
    if (write && !(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return graphError(
        'UnsupportedMediaType',
        'A supported MIME type could not be found that matches the content type of the response.',
        415,
      )
    }
    return handle()
  }

  private list(request: RecordedRequest): Reply {
    // `$filter` is not applied: Intune collections ignore filters they do not support.
    const select = request.query
      .get('$select')
      ?.split(',')
      .map((name) => name.trim())
    const skip = Number(request.query.get('$skiptoken') ?? '0')
    const all = [...this.scripts.values()]
    // `$top` asks for a smaller page; the rest is behind `@odata.nextLink` as usual.
    const top = Number(request.query.get('$top') ?? Number.NaN)
    const size = Math.min(
      this.options.pageSize ?? 100,
      Number.isInteger(top) && top > 0 ? top : Number.POSITIVE_INFINITY,
    )
    const page = all.slice(skip, skip + size).map((script) => project(script, select))
    const body: Record<string, unknown> = {
      '@odata.context': `${this.url}/beta/$metadata#deviceManagement/deviceManagementScripts`,
      value: page,
    }
    if (skip + size < all.length) {
      const next = new URL(`${this.nextLinkOrigin ?? this.url}${COLLECTION}`)
      if (select) next.searchParams.set('$select', select.join(','))
      next.searchParams.set('$skiptoken', String(skip + size))
      body['@odata.nextLink'] = next.toString()
    }
    return json(200, body)
  }

  private create(request: RecordedRequest): Reply {
    const parsed = parseBody(request)
    if ('reply' in parsed) return parsed.reply
    const problem = checkScript(parsed.body, true)
    if (problem) return graphError('BadRequest', problem)
    const b = parsed.body
    const now = new Date().toISOString()
    const script: StoredScript = {
      id: randomUUID(),
      displayName: b.displayName as string,
      description: b.description as string | undefined,
      scriptContent: b.scriptContent as string,
      runAsAccount: b.runAsAccount as StoredScript['runAsAccount'],
      enforceSignatureCheck: (b.enforceSignatureCheck as boolean | undefined) ?? false,
      runAs32Bit: (b.runAs32Bit as boolean | undefined) ?? false,
      fileName: b.fileName as string,
      roleScopeTagIds: (b.roleScopeTagIds as string[] | undefined) ?? ['0'],
      createdDateTime: now,
      lastModifiedDateTime: now,
    }
    this.scripts.set(script.id, script)
    return json(201, { '@odata.type': SCRIPT_TYPE, ...script })
  }

  private update(request: RecordedRequest, id: string): Reply {
    return this.withScript(id, (script) => {
      const parsed = parseBody(request)
      if ('reply' in parsed) return parsed.reply
      const problem = checkScript(parsed.body, false)
      if (problem) return graphError('BadRequest', problem)
      const {
        '@odata.type': _type,
        id: _id,
        createdDateTime: _c,
        lastModifiedDateTime: _m,
        ...changes
      } = parsed.body
      Object.assign(script, changes, { lastModifiedDateTime: new Date().toISOString() })
      return json(200, { '@odata.type': SCRIPT_TYPE, ...script })
    })
  }

  private listAssignments(id: string): Reply {
    return this.withScript(id, () =>
      json(200, {
        value: (this.assignments.get(id) ?? []).map((target) => ({
          '@odata.type': ASSIGNMENT_TYPE,
          id: `${id}:${String(target.groupId ?? target['@odata.type'])}`,
          target,
        })),
      }),
    )
  }

  private assign(request: RecordedRequest, id: string): Reply {
    return this.withScript(id, () => {
      const parsed = parseBody(request)
      if ('reply' in parsed) return parsed.reply
      const {
        deviceManagementScriptAssignments: items,
        deviceManagementScriptGroupAssignments,
        ...rest
      } = parsed.body
      const unknown = Object.keys(rest)[0]
      if (unknown)
        return graphError(
          'BadRequest',
          `The parameter '${unknown}' in the request payload is not a valid parameter for the operation 'assign'.`,
        )
      if (
        deviceManagementScriptGroupAssignments !== undefined &&
        !Array.isArray(deviceManagementScriptGroupAssignments)
      )
        return graphError('BadRequest', 'deviceManagementScriptGroupAssignments must be a collection.')
      if (!Array.isArray(items))
        return graphError('BadRequest', 'deviceManagementScriptAssignments must be a collection.')
      const targets: Array<Record<string, unknown>> = []
      for (const item of items as Array<Record<string, unknown>>) {
        const type = item?.['@odata.type']
        if (type !== undefined && type !== ASSIGNMENT_TYPE)
          return graphError('BadRequest', `'${String(type)}' is not a deviceManagementScriptAssignment.`)
        const target = item?.target as Record<string, unknown> | undefined
        if (!target || !TARGET_TYPES.has(String(target['@odata.type'])))
          return graphError('BadRequest', 'Each assignment needs a target with a known @odata.type.')
        const grouped = String(target['@odata.type']).includes('roupAssignmentTarget')
        if (grouped && !GUID.test(String(target.groupId ?? '')))
          return graphError(
            'BadRequest',
            `Invalid groupId '${String(target.groupId)}' on the assignment target.`,
          )
        // A second assignment of the same target is ignored, as Intune does.
        if (!targets.some((t) => t['@odata.type'] === target['@odata.type'] && t.groupId === target.groupId))
          targets.push(target)
      }
      this.assignments.set(id, targets)
      return { status: 204 }
    })
  }

  private withScript(id: string, handle: (script: StoredScript) => Reply): Reply {
    const script = this.scripts.get(id)
    if (!script)
      return graphError(
        'ResourceNotFound',
        `Resource not found for the segment 'deviceManagementScripts'. Key '${id}'.`,
        404,
      )
    return handle(script)
  }
}

/** Graph's error envelope (https://learn.microsoft.com/graph/errors). */
export function graphError(code: string, message: string, status = 400): Reply {
  return json(status, {
    error: {
      code,
      message,
      innerError: {
        date: new Date().toISOString().slice(0, 19),
        'request-id': '3c0b8a2e-0000-0000-0000-000000000000',
        'client-request-id': '3c0b8a2e-0000-0000-0000-000000000000',
      },
    },
  })
}

function parseBody(request: RecordedRequest): { body: Record<string, unknown> } | { reply: Reply } {
  try {
    const body = JSON.parse(request.text)
    if (body && typeof body === 'object' && !Array.isArray(body)) return { body }
  } catch {
    // fall through
  }
  return { reply: graphError('BadRequest', 'Empty Payload. JSON content expected.') }
}

/** The checks Graph applies to a deviceManagementScript; `full` for a create. */
function checkScript(body: Record<string, unknown>, full: boolean): string | undefined {
  const unknown = Object.keys(body).find((key) => !SCRIPT_PROPERTIES.has(key))
  if (unknown)
    return `The property '${unknown}' does not exist on type 'microsoft.graph.deviceManagementScript'. Make sure to only use property names that are defined by the type.`
  const type = body['@odata.type']
  if ((full || type !== undefined) && type !== SCRIPT_TYPE)
    return `A type named '${String(type)}' could not be resolved by the model; expected ${SCRIPT_TYPE}.`
  const present = (key: string) => full || key in body
  if (present('displayName') && (typeof body.displayName !== 'string' || body.displayName.trim() === ''))
    return 'displayName is required.'
  if (present('fileName') && (typeof body.fileName !== 'string' || body.fileName === ''))
    return 'fileName is required.'
  if (present('scriptContent')) {
    const content = body.scriptContent
    if (typeof content !== 'string' || content === '' || !BASE64.test(content))
      return `Cannot convert the literal '${String(content).slice(0, 40)}' to the expected type 'Edm.Binary'.`
  }
  if (present('runAsAccount') && body.runAsAccount !== 'system' && body.runAsAccount !== 'user')
    return `Requested value '${String(body.runAsAccount)}' was not found in microsoft.graph.runAsAccountType.`
  for (const key of ['enforceSignatureCheck', 'runAs32Bit'])
    if (key in body && typeof body[key] !== 'boolean')
      return `Cannot convert the literal '${String(body[key])}' to the expected type 'Edm.Boolean'.`
  if ('description' in body && typeof body.description !== 'string') return 'description must be a string.'
  return undefined
}

function project(script: StoredScript, select: string[] | undefined): Record<string, unknown> {
  const full: Record<string, unknown> = { '@odata.type': SCRIPT_TYPE, ...script }
  if (!select) return full
  const picked: Record<string, unknown> = { id: script.id }
  for (const name of select) if (name in full) picked[name] = full[name]
  return picked
}
