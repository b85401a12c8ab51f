/**
 * The child process that owns one SQLite database for the parent dialect (sqlite.ts).
 *
 * better-sqlite3 is synchronous and a running statement cannot be interrupted from
 * another thread, so the database lives here, where the parent can SIGKILL a runaway
 * statement without its own event loop ever blocking (PITFALLS.md, SQLite).
 *
 * Protocol: IPC with `serialization: 'advanced'` (Buffers and bigints cross intact).
 * Requests `{ id, op, ... }` are handled one at a time, in order (an asynchronous one,
 * `backup`, holds back the requests behind it until it is done); every request gets
 * exactly one reply `{ id, ok: true, result }` or `{ id, ok: false, error }`.
 * This file never writes to stdout: diagnostics go to stderr, one line each, and the
 * parent forwards them to its logger.
 */
import Database from 'better-sqlite3';
import { closeSync, fsyncSync, openSync, realpathSync, statSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { DbError, type ErrorCode } from '../../../errors.js';
import type { ColumnInfo, Statement, StatementResult } from '../../dialect.js';
import { elapsedSince, RowCollector } from '../../limits.js';
import { jsonByteLength } from '../../sql.js';

/** Per-call limits, copied from ExecOptions (a signal cannot cross processes). */
export interface HostLimits {
  maxRows: number;
  maxBytes: number;
  timeoutMs: number;
}

export type HostRequest =
  | { id: number; op: 'open'; file: string; readOnly: boolean; busyTimeoutMs: number }
  | { id: number; op: 'info' }
  | { id: number; op: 'execute'; stmt: Statement; limits: HostLimits }
  | { id: number; op: 'transaction'; stmts: Statement[]; limits: HostLimits; /** ROLLBACK at the end, whatever the connection. */ rollback: boolean }
  | { id: number; op: 'batch'; stmts: Statement[]; limits: HostLimits }
  | { id: number; op: 'iterate'; text: string; batchRows: number }
  | { id: number; op: 'next' }
  | { id: number; op: 'insert'; text: string; rows: unknown[][] }
  | { id: number; op: 'backup'; dest: string; count: string[] }
  | { id: number; op: 'checkpoint' }
  | { id: number; op: 'freeze'; count: string[] }
  | { id: number; op: 'takeover' }
  | { id: number; op: 'release' }
  | { id: number; op: 'close' };

/** What `takeover` found: the database is ours alone and locked, or why not (nothing changed then). */
export type HostTakeover = { ok: true; pageSize: number; pages: number } | { ok: false; reason: string };

/** What `freeze` found: the row counts, and the database file's length when it holds the session's snapshot unchanged until the snapshot ends. */
export interface HostFreeze {
  rows: number[];
  image: { bytes: number; wal: boolean; dev: number; ino: number } | null;
}

/** A batch of an iteration (`iterate`, then `next` until `done`). */
export interface HostRows {
  rows: unknown[][];
  done: boolean;
}

export interface WireError {
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
}

export type HostReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: WireError };

export interface HostInfo {
  sqlite_version: string;
}

/**
 * SQLite result codes (extended codes included, hence prefixes) -> our codes.
 * First match wins; a `message` narrows the generic SQLITE_ERROR.
 */
