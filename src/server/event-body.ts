import { Readable } from 'node:stream'
import { InputError } from '../common/errors.js'
import type { DeliveryEvent } from '../events/event.js'
import type { EventSource } from '../flow/run-delivery.js'
import { integrationEvents } from '../flow/sources.js'
import { type IssueReport, unprocessable } from './problem.js'

/**
 * A request's `event`, read exactly like an event file: it is spooled to a private temp file
 * (mode 0600, removed afterwards) through the event source `cavra integration deliver -` uses,
 * validated completely, then streamed for delivery. Problems name their JSON path inside the
 * body (`$.event.max_severity`) and answer 422.
 */

/** What the event source calls a spooled stream in its messages. */
const SPOOLED = 'standard input'
const WHERE = /^standard input: line \d+: \$/

export async function eventFromBody(event: Record<string, unknown>): Promise<EventSource> {
  let source: EventSource
  try {
    source = await integrationEvents('-', Readable.from([Buffer.from(JSON.stringify(event), 'utf8')]))
  } catch (error) {
    if (error instanceof InputError) throw unprocessable([issueOf(error)])
    throw error
  }
  return {
    ...source,
    warnings: source.warnings.map((warning) => warning.replaceAll(SPOOLED, "the request's event")),
    // The event came in a request, not from a file anyone can read again: no source artifact.
    events: withoutSource(source.events),
  }
}

function issueOf(error: InputError): IssueReport {
  const message = error.message.replace(/\.$/, '')
  if (WHERE.test(message)) {
    const text = message.replace(WHERE, '$.event')
    const separator = text.indexOf(': ')
    return { path: separator > 0 ? text.slice(0, separator) : '$.event', message: text }
  }
  return { path: '$.event', message: `$.event: ${message.replace(`${SPOOLED}: `, '')}` }
}

async function* withoutSource(events: AsyncIterable<DeliveryEvent>): AsyncGenerator<DeliveryEvent> {
  for await (const event of events) yield { ...event, source: null }
}
