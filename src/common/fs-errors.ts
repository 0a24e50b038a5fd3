/** Why a file operation failed, in words a person acts on, with the system's code. */
export function fsReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code
  const words: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'a read-only file system',
    ENOTDIR: 'a part of the path is a file',
    ENOENT: 'no such file or folder',
  }
  const why = (code && words[code]) ?? (error instanceof Error ? error.message : String(error))
  return code && !why.includes(code) ? `${why}, ${code}` : why
}
