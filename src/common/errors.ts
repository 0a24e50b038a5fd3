import { ExitCode } from './exit-codes.js'

/**
 * An error the user can act on: what is wrong (message), where (file, JSON path, connector),
 * and what to do (actions). Thrown for bad input, configuration and store problems;
 * a delivery that a destination refuses is an outcome, never a CavraError.
 */
export abstract class CavraError extends Error {
  abstract readonly exitCode: ExitCode
  abstract readonly code: string
  readonly actions: string[]

  constructor(message: string, actions: string[] = []) {
    super(message)
    this.actions = actions
  }
}

/** Thrown when a flag or argument is malformed in a way oclif cannot catch itself. */
export class UsageError extends CavraError {
  override readonly name = 'UsageError' as const
  readonly exitCode = ExitCode.usage
  readonly code = 'usage'
}

/** Thrown when the connector configuration is missing, invalid, or names something unknown or unset. */
export class ConfigError extends CavraError {
  override readonly name = 'ConfigError' as const
  readonly exitCode = ExitCode.config
  readonly code = 'config'
}

/** Thrown when an input artifact cannot be read, parsed or validated, before anything is sent. */
export class InputError extends CavraError {
  override readonly name = 'InputError' as const
  readonly exitCode = ExitCode.input
  readonly code = 'input'
}

/** Thrown when the metadata store is damaged, unwritable, or its lock cannot be obtained. */
export class StoreError extends CavraError {
  override readonly name = 'StoreError' as const
  readonly exitCode = ExitCode.store
  readonly code = 'store'
}

export function isCavraError(error: unknown): error is CavraError {
  return error instanceof CavraError
}
