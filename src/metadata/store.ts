import { ConfigError, UsageError } from '../common/errors.js'
import { JsonFileStore } from './json-store.js'
import type { MetadataStore } from './metadata-store.js'
import { PostgresStore } from './postgres-store.js'

export const DEFAULT_METADATA_PATH = '.cavra/evidence/metadata.json'

/** Where the metadata store is: a JSON file (the default) or a PostgreSQL database. */
export type StoreLocation = { kind: 'json'; path: string } | { kind: 'postgres'; url: string }

/** The store flags a command was given (either may be absent). */
export interface StoreFlags {
  'metadata-json'?: string
  'metadata-url'?: string
}

/**
 * The store named by the flags, else the environment, else the default file. A flag beats an
 * environment variable; the two kinds exclude each other: both flags are a usage error (exit
 * 2), both variables (and no flag) a configuration error (exit 3), since which one was meant
 * cannot be guessed and indexing into the wrong store would split the history.
 */
export function storeLocationFrom(flags: StoreFlags, env: NodeJS.ProcessEnv): StoreLocation {
  const json = flags['metadata-json']
  const url = flags['metadata-url']
  if (json !== undefined && url !== undefined) {
    throw new UsageError('--metadata-json and --metadata-url name two stores; give only one.', [
      'Use --metadata-json PATH for a file store or --metadata-url postgres://… for a shared database.',
    ])
  }
  if (json !== undefined) return { kind: 'json', path: json }
  if (url !== undefined) return { kind: 'postgres', url: checkedUrl(url, '--metadata-url', UsageError) }
  const envJson = nonEmpty(env.CAVRA_METADATA_JSON)
  const envUrl = nonEmpty(env.CAVRA_METADATA_URL)
  if (envJson !== undefined && envUrl !== undefined) {
    throw new ConfigError(
      'CAVRA_METADATA_JSON and CAVRA_METADATA_URL are both set, so the metadata store is ambiguous.',
      ['Unset one of them, or pass --metadata-json or --metadata-url, which takes precedence over both.'],
    )
  }
  if (envUrl !== undefined)
    return { kind: 'postgres', url: checkedUrl(envUrl, 'CAVRA_METADATA_URL', ConfigError) }
  return { kind: 'json', path: envJson ?? DEFAULT_METADATA_PATH }
}

/** Whether the flags name a store explicitly (integration deliveries are indexed only then). */
export function storeFlagGiven(flags: StoreFlags): boolean {
  return flags['metadata-json'] !== undefined || flags['metadata-url'] !== undefined
}

/**
 * The store at a location (a path means a JSON file); `notify` hears about repairs (an
 * interrupted append moved aside). The database driver is loaded only by a database store,
 * when it first connects.
 */
export function openStore(
  location: StoreLocation | string,
  notify?: (message: string) => void,
): MetadataStore {
  const where: StoreLocation = typeof location === 'string' ? { kind: 'json', path: location } : location
  return where.kind === 'json' ? new JsonFileStore(where.path, notify) : new PostgresStore(where.url)
}

/** The secrets of a location, for the run's redactor: the database password. */
export function storeSecrets(location: StoreLocation, env: NodeJS.ProcessEnv): string[] {
  if (location.kind !== 'postgres') return []
  // The driver takes the password from PGPASSWORD when the URL has none.
  const secrets = env.PGPASSWORD ? [env.PGPASSWORD] : []
  const password = new URL(location.url).password
  if (password) {
    secrets.push(password)
    try {
      secrets.push(decodeURIComponent(password))
    } catch {
      // Kept as written.
    }
  }
  return [...new Set(secrets)]
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

function checkedUrl(
  value: string,
  source: string,
  ErrorType: typeof UsageError | typeof ConfigError,
): string {
  let parsed: URL | undefined
  try {
    parsed = new URL(value)
  } catch {
    parsed = undefined
  }
  if (!parsed || !/^postgres(ql)?:$/.test(parsed.protocol)) {
    // The value may hold a password: only its scheme is named.
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(value)?.[0] ?? 'no scheme'
    throw new ErrorType(`${source} is not a postgres:// URL (${scheme}).`, [
      'Give a URL such as postgres://cavra@db.example.internal:5432/cavra (the password in PGPASSWORD or the URL).',
    ])
  }
  return value
}
