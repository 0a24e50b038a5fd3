import type { z } from 'zod'
import type { ResolvedSettings } from '../config/resolve.js'
import type { Session } from '../delivery/session.js'
import type { DeliveryEvent } from '../events/event.js'

/**
 * The connector contract. A connector is one module that describes itself (provider kind,
 * category, vendor docs, settings), turns its resolved settings into a typed config, and
 * delivers an event through a `Session`: it builds requests and reads responses as pure
 * functions and never touches the network itself.
 */

export type Category = 'siem' | 'chatops' | 'itsm' | 'webhook' | 'endpoint'

/** What a connector reports back; the session adds attempts, timing and the request record. */
export type ConnectorResult =
  | {
      ok: true
      remoteReference: string | null
      recordsSent: number
      deduplicated?: boolean
      /** Something the destination said that the user should know (a field it ignored). */
      warnings?: string[]
    }
  | {
      ok: false
      error: string
      recordsSent?: number
      remoteReference?: string | null
    }

export interface ConfigureContext {
  /** The connector's name (the key in the config file). */
  name: string
  /** Records a warning shown to the user and kept in the evidence. */
  warn(message: string): void
}

export interface ConnectorDefinition<Config = unknown> {
  /** Provider kind: the value of `provider` in the config. */
  provider: string
  category: Category
  /** The vendor product, as users name it. */
  title: string
  /** Vendor API reference this module follows. */
  docs: string
  /**
   * The provider's own keys. Every string key also accepts `<key>_env` and `<key>_file`.
   * Requiredness is checked by `configure`, only for connectors a command selects.
   */
  settings: z.ZodRawShape
  /** Keys whose values are secrets (resolved values are registered for scrubbing). */
  secrets: readonly string[]
  /** The URL itself is a credential (Slack, Teams, webhook): only scheme and host are shown. */
  urlIsSecret: boolean
  /** Turns resolved settings into the typed config; throws ConfigError naming the key. */
  configure(settings: ResolvedSettings, context: ConfigureContext): Config
  deliver(event: DeliveryEvent, config: Config, session: Session): Promise<ConnectorResult>
}

/** Identity helper that keeps each connector's Config type inferred. */
export function defineConnector<Config>(
  definition: ConnectorDefinition<Config>,
): ConnectorDefinition<Config> {
  return definition
}
