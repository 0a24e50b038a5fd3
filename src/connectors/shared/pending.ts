import { ConfigError } from '../../cli/errors.js'
import type { ConnectorDefinition } from '../types.js'

/** Configure step of a provider whose delivery is not part of this build yet. */
export function notAvailable(title: string): ConnectorDefinition['configure'] {
  return () => {
    throw new ConfigError(
      `the ${title} connector is not available in this build; deselect it with --provider.`,
    )
  }
}

export async function neverDelivers(): Promise<never> {
  throw new Error('unreachable: configure() refuses this connector')
}
