/**
 * PostgreSQL through postgres.js. Agent SQL always goes over the extended
 * protocol (`simple: false`), which refuses several statements in one string;
 * unnamed statements (`prepare: false`) so that DISCARD ALL can reset a session
 * without breaking a prepared-statement cache.
 */
import type { ReservedSql, Sql } from 'postgres';
import { DbError } from '../../../errors.js';
import { postgresUrlOptions } from './url.js';
import type { Capabilities, Dialect, DialectConfig, ExecOptions, Row, ServerInfo, Session, SessionOptions, Statement, StatementResult } from '../../dialect.js';
import { CONNECT_TIMEOUT_MS, createGate, elapsedSince, MAX_MESSAGE_BYTES, RowCollector, withDeadline } from '../../limits.js';
import { classifyPostgres, loadPostgresParser } from './classify.js';
import { cachedClassifier } from '../../readonly/cache.js';
import { boundedClassifier, leadingKeywordOf, type Analysis } from '../../offload/index.js';
import type { Classification } from '../../readonly/types.js';
import { commitError, enforceStatementPolicy, explainWrapped, runInOrder, withStatementIndex } from '../../policy.js';
import { retryLostRead } from '../../recovery.js';
import { copyIn, copyOut, copyOutLines } from './copy.js';
import { fromPgError } from './errors.js';
import { beginReadOnly, CONNECT_SQL, planGuard, type GuardPlan } from './guard.js';
import { pgSocketGuard, type PgSocketGuard } from './socket.js';
import { isKnownOid, PG_TYPE_PARSERS, pgTypeName } from './types.js';

const CAPABILITIES: Capabilities = {
  transactionalDdl: true,
  advisoryLocks: true,
  explainAnalyze: true,
  cancelKeepsDatabase: true,
  readOnlyTransactions: true,
};

/** Grace after the server-side timeout before we cancel from the client, and before we give up waiting. */
const CLIENT_CANCEL_GRACE_MS = 250;
const HARD_DEADLINE_GRACE_MS = 5000;

/** Statements whose rows a portal can hand out in batches (SHOW and EXPLAIN are read whole: they are small). */
function readsThroughPortal(kw: string | null | undefined): boolean {
  return kw === 'SELECT' || kw === 'WITH' || kw === 'VALUES' || kw === 'TABLE';
}

/** VERBOSE names each relation's schema; BUFFERS shows what an ANALYZE read. */
function explainText(text: string, analyze: boolean): string {
  return `EXPLAIN (${analyze ? 'ANALYZE, BUFFERS, ' : ''}VERBOSE, FORMAT JSON) ${text}`;
}

/** A connection reserved for one call. */
interface Lease {
  conn: ReservedSql;
  /** The pool it came from: retired whole if the connection dies. */
  pool: Sql;
  /** The connection died: write nothing more to it. */
  broken: boolean;
  release(): void;
}

/** Bound on BEGIN/ROLLBACK/DISCARD: a healthy server answers these in microseconds. */
const CONTROL_TIMEOUT_MS = 3000;

interface RunState {
  /** Why we cancelled, if we did: decides the error code of the 57014 that follows. */
  cancelledFor?: 'CANCELLED' | 'TIMEOUT' | 'CAP';
}

