import { z } from 'zod'
import {
  DEFAULT_DEADLINE_SECONDS,
  DEFAULT_RETRIES,
  DEFAULT_TIMEOUT_SECONDS,
} from '../src/cli/delivery-flags.js'
import { CATEGORIES } from '../src/common/category.js'
import { settingForm, variantsOf } from '../src/config/entry-shape.js'
import { DEFAULT_CONFIG_PATH, EXAMPLE_CONFIG } from '../src/config/load.js'
import { commonSettings } from '../src/connectors/shared/settings.js'
import type { AnyConnector } from '../src/connectors/types.js'
import { DELIVERY_KINDS } from '../src/flow/delivery-kinds.js'

/**
 * Renders docs/configuration.md from the connector registry: every key, its type, its
 * description and whether it is a secret come from the same zod definitions that validate
 * the configuration file. Pure: the same registry always gives the same text.
 */

type JsonSchema = Record<string, unknown>

const SCHEMA_PATH = 'examples/connectors/cavra-connectors.schema.json'

export function renderConfigurationDoc(connectors: readonly AnyConnector[]): string {
  const out: string[] = [
    '<!-- Generated from the connector definitions by `npm run schema`; edit the definitions, not this file. -->',
    '',
    '# Connector configuration',
    '',
    ...introduction(connectors),
    '## Common keys',
    '',
    'Every connector accepts these keys besides its own.',
    '',
    ...settingsTable(commonSettings(), (key) => commonSecret(key, connectors)),
    '',
    '## Providers',
    '',
    '| provider | product | category |',
    '|---|---|---|',
    ...connectors.map((c) => `| [\`${c.provider}\`](#${c.provider}) | ${cell(c.title)} | ${c.category} |`),
    '',
  ]
  for (const connector of connectors) out.push(...providerSection(connector))
  return `${out.join('\n').replace(/\n+$/, '')}\n`
}

