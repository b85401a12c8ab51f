/**
 * The migration history, kept in the database itself so every server instance
 * sees the same truth. Portable DDL (the same text runs on all three backends);
 * timestamps are stored as ISO 8601 text written by the server.
 */
import { hostname } from 'node:os';
import type { Row, Session } from '../dialect.js';
import { translatePlaceholders, type SqlFlavor } from '../sql.js';

export const HISTORY_TABLE = 'codomyrmex_migrations';
export const EVENTS_TABLE = 'codomyrmex_migration_events';
export const LOCK_NAME = 'codomyrmex_migrations';

export type RowStatus = 'applied' | 'running' | 'failed';

export interface HistoryRow {
  version: string;
  name: string;
  checksum: string;
  status: RowStatus;
  applied_at: string;
  execution_ms: number;
  applied_by: string;
  statements_applied: number;
  failed_statement: number | null;
  error: string | null;
}

const DDL = [
  `CREATE TABLE IF NOT EXISTS ${HISTORY_TABLE} (
    version BIGINT NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    checksum CHAR(64) NOT NULL,
    status VARCHAR(16) NOT NULL,
    applied_at VARCHAR(40) NOT NULL,
    execution_ms INTEGER NOT NULL,
    applied_by VARCHAR(255) NOT NULL,
    statements_applied INTEGER NOT NULL,
    failed_statement INTEGER NULL,
    error VARCHAR(2000) NULL
  )`,
  `CREATE TABLE IF NOT EXISTS ${EVENTS_TABLE} (
    at VARCHAR(40) NOT NULL,
    version BIGINT NOT NULL,
    action VARCHAR(32) NOT NULL,
    actor VARCHAR(255) NOT NULL,
    detail VARCHAR(2000) NULL
  )`,
];

const COLUMNS = 'version, name, checksum, status, applied_at, execution_ms, applied_by, statements_applied, failed_statement, error';

/** Who is acting: enough to find the server instance, nothing secret. */
export const ACTOR = `codomyrmex-db@${hostname()}:${process.pid}`;

export function nowIso(): string {
  return new Date().toISOString();
}

function toRow(r: Row): HistoryRow {
  return {
    version: String(r.version),
    name: String(r.name),
    checksum: String(r.checksum).trim(),
    status: String(r.status) as RowStatus,
    applied_at: String(r.applied_at),
    execution_ms: Number(r.execution_ms),
    applied_by: String(r.applied_by),
    statements_applied: Number(r.statements_applied),
    failed_statement: r.failed_statement === null || r.failed_statement === undefined ? null : Number(r.failed_statement),
    error: r.error === null || r.error === undefined ? null : String(r.error),
  };
}

/** Error text is bounded: the column holds 2000 characters. */
export function clip(text: string, max = 2000): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export interface History {
  ensure(): Promise<void>;
  /** Every row, oldest version first; empty when the table does not exist yet. */
  rows(): Promise<HistoryRow[]>;
  insert(row: HistoryRow): Promise<void>;
  update(version: string, fields: Partial<Omit<HistoryRow, 'version'>>): Promise<void>;
  remove(version: string): Promise<void>;
  event(version: string, action: string, detail?: string): Promise<void>;
}

export function createHistory(session: Session, flavor: SqlFlavor): History {
  const q = (sql: string, params: unknown[] = []): Promise<Row[]> => {
    const { text, values } = translatePlaceholders(sql, params, flavor);
    return session.query(text, values);
  };
  /** Writes whose result nobody reads: the session may batch them with what follows. */
  const w = (sql: string, params: unknown[] = []): Promise<void> => {
    const { text, values } = translatePlaceholders(sql, params, flavor);
    return session.write(text, values);
  };
  // Versions travel as text and are cast by the database: BIGINT versions exceed 2^53.
  const v = flavor === 'postgres' ? 'CAST(? AS BIGINT)' : flavor === 'mysql' ? 'CAST(? AS SIGNED)' : 'CAST(? AS INTEGER)';
  return {
    async ensure() {
      for (const ddl of DDL) await session.run([ddl]);
    },
    async rows() {
      try {
        return (await q(`SELECT ${COLUMNS} FROM ${HISTORY_TABLE} ORDER BY version`)).map(toRow);
      } catch (err) {
        if ((err as { code?: string }).code === 'UNDEFINED_OBJECT') return [];
        throw err;
      }
    },
    async insert(row) {
      await w(
        `INSERT INTO ${HISTORY_TABLE} (${COLUMNS}) VALUES (${v}, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [row.version, row.name, row.checksum, row.status, row.applied_at, row.execution_ms, row.applied_by, row.statements_applied, row.failed_statement, row.error],
      );
    },
    async update(version, fields) {
      const keys = Object.keys(fields) as Array<keyof typeof fields>;
      if (keys.length === 0) return;
      const sets = keys.map((k) => `${k} = ?`).join(', ');
      await w(`UPDATE ${HISTORY_TABLE} SET ${sets} WHERE version = ${v}`, [...keys.map((k) => fields[k]), version]);
    },
    async remove(version) {
      await w(`DELETE FROM ${HISTORY_TABLE} WHERE version = ${v}`, [version]);
    },
    async event(version, action, detail) {
      await w(`INSERT INTO ${EVENTS_TABLE} (at, version, action, actor, detail) VALUES (?, ${v}, ?, ?, ?)`, [nowIso(), version, action, ACTOR, detail ? clip(detail) : null]);
    },
  };
}
