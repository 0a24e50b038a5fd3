import { CavraCommand } from '../../cli/base-command.js'
import { colourFor } from '../../cli/output.js'
import { metadataStoreFlags } from '../../cli/store-flags.js'
import { StoreError } from '../../common/errors.js'
import { ExitCode } from '../../common/exit-codes.js'

export default class MetadataVerify extends CavraCommand {
  static override summary = 'Verify the hash chain of the metadata store.'
  static override description =
    `Recomputes every item's record_hash and checks each prev_hash link (docs/metadata-store.md). Reports the item count and, if the chain is broken, the first broken link: its position, session_id, and the expected and found hash. Items of the earlier tool's format, without hashes, are counted as a legacy prefix.

Exit codes:
  0  the store is intact
  5  the store is missing, not JSON, of the wrong shape, unreachable, or its chain is broken`
  static override examples = [
    '<%= config.bin %> metadata verify',
    '<%= config.bin %> metadata verify --metadata-json evidence/metadata.json --json',
    '<%= config.bin %> metadata verify --metadata-url postgres://cavra@db.internal:5432/cavra',
  ]
  static override flags = metadataStoreFlags

  async run(): Promise<Record<string, unknown> | undefined> {
    const { flags } = await this.parse(MetadataVerify)
    const store = await this.openStore(flags)
    const path = store.description
    const verification = await store.verify().finally(() => store.close())
    if (!verification.exists) {
      throw new StoreError(
        `${path}: no metadata store there (nothing was ever written to it), so nothing to verify.`,
        [
          'Pass --metadata-json or --metadata-url with the store to verify, or set CAVRA_METADATA_JSON or CAVRA_METADATA_URL.',
        ],
      )
    }
    const chain = verification.report
    const result = {
      path,
      intact: chain.broken === null,
      items: chain.total,
      legacy_items: chain.legacy,
      chained_items: chain.chained,
      head: chain.head,
      broken: chain.broken,
    }
    const colour = colourFor(process.stdout)
    if (chain.broken) {
      process.exitCode = ExitCode.store
      const b = chain.broken
      if (!this.jsonEnabled()) {
        process.stdout.write(
          `${colour.red('BROKEN')} ${path}: ${chain.total} items; the chain breaks at item ${b.position}${b.session_id ? ` (${b.session_id})` : ''}.\n` +
            `  ${b.reason}\n  ${b.field}: expected ${b.expected}\n  ${' '.repeat(b.field.length)}  found    ${b.found ?? '(none)'}\n` +
            `${chain.chained} chained item(s) before it are intact.\n`,
        )
      }
      return this.jsonEnabled() ? result : undefined
    }
    if (!this.jsonEnabled()) {
      const legacy = chain.legacy > 0 ? `${chain.legacy} legacy items without integrity, ` : ''
      process.stdout.write(
        `${colour.green('OK')} ${path}: ${chain.total} items: ${legacy}${chain.chained} chained items intact.\n`,
      )
    }
    return this.jsonEnabled() ? result : undefined
  }
}
