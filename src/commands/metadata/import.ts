import { Args } from '@oclif/core'
import { CavraCommand } from '../../cli/base-command.js'
import { metadataUrlFlag } from '../../cli/store-flags.js'
import { UsageError } from '../../common/errors.js'

export default class MetadataImport extends CavraCommand {
  static override summary = 'Copy a metadata store file into an empty PostgreSQL store.'
  static override description =
    `Reads FILE (a metadata.json store, or JSON Lines as \`cavra metadata export --format jsonl\` writes) as a stream and copies every item as it is: record_hash and prev_hash are checked, never recomputed, so \`cavra metadata verify\` passes on the copy. The target must be empty; the copy is one transaction, so a failed import leaves it empty (docs/postgresql.md).

Exit codes:
  0  every item was copied
  2  usage error (no --metadata-url or CAVRA_METADATA_URL)
  3  CAVRA_METADATA_URL is not a postgres:// URL, or both store variables are set
  4  FILE cannot be read or is not a store
  5  the database is unreachable or already holds items, or FILE's chain is broken`
  static override examples = [
    '<%= config.bin %> metadata import .cavra/evidence/metadata.json --metadata-url postgres://cavra@db.internal:5432/cavra',
    '<%= config.bin %> metadata import export.jsonl --json',
  ]
  static override args = {
    file: Args.string({ required: true, description: 'metadata.json store or JSON Lines export to copy.' }),
  }
  static override flags = { 'metadata-url': metadataUrlFlag }

  async run(): Promise<Record<string, unknown> | undefined> {
    const { args, flags } = await this.parse(MetadataImport)
    const [{ PostgresStore }, { checkReadable, itemsOfFile }] = await Promise.all([
      import('../../metadata/postgres-store.js'),
      import('../../metadata/transfer.js'),
    ])
    const store = await this.openStore({ 'metadata-url': flags['metadata-url'] })
    if (!(store instanceof PostgresStore)) {
      throw new UsageError('metadata import copies into a PostgreSQL store, and none was named.', [
        'Pass --metadata-url postgres://… or set CAVRA_METADATA_URL.',
      ])
    }
    await checkReadable(args.file)
    const started = Date.now()
    const verification = await store
      .importItems(itemsOfFile(args.file), args.file)
      .finally(() => store.close())
    const { report } = verification
    const result = {
      source: args.file,
      target: store.description,
      items: report.total,
      legacy_items: report.legacy,
      chained_items: report.chained,
      head: report.head,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    }
    if (this.jsonEnabled()) return result
    process.stdout.write(
      `Imported ${report.total} items (${report.chained} chained, ${report.legacy} legacy) from ${args.file} into ${store.description} in ${result.seconds} s.\n`,
    )
    return undefined
  }
}
