/**
 * A value built on its first use and kept: the schemas a run may never need (connector
 * settings, event and identifier schemas) are built this way, not when their modules load.
 */
export function once<T>(build: () => T): () => T {
  let value: T | undefined
  let built = false
  return () => {
    if (!built) {
      value = build()
      built = true
    }
    return value as T
  }
}
