import { describe, expect, it } from 'vitest'
import {
  DeliveryStepReport,
  escapeWorkflowData,
  escapeWorkflowProperty,
  failureAnnotations,
  formatStepOutputs,
  SUMMARY_EVENT_LIMIT,
  workflowCommand,
} from '../../src/cli/github-actions.js'
import type { DeliveryRecord, DeliveryResult } from '../../src/delivery/evidence-types.js'
import { Redactor } from '../../src/delivery/redact.js'
import { CANARY, leakedCanaries } from '../support/canaries.js'
import { parseGithubOutput, parseWorkflowCommand } from '../support/github-runner.js'

/**
 * The text cavra gives a GitHub Actions runner, read back by parsers written from GitHub's
 * documented formats (test/support/github-runner.ts), not by cavra's own code: whatever a
 * value holds, the runner must read exactly that value and nothing more.
 */

const HOSTILE = [
  'plain-id_1.0',
  '',
  'two\nlines',
  'x\nsuccess=true',
  'x\nevent-id<<EOF\nforged\nEOF',
  'ghadelimiter_00000000-0000-0000-0000-000000000000',
  'ends with newline\n',
  '\nstarts with newline',
  'name=value=more',
  'a<<b',
  '%0A and %25 stay as typed',
  '::error::not a command',
  'tab\tand ünïcödé 🚀',
]

describe('step outputs in the $GITHUB_OUTPUT format', () => {
  it('reads back every value exactly, and no output a value tries to add', () => {
    const outputs: Record<string, string> = { success: 'true' }
    for (const [index, value] of HOSTILE.entries()) outputs[`value-${index}`] = value
    const parsed = parseGithubOutput(formatStepOutputs(outputs))
    expect(Object.fromEntries(parsed)).toEqual(outputs)
  })

  it('writes plain tokens as name=value and anything else in the heredoc form', () => {
    const text = formatStepOutputs({
      success: 'false',
      'failed-connectors': 'jira,webhook',
      'event-id': 'a\nb',
    })
    const lines = text.split('\n')
    expect(lines[0]).toBe('success=false')
    expect(lines[1]).toMatch(/^failed-connectors<<ghadelimiter_[0-9a-f-]{36}$/)
    expect(lines[4]).toMatch(/^event-id<<ghadelimiter_[0-9a-f-]{36}$/)
    // A fresh delimiter for each value: one value cannot learn the next one's.
    expect(lines[1]!.split('<<')[1]).not.toBe(lines[4]!.split('<<')[1])
  })

  it('never uses a delimiter that occurs in the value', () => {
    const guesses = ['EOF', 'EOF', 'OTHER']
    const text = formatStepOutputs({ 'event-id': 'x\nEOF\ny' }, () => guesses.shift()!)
    expect(text).toBe('event-id<<OTHER\nx\nEOF\ny\nOTHER\n')
    expect(parseGithubOutput(text).get('event-id')).toBe('x\nEOF\ny')
  })

  it('refuses a name the runner would misread (a bug, never user input)', () => {
    expect(() => formatStepOutputs({ 'a=b': 'x' })).toThrow(/not a step output name/)
  })
})

describe('workflow commands', () => {
  it('escapes data and properties so the runner reads back exactly the text', () => {
    for (const value of ['100% done\nnext', 'a::b, c:d', 'x%0Ay %0D', 'one\ntwo\n']) {
      const line = workflowCommand('error', { title: `cavra ${value}` }, value)
      expect(line.split('\n')).toHaveLength(1)
      expect(parseWorkflowCommand(line)).toEqual({
        command: 'error',
        properties: { title: `cavra ${value}` },
        message: value,
      })
    }
    expect(escapeWorkflowData('a%\r\nb')).toBe('a%25%0D%0Ab')
    expect(escapeWorkflowProperty('a%:,\nb')).toBe('a%25%3A%2C%0Ab')
  })

  it('drops a carriage return with the other control characters', () => {
    const line = workflowCommand('error', { title: 'cavra\r x' }, 'done\r\nnext')
    expect(parseWorkflowCommand(line)).toMatchObject({
      properties: { title: 'cavra x' },
      message: 'done\nnext',
    })
  })

  it('breaks up ##[ in the message and strips control characters', () => {
    const line = workflowCommand('warning', {}, 'see ##[error]fake \u001b[31mred\u0007')
    expect(line).toBe('::warning::see # #[error]fake red')
  })

  it('gives one ::error per failed connector, titled with the connector', () => {
    const result = resultOf('rb-1', [
      delivery('splunk', true),
      delivery('jira', false, 'HTTP 400: project SEC\nunknown'),
    ])
    const lines = failureAnnotations(result, (text) => text)
    expect(lines).toHaveLength(1)
    expect(parseWorkflowCommand(lines[0]!)).toEqual({
      command: 'error',
      properties: { title: 'cavra jira' },
      message:
        'cavra.rollout_rollback_execution rb-1 was not delivered to jira: HTTP 400: project SEC\nunknown',
    })
  })

  it('scrubs a secret before escaping, so no encoding of it survives', () => {
    const redactor = new Redactor()
    const secret = `${CANARY.jiraToken}%,:`
    redactor.addSecret(secret)
    const result = resultOf('rb-1', [delivery('jira', false, `401: token ${secret} refused`)])
    const [line] = failureAnnotations(result, (text) => redactor.scrub(text))
    expect(line).toContain('REDACTED')
    expect(leakedCanaries(line!)).toEqual([])
  })

  it('finds a secret split by a control character, which is stripped before scrubbing', () => {
    const redactor = new Redactor()
    redactor.addSecret(CANARY.jiraToken)
    const split = `${CANARY.jiraToken.slice(0, 6)}\u0007${CANARY.jiraToken.slice(6)}`
    const scrub = (text: string) => redactor.scrub(text)
    const result = resultOf(`rb-${split}`, [delivery('jira', false, `401: token ${split} refused`)])
    const [line] = failureAnnotations(result, scrub)
    const report = new DeliveryStepReport('cavra integration deliver', scrub)
    report.add(result, `/ev/${split}.json`)
    for (const text of [line!, report.summaryMarkdown(), formatStepOutputs(report.outputs())]) {
      expect(leakedCanaries(text)).toEqual([])
      expect(text).toContain('REDACTED')
    }
  })
})

