import { Flags } from '@oclif/core'

/** The metadata store flag every reader and release delivery takes. */
export const metadataJsonFlag = Flags.string({
  helpValue: 'PATH',
  description: 'The metadata store. Default: $CAVRA_METADATA_JSON, else .cavra/evidence/metadata.json.',
})

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
