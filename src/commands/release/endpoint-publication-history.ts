import { Flags } from '@oclif/core'
import { historyFlags, publicationItem, StoreReaderCommand } from '../../cli/reader-commands.js'
import { EXIT_CODE_HELP } from '../../common/exit-codes.js'
import type { PublicationRow } from '../../metadata/history.js'

export default class EndpointPublicationHistory extends StoreReaderCommand {
  static override summary =
    'List endpoint-export publications from the metadata store, one row per provider, newest first.'
  static override description =
    `Shows whether each Jamf, Intune or Linux-fleet publication was actually made, with the publication and export ids, channel and release. Filters are judged per provider. Never writes to the store.

Exit codes:
${EXIT_CODE_HELP}`
  static override examples = [
    '<%= config.bin %> release endpoint-publication-history',
    '<%= config.bin %> release endpoint-publication-history --provider jamf --no-success',
    '<%= config.bin %> release endpoint-publication-history --export-id eme_6f0c3b2a1d9e --json',
  ]
  static override flags = {
    ...historyFlags,
    'export-id': Flags.string({ helpValue: 'ID', description: 'Exact export id.' }),
    channel: Flags.string({ helpValue: 'NAME', description: 'Exact release channel, e.g. stable.' }),
  }

  async run(): Promise<Record<string, unknown>> {
    const { flags } = await this.parse(EndpointPublicationHistory)
    const { PUBLICATION_KIND } = await import('../../metadata/history.js')
    const filter = {
      provider: flags.provider,
      exportId: flags['export-id'],
      channel: flags.channel,
      success: flags.success,
      since: await this.since(flags.since),
    }
    const history = await this.readHistory(flags, [PUBLICATION_KIND], filter, flags)
    return this.printHistory<PublicationRow>(
      'cavra.endpoint_management.publication_history.v1',
      history,
      flags,
      publicationItem,
      filter,
    )
  }
}
