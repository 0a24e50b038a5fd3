import { createHash, randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { InputError } from '../common/errors.js'
import type { JsonScanError } from './json-scan.js'

/**
 * An input artifact on disk. Standard input (`-`) is first spooled to a private temp file,
 * so every artifact can be streamed more than once without being held in memory.
 */
export interface Artifact {
  /** What the user named: a path as given, or `-`. */
  displayPath: string
  /** The file to read. */
  file: string
  sha256: string
  bytes: number
  /** Removes the spool file of standard input; a no-op for real files. */
  dispose(): Promise<void>
}

export async function openArtifact(
  path: string,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<Artifact> {
  if (path === '-') return spoolStdin(stdin)
  let info: Awaited<ReturnType<typeof stat>>
  try {
    info = await stat(path)
  } catch (error) {
    throw new InputError(`${path}: cannot read the file (${describeFsError(error)}).`, [
      'Check the path; pass - to read the artifact from standard input.',
    ])
  }
  if (info.isDirectory()) {
    throw new InputError(`${path}: is a directory, not a JSON file.`, [
      'Pass the path of the JSON artifact itself.',
    ])
  }
  const artifact: Artifact = {
    displayPath: path,
    file: path,
    sha256: await sha256OfFile(path),
    bytes: info.size,
    dispose: async () => {},
  }
  await assertLooksLikeJson(artifact)
  return artifact
}

async function spoolStdin(stdin: NodeJS.ReadableStream): Promise<Artifact> {
  const dir = await mkdtemp(join(tmpdir(), 'cavra-stdin-'))
  const file = join(dir, `${randomUUID()}.json`)
  const hash = createHash('sha256')
  let bytes = 0
  await pipeline(
    stdin,
    async function* (source: AsyncIterable<Buffer | string>) {
      for await (const chunk of source) {
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
        hash.update(buffer)
        bytes += buffer.length
        yield buffer
      }
    },
    createWriteStream(file, { mode: 0o600 }),
  )
  const artifact: Artifact = {
    displayPath: '-',
    file,
    sha256: hash.digest('hex'),
    bytes,
    dispose: () => rm(dir, { recursive: true, force: true }),
  }
  try {
    await assertLooksLikeJson(artifact)
  } catch (error) {
    await artifact.dispose()
    throw error
  }
  return artifact
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Rejects empty and binary files with a message that says so, instead of a parser error. */
async function assertLooksLikeJson(artifact: Artifact): Promise<void> {
  const name = nameOf(artifact)
  if (artifact.bytes === 0) {
    throw new InputError(`${name}: the file is empty; expected a JSON object, a JSON array or JSON Lines.`, [
      'Check that the producer finished writing the artifact.',
    ])
  }
  const handle = await open(artifact.file, 'r')
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0)
    const head = buffer.subarray(0, bytesRead)
    if (head.includes(0) || !isUtf8Prefix(head)) {
      throw new InputError(`${name}: looks like a binary file, not JSON text.`, [
        'Pass the JSON artifact (for an evidence bundle, its siem-event.json).',
      ])
    }
    if (head.toString('utf8').trim() === '' && artifact.bytes <= 4096) {
      throw new InputError(
        `${name}: holds only white space; expected a JSON object, a JSON array or JSON Lines.`,
      )
    }
  } finally {
    await handle.close()
  }
}

/** UTF-8 validity of a prefix that may end in the middle of a character. */
function isUtf8Prefix(bytes: Buffer): boolean {
  for (let trim = 0; trim < 4 && trim <= bytes.length; trim++) {
    if (isValidUtf8(bytes.subarray(0, bytes.length - trim))) return true
  }
  return false
}

function isValidUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return true
  } catch {
    return false
  }
}

export function nameOf(artifact: Pick<Artifact, 'displayPath'>): string {
  return artifact.displayPath === '-' ? 'standard input' : artifact.displayPath
}

/** Turns a scanner error into an input error that names the file, line and column. */
export async function scanErrorToInputError(artifact: Artifact, error: JsonScanError): Promise<InputError> {
  const { line, column } = await lineAndColumn(artifact.file, error.offset)
  const where = error.jsonPath ? ` (${error.jsonPath})` : ''
  return new InputError(`${nameOf(artifact)}: line ${line}, column ${column}${where}: ${error.message}.`, [
    'Fix the JSON (a linter such as `jq . FILE` shows the same spot), then run the command again.',
  ])
}

async function lineAndColumn(file: string, offset: number): Promise<{ line: number; column: number }> {
  // Only read on the error path; artifacts that fail to parse are not worth streaming for this.
  const prefix = (await readFile(file)).subarray(0, offset)
  const lastNewline = prefix.lastIndexOf(10)
  let line = 1
  for (const byte of prefix) if (byte === 10) line++
  const column = Buffer.from(prefix.subarray(lastNewline + 1)).toString('utf8').length + 1
  return { line, column }
}

export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code
  switch (code) {
    case 'ENOENT':
      return 'no such file'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'EISDIR':
      return 'is a directory'
    default:
      return error instanceof Error ? error.message : String(error)
  }
}
