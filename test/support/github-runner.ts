import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'

/**
 * How a GitHub Actions runner reads what a step leaves it, written from GitHub's documented
 * formats ("Workflow commands for GitHub Actions": setting an output parameter, multiline
 * strings, escaping) and independent of cavra's code, so the tests check cavra against the
 * runner and not against itself.
 */

/**
 * The step outputs of a `$GITHUB_OUTPUT` file: `name=value` lines (the first `=` ends the
 * name, unless a `<<` comes before it), and `name<<DELIMITER` followed by the value's lines up
 * to a line that is exactly `DELIMITER`. A CR before an LF belongs to the line break; empty
 * lines between outputs are skipped; a later output of the same name wins.
 */
export function parseGithubOutput(text: string): Map<string, string> {
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''))
  if (lines.at(-1) === '') lines.pop()
  const outputs = new Map<string, string>()
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line === '') continue
    const equals = line.indexOf('=')
    const heredoc = line.indexOf('<<')
    if (equals >= 0 && (heredoc < 0 || equals < heredoc)) {
      const name = line.slice(0, equals)
      if (name === '') throw new Error(`line ${i + 1}: an output without a name`)
      outputs.set(name, line.slice(equals + 1))
      continue
    }
    if (heredoc < 0) throw new Error(`line ${i + 1}: neither name=value nor name<<DELIMITER: ${line}`)
    const name = line.slice(0, heredoc)
    const delimiter = line.slice(heredoc + 2)
    if (name === '' || delimiter === '')
      throw new Error(`line ${i + 1}: a heredoc without a name or delimiter`)
    const value: string[] = []
    for (i++; ; i++) {
      if (i >= lines.length) throw new Error(`output ${name}: no line ends its delimiter ${delimiter}`)
      if (lines[i] === delimiter) break
      value.push(lines[i]!)
    }
    outputs.set(name, value.join('\n'))
  }
  return outputs
}

export interface WorkflowCommand {
  command: string
  properties: Record<string, string>
  message: string
}

/** `::command key=value,key=value::message`, with the percent escapes decoded. */
export function parseWorkflowCommand(line: string): WorkflowCommand {
  if (!line.startsWith('::')) throw new Error(`not a workflow command: ${line}`)
  const end = line.indexOf('::', 2)
  if (end < 0) throw new Error(`a workflow command without its closing :: ${line}`)
  const head = line.slice(2, end)
  const space = head.indexOf(' ')
  const command = space < 0 ? head : head.slice(0, space)
  const properties: Record<string, string> = {}
  if (space >= 0) {
    for (const pair of head.slice(space + 1).split(',')) {
      const equals = pair.indexOf('=')
      if (equals <= 0) throw new Error(`a property without a name: ${pair}`)
      properties[pair.slice(0, equals)] = decodeEscapes(pair.slice(equals + 1))
    }
  }
  return { command, properties, message: decodeEscapes(line.slice(end + 2)) }
}

/** Every line of `text` a runner would take as a workflow command (`::` opening it, `##[` anywhere). */
export function workflowCommandLines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => /^\s*::/.test(line) || line.includes('##['))
}

function decodeEscapes(text: string): string {
  const codes: Record<string, string> = { '%25': '%', '%0D': '\r', '%0A': '\n', '%3A': ':', '%2C': ',' }
  return text.replace(/%25|%0D|%0A|%3A|%2C/gi, (code) => codes[code.toUpperCase()]!)
}

/** A step of a composite action (`runs.steps[*]`), as far as the local runner reads it. */
export interface ActionStep {
  name?: string
  id?: string
  uses?: string
  with?: Record<string, string>
  run?: string
  shell?: string
  env?: Record<string, string>
  'working-directory'?: string
  if?: string
}

export interface ActionDefinition {
  inputs: Record<string, { description?: string; required?: boolean; default?: string }>
  outputs: Record<string, { description?: string; value: string }>
  runs: { using: string; steps: ActionStep[] }
}

export function loadAction(path: string): ActionDefinition {
  return parseYaml(readFileSync(path, 'utf8')) as ActionDefinition
}

export interface StepRun {
  step: ActionStep
  /** null for a `uses:` step, which the local runner does not run. */
  code: number | null
  stdout: string
  stderr: string
  outputs: Map<string, string>
  summary: string
  /** A `uses:` step's `with:`, substituted. */
  with?: Record<string, string>
}

export interface ActionRun {
  /** The exit code of the step that failed, else 0. */
  code: number
  outputs: Record<string, string>
  steps: StepRun[]
  stdout: string
  stderr: string
  /** The job summary: every step's `$GITHUB_STEP_SUMMARY`, in order. */
  summary: string
}

export interface ActionRunOptions {
  /** The action's folder (`github.action_path`), holding `action.yml`. */
  actionPath: string
  /** `GITHUB_WORKSPACE`: relative working directories are resolved against it. */
  workspace: string
  inputs: Record<string, string>
  /** The job's environment (a workflow's `env:`, secrets included). */
  env?: Record<string, string>
  /** The outputs of the `uses:` steps, which are not run, by step id. */
  usesOutputs?: Record<string, Record<string, string>>
}

