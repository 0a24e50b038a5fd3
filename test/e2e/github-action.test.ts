import { cpSync, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { Stack } from '../emulators/stack.js'
import { CANARY, canaryStackSecrets, leakedCanaries } from '../support/canaries.js'
import { PROJECT_ROOT, runCli } from '../support/cli.js'
import {
  type ActionRun,
  loadAction,
  parseWorkflowCommand,
  runCompositeAction,
  workflowCommandLines,
} from '../support/github-runner.js'
import { useStack } from '../support/harness.js'
import { SIEM_EVENT, Workspace } from '../support/workspace.js'

/**
 * The composite action (action.yml) run step by step as the runner runs it, against the
 * vendor emulators: its outputs, the job summary and the annotations as a runner reads them,
 * with failing connectors, hostile event ids and canary secrets; then the example workflow.
 */

const stack = new Stack({ ...canaryStackSecrets(), webhookPath: CANARY.webhookPath })
let ws: Workspace

useStack(stack, () => ws)

const ROLLBACK_ID = 'rre_b83f10c6d2a1'
/**
 * A receiver that refuses, echoing its own secret URL and signing secret as some do, with
 * workflow commands and escape sequences of its own in the body.
 */
const ECHOING_REFUSAL = {
  kind: 'status',
  status: 500,
  body: [
    `Cannot POST ${CANARY.webhookPath}: signature key ${CANARY.webhookSecret} rejected`,
    '::warning title=forged::all good',
    '\u001b[2K\r\u001b[32mok\u001b[0m ##[group]fake',
  ].join('\n'),
} as const

function setUp(): void {
  ws = new Workspace('cavra-action-')
  ws.write('release/.cavra/connectors.json', { connectors: stack.connectors() })
  ws.copy('examples/release/rollout-rollback-execution.json', 'release/rollout-rollback-execution.json')
}

function action(inputs: Record<string, string>): Promise<ActionRun> {
  return runCompositeAction({
    actionPath: PROJECT_ROOT,
    workspace: ws.dir,
    inputs,
    env: stack.env(),
    // On a cache hit the install step only checks that cavra is built, which the test setup did.
    usesOutputs: { cache: { 'cache-hit': 'true' } },
  })
}

/** `${{ name }}`, as action.yml spells an expression. */
function expression(name: string): string {
  return `\${{ ${name} }}`
}

/** Nothing the runner saw or kept holds a planted secret. */
function expectNoLeaks(run: ActionRun): void {
  for (const [where, text] of Object.entries({
    stdout: run.stdout,
    stderr: run.stderr,
    summary: run.summary,
    outputs: JSON.stringify(run.outputs),
  })) {
    expect(leakedCanaries(text), `secret leaked into the action's ${where}`).toEqual([])
  }
}

describe('action.yml', () => {
  it('passes every input to the script through the environment, never into its text', () => {
    setUp()
    const definition = loadAction(join(PROJECT_ROOT, 'action.yml'))
    expect(definition.runs.using).toBe('composite')
    expect(Object.keys(definition.inputs)).toEqual([
      'command',
      'args',
      'config',
      'provider',
      'metadata-json',
      'allow-failure',
      'working-directory',
    ])
    expect(Object.keys(definition.outputs)).toEqual([
      'success',
      'evidence-file',
      'failed-connectors',
      'event-id',
    ])
    for (const step of definition.runs.steps) {
      if (step.run !== undefined) expect(step.run, `step ${step.name}`).not.toContain('${{')
    }
    const setupNode = definition.runs.steps.find((step) => step.uses?.startsWith('actions/setup-node@'))
    expect(setupNode?.with).toEqual({ 'node-version': '20' })
    const cache = definition.runs.steps.find((step) => step.uses?.startsWith('actions/cache@'))
    expect(cache?.with?.path).toBe(`${expression('github.action_path')}/node_modules`)
    expect(cache?.with?.key).toContain(expression('steps.lockfile.outputs.sha256'))
    const install = definition.runs.steps.find((step) => step.id === 'install')!
    expect(install.run).toContain('npm ci')
    expect(install.run).toContain('npm run build')
  })

  it('delivers a rollback, sets the outputs, summarises it and annotates the failed connector', async () => {
    setUp()
    stack.webhook.inject(ECHOING_REFUSAL, 100)
    const run = await action({
      command: 'release deliver-rollback-execution',
      args: 'rollout-rollback-execution.json --retries 0',
      provider: 'splunk,jira,webhook',
      'metadata-json': '.cavra/evidence/metadata.json',
      'allow-failure': 'true',
      'working-directory': 'release',
    })
    expect(run.code, run.stderr).toBe(0)
    // The lockfile's hash reached the cache key through the step's own output.
    const lockHash = run.steps.find((step) => step.step.id === 'lockfile')!.outputs.get('sha256')
    expect(lockHash).toMatch(/^[0-9a-f]{64}$/)
    expect(run.steps.find((step) => step.step.id === 'cache')!.with!.key).toBe(
      `cavra-node_modules-Linux-X64-node20-${lockHash}`,
    )

    expect(run.outputs).toEqual({
      success: 'false',
      'evidence-file': expect.stringMatching(
        /^\.cavra\/release\/rollback-deliveries\/rre_b83f10c6d2a1-\d{8}T\d{6}Z-connector-delivery\.json$/,
      ),
      'failed-connectors': 'webhook',
      'event-id': ROLLBACK_ID,
    })
    const evidence = JSON.parse(readFileSync(join(ws.dir, 'release', run.outputs['evidence-file']!), 'utf8'))
    expect(
      evidence.deliveries.map((d: { provider: string; success: boolean }) => [d.provider, d.success]),
    ).toEqual([
      ['splunk', true],
      ['jira', true],
      ['webhook', false],
    ])
    expect(existsSync(join(ws.dir, 'release', '.cavra/evidence/metadata.json'))).toBe(true)
    expect(stack.splunk.events.length).toBeGreaterThan(0)
    expect(stack.jira.issues).toHaveLength(1)

    const commands = workflowCommandLines(run.stdout + run.stderr)
    expect(commands).toHaveLength(1)
    const annotation = parseWorkflowCommand(commands[0]!)
    expect(annotation).toMatchObject({ command: 'error', properties: { title: 'cavra webhook' } })
    expect(annotation.message).toContain(
      `cavra.rollout_rollback_execution ${ROLLBACK_ID} was not delivered to webhook`,
    )
    expect(annotation.message).toContain('REDACTED')

    const summary = run.summary.split('\n')
    expect(summary[0]).toBe(`### ❌ cavra release deliver-rollback-execution: ${ROLLBACK_ID}`)
    expect(summary).toContain('| Connector | Kind | Outcome | Attempts | Reference or error |')
    expect(summary.find((line) => line.startsWith('| splunk |'))).toContain('✅ delivered')
    expect(summary.find((line) => line.startsWith('| jira |'))).toMatch(/✅ delivered \| \d \| SEC-1 \|$/)
    expect(summary.find((line) => line.startsWith('| webhook |'))).toContain('❌ failed (500)')
    expectNoLeaks(run)
  })

  it('fails the step with exit 1 without allow-failure, and still sets the outputs', async () => {
    setUp()
    stack.webhook.inject(ECHOING_REFUSAL, 100)
    const run = await action({
      command: 'release deliver-rollback-execution',
      args: 'rollout-rollback-execution.json --retries 0 --no-metadata',
      provider: 'webhook',
      'working-directory': 'release',
    })
    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({
      success: 'false',
      'failed-connectors': 'webhook',
      'event-id': ROLLBACK_ID,
    })
    expectNoLeaks(run)
  })

  it('keeps hostile event ids exact in the outputs and inert in the summary and the annotations', async () => {
    setUp()
    const event = JSON.parse(readFileSync(join(PROJECT_ROOT, SIEM_EVENT), 'utf8'))
    const ids = ['ev\n::error title=forged::pwned\nsuccess=true', 'ev %0A %25 ##[warning]x :: , <b>|</b>']
    ws.write(
      'release/events.jsonl',
      `${ids.map((id) => JSON.stringify({ ...event, event_id: id })).join('\n')}\n`,
    )
    stack.webhook.inject(ECHOING_REFUSAL, 100)
    const run = await action({
      command: 'integration deliver',
      args: 'events.jsonl --retries 0',
      provider: 'splunk,webhook',
      'allow-failure': 'true',
      'working-directory': 'release',
    })
    expect(run.code, run.stderr).toBe(0)
    expect(run.outputs['event-id']).toBe(ids.join(','))
    expect(run.outputs.success).toBe('false')
    expect(run.outputs['failed-connectors']).toBe('webhook')
    expect(run.outputs['evidence-file']!.split('\n')).toHaveLength(2)
    // Only cavra's own annotations are workflow commands, one per event, each carrying its id exactly.
    const commands = workflowCommandLines(run.stdout + run.stderr).map(parseWorkflowCommand)
    expect(commands.map((command) => [command.command, command.properties])).toEqual([
      ['error', { title: 'cavra webhook' }],
      ['error', { title: 'cavra webhook' }],
    ])
    for (const [index, id] of ids.entries()) {
      expect(commands[index]!.message).toContain(
        `cavra.evidence_bundle ${id.replace('##[', '# #[')} was not delivered`,
      )
    }
    // Two headings, whatever the ids hold; no HTML and no forged cell.
    const headings = run.summary.split('\n').filter((line) => line.startsWith('#'))
    expect(headings).toEqual([
      '### ❌ cavra integration deliver: ev ::error title=forged::pwned success=true',
      '### ❌ cavra integration deliver: ev %0A %25 ##\\[warning\\]x :: , &lt;b&gt;\\|&lt;/b&gt;',
    ])
    expect(run.summary).not.toContain('<b>')
    expectNoLeaks(run)
  })

  it('reports an endpoint export publication the same way', async () => {
    setUp()
    cpSync(join(PROJECT_ROOT, 'examples/endpoint-export/stable'), ws.path('release/export/stable'), {
      recursive: true,
    })
    stack.fleet.inject({ kind: 'status', status: 503, body: 'down' }, 100)
    const run = await action({
      command: 'release deliver-endpoint-export',
      args: 'export/stable/endpoint-management-export-manifest.json --retries 0 --no-metadata',
      provider: 'jamf,linux',
      'allow-failure': 'true',
      'working-directory': 'release',
    })
    expect(run.code, run.stderr).toBe(0)
    expect(run.outputs).toMatchObject({ success: 'false', 'failed-connectors': 'linux' })
    const evidence = JSON.parse(readFileSync(join(ws.dir, 'release', run.outputs['evidence-file']!), 'utf8'))
    expect(run.outputs['event-id']).toBe(evidence.event_id)
    expect(run.summary.split('\n')[0]).toBe(
      `### ❌ cavra release deliver-endpoint-export: ${evidence.event_id}`,
    )
    expect(workflowCommandLines(run.stdout).map(parseWorkflowCommand)).toMatchObject([
      { command: 'error', properties: { title: 'cavra linux' } },
    ])
    expectNoLeaks(run)
  })

  it('prints one JSON document on stdout under --json, the annotations going to stderr', async () => {
    setUp()
    stack.webhook.inject(ECHOING_REFUSAL, 100)
    const run = await action({
      command: 'release deliver-rollback-execution',
      args: 'rollout-rollback-execution.json --retries 0 --no-metadata --json',
      provider: 'splunk,webhook',
      'allow-failure': 'true',
      'working-directory': 'release',
    })
    expect(run.code, run.stderr).toBe(0)
    const deliver = run.steps.find((step) => step.step.id === 'cavra')!
    expect(JSON.parse(deliver.stdout)).toMatchObject({ event_id: ROLLBACK_ID, success: false })
    expect(workflowCommandLines(deliver.stdout)).toEqual([])
    expect(workflowCommandLines(deliver.stderr).map(parseWorkflowCommand)).toMatchObject([
      { command: 'error', properties: { title: 'cavra webhook' } },
    ])
    expectNoLeaks(run)
  })

  it('passes inputs as literal words: quotes group, nothing is expanded or run', async () => {
    setUp()
    ws.copy('examples/release/rollout-rollback-execution.json', 'release/roll back $(touch pwned).json')
    const run = await action({
      command: 'release deliver-rollback-execution',
      args: `"roll back $(touch pwned).json" '--retries' 0 --no-metadata`,
      config: '.cavra/connectors.json"; touch pwned; echo "',
      'working-directory': 'release',
    })
    // The config input is a path like any other: one that does not exist is exit 3.
    expect(run.code).toBe(3)
    expect(run.stderr).toContain('.cavra/connectors.json"; touch pwned; echo "')
    expect(existsSync(join(ws.dir, 'release', 'pwned'))).toBe(false)

    const quoted = await action({
      command: 'release deliver-rollback-execution',
      args: `"roll back $(touch pwned).json" --retries 0 --no-metadata`,
      provider: 'splunk',
      'working-directory': 'release',
    })
    expect(quoted.code, quoted.stderr).toBe(0)
    expect(quoted.outputs.success).toBe('true')
    expect(existsSync(join(ws.dir, 'release', 'pwned'))).toBe(false)
  })

  it('refuses a command input that is not a command, an unbalanced quote and a bad allow-failure', async () => {
    setUp()
    for (const [inputs, message] of [
      [{ command: 'release; touch pwned' }, 'the command input holds something other than a cavra command'],
      [
        { command: 'release deliver-rollback-execution', args: '"unbalanced' },
        'the args input has an unbalanced quote',
      ],
      [
        { command: 'release deliver-rollback-execution', 'allow-failure': 'yes' },
        'allow-failure input must be true or false',
      ],
    ] as const) {
      const run = await action({ ...inputs, 'working-directory': 'release' })
      expect(run.code).toBe(2)
      expect(workflowCommandLines(run.stdout).map(parseWorkflowCommand)).toMatchObject([
        {
          command: 'error',
          properties: { title: 'cavra action' },
          message: expect.stringContaining(message),
        },
      ])
    }
    expect(existsSync(join(ws.dir, 'release', 'pwned'))).toBe(false)
    expect(stack.emulators.every((emulator) => emulator.requests.length === 0)).toBe(true)
  })
})

describe('the runner files outside the action', () => {
  const rollback = (env: Record<string, string>) =>
    runCli(
      [
        'release',
        'deliver-rollback-execution',
        'release/rollout-rollback-execution.json',
        '--config',
        'release/.cavra/connectors.json',
        '--provider',
        'splunk',
        '--no-metadata',
      ],
      { cwd: ws.dir, env: { ...stack.env(), ...env } },
    )

  it('reports a GITHUB_OUTPUT it cannot append to before sending anything (exit 5)', async () => {
    setUp()
    const run = await rollback({ GITHUB_OUTPUT: join(ws.dir, 'missing', 'output') })
    expect(run.code).toBe(5)
    expect(run.stderr).toContain(
      `GITHUB_OUTPUT is ${join(ws.dir, 'missing', 'output')}, where step outputs cannot be appended (its folder: no such file or folder, ENOENT); nothing was sent.`,
    )
    expect(run.stderr).toContain('leave GITHUB_OUTPUT to the runner')
    const folder = await rollback({ GITHUB_STEP_SUMMARY: join(ws.dir, 'release') })
    expect(folder.code).toBe(5)
    expect(folder.stderr).toContain(
      'where the step summary cannot be appended (it is a folder); nothing was sent.',
    )
    expect(stack.emulators.every((emulator) => emulator.requests.length === 0)).toBe(true)
    expect(existsSync(join(ws.dir, '.cavra'))).toBe(false)
  })

  it('appends to files the runner already wrote to, and writes nothing on a dry run', async () => {
    setUp()
    const output = ws.write('runner/output', 'earlier=1\n')
    const summary = ws.write('runner/summary.md', '# Earlier step\n')
    const run = await rollback({ GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary })
    expect(run.code, run.stderr).toBe(0)
    expect(readFileSync(output, 'utf8')).toMatch(/^earlier=1\nsuccess=true\n/)
    expect(readFileSync(summary, 'utf8')).toMatch(
      /^# Earlier step\n### ✅ cavra release deliver-rollback-execution: /,
    )
    const before = [readFileSync(output, 'utf8'), readFileSync(summary, 'utf8')]
    const dryRun = await runCli(
      [
        'release',
        'deliver-rollback-execution',
        'release/rollout-rollback-execution.json',
        '--config',
        'release/.cavra/connectors.json',
        '--dry-run',
      ],
      { cwd: ws.dir, env: { ...stack.env(), GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary } },
    )
    expect(dryRun.code).toBe(0)
    expect([readFileSync(output, 'utf8'), readFileSync(summary, 'utf8')]).toEqual(before)
  })
})

describe('the example workflow', () => {
  it('delivers the rollback and publishes the dashboard to the job summary, even after a failure', async () => {
    ws = new Workspace('cavra-example-')
    const workflow = parseYaml(
      readFileSync(join(PROJECT_ROOT, 'examples/github-actions/rollback-audit.yml'), 'utf8'),
    )
    const job = workflow.jobs.deliver
    ws.copy('examples/github-actions/cavra-connectors.json', '.github/cavra-connectors.json')
    ws.copy('examples/release/rollout-rollback-execution.json', 'release/rollout-rollback-execution.json')
    // The job passes every variable the example configuration reads.
    const config = readFileSync(join(PROJECT_ROOT, 'examples/github-actions/cavra-connectors.json'), 'utf8')
    const read = [...config.matchAll(/"[a-z_]+_env": "([A-Z_]+)"/g)].map((match) => match[1])
    expect(Object.keys(job.env).sort()).toEqual([...new Set(read)].sort())

    stack.slack.inject({ kind: 'status', status: 500, body: 'internal_error' }, 100)
    const env = Object.fromEntries(Object.keys(job.env).map((name) => [name, stack.env()[name]!]))
    const runs: ActionRun[] = []
    for (const step of job.steps as { uses?: string; if?: string; with?: Record<string, string> }[]) {
      if (!step.uses?.startsWith('acme/cavra@')) continue
      // A step without if: always() runs only while every earlier one succeeded.
      if (runs.some((run) => run.code !== 0) && step.if !== 'always()') continue
      runs.push(
        await runCompositeAction({
          actionPath: PROJECT_ROOT,
          workspace: ws.dir,
          inputs: step.with ?? {},
          env,
          usesOutputs: { cache: { 'cache-hit': 'true' } },
        }),
      )
    }
    expect(runs).toHaveLength(2)
    const [rollback, dashboard] = runs as [ActionRun, ActionRun]
    expect(rollback.code).toBe(1)
    expect(rollback.outputs).toMatchObject({
      success: 'false',
      'failed-connectors': 'slack',
      'event-id': ROLLBACK_ID,
    })
    expect(stack.splunk.events.length).toBeGreaterThan(0)
    expect(stack.servicenow.tables.get('change_request')).toHaveLength(1)
    expect(dashboard.code, dashboard.stderr).toBe(0)
    const summary = rollback.summary + dashboard.summary
    expect(summary).toContain(`### ❌ cavra release deliver-rollback-execution: ${ROLLBACK_ID}`)
    expect(summary).toContain('## cavra connector deliveries: 🔴 critical')
    expect(summary).toContain('| slack | slack | failing |')
    expect(workflowCommandLines(dashboard.stdout).map(parseWorkflowCommand)).toMatchObject([
      { command: 'error', properties: { title: 'cavra connector deliveries' } },
    ])
    for (const run of runs) expectNoLeaks(run)
  })
})
