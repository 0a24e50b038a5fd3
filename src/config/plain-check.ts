import type { z } from 'zod'
import { isJsonObject } from '../common/json-value.js'
import { ENV_NAME, type SettingForm, settingForm, variantsOfForm } from './entry-shape.js'

/**
 * A check of connector settings that needs no zod: the rules of each setting's schema, taken
 * from the schema itself (`describeSettings`) at build time, where they are compiled into the
 * connector catalog, and checked here against an entry. A value that fits its rule fits the
 * schema; for anything else, and for a setting whose schema has a rule this check does not know
 * (a refinement, a URL format, a transform), the answer is "not plainly", and the caller asks
 * zod, which decides and names the problem. Building a provider's schemas (with their `_env`
 * and `_file` forms) and loading zod took about 8 ms of every delivery; this check takes
 * microseconds. test/unit/plain-check.test.ts holds it to zod's answers.
 */

export type PlainRule =
  | { type: 'string'; min?: number; max?: number; patterns?: { source: string; flags: string }[] }
  | { type: 'number'; integer?: boolean; above?: Bound; below?: Bound }
  | { type: 'boolean' }
  | { type: 'values'; values: (string | number | boolean | null)[] }
  | { type: 'record'; value: PlainRule }
  | { type: 'array'; element: PlainRule }
  | { type: 'any-of'; options: PlainRule[] }

interface Bound {
  value: number
  inclusive: boolean
}

/** One setting: its key, the forms it may take in a file, and its rule (null: only zod can tell). */
export interface PlainSetting {
  key: string
  form: SettingForm
  rule: PlainRule | null
}

/** The settings of a shape, in its order, with the rule of each. */
export function describeSettings(shape: z.ZodRawShape): PlainSetting[] {
  return Object.entries(shape).map(([key, schema]) => ({
    key,
    form: settingForm(schema as z.ZodType),
    rule: optionalRule(schema as z.ZodType),
  }))
}

/** Every connector setting is optional (requiredness is the connector's own check). */
function optionalRule(schema: z.ZodType): PlainRule | null {
  const def = schema._zod.def as { type: string; innerType?: z.ZodType }
  return def.type === 'optional' && def.innerType ? ruleOf(def.innerType) : null
}

interface CheckDef {
  check: string
  minimum?: number
  maximum?: number
  format?: string
  pattern?: RegExp
  value?: number
  inclusive?: boolean
}

function ruleOf(schema: z.ZodType): PlainRule | null {
  const def = schema._zod.def as unknown as {
    type: string
    checks?: { _zod: { def: CheckDef } }[]
    coerce?: boolean
    entries?: Record<string, string | number>
    values?: unknown[]
    options?: z.ZodType[]
    keyType?: z.ZodType
    valueType?: z.ZodType
    element?: z.ZodType
  }
  const checks = (def.checks ?? []).map((check) => check._zod.def)
  if (def.coerce) return null
  switch (def.type) {
    case 'string': {
      const rule: Extract<PlainRule, { type: 'string' }> = { type: 'string' }
      for (const check of checks) {
        if (check.check === 'min_length') rule.min = Math.max(rule.min ?? 0, check.minimum!)
        else if (check.check === 'max_length') rule.max = Math.min(rule.max ?? Infinity, check.maximum!)
        // A regex or a format zod checks by its pattern alone (email): the pattern decides.
        else if (
          check.check === 'string_format' &&
          (check.format === 'regex' || check.format === 'email') &&
          check.pattern
        )
          rule.patterns = [
            ...(rule.patterns ?? []),
            { source: check.pattern.source, flags: check.pattern.flags },
          ]
        else return null
      }
      return rule
    }
    case 'number': {
      const rule: Extract<PlainRule, { type: 'number' }> = { type: 'number' }
      for (const check of checks) {
        if (check.check === 'number_format' && check.format === 'safeint') rule.integer = true
        else if (check.check === 'greater_than' && rule.above === undefined)
          rule.above = { value: check.value!, inclusive: check.inclusive! }
        else if (check.check === 'less_than' && rule.below === undefined)
          rule.below = { value: check.value!, inclusive: check.inclusive! }
        else return null
      }
      return rule
    }
    case 'boolean':
      return checks.length === 0 ? { type: 'boolean' } : null
    case 'enum':
      return checks.length === 0 && def.entries
        ? { type: 'values', values: Object.values(def.entries) }
        : null
    case 'literal':
      return checks.length === 0 && def.values?.every(isPrimitive)
        ? { type: 'values', values: def.values as (string | number | boolean | null)[] }
        : null
    case 'union': {
      const options = (def.options ?? []).map(ruleOf)
      return checks.length === 0 && options.length > 0 && options.every((option) => option !== null)
        ? { type: 'any-of', options: options as PlainRule[] }
        : null
    }
    case 'record': {
      const key = def.keyType ? ruleOf(def.keyType) : null
      const value = def.valueType ? ruleOf(def.valueType) : null
      // Keys of parsed JSON are strings: only a key schema with no rule of its own is plain.
      const plainKey =
        key?.type === 'string' && key.min === undefined && key.max === undefined && !key.patterns
      return checks.length === 0 && plainKey && value ? { type: 'record', value } : null
    }
    case 'array': {
      const element = def.element ? ruleOf(def.element) : null
      return checks.length === 0 && element ? { type: 'array', element } : null
    }
    default:
      return null
  }
}

