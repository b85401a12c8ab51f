/**
 * Reads the server runs in its own process, beside the connection's host (dialect.ts).
 *
 * A request to the host costs a round trip between two processes: two pipe writes that
 * each wake a sleeping process, about 0.1 ms a call on this kind of machine (bench/RESULTS.md),
 * which most reads do not need. So a read on a file database runs here first, on a
 * read-only connection of its own, within a budget of FAST_BUDGET_MS. The extension
 * native/sqlite-budget.c keeps the budget (better-sqlite3 itself cannot be stopped,
 * PITFALLS): a watchdog thread interrupts the statement between opcodes, and while armed an
 * authorizer and limits keep any one opcode short (values of at most 64 KiB, programs of at
 * most 5,000 opcodes, no function that costs more than linear time, a prepare refused once
 * the budget is spent) and keep out what would read this connection's own state rather than
 * the host's (pragma tables, the temp schema, changes(), last_insert_rowid()). Whatever does
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

/** The schema's views and virtual tables (SQLite keeps a virtual table's CREATE as written). */
const EXPANDING = "select name, sql, type = 'table' as virtual from sqlite_schema where type = 'view' or (type = 'table' and upper(substr(sql, 1, 20)) = 'CREATE VIRTUAL TABLE')";

/** After an open failed, reads go to the host for this long before another is tried. */
const REOPEN_AFTER_MS = 2000;

/**
 * The most SQL text a read here may expand to, its own and that of the views it names.
 * SQLite copies a view's (or a WITH table's) SELECT into the statement at each place that
 * names it, before any check the budget can make: a chain of views that each name the one
 * below twice expands to 2^depth SELECTs (2^14 took 0.2-0.5 s to prepare), and one large
 * view named 250 times took 6.8 s. Copies cost about 170 ms a megabyte of their text: 32 KiB, about 5 ms.
 */
const MAX_EXPANDED_CHARS = 32 * 1024;

/**
 * The read budget. Tests that expect a read to run here widen it on a loaded machine, whose
 * own pauses would stop it (CODOMYRMEX_SQLITE_BUDGET_MS, up to 1,000; the extension reads it
 * too, for the open). Not a setting for operators: a wider budget holds other calls longer.
 */
function budgetMs(): number {
  const ms = Number(process.env.CODOMYRMEX_SQLITE_BUDGET_MS);
  return ms > 0 && ms <= 1000 ? ms : FAST_BUDGET_MS;
}

/** PRAGMA reads settings the host's connection has its own values of; the functions read its last statement. */
const CONNECTION_STATE = /\b(?:pragma|last_insert_rowid|changes|total_changes)\b/i;

/** A single read that leaves the session as it was and reads nothing of the connection's own. */
export function fastEligible(c: Classification, text: string): boolean {
  return c.count === 1 && c.readOnlyViolation === null && !c.altersSession && !c.transactionControl && !c.escape && !CONNECTION_STATE.test(text) && !WITH.test(text);
}

/** A WITH table is copied at each place that names it, as a view is: such reads run in the host (the word anywhere, strings included, is enough). */
const WITH = /(?<![\w$])with(?![\w$])/i;

/** Names the check can find in a text (the word, in any case, in any quotes): others make every read go to the host. */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/** What a read that names a schema object expands to, when it is a view or a virtual table. */
export interface Expansions {
  /** Matches the name of any view or virtual table as a word. */
  names: RegExp;
  /** By lower-case name: the characters of SQL a read of it expands to (Infinity: too many, a cycle, a WITH, a virtual table). */
  chars: Map<string, number>;
}

/**
 * How much SQL each view expands to: its own text, plus that of every view its text names,
 * once per place (a name inside a string or a column of the same name counts too, which only
 * errs toward the host). A view whose text holds WITH, and a virtual table (a full-text table
 * prepares its content= view itself, as it runs), count as too much. null: the schema has
 * neither; 'unknown': a name the text check cannot find in every spelling.
 */
