/**
 * MySQL and MariaDB through mysql2's callback API, which streams rows as events
 * so a large result costs bounded memory. Never `multipleStatements`.
 * Statements with parameters use the binary protocol (server-side binding, no
 * client-side escaping that a sql_mode could defeat); others the text protocol.
 */
import type { FieldPacket, Pool, PoolConnection, Connection } from 'mysql2';
import { DbError } from '../../../errors.js';
import { mysqlUrlOptions, type MysqlUrlOptions } from './url.js';
import type { Capabilities, Dialect, DialectConfig, ExecOptions, Row, ServerInfo, Session, SessionOptions, Statement, StatementResult } from '../../dialect.js';
import { CONNECT_TIMEOUT_MS, createGate, elapsedSince, MAX_MESSAGE_BYTES, RowCollector } from '../../limits.js';
import { commitError, enforceStatementPolicy, explainWrapped, runInOrder, withStatementIndex } from '../../policy.js';
import { classifyMysql } from './classify.js';
import { boundedClassifier, hasConditionalComment, leadingKeywordOf, type Analysis } from '../../offload/index.js';
import type { Classification } from '../../readonly/types.js';
import { retryLostRead } from '../../recovery.js';
import { cachedClassifier } from '../../readonly/cache.js';
import { exactNumber } from '../../sql.js';
import { insertRows, streamRows } from './bulk.js';
import { fromMysqlError } from './errors.js';
import { mysqlSocketFactory } from './socket.js';

const CAPABILITIES: Capabilities = {
  transactionalDdl: false,
  advisoryLocks: true,
  explainAnalyze: true,
  cancelKeepsDatabase: true,
  readOnlyTransactions: true,
};

const CLIENT_KILL_GRACE_MS = 250;
const HARD_DEADLINE_GRACE_MS = 5000;

/**
 * Statements that never commit the open transaction by themselves. Anything else
 * (DDL, LOCK, FLUSH, CALL of a procedure that may hold DDL ...) is refused inside
 * execute_transaction, where all-or-nothing would be a lie on MySQL/MariaDB.
 */
const TRANSACTIONAL = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'WITH', 'VALUES', 'TABLE', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN', 'DO']);

type Flavor = 'mariadb' | 'mysql';

interface Run {
  cmd: { on(event: string, fn: (...args: never[]) => void): unknown };
  why?: 'CANCELLED' | 'TIMEOUT' | 'CAP';
}

/**
 * mysql://user:pass@host:port/db?ssl-mode=… (or mariadb://) -> mysql2 options. Only the
 * checked parameters (TLS, connect_timeout) become options; the session options mysql2
 * has (multipleStatements, flags, localInfile, charset, timezone, typeCast …) are ours.
 */
export function mysqlOptionsFromUrl(url: string): { host: string; port: number; user: string; password: string; database?: string } & MysqlUrlOptions {
  const u = new URL(url.replace(/^mariadb:/, 'mysql:'));
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    database: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : undefined,
    ...mysqlUrlOptions(url),
  };
}

const TYPE_NAMES: Record<number, string> = {
  0: 'decimal', 1: 'tinyint', 2: 'smallint', 3: 'int', 4: 'float', 5: 'double', 6: 'null', 7: 'timestamp',
  8: 'bigint', 9: 'mediumint', 10: 'date', 11: 'time', 12: 'datetime', 13: 'year', 14: 'date', 15: 'varchar',
  16: 'bit', 245: 'json', 246: 'decimal', 247: 'enum', 248: 'set', 249: 'tinyblob', 250: 'mediumblob',
  251: 'longblob', 252: 'blob', 253: 'varchar', 254: 'char', 255: 'geometry',
};

/** character set 63 is "binary": the BLOB and BINARY types; any other makes them TEXT and CHAR. */
const BINARY_CHARSET = 63;
const TEXT_NAMES: Record<string, string> = { tinyblob: 'tinytext', mediumblob: 'mediumtext', longblob: 'longtext', blob: 'text', varchar: 'varchar', char: 'char' };
const BINARY_NAMES: Record<string, string> = { varchar: 'varbinary', char: 'binary' };