function isPrimitive(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value)
}

const patterns = new Map<string, RegExp>()
function patternOf({ source, flags }: { source: string; flags: string }): RegExp {
  const key = `${flags}/${source}`
  let pattern = patterns.get(key)
  if (!pattern) {
    pattern = new RegExp(source, flags.replace(/[gy]/g, ''))
    patterns.set(key, pattern)
  }
  return pattern
}

/** Whether `value` fits `rule` (as the schema the rule was taken from would say). */
export function fitsRule(value: unknown, rule: PlainRule): boolean {
  switch (rule.type) {
    case 'string':
      return (
        typeof value === 'string' &&
        (rule.min === undefined || value.length >= rule.min) &&
        (rule.max === undefined || value.length <= rule.max) &&
        (rule.patterns ?? []).every((pattern) => patternOf(pattern).test(value))
      )
    case 'number':
      return (
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (!rule.integer || Number.isSafeInteger(value)) &&
        (rule.above === undefined ||
          (rule.above.inclusive ? value >= rule.above.value : value > rule.above.value)) &&
        (rule.below === undefined ||
          (rule.below.inclusive ? value <= rule.below.value : value < rule.below.value))
      )
    case 'boolean':
      return typeof value === 'boolean'
    case 'values':
      return rule.values.includes(value as string)
    case 'record':
      return isJsonObject(value) && Object.values(value).every((item) => fitsRule(item, rule.value))
    case 'array':
      return Array.isArray(value) && value.every((item) => fitsRule(item, rule.element))
    case 'any-of':
      return rule.options.some((option) => fitsRule(value, option))
  }
}

/**
 * Whether a connector entry as written in the file (settings and their `_env` / `_file` forms)
 * plainly fits the provider's entry schema. False means: ask the schema.
 */
export function entryPlainlyFits(raw: Record<string, unknown>, settings: readonly PlainSetting[]): boolean {
  const keys = new Set(settings.map((setting) => setting.key))
  const rules = new Map<string, (value: unknown) => boolean>()
  for (const setting of settings) {
    const { rule } = setting
    rules.set(setting.key, (value) => rule !== null && fitsRule(value, rule))
    for (const variant of variantsOfForm(setting.key, setting.form, keys).slice(1)) {
      rules.set(
        variant,
        variant.endsWith('_env')
          ? (value) => typeof value === 'string' && ENV_NAME.test(value)
          : (value) => typeof value === 'string' && value.length >= 1,
      )
    }
  }
  return Object.entries(raw).every(([key, value]) => rules.get(key)?.(value) === true)
}

/** Whether settings with every `_env` / `_file` resolved plainly fit the provider's settings schema. */
export function settingsPlainlyFit(
  settings: Record<string, unknown>,
  described: readonly PlainSetting[],
): boolean {
  const byKey = new Map(described.map((setting) => [setting.key, setting.rule]))
  return Object.entries(settings).every(([key, value]) => {
    const rule = byKey.get(key)
    return rule != null && fitsRule(value, rule)
  })
}
