import { Flags } from '@oclif/core'
import { CavraCommand } from '../../cli/base-command.js'
import { DEFAULT_TIMEOUT_SECONDS, deliveryFlags } from '../../cli/delivery-flags.js'
import { ExitCode } from '../../common/exit-codes.js'

export default class IntegrationCheck extends CavraCommand {
  static override summary =
    'Check that each connector could deliver, creating or changing nothing at the vendor.'
  static override description =
    `Asks each selected connector (default: every enabled connector) one question that proves it can deliver: the destination is reachable, accepts the credentials, and the target exists. Nothing is created or changed at any vendor. Providers without such a question (Teams, webhooks, Sentinel's data collector) are reported unverified and nothing is sent to them. See docs/integration-check.md for each provider's probe.

Exit codes:
  0  no connector is unhealthy
  1  at least one connector is unhealthy
  2  usage error (unknown flag)
  3  configuration error (config missing or invalid, env variable unset, unknown connector)
  5  the --registry file is missing, damaged or cannot be written`
  static override examples = [
    '<%= config.bin %> integration check',
    '<%= config.bin %> integration check --provider splunk,jira --json',
    '<%= config.bin %> integration check --registry .cavra/integrations.json',
  ]
  static override flags = {
    config: deliveryFlags.config,
    provider: deliveryFlags.provider,
    timeout: deliveryFlags.timeout,
    registry: Flags.string({
      helpValue: 'PATH',
      description:
        "Integration registry (as kept by cavra serve) whose records' health_status follow the checks.",
    }),
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(IntegrationCheck)
    const [
      { runCheck },
      { configPathFrom },
      { parseProviderFlags },
      { IntegrationRegistry },
      { checkTable },
    ] = await Promise.all([
      import('../../flow/check-connectors.js'),
      import('../../config/load.js'),
      import('../../config/select.js'),
      import('../../metadata/integration-registry.js'),
      import('../../cli/check-report.js'),
    ])
    const report = await runCheck({
      configPath: configPathFrom(flags.config, process.env),
      providers: parseProviderFlags(flags.provider),
      timeoutMs: (flags.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
      env: process.env,
      redactor: this.redactor,
      registry: flags.registry ? new IntegrationRegistry(flags.registry) : undefined,
      warn: (message) => this.note(message),
    })
    const text = this.jsonEnabled() ? JSON.stringify(report, null, 2) : checkTable(report, process.stdout)
    process.stdout.write(`${this.redactor.scrub(text)}\n`)
    if (!report.healthy) process.exitCode = ExitCode.deliveryFailed
  }
}
