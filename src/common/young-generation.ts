/**
 * Keeps a long stream's memory flat. V8 doubles its young generation each time the bytes that
 * survive scavenges add up to its size, so a stream of 300,000 decisions ended with twice the
 * young generation of a stream of 100,000 (and 20% more peak memory), though both hold the same
 * working set: a window of the file and one batch. Once the young generation has reached 8 MB
 * (4 MB semi-spaces; V8's default maximum on 64-bit is 32 MB), it stops growing: beyond that it
 * only postponed scavenges, and the bulk delivery is as fast with it held (`npm run bench`).
 *
 * The growth factor is a V8 flag read each time the young generation is resized
 * (`--semi-space-growth-factor`, `node --v8-options`, present in Node 20 and 24); the
 * semi-space maximum itself is fixed when the heap is made, so it cannot be set from here.
 */

const HELD_AT_BYTES = 8 * 1024 * 1024

let held = false

/** Called as a stream advances; after the young generation has reached its hold size, does nothing. */
export function holdYoungGeneration(): void {
  if (held) return
  // Loaded here, not at start-up: most commands never stream enough to get here.
  const v8 = process.getBuiltinModule('node:v8')
  const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')
  if (young === undefined || young.space_size < HELD_AT_BYTES) return
  v8.setFlagsFromString('--semi-space-growth-factor=1')
  held = true
}
