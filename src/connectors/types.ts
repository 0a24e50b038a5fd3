import type { z } from 'zod'
import type { Category } from '../common/category.js'
import { once } from '../common/once.js'
import type { Session } from '../delivery/session.js'
import type { DeliveryEvent } from '../events/event.js'
import type { CommonShape } from './shared/settings.js'

/**
 * The connector contract. A connector is one module that describes itself (provider kind,
 * category, vendor docs, settings), turns its typed settings into a config, and delivers an
 * event through a `Session`: it builds requests and reads responses as pure functions and
 * never touches the network itself.
 */

/** What a connector reports back; the session adds attempts, timing and the request record. */
export type ConnectorResult =
  | {
      ok: true
      remoteReference: string | null
      recordsSent: number
      deduplicated?: boolean
      /** Records cut to fit the vendor's field or event limits (the full record stays in the artifact). */
      recordsShortened?: number
      /** The destination accepted the request for later processing (an HTTP 202), not yet done. */
      acceptedAsync?: boolean
      /** Something the destination said that the user should know (a field it ignored). */
      warnings?: string[]
    }
  | {
      ok: false
      error: string
      recordsSent?: number
      recordsShortened?: number
      remoteReference?: string | null
    }

export interface ConfigureContext {
  /** The connector's name (the key in the config file). */
  name: string
  /** Records a warning shown to the user and kept in the evidence. */
  warn(message: string): void
  /**
   * The environment of the run, for credentials the platform hands over in variables that
   * the configuration does not name (GitHub Actions' OIDC request URL and token).
   */
  env?: Readonly<Record<string, string | undefined>>
}

/**
 * A connector's settings as `configure` receives them: the common keys plus its own, parsed
 * by zod, with every `X_env` and `X_file` already replaced by its value.
 */
export type SettingsOf<Shape extends z.ZodRawShape> = z.infer<z.ZodObject<CommonShape & Shape>>

export interface ConnectorDefinition<Shape extends z.ZodRawShape = z.ZodRawShape, Config = unknown> {
  /** Provider kind: the value of `provider` in the config. */
  provider: string
  category: Category
  /** The vendor product, as users name it. */
  title: string
  /** Vendor API reference this module follows. */
  docs: string
  /**
   * The provider's own keys. Every text key also accepts `<key>_env` and `<key>_file`.
   * Requiredness is checked by `configure`, only for connectors a command selects. Built on
   * first use (`once`), so that a delivery that never needs the schemas never builds them.
   */
  settings: () => Shape
  /** Keys whose values are secrets (resolved values are registered for scrubbing). */
  secrets: readonly (keyof Shape & string)[]
  /** The URL itself is a credential (Slack, Teams, webhook): only scheme and host are shown. */
  urlIsSecret: boolean
  /** Turns typed settings into the connector's config; throws ConfigError naming the key. */
  configure(settings: SettingsOf<Shape>, context: ConfigureContext): Config
  deliver(event: DeliveryEvent, config: Config, session: Session): Promise<ConnectorResult>
  /**
   * `integration check`: one question that proves a delivery could succeed (reachable,
   * credentials accepted, target exists) and creates or changes nothing at the vendor. Builds
   * its requests and reads the answers like `deliver`, through the session. A provider without
   * such a call has no probe: it is reported `unverified` and nothing is sent to it.
   */
  probe?(config: Config, session: Session): Promise<ProbeResult>
}

/** What a probe learnt; the check adds the status code and the time taken. */
export interface ProbeResult {
  /** `unverified`: the configuration is fine, but only a delivery could prove the rest. */
  status: 'healthy' | 'unhealthy' | 'unverified'
  /** What was asked, in the vendor's terms: `GET /rest/api/3/myself, GET /rest/api/3/project/SEC`. */
  probe: string
  /** What the answer means; when unhealthy, what to fix, in the vendor's terms. */
  detail: string
}

/** Any connector, as the registry and the delivery flow hold them. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds connectors of every settings shape and config.
export type AnyConnector = ConnectorDefinition<any, any>

/** Keeps each connector's settings and config types inferred, and builds its settings once. */
export function defineConnector<Shape extends z.ZodRawShape, Config>(
  definition: ConnectorDefinition<Shape, Config>,
): ConnectorDefinition<Shape, Config> {
  // One shape per connector, built on first use: path settings are known by identity.
  return { ...definition, settings: once(definition.settings) }
}

/**
 * What a configuration file is checked against before a provider's module is loaded: its
 * kind, category and title, and every key its entries may hold (each setting with its `_env`
 * and `_file` forms, in the order of its schema). `load` brings the module itself.
 */
export interface ConnectorInfo {
  provider: string
  category: Category
  title: string
  keys: readonly string[]
  load(): Promise<AnyConnector>
}

/** A connector chosen for a command, with its settings resolved and validated. */
export interface PreparedConnector {
  name: string
  provider: string
  category: Category
  definition: AnyConnector
  config: unknown
  /** Per-connector overrides of the command's --timeout and --retries. */
  timeoutSeconds?: number
  retries?: number
  caFile?: string
  secretValues: string[]
  /** Header names that carry secrets (a configured api_key_header). */
  secretHeaders: string[]
  warnings: string[]
}
