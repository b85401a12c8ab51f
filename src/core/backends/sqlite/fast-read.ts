/**
 * Reads the server runs in its own process, beside the connection's host (dialect.ts).
 *
 * A request to the host costs a round trip between two processes: two pipe writes that
 * each wake a sleeping process, about 0.1 ms a call on this kind of machine (bench/RESULTS.md),
 * which most reads do not need. So a read on a file database runs here first, on a
 * read-only connection of its own, within a budget of FAST_BUDGET_MS. The extension
 * native/sqlite-budget.c keeps the budget (better-sqlite3 itself cannot be stopped,
 * PITFALLS): a watchdog thread interrupts the statement between opcodes, and while armed an
 * authorizer and limits keep any one opcode short (small values and programs, no function
 * that costs more than linear time, a prepare refused once the budget is spent: the numbers
 * are the extension's) and keep out what would read this connection's own state rather than
 * the host's (pragma tables, the temp schema, changes(), last_insert_rowid()). What this
 * module declines before trying is below (fastEligible, the schema's objects). Whatever does
 * not succeed here (stopped, refused, a lock, an error of any kind) goes to the host as
 * before, which gives the answer, errors included: this path only returns results, the same
 * ones the host would have returned. The server's event loop waits at most about the budget.
 *
 * Not here: in-memory databases (they live in the host); statements that may change the
 * session; anything that is not a read. The connection follows the host's: it is opened
 * again when another host has started (so both read the file the host opened, even if
 * another file has been put at the path since), and closed while a session runs or the host
 * runs a statement that may change its session (a restore takes the file over, and leaving
 * WAL needs the file to itself).
 */
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import type { DialectConfig, Statement, StatementResult } from '../../dialect.js';
import type { Classification } from '../../readonly/types.js';
import { builtFile } from './host-process.js';
import type { HostLimits } from './host-protocol.js';
import { fileOf, runOne, type OpenDb } from './statements.js';

/** How long a read may run in the server's process before it is stopped and sent to the host. */
export const FAST_BUDGET_MS = 5;

/**
 * The schema objects a read of which runs in the host: views, virtual tables and tables
 * with generated columns. SQLite copies a view's SELECT into the statement at each place
 * that names it, and may flatten it further, before any check the budget can make (a chain
 * of views that each name the one below twice expands to 2^depth SELECTs: 2^14 took 0.2-0.5 s
 * to prepare); the flattener off (the extension), a view read here could come back in
 * another order than the host's. A full-text table prepares its content= view as it runs. A
 * generated column's expression was checked when the schema was read, not by the
 * authorizer: `LIKE` twenty times in one held the server two seconds. SQLite keeps a virtual
 * table's CREATE as written; `AS (` in a table's is a generated column (or a string or
 * comment that says so, which only errs toward the host).
 */
