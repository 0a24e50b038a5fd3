// The vendor bundle of zod (dist/vendor/zod.cjs): the part of zod cavra uses, told not to
// generate parsers at run time (`jitless`). A CLI parses each schema a few times at most (a
// configuration entry, an event header), so compiling a specialised parser with `new Function`
// on first use, out of reach of the code cache, costs more than it saves. The results are the
// same either way.
//
// `z` here holds only the members cavra's code reads (test/unit/zod-entry.test.ts fails when
// the code uses one it lacks), so esbuild leaves out the schema kinds, formats and helpers
// nothing reaches: less to read, deserialize and run when zod loads. Bundled from zod's ES
// modules, not its CommonJS files, which esbuild cannot prune and which copy every name they
// re-export one property at a time.
import {
  array,
  boolean,
  coerce,
  config,
  enum as enumOf,
  int,
  iso,
  literal,
  looseObject,
  number,
  object,
  record,
  strictObject,
  string,
  toJSONSchema,
  union,
  unknown,
  ZodDefault,
  ZodEnum,
  ZodNullable,
  ZodObject,
  ZodOptional,
  ZodString,
  ZodType,
} from 'zod'

config({ jitless: true })

export const z = {
  array,
  boolean,
  coerce,
  enum: enumOf,
  int,
  iso,
  literal,
  looseObject,
  number,
  object,
  record,
  strictObject,
  string,
  toJSONSchema,
  union,
  unknown,
  ZodDefault,
  ZodEnum,
  ZodNullable,
  ZodObject,
  ZodOptional,
  ZodString,
  ZodType,
}