const SQLITE_ERROR_TABLE: ReadonlyArray<{ code: RegExp; message?: RegExp; to: ErrorCode }> = [
  { code: /^SQLITE_CONSTRAINT/, to: 'CONSTRAINT_VIOLATION' },
  { code: /^SQLITE_ERROR$/, message: /no such (table|column|index|view|function|collation|module|trigger|savepoint)/i, to: 'UNDEFINED_OBJECT' },
  { code: /^SQLITE_ERROR$/, message: /syntax error|incomplete input|unrecognized token/i, to: 'SYNTAX_ERROR' },
  { code: /^SQLITE_ERROR$/, message: /already exists/i, to: 'DUPLICATE_OBJECT' },
  // CREATE TABLE sqlite_master, sqlite_x ...: the name is the caller's mistake, not ours.
  { code: /^SQLITE_ERROR$/, message: /reserved for internal use/i, to: 'INVALID_INPUT' },
  // Mistakes in the statement itself, found while SQLite compiles it.
  { code: /^SQLITE_ERROR$/, message: /ambiguous column name|misuse of (aggregate|window)|wrong number of arguments|too many arguments|no tables specified|near ".*"|SELECTs to the left and right/i, to: 'SYNTAX_ERROR' },
  { code: /^SQLITE_READONLY/, to: 'READ_ONLY_VIOLATION' },
  { code: /^SQLITE_(BUSY|LOCKED)/, to: 'BUSY' },
  { code: /^SQLITE_(CANTOPEN|NOTADB)/, to: 'CONNECTION_FAILED' },
  // Compile-time limits: expression depth, compound SELECT terms, trigger recursion, the parser's stack, LIKE pattern length.
  { code: /^SQLITE_ERROR$/, message: /too large \(maximum depth|too many terms in compound SELECT|too many levels of trigger recursion|parser stack overflow|too many (columns|arguments|attached)|pattern too complex|LIKE or GLOB pattern too complex/i, to: 'LIMIT_EXCEEDED' },
  { code: /^SQLITE_TOOBIG/, to: 'LIMIT_EXCEEDED' },
  { code: /^SQLITE_(MISMATCH|RANGE)/, to: 'DATA_ERROR' },
  { code: /^SQLITE_FULL/, to: 'NO_SPACE' },
];

/** better-sqlite3 reports bad parameters and multi-statement strings as TypeError/RangeError. */
const DRIVER_INPUT_ERROR = /parameter|can only bind|SQL string|BigInt/i;

export function toDbError(err: unknown): DbError {
  if (err instanceof DbError) return err;
  if (err instanceof Database.SqliteError) {
    const rule = SQLITE_ERROR_TABLE.find((r) => r.code.test(err.code) && (!r.message || r.message.test(err.message)));
    return new DbError(rule?.to ?? 'INTERNAL', err.message, { sqlite_code: err.code }, { cause: err });
  }
  if ((err instanceof TypeError || err instanceof RangeError) && DRIVER_INPUT_ERROR.test(err.message)) {
    return new DbError('INVALID_INPUT', err.message, {}, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new DbError('INTERNAL', message || 'internal error in the SQLite host', {}, { cause: err });
}

interface OpenDb {
  db: Database.Database;
  readOnly: boolean;
  busyTimeoutMs: number;
}

let current: OpenDb | null = null;
/** The file the current connection opened, by device and inode (null: in memory, or unknown). */
let openedFile: { dev: number; ino: number } | null = null;
/** How the database was opened, to open it again after `release`. */
let lastOpen: Extract<HostRequest, { op: 'open' }> | null = null;

function log(msg: string, extra: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ msg, pid: process.pid, ...extra })}\n`);
}

function open(req: Extract<HostRequest, { op: 'open' }>): HostInfo {
  current?.db.close();
  current = null;
  lastOpen = req;
  const memory = req.file === ':memory:';
  // SQLite cannot open an in-memory database read-only; query_only still guards it.
  const db = new Database(req.file, { readonly: req.readOnly && !memory, fileMustExist: req.readOnly && !memory });
  openedFile = memory ? null : fileOf(req.file);
  try {
    db.pragma('foreign_keys = ON');
    if (req.readOnly) db.pragma('query_only = ON');
    else if (!memory) enableWal(db);
    current = { db, readOnly: req.readOnly, busyTimeoutMs: -1 };
    setBusyTimeout(current, req.busyTimeoutMs);
    return info();
  } catch (err) {
    db.close();
    current = null;
    throw err;
  }
}

/** WAL lets readers run beside a writer; failing to switch is not fatal (another process may hold a lock). */
function enableWal(db: Database.Database): void {
  try {
    db.pragma('journal_mode = WAL');
  } catch (err) {
    log('could not switch to WAL; keeping the current journal mode', { error: (err as Error).message });
  }
}

/** busy_timeout follows each call's statement timeout; the pragma runs only when it changes. */
function setBusyTimeout(conn: OpenDb, ms: number): void {
  const value = Math.max(0, Math.floor(ms));
  if (value === conn.busyTimeoutMs) return;
  conn.db.pragma(`busy_timeout = ${value}`);
  conn.busyTimeoutMs = value;
}

function requireDb(): OpenDb {
  if (!current) throw new DbError('CONNECTION_FAILED', 'the SQLite host has no open database');
  return current;
}

function info(): HostInfo {
  const row = requireDb().db.prepare('select sqlite_version() as v').get() as { v: string };
  return { sqlite_version: row.v };
}

/**
 * SQLite has no boolean, and better-sqlite3 binds every JS number as REAL (5 would be
 * stored as 5.0 in an untyped column): integers go in as bigint, booleans as 0/1.
 */
function toBindable(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (v instanceof Uint8Array && !Buffer.isBuffer(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

function prepare(conn: OpenDb, text: string): Database.Statement {
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

function runOne(conn: OpenDb, stmt: Statement, maxRows: number, maxBytes: number): StatementResult {
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

function execute(req: Extract<HostRequest, { op: 'execute' }>): StatementResult {
  const conn = requireDb();
  setBusyTimeout(conn, req.limits.timeoutMs);
  return runOne(conn, req.stmt, req.limits.maxRows, req.limits.maxBytes);
}

/** All-or-nothing; a read-only connection always rolls back. Rows share one byte budget. */
/**
 * Trusted statements in order, no transaction of its own (a session sends its BEGIN
 * and COMMIT inside batches): one round trip instead of one per statement. A failure
 * stops the batch; details.batch_index says which statement.
 */
function batch(req: Extract<HostRequest, { op: 'batch' }>): StatementResult[] {
  const conn = requireDb();
  setBusyTimeout(conn, req.limits.timeoutMs);
  return req.stmts.map((stmt, i) => {
    try {
      return runOne(conn, stmt, req.limits.maxRows, req.limits.maxBytes);
    } catch (err) {
      throw toDbError(err).withDetails({ batch_index: i });
    }
  });
}

function transaction(req: Extract<HostRequest, { op: 'transaction' }>): StatementResult[] {
  const conn = requireDb();
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

/**
 * One open iteration, stepped a batch per request, so the parent never holds a whole
 * table. While it is open no other statement can run on the connection (better-sqlite3
 * refuses): any other request ends it first.
 */
let iteration: { rows: IterableIterator<unknown>; batchRows: number } | null = null;

function endIteration(): void {
  iteration?.rows.return?.();
  iteration = null;
}

function nextBatch(): HostRows {
  if (!iteration) throw new DbError('INTERNAL', 'no iteration is open in the SQLite host');
  const rows: unknown[][] = [];
  while (rows.length < iteration.batchRows) {
    const r = iteration.rows.next();
    if (r.done) {
      iteration = null;
      return { rows, done: true };
    }
    rows.push(r.value as unknown[]);
  }
  return { rows, done: false };
}

function iterate(req: Extract<HostRequest, { op: 'iterate' }>): HostRows {
  const conn = requireDb();
  const stmt = prepare(conn, req.text);
  stmt.raw(true);
  iteration = { rows: stmt.iterate(), batchRows: req.batchRows };
  return nextBatch();
}

const inserts = new Map<string, Database.Statement>();

/** Bulk load: one prepared INSERT, run for every row (inside the session's transaction). */
function insert(req: Extract<HostRequest, { op: 'insert' }>): number {
  const conn = requireDb();
  let stmt = inserts.get(req.text);
  if (!stmt) {
    if (inserts.size > 64) inserts.clear();
    stmt = prepare(conn, req.text);
    inserts.set(req.text, stmt);
  }
  for (const row of req.rows) stmt.run(...row.map(toBindable));
  return req.rows.length;
}

/** Large enough to map a whole database: reads in the backup and counts skip a read() per page. */
const MMAP_BYTES = 0x7fff0000;

/**
 * The online backup API, every page in one step, inside a read transaction (the
 * session's snapshot, or one opened here): the counts and the copy see the same
 * snapshot, and writers on other connections (which go to the WAL) never restart it
 * (PITFALLS: a step-by-step backup restarts on every write). The copy's header says
 * WAL if the source is: bytes 18-19 are set to 1 (rollback journal), as `PRAGMA
 * journal_mode = DELETE` would, so opening the backup never leaves -wal/-shm files
 * beside it.
 */
async function backupTo(req: Extract<HostRequest, { op: 'backup' }>): Promise<number[]> {
  const { db } = requireDb();
  db.pragma(`mmap_size = ${MMAP_BYTES}`);
  // Inside the session's snapshot when it has one (the tables were listed in it).
  const own = !db.inTransaction;
  if (own) db.exec('BEGIN');
  try {
    const rows = countRows(db, req.count);
    await db.backup(req.dest, { progress: () => 0x7fffffff });
    const fd = openSync(req.dest, 'r+');
    try {
      writeSync(fd, Buffer.from([1, 1]), 0, 2, 18);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return rows;
  } finally {
    if (own && db.inTransaction) db.exec('ROLLBACK');
    db.pragma('mmap_size = 0');
  }
}

/**
 * Moves every frame of the WAL into the database file and empties the WAL, if that can
 * be done at once (busy_timeout 0: never waits); best effort, for `freeze`. Outside any
 * transaction. A PASSIVE checkpoint copies the frames without holding writers back (as
 * SQLite's automatic ones do); only when it copied them all does TRUNCATE, which holds
 * the WAL's write lock while it works, empty the WAL (nothing left to copy by then).
 */
function checkpoint(): null {
  const conn = requireDb();
  if (conn.readOnly || conn.db.inTransaction) return null;
  const busy = conn.busyTimeoutMs;
  setBusyTimeout(conn, 0);
  try {
    const passive = conn.db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    const r = passive[0];
    if (r && r.busy === 0 && r.log === r.checkpointed) conn.db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (err) {
    log('checkpoint before a backup did not run', { error: (err as Error).message });
  } finally {
    setBusyTimeout(conn, busy);
  }
  return null;
}

/** Row counts of quoted table names, in the current transaction. */
function countRows(db: Database.Database, tables: string[]): number[] {
  return tables.map((q) => Number(db.prepare(`SELECT count(*) FROM ${q}`).pluck().safeIntegers(true).get()));
}

/**
 * Inside the session's snapshot (a read transaction that has read): the row counts,
 * and whether the database file itself is that snapshot, frozen until the
 * transaction ends, so that a byte copy of its first page_count pages is a consistent
 * backup. In rollback-journal mode it is: our shared lock keeps every writer from
 * committing. In WAL mode it is when the WAL is empty (after `checkpoint`) while we
 * read: our snapshot then holds no frame, so SQLite reads it from the file alone under
 * WAL_READ_LOCK(0), and no checkpoint may write the file while that lock is held;
 * writers go on into the WAL. Otherwise (frames in the WAL) `image` is null and the
 * caller copies with `backup`.
 */
function freeze(req: Extract<HostRequest, { op: 'freeze' }>): HostFreeze {
  const { db } = requireDb();
  if (!db.inTransaction || !lastOpen || lastOpen.file === ':memory:') throw new DbError('INTERNAL', "freeze needs a file database and the session's snapshot");
  db.pragma(`mmap_size = ${MMAP_BYTES}`);
  try {
    const rows = countRows(db, req.count);
    const mode = String(db.pragma('journal_mode', { simple: true })).toLowerCase();
    const bytes = Number(db.pragma('page_count', { simple: true })) * Number(db.pragma('page_size', { simple: true }));
    // The file SQLite has open (by its device and inode: a file renamed over the path
    // since is not it), holding every page the snapshot has.
    const file = fileOf(lastOpen.file);
    if (!file || file.dev !== openedFile?.dev || file.ino !== openedFile.ino || file.size < bytes) return { rows, image: null };
    const image = { bytes, wal: mode === 'wal', dev: file.dev, ino: file.ino };
    if (mode === 'delete' || mode === 'truncate' || mode === 'persist') return { rows, image };
    if (mode === 'wal' && walBytes(lastOpen.file) === 0) return { rows, image };
    return { rows, image: null };
  } finally {
    db.pragma('mmap_size = 0');
  }
}

/** The device, inode and size of the file at `path` (symlinks followed); null when it cannot be read. */
function fileOf(path: string): { dev: number; ino: number; size: number } | null {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino, size: st.size };
  } catch {
    return null;
  }
}

/**
 * The size of the database's WAL file; -1 when it cannot be read. SQLite names the WAL
 * after the database's real path (symlinks resolved), and while a connection has the
 * database open in WAL mode the file exists: missing means we are not looking at it.
 */
function walBytes(file: string): number {
  try {
    return statSync(`${realpathSync(file)}-wal`).size;
  } catch {
    return -1;
  }
}

/**
 * Makes this connection the only user of an empty database and locks it, so the
 * parent can write a whole database file in its place. In WAL mode every connection
 * that has read holds a shared lock on the file, so leaving WAL (which needs the
 * exclusive lock) succeeds only when no other connection has the file open with a
 * cache: no one can be left reading stale pages. BEGIN EXCLUSIVE then keeps everyone
 * out (new readers wait) until `release`.
 */
function takeover(): HostTakeover {
  const conn = requireDb();
  const { db } = conn;
  const busy = conn.busyTimeoutMs;
  setBusyTimeout(conn, 0);
  try {
    const mode = String(db.pragma('journal_mode = DELETE', { simple: true }));
    if (mode !== 'delete') return { ok: false, reason: `the database stays in ${mode} mode` };
  } catch (err) {
    if (toDbError(err).code === 'BUSY') return { ok: false, reason: 'another connection has the database open' };
    throw err;
  } finally {
    setBusyTimeout(conn, busy);
  }
  const pages = Number(db.pragma('page_count', { simple: true }));
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  if (pages > 1) {
    enableWal(db);
    return { ok: false, reason: 'the database is not empty' };
  }
  db.exec('BEGIN EXCLUSIVE');
  return { ok: true, pageSize, pages };
}

/** Ends `takeover`: the file may hold another database now, so this connection (and its cache) is replaced by a fresh one. */
function release(): null {
  const conn = requireDb();
  conn.db.close();
  current = null;
  if (lastOpen) open(lastOpen);
  return null;
}

function dispatch(req: HostRequest): unknown {
  if (req.op !== 'next') endIteration();
  // Prepared statements belong to the connection: a new one (open, release) or none (close) drops them.
  if (req.op === 'open' || req.op === 'close' || req.op === 'release') inserts.clear();
  switch (req.op) {
    case 'iterate': return iterate(req);
    case 'next': return nextBatch();
    case 'insert': return insert(req);
    case 'backup': return backupTo(req);
    case 'checkpoint': return checkpoint();
    case 'freeze': return freeze(req);
    case 'takeover': return takeover();
    case 'release': return release();
    case 'open': return open(req);
    case 'info': return info();
    case 'execute': return execute(req);
    case 'transaction': return transaction(req);
    case 'batch': return batch(req);
    case 'close':
      current?.db.close();
      current = null;
      return null;
    default: throw new DbError('INVALID_INPUT', `unknown host operation: ${String((req as { op?: unknown }).op)}`);
  }
}

async function handle(msg: unknown): Promise<HostReply | null> {
  const id = (msg as { id?: unknown } | null)?.id;
  if (typeof id !== 'number') {
    log('ignored a message without a numeric id');
    return null;
  }
  try {
    return { id, ok: true, result: await dispatch(msg as HostRequest) };
  } catch (err) {
    return { id, ok: false, error: toDbError(err).toJSON() };
  }
}

/**
 * A runaway statement blocks this thread, so the 'disconnect' event cannot fire when the
 * parent dies (SIGKILL, crash) and the statement would run on as an orphan. A thread of
 * its own notices the new parent pid and kills the process.
 */
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
setInterval(() => { if (process.ppid !== workerData.parent) process.kill(process.pid, 'SIGKILL'); }, 500);
`;

function startOrphanWatchdog(): void {
  const worker = new Worker(WATCHDOG, { eval: true, workerData: { parent: process.ppid } });
  worker.on('error', (err) => log('orphan watchdog failed', { error: err.message }));
  worker.unref();
}

function main(): void {
  if (!process.send) {
    process.stderr.write('sqlite-host runs as a child of codomyrmex-db (needs an IPC channel)\n');
    process.exit(2);
  }
  startOrphanWatchdog();
  // In order: a request waits for the one before it, even an asynchronous one.
  let queue: Promise<void> = Promise.resolve();
  process.on('message', (msg) => {
    queue = queue.then(async () => {
      const reply = await handle(msg);
      if (reply) send(msg as HostRequest, reply);
    });
  });
  // The parent is gone (or closed us): nothing left to serve. Closing flushes WAL state cleanly.
  process.on('disconnect', () => {
    current?.db.close();
    process.exit(0);
  });
}

function send(msg: HostRequest, reply: HostReply): void {
  const closing = msg.op === 'close';
  process.send?.(reply, undefined, {}, (err) => {
    if (err) log('could not send a reply', { id: reply.id, error: err.message });
    // Disconnect only once the reply is written, so the parent sees the close confirmed.
    if (closing) process.disconnect();
  });
}

main();
