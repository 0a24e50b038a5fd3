import { constants } from 'node:fs'
import { dirname } from 'node:path'
import { StoreError } from '../common/errors.js'
import { access, appendFile, stat } from '../common/files.js'
import { fsReason } from '../common/fs-errors.js'
import { stripControl } from '../common/text.js'
import type { DeliveryResult } from '../delivery/evidence-types.js'
import { DeliveryStepReport, failureAnnotations, formatStepOutputs, type Scrub } from './github-actions.js'
import { emitWorkflowCommand } from './output.js'

/**
 * The files a GitHub Actions runner gives each step (`GITHUB_OUTPUT` for step outputs,
 * `GITHUB_STEP_SUMMARY` for the job summary). The runner creates them; cavra only appends.
 * A path that cannot take the append is an I/O problem (exit 5) that names the variable, the
 * path and why; a delivery checks both before it sends anything.
 */

export type StepFileVariable = 'GITHUB_OUTPUT' | 'GITHUB_STEP_SUMMARY'

export interface StepFile {
  variable: StepFileVariable
  path: string
}

/** The runner's files named by the environment (an empty variable counts as unset). */
export function stepFilesFrom(env: NodeJS.ProcessEnv): { output?: StepFile; summary?: StepFile } {
  const file = (variable: StepFileVariable): StepFile | undefined => {
    const path = env[variable]
    return path ? { variable, path } : undefined
  }
  return { output: file('GITHUB_OUTPUT'), summary: file('GITHUB_STEP_SUMMARY') }
}

/**
 * Checks that `file` can be appended to, without creating or changing anything: an existing
 * file must be writable and not a folder; a missing one needs a writable folder to be created in.
 */
export async function assertStepFileWritable(file: StepFile): Promise<void> {
  const info = await stat(file.path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined
    throw stepFileError(file, fsReason(error))
  })
  if (info?.isDirectory()) throw stepFileError(file, 'it is a folder')
  const target = info ? file.path : dirname(file.path)
  await access(target, constants.W_OK).catch((error) => {
    throw stepFileError(file, info ? fsReason(error) : `its folder: ${fsReason(error)}`)
  })
}

/**
 * Appends `text` to the runner's file. `done` says what already happened, for the error:
 * "the delivery ran (its outcome and evidence are above)".
 */
export async function appendStepFile(file: StepFile, text: string, done: string): Promise<void> {
  await appendFile(file.path, text, 'utf8').catch((error) => {
    throw stepFileError(file, fsReason(error), done)
  })
}

function stepFileError(file: StepFile, why: string, done?: string): StoreError {
  const what = file.variable === 'GITHUB_OUTPUT' ? 'step outputs' : 'the step summary'
  const path = stripControl(file.path)
  const message = done
    ? `${done}, but ${what} could not be appended to ${file.variable} (${path}): ${why}.`
    : `${file.variable} is ${path}, where ${what} cannot be appended (${why}); nothing was sent.`
  return new StoreError(message, [
    `In GitHub Actions, leave ${file.variable} to the runner; elsewhere, unset it or point it at a writable file whose folder exists.`,
  ])
}

/**
 * A delivery command's conversation with the runner: the runner's files are checked before
 * anything is sent, each failed connector becomes an `::error` annotation as its event's
 * result arrives, and the step outputs and summary are appended once every event is delivered.
 */
export class GithubActionsStep {
  private constructor(
    private readonly files: { output?: StepFile; summary?: StepFile },
    private readonly report: DeliveryStepReport,
    private readonly annotations: NodeJS.WriteStream | undefined,
    private readonly scrub: Scrub,
  ) {}

  /**
   * Undefined outside GitHub Actions. `annotations` is the stream for workflow commands
   * (standard error when standard output holds the JSON document).
   */
  static async open(
    env: NodeJS.ProcessEnv,
    command: string,
    scrub: Scrub,
    annotations: NodeJS.WriteStream,
  ): Promise<GithubActionsStep | undefined> {
    const files = stepFilesFrom(env)
    const annotate = env.GITHUB_ACTIONS === 'true'
    if (!files.output && !files.summary && !annotate) return undefined
    for (const file of [files.output, files.summary]) if (file) await assertStepFileWritable(file)
    return new GithubActionsStep(
      files,
      new DeliveryStepReport(command, scrub),
      annotate ? annotations : undefined,
      scrub,
    )
  }

  delivered(result: DeliveryResult, evidencePath: string | null): void {
    this.report.add(result, evidencePath)
    if (!this.annotations) return
    for (const line of failureAnnotations(result, this.scrub)) emitWorkflowCommand(this.annotations, line)
  }

  async finish(): Promise<void> {
    const done = 'the delivery ran (its outcome and evidence are above)'
    if (this.files.output)
      await appendStepFile(this.files.output, formatStepOutputs(this.report.outputs()), done)
    if (this.files.summary) await appendStepFile(this.files.summary, this.report.summaryMarkdown(), done)
  }
}