const SCHEMA_OBJECTS = "select type, name, sql from sqlite_schema where type in ('view', 'table')";
const GENERATED_OR_VIRTUAL = /^\s*create\s+virtual\s|(?<![\w$])as\s*\(/i;

/** The names of the schema objects whose reads run in the host (as said above). */
function declinedObjects(rows: Array<{ type: string; name: string; sql: string | null }>): string[] {
  return rows.filter((r) => r.type === 'view' || GENERATED_OR_VIRTUAL.test(r.sql ?? '')).map((r) => r.name);
}

/** After an open failed, reads go to the host for this long before another is tried. */
const REOPEN_AFTER_MS = 2000;

/** The longest statement text read here: 32 KiB of SQL prepares in a few milliseconds. */
const MAX_TEXT_CHARS = 32 * 1024;
/** The agent's parameters are bound before the first step: at most this many, this much text or bytes in all. */
const MAX_PARAMS = 64;
const MAX_PARAM_CHARS = 64 * 1024;

/**
 * The read budget. Tests that expect a read to run here widen it on a loaded machine, whose
 * own pauses would stop it (CODOMYRMEX_SQLITE_BUDGET_MS, up to 1,000; the extension reads it
 * too, for the open). Not a setting for operators: a wider budget holds other calls longer.
 */
function budgetMs(): number {
  const ms = Number(process.env.CODOMYRMEX_SQLITE_BUDGET_MS);
  return ms > 0 && ms <= 1000 ? ms : FAST_BUDGET_MS;
}

/**
 * A single read that leaves the session as it was, with no WITH (its tables are copied at
 * each place that names them, as views are) and no subquery in parentheses (nested ones can
 * be flattened into 2^depth copies of their expressions; the extension keeps the flattener
 * off, so one that slips past, behind a comment, costs no more than it reads). The words
 * anywhere, strings included, are enough: that only errs toward the host. The extension's
 * authorizer refuses what reads the connection's own state (PRAGMA, changes() …).
 */
export function fastEligible(c: Classification, stmt: Statement): boolean {
  return c.count === 1 && c.readOnlyViolation === null && !c.altersSession && !c.transactionControl && !c.escape
    && stmt.text.length <= MAX_TEXT_CHARS && !WITH.test(stmt.text) && !SUBQUERY.test(stmt.text) && smallParams(stmt.params);
}

const WITH = /(?<![\w$])with(?![\w$])/i;
const SUBQUERY = /\(\s*(?:select|values)(?![\w$])/i;

function smallParams(params: unknown[] | undefined): boolean {
  if (!params || params.length === 0) return true;
  if (params.length > MAX_PARAMS) return false;
  let chars = 0;
  for (const v of params) {
    if (typeof v === 'string') chars += v.length;
    else if (v instanceof Uint8Array) chars += v.byteLength;
  }
  return chars <= MAX_PARAM_CHARS;
}

/** Names the check can find in a text (the word, in any case, in any quotes): others make every read go to the host. */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/**
 * Matches the name of any object of `names` as a word (a name inside a string, or a column of
 * the same name, matches too, which only errs toward the host); null when there are none;
 * 'unknown' when a name cannot be found in every spelling.
 */
export function declinedNames(names: string[]): RegExp | 'unknown' | null {
  if (names.length === 0) return null;
  if (names.some((n) => !PLAIN_NAME.test(n))) return 'unknown';
  // PLAIN_NAME's one pattern character, `$`, escaped.
  return new RegExp(`(?<![\\w$])(?:${names.map((n) => n.replaceAll('$', '\\$')).join('|')})(?![\\w$])`, 'i');
}

/**
 * Whether process `pid` (the host) has the file open: a file put at the path after the host
 * opened its own must not be read here. Where /proc cannot tell (another system), yes.
 */
function hostHasOpen(pid: number, file: { dev: number; ino: number }): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return existsSync('/proc/self/fd') ? false : true;
  }
  return fds.some((fd) => {
    const st = fileOf(`/proc/${pid}/fd/${fd}`);
    return st !== null && st.dev === file.dev && st.ino === file.ino;
  });
}

/** Whether `text` names no object whose reads run in the host. */
function namesNone(declined: RegExp | 'unknown' | null, text: string): boolean {
  if (declined === null) return true;
  return declined !== 'unknown' && !declined.test(text);
}

interface Opened {
  conn: OpenDb;
  /** `select cmx_budget(key, ms)`: arms (ms > 0) or disarms (0) the connection's budget. */
  arm: Database.Statement;
  key: Buffer;
  /** The host process running when it was opened. */
  host: number;
  begin: Database.Statement;
  /** Prepared while the budget is not armed: the authorizer refuses a ROLLBACK prepared while it is. */
  rollback: Database.Statement;
  /** `pragma schema_version`: the schema cookie, which every schema change moves. */
  version: Database.Statement;
  /** The schema cookie when the connection read the schema. */
  schema: bigint;
  /** The views, virtual tables and tables with generated columns, whose reads run in the host; 'unknown': a name cannot be found in a text, so no read runs here. */
  declined: RegExp | 'unknown' | null;
}

