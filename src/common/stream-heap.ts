/**
 * Keeps a long stream's memory flat: a bundle of 300,000 decisions should need no more memory
 * than one of 100,000, since both hold the same working set (a window of the file and one
 * batch). Two things in V8 grew with the stream instead; `keepStreamHeapFlat`, called once per
 * window after the first few, deals with both.
 */

/**
 * V8 doubles its young generation each time the bytes that survive scavenges add up to its
 * size, so a stream of 300,000 decisions ended with twice the young generation of a stream of
 * 100,000 (and 20% more peak memory). Once the young generation has reached 8 MB (4 MB
 * semi-spaces; V8's default maximum on 64-bit is 32 MB), it stops growing: beyond that it only
 * postponed scavenges, and the bulk delivery is as fast with it held (`npm run bench`).
 *
 * The growth factor is a V8 flag read each time the young generation is resized
 * (`--semi-space-growth-factor`, `node --v8-options`, present in Node 20 and 24); the
 * semi-space maximum itself is fixed when the heap is made, so it cannot be set from here.
 */
const HELD_AT_BYTES = 8 * 1024 * 1024

let held = false

/** After the young generation has reached its hold size, does nothing. */
export function holdYoungGeneration(spaces = heapSpaces()): void {
  if (held) return
  const young = spaces.find((space) => space.space_name === 'new_space')
  if (young === undefined || young.space_size < HELD_AT_BYTES) return
  v8().setFlagsFromString('--semi-space-growth-factor=1')
  held = true
}

/**
 * V8's JSON parser puts every one-byte string value shorter than 10 characters in the string
 * table (`kMaxInternalizedStringValueLength`, deps/v8/src/json/json-parser.cc), and those
 * strings live in the old generation, which only a full collection clears. A decision's short
 * values (an id such as `dec-41877`, a short host or user name) are parsed at each reading,
 * so the old generation grew by about 4 MB per 100,000 decisions; V8 starts a full collection only
 * when the old generation reaches a limit it sets from the heap at the previous one, which a
 * stream of 300,000 decisions never reached. Here a full collection runs whenever the old
 * generation has grown by 4 MB, or by half its size after the last one (so a heap that really
 * grows is collected less and less often, never once per 4 MB): a few milliseconds each, a
 * handful per 100 MB of bundle.
 *
 * The collector is reached as Jest does for --logHeapUsage: `--expose-gc` set at run time
 * takes effect for contexts made afterwards, and a new context's `gc` collects the whole
 * heap. Nothing happens until a stream has read enough to call this.
 */
const COLLECT_AFTER_BYTES = 4 * 1024 * 1024

let collect: (() => void) | undefined
let oldAfterCollection: number | undefined

export function collectOldGarbage(spaces = heapSpaces()): void {
  const oldNow = oldGenerationBytes(spaces)
  if (oldAfterCollection === undefined) {
    oldAfterCollection = oldNow
    return
  }
  if (oldNow - oldAfterCollection < Math.max(COLLECT_AFTER_BYTES, oldAfterCollection / 2)) return
  if (collect === undefined) {
    v8().setFlagsFromString('--expose-gc')
    collect = process.getBuiltinModule('node:vm').runInNewContext('gc') as () => void
  }
  collect()
  oldAfterCollection = oldGenerationBytes(heapSpaces())
}

/** Called once per window of a long stream, after the first few: one look at the heap for both. */
export function keepStreamHeapFlat(): void {
  const spaces = heapSpaces()
  holdYoungGeneration(spaces)
  collectOldGarbage(spaces)
}

type HeapSpaces = ReturnType<typeof import('node:v8').getHeapSpaceStatistics>

// node:v8 is loaded here, not at start-up: most commands never stream enough to get here.
function v8(): typeof import('node:v8') {
  return process.getBuiltinModule('node:v8')
}

function heapSpaces(): HeapSpaces {
  return v8().getHeapSpaceStatistics()
}

function oldGenerationBytes(spaces: HeapSpaces): number {
  return spaces.find((space) => space.space_name === 'old_space')?.space_used_size ?? 0
}
