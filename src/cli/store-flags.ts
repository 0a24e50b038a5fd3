import { Flags } from '@oclif/core'

/** The metadata store flag every reader and release delivery takes. */
export const metadataJsonFlag = Flags.string({
  helpValue: 'PATH',
  exclusive: ['metadata-url'],
  description:
    'The metadata store file. Default: $CAVRA_METADATA_JSON, else $CAVRA_METADATA_URL, else .cavra/evidence/metadata.json.',
})

/** The same store in PostgreSQL, shared by many runners (docs/postgresql.md). */
export const metadataUrlFlag = Flags.string({
  helpValue: 'postgres://…',
  exclusive: ['metadata-json'],
  description:
    'The metadata store in PostgreSQL, shared by many runners (the password is a secret: never printed). Default: $CAVRA_METADATA_URL. Excludes --metadata-json.',
})

/**
 * Both store flags, for every command that reads or writes the store; `CavraCommand.openStore`
 * takes the parsed flags and picks the store (a flag, else the environment, else the file).
 */
export const metadataStoreFlags = {
  'metadata-json': metadataJsonFlag,
  'metadata-url': metadataUrlFlag,
}

export const sinceFlag = Flags.string({
  helpValue: 'TIME|DURATION',
  description:
    'Only deliveries at or after this ISO time, or within this duration back from now (24h, 7d, 2w).',
})

export const pagingFlags = {
  limit: Flags.integer({ min: 1, max: 10_000, default: 50, description: 'Rows per page.' }),
  offset: Flags.integer({ min: 0, default: 0, description: 'Rows to skip (newest first).' }),
}

export const successFlag = Flags.boolean({
  allowNo: true,
  description: 'Only rows whose own delivery succeeded (--success) or failed (--no-success).',
})
