import { dirname } from 'node:path'
import { flush, handle, run } from '@oclif/core'
import pjson from '../package.json'
import { loadCavraConfig } from '../src/oclif-config.js'

/**
 * Entry of the single binary: oclif is given the command list and package.json compiled in,
 * so it never looks for files next to the executable.
 */
async function main(): Promise<void> {
  const config = await loadCavraConfig(dirname(process.execPath), pjson as never)
  await run(process.argv.slice(2), config)
  await flush()
}

main().catch(async (error) => handle(error))
