import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CANARY } from './canaries.js'

/**
 * A throwaway PostgreSQL (for the tests and `npm run bench`): Debian's server (installed when
 * missing and we are root), a data folder in a temp dir, listening on 127.0.0.1 only, on a
 * free port, its superuser's password a planted canary. `stop()` stops it and removes the folder.
 */

const BIN = process.env.CAVRA_TEST_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin'

export interface ThrowawayPostgres {
  /** The superuser's URL, to its `postgres` database. */
  url: string
  stop(): void
}

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  ensureInstalled()
  const root = mkdtempSync(join(tmpdir(), 'cavra-postgres-'))
  const data = join(root, 'data')
  const sockets = join(root, 'sockets')
  mkdirSync(sockets)
  const asRoot = process.getuid?.() === 0
  const run = (command: string, args: string[]) => {
    // initdb and postgres refuse to run as root: they run as the postgres user then.
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]
    return execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
  }
  const passwordFile = join(root, 'password')
  writeFileSync(passwordFile, CANARY.postgresPassword)
  if (asRoot) {
    chmodSync(root, 0o755)
    const { uid, gid } = postgresUser()
    chownSync(root, uid, gid)
    chownSync(sockets, uid, gid)
    chownSync(passwordFile, uid, gid)
  }
  run(join(BIN, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth-host=scram-sha-256',
    '--auth-local=trust',
    `--pwfile=${passwordFile}`,
    '--no-sync',
    '-E',
    'UTF8',
  ])
  const port = await freePort()
  run(join(BIN, 'pg_ctl'), [
    '-D',
    data,
    '-w',
    '-l',
    join(root, 'server.log'),
    '-o',
    `-c listen_addresses=127.0.0.1 -p ${port} -k ${sockets} -c fsync=off -c max_connections=200`,
    'start',
  ])
  const url = `postgres://postgres:${encodeURIComponent(CANARY.postgresPassword)}@127.0.0.1:${port}/postgres`
  const stop = () => {
    spawnSync(asRoot ? 'runuser' : join(BIN, 'pg_ctl'), [
      ...(asRoot ? ['-u', 'postgres', '--', join(BIN, 'pg_ctl')] : []),
      '-D',
      data,
      '-m',
      'immediate',
      '-w',
      'stop',
    ])
    rmSync(root, { recursive: true, force: true })
  }
  return { url, stop }
}

function ensureInstalled(): void {
  if (existsSync(join(BIN, 'postgres'))) return
  if (process.getuid?.() !== 0) {
    throw new Error(
      `PostgreSQL is not installed at ${BIN}: install Debian's postgresql package (or set CAVRA_TEST_POSTGRES_BIN).`,
    )
  }
  execFileSync('apt-get', ['update'], { stdio: 'inherit' })
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  })
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }))
  return { uid: id('-u'), gid: id('-g') }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}
