import { describe, expect, it } from 'vitest'
import { hasControl, inertText, neutraliseWorkflowCommands, stripControl } from '../../src/common/text.js'

describe('outside text made inert', () => {
  it('removes CSI and OSC sequences whole, and every other control character', () => {
    expect(stripControl('\u001b[2K\u001b[1A\u001b[32mok\u001b[0m connector')).toBe('ok connector')
    expect(stripControl('see \u001b]8;;https://evil.example\u0007here\u001b]8;;\u0007')).toBe('see here')
    expect(stripControl('title\u001b]0;owned\u001b\\ end')).toBe('title end')
    expect(stripControl('a\u0000b\u0007c\u007fd\u0085e\u009b31mf')).toBe('abcdef')
    expect(stripControl('tab\tnew\nline')).toBe('tab\tnew\nline')
  })

  it('removes bidirectional overrides that reorder what a reader sees', () => {
    expect(stripControl('invoice\u202egpj.exe')).toBe('invoicegpj.exe')
    expect(hasControl('a\u2066b')).toBe(true)
    expect(hasControl('plain text, ünïcödé and emoji 🚀')).toBe(false)
  })

  it('makes workflow commands inert where the runner would read them', () => {
    expect(neutraliseWorkflowCommands('::error::fake')).toBe(': :error::fake')
    expect(neutraliseWorkflowCommands('ok\n  ::set-output name=x::y')).toBe('ok\n  : :set-output name=x::y')
    expect(neutraliseWorkflowCommands('x ##[error]fake')).toBe('x # #[error]fake')
    expect(neutraliseWorkflowCommands('a::b stays')).toBe('a::b stays')
  })

  it('does both, and changes nothing in ordinary text', () => {
    expect(inertText('\u001b[32m::notice::ok')).toBe(': :notice::ok')
    const plain = 'HTTP 503 from Jira after 3 attempts: Service Unavailable (retry in 2 s)'
    expect(inertText(plain)).toBe(plain)
  })
})
