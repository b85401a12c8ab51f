/**
 * Reads the server runs in its own process, beside the connection's host (dialect.ts).
 *
 * A request to the host costs a round trip between two processes (about 0.1 ms of CPU on
 * each side: bench/RESULTS.md), which most reads do not need: they finish in far less. So
 * a read on a file database runs here first, on a read-only connection of its own, within a
 * budget of FAST_BUDGET_MS: the extension native/sqlite-budget.c interrupts it when the
 * budget is spent (better-sqlite3 itself cannot be stopped, PITFALLS). Whatever does not
 * succeed here (interrupted, a lock, an error of any kind) goes to the host as before,
 * which gives the answer, errors included: this path only returns results, the same ones the
 * host would have returned. The server's event loop waits at most the budget.
 *
 * Not here: in-memory databases (they live in the host); statements that may change the
 * session, or read the state of the connection itself (PRAGMA, last_insert_rowid(),
 * changes()); anything that is not a read. The connection follows the host's: it is opened
 * again when another host has started (so both read the file the host opened, even if
 * another file has been put at the path since), and closed while a session runs (a restore
 * takes the file over and needs it to itself).
 */
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import type { DialectConfig, Statement, StatementResult } from '../../dialect.js';
import type { Classification } from '../../readonly/types.js';
import { builtFile } from './host-process.js';
import type { HostLimits } from './host-protocol.js';
import { runOne, type OpenDb } from './statements.js';

/** How long a read may run in the server's process before it is stopped and sent to the host. */
export const FAST_BUDGET_MS = 10;

/** PRAGMA reads settings the host's connection has its own values of; the functions read its last statement. */
const CONNECTION_STATE = /\b(?:pragma|last_insert_rowid|changes|total_changes)\b/i;

/** A single read that leaves the session as it was and reads nothing of the connection's own. */
export function fastEligible(c: Classification, text: string): boolean {
  return c.count === 1 && c.readOnlyViolation === null && !c.altersSession && !c.transactionControl && !c.escape && !CONNECTION_STATE.test(text);
}

interface Opened {
  conn: OpenDb;
  /** `select cmx_budget(key, ms)`: arms (ms > 0) or disarms (0) the connection's budget. */
  arm: Database.Statement;
  key: Buffer;
  /** The host process running when it was opened. */
  host: number | null;
  begin: Database.Statement;
  /** `pragma schema_version`: the schema cookie, which every schema change moves. */
  version: Database.Statement;
  /** The schema cookie when the connection read the schema. */
  schema: bigint;
}

export class FastReads {
  private opened: Opened | null = null;
  private driver: Promise<typeof Database | null> | null = null;
  private Driver: typeof Database | null = null;
  private extension: string | null = null;

  constructor(private readonly cfg: DialectConfig & { file: string }) {}

  /** Loads the driver the first time a read could run here; false when this path is off (the extension is not built, or failed to load). */
  async ready(): Promise<boolean> {
    if (this.Driver) return true;
    this.driver ??= this.load();
    return (await this.driver) !== null;
  }

  private async load(): Promise<typeof Database | null> {
    this.extension = builtFile('sqlite-budget.so');
    if (!this.extension) {
      this.cfg.logger.info({ connection: this.cfg.name }, 'dist/sqlite-budget.so is not built: every SQLite statement runs in the host process');
      return null;
    }
    const { default: Driver } = await import('better-sqlite3');
    this.Driver = Driver;
    return Driver;
  }

  /**
   * The statement's result, or null when the host must run it: it was stopped at the budget,
   * met a lock or failed, or the database cannot be opened here. Call after ready(); `host`:
   * the pid of the connection's running host, if any.
   */
  run(stmt: Statement, limits: HostLimits, host: number | null): StatementResult | null {
    if (!this.Driver) return null;
    if (this.opened && this.opened.host !== host) this.close();
    try {
      this.opened ??= this.connect(host);
    } catch (err) {
      this.cfg.logger.debug({ connection: this.cfg.name, err: (err as Error).message }, 'a read could not open the database in the server process; the host runs it');
      return null;
    }
    const o = this.opened;
    const { conn, arm, key } = o;
    try {
      arm.run(key, Math.max(1, Math.min(FAST_BUDGET_MS, Math.floor(limits.timeoutMs))));
      // One read transaction, so the schema checked is the one the statement runs on. A
      // statement is prepared on the schema the connection last read, and a change made on
      // the host's connection (ALTER TABLE … ADD COLUMN) shows here only once a statement has
      // run: `SELECT *` came back with the old columns. A changed schema sends this read to the
      // host and the connection is opened again for the next.
      o.begin.run();
      if (o.version.get() !== o.schema) {
        this.close();
        return null;
      }
      return runOne(conn, stmt, limits.maxRows, limits.maxBytes);
    } catch {
      return null;
    } finally {
      if (conn.db.open && conn.db.inTransaction) {
        try {
          conn.db.exec('rollback');
        } catch {
          // A failed read transaction has nothing to keep.
        }
      }
      try {
        arm.run(key, 0);
      } catch {
        // Interrupted as the budget ran out: the watchdog disarms itself when it fires.
      }
    }
  }

  /** Closes the connection, if open; the next read opens it again. */
  close(): void {
    const o = this.opened;
    this.opened = null;
    try {
      o?.conn.db.close();
    } catch (err) {
      this.cfg.logger.warn({ connection: this.cfg.name, err: (err as Error).message }, 'closing the server-side SQLite reader failed');
    }
  }

  private connect(host: number | null): Opened {
    const Driver = this.Driver!;
    // timeout 0: a lock held by a writer sends the read to the host, whose busy timeout waits without blocking this process.
    const db = new Driver(this.cfg.file, { readonly: true, fileMustExist: true, timeout: 0 });
    try {
      try {
        db.loadExtension(this.extension!);
      } catch (err) {
        // Built for another machine, say: this path is off for good, not retried on every read.
        this.Driver = null;
        this.driver = Promise.resolve(null);
        this.cfg.logger.warn({ connection: this.cfg.name, err: (err as Error).message }, 'dist/sqlite-budget.so does not load: every SQLite statement runs in the host process');
        throw err;
      }
      const arm = db.prepare('select cmx_budget(?, ?)');
      const key = randomBytes(16);
      // The first call sets the key, before any other SQL reaches this connection.
      arm.run(key, 0);
      const version = db.prepare('pragma schema_version').pluck().safeIntegers(true);
      // The schema and its cookie read in one transaction: the same state.
      db.exec('begin');
      let schema: bigint;
      try {
        db.prepare('select count(*) from sqlite_schema').get();
        schema = version.get() as bigint;
      } finally {
        db.exec('rollback');
      }
      return { conn: { db, readOnly: true, busyTimeoutMs: 0 }, arm, key, host, begin: db.prepare('begin'), version, schema };
    } catch (err) {
      db.close();
      throw err;
    }
  }
}
