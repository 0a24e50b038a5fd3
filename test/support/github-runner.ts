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
