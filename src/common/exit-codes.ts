/** The exit codes (docs/exit-codes.md); one table so help text, errors and tests agree. */
export const ExitCode = {
  ok: 0,
  deliveryFailed: 1,
  usage: 2,
  config: 3,
  input: 4,
  store: 5,
} as const

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export const EXIT_CODE_HELP = [
  '0  every selected delivery succeeded (or --dry-run, or a read-only command succeeded)',
  '1  at least one delivery failed after its retries (evidence and metadata are still written)',
  '2  usage error (unknown flag, missing argument)',
  '3  configuration error (config missing or invalid, env variable unset, unknown connector)',
  '4  input error (artifact unreadable, not JSON, wrong schema, checksum mismatch, approval not granted)',
  '5  metadata store error (corrupt, unwritable, lock not obtained)',
].join('\n')
