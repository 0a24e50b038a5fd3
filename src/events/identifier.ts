import { z } from 'zod'
import { once } from '../common/once.js'
import { hasControl } from '../common/text.js'

/**
 * An identifier from an artifact (an event id, an event type, an export id): it names files,
 * store items and records at the vendors, and is printed in terminals and CI logs, so it may
 * not hold control characters or escape sequences.
 */
/** The identifier schema, built on first use (a delivery whose event plainly fits builds none). */
export const identifier = once(() =>
  z
    .string()
    .min(1)
    .refine((value) => !hasControl(value), 'must not contain control characters or escape sequences'),
)