function introduction(connectors: readonly AnyConnector[]): string[] {
  const shapes = [commonSettings(), ...connectors.map((c) => c.settings() as z.ZodRawShape)]
  const pathKeys = [
    ...new Set(
      shapes.flatMap((shape) =>
        Object.entries(shape)
          .filter(([, schema]) => settingForm(schema as z.ZodType) === 'path')
          .map(([key]) => `\`${key}\``),
      ),
    ),
  ]
  const secretUrls = connectors.filter((c) => c.urlIsSecret).map((c) => `\`${c.provider}\``)
  const byCategory = CATEGORIES.map((category) => {
    const providers = connectors.filter((c) => c.category === category).map((c) => `\`${c.provider}\``)
    return `| ${category} | ${providers.join(', ') || '—'} | ${commandsOfCategory(category)} |`
  })
  return [
    'The delivery commands read one connector configuration file; the history, dashboard and verify commands do not read it.',
    '',
    '## The file',
    '',
    '| question | answer |',
    '|---|---|',
    `| where | \`--config PATH\` (\`-c\`), else the environment variable \`CAVRA_CONNECTOR_CONFIG\`, else \`${DEFAULT_CONFIG_PATH}\` (relative to the working directory) |`,
    '| format | YAML when the name ends in `.yaml` or `.yml` (duplicate keys are an error), JSON otherwise |',
    '| top level | `{"connectors": {NAME: SETTINGS, …}}`; `$schema` may sit beside `connectors`. Files of the earlier tool load too: `providers` instead of `connectors`, or the bare map of connectors |',
    `| schema | [\`${SCHEMA_PATH}\`](../${SCHEMA_PATH}) (JSON Schema 2020-12, from the same definitions as this page); [\`${EXAMPLE_CONFIG}\`](../${EXAMPLE_CONFIG}) shows every provider |`,
    '| validation | strict: an unknown key, a wrong type or a value out of range is an error naming the connector, the key and its JSON path (exit 3). Every entry whose provider is known is validated, enabled or not |',
    '',
    '```json',
    '{',
    '  "connectors": {',
    '    "splunk": { "url_env": "SPLUNK_HEC_URL", "token_env": "SPLUNK_HEC_TOKEN", "index": "cavra" },',
    '    "splunk-eu": { "provider": "splunk", "url_env": "SPLUNK_EU_HEC_URL", "token_env": "SPLUNK_EU_HEC_TOKEN" },',
    '    "slack": { "url_env": "SLACK_WEBHOOK_URL", "enabled": false }',
    '  }',
    '}',
    '```',
    '',
    '## Connector names and providers',
    '',
    '- Each key under `connectors` is a **connector name**. `provider` says which kind of connector it is and defaults to the name, so `"splunk": {…}` is a Splunk connector and `"splunk-eu": {"provider": "splunk", …}` is a second one.',
    '- A name whose provider is not a known kind is an error, unless the entry has `"enabled": false` (then it is ignored).',
    '- `--provider` (`-p`) takes connector names or provider kinds, repeated or comma-separated, or `all`. A kind selects every enabled connector of that kind. Without `--provider`, or with `all`, a command uses every enabled connector whose category it sends to. Naming a disabled connector, an unknown one, or one of a category the command does not send to is an error (exit 3).',
    '',
    '| category | providers | commands that send to it |',
    '|---|---|---|',
    ...byCategory,
    '',
    '## Values from the environment or a file',
    '',
    '| form | meaning |',
    '|---|---|',
    '| `X` | the value itself |',
    '| `X_env` | the name of an environment variable holding the value (a name matching `[A-Za-z_][A-Za-z0-9_]*`); a variable that is unset or empty is an error |',
    '| `X_file` | a file holding the value; a relative path is read from the folder of the configuration file; one trailing newline is removed |',
    '',
    '- Text settings (strings and choices) accept all three forms; numbers, booleans, lists and maps only `X`. The tables below say which forms each key takes.',
    `- Path settings (${pathKeys.join(', ')}) take \`X\` or \`X_env\` (a variable holding the path), never \`X_file\`: the value already names a file. A relative path is resolved from the folder of the configuration file. The file must be a readable regular file; a \`ca_file\` must hold at least one PEM certificate (\`-----BEGIN CERTIFICATE-----\`), which is added to the system's trust roots, not put in their place.`,
    '- Setting two forms of one key (`token` and `token_env`) is an error.',
    '- A value read from the environment or a file is validated like a literal one (a `mode_env` variable must hold one of the allowed modes).',
    '- Only the connectors a command selects are resolved: an unset variable of another connector does not stop it. Problems are reported for all selected connectors at once, before anything is sent (exit 3).',
    '',
    '## Secrets',
    '',
    `- The keys marked **secret** below, and \`url\` for ${secretUrls.join(', ')} (whose URL is itself a credential), belong in \`X_env\` or \`X_file\`. A secret written in the file still works, but every command that selects the connector prints a warning on standard error (\`connector NAME: KEY is written in FILE; use KEY_env or KEY_file so the secret stays out of the file.\`) and records it in the \`warnings\` of the evidence.`,
    '- Every resolved secret value, the values of `token`, `authorization` and `api_key` in any connector that has them, and the parts of configured URLs that are credentials on their own (long query values, user-info) are registered for redaction: they are replaced by `REDACTED` in evidence files, the metadata store, standard output and standard error (see [evidence.md](evidence.md#redaction)).',
    '- The header named by `api_key_header` is redacted in recorded requests, like every header whose name contains `key`, `token`, `secret`, `signature` or `auth`.',
    '',
    '## Timeouts, retries and precedence',
    '',
    '| setting | from | default |',
    '|---|---|---|',
    `| per-attempt timeout | the connector's \`timeout_seconds\`, else \`--timeout SECONDS\` | ${DEFAULT_TIMEOUT_SECONDS} s |`,
    `| extra attempts after the first | the connector's \`retries\`, else \`--retries N\` | ${DEFAULT_RETRIES} |`,
    `| total budget of the command | \`--deadline SECONDS\` only; no attempt starts after it, and an attempt's timeout is cut to what is left | ${DEFAULT_DEADLINE_SECONDS} s |`,
    '',
    "A connector's own `timeout_seconds` and `retries` win over the command's flags; the flags apply to connectors that do not set them.",
    '',
    '## Proxies and certificate authorities',
    '',
    '- Every request honours `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (the lower-case names are read too, and win when both are set).',
    "- `ca_file` adds a PEM bundle to the trust roots for that connector's requests (for a TLS-intercepting proxy or a private CA); the system roots stay trusted.",
    '',
  ]
}

function commonSecret(key: string, connectors: readonly AnyConnector[]): string {
  if (key !== 'url') return ''
  const secretUrls = connectors.filter((c) => c.urlIsSecret).map((c) => `\`${c.provider}\``)
  return secretUrls.length > 0 ? `for ${secretUrls.join(', ')}` : ''
}

