/**
 * The server's own tables (migration history, its events, SQLite's lock table): where they
 * live and how they stay out of the agent's way. On PostgreSQL they live in their own schema
 * (BOOKKEEPING_SCHEMA); on MySQL/MariaDB and SQLite, which have no such level below the
 * database, they stay in the connection's database. Every backend hides them from listings
 * (get_schema without a table, statistics, schema resources, portable backups without a
 * table list): an explicit table name (or, on PostgreSQL, the schema) shows them.
 */
import type { Backend } from './dialect.js';

export const BOOKKEEPING_SCHEMA = 'codomyrmex';
export const HISTORY_TABLE = 'codomyrmex_migrations';
export const EVENTS_TABLE = 'codomyrmex_migration_events';
export const LOCK_TABLE = 'codomyrmex_locks';
export const BOOKKEEPING_TABLES: readonly string[] = [HISTORY_TABLE, EVENTS_TABLE, LOCK_TABLE];

/** The names as an SQL list, for catalog filters: constants, nothing from outside. */
export const BOOKKEEPING_SQL_LIST = BOOKKEEPING_TABLES.map((t) => `'${t}'`).join(', ');

/** Ours: anything in our schema on PostgreSQL, and our table names anywhere (tables left in public by older versions). */
export function isBookkeeping(x: { schema?: string; table: string }): boolean {
  return x.schema === BOOKKEEPING_SCHEMA || BOOKKEEPING_TABLES.includes(x.table);
}

/**
 * A table of ours, qualified so that no statement depends on the session's search_path or
 * current database: a migration file may change either (pg_dump's schema files run
 * `set_config('search_path', '', false)`; a MySQL file may `USE` another database).
 * `database` is MySQL's database of the connection, read before any migration ran; `schema`
 * PostgreSQL's schema for them (ours unless the account may not create it: placeOf).
 */
export function qualifiedTable(backend: Backend, table: string, database?: string, schema = BOOKKEEPING_SCHEMA): string {
  if (backend === 'postgres') return `"${schema.replace(/"/g, '""')}"."${table}"`;
  if (backend === 'mysql') return `\`${(database ?? '').replace(/`/g, '``')}\`.\`${table}\``;
  return `main."${table}"`;
}