export class FastReads {
  private opened: Opened | null = null;
  private driver: Promise<typeof Database | null> | null = null;
  private Driver: typeof Database | null = null;
  private extension: string | null = null;
  private openFailedAt = -Infinity;

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
    // Before the host has opened the file there is no file to read beside it.
    if (host === null) return null;
    if (!this.opened) {
      // An open that failed (a schema too large to read within its budget, a lock) is not tried on every read.
      if (performance.now() - this.openFailedAt < REOPEN_AFTER_MS) return null;
      try {
        this.opened = this.connect(host);
      } catch (err) {
        this.openFailedAt = performance.now();
        this.cfg.logger.debug({ connection: this.cfg.name, err: (err as Error).message }, 'a read could not open the database in the server process; the host runs it');
        return null;
      }
    }
    const o = this.opened;
    if (!namesNone(o.declined, stmt.text)) return null;
    let armed = false;
    try {
      try {
        // One read transaction, so the schema checked is the one the statement runs on. A
        // statement is prepared on the schema the connection last read, and a change made on
        // the host's connection (ALTER TABLE … ADD COLUMN) shows here only once a statement
        // has run: `SELECT *` came back with the old columns. A changed schema sends this read
        // to the host and the connection is opened again for the next (its schema is read
        // under the open's limits, not the reads'). Begun before the budget is armed: the
        // authorizer refuses everything but reads while it is.
        o.begin.run();
        if (o.version.get() !== o.schema) {
          this.close();
          return null;
        }
        o.arm.run(o.key, Math.max(1, Math.min(budgetMs(), Math.floor(limits.timeoutMs))));
        armed = true;
      } catch (err) {
        // A writer's lock: the host waits for it. Anything else in the connection's own steps: opened again for a later read.
        if ((err as { code?: string }).code !== 'SQLITE_BUSY') this.close();
        return null;
      }
      try {
        return runOne(o.conn, stmt, limits.maxRows, limits.maxBytes);
      } catch {
        return null;
      }
    } finally {
      this.finish(o, armed);
    }
  }

  /**
   * Disarms the budget and ends the read transaction. The disarm may itself be interrupted
   * (past the deadline the watchdog interrupts every millisecond; SQLite clears the flag when
   * the next statement starts): it is tried three times. A transaction that cannot be ended
   * would keep the host from the file, so then the connection is closed.
   */
  private finish(o: Opened, armed: boolean): void {
    if (!o.conn.db.open) return;
    for (let i = 0; armed && i < 3; i++) {
      try {
        o.arm.run(o.key, 0);
        armed = false;
      } catch {
        // Interrupted: once more.
      }
    }
    try {
      if (o.conn.db.inTransaction) o.rollback.run();
    } catch {
      // Handled below.
    }
    if ((armed || o.conn.db.inTransaction) && this.opened === o) this.close();
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

  private connect(host: number): Opened {
    const Driver = this.Driver!;
    const before = fileOf(this.cfg.file);
    if (!before || !hostHasOpen(host, before)) throw new Error('the file at the path is not the one the host has open');
    // timeout 0: a lock held by a writer sends the read to the host, whose busy timeout waits without blocking this process.
    const db = new Driver(this.cfg.file, { readonly: true, fileMustExist: true, timeout: 0 });
    try {
      const after = fileOf(this.cfg.file);
      if (after?.dev !== before.dev || after.ino !== before.ino) throw new Error('the file at the path was replaced while it was opened');
      try {
        db.loadExtension(this.extension!);
      } catch (err) {
        // Built for another machine, say: this path is off for good, not retried on every read.
        this.Driver = null;
        this.driver = Promise.resolve(null);
        this.cfg.logger.warn({ connection: this.cfg.name, err: (err as Error).message }, 'dist/sqlite-budget.so does not load: every SQLite statement runs in the host process');
        throw err;
      }
      // The extension starts armed (20 ms, native/sqlite-budget.c): these statements read the schema, which
      // takes long for a large one; interrupted, the open fails and reads go to the host. The
      // cookie, the schema and its views are read in one transaction: the same state.
      const begin = db.prepare('begin');
      const rollback = db.prepare('rollback');
      const version = db.prepare('pragma schema_version').pluck().safeIntegers(true);
      const arm = db.prepare('select cmx_budget(?, ?)');
      begin.run();
      let schema: bigint;
      let declined: RegExp | 'unknown' | null;
      try {
        schema = version.get() as bigint;
        declined = declinedNames(declinedObjects(db.prepare(SCHEMA_OBJECTS).all() as Array<{ type: string; name: string; sql: string | null }>));
      } finally {
        rollback.run();
      }
      // The first call sets the key (before any agent's SQL reaches this connection), the read
      // limits (values, columns, arguments, opcodes: the schema is read) and disarms.
      const key = randomBytes(16);
      arm.run(key, 0);
      return { conn: { db, readOnly: true, busyTimeoutMs: 0 }, arm, key, host, begin, rollback, version, schema, declined };
    } catch (err) {
      db.close();
      throw err;
    }
  }
}
