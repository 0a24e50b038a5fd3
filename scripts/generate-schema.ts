import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connectorConfigJsonSchema } from '../src/config/json-schema.js'
import { CONNECTORS } from '../src/connectors/index.js'

/** Regenerates examples/connectors/cavra-connectors.schema.json from the zod schemas. */
const target = join(import.meta.dirname, '..', 'examples', 'connectors', 'cavra-connectors.schema.json')
writeFileSync(target, `${JSON.stringify(connectorConfigJsonSchema(CONNECTORS), null, 2)}\n`)
process.stdout.write(`wrote ${target}\n`)
