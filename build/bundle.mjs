// Builds what `bin/run.js` starts: dist/cavra.cjs (oclif and cavra's own code) and, beside
// it, one file per heavy dependency (dist/vendor/*.cjs), each with a V8 code cache.
//
// Why bundles: resolving and reading ~100 modules of oclif, zod, undici and cavra itself was
// a quarter of every run. Why separate dependency files: `--version` or a history query never
// needs undici, zod or listr2, and a file that is not needed is neither read nor compiled; the
// bundle asks for them by name when a command first imports them (bin/run.js maps the names).
// Why CommonJS: Node 20 can feed a V8 code cache only to a classic script (vm.Script
// cachedData), not to an ES module, and the cache halves start-up by skipping the parse and
// compile of what a run touches. The caches are made here by running representative commands
// (a dry-run delivery to every connector kind, a store read), so they cover the code those
// runs execute; a Node whose V8 does not match simply ignores them.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')

/** Dependencies kept out of the main bundle, loaded on first use. */
export const VENDOR = [
  'undici',
  'zod',
  'yaml',
  'listr2',
  '@streamparser/json',
  'proper-lockfile',
  'lowdb',
  // Only `cavra serve` loads these.
  'hono',
  '@hono/node-server',
]

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  logLevel: 'warning',
  legalComments: 'none',
}

export function vendorFile(name) {
  return `vendor/${name.replace(/^@/, '').replace(/\//g, '-')}.cjs`
}

/**
 * Writes each output to a temp file renamed into place, and drops the file's old code cache,
 * so a CLI started meanwhile (another test run) reads a whole bundle, never a half-written one.
 */
async function bundleTo(outfile, options) {
  const result = await build({ ...common, ...options, outfile, write: false })
  for (const file of result.outputFiles) {
    const temp = `${file.path}.${process.pid}.tmp`
    writeFileSync(temp, file.contents)
    rmSync(`${file.path}.cache`, { force: true })
    renameSync(temp, file.path)
  }
}

export async function buildBundles() {
  mkdirSync(join(dist, 'vendor'), { recursive: true })
  await bundleTo(join(dist, 'cavra.cjs'), {
    ...common,
    entryPoints: [join(root, 'build', 'entry.ts')],
    // oclif's optional require('typescript') is only reached for ts-node plugins, never here.
    external: ['typescript', ...VENDOR],
    // oclif's engine check would require package.json from disk.
    banner: { js: "process.env.OCLIF_DISABLE_ENGINE_WARNING??='1';" },
  })
  const manifest = {}
  for (const name of VENDOR) {
    await bundleTo(join(dist, vendorFile(name)), {
      stdin: {
        contents: `module.exports = require(${JSON.stringify(name)})`,
        resolveDir: root,
        loader: 'js',
      },
    })
    manifest[name] = vendorFile(name)
  }
  writeFileSync(join(dist, 'vendor', 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
}

/** Runs commands that load every bundle, writing the code cache of each file they load. */
export function buildCodeCaches() {
  const work = mkdtempSync(join(tmpdir(), 'cavra-code-cache-'))
  try {
    const run = (...args) =>
      spawnSync(process.execPath, [join(root, 'bin', 'run.js'), ...args], {
        cwd: work,
        // Placeholders only: a dry run sends nothing.
        env: {
          PATH: process.env.PATH,
          NO_COLOR: '1',
          CAVRA_WRITE_CODE_CACHE: '1',
          CACHE_TOKEN: 'code-cache-placeholder-0000',
          CACHE_SLACK_URL: 'https://hooks.slack.invalid/services/T000/B000/placeholder',
          CACHE_TEAMS_URL: 'https://teams.invalid/workflows/0/triggers/manual/paths/invoke?sig=placeholder',
          CACHE_WEBHOOK_URL: 'https://receiver.invalid/hooks/cavra',
          CACHE_SIGNING_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
        encoding: 'utf8',
      })
    const config = join(root, 'build', 'code-cache-connectors.yaml')
    const event = join(root, 'examples', 'events', 'siem-event.json')
    const store = join(work, 'metadata.json')
    const dryRun = run(
      'integration',
      'deliver',
      event,
      '--dry-run',
      '--json',
      '--provider',
      'splunk,sentinel,datadog,slack,teams,jira,servicenow,webhook',
      '--config',
      config,
    )
    if (dryRun.status !== 0) throw new Error(`the code-cache run failed:\n${dryRun.stderr}`)
    // A real delivery that is refused at once (nothing listens on port 9): the transport, the
    // retry loop, the task list, the evidence and the store's append path.
    run(
      'integration',
      'deliver',
      event,
      '--provider',
      'refused',
      '--retries',
      '0',
      '--config',
      config,
      '--metadata-json',
      store,
    )
    run('release', 'connector-delivery-history', '--metadata-json', store)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildBundles()
  buildCodeCaches()
}
