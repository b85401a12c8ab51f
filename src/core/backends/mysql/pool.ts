/**
 * The mysql2 pool of one MySQL/MariaDB connection, opened on first use, with a control
 * connection of its own for KILL QUERY. Every pooled connection starts from our
 * session (sessionSql) and goes back clean (COM_RESET_CONNECTION, then our session
 * again), or is closed (causal_reads: see acquire). Never `multipleStatements`.
 */
import type { Connection, Pool, PoolConnection } from 'mysql2';
import { DbError } from '../../../errors.js';
import type { DialectConfig, PoolState, Replication, Row, ServerInfo } from '../../dialect.js';
import { CONNECT_TIMEOUT_MS, createGate, MAX_MESSAGE_BYTES } from '../../limits.js';
import { fromMysqlError } from './errors.js';
import { readReplication } from './replication.js';
import { mysqlSocketFactory } from './socket.js';

export type Flavor = 'mariadb' | 'mysql';

/** A statement that may be stopped by KILL QUERY: why it was, once it was. */
export interface Run {
  why?: 'CANCELLED' | 'TIMEOUT' | 'CAP';
}

/** A pooled connection held by one call; `release(true)` destroys it instead of resetting it. */
export interface MysqlLease {
  conn: PoolConnection;
  release(destroy: boolean): void;
}

/** Where the connection goes and how (mysqlOptionsFromUrl): the database is the one every connection returns to. */
export interface MysqlBase {
  host: string;
  port: number;
  database?: string;
}

export interface MysqlPool {
  /** Opens the pool (and the control connection) if needed and describes the server. */
  open(): Promise<ServerInfo>;
  /** A pooled connection, within the pool size; BUSY after the acquire timeout. */
  acquire(signal?: AbortSignal): Promise<MysqlLease>;
  /** Stops the statement running on `conn` (KILL QUERY from the control connection), once per run. */
  kill(run: Run, conn: PoolConnection, why: NonNullable<Run['why']>): Promise<void>;
  /** The control connection (opened if needed): statements that must not wait for a pool slot (the migration lock's renewals). */
  side(): Promise<Connection>;
  /** SET of this server's statement timeout (max_statement_time on MariaDB, max_execution_time on MySQL). */
  timeoutSql(ms: number): string;
  /** Where the server stands among others, asked now on the control connection (replication.ts). */
  replication(): Promise<Replication | null>;
  /** Known once open() has run; 'mariadb' before. */
  readonly flavor: Flavor;
  /** The server's description, once open() has run. */
  readonly info: ServerInfo | undefined;
  state(): PoolState;
  close(): Promise<void>;
}

/** What the URL asks of every session beyond ours (url.ts). */
export interface MysqlSessionOptions {
  /** `causal_reads=true`: wsrep_sync_wait = 1, so a read waits until this Galera node has applied what the cluster committed before it. */
  causalReads: boolean;
}

/**
 * The session every pooled connection starts from, re-applied after each reset:
 * UTC, our statement timeout, causal reads when asked, and a sql_mode without ANSI_QUOTES and
 * NO_BACKSLASH_ESCAPES so the server reads quotes as the read-only lexer does.
 * IGNORE_SPACE goes too: mysql2 asks for it in the handshake (CLIENT_IGNORE_SPACE),
 * but COM_RESET_CONNECTION falls back to the global mode, so without this the first
 * call on a connection would parse differently from every later one.
 */
function sessionSql(flavor: Flavor, timeoutMs: number, opts: MysqlSessionOptions): string {
  const mode = sessionSqlMode();
  // NAMES too: the reset may fall back to the server's default character set, and a
  // multi-byte one (gbk, sjis, big5) would read a `\` inside a character the lexer never sees.
  const causal = opts.causalReads ? ', SESSION wsrep_sync_wait = 1' : '';
  return `SET NAMES utf8mb4 COLLATE utf8mb4_general_ci, time_zone = '+00:00', SESSION sql_mode = ${mode}, ${timeoutAssignment(flavor, timeoutMs)}${causal}`;
}

/** sql_mode combinations that set ANSI_QUOTES whenever they are in the mode (MariaDB keeps their names in it). */
const ANSI_QUOTING_COMBINATIONS = ['ANSI', 'ORACLE', 'MSSQL', 'DB2', 'POSTGRESQL', 'MAXDB'];

/**
 * Our sessions' sql_mode, as an expression of the session's: without what changes how quotes
 * read, and without the combinations that bring ANSI_QUOTES back with them (and MSSQL's
 * [names]): the server expands what is left, so a global ANSI or MSSQL mode kept them on (from
 * a review).
 */
export function sessionSqlMode(): string {
  return sqlModeWithout('ANSI_QUOTES', 'NO_BACKSLASH_ESCAPES', 'IGNORE_SPACE', ...ANSI_QUOTING_COMBINATIONS);
}

/** An expression for the session's sql_mode without `flags` (each taken out between commas, so a longer flag naming one is kept). */
export function sqlModeWithout(...flags: string[]): string {
  const stripped = flags.reduce((expr, flag) => `REPLACE(${expr}, ',${flag},', ',')`, `CONCAT(',', @@SESSION.sql_mode, ',')`);
  return `TRIM(BOTH ',' FROM ${stripped})`;
}

