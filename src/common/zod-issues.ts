import type { z } from 'zod'

/** `$.decisions[3].severity` from a zod path, below an optional base path. */
export function jsonPath(path: readonly PropertyKey[], base = '$'): string {
  let text = base
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(segment))) text += `.${String(segment)}`
    else text += `[${JSON.stringify(String(segment))}]`
  }
  return text
}

/** One readable line per issue: the JSON path, what was expected, and what was found. */
export function describeIssue(issue: z.core.$ZodIssue, base = '$'): string {
  const where = jsonPath(issue.path, base)
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((key) => JSON.stringify(key)).join(', ')
    return `${where}: unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}`
  }
  if (issue.code === 'invalid_type' && 'input' in issue && issue.input === undefined) {
    return `${where}: is required (expected ${issue.expected})`
  }
  const found = 'input' in issue && issue.input !== undefined ? `, found ${preview(issue.input)}` : ''
  return `${where}: ${lowerFirst(issue.message)}${issue.message.includes('received') ? '' : found}`
}

function preview(value: unknown): string {
  const text = JSON.stringify(value)
  if (text === undefined) return String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

function lowerFirst(text: string): string {
  return text.length > 0 ? text[0]!.toLowerCase() + text.slice(1) : text
}
