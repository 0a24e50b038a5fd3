import postgres from 'postgres'
import { inject } from 'vitest'

/**
 * Databases on the throwaway server of postgres-setup.ts: each test gets its own, so tests
 * (and test files running in parallel) never see each other's items.
 */

let made = 0

export async function freshDatabase(): Promise<string> {
  const admin = inject('postgresUrl')
  const name = `cavra_test_${process.pid}_${++made}_${Date.now().toString(36)}`
  await withAdmin((sql) => sql.unsafe(`CREATE DATABASE ${name}`))
  const url = new URL(admin)
  url.pathname = `/${name}`
  return url.toString()
}

/** A connection of the test's own to a database (to look at tables, hold locks). */
export function connect(url: string) {
  return postgres(url, { max: 2, onnotice: () => {} })
}

async function withAdmin<T>(work: (sql: ReturnType<typeof postgres>) => Promise<T>): Promise<T> {
  const sql = connect(inject('postgresUrl'))
  try {
    return await work(sql)
  } finally {
    await sql.end()
  }
}
