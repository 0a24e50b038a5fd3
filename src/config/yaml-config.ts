import { CST, Parser, parseDocument as parseYaml } from 'yaml'
import { ConfigError } from '../common/errors.js'
import { EXAMPLE_CONFIG, MAX_YAML_ALIAS_EXPANSION, MAX_YAML_ALIASES } from './config-file.js'

/**
 * YAML connector configurations, in a module of their own so that the YAML parser is read
 * and compiled only when a configuration is YAML.
 */

export const ALIAS_ACTIONS = [
  'Write the values out instead of reusing them through anchors (&name) and aliases (*name).',
]

export function parseYamlConfig(path: string, text: string): unknown {
  // Fewer `*` than the limit cannot hold more aliases: most files skip the count.
  if (text.split('*').length - 1 > MAX_YAML_ALIASES) {
    let aliases = 0
    for (const token of new Parser().parse(text)) {
      // Comments, directives and stray text between documents hold no aliases.
      if (token.type !== 'document') continue
      CST.visit(token, (item) => {
        for (const part of [item.key, item.value]) if (part?.type === 'alias') aliases++
        return aliases > MAX_YAML_ALIASES ? CST.visit.BREAK : undefined
      })
    }
    if (aliases > MAX_YAML_ALIASES) {
      throw new ConfigError(
        `${path}: uses more than ${MAX_YAML_ALIASES} YAML aliases (*name); a connector configuration needs a few, and cavra refuses more rather than spend minutes resolving them.`,
        ALIAS_ACTIONS,
      )
    }
  }
  const document = parseYaml(text, { uniqueKeys: true, prettyErrors: true })
  if (document.errors.length > 0) {
    const first = document.errors[0]!
    const where = first.linePos?.[0] ? `line ${first.linePos[0].line}, column ${first.linePos[0].col}: ` : ''
    // The yaml parser is recursive; a document nested thousands of levels deep ends its
    // stack, which it reports as an error of the document.
    const problem = /call stack/i.test(first.message)
      ? 'nested too deeply (a configuration needs a few levels)'
      : first.message.split('\n')[0]
    throw new ConfigError(`${path}: ${where}not valid YAML: ${problem}`, [
      `Fix the YAML at that spot; compare with ${EXAMPLE_CONFIG}.`,
    ])
  }
  try {
    return document.toJS({ maxAliasCount: MAX_YAML_ALIAS_EXPANSION })
  } catch (error) {
    if (/alias count|resource exhaustion/i.test((error as Error).message)) {
      throw new ConfigError(
        `${path}: its YAML aliases (*name) expand to more than ${MAX_YAML_ALIAS_EXPANSION} nodes, as a "billion laughs" document does; cavra refuses it rather than expand it.`,
        ALIAS_ACTIONS,
      )
    }
    if (error instanceof RangeError) {
      throw new ConfigError(
        `${path}: not valid YAML: nested too deeply (a configuration needs a few levels).`,
        [`Compare with ${EXAMPLE_CONFIG}.`],
      )
    }
    throw new ConfigError(`${path}: not valid YAML: ${(error as Error).message.split('\n')[0]}`, [
      `Compare with ${EXAMPLE_CONFIG}.`,
    ])
  }
}
