import { Flags } from '@oclif/core'
import { CavraCommand } from '../../cli/base-command.js'
import { metadataStoreFlags } from '../../cli/store-flags.js'

export default class MetadataExport extends CavraCommand {
  static override summary = 'Write the metadata store out as a JSON store document or JSON Lines.'
  static override description =
    `Streams every item of the store (a file or a PostgreSQL database), its chain checked as it passes, as a metadata.json document (--format json, the layout of the file store: an auditor can verify it offline) or one item per line (--format jsonl, what \`cavra metadata import\` reads). Writes to standard output unless --output FILE, which is written whole or not at all.

Exit codes:
  0  the store was written out
  2  usage error
  3  both store variables are set, or CAVRA_METADATA_URL is not a postgres:// URL
  5  the store is unreachable or damaged, or FILE cannot be written`
  static override examples = [
    '<%= config.bin %> metadata export --metadata-url postgres://cavra@db.internal:5432/cavra --output metadata.json',
    '<%= config.bin %> metadata export --format jsonl > items.jsonl',
  ]
  static override flags = {
    ...metadataStoreFlags,
    format: Flags.string({
      options: ['json', 'jsonl'],
      default: 'json',
      description: 'json: one metadata.json document; jsonl: one item per line.',
    }),
    output: Flags.string({ char: 'o', helpValue: 'FILE', description: 'Write to FILE instead of stdout.' }),
  }

  async run(): Promise<Record<string, unknown> | undefined> {
    const { flags } = await this.parse(MetadataExport)
    const [{ writeFileAtomically, writeItems }, { StoreError }, { fsReason }] = await Promise.all([
      import('../../metadata/transfer.js'),
      import('../../common/errors.js'),
      import('../../common/fs-errors.js'),
    ])
    const format = flags.format as 'json' | 'jsonl'
    const store = await this.openStore(flags)
    try {
      if (!flags.output) {
        await writeItems(store.items(), format, { write: (text) => writeOut(text) })
        return undefined
      }
      const output = flags.output
      const count = await writeFileAtomically(output, (sink) =>
        writeItems(store.items(), format, sink),
      ).catch((error: unknown) => {
        if (error instanceof StoreError || !(error as { code?: unknown })?.code) throw error
        throw new StoreError(`${output}: cannot write the export (${fsReason(error)}).`, [
          'Pass --output with a writable path on a disk with free space.',
        ])
      })
      const result = { source: store.description, output, format, items: count }
      if (this.jsonEnabled()) return result
      process.stdout.write(`Wrote ${count} items from ${store.description} to ${output} (${format}).\n`)
      return undefined
    } finally {
      await store.close()
    }
  }
}

/** Standard output with back-pressure: a store of any size passes through a pipe in bounded memory. */
function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.stdout.write(text, (error) => (error ? reject(error) : undefined))) resolve()
    else process.stdout.once('drain', resolve)
  })
}