export function expansions(rows: Array<{ name: string; sql: string | null; virtual: boolean }>): Expansions | 'unknown' | null {
  if (rows.length === 0) return null;
  if (rows.some((r) => !PLAIN_NAME.test(r.name))) return 'unknown';
  const objects = new Map(rows.map((r) => [r.name.toLowerCase(), r]));
  // PLAIN_NAME's one pattern character, `$`, escaped.
  const names = new RegExp(`(?<![\\w$])(?:${rows.map((r) => r.name.replaceAll('$', '\\$')).join('|')})(?![\\w$])`, 'gi');
  const chars = new Map<string, number>();
  const visiting = new Set<string>();
  const charsOf = (name: string): number => {
    const known = chars.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) return Infinity; // a cycle: SQLite refuses it, this path leaves it to the host
    visiting.add(name);
    const { sql, virtual } = objects.get(name)!;
    const body = sql ?? '';
    let n = virtual || WITH.test(body) ? Infinity : body.length;
    let own = false; // the first place its own name appears is its CREATE VIEW
    for (const m of body.matchAll(names)) {
      if (n > MAX_EXPANDED_CHARS) break;
      const ref = m[0].toLowerCase();
      if (ref === name && !own) {
        own = true;
        continue;
      }
      n += charsOf(ref);
    }
    visiting.delete(name);
    chars.set(name, n > MAX_EXPANDED_CHARS ? Infinity : n);
    return chars.get(name)!;
  };
  for (const name of objects.keys()) charsOf(name);
  return { names, chars };
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

/** Whether a read of `text` expands to little enough SQL to prepare here. */
function expandsLittle(objects: Expansions | 'unknown' | null, text: string): boolean {
  if (text.length > MAX_EXPANDED_CHARS) return false;
  if (objects === null) return true;
  if (objects === 'unknown') return false;
  let n = text.length;
  for (const m of text.matchAll(objects.names)) {
    n += objects.chars.get(m[0].toLowerCase()) ?? 0;
    if (n > MAX_EXPANDED_CHARS) return false;
  }
  return true;
}

interface Opened {
  conn: OpenDb;
  /** `select cmx_budget(key, ms)`: arms (ms > 0) or disarms (0) the connection's budget. */
  arm: Database.Statement;
  key: Buffer;
  /** The host process running when it was opened. */
  host: number | null;
  begin: Database.Statement;
  /** Prepared while the budget is not armed: the authorizer refuses a ROLLBACK prepared while it is. */
  rollback: Database.Statement;
  /** `pragma schema_version`: the schema cookie, which every schema change moves. */
  version: Database.Statement;
  /** The schema cookie when the connection read the schema. */
  schema: bigint;
  /** What a read of each view or virtual table expands to; 'unknown': a name cannot be found in a text, so no read runs here. */
  objects: Expansions | 'unknown' | null;
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
    if (!expandsLittle(o.objects, stmt.text)) return null;
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
   * as the budget runs out (SQLite clears the flag when the next statement starts): it is
   * tried twice. A transaction that cannot be ended would keep the host from the file, so
   * then the connection is closed.
   */
  private finish(o: Opened, armed: boolean): void {
    if (!o.conn.db.open) return;
    for (let i = 0; armed && i < 2; i++) {
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
      let objects: Expansions | 'unknown' | null;
      try {
        schema = version.get() as bigint;
        const rows = db.prepare(EXPANDING).all() as Array<{ name: string; sql: string | null; virtual: number }>;
        objects = expansions(rows.map((r) => ({ ...r, virtual: r.virtual === 1 })));
      } finally {
        rollback.run();
      }
      // The first call sets the key (before any agent's SQL reaches this connection), the read
      // limits (values, columns, arguments, opcodes: the schema is read) and disarms.
      const key = randomBytes(16);
      arm.run(key, 0);
      return { conn: { db, readOnly: true, busyTimeoutMs: 0 }, arm, key, host, begin, rollback, version, schema, objects };
    } catch (err) {
      db.close();
      throw err;
    }
  }
}
