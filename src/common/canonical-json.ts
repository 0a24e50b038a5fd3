/**
 * Canonical JSON (RFC 8785 / JCS) for the values cavra produces: object keys sorted by UTF-16
 * code units, no whitespace, numbers and strings serialised as ECMAScript does (which is what
 * JCS prescribes). Used for event identity and the metadata hash chain.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value)
    // undefined, functions and symbols have no JSON form; JCS has no place for them either.
    return text === undefined ? 'null' : text
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort()
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`
}
