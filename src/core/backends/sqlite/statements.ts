/**
 * One statement on an open better-sqlite3 connection, as an agent's call runs it: the
 * read-only checks SQLite itself can make, values bound as SQLite stores them, rows capped
 * by count and bytes. Used by the host process (host-db.ts) and by the reads the server
 * runs itself (fast-read.ts). Loads no driver: the caller has opened the connection.
 */
import type Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { DbError } from '../../../errors.js';
import type { ColumnInfo, Statement, StatementResult } from '../../dialect.js';
import { elapsedSince, RowCollector } from '../../limits.js';

export interface OpenDb {
  db: Database.Database;
  readOnly: boolean;
  busyTimeoutMs: number;
}

/** The device, inode and size of the file at `path` (symlinks followed); null when it cannot be read. */
export function fileOf(path: string): { dev: number; ino: number; size: number } | null {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino, size: st.size };
  } catch {
    return null;
  }
}

/**
 * SQLite has no boolean, and better-sqlite3 binds every JS number as REAL (5 would be
 * stored as 5.0 in an untyped column): integers go in as bigint, booleans as 0/1.
 */
export function toBindable(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (v instanceof Uint8Array && !Buffer.isBuffer(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

export function prepare(conn: OpenDb, text: string): Database.Statement {
  const stmt = conn.db.prepare(text);
  // SQLite applies flag pragmas while preparing (query_only=OFF needs no step): re-arm it.
  if (conn.readOnly && /pragma/i.test(text)) conn.db.pragma('query_only = ON');
  // Belt and braces behind the classifier: SQLite's own verdict on what the statement may write.
  if (conn.readOnly && !stmt.readonly) {
    throw new DbError('READ_ONLY_VIOLATION', 'this connection is read-only: SQLite reports that this statement writes', { reason: 'statement is not read-only' });
  }
  stmt.safeIntegers(true);
  return stmt;
}

/**
 * An expression column has no declared type (sqlite3_column_decltype is NULL): it is
 * described by the storage class its values share (integer, real, text, blob), or ''
 * when they differ or are all NULL. Values are seen as better-sqlite3 returns them with
 * safeIntegers: bigint for INTEGER, number for REAL.
 */
class StorageClasses {
  private readonly seen: Array<string | null | undefined>;

  constructor(private readonly wanted: boolean[]) {
    this.seen = wanted.map(() => undefined);
  }

  see(row: unknown[]): void {
    this.wanted.forEach((w, i) => {
      const v = row[i];
      if (!w || v === null || v === undefined || this.seen[i] === null) return;
      const cls = typeof v === 'bigint' ? 'integer' : typeof v === 'number' ? 'real' : typeof v === 'string' ? 'text' : 'blob';
      this.seen[i] = this.seen[i] === undefined || this.seen[i] === cls ? cls : null;
    });
  }

  of(i: number): string {
    return this.seen[i] ?? '';
  }
}

export function runOne(conn: OpenDb, stmt: Statement, maxRows: number, maxBytes: number): StatementResult {
  const start = performance.now();
  const prepared = prepare(conn, stmt.text);
  const params = (stmt.params ?? []).map(toBindable);
  if (!prepared.reader) {
    const changes = Number(prepared.run(...params).changes);
    return { columns: [], rows: [], row_count: changes, affected_rows: changes, truncated: false, elapsed_ms: elapsedSince(start) };
  }
  const collector = new RowCollector(maxRows, maxBytes);
  const described = prepared.columns();
  // Rows as arrays: a JOIN's two `id` columns both survive under unique keys.
  const keys = collector.setColumns(described.map((c) => c.name));
  const classes = new StorageClasses(described.map((c) => c.type === null));
  prepared.raw(true);
  // iterate(), never all(): leaving the loop resets the statement, so SQLite computes
  // only the rows we keep (plus one) however large the full result would be.
  for (const row of prepared.iterate(...params)) {
    if (!collector.add(row as unknown[])) break;
    classes.see(row as unknown[]);
  }
  const columns: ColumnInfo[] = described.map((c, i) => ({ name: keys[i], type: c.type === null ? classes.of(i) : c.type.toLowerCase() }));
  const rows = collector.rows;
  return { columns, rows, row_count: rows.length, affected_rows: null, truncated: collector.truncated, elapsed_ms: elapsedSince(start) };
}