function timeoutAssignment(flavor: Flavor, ms: number): string {
  return flavor === 'mariadb' ? `SESSION max_statement_time = ${(ms / 1000).toFixed(3)}` : `SESSION max_execution_time = ${Math.floor(ms)}`;
}

/** `base`: mysqlOptionsFromUrl of the connection's URL (mysql2 options); `opts`: the URL's session options. */
export function createMysqlPool<B extends MysqlBase>(cfg: DialectConfig, base: B, opts: MysqlSessionOptions): MysqlPool {
  const setup = (): string => sessionSql(flavor, cfg.statementTimeoutMs, opts);
  const gate = createGate(cfg.poolSize, cfg.acquireTimeoutMs);
  let pool: Pool | undefined;
  let control: Connection | undefined;
  let flavor: Flavor = 'mariadb';
  let info: ServerInfo | undefined;
  /** The role a new session of this account starts with (MariaDB), re-applied after each reset. */
  let defaultRole: string | null = null;

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
    // Prepared statements are per lease (the reset after each one drops them), and mysql2's
    // default cache of 16,000 is cleared on every reset by filling two arrays that long:
    // ~0.04 ms of each call's CPU.
    maxPreparedStatements: 64,
    // Our sockets bound one protocol message (socket.ts).
    stream: mysqlSocketFactory(MAX_MESSAGE_BYTES),
  });

  /** A connection that could not be opened failed to connect, even if the peer hung up on us (not MySQL?). */
  const openError = (err: unknown): DbError => {
    const e = fromMysqlError(err);
    return e.code === 'CONNECTION_LOST' ? new DbError('CONNECTION_FAILED', `${base.host}:${base.port} closed the connection before the MySQL handshake completed; is it a MySQL server?`, { ...e.details, endpoint: `${base.host}:${base.port}`, peer_closed: true }) : e;
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
    if (opts.causalReads) await checkGalera(ctl);
    if (pool) return pool;
    const mysql = (await import('mysql2')).default;
    const p = mysql.createPool({ ...commonOptions(), connectionLimit: cfg.poolSize, maxIdle: cfg.poolSize, idleTimeout: 60_000 });
    p.on('connection', (conn) => {
      // mysql2 emits 'error' on a connection for a command it cannot even send (closed
      // state); with no listener that event would end the process.
      conn.on('error', (err: Error) => cfg.logger.warn({ err: err.message }, 'connection error'));
      conn.query(setup(), (err) => err && cfg.logger.warn({ err: err.message }, 'session setup failed'));
    });
    pool = p;
    return p;
  }

  /**
   * causal_reads sets wsrep_sync_wait, which only a Galera node honours (MySQL does not
   * know the variable, and every session setup would fail): refused at open elsewhere.
   */
  async function checkGalera(ctl: Connection): Promise<void> {
    const [rows] = await ctl.promise().query("SHOW GLOBAL VARIABLES WHERE Variable_name = 'wsrep_on'");
    if ((rows as Row[])[0]?.Value === 'ON') return;
    throw new DbError('UNSUPPORTED', 'causal_reads=true makes reads wait for a Galera cluster (wsrep_sync_wait), but this server is not a Galera node (wsrep_on is not ON); remove the parameter from the URL', { parameter: 'causal_reads' });
  }

  async function acquire(signal?: AbortSignal): Promise<MysqlLease> {
    const releaseSlot = await gate.acquire(signal);
    try {
      const p = await openPool();
      const conn = await new Promise<PoolConnection>((resolve, reject) => p.getConnection((err, c) => (err ? reject(openError(err)) : resolve(c))));
      // Causal reads: MariaDB 10.11 skips wsrep_sync_wait's wait on a session after COM_RESET_CONNECTION
      // (or COM_CHANGE_USER), though the variable still reads 1 (measured: 27-36 of 100 reads stale), so
      // such a connection gets a new session for each call instead of a reset one.
      return { conn, release: (destroy) => void cleanRelease(conn, destroy || opts.causalReads).finally(releaseSlot) };
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
        await simple(conn, setup());
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

  return {
    async open() {
      await openPool();
      return info as ServerInfo;
    },
    acquire,
    kill,
    side: controlConnection,
    async replication() {
      await openPool();
      const ctl = await controlConnection();
      return readReplication((text) => rowsOf(ctl, text, []), opts.causalReads);
    },
    timeoutSql: (ms) => `SET ${timeoutAssignment(flavor, ms)}`,
    get flavor() { return flavor; },
    get info() { return info; },
    state: () => ({ open: null, busy: gate.busy, waiting: gate.waiting, max: cfg.poolSize }),
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

/** A statement whose result is not needed (text protocol), its driver error mapped. */
export function simple(conn: PoolConnection, text: string): Promise<void> {
  return new Promise((resolve, reject) => conn.query(text, (err) => (err ? reject(fromMysqlError(err)) : resolve())));
}

/** Rows of one statement on a pinned connection (small catalog reads: not capped). */
export function rowsOf(conn: Connection, text: string, params: unknown[]): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    const done = (err: unknown, rows: unknown): void => (err ? reject(fromMysqlError(err)) : resolve(Array.isArray(rows) ? (rows as Row[]) : []));
    if (params.length) conn.execute(text, params as never[], done);
    else conn.query(text, done);
  });
}
