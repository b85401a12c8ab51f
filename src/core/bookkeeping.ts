/**
 * The server's own tables (migration history, its events, SQLite's lock table): where they
 * live and how they stay out of the agent's way. On PostgreSQL they live in their own schema
 * (BOOKKEEPING_SCHEMA); on MySQL/MariaDB and SQLite, which have no such level below the
 * database, they stay in the connection's database. Every backend hides them from listings
 * (get_schema without a table, statistics, schema resources, portable backups without a
 * table list): an explicit table name (or, on PostgreSQL, the schema) shows them.
 */
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

/** The history table's DDL at a qualified name (contract/migrations.ts Place). */
export const historyTableSql = (name: string): string => `CREATE TABLE IF NOT EXISTS ${name} (
    version BIGINT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, checksum CHAR(64) NOT NULL, status VARCHAR(16) NOT NULL,
    applied_at VARCHAR(40) NOT NULL, execution_ms INTEGER NOT NULL, applied_by VARCHAR(255) NOT NULL,
    statements_applied INTEGER NOT NULL, failed_statement INTEGER NULL, error VARCHAR(2000) NULL)`;

/** The events table's DDL at a qualified name, with the backend's key column. */
export const eventsTableSql = (name: string, idColumn: string): string => `CREATE TABLE IF NOT EXISTS ${name} (
    ${idColumn}, at VARCHAR(40) NOT NULL, version BIGINT NOT NULL, action VARCHAR(32) NOT NULL,
    actor VARCHAR(255) NOT NULL, detail VARCHAR(2000) NULL)`;

/**
 * The lock table's DDL (core/lease.ts) at a qualified name, with the backend's timestamp
 * type: one row per named lock, its primary key the name (Galera needs one).
 * SQLite keeps its own layout (backends/sqlite/lock.ts: name, holder, taken_at).
 */
export const lockTableSql = (name: string, timestamp: string): string => `CREATE TABLE IF NOT EXISTS ${name} (
    name VARCHAR(64) NOT NULL PRIMARY KEY, holder VARCHAR(255) NOT NULL, token CHAR(32) NOT NULL,
    taken_at ${timestamp} NOT NULL, expires_at ${timestamp} NOT NULL)`;