/**
 * The type get_schema would name. The wire type alone says BLOB for every TEXT column
 * and VARCHAR for VARBINARY: the character set tells them apart. MariaDB sends its own
 * types (JSON, UUID, INET6) in extended metadata, which mysql2 negotiates and exposes.
 */
function columnTypeName(f: FieldPacket): string {
  const ext = f as FieldPacket & { extendedTypeName?: string; extendedFormat?: string };
  if (ext.extendedFormat === 'json') return 'json';
  if (ext.extendedTypeName) return ext.extendedTypeName.toLowerCase();
  const wire = TYPE_NAMES[f.columnType ?? -1] ?? '';
  if (!(wire in TEXT_NAMES)) return wire;
  return f.characterSet === BINARY_CHARSET ? (BINARY_NAMES[wire] ?? wire) : TEXT_NAMES[wire];
}

/** DATETIME '2024-01-02 03:04:05.123' -> ISO 8601; TIMESTAMP is UTC in our sessions, so it gets a Z. */
function isoDate(value: unknown, type: number): unknown {
  if (typeof value !== 'string' || !/^\d{4}-\d\d-\d\d \d/.test(value)) return value;
  return value.replace(' ', 'T') + (type === 7 ? 'Z' : '');
}

/** Dates as ISO 8601 (mysql2 gives text: dateStrings); DECIMAL as a number only when exact, as on PostgreSQL. */
function convertRow(row: unknown[], fields: FieldPacket[]): unknown[] {
  fields.forEach((f, i) => {
    const t = f.columnType ?? -1;
    if (t === 7 || t === 12) row[i] = isoDate(row[i], t);
    else if ((t === 0 || t === 246) && typeof row[i] === 'string') row[i] = exactNumber(row[i] as string);
  });
  return row;
}

/**
 * The session every pooled connection starts from, re-applied after each reset:
 * UTC, our statement timeout, and a sql_mode without ANSI_QUOTES and
 * NO_BACKSLASH_ESCAPES so the server reads quotes as the read-only lexer does.
 * IGNORE_SPACE goes too: mysql2 asks for it in the handshake (CLIENT_IGNORE_SPACE),
 * but COM_RESET_CONNECTION falls back to the global mode, so without this the first
 * call on a connection would parse differently from every later one.
 */
function sessionSql(flavor: 'mariadb' | 'mysql', timeoutMs: number): string {
  const strip = (expr: string, flag: string): string => `REPLACE(${expr}, ',${flag},', ',')`;
  const mode = `TRIM(BOTH ',' FROM ${strip(strip(strip(`CONCAT(',', @@SESSION.sql_mode, ',')`, 'ANSI_QUOTES'), 'NO_BACKSLASH_ESCAPES'), 'IGNORE_SPACE')})`;
  // NAMES too: the reset may fall back to the server's default character set, and a
  // multi-byte one (gbk, sjis, big5) would read a `\` inside a character the lexer never sees.
  return `SET NAMES utf8mb4 COLLATE utf8mb4_general_ci, time_zone = '+00:00', SESSION sql_mode = ${mode}, ${timeoutAssignment(flavor, timeoutMs)}`;
}

function timeoutAssignment(flavor: 'mariadb' | 'mysql', ms: number): string {
  return flavor === 'mariadb' ? `SESSION max_statement_time = ${(ms / 1000).toFixed(3)}` : `SESSION max_execution_time = ${Math.floor(ms)}`;
}

