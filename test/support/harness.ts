import { afterAll, afterEach, beforeAll } from 'vitest'
import { REGISTRY } from '../../src/connectors/index.js'
import type { DeliveryEvent } from '../../src/events/event.js'
import type { Emulator } from '../emulators/emulator.js'
import type { Stack } from '../emulators/stack.js'
import { expectNoLeaksUnder } from './cli.js'
import { deliverInProcess, type InProcessOptions } from './deliver.js'
import type { Workspace } from './workspace.js'

/**
 * The setup every connector test file shares: its emulators on loopback for the file, left
 * idle and reset after each test (so a late request of one test never lands in the next), and
 * a delivery to one connector through the real flow.
 */

/** Starts the emulators before the suite's tests, waits for them and resets them after each test. */
export function useEmulators(...emulators: Emulator[]): void {
  beforeAll(async () => {
    await Promise.all(emulators.map((emulator) => emulator.start()))
  })
  afterEach(async () => {
    await Promise.all(emulators.map((emulator) => emulator.idle()))
    for (const emulator of emulators) emulator.reset()
  })
  afterAll(async () => {
    await Promise.all(emulators.map((emulator) => emulator.stop()))
  })
}

/** A connector's entry in the configuration file, the environment it reads, and its usual event. */
export interface ConnectorTarget {
  /** The provider's settings; secrets and URLs as `_env` keys. */
  settings: Record<string, unknown>
  env: Record<string, string>
  /** The event delivered when a test names none (the sample evidence bundle otherwise). */
  event?: () => Promise<DeliveryEvent>
}

export type Deliver = (
  settings?: Record<string, unknown>,
  extra?: Partial<InProcessOptions>,
) => ReturnType<typeof deliverInProcess>

/**
 * Delivers to the one connector `provider` (configured under its own name, in its registered
 * category): `settings` are merged over the target's (`undefined` removes a key), `extra.env`
 * over its environment and the rest of `extra` over the delivery's options. `target` is read at
 * each delivery, after the emulators have started and have their URLs.
 */
export function deliveryTo(provider: string, target: () => ConnectorTarget): Deliver {
  const connector = REGISTRY.get(provider)
  if (!connector) throw new Error(`no registered connector is named ${provider}`)
  return async (settings = {}, extra = {}) => {
    const { settings: base, env, event } = target()
    return deliverInProcess({
      connectors: { [provider]: { ...base, ...settings } },
      categories: [connector.category],
      ...extra,
      env: { ...env, ...extra.env },
      event: extra.event ?? (event ? await event() : undefined),
    })
  }
}

/**
 * The end-to-end lifecycle of a file that runs the built CLI against the whole stack: the
 * receivers start once; after each test they settle, the test's workspace is scanned for the
 * planted canaries and removed, and the receivers forget what they stored.
 */
export function useStack(stack: Stack, workspace: () => Workspace | undefined): void {
  beforeAll(async () => {
    await stack.start()
  })
  afterAll(async () => {
    await stack.stop()
  })
  afterEach(async () => {
    await stack.idle()
    const ws = workspace()
    if (ws) {
      expectNoLeaksUnder(ws.dir)
      ws.remove()
    }
    stack.reset()
  })
}
