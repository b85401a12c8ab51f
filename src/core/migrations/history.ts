/**
 * The migration history, kept in the database itself so every server instance
 * sees the same truth. Timestamps are stored as ISO 8601 text written by the server.
 * Every statement names its table fully qualified (bookkeeping-setup.ts: Place), so a
 * migration that changes search_path or the current database cannot move our writes.
 */
import { hostname } from 'node:os';
import type { MigrationsSupport } from '../backends/contract/migrations.js';
import type { SqlSupport } from '../backends/contract/sql.js';
import type { Dialect, LockAt, Row, Session } from '../dialect.js';
import { translatePlaceholders } from '../sql.js';
import { ensureBookkeeping, type Place } from './bookkeeping-setup.js';

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
  /** Where the migration lock's row lives, beside the history. */
  lockAt: LockAt;
  ensure(): Promise<void>;
  /** Every row, oldest version first; empty when the table does not exist yet. */
  rows(): Promise<HistoryRow[]>;
  insert(row: HistoryRow): Promise<void>;
  update(version: string, fields: Partial<Omit<HistoryRow, 'version'>>): Promise<void>;
  remove(version: string): Promise<void>;
  event(version: string, action: string, detail?: string): Promise<void>;
}

/** The history of the session's database; `place` from the module's place(), read before any migration ran; `flavor` the module's sql part. */
export function createHistory(session: Session, dialect: Dialect, m: MigrationsSupport, place: Place, flavor: SqlSupport): History {
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
  const v = m.versionParam;
  const undefinedTable = (err: unknown): boolean => (err as { code?: string }).code === 'UNDEFINED_OBJECT';
  return {
    lockAt: { table: place.locks, schema: place.schema },
    ensure: () => ensureBookkeeping(session, m, place, dialect.capabilities.transactionalDdl),
    async rows() {
      try {
        return (await q(`SELECT ${COLUMNS} FROM ${place.history} ORDER BY version`)).map(toRow);
      } catch (err) {
        if (!undefinedTable(err)) throw err;
      }
      // PostgreSQL before the move into our schema (nobody has run a migration with this
      // version yet): the table an older server made, found through the search_path.
      if (m.legacyHistory === null) return [];
      return (await q(`SELECT ${COLUMNS} FROM ${m.legacyHistory} ORDER BY version`).catch((err) => (undefinedTable(err) ? [] : Promise.reject(err)))).map(toRow);
    },
    async insert(row) {
      await w(
        `INSERT INTO ${place.history} (${COLUMNS}) VALUES (${v}, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [row.version, row.name, row.checksum, row.status, row.applied_at, row.execution_ms, row.applied_by, row.statements_applied, row.failed_statement, row.error],
      );
    },
    async update(version, fields) {
      const keys = Object.keys(fields) as Array<keyof typeof fields>;
      if (keys.length === 0) return;
      const sets = keys.map((k) => `${k} = ?`).join(', ');
      await w(`UPDATE ${place.history} SET ${sets} WHERE version = ${v}`, [...keys.map((k) => fields[k]), version]);
    },
    async remove(version) {
      await w(`DELETE FROM ${place.history} WHERE version = ${v}`, [version]);
    },
    async event(version, action, detail) {
      await w(`INSERT INTO ${place.events} (at, version, action, actor, detail) VALUES (?, ${v}, ?, ?, ?)`, [nowIso(), version, action, ACTOR, detail ? clip(detail) : null]);
    },
  };
}
