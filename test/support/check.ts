import { expect } from 'vitest'
import { Redactor } from '../../src/delivery/redact.js'
import { type CheckReport, type ConnectorCheck, runCheck } from '../../src/flow/check-connectors.js'
import type { IntegrationRegistry } from '../../src/metadata/integration-registry.js'
import { leakedCanaries } from './canaries.js'
import { Workspace } from './workspace.js'

/**
 * Runs `integration check` through the real flow in-process (config file, selection,
 * resolution, each connector's probe, the undici transport, the emulators) and scans the
 * report for the planted canaries.
 */
export async function checkInProcess(options: {
  connectors: Record<string, unknown>
  env: Record<string, string>
  providers?: string[]
  registry?: IntegrationRegistry
  timeoutMs?: number
}): Promise<CheckReport> {
  const ws = new Workspace()
  try {
    const report = await runCheck({
      configPath: ws.write('connectors.json', { connectors: options.connectors }),
      providers: options.providers ?? [],
      timeoutMs: options.timeoutMs ?? 5000,
      env: options.env,
      redactor: new Redactor(),
      registry: options.registry,
      warn: () => {},
    })
    expect(leakedCanaries(JSON.stringify(report)), 'secret leaked into a check report').toEqual([])
    return report
  } finally {
    ws.remove()
  }
}

/** The one check of a report that checked one connector. */
export function onlyCheck(report: CheckReport): ConnectorCheck {
  expect(report.checks).toHaveLength(1)
  return report.checks[0]!
}
