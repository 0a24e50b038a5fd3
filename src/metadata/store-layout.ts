import { canonicalJson } from '../common/canonical-json.js'
import type { StoreItem } from './chain.js'

/**
 * The on-disk layout of `metadata.json`: one JSON document that standard tools read, written
 * so that an append touches only the end of the file:
 *
 *     {"schema_version":"cavra.evidence.metadata.v1","product":"CAVRA","items":[
 *     {…item 1, canonical JSON…}
 *     ,{…item 2…}
 *     ]}
 *
 * Each item sits on its own line as its canonical JSON (sorted keys, no white space), which
 * is also what its record_hash covers, so readers check the chain without re-serialising.
 * The separating comma leads the next line, so an append overwrites only the closing `]}\n`
 * with `,<item>\n]}\n` and never touches a byte of the items before it: a write cut short
 * leaves every earlier line whole.
 */

export const METADATA_SCHEMA = 'cavra.evidence.metadata.v1'
/** The document's last line. */
export const CLOSING = ']}\n'

/** The first line: the document's own fields, then the opening of `items`. */
export function headerLine(fields: Record<string, unknown> = {}): string {
  const { items: _items, schema_version: _schema, product: _product, ...extra } = fields
  const members = Object.keys(extra)
    .filter((key) => extra[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(extra[key])}`)
  // The two well-known fields lead, for people reading the file; fields an older document
  // carried are kept.
  return `{${[`"schema_version":${JSON.stringify(METADATA_SCHEMA)}`, '"product":"CAVRA"', ...members, '"items":['].join(',')}`
}

/** The document fields of a header line, or undefined when the line is not one. */
export function parseHeaderLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{') || !line.endsWith('"items":[')) return undefined
  try {
    const value = JSON.parse(`${line}]}`) as unknown
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {
    // Not a header: an older layout.
  }
  return undefined
}

/** An item as the line the store holds. */
export function itemLine(item: StoreItem): string {
  return canonicalJson(item)
}

/** A whole document in this layout, for a store written at once. */
export function wholeDocument(lines: readonly string[], fields?: Record<string, unknown>): string {
  return `${headerLine(fields)}\n${lines.map((line, index) => `${index > 0 ? ',' : ''}${line}\n`).join('')}${CLOSING}`
}

/** An item line as read: the JSON text without the separating comma, and the parsed item. */
export function parseItemLine(
  line: string,
): { text: string; item: StoreItem; leadingComma: boolean } | undefined {
  const leadingComma = line.startsWith(',')
  const text = leadingComma ? line.slice(1) : line
  if (!text.startsWith('{')) return undefined
  try {
    const value = JSON.parse(text) as unknown
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return { text, item: value as StoreItem, leadingComma }
    }
  } catch {
    // Not a whole item (a torn tail, or damage).
  }
  return undefined
}
