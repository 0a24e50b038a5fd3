/**
 * The PostgreSQL driver, imported only by a database store when it first connects: a
 * module of cavra's own, so that the bundle loads the driver's vendor file on that import
 * and no other command reads it.
 */
export { default as postgres } from 'postgres'
