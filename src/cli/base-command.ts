import { Command, Errors } from '@oclif/core'
import { isCavraError } from '../common/errors.js'
import { ExitCode } from '../common/exit-codes.js'
import { jsonChunks } from '../common/json-chunks.js'
import { Redactor } from '../delivery/redact.js'
import { colourFor, installSecretGuard } from './output.js'

/**
 * What every cavra command shares: `--json` (one document on stdout), errors that say what,
 * where and what to do (no stack trace unless DEBUG is set), the documented exit codes,
 * and a redactor that keeps every secret of the run out of stdout and stderr.
 */
export abstract class CavraCommand extends Command {
  static override enableJsonFlag = true

  protected readonly redactor = new Redactor()

  override async init(): Promise<void> {
    installSecretGuard(this.redactor)
    // Before parsing: oclif's own usage errors quote the command line, --metadata-url included.
    for (const secret of databasePasswords(this.argv, process.env)) this.redactor.addSecret(secret)
    await super.init()
  }

  /**
   * The --json document. oclif colours it token by token through regular expressions, which
   * takes seconds for a large history or dashboard; without a JSON colour theme that gives
   * back exactly `JSON.stringify(json, null, 2)`, which is written directly, in pieces: a
   * dashboard with tens of thousands of open alerts is tens of megabytes, and one string that
   * size is copied, scrubbed and encoded at several times the cost of small ones.
   */
  override logJson(json: unknown): void {
    if (this.config.theme?.json) {
      super.logJson(json)
      return
    }
    for (const piece of jsonChunks(json)) process.stdout.write(piece)
    process.stdout.write('\n')
  }

  /** A warning on stderr (never on stdout, which --json keeps for the document). */
  protected note(message: string): void {
    const text = this.redactor.scrub(message)
    const colour = colourFor(process.stderr)
    process.stderr.write(`${colour.yellow('Warning:')} ${text}\n`)
  }

  /**
   * The metadata store named by the store flags (`metadataStoreFlags`), else the environment,
   * else the default file; repairs are noted, and a database password joins the secrets the
   * redactor keeps out of every output.
   */
  protected async openStore(
    flags: import('../metadata/store.js').StoreFlags,
  ): Promise<import('../metadata/metadata-store.js').MetadataStore> {
    const { openStore, storeLocationFrom, storeSecrets } = await import('../metadata/store.js')
    const location = storeLocationFrom(flags, process.env)
    for (const secret of storeSecrets(location, process.env)) this.redactor.addSecret(secret)
    const store = openStore(location, (message) => this.note(message))
    this.openedStores.push(store)
    return store
  }

  /** Stores this run opened: a database connection left open would keep the process alive. */
  private readonly openedStores: import('../metadata/metadata-store.js').MetadataStore[] = []

  protected override async finally(error: Error | undefined): Promise<unknown> {
    await Promise.allSettled(this.openedStores.map((store) => store.close()))
    return super.finally(error)
  }

  protected override async catch(error: Error & { exitCode?: number }): Promise<void> {
    const exitCode = exitCodeOf(error)
    const actions = isCavraError(error) ? error.actions : usageActions(error, this.id)
    const message = this.redactor.scrub(messageOf(error))
    const colour = colourFor(process.stderr)
    let text = `${colour.red('Error:')} ${message}\n`
    if (actions.length > 0)
      text += `${colour.bold('Try this:')}\n${actions.map((a) => `  - ${a}\n`).join('')}`
    if (process.env.DEBUG && error.stack) text += `${this.redactor.scrub(error.stack)}\n`
    process.stderr.write(text)
    if (this.jsonEnabled()) {
      const code = isCavraError(error) ? error.code : exitCode === ExitCode.usage ? 'usage' : 'internal'
      process.stdout.write(
        `${JSON.stringify({ error: { code, message, actions: actions.map((a) => this.redactor.scrub(a)), exit_code: exitCode } }, null, 2)}\n`,
      )
    }
    process.exitCode = exitCode
  }
}

/** The passwords of the database URLs on the command line and in the environment (PGPASSWORD too). */
function databasePasswords(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const urls: string[] = []
  argv.forEach((arg, index) => {
    if (arg === '--metadata-url' && argv[index + 1] !== undefined) urls.push(argv[index + 1]!)
    else if (arg.startsWith('--metadata-url=')) urls.push(arg.slice('--metadata-url='.length))
  })
  if (env.CAVRA_METADATA_URL) urls.push(env.CAVRA_METADATA_URL)
  const secrets = env.PGPASSWORD ? [env.PGPASSWORD] : []
  for (const url of urls) {
    // A value that is not a URL is refused later, naming only its scheme; whatever follows
    // "://user:" up to "@" is treated as a password all the same.
    const password = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^@/]*)@/i.exec(url)?.[1]
    if (!password) continue
    secrets.push(password)
    try {
      secrets.push(decodeURIComponent(password))
    } catch {
      // Kept as written.
    }
  }
  return secrets
}

export function exitCodeOf(error: unknown): number {
  if (isCavraError(error)) return error.exitCode
  const oclif = (error as { oclif?: { exit?: number } })?.oclif
  // oclif's own parse errors (unknown flag, missing argument) carry exit 2.
  if (error instanceof Errors.CLIError && oclif?.exit !== undefined)
    return oclif.exit === 1 ? ExitCode.usage : oclif.exit
  return ExitCode.deliveryFailed
}

function messageOf(error: Error): string {
  if (isCavraError(error) || error instanceof Errors.CLIError) return error.message.replace(/\s+$/, '')
  return `internal error: ${error.message} (this is a bug in cavra; rerun with DEBUG=1 for the stack trace)`
}

function usageActions(error: Error, id: string | undefined): string[] {
  if (error instanceof Errors.CLIError)
    return [`Run cavra ${(id ?? '').replace(/:/g, ' ')} --help for the flags and examples.`]
  return []
}
