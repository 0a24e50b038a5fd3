import type { TestProject } from 'vitest/node'
import { startThrowawayPostgres } from './postgres-server.js'

/**
 * The PostgreSQL the database store is tested against (postgres-server.ts), started once for
 * the suite and stopped after it. Tests read its URL with `inject('postgresUrl')` and make a
 * database each (postgres.ts).
 */

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const server = await startThrowawayPostgres()
  project.provide('postgresUrl', server.url)
  return server.stop
}
