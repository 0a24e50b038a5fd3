import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connectorConfigJsonSchema } from '../src/config/json-schema.js'
import { CONNECTORS } from '../src/connectors/index.js'
import { renderConfigurationDoc } from './configuration-doc.js'

/**
 * Regenerates, from the connector registry's zod schemas, the JSON Schema of the connector
 * configuration (examples/connectors/cavra-connectors.schema.json) and its reference page
 * (docs/configuration.md).
 */
const root = join(import.meta.dirname, '..')
const outputs: Array<[string, string]> = [
  [
    join(root, 'examples', 'connectors', 'cavra-connectors.schema.json'),
    `${JSON.stringify(connectorConfigJsonSchema(CONNECTORS), null, 2)}\n`,
  ],
  [join(root, 'docs', 'configuration.md'), renderConfigurationDoc(CONNECTORS)],
]
for (const [target, text] of outputs) {
  writeFileSync(target, text)
  process.stdout.write(`wrote ${target}\n`)
}
