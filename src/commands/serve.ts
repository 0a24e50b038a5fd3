import { Flags } from '@oclif/core'
import { CavraCommand } from '../cli/base-command.js'
import { metadataJsonFlag, metadataUrlFlag } from '../cli/store-flags.js'
import { EXIT_CODE_HELP } from '../common/exit-codes.js'

export default class Serve extends CavraCommand {
  static override enableJsonFlag = false
  static override summary =
    'Serve the HTTP API: deliveries, the integration registry, delivery history and dashboards.'
  static override description =
    `Serves the earlier tool's HTTP API from this executable. Every request runs the same flow as the matching command: the same validation (422 naming the JSON path), evidence files (same folders) and metadata store items; history and dashboards are the commands' documents. GET /openapi.json describes every endpoint.

Every endpoint but GET /healthz needs Authorization: Bearer <token>, with a token from $CAVRA_API_TOKEN (a comma-separated list, for rotation) or --token-file (one per line). Without a token the server listens on loopback only and warns; a non-loopback --host without a token refuses to start (exit 3).

Release endpoints find their artifact by searching the --artifacts folders recursively for the JSON file whose execution_id, rollback_id or export_id matches. Integrations are kept in --registry. One JSON log line per request goes to stderr. SIGTERM stops accepting connections, lets deliveries in flight finish, and exits 0.

Exit codes:
${EXIT_CODE_HELP}`
  static override examples = [
    'CAVRA_API_TOKEN=$(openssl rand -hex 32) <%= config.bin %> serve',
    '<%= config.bin %> serve --host 0.0.0.0 --port 8080 --token-file /run/secrets/cavra-api-tokens',
    '<%= config.bin %> serve --port 0 --artifacts release --artifacts exports --metadata-json .cavra/evidence/metadata.json',
  ]
  static override flags = {
    host: Flags.string({
      default: '127.0.0.1',
      helpValue: 'ADDRESS',
      description: 'Address to listen on; anything but loopback needs an API token.',
    }),
    port: Flags.integer({
      default: 8000,
      helpValue: 'N',
      min: 0,
      max: 65_535,
      description: 'Port to listen on; 0 picks a free one (the address is logged on stderr).',
    }),
    config: Flags.string({
      char: 'c',
      helpValue: 'PATH',
      description:
        'Connector configuration (JSON or YAML). Default: $CAVRA_CONNECTOR_CONFIG, else .cavra/connectors.json.',
    }),
    'metadata-json': {
      ...metadataJsonFlag,
      description:
        'The metadata store file. Default: $CAVRA_METADATA_JSON, else $CAVRA_METADATA_URL, else .cavra/evidence/metadata.json. Integration deliveries are indexed only when a store flag is given.',
    },
    'metadata-url': {
      ...metadataUrlFlag,
      description:
        'The metadata store in PostgreSQL, shared with other servers and runners (docs/postgresql.md). Default: $CAVRA_METADATA_URL. Integration deliveries are indexed only when a store flag is given.',
    },
    artifacts: Flags.string({
      multiple: true,
      helpValue: 'DIR',
      default: ['.cavra/release'],
      description: 'Folder searched recursively for release artifacts by id; repeatable.',
    }),
    registry: Flags.string({
      helpValue: 'PATH',
      default: '.cavra/integrations.json',
      description: 'The integration registry file.',
    }),
    'token-file': Flags.string({
      helpValue: 'PATH',
      description: 'File of API tokens, one per line (instead of $CAVRA_API_TOKEN).',
    }),
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve)
    const [{ configPathFrom }, { loadApiTokens }, { jsonLogger }, { startServer }] = await Promise.all([
      import('../config/load.js'),
      import('../server/auth.js'),
      import('../server/log.js'),
      import('../server/start.js'),
    ])
    const server = await startServer({
      host: flags.host,
      port: flags.port,
      configPath: configPathFrom(flags.config, process.env),
      store: { 'metadata-json': flags['metadata-json'], 'metadata-url': flags['metadata-url'] },
      artifacts: flags.artifacts,
      registryPath: flags.registry,
      tokens: await loadApiTokens(flags['token-file'], process.env),
      env: process.env,
      redactor: this.redactor,
      log: jsonLogger(this.redactor),
    })
    await server.closed
  }
}