export function createPostgresDialect(cfg: DialectConfig): Dialect {
  const gate = createGate(cfg.poolSize, cfg.acquireTimeoutMs);
  // Long texts are classified off the main thread, with a deadline (offload/index.ts).
  const classify = boundedClassifier('postgres', cachedClassifier(classifyPostgres), loadPostgresParser);
  const extraTypeNames = new Map<number, string>();
  let sql: Sql | undefined;
  let opened = 0;
  /** Read-only connections: the role agent statements run as, decided at connect time (postgres-guard.ts). */
  let guard: GuardPlan | undefined;
  // Each pool's socket factory: stopped when the pool is retired or closed, so it opens nothing more.
  const sockets = new WeakMap<Sql, PgSocketGuard>();

  async function pool(): Promise<Sql> {
    if (sql) return sql;
    const { default: postgres } = await import('postgres');
    if (sql) return sql;
    // The driver gets the URL without its query: postgres.js would send unknown parameters as
    // startup parameters, after (so over) `connection` below. TLS and the like come from the
    // checked parameters; every other option postgres.js would read from PG* variables is given.
    const fromUrl = postgresUrlOptions(cfg.url);
    const socket = pgSocketGuard(MAX_MESSAGE_BYTES);
    sql = postgres(fromUrl.url, {
      max: cfg.poolSize,
      prepare: false,
      idle_timeout: 60,
      max_lifetime: 60 * 30,
      connect_timeout: fromUrl.connect_timeout ?? CONNECT_TIMEOUT_MS / 1000,
      socket: socket.socket,
      ssl: fromUrl.ssl,
      sslnegotiation: fromUrl.sslnegotiation,
      target_session_attrs: fromUrl.target_session_attrs,
      max_pipeline: 100,
      keep_alive: 60,
      debug: false,
      fetch_types: true,
      publications: 'alltables',
      // postgres.js waits before reconnecting a slot whose socket closed while a reservation
      // was pending, by default 3^n / 100 s (up to 20 s) after n failures: during a restart that
      // wait outlasts the database's downtime. Reads that fail are retried by us (recovery.ts)
      // on a fresh pool, so the driver's own wait stays short.
      backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 0.5),
      types: PG_TYPE_PARSERS,
      // Server NOTICEs go to the log: postgres.js would print them to stdout, our protocol channel.
      onnotice: (notice) => cfg.logger.debug({ notice: notice.message }, 'server notice'),
      onclose: () => cfg.logger.debug({}, 'connection closed'),
      connection: {
        application_name: 'codomyrmex-db',
        statement_timeout: cfg.statementTimeoutMs,
        TimeZone: 'UTC',
        // The read-only classifier parses strings as the default grammar does; pin it so both agree.
        standard_conforming_strings: 'on',
        DateStyle: 'ISO',
        IntervalStyle: 'iso_8601',
      },
    } as Parameters<typeof postgres>[1]);
    sockets.set(sql, socket);
    opened = Date.now();
    return sql;
  }

  async function reserve(signal?: AbortSignal): Promise<Lease> {
    const releaseSlot = await gate.acquire(signal);
    let from: Sql | undefined;
    try {
      from = await pool();
      const conn = await from.reserve();
      return { conn, pool: from, broken: false, release: () => { conn.release(); releaseSlot(); } };
    } catch (err) {
      releaseSlot();
      const e = fromPgError(err);
      // postgres.js backs off a slot whose connect failed (0.2 s, 0.5 s, then 6 s ...) even
      // after the database is back, and a restart fails several: start over with a fresh pool.
      if (from && (e.code === 'CONNECTION_FAILED' || e.code === 'CONNECTION_LOST')) retire(from);
      throw e;
    }
  }

  /**
   * Housekeeping statements (BEGIN, ROLLBACK, SET, DISCARD) on a leased connection.
   * Never written to a connection known dead (postgres.js 3.4.9 can then throw from
   * a socket callback and leave the query pending forever), and always bounded.
   */
  async function control(lease: Lease, text: string, timeoutMs = CONTROL_TIMEOUT_MS): Promise<void> {
    if (lease.broken) throw new DbError('CONNECTION_LOST', 'the connection to the database was lost');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        lease.conn.unsafe(text),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new DbError('CONNECTION_LOST', `the database did not answer ${text.split(' ')[0]}`)), timeoutMs); }),
      ]);
    } catch (err) {
      const e = fromPgError(err);
      if (e.code === 'CONNECTION_LOST' || e.code === 'CONNECTION_FAILED') lease.broken = true;
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Marks the lease broken when the work failed because the connection died. */
  async function watch<T>(lease: Lease, work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      // connection_dropped: the socket guard closed it (a message over the bound, pg-socket.ts).
      if (err instanceof DbError && (err.code === 'CONNECTION_LOST' || err.code === 'CONNECTION_FAILED' || err.details.connection_dropped === true)) lease.broken = true;
      throw err;
    }
  }

  /**
   * A connection that died under postgres.js 3.4.9 can leave the pool's internal
   * state inconsistent (later queries on it hang), so the whole pool is retired:
   * new calls get a fresh pool, the old one drains and closes in the background.
   */
  function retire(old: Sql): void {
    if (sql !== old) return; // already retired
    sql = undefined;
    sockets.get(old)?.stop();
    cfg.logger.warn({}, 'a connection died; opening a fresh pool');
    old.end({ timeout: Math.ceil(cfg.statementTimeoutMs / 1000) + 1 }).catch(() => undefined);
  }

  /**
   * Leaves nothing behind for the next user: no SET, no lock, no LISTEN, no temp
   * table. Always, not only after statements that look session-changing: a
   * user-defined function or a trigger can change the session from any statement.
   */
  async function endLease(lease: Lease): Promise<void> {
    if (!lease.broken) {
      await control(lease, 'discard all').catch((err: Error) => {
        cfg.logger.warn({ err: err.message }, 'could not reset a session');
        lease.broken = true;
      });
    }
    if (lease.broken) retire(lease.pool);
    lease.release();
  }

  /**
   * A connection that was never opened was not lost: a server that hangs up during the
   * start-up (often one that does not offer the TLS that sslmode asks for) failed to connect.
   */
  function openError(err: unknown): unknown {
    if (!(err instanceof DbError) || err.code !== 'CONNECTION_LOST') return err;
    const tls = /[?&]sslmode=(require|verify-ca|verify-full)\b/.test(cfg.url) ? ' (sslmode asks for TLS: does the server offer it?)' : '';
    return new DbError('CONNECTION_FAILED', `the server closed the connection while it was being opened${tls}`, err.details);
  }

  async function connect(): Promise<ServerInfo> {
    await loadPostgresParser();
    // postgres.js restarts its connect_timeout on every attempt: this bounds the whole open.
    const { conn, release } = await withDeadline(reserve().catch((err: unknown) => { throw openError(err); }), CONNECT_TIMEOUT_MS, (late) => late.then((l) => l.release(), () => undefined), () => {
      if (sql) retire(sql);
      return new DbError('CONNECTION_FAILED', `no PostgreSQL session within ${CONNECT_TIMEOUT_MS} ms`, { timeout_ms: CONNECT_TIMEOUT_MS });
    });
    try {
      const [row] = await conn.unsafe(CONNECT_SQL, [cfg.readOnlyRole ?? null] as never[], { simple: false } as never);
      const info: ServerInfo = { server_version: String(row.v), database: String(row.db), flavor: null, user: String(row.u) };
      if (!cfg.readOnly) return info;
      guard = planGuard(row, cfg.readOnlyRole);
      if (guard.warning) cfg.logger.warn({ user: info.user }, guard.warning);
      const { engine, classifier, warning } = guard;
      return { ...info, read_only_guard: { engine, classifier, ...(warning ? { warning } : {}) } };
    } catch (err) {
      throw fromPgError(err);
    } finally {
      release();
    }
  }

  /** BEGIN of a read-only call; the guard is learned first if connect() has not run (the registry always runs it). */
  async function beginText(opts: ExecOptions): Promise<string> {
    if (!guard) await connect();
    const timeout = opts.timeoutMs === cfg.statementTimeoutMs ? undefined : opts.timeoutMs;
    return beginReadOnly((guard as GuardPlan).role, timeout);
  }

  async function learnTypeNames(conn: ReservedSql, oids: number[]): Promise<void> {
    const unknown = oids.filter((o) => !isKnownOid(o) && !extraTypeNames.has(o));
    if (unknown.length === 0) return;
    const rows = await conn.unsafe('select oid::int4 as oid, typname from pg_type where oid = any($1::oid[])', [unknown as never], { simple: false } as never);
    for (const r of rows) extraTypeNames.set(Number(r.oid), String(r.typname));
  }

  /** Runs one statement on a reserved connection, streaming rows into a capped collector. */
  /**
   * Runs one statement on a leased connection. Rows arrive as arrays (duplicate
   * column names keep every value). `stopAtCap`: a pure read (SELECT, WITH, VALUES, TABLE) is read through a
   * portal and closed once the cap is reached, so a huge result costs nothing more;
   * anything else is read to its end with the extra rows dropped, because stopping
   * it would undo or half-do its writes.
   */
  async function runOne(lease: Lease, stmt: Statement, opts: ExecOptions, stopAtCap: boolean): Promise<StatementResult> {
    const start = performance.now();
    const collector = new RowCollector(opts.maxRows, opts.maxBytes);
    const state: RunState = {};
    const q = lease.conn.unsafe(stmt.text, stmt.params as never[], { prepare: false, simple: false } as never).values();
    const described = (): Array<{ name: string; type: number }> => (q as unknown as { statement?: { columns?: Array<{ name: string; type: number }> } }).statement?.columns ?? [];
    const take = (row: unknown[]): boolean => {
      if (!collector.hasColumns) collector.setColumns(described().map((c) => c.name));
      return collector.add(row);
    };
    const cancel = (why: NonNullable<RunState['cancelledFor']>): void => {
      if (state.cancelledFor) return;
      state.cancelledFor = why;
      q.cancel();
    };
    const onAbort = (): void => cancel('CANCELLED');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const clientTimer = setTimeout(() => cancel('TIMEOUT'), opts.timeoutMs + CLIENT_CANCEL_GRACE_MS);
    let hardTimer: NodeJS.Timeout | undefined;
    const hardDeadline = new Promise<never>((_, reject) => {
      hardTimer = setTimeout(
        () => reject(new DbError('CONNECTION_LOST', 'the database stopped answering; the statement was abandoned', { waited_ms: opts.timeoutMs + HARD_DEADLINE_GRACE_MS })),
        opts.timeoutMs + HARD_DEADLINE_GRACE_MS,
      );
    });
    try {
      if (opts.signal?.aborted) throw new DbError('CANCELLED', 'cancelled before the statement started');
      const close = (lease.pool as unknown as { CLOSE: unknown }).CLOSE;
      const work = stopAtCap
        ? q.cursor(Math.min(opts.maxRows + 1, 1000), (rows: unknown[][]) => (rows.every(take) ? undefined : close)).then(() => null)
        : q.forEach((row: unknown[]) => { take(row); });
      const res = (await Promise.race([work, hardDeadline])) as { count?: number; command?: string } | null;
      const columns = described();
      const affected = res && res.command !== 'SELECT' && columns.length === 0 ? Number(res.count ?? 0) : null;
      return await finish(lease.conn, columns, collector, affected, start);
    } catch (err) {
      const e = errorFor(err, state, opts);
      // Nothing more may be written to a dead connection (not even the late-cancel absorber below): it could wait for ever.
      if (e.code === 'CONNECTION_LOST' || e.details.connection_dropped === true) lease.broken = true;
      throw e;
    } finally {
      clearTimeout(clientTimer);
      clearTimeout(hardTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      // A cancel request may land after its statement ended: absorb it before anything else runs here.
      if (state.cancelledFor && !lease.broken) await absorbLateCancel(lease);
    }
  }

  async function finish(
    conn: ReservedSql,
    columns: Array<{ name: string; type: number }>,
    collector: RowCollector,
    affected: number | null,
    start: number,
  ): Promise<StatementResult> {
    await learnTypeNames(conn, columns.map((c) => c.type)).catch(() => undefined);
    const rows = collector.rows;
    const keys = collector.hasColumns ? collector.setColumns(columns.map((c) => c.name)) : columns.map((c) => c.name);
    return {
      columns: columns.map((c, i) => ({ name: keys[i] ?? c.name, type: pgTypeName(c.type, extraTypeNames) })),
      rows,
      row_count: affected ?? rows.length,
      affected_rows: affected,
      truncated: collector.truncated,
      elapsed_ms: elapsedSince(start),
    };
  }

  function errorFor(err: unknown, state: RunState, opts: ExecOptions): DbError {
    const e = fromPgError(err);
    // A message over the bound (pg-socket.ts) says more than the cancel that may have crossed it.
    if (e.details.connection_dropped === true) return e;
    if (state.cancelledFor === 'CANCELLED') return new DbError('CANCELLED', 'the statement was cancelled by the client', e.details);
    if (e.code === 'TIMEOUT' || state.cancelledFor === 'TIMEOUT') {
      return new DbError('TIMEOUT', `the statement was stopped after ${opts.timeoutMs} ms (statement timeout)`, { ...e.details, timeout_ms: opts.timeoutMs });
    }
    return e;
  }

  /**
   * A cancel request travels on its own connection and may arrive after its
   * statement ended. The server ignores it while idle, but not during the next
   * statement: a short sleep gives it somewhere harmless to land.
   */
  async function absorbLateCancel(lease: Lease): Promise<void> {
    for (let i = 0; i < 3; i++) {
      try {
        await lease.conn.unsafe('select pg_sleep(0.02)', [], { simple: false } as never);
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== '57014') {
          lease.broken = true;
          return;
        }
      }
    }
  }

  async function setTimeoutFor(lease: Lease, opts: ExecOptions, local: boolean): Promise<boolean> {
    if (opts.timeoutMs === cfg.statementTimeoutMs) return false;
    await control(lease, `set ${local ? 'local ' : ''}statement_timeout = ${Math.max(1, Math.floor(opts.timeoutMs))}`);
    return true;
  }

  async function executeOnce(stmt: Statement, opts: ExecOptions, c: Analysis, portal: boolean): Promise<StatementResult> {
    // Before reserving: learning the guard may itself need a connection.
    const begin = cfg.readOnly ? await beginText(opts) : undefined;
    const lease = await reserve(opts.signal);
    let cleanup: string[] = [];
    try {
      if (begin) {
        // The read-only transaction wrote nothing: its ROLLBACK can run after the answer is sent.
        cleanup = ['rollback'];
        await control(lease, begin);
        return await watch(lease, runOne(lease, stmt, opts, portal));
      }
      // A changed statement_timeout is undone by the DISCARD ALL that ends every lease.
      await setTimeoutFor(lease, opts, false);
      // Only pure reads are cut short at the cap (see runOne).
      return await watch(lease, runOne(lease, stmt, opts, portal && c.readOnlyViolation === null));
    } finally {
      endLeaseLater(lease, cleanup);
    }
  }

  /**
   * Cleans the lease after the caller has its answer: the connection (and its pool
   * slot) is only handed to the next call once ROLLBACK / DISCARD ALL are done.
   */
  function endLeaseLater(lease: Lease, first: string[]): void {
    // A dead connection's pool is retired at once, so a retry never draws from it.
    if (lease.broken) retire(lease.pool);
    void (async () => {
      for (const text of first) await control(lease, text).catch(() => undefined);
      await endLease(lease);
    })().catch((err: Error) => cfg.logger.warn({ err: err.message }, 'lease cleanup failed'));
  }

  async function execute(stmt: Statement, opts: ExecOptions): Promise<StatementResult> {
    const c = await classify(stmt.text);
    enforceStatementPolicy(c, cfg.readOnly);
    const sent = explainWrapped(stmt, c, opts, cfg.readOnly, explainText);
    // The keyword of a long text comes from its classification: lexing it here would hold the
    // event loop. An EXPLAIN (the wrapper) is read whole.
    const portal = sent === stmt && readsThroughPortal(leadingKeywordOf(c, stmt.text, 'postgres'));
    // A read that lost its connection (a restart, a killed backend) is safe to repeat; a write never is.
    if (c.readOnlyViolation !== null) return executeOnce(sent, opts, c, portal);
    return retryLostRead(() => executeOnce(sent, opts, c, portal), cfg.logger, opts.signal);
  }

  async function transaction(stmts: Statement[], opts: ExecOptions): Promise<StatementResult[]> {
    const rolledBack = cfg.readOnly || opts.rollback === true;
    const classified: Classification[] = [];
    for (const [i, s] of stmts.entries()) classified.push(await withStatementIndex(i, () => classify(s.text)));
    stmts = stmts.map((s, i) => withStatementIndex(i, () => {
      const c = classified[i]!;
      enforceStatementPolicy(c, cfg.readOnly);
      return explainWrapped(s, c, opts, rolledBack, explainText);
    }));
    const begin = cfg.readOnly ? await beginText(opts) : 'begin';
    const lease = await reserve(opts.signal);
    try {
      await control(lease, begin);
      const results = await watch(lease, runAll(lease, stmts, opts, !cfg.readOnly));
      if (rolledBack) await control(lease, 'rollback');
      else {
        // Deferred constraints and triggers run at COMMIT: it gets the statement timeout, not the housekeeping bound.
        await control(lease, 'commit', opts.timeoutMs + CONTROL_TIMEOUT_MS).catch((err: DbError) => { throw commitError(err); });
      }
      return results;
    } catch (err) {
      await control(lease, 'rollback').catch(() => undefined);
      throw err;
    } finally {
      endLeaseLater(lease, []);
    }
  }

  async function runAll(lease: Lease, stmts: Statement[], opts: ExecOptions, setTimeout: boolean): Promise<StatementResult[]> {
    // A read-only BEGIN has set the timeout already (beginReadOnly).
    if (setTimeout) await setTimeoutFor(lease, opts, true);
    // Inside a transaction every statement is read to its end (closing early would half-run a writing one).
    return runInOrder(stmts, opts, (stmt, o) => runOne(lease, stmt, o, false));
  }

  /** Trusted SQL on the lease (simple protocol: any statement a migration may hold), cancellable. */
  async function trusted(lease: Lease, text: string, signal?: AbortSignal): Promise<Row[]> {
    if (lease.broken) throw new DbError('CONNECTION_LOST', 'the connection to the database was lost');
    const q = lease.conn.unsafe(text);
    const onAbort = (): void => { q.cancel(); };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await watch(lease, q.then((rows) => [...rows] as Row[]).catch((err) => { throw signal?.aborted ? new DbError('CANCELLED', 'cancelled by the client') : fromPgError(err); }));
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async function withSession<T>(fn: (s: Session) => Promise<T>, opts: SessionOptions): Promise<T> {
    await loadPostgresParser();
    const lease = await reserve(opts.signal);
    let inTransaction = false;
    // Writes are pipelined: sent at once, awaited with whatever comes next on the connection.
    let writes: Array<Promise<void>> = [];
    const settled = async (): Promise<void> => {
      const w = writes;
      writes = [];
      await Promise.all(w);
    };
    const session: Session = {
      run: async (statements, onApplied, signal) => {
        await settled();
        for (let i = 0; i < statements.length; i++) {
          await withStatementIndex(i, () => trusted(lease, statements[i], signal));
          await onApplied?.(i);
        }
      },
      query: async (text, params = []) => {
        await settled();
        const rows = await watch(lease, lease.conn.unsafe(text, params as never[], { prepare: false, simple: false } as never).catch((err) => { throw fromPgError(err); }));
        return [...rows] as Row[];
      },
      write: async (text, params = []) => {
        const w = watch(lease, lease.conn.unsafe(text, params as never[], { prepare: false, simple: false } as never).then(() => undefined, (err) => { throw fromPgError(err); }));
        w.catch(() => undefined); // awaited later; this only keeps Node from calling it unhandled meanwhile
        writes.push(w);
      },
      begin: async () => { await settled(); await control(lease, 'begin'); inTransaction = true; },
      leftOpen: async () => (await session.query('select pg_current_xact_id_if_assigned() is not null as open'))[0]?.open === true,
      // Deferred constraints and triggers run at COMMIT: it gets the statement timeout.
      commit: async () => {
        const commit = control(lease, 'commit', opts.timeoutMs + CONTROL_TIMEOUT_MS);
        commit.catch(() => undefined);
        // A failed write aborted the transaction: its error, not COMMIT's, is the one to report.
        try {
          await settled();
        } finally {
          inTransaction = false;
        }
        await commit;
      },
      rollback: async () => { inTransaction = false; await Promise.allSettled(writes); writes = []; await control(lease, 'rollback'); },
      lock: async (name, timeoutMs) => {
        await control(lease, `set lock_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
        try {
          await session.query('select pg_advisory_lock(hashtextextended($1, 0))', [name]);
          return true;
        } catch (err) {
          if (err instanceof DbError && err.details.sqlstate === '55P03') return false;
          throw err;
        } finally {
          await control(lease, 'reset lock_timeout').catch(() => undefined);
        }
      },
      unlock: async (name) => { await session.query('select pg_advisory_unlock(hashtextextended($1, 0))', [name]); },
      setForeignKeys: async () => true,
      foreignKeyViolations: async () => 0,
      snapshot: async () => {
        await settled();
        await control(lease, 'begin isolation level repeatable read, read only');
        inTransaction = true;
      },
      stream: async (text, onRows, signal) => {
        await settled();
        if (lease.broken) throw new DbError('CONNECTION_LOST', 'the connection to the database was lost');
        return watch(lease, copyOut(lease.conn, text, onRows, signal));
      },
      load: async (target, batches, signal) => {
        await settled();
        if (lease.broken) throw new DbError('CONNECTION_LOST', 'the connection to the database was lost');
        return watch(lease, copyIn(lease.conn, target, batches, signal));
      },
      streamLines: async (text, onBytes, signal) => {
        await settled();
        if (lease.broken) throw new DbError('CONNECTION_LOST', 'the connection to the database was lost');
        return watch(lease, copyOutLines(lease.conn, text, onBytes, signal));
      },
      lockHolder: async (name) => {
        // pg_locks shows a bigint advisory key as two 32-bit halves (classid, objid).
        const rows = await session.query(
          `select l.pid, a.application_name, a.client_addr::text as addr from pg_locks l join pg_stat_activity a using (pid)
           where l.locktype = 'advisory' and l.granted and l.objsubid = 1
             and l.database = (select oid from pg_database where datname = current_database())
             and ((l.classid::int8 << 32) | l.objid::int8) = hashtextextended($1, 0)`,
          [name],
        );
        const r = rows[0];
        return r ? `backend pid ${r.pid} (${r.application_name || 'unknown application'}${r.addr ? ` from ${r.addr}` : ''})` : null;
      },
    };
    try {
      await control(lease, `set statement_timeout = ${Math.max(1, Math.floor(opts.timeoutMs))}`);
      // PostgreSQL 14+: a session whose client died (a SIGKILLed server) stops within a
      // second instead of holding the migration lock until its statement ends.
      await control(lease, 'set client_connection_check_interval = 1000').catch(() => undefined);
      return await fn(session);
    } finally {
      await settled().catch((err: Error) => cfg.logger.warn({ err: err.message }, 'session write failed'));
      if (inTransaction) await control(lease, 'rollback').catch(() => undefined);
      await endLease(lease);
    }
  }

  return {
    backend: 'postgres',
    capabilities: CAPABILITIES,
    connect,
    classify,
    execute,
    transaction,
    withSession,
    poolState: () => ({ open: null, busy: gate.busy, waiting: gate.waiting, max: cfg.poolSize }),
    async close() {
      const s = sql;
      sql = undefined;
      if (s) sockets.get(s)?.stop();
      if (s) await s.end({ timeout: 2 });
      cfg.logger.debug({ open_ms: opened ? Date.now() - opened : 0 }, 'pool closed');
    },
  };
}
