import IntegrationDeliver from './commands/integration/deliver.js'

/**
 * Every command, listed explicitly so the single-binary bundle needs no directory scan.
 * oclif ids use ":"; the CLI shows them with a space.
 */
export const COMMANDS = {
  'integration:deliver': IntegrationDeliver,
}
