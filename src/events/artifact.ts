import {
  closeSync,
  constants,
  createReadStream,
  createWriteStream,
  fstatSync,
  openSync,
  readSync,
  type Stats,
  statSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { sha256 as newSha256, randomUuid } from '../common/digest.js'
import { InputError } from '../common/errors.js'
import { close, fstat, mkdtemp, open, read, readFile, rm } from '../common/files.js'
import { type ByteSource, chunksOf } from './byte-source.js'
import type { SourceArtifact } from './event.js'
import type { JsonScanError } from './json-scan.js'
import {
  notUtf8Error,
  PositionCounter,
  syntaxError,
  type TextPosition,
  tooDeepError,
  Utf8Validator,
} from './json-text.js'

/**
 * An input artifact on disk. Standard input (`-`), named pipes and process substitution
 * (`<(…)`, which passes /dev/fd/N) are first spooled to a private temp file, so every artifact
 * can be streamed more than once without being held in memory: a pipe can be read only once.
 */
export interface Artifact {
  /** What the user named: a path as given, or `-`. */
  displayPath: string
  /** The file to read. */
  file: string
  /**
   * What readers read: the bytes themselves when the file is small (see HELD_BYTES), so no
   * pass opens it again and every pass reads the bytes that were hashed; otherwise `file`.
   */
  source: ByteSource
  sha256: string
  bytes: number
  /** Whether `file` is a spool copy of a pipe (standard input, a FIFO, /dev/fd/N). */
  spooled?: boolean
  /** Removes the spool file of a pipe; a no-op for real files. */
  dispose(): Promise<void>
}

export async function openArtifact(path: string, stdin?: NodeJS.ReadableStream): Promise<Artifact> {
  // process.stdin is made on first use (a stream over the descriptor, and Node's modules for
  // it): only when the artifact is standard input.
  if (path === '-') return spool('-', () => stdin ?? process.stdin)
  // The checks and the read of a small file are synchronous: nothing else is under way yet,
  // and each trip through the thread pool cost more than the call it made (common/files.ts).
  let info: Stats
  try {
    info = statSync(path)
  } catch (error) {
    throw cannotRead(path, error)
  }
  if (info.isDirectory()) {
    throw new InputError(`${path}: is a directory, not a JSON file.`, [
      'Pass the path of the JSON artifact itself.',
    ])
  }
  // A named pipe or `<(…)`: read what arrives, once, like standard input.
  if (info.isFIFO()) return spool(path, () => createReadStream(path))
  if (!info.isFile()) {
    throw new InputError(`${path}: is ${describeFileType(info)}, not a JSON file.`, [
      'Pass the path of the JSON artifact itself, or - to read it from standard input.',
    ])
  }
  // O_NONBLOCK: should the path have been swapped for a FIFO since stat, opening it must not
  // wait for a writer; fstat on the open descriptor then tells what was really opened.
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (error) {
    throw cannotRead(path, error)
  }
  let digest: Digest
  let held: Buffer | undefined
  try {
    const opened = fstatSync(fd)
    if (!opened.isFile()) {
      throw new InputError(`${path}: changed while it was being opened; it is no longer a regular file.`, [
        'Run the command again once the artifact is written.',
      ])
    }
    if (opened.size <= HELD_BYTES) held = readSmall(fd, opened.size, path)
    digest = held ? new DigestBuilder().update(held).done() : await digestOfFile(fd, path)
  } finally {
    closeSync(fd)
  }
  const artifact: Artifact = {
    displayPath: path,
    file: path,
    source: held ?? path,
    sha256: digest.sha256,
    bytes: digest.bytes,
    dispose: async () => {},
  }
  await assertLooksLikeJson(artifact, digest)
  return artifact
}

/** A pipe copied to a private file (0600 in a 0700 folder), hashed and checked on the way. */
async function spool(displayPath: string, source: () => NodeJS.ReadableStream): Promise<Artifact> {
  const dir = await mkdtemp(join(tmpdir(), 'cavra-stdin-'))
  const file = join(dir, `${randomUuid()}.json`)
  const remove = () => rm(dir, { recursive: true, force: true })
  const digest = new DigestBuilder()
  try {
    await pipeline(
      source(),
      async function* (chunks: AsyncIterable<Buffer | string>) {
        for await (const chunk of chunks) {
          const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
          digest.update(buffer)
          yield buffer
        }
      },
      createWriteStream(file, { mode: 0o600 }),
    )
  } catch (error) {
    await remove()
    throw cannotRead(displayPath, error)
  }
  const { sha256, bytes } = digest.done()
  const artifact: Artifact = {
    displayPath,
    file,
    source: file,
    sha256,
    bytes,
    spooled: true,
    dispose: remove,
  }
  try {
    await assertLooksLikeJson(artifact, digest.done())
  } catch (error) {
    await artifact.dispose()
    throw error
  }
  return artifact
}

interface Digest {
  sha256: string
  bytes: number
  /** The first 4 KB, to tell binary files from text. */
  head: Buffer
  /** Offset and value of the first byte that is not UTF-8, or -1. */
  invalidAt: number
  invalidByte: number
}

const HEAD_BYTES = 4096
/**
 * The size of each read when hashing a file, into one buffer reused for every read. Each read
 * is a trip to the thread pool: at 64 KB, hashing a 34 MB bundle took 520 of them and 110 ms,
 * against 40 ms at a megabyte.
 */
const READ_BYTES = 1024 * 1024
/**
 * Files up to this size are read once and kept (`Artifact.source`). The quick scanner reads
 * a megabyte at a time anyway, so keeping them costs no more memory than reading them, and
 * spares every later pass its trips to the file system.
 */
const HELD_BYTES = 1024 * 1024

/** Hash, size, head and UTF-8 validity of a file in one streaming pass. */
class DigestBuilder {
  private readonly hash = newSha256()
  private readonly utf8 = new Utf8Validator()
  private readonly headChunks: Buffer[] = []
  private headBytes = 0
  private bytes = 0
  private result: Digest | undefined

  /** Adds the next chunk of the file (or the whole of it); returns the builder. */
  update(chunk: Buffer): this {
    this.hash.update(chunk)
    this.utf8.update(chunk)
    this.bytes += chunk.length
    if (this.headBytes < HEAD_BYTES) {
      const part = chunk.subarray(0, HEAD_BYTES - this.headBytes)
      this.headChunks.push(Buffer.from(part))
      this.headBytes += part.length
    }
    return this
  }

  done(): Digest {
    if (!this.result) {
      this.utf8.end()
      this.result = {
        sha256: this.hash.digest('hex'),
        bytes: this.bytes,
        head: Buffer.concat(this.headChunks),
        invalidAt: this.utf8.invalidAt,
        invalidByte: this.utf8.invalidByte,
      }
    }
    return this.result
  }
}

/**
 * Hands the open file to `take` from its start, chunk by chunk, through one buffer reused for
 * every read (`take` must not keep it). A read stream hands out a fresh 64 KB buffer per read,
 * native memory the collector frees only late: the peak memory of opening a 100 MB bundle grew
 * by 16 MB over a 33 MB one.
 */
async function readWhole(fd: number, take: (chunk: Buffer) => void): Promise<void> {
  const buffer = Buffer.allocUnsafe(READ_BYTES)
  for (let position = 0; ; ) {
    const { bytesRead } = await read(fd, buffer, 0, buffer.length, position)
    if (bytesRead === 0) return
    take(buffer.subarray(0, bytesRead))
    position += bytesRead
  }
}

/**
 * The whole of a file fstat said is `size` bytes, read at once; undefined when it has grown
 * since, for the streaming reader to take whole.
 */
function readSmall(fd: number, size: number, name: string): Buffer | undefined {
  // One byte more than expected tells a file that grew from one that ended where fstat said.
  const buffer = Buffer.allocUnsafe(size + 1)
  let filled = 0
  try {
    for (;;) {
      const bytesRead = readSync(fd, buffer, filled, buffer.length - filled, filled)
      if (bytesRead === 0) return buffer.subarray(0, filled)
      filled += bytesRead
      if (filled === buffer.length) return undefined
    }
  } catch (error) {
    throw cannotRead(name, error)
  }
}

async function digestOfFile(fd: number, name: string): Promise<Digest> {
  const digest = new DigestBuilder()
  try {
    await readWhole(fd, (chunk) => digest.update(chunk))
  } catch (error) {
    throw cannotRead(name, error)
  }
  return digest.done()
}

/**
 * Rejects empty, binary, non-UTF-8 and blank files with a message that says so, instead of a
 * parser error. The whole file is UTF-8-checked (JSON text is UTF-8, RFC 8259 §8.1): the
 * parsers would otherwise turn a bad byte anywhere into U+FFFD silently.
 */
async function assertLooksLikeJson(artifact: Artifact, digest: Digest): Promise<void> {
  const name = nameOf(artifact)
  if (artifact.bytes === 0) {
    throw new InputError(`${name}: the file is empty; expected a JSON object, a JSON array or JSON Lines.`, [
      'Check that the producer finished writing the artifact.',
    ])
  }
  if (digest.head.includes(0)) {
    throw new InputError(`${name}: looks like a binary file, not JSON text.`, [
      'Pass the JSON artifact (for an evidence bundle, its siem-event.json).',
    ])
  }
  if (digest.invalidAt >= 0) {
    const at = await positionInFile(artifact.source, digest.invalidAt)
    throw notUtf8Error(name, digest.invalidAt, digest.invalidByte, at)
  }
  if (digest.head.toString('utf8').trim() === '' && artifact.bytes <= HEAD_BYTES) {
    throw new InputError(
      `${name}: holds only white space; expected a JSON object, a JSON array or JSON Lines.`,
      ['Check that the producer finished writing the artifact.'],
    )
  }
}

/** A file a store item recorded, checked before it is delivered again. */
export type RecordedArtifact = { usable: true; path: string } | { usable: false; reason: string }

/**
 * Whether the artifact a store item recorded still holds the bytes it held: the file must
 * exist at its path, be a regular file and have the recorded SHA-256. Anything else says why
 * not, for the person deciding what to do. A relative path (written before paths were stored
 * absolute) is taken from the current folder; the hash still has to match.
 */
export async function checkRecordedArtifact(
  path: string | null,
  sha256: string | null,
): Promise<RecordedArtifact> {
  if (path === null) {
    return {
      usable: false,
      reason:
        'the delivery read its input from standard input, a pipe or an HTTP request, so there is no file to read again',
    }
  }
  const file = isAbsolute(path) ? path : resolve(path)
  if (sha256 === null) {
    return {
      usable: false,
      reason: `${file}: the store recorded no sha256, so the file cannot be shown unchanged`,
    }
  }
  // O_NONBLOCK: a path that is now a FIFO must not wait for a writer; fstat says what was opened.
  let fd: number
  try {
    fd = await open(file, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException)?.code === 'ENOENT'
    return {
      usable: false,
      reason: missing
        ? `${file}: the artifact is missing (no such file)`
        : `${file}: cannot read the artifact (${describeFsError(error)})`,
    }
  }
  try {
    const info = await fstat(fd)
    if (!info.isFile())
      return { usable: false, reason: `${file}: is ${describeFileType(info)}, not the recorded artifact` }
    const hash = newSha256()
    await readWhole(fd, (chunk) => hash.update(chunk))
    const now = hash.digest('hex')
    if (now !== sha256) {
      return {
        usable: false,
        reason: `${file}: the artifact changed since the failed delivery (sha256 ${sha256.slice(0, 12)}… recorded, ${now.slice(0, 12)}… now)`,
      }
    }
  } catch (error) {
    return { usable: false, reason: `${file}: cannot read the artifact (${describeFsError(error)})` }
  } finally {
    await close(fd)
  }
  return { usable: true, path: file }
}

/** The whole of an artifact: its kept bytes, or its file read now. */
export async function artifactBytes(artifact: Artifact): Promise<Buffer> {
  return typeof artifact.source === 'string' ? readFile(artifact.source) : artifact.source
}

/** What the evidence and the store record of an artifact (see SourceArtifact). */
export function sourceOf(artifact: Artifact): SourceArtifact {
  return { path: artifact.spooled ? null : resolve(artifact.file), sha256: artifact.sha256 }
}

export function nameOf(artifact: Pick<Artifact, 'displayPath'>): string {
  return artifact.displayPath === '-' ? 'standard input' : artifact.displayPath
}

/** Turns a scanner error into an input error that names the file, line and column. */
export async function scanErrorToInputError(artifact: Artifact, error: JsonScanError): Promise<InputError> {
  const at = await positionInFile(artifact.source, error.offset)
  if (error.kind === 'depth') return tooDeepError(nameOf(artifact), at)
  return syntaxError(nameOf(artifact), at, error.message, error.jsonPath)
}

/** Line and column of a byte offset, streaming the file up to it (only on the error path). */
async function positionInFile(source: ByteSource, offset: number): Promise<TextPosition> {
  const counter = new PositionCounter()
  for await (const chunk of chunksOf(source, READ_BYTES, 0, offset)) counter.advance(chunk)
  return counter.position
}

/** The message for a file that cannot be opened or read, with what to do about it. */
function cannotRead(path: string, error: unknown): InputError {
  const code = (error as NodeJS.ErrnoException)?.code
  const denied = code === 'EACCES' || code === 'EPERM'
  return new InputError(
    `${path === '-' ? 'standard input' : path}: cannot read the file (${describeFsError(error)}).`,
    [
      denied
        ? 'Make the file readable by the user running cavra (for example chmod u+r FILE), or run cavra as a user who may read it.'
        : 'Check the path; pass - to read the artifact from standard input.',
    ],
  )
}

/** What kind of file system object `info` is, for messages ("a named pipe (FIFO)"). */
export function describeFileType(info: Stats): string {
  if (info.isDirectory()) return 'a directory'
  if (info.isFIFO()) return 'a named pipe (FIFO)'
  if (info.isSocket()) return 'a socket'
  if (info.isCharacterDevice()) return 'a character device'
  if (info.isBlockDevice()) return 'a block device'
  if (info.isSymbolicLink()) return 'a symbolic link'
  return 'a special file'
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
