import { Chalk, type ChalkInstance } from 'chalk'
import { neutraliseWorkflowCommands } from '../common/text.js'
import type { Redactor } from '../delivery/redact.js'

/**
 * Terminal output: colour only where it helps (a TTY, unless NO_COLOR; FORCE_COLOR wins),
 * and a last-line-of-defence guard on stdout and stderr, whoever writes (oclif, listr2, or
 * cavra itself): every secret of the run is scrubbed, and no line can start a GitHub Actions
 * workflow command unless cavra emits it on purpose (`emitWorkflowCommand`).
 */

export function colourFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): ChalkInstance {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return new Chalk({ level: 1 })
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return noColour
  return stream.isTTY ? new Chalk({ level: 1 }) : noColour
}

/**
 * No colour, as a Chalk of level 0 gives it: each style (chained or not) joins its arguments
 * with spaces and adds nothing. Output that is not a terminal (every CI log, every file) needs
 * no more, and chalk, which builds its style tables as it loads, is loaded only for colour
 * (the bundle gives chalk a stand-in that loads it on first use).
 */
function plainText(...text: unknown[]): string {
  return text.length === 1 ? `${text[0]}` : text.join(' ')
}
export const noColour: ChalkInstance = new Proxy(plainText as unknown as ChalkInstance, {
  get: (_target, key) => (key === 'level' ? 0 : noColour),
})

type Write = NodeJS.WriteStream['write']

const guarded = new WeakMap<NodeJS.WriteStream, Write>()
let emittingWorkflowCommand = false

/** Routes every write to stdout and stderr through `redactor.scrub`. Idempotent. */
export function installSecretGuard(redactor: Redactor, streams = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    if (guarded.has(stream)) {
      continue
    }
    const original = stream.write.bind(stream) as Write
    guarded.set(stream, original)
    const scrubbing = ((chunk: unknown, ...rest: unknown[]) => {
      const inert = (text: string) =>
        emittingWorkflowCommand ? redactor.scrub(text) : neutraliseWorkflowCommands(redactor.scrub(text))
      let safe = chunk
      if (typeof chunk === 'string') safe = inert(chunk)
      else if (chunk instanceof Uint8Array) {
        const text = Buffer.from(chunk).toString('utf8')
        const cleaned = inert(text)
        if (cleaned !== text) safe = cleaned
      }
      return (original as (...args: unknown[]) => boolean)(safe, ...rest)
    }) as Write
    stream.write = scrubbing
  }
}

/**
 * Writes one workflow command line (`::error title=…::…`) that the guard lets through;
 * its data must already be escaped by the caller.
 */
export function emitWorkflowCommand(stream: NodeJS.WriteStream, line: string): void {
  emittingWorkflowCommand = true
  try {
    stream.write(`${line.replace(/[\r\n]/g, ' ')}\n`)
  } finally {
    emittingWorkflowCommand = false
  }
}

/** Pads cells so columns line up; widths ignore ANSI colour codes. */
export function table(rows: string[][], gap = '  '): string {
  const visible = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '').length
  const widths: number[] = []
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, visible(cell))
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visible(cell))))
        .join(gap)
        .trimEnd(),
    )
    .join('\n')
}
