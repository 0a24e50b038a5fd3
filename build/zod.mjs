// The vendor bundle of zod (dist/vendor/zod.cjs): zod itself, told not to generate parsers at
// run time (`jitless`). A CLI parses each schema a few times at most (a configuration entry,
// an event header), so compiling a specialised parser with `new Function` on first use, out of
// reach of the code cache, costs more than it saves. The results are the same either way.
//
// Bundled from zod's ES modules, not its CommonJS files: esbuild hoists ES modules into one
// scope, where each CommonJS file would copy every name it re-exports, one property at a time.
import { z } from 'zod'

z.config({ jitless: true })

export { z }