function providerSection(connector: AnyConnector): string[] {
  const own = connector.settings() as z.ZodRawShape
  const rows: Record<string, z.ZodType> = {}
  // The URL of some connectors is a credential; show it among their keys so it reads as one.
  if (connector.urlIsSecret && !('url' in own)) rows.url = commonSettings().url
  Object.assign(rows, own)
  const secrets = new Set<string>([...connector.secrets, ...(connector.urlIsSecret ? ['url'] : [])])
  const out = [
    `## ${connector.provider}`,
    '',
    `**${connector.title}**, category \`${connector.category}\`, used by ${commandsFor(connector)}. Vendor reference: <${connector.docs}>.`,
    '',
  ]
  if (connector.urlIsSecret) {
    out.push(
      'The URL is a credential: keep it in `url_env` or `url_file`. Recorded requests show only its scheme and host.',
      '',
    )
  }
  const ownKeys = Object.keys(own)
  if (ownKeys.length === 0) {
    out.push('It has no keys of its own, only the [common keys](#common-keys).', '')
  }
  if (Object.keys(rows).length > 0) {
    out.push(...settingsTable(rows, (key) => (secrets.has(key) ? 'yes' : '')), '')
  }
  return out
}

function settingsTable(shape: z.ZodRawShape, secret: (key: string) => string): string[] {
  return [
    '| key | type | also as | secret | description |',
    '|---|---|---|---|---|',
    ...Object.entries(shape).map(([key, value]) => {
      const schema = value as z.ZodType
      const forms =
        variantsOf(key, schema, shape)
          .slice(1)
          .map((variant) => `\`${variant}\``)
          .join(', ') || '—'
      return `| \`${key}\` | ${cell(typeOf(jsonSchemaOf(schema)))} | ${forms} | ${secret(key)} | ${cell(schema.description ?? '')} |`
    }),
  ]
}

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as JsonSchema
}

/** A short reading of a JSON Schema for the type column: `integer, 0 to 10`, `one of a, b`. */
export function typeOf(schema: JsonSchema): string {
  const choices = choicesOf(schema)
  if (choices) return `one of ${choices.map((value) => `\`${JSON.stringify(value)}\``).join(', ')}`
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as JsonSchema[]).map(typeOf).join(' or ')
  switch (schema.type) {
    case 'string':
      return typeof schema.pattern === 'string' ? `string matching \`${schema.pattern}\`` : 'string'
    case 'number':
    case 'integer':
      return `${schema.type}${bounds(schema)}`
    case 'boolean':
      return 'boolean'
    case 'array':
      return `list of ${plural(typeOf((schema.items ?? {}) as JsonSchema))}`
    case 'object': {
      const values = schema.additionalProperties
      return values && typeof values === 'object'
        ? `map of ${plural(typeOf(values as JsonSchema))}`
        : 'object'
    }
    default:
      return 'any'
  }
}

/** The values of an enum, a const, or a union made only of those. */
function choicesOf(schema: JsonSchema): unknown[] | undefined {
  if (Array.isArray(schema.enum)) return schema.enum as unknown[]
  if ('const' in schema) return [schema.const]
  if (!Array.isArray(schema.anyOf)) return undefined
  const all: unknown[] = []
  for (const branch of schema.anyOf as JsonSchema[]) {
    const values = choicesOf(branch)
    if (!values) return undefined
    all.push(...values)
  }
  return all
}

function bounds(schema: JsonSchema): string {
  const parts: string[] = []
  const safe = (value: unknown): value is number =>
    typeof value === 'number' && Math.abs(value) < Number.MAX_SAFE_INTEGER
  if (safe(schema.minimum)) parts.push(`≥ ${schema.minimum}`)
  if (safe(schema.exclusiveMinimum)) parts.push(`> ${schema.exclusiveMinimum}`)
  if (safe(schema.maximum)) parts.push(`≤ ${schema.maximum}`)
  if (safe(schema.exclusiveMaximum)) parts.push(`< ${schema.exclusiveMaximum}`)
  return parts.length > 0 ? ` ${parts.join(' and ')}` : ''
}

/** `string` → `strings`; anything longer is parenthesised: `(integer > 0 or string …)`. */
function plural(type: string): string {
  if (/^(string|integer|number|boolean)$/.test(type)) return `${type}s`
  return `(${type})`
}

function commandsOfCategory(category: string): string {
  const commands = Object.values(DELIVERY_KINDS)
    .filter((kind) => (kind.categories as readonly string[]).includes(category))
    .map((kind) => `\`cavra ${kind.command}\``)
  return commands.join(', ') || '—'
}

function commandsFor(connector: AnyConnector): string {
  return commandsOfCategory(connector.category)
}

/** Table cells: no raw pipes or line breaks. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}