export function createMysqlDialect(cfg: DialectConfig): Dialect {
  const gate = createGate(cfg.poolSize, cfg.acquireTimeoutMs);
  // Long texts are classified off the main thread, with a deadline (offload/index.ts).
  const classify = boundedClassifier('mysql', cachedClassifier(classifyMysql));
  const base = mysqlOptionsFromUrl(cfg.url);
  let pool: Pool | undefined;
  let control: Connection | undefined;
  let flavor: Flavor = 'mariadb';
  let info: ServerInfo | undefined;
  /** The role a new session of this account starts with (MariaDB), re-applied after each reset. */
  let defaultRole: string | null = null;

  const timeoutSql = (ms: number): string => `SET ${timeoutAssignment(flavor, ms)}`;
  // MariaDB's ANALYZE FORMAT=JSON runs the statement and reports r_rows; MySQL's EXPLAIN ANALYZE only prints a tree.
  const explainText = (text: string, analyze: boolean): string => `${analyze && flavor === 'mariadb' ? 'ANALYZE' : 'EXPLAIN'} FORMAT=JSON ${text}`;

  // `base` first: the options after it are pinned, whatever the URL says.
  const commonOptions = () => ({
    // The bound on opening (limits.ts); a URL's connect_timeout replaces it.
    connectTimeout: CONNECT_TIMEOUT_MS,
    ...base,
    multipleStatements: false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: false,
    dateStrings: true,
    timezone: 'Z',
    charset: 'utf8mb4',
    enableKeepAlive: true,
    // Our sockets bound one protocol message (mysql-socket.ts).
    stream: mysqlSocketFactory(MAX_MESSAGE_BYTES),
  });

  /** A connection that could not be opened failed to connect, even if the peer hung up on us (not MySQL?). */
  const openError = (err: unknown): DbError => {
    const e = fromMysqlError(err);
    return e.code === 'CONNECTION_LOST' ? new DbError('CONNECTION_FAILED', `${base.host}:${base.port} closed the connection before the MySQL handshake completed; is it a MySQL server?`, { ...e.details, endpoint: `${base.host}:${base.port}` }) : e;
  };

  /** A connection of its own for KILL QUERY, so a full pool can still be cancelled. */
  async function controlConnection(): Promise<Connection> {
    if (control) return control;
    const mysql = (await import('mysql2')).default;
    const conn = mysql.createConnection(commonOptions());
    conn.on('error', () => { if (control === conn) control = undefined; });
    await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(openError(err)) : resolve())));
    control = conn;
    return conn;
  }

  async function openPool(): Promise<Pool> {
    if (pool) return pool;
    const ctl = await controlConnection();
    const [rows] = await ctl.promise().query('SELECT VERSION() AS v, DATABASE() AS db, CURRENT_USER() AS u');
    const row = (rows as Array<Record<string, unknown>>)[0];
    flavor = /mariadb/i.test(String(row.v)) ? 'mariadb' : 'mysql';
    info = { server_version: String(row.v), database: String(row.db ?? ''), flavor, user: String(row.u) };
    if (flavor === 'mariadb') {
      const [roles] = await ctl.promise().query('SELECT CURRENT_ROLE() AS r');
      defaultRole = ((roles as Array<Record<string, unknown>>)[0]?.r as string | null) ?? null;
    }
    if (pool) return pool;
    const mysql = (await import('mysql2')).default;
    const p = mysql.createPool({ ...commonOptions(), connectionLimit: cfg.poolSize, maxIdle: cfg.poolSize, idleTimeout: 60_000 });
    p.on('connection', (conn) => {
      // mysql2 emits 'error' on a connection for a command it cannot even send (closed
      // state); with no listener that event would end the process.
      conn.on('error', (err: Error) => cfg.logger.warn({ err: err.message }, 'connection error'));
      conn.query(sessionSql(flavor, cfg.statementTimeoutMs), (err) => err && cfg.logger.warn({ err: err.message }, 'session setup failed'));
    });
    pool = p;
    return p;
  }

  async function acquire(signal?: AbortSignal): Promise<{ conn: PoolConnection; release: (destroy: boolean) => void }> {
    const releaseSlot = await gate.acquire(signal);
    try {
      const p = await openPool();
      const conn = await new Promise<PoolConnection>((resolve, reject) => p.getConnection((err, c) => (err ? reject(openError(err)) : resolve(c))));
      return { conn, release: (destroy) => void cleanRelease(conn, destroy).finally(releaseSlot) };
    } catch (err) {
      releaseSlot();
      throw fromMysqlError(err);
    }
  }

  /**
   * Every connection goes back clean: COM_RESET_CONNECTION drops user variables,
   * temporary tables, prepared statements, named locks, table locks, the transaction
   * and session settings (also those a stored function or trigger changed), then our
   * session is re-applied. It keeps the current database (`USE other_db` would
   * otherwise follow the connection to the next caller), so that is restored and
   * checked too. A connection that cannot be reset, or that must not be reused, is destroyed.
   */
  async function cleanRelease(conn: PoolConnection, destroy: boolean): Promise<void> {
    if (!destroy) {
      try {
        await new Promise<void>((resolve, reject) => conn.reset((err: unknown) => (err ? reject(err) : resolve())));
        await simple(conn, sessionSql(flavor, cfg.statementTimeoutMs));
        if (await restoreDatabase(conn)) {
          conn.release();
          return;
        }
        cfg.logger.warn('a connection kept another current database after its reset; it is closed instead');
      } catch (err) {
        cfg.logger.warn({ err: (err as Error).message }, 'could not reset a connection; it is closed instead');
      }
    }
    conn.destroy();
  }

  /**
   * Back to the URL's database and the account's default role: MariaDB 10.11's
   * COM_RESET_CONNECTION keeps both (`USE other_db`, `SET ROLE r` would follow the
   * connection to the next caller). False when there is no way back (no database in
   * the URL), and the caller destroys the connection.
   */
  async function restoreDatabase(conn: PoolConnection): Promise<boolean> {
    const wanted = base.database ?? null;
    const [row] = await rowsOf(conn, `SELECT DATABASE() AS db${flavor === 'mariadb' ? ', CURRENT_ROLE() AS r' : ''}`, []);
    if (flavor === 'mariadb' && (row?.r ?? null) !== defaultRole) {
      await simple(conn, `SET ROLE ${defaultRole === null ? 'NONE' : `\`${defaultRole.replaceAll('`', '``')}\``}`);
    }
    if ((row?.db ?? null) === wanted) return true;
    if (wanted === null) return false;
    await simple(conn, `USE \`${wanted.replaceAll('`', '``')}\``);
    return true;
  }

  function simple(conn: PoolConnection, text: string): Promise<void> {
    return new Promise((resolve, reject) => conn.query(text, (err) => (err ? reject(fromMysqlError(err)) : resolve())));
  }

  async function kill(run: Run, conn: PoolConnection, why: NonNullable<Run['why']>): Promise<void> {
    if (run.why) return;
    run.why = why;
    try {
      const ctl = await controlConnection();
      await ctl.promise().query(`KILL QUERY ${Number(conn.threadId)}`);
    } catch (err) {
      cfg.logger.warn({ err: (err as Error).message }, 'KILL QUERY failed');
    }
  }

  /**
   * MariaDB stops a recursive CTE at max_recursive_iterations with only a warning (1931,
   * "the query result may be incomplete") on a read: a result cut short that way is an
   * error, not an answer. Asked only of statements that name RECURSIVE.
   */
  async function runChecked(conn: PoolConnection, stmt: Statement, opts: ExecOptions, killOnCap: boolean): Promise<StatementResult> {
    const result = await runOne(conn, stmt, opts, killOnCap);
    if (!/\brecursive\b/i.test(stmt.text)) return result;
    const warnings = await new Promise<Array<{ Code?: number; Message?: string }>>((resolve, reject) => {
      conn.query('SHOW WARNINGS', (err, rows) => (err ? reject(fromMysqlError(err)) : resolve(rows as Array<{ Code?: number; Message?: string }>)));
    });
    const cut = warnings.find((w) => Number(w.Code) === 1931);
    if (cut) throw new DbError('LIMIT_EXCEEDED', `the recursion stopped at max_recursive_iterations, so the result would be incomplete: ${String(cut.Message ?? '')}`.trim(), { errno: 1931 });
    return result;
  }

  function runOne(conn: PoolConnection, stmt: Statement, opts: ExecOptions, killOnCap: boolean): Promise<StatementResult> {
    const start = performance.now();
    const collector = new RowCollector(opts.maxRows, opts.maxBytes);
    // Rows as arrays: a JOIN's two `id` columns both survive (RowCollector makes the keys unique).
    const cmd = stmt.params.length
      ? conn.execute({ sql: stmt.text, values: stmt.params as never[], rowsAsArray: true })
      : conn.query({ sql: stmt.text, rowsAsArray: true });
    const run: Run = { cmd };
    let fields: FieldPacket[] | undefined;
    let affected: number | null = null;
    let killing: Promise<void> | undefined;
    return new Promise<StatementResult>((resolve, reject) => {
      let settled = false;
      const onAbort = (): void => { killing = kill(run, conn, 'CANCELLED'); };
      const clientTimer = setTimeout(() => { killing = kill(run, conn, 'TIMEOUT'); }, opts.timeoutMs + CLIENT_KILL_GRACE_MS);
      const hardTimer = setTimeout(() => settle(new DbError('CONNECTION_LOST', 'the database stopped answering; the statement was abandoned')), opts.timeoutMs + HARD_DEADLINE_GRACE_MS);
      // A connection killed by the server does not always fail the running command: watch the socket too.
      const socket = (conn as unknown as { stream?: NodeJS.EventEmitter }).stream;
      const onClosed = (): void => settle(new DbError('CONNECTION_LOST', 'the connection to the database was lost', { driver_code: 'CONNECTION_CLOSED' }));
      socket?.once('close', onClosed);
      conn.once('error', onClosed);
      const settle = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(clientTimer);
        clearTimeout(hardTimer);
        socket?.removeListener('close', onClosed);
        conn.removeListener('error', onClosed);
        opts.signal?.removeEventListener('abort', onAbort);
        // Never hand the connection back while a KILL QUERY for it is still in flight.
        void (killing ?? Promise.resolve()).then(() => {
          if (!err || (run.why === 'CAP' && (err as { errno?: number }).errno === 1317)) {
            const keys = fields ? collector.setColumns(fields.map((f) => f.name)) : [];
            resolve({
              columns: (fields ?? []).map((f, i) => ({ name: keys[i] ?? f.name, type: columnTypeName(f) })),
              rows: collector.rows,
              row_count: affected ?? collector.rows.length,
              affected_rows: affected,
              truncated: collector.truncated,
              elapsed_ms: elapsedSince(start),
            });
          } else reject(errorFor(err, run, opts));
        });
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.signal?.aborted) onAbort();
      // mysql2 also emits 'fields' (undefined) for statements that return no rows.
      cmd.on('fields', (f: FieldPacket[] | undefined) => {
        if (!f) return;
        fields = f;
        collector.setColumns(f.map((x) => x.name));
      });
      cmd.on('result', (row: unknown[]) => {
        if (!fields) {
          affected = Number((row as { affectedRows?: number }).affectedRows ?? 0);
          return;
        }
        if (!collector.add(convertRow(row, fields)) && killOnCap) killing ??= kill(run, conn, 'CAP');
      });
      cmd.on('error', (err: unknown) => settle(err ?? new Error('unknown driver error')));
      cmd.on('end', () => settle());
    });
  }

  function errorFor(err: unknown, run: Run, opts: ExecOptions): DbError {
    const e = fromMysqlError(err);
    if (run.why === 'CANCELLED') return new DbError('CANCELLED', 'the statement was cancelled by the client', e.details);
    if (e.code === 'TIMEOUT' || run.why === 'TIMEOUT') {
      return new DbError('TIMEOUT', `the statement was stopped after ${opts.timeoutMs} ms (statement timeout)`, { ...e.details, timeout_ms: opts.timeoutMs });
    }
    return e;
  }

  async function withTimeout<T>(conn: PoolConnection, opts: ExecOptions, fn: () => Promise<T>): Promise<{ value: T; dirty: boolean }> {
    if (opts.timeoutMs === cfg.statementTimeoutMs) return { value: await fn(), dirty: false };
    await simple(conn, timeoutSql(opts.timeoutMs));
    let dirty = false;
    try {
      return { value: await fn(), dirty };
    } finally {
      await simple(conn, timeoutSql(cfg.statementTimeoutMs)).catch(() => { dirty = true; });
    }
  }

  /**
   * On a connection whose database is the `mysql` system schema, unqualified names are
   * its tables (`DELETE FROM user`), which the escape list cannot see: only reads run there.
   */
  function enforceSystemSchema(c: Classification): void {
    if (base.database?.toLowerCase() !== 'mysql' || c.readOnlyViolation === null) return;
    throw new DbError('PERMISSION_DENIED', 'not run: this connection\'s database is the mysql system schema (accounts and privileges), where only reads are allowed', { reason: 'writes to the mysql system schema' });
  }

  async function execute(stmt: Statement, opts: ExecOptions): Promise<StatementResult> {
    const c = await classify(stmt.text);
    enforceStatementPolicy(c, cfg.readOnly);
    enforceSystemSchema(c);
    const sent = explainWrapped(stmt, c, opts, cfg.readOnly, explainText);
    // A read that lost its connection (a restart, a killed session) is safe to repeat; a write never is.
    if (c.readOnlyViolation !== null) return executeOnce(sent, opts);
    return retryLostRead(() => executeOnce(sent, opts), cfg.logger, opts.signal);
  }

  async function executeOnce(stmt: Statement, opts: ExecOptions): Promise<StatementResult> {
    // KILL QUERY at the row cap undoes what the statement wrote, and a stored function
    // can write from a SELECT: only on read-only connections (all rolled back anyway) is it stopped early.
    const killOnCap = cfg.readOnly;
    const { conn, release } = await acquire(opts.signal);
    let destroy = false;
    try {
      if (!cfg.readOnly) {
        const { value, dirty } = await withTimeout(conn, opts, () => runChecked(conn, stmt, opts, killOnCap));
        destroy ||= dirty;
        return value;
      }
      await simple(conn, 'START TRANSACTION READ ONLY');
      try {
        return (await withTimeout(conn, opts, () => runChecked(conn, stmt, opts, killOnCap))).value;
      } finally {
        await simple(conn, 'ROLLBACK').catch(() => { destroy = true; });
      }
    } catch (err) {
      if (err instanceof DbError && (err.code === 'CONNECTION_LOST' || err.code === 'TIMEOUT')) destroy = true;
      throw err;
    } finally {
      release(destroy);
    }
  }

  /** Checks each statement (policy, nothing that commits implicitly); returns what to send. */
  async function checkTransactional(stmts: Statement[], opts: ExecOptions, rolledBack: boolean): Promise<Statement[]> {
    const classified: Analysis[] = [];
    for (const [i, s] of stmts.entries()) classified.push(await withStatementIndex(i, () => classify(s.text)));
    return stmts.map((s, i) => withStatementIndex(i, () => {
      const c = classified[i]!;
      enforceStatementPolicy(c, cfg.readOnly);
      enforceSystemSchema(c);
      const kw = leadingKeywordOf(c, s.text, 'mysql');
      const hidden = hasConditionalComment(c, s.text);
      if (!TRANSACTIONAL.has(kw ?? '') || hidden) {
        throw new DbError('UNSUPPORTED', `${hidden ? 'a /*! */ comment' : kw} may commit the transaction implicitly on MySQL/MariaDB, so execute_transaction cannot make it all-or-nothing; run it alone with execute_query (or as a migration)`);
      }
      return explainWrapped(s, c, opts, rolledBack, explainText);
    }));
  }

  async function transaction(stmts: Statement[], opts: ExecOptions): Promise<StatementResult[]> {
    const rolledBack = cfg.readOnly || opts.rollback === true;
    stmts = await checkTransactional(stmts, opts, rolledBack);
    const { conn, release } = await acquire(opts.signal);
    let destroy = false;
    try {
      await simple(conn, cfg.readOnly ? 'START TRANSACTION READ ONLY' : 'START TRANSACTION');
      const { value } = await withTimeout(conn, opts, () => runAll(conn, stmts, opts));
      await simple(conn, rolledBack ? 'ROLLBACK' : 'COMMIT').catch((err: DbError) => { throw commitError(err); });
      return value;
    } catch (err) {
      await simple(conn, 'ROLLBACK').catch(() => { destroy = true; });
      if (err instanceof DbError && (err.code === 'CONNECTION_LOST' || err.code === 'TIMEOUT')) destroy = true;
      throw err;
    } finally {
      release(destroy);
    }
  }

  async function runAll(conn: PoolConnection, stmts: Statement[], opts: ExecOptions): Promise<StatementResult[]> {
    // KILL QUERY inside a transaction would abort it, so rows past the cap are read and dropped.
    return runInOrder(stmts, opts, (stmt, o) => runChecked(conn, stmt, o, false));
  }

  /** Rows of one statement on a pinned connection (small catalog reads: not capped). */
  function rowsOf(conn: PoolConnection, text: string, params: unknown[]): Promise<Row[]> {
    return new Promise((resolve, reject) => {
      const done = (err: unknown, rows: unknown): void => (err ? reject(fromMysqlError(err)) : resolve(Array.isArray(rows) ? (rows as Row[]) : []));
      if (params.length) conn.execute(text, params as never[], done);
      else conn.query(text, done);
    });
  }

  async function withSession<T>(fn: (s: Session) => Promise<T>, opts: SessionOptions): Promise<T> {
    const { conn, release } = await acquire(opts.signal);
    let inTransaction = false;
    const trusted = async (text: string, signal?: AbortSignal): Promise<void> => {
      if (signal?.aborted) throw new DbError('CANCELLED', 'cancelled by the client');
      const run: Run = { cmd: { on: () => undefined } };
      let killing: Promise<void> | undefined;
      const onAbort = (): void => { killing = kill(run, conn, 'CANCELLED'); };
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await simple(conn, text);
      } catch (err) {
        throw run.why === 'CANCELLED' ? new DbError('CANCELLED', 'cancelled by the client') : err;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        await killing;
      }
    };
    // GET_LOCK names are server-wide: scope ours to this database.
    const scoped = (name: string): string => `${name}:${info?.database ?? ''}`.slice(0, 64);
    const session: Session = {
      run: async (statements, onApplied, signal) => {
        for (let i = 0; i < statements.length; i++) {
          await withStatementIndex(i, () => trusted(statements[i], signal));
          await onApplied?.(i);
        }
      },
      query: (text, params = []) => rowsOf(conn, text, params),
      write: async (text, params = []) => { await rowsOf(conn, text, params); },
      leftOpen: async () => Number((await rowsOf(conn, 'SELECT @@in_transaction AS t', []))[0]?.t) === 1,
      begin: async () => { await simple(conn, 'START TRANSACTION'); inTransaction = true; },
      commit: async () => { inTransaction = false; await simple(conn, 'COMMIT'); },
      // Trusted SQL may have turned autocommit off; our own writes after a rollback must commit.
      rollback: async () => { inTransaction = false; await simple(conn, 'ROLLBACK'); await simple(conn, 'SET autocommit = 1'); },
      lock: async (name, timeoutMs) => {
        const [row] = await rowsOf(conn, 'SELECT GET_LOCK(?, ?) AS l', [scoped(name), Math.max(0, Math.ceil(timeoutMs / 1000))]);
        // 1: taken; 0: timed out; NULL: an error (killed, out of memory). Never assume it was taken.
        if (row?.l === null || row?.l === undefined) throw new DbError('INTERNAL', `GET_LOCK('${name}') failed`);
        return Number(row.l) === 1;
      },
      unlock: async (name) => { await rowsOf(conn, 'SELECT RELEASE_LOCK(?) AS r', [scoped(name)]); },
      setForeignKeys: async () => true,
      foreignKeyViolations: async () => 0,
      snapshot: async () => {
        await simple(conn, 'SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
        await simple(conn, 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
        inTransaction = true;
      },
      stream: (text, onRows, signal) => {
        const run: Run = { cmd: { on: () => undefined } };
        return streamRows(conn, text, onRows, () => kill(run, conn, 'CANCELLED'), signal);
      },
      load: (target, batches, signal) => insertRows(conn, target, batches, signal),
      lockHolder: async (name) => {
        const [row] = await rowsOf(conn, 'SELECT IS_USED_LOCK(?) AS id', [scoped(name)]);
        return row?.id === null || row?.id === undefined ? null : `connection id ${row.id}`;
      },
    };
    try {
      await simple(conn, timeoutSql(opts.timeoutMs));
      return await fn(session);
    } finally {
      if (inTransaction) await simple(conn, 'ROLLBACK').catch(() => undefined);
      // Named locks and session settings must not outlive the session: reset like every other call.
      release(false);
    }
  }

  return {
    backend: 'mysql',
    capabilities: CAPABILITIES,
    async connect() {
      await openPool();
      return info as ServerInfo;
    },
    classify,
    execute,
    transaction,
    withSession,
    poolState: () => ({ open: null, busy: gate.busy, waiting: gate.waiting, max: cfg.poolSize }),
    async close() {
      const p = pool;
      const ctl = control;
      pool = undefined;
      control = undefined;
      await Promise.all([
        p && new Promise<void>((resolve) => p.end(() => resolve())),
        ctl && new Promise<void>((resolve) => ctl.end(() => resolve())),
      ]);
    },
  };
}