/**
 * Runs a composite action's steps as the runner does: `${{ … }}` expressions substituted
 * (inputs with their defaults, `github.*`, `runner.*`, `steps.<id>.outputs.*`), each `run:`
 * step as a script file given to `bash --noprofile --norc -eo pipefail` (the runner's `bash`
 * shell) with a `GITHUB_OUTPUT` and a `GITHUB_STEP_SUMMARY` of its own, read after the step;
 * the first failing step stops the action. `uses:` steps are skipped. An expression it does
 * not know is an error, so an action cannot pass by using something this runner ignores.
 */
export async function runCompositeAction(options: ActionRunOptions): Promise<ActionRun> {
  const action = loadAction(join(options.actionPath, 'action.yml'))
  for (const name of Object.keys(options.inputs)) {
    if (!(name in action.inputs)) throw new Error(`the action has no input ${name}`)
  }
  for (const [name, input] of Object.entries(action.inputs)) {
    if (input.required && !options.inputs[name]) throw new Error(`input required and not supplied: ${name}`)
  }
  const steps: Record<string, Map<string, string>> = {}
  for (const [id, outputs] of Object.entries(options.usesOutputs ?? {}))
    steps[id] = new Map(Object.entries(outputs))
  const evaluate = (expression: string): string => {
    const path = expression.trim().split('.')
    const [scope, ...rest] = path
    if (scope === 'inputs' && rest.length === 1) {
      const name = rest[0]!
      if (!(name in action.inputs)) throw new Error(`the action reads an undeclared input ${name}`)
      return options.inputs[name] ?? action.inputs[name]!.default ?? ''
    }
    if (expression.trim() === 'github.action_path') return options.actionPath
    if (expression.trim() === 'github.workspace') return options.workspace
    if (expression.trim() === 'runner.os') return 'Linux'
    if (expression.trim() === 'runner.arch') return 'X64'
    if (scope === 'steps' && rest.length === 3 && rest[1] === 'outputs')
      return steps[rest[0]!]?.get(rest[2]!) ?? ''
    throw new Error(`the local runner does not evaluate \${{ ${expression} }}`)
  }
  const substitute = (text: string) =>
    text.replace(/\$\{\{(.*?)\}\}/g, (_, expression: string) => evaluate(expression))

  const temp = mkdtempSync(join(tmpdir(), 'cavra-runner-'))
  const run: ActionRun = { code: 0, outputs: {}, steps: [], stdout: '', stderr: '', summary: '' }
  try {
    for (const [index, step] of action.runs.steps.entries()) {
      if (step.if !== undefined) throw new Error(`the local runner does not evaluate if: ${step.if}`)
      if (step.uses !== undefined) {
        const inputs = Object.fromEntries(
          Object.entries(step.with ?? {}).map(([name, value]) => [name, substitute(String(value))]),
        )
        run.steps.push({
          step,
          code: null,
          stdout: '',
          stderr: '',
          outputs: new Map(),
          summary: '',
          with: inputs,
        })
        continue
      }
      if (step.shell !== 'bash' || step.run === undefined)
        throw new Error(`step ${index}: only shell: bash run steps`)
      const script = join(temp, `step-${index}.sh`)
      const outputFile = join(temp, `output-${index}`)
      const summaryFile = join(temp, `summary-${index}`)
      writeFileSync(script, substitute(step.run))
      writeFileSync(outputFile, '')
      writeFileSync(summaryFile, '')
      const env: Record<string, string> = {
        PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
        HOME: process.env.HOME ?? temp,
        CI: 'true',
        GITHUB_ACTIONS: 'true',
        GITHUB_WORKSPACE: options.workspace,
        GITHUB_ACTION_PATH: options.actionPath,
        GITHUB_OUTPUT: outputFile,
        GITHUB_STEP_SUMMARY: summaryFile,
        RUNNER_TEMP: temp,
        ...options.env,
      }
      for (const [name, value] of Object.entries(step.env ?? {})) env[name] = substitute(String(value))
      const cwd = resolve(options.workspace, substitute(step['working-directory'] ?? '.'))
      const result = await spawnBash(script, cwd, env)
      const outputs = parseGithubOutput(readFileSync(outputFile, 'utf8'))
      if (step.id) steps[step.id] = outputs
      const summary = readFileSync(summaryFile, 'utf8')
      run.steps.push({
        step,
        code: result.code,
        stdout: result.stdout,
        stderr: result.stderr,
        outputs,
        summary,
      })
      run.stdout += result.stdout
      run.stderr += result.stderr
      run.summary += summary
      if (result.code !== 0) {
        run.code = result.code
        break
      }
    }
    for (const [name, output] of Object.entries(action.outputs)) run.outputs[name] = substitute(output.value)
  } finally {
    rmSync(temp, { recursive: true, force: true })
  }
  return run
}

function spawnBash(
  script: string,
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  child.stdout.on('data', (chunk) => stdout.push(chunk))
  child.stderr.on('data', (chunk) => stderr.push(chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  return new Promise((resolveRun) =>
    child.on('close', (code) => {
      clearTimeout(timer)
      resolveRun({
        code: code ?? -1,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      })
    }),
  )
}