describe('the report of one delivery command', () => {
  it('lists ids, evidence and failed connectors, and says success only when nothing failed', () => {
    const report = new DeliveryStepReport('cavra integration deliver', (text) => text)
    report.add(resultOf('ev-1', [delivery('splunk', true), delivery('webhook', false)]), '/ev/ev-1.json')
    report.add(resultOf('ev-2', [delivery('splunk', false), delivery('webhook', false)]), '/ev/ev-2.json')
    expect(report.outputs()).toEqual({
      success: 'false',
      'evidence-file': '/ev/ev-1.json\n/ev/ev-2.json',
      'failed-connectors': 'webhook,splunk',
      'event-id': 'ev-1,ev-2',
    })
    const ok = new DeliveryStepReport('cavra integration deliver', (text) => text)
    ok.add(resultOf('ev-3', [delivery('splunk', true)]), '/ev/ev-3.json')
    expect(ok.outputs()).toMatchObject({ success: 'true', 'failed-connectors': '' })
  })

  it('summarises each event under a heading, with markdown from outside escaped', () => {
    const report = new DeliveryStepReport('cavra release deliver-rollback-execution', (text) => text)
    const hostileId = 'rb|<img src=x onerror=alert(1)>\n## forged heading'
    report.add(
      resultOf(hostileId, [
        delivery('splunk', true),
        delivery('jira', false, 'HTTP 400 | [click](https://evil.example) `code`'),
      ]),
      '/ev/rb.json',
    )
    const markdown = report.summaryMarkdown()
    const lines = markdown.split('\n')
    expect(lines[0]).toBe(
      '### ❌ cavra release deliver-rollback-execution: rb\\|&lt;img src=x onerror=alert(1)&gt; ## forged heading',
    )
    expect(markdown).not.toContain('<img')
    expect(lines.filter((line) => line.startsWith('#'))).toHaveLength(1)
    const jiraRow = lines.find((line) => line.startsWith('| jira '))!
    // Five columns: the escaped `|` in the error adds none.
    expect(jiraRow.split(/(?<!\\)\|/).length - 2).toBe(5)
    expect(jiraRow).toContain('❌ failed (400)')
    expect(jiraRow).toContain('\\[click\\](https\u200b://evil.example) \\`code\\`')
    expect(markdown).toContain('| splunk | splunk | ✅ delivered | 1 | REF-splunk |')
  })

  it('keeps the summary bounded for a file of many events', () => {
    const report = new DeliveryStepReport('cavra integration deliver', (text) => text)
    for (let i = 0; i < SUMMARY_EVENT_LIMIT + 5; i++)
      report.add(resultOf(`ev-${i}`, [delivery('splunk', true)]), null)
    const markdown = report.summaryMarkdown()
    expect(markdown.match(/^### /gm)).toHaveLength(SUMMARY_EVENT_LIMIT)
    expect(markdown).toContain('5 more events delivered by cavra integration deliver')
    expect(report.outputs()['event-id']!.split(',')).toHaveLength(SUMMARY_EVENT_LIMIT + 5)
  })
})

function delivery(provider: string, success: boolean, error = 'HTTP 500: boom'): DeliveryRecord {
  return {
    provider,
    provider_type: provider,
    category: 'siem',
    success,
    status_code: success ? 200 : Number(/\d{3}/.exec(error)?.[0] ?? 0) || null,
    attempt_count: success ? 1 : 3,
    started_at: '2026-12-01T10:00:00.000Z',
    completed_at: '2026-12-01T10:00:01.000Z',
    duration_ms: 1000,
    error: success ? null : error,
    remote_reference: success ? `REF-${provider}` : null,
    deduplicated: false,
    records_sent: success ? 1 : 0,
    records_shortened: 0,
    request: null,
    attempts: [],
  }
}

function resultOf(eventId: string, deliveries: DeliveryRecord[]): DeliveryResult {
  return {
    schema_version: 'cavra.connector.delivery.v1',
    product: 'cavra',
    event_type: 'cavra.rollout_rollback_execution',
    event_id: eventId,
    session_id: null,
    severity: 'critical',
    generated_at: '2026-12-01T10:00:01.000Z',
    success: deliveries.every((d) => d.success),
    source_artifact: null,
    deliveries,
  }
}
