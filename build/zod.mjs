// The vendor bundle of zod (dist/vendor/zod.cjs): the part of zod cavra uses, told not to
// generate parsers at run time (`jitless`). A CLI parses each schema a few times at most (a
// configuration entry, an event header), so compiling a specialised parser with `new Function`
// on first use, out of reach of the code cache, costs more than it saves. The results are the
// same either way.
//
// `z` here holds only the members cavra's code reads (test/unit/zod-entry.test.ts fails when
// the code uses one it lacks), so esbuild leaves out the schema kinds, formats and helpers
// nothing reaches, and zod's messages in its 40-odd other languages (the English ones are
// zod's default): less to read, deserialize and run when zod loads. Bundled from zod's ES
// modules, not its CommonJS files, which esbuild cannot prune and which copy every name they
// re-export one property at a time.
import * as zod from 'zod'

zod.config({ jitless: true })

// Members named one by one: esbuild keeps what a namespace import reads by name, no more.
export const z = {
  array: zod.array,
  boolean: zod.boolean,
  coerce: zod.coerce,
  enum: zod.enum,
  int: zod.int,
  iso: zod.iso,
  literal: zod.literal,
  looseObject: zod.looseObject,
  number: zod.number,
  object: zod.object,
  record: zod.record,
  strictObject: zod.strictObject,
  string: zod.string,
  toJSONSchema: zod.toJSONSchema,
  union: zod.union,
  unknown: zod.unknown,
  ZodDefault: zod.ZodDefault,
  ZodEnum: zod.ZodEnum,
  ZodNullable: zod.ZodNullable,
  ZodObject: zod.ZodObject,
  ZodOptional: zod.ZodOptional,
  ZodString: zod.ZodString,
  ZodType: zod.ZodType,
}
