/** Severity scale of SPEC §4.1, lowest first. */
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const
export type Severity = (typeof SEVERITIES)[number]

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity)
}

export function isSeverity(value: unknown): value is Severity {
  return typeof value === 'string' && (SEVERITIES as readonly string[]).includes(value)
}

/** Accepts the common spellings a producer may use ("HIGH", "informational", "warn"). */
export function normaliseSeverity(value: unknown): Severity | undefined {
  if (typeof value !== 'string') return undefined
  const lower = value.trim().toLowerCase()
  if (isSeverity(lower)) return lower
  if (lower === 'informational' || lower === 'information') return 'info'
  if (lower === 'warning' || lower === 'warn') return 'medium'
  if (lower === 'crit' || lower === 'fatal' || lower === 'emergency') return 'critical'
  return undefined
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b
}
