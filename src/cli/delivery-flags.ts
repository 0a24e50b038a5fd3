import { Errors, Flags } from '@oclif/core'
import { DELIVERY_DEFAULTS } from '../flow/delivery-kinds.js'

const seconds = Flags.custom<number>({
  helpValue: 'SECONDS',
  async parse(input) {
    const value = Number(input)
    if (!Number.isFinite(value) || value <= 0) {
      throw new Errors.CLIError(`expected a positive number of seconds, got "${input}"`, { exit: 2 })
    }
    return value
  },
})

/** Flags shared by every delivery command. */
export const deliveryFlags = {
  config: Flags.string({
    char: 'c',
    helpValue: 'PATH',
    description:
      'Connector configuration (JSON or YAML). Default: $CAVRA_CONNECTOR_CONFIG, else .cavra/connectors.json.',
  }),
  provider: Flags.string({
    char: 'p',
    multiple: true,
    helpValue: 'NAME',
    description:
      'Connector name or provider kind; repeatable and comma-separated; "all" for every enabled connector that fits.',
  }),
  retries: Flags.integer({
    min: 0,
    max: 10,
    helpValue: 'N',
    description: 'Extra attempts after the first (default 2).',
  }),
  timeout: seconds({ description: 'Per-attempt timeout in seconds (default 10).' }),
  deadline: seconds({ description: 'Total time budget of the command in seconds (default 120).' }),
  output: Flags.string({
    char: 'o',
    helpValue: 'DIR',
    description: 'Directory for the delivery evidence file.',
  }),
  'dry-run': Flags.boolean({
    description: 'Build every request and print it redacted; send and write nothing.',
  }),
  'allow-failure': Flags.boolean({
    description: 'Exit 0 even when a delivery failed (it is still recorded as failed).',
  }),
}

export const DEFAULT_RETRIES = DELIVERY_DEFAULTS.retries
export const DEFAULT_TIMEOUT_SECONDS = DELIVERY_DEFAULTS.timeoutSeconds
export const DEFAULT_DEADLINE_SECONDS = DELIVERY_DEFAULTS.deadlineSeconds
