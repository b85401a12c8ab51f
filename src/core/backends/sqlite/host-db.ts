/**
 * The database a SQLite host process owns (host.ts), and the statements it runs on it:
 * agent statements with capped results, transactions, trusted batches, stepped
 * iterations and bulk inserts. One HostDb per process, built by main().
 */
import Database from 'better-sqlite3';
import { DbError } from '../../../errors.js';
import type { StatementResult } from '../../dialect.js';
import { jsonByteLength } from '../../sql.js';
import { toDbError } from './errors.js';
import type { HostInfo, HostRequestOf, HostRows } from './host-protocol.js';
import { fileOf, prepare, runOne, toBindable, type OpenDb } from './statements.js';

export { fileOf, type OpenDb } from './statements.js';

/** Diagnostics go to stderr, one JSON line each; the parent forwards them to its logger. Never stdout. */
export function log(msg: string, extra: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ msg, pid: process.pid, ...extra })}\n`);
}

/** WAL lets readers run beside a writer; failing to switch is not fatal (another process may hold a lock). */
export function enableWal(db: Database.Database): void {
  try {
    db.pragma('journal_mode = WAL');
  } catch (err) {
    log('could not switch to WAL; keeping the current journal mode', { error: (err as Error).message });
  }
}

/** busy_timeout follows each call's statement timeout; the pragma runs only when it changes. */
export function setBusyTimeout(conn: OpenDb, ms: number): void {
  const value = Math.max(0, Math.floor(ms));
  if (value === conn.busyTimeoutMs) return;
  conn.db.pragma(`busy_timeout = ${value}`);
  conn.busyTimeoutMs = value;
}

function commitOrRollback(conn: OpenDb, rollback: boolean): void {
  if (rollback) {
    conn.db.exec('ROLLBACK');
    return;
  }
  try {
    conn.db.exec('COMMIT');
  } catch (err) {
    const e = toDbError(err);
    throw new DbError('TRANSACTION_FAILED', `commit failed: ${e.message}`, e.details, { cause: err });
  }
}

function rollbackQuietly(conn: OpenDb): void {
  if (!conn.db.inTransaction) return; // SQLite already rolled back (e.g. after SQLITE_FULL)
  try {
    conn.db.exec('ROLLBACK');
  } catch (err) {
    log('rollback failed', { error: (err as Error).message });
  }
}

/** The host's one database connection, and what is open on it. */
export class HostDb {
  private current: OpenDb | null = null;
  /** The file the current connection opened, by device and inode (null: in memory, or unknown). */
  openedFile: { dev: number; ino: number } | null = null;
  /** How the database was opened, to open it again after `release`. */
  lastOpen: HostRequestOf<'open'> | null = null;
  /**
   * One open iteration, stepped a batch per request, so the parent never holds a whole
   * table. While it is open no other statement can run on the connection (better-sqlite3
   * refuses): any other request ends it first.
   */
  private iteration: { rows: IterableIterator<unknown>; batchRows: number } | null = null;
  /** The bulk load's prepared INSERTs, by text. */
  private readonly inserts = new Map<string, Database.Statement>();

  open(req: HostRequestOf<'open'>): HostInfo {
    this.current?.db.close();
    this.current = null;
    this.lastOpen = req;
    const memory = req.file === ':memory:';
    // SQLite cannot open an in-memory database read-only; query_only still guards it.
    const db = new Database(req.file, { readonly: req.readOnly && !memory, fileMustExist: req.readOnly && !memory });
    this.openedFile = memory ? null : fileOf(req.file);
    try {
      db.pragma('foreign_keys = ON');
      if (req.readOnly) db.pragma('query_only = ON');
      else if (!memory) enableWal(db);
      this.current = { db, readOnly: req.readOnly, busyTimeoutMs: -1 };
      setBusyTimeout(this.current, req.busyTimeoutMs);
      return this.info();
    } catch (err) {
      db.close();
      this.current = null;
      throw err;
    }
  }

  /** Closes the connection, if open. */
  close(): void {
    this.current?.db.close();
    this.current = null;
  }

  /** Closes the connection and opens the same database again (a fresh cache). */
  reopen(): void {
    this.require().db.close();
    this.current = null;
    if (this.lastOpen) this.open(this.lastOpen);
  }

  require(): OpenDb {
    if (!this.current) throw new DbError('CONNECTION_FAILED', 'the SQLite host has no open database');
    return this.current;
  }

  info(): HostInfo {
    const row = this.require().db.prepare('select sqlite_version() as v').get() as { v: string };
    return { sqlite_version: row.v };
  }

  execute(req: HostRequestOf<'execute'>): StatementResult {
    const conn = this.require();
    setBusyTimeout(conn, req.limits.timeoutMs);
    return runOne(conn, req.stmt, req.limits.maxRows, req.limits.maxBytes);
  }

  /**
   * Trusted statements in order, no transaction of its own (a session sends its BEGIN
   * and COMMIT inside batches): one round trip instead of one per statement. A failure
   * stops the batch; details.batch_index says which statement.
   */
  batch(req: HostRequestOf<'batch'>): StatementResult[] {
    const conn = this.require();
    setBusyTimeout(conn, req.limits.timeoutMs);
    return req.stmts.map((stmt, i) => {
      try {
        return runOne(conn, stmt, req.limits.maxRows, req.limits.maxBytes);
      } catch (err) {
        throw toDbError(err).withDetails({ batch_index: i });
      }
    });
  }

  /** All-or-nothing; a read-only connection always rolls back. Rows share one byte budget. */
  transaction(req: HostRequestOf<'transaction'>): StatementResult[] {
    const conn = this.require();
    setBusyTimeout(conn, req.limits.timeoutMs);
    // IMMEDIATE takes the write lock up front, so a busy database fails at BEGIN, not halfway.
    conn.db.exec(conn.readOnly ? 'BEGIN' : 'BEGIN IMMEDIATE');
    const results: StatementResult[] = [];
    let bytesLeft = req.limits.maxBytes;
    try {
      req.stmts.forEach((stmt, i) => {
        try {
          const r = runOne(conn, stmt, req.limits.maxRows, Math.max(0, bytesLeft));
          bytesLeft -= jsonByteLength(r.rows);
          results.push(r);
        } catch (err) {
          throw toDbError(err).withDetails({ statement_index: i });
        }
      });
      commitOrRollback(conn, req.rollback || conn.readOnly);
      return results;
    } catch (err) {
      rollbackQuietly(conn);
      throw err;
    }
  }

  iterate(req: HostRequestOf<'iterate'>): HostRows {
    const stmt = prepare(this.require(), req.text);
    stmt.raw(true);
    this.iteration = { rows: stmt.iterate(), batchRows: req.batchRows };
    return this.nextBatch();
  }

  nextBatch(): HostRows {
    const it = this.iteration;
    if (!it) throw new DbError('INTERNAL', 'no iteration is open in the SQLite host');
    const rows: unknown[][] = [];
    while (rows.length < it.batchRows) {
      const r = it.rows.next();
      if (r.done) {
        this.iteration = null;
        return { rows, done: true };
      }
      rows.push(r.value as unknown[]);
    }
    return { rows, done: false };
  }

  endIteration(): void {
    this.iteration?.rows.return?.();
    this.iteration = null;
  }

  /** Bulk load: one prepared INSERT, run for every row (inside the session's transaction). */
  insert(req: HostRequestOf<'insert'>): number {
    const conn = this.require();
    let stmt = this.inserts.get(req.text);
    if (!stmt) {
      if (this.inserts.size > 64) this.inserts.clear();
      stmt = prepare(conn, req.text);
      this.inserts.set(req.text, stmt);
    }
    for (const row of req.rows) stmt.run(...row.map(toBindable));
    return req.rows.length;
  }

  /** Prepared statements belong to the connection: a new one (open, release) or none (close) drops them. */
  forgetStatements(): void {
    this.inserts.clear();
  }
}
