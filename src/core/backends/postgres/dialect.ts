/**
 * PostgreSQL through postgres.js: the dialect of one connection. The pool and its
 * leases are pool.ts, one agent statement execute.ts, a manager's pinned session
 * session.ts. Agent SQL always goes over the extended protocol, which refuses several
 * statements in one string. A call's settings (settings.ts) are sent with its statement, in
 * one round trip, and outlive neither: read-only calls run in a READ ONLY transaction, under
 * the role guard.ts chose, always rolled back; the others in a transaction that commits (a
 * statement PostgreSQL refuses inside a transaction block, such as VACUUM, runs on its own
 * with the client-side timeout), or, when the URL says no transaction pooler is in between
 * (`pooler=none|session`), with the settings on the session, which DISCARD ALL resets.
 */
import { DbError } from '../../../errors.js';
import { namesSeveralHosts, postgresUrlOptions, postgresUrlParams, type PoolerMode } from './url.js';
import type { Capabilities, Dialect, DialectConfig, ExecOptions, ServerInfo, Statement, StatementResult } from '../../dialect.js';
import { CONNECT_TIMEOUT_MS, withDeadline } from '../../limits.js';
import { loadPostgresParser, sessionStateLeft } from './classify.js';
import { sql } from './sql.js';
import { boundedClassifier, leadingKeywordOf, type Analysis } from '../../offload/index.js';
import { sql as postgresSql } from './sql.js';
import { checkStatement, checkTransaction, commitError, runInOrder, type StatementChecks } from '../../policy.js';
import { runClassified } from '../../recovery.js';
import { runStatement, statementBoundMs, stoppedAtCap, stoppedByCancel, type CapStop, type TypeNames } from './execute.js';
import { fromPgError } from './errors.js';
import { beginReadOnly, CONNECT_SQL, planGuard, type GuardPlan } from './guard.js';
import { control, CONTROL_TIMEOUT_MS, createPgPool, pipelined, watch, type Lease, type Pipelined } from './pool.js';
import { runSession } from './session.js';
import { beginPlain, COMMIT_RESET, ROLLBACK_RESET, sessionSettings } from './settings.js';
import { STANDBY_SQL, standbyRefusal, standbyState } from './standby.js';

const CAPABILITIES: Capabilities = {
  transactionalDdl: true,
  advisoryLocks: true,
  explainAnalyze: true,
  cancelKeepsDatabase: true,
  readOnlyTransactions: true,
};

/** Statements whose rows a portal can hand out in batches (SHOW and EXPLAIN are read whole: they are small). */
function readsThroughPortal(kw: string | null | undefined): boolean {
  return kw === 'SELECT' || kw === 'WITH' || kw === 'VALUES' || kw === 'TABLE';
}

/** VERBOSE names each relation's schema; BUFFERS shows what an ANALYZE read. */
function explainText(text: string, analyze: boolean): string {
  return `EXPLAIN (${analyze ? 'ANALYZE, BUFFERS, ' : ''}VERBOSE, FORMAT JSON) ${text}`;
}

/** SQLSTATE 25001: "… cannot run inside a transaction block" (VACUUM, CREATE INDEX CONCURRENTLY, CREATE DATABASE …). */
const NOT_IN_TRANSACTION = '25001';

/** The URL's `pooler`, undefined when not given (checked when the URL was configured; a URL that no longer parses fails at open). */
function poolerOf(url: string): PoolerMode | undefined {
  try {
    return postgresUrlParams(url).get('pooler') as PoolerMode | undefined;
  } catch {
    return undefined;
  }
}

/** Texts longer than this are not parsed again on the main thread (the classifier offloads them). */
const REPARSE_LIMIT = 8192;

/**
 * Through a transaction pooler, a statement that leaves state on the server connection
 * (SET, PREPARE, LISTEN, a temporary table, a session advisory lock …) would hand it to
 * whoever gets that connection next, and lose it for our own next call.
 */
function refuseSessionState(c: Analysis, stmt: Statement): void {
  if (!c.altersSession) return;
  const left = stmt.text.length > REPARSE_LIMIT ? 'session state' : sessionStateLeft(stmt.text);
  if (left === null) return;
  throw new DbError('UNSUPPORTED', `not run through a transaction pooler (pooler=transaction): ${left} would stay on a server connection that other clients then use; use SET LOCAL or set_config(…, true) inside execute_transaction, pg_advisory_xact_lock, or ON COMMIT DROP`, { pooler: 'transaction', reason: left });
}

export function createPostgresDialect(cfg: DialectConfig): Dialect {
  const pooler = poolerOf(cfg.url);
  /**
   * The URL says the server connection is ours for a whole lease (no pooler, or a session
   * pooler): a read-write call may then put its settings on the session, pipelined before the
   * statement, and DISCARD ALL resets them. Otherwise (not said, or a transaction pooler) they
   * go into a transaction around the statement, which costs the COMMIT's round trip.
   */
  const ownsSession = pooler === 'none' || pooler === 'session';
  // A cancel request could reach another host of a host list: reads stop at the cap through a portal there.
  const capStop: CapStop = namesSeveralHosts(cfg.url) ? 'portal' : 'cancel';
  const pool = createPgPool(cfg, () => postgresUrlOptions(cfg.url), pooler === 'transaction' ? 'none' : 'discard');
  const checks: StatementChecks<Analysis> = {
    // Long texts are classified off the main thread, with a deadline (offload/index.ts).
    classify: boundedClassifier(cfg.backend, sql),
    readOnly: cfg.readOnly,
    explainOf: explainText,
    ...(pooler === 'transaction' ? { refuse: refuseSessionState } : {}),
  };
  const typeNames: TypeNames = new Map();
  /** Read-only connections: the role agent statements run as, decided at connect time (guard.ts). */
  let guard: GuardPlan | undefined;
  /** The server was in recovery when last seen (standby.ts): writes look again before they are refused. */
  let standby = false;

  /**
   * A connection that was never opened was not lost: a server that hangs up during the
   * start-up (often one that does not offer the TLS that sslmode asks for) failed to connect.
   */
  function openError(err: unknown): unknown {
    if (!(err instanceof DbError) || err.code !== 'CONNECTION_LOST') return err;
    // An answer with a SQLSTATE is the server's (or a pooler's: PgBouncer's "no such user",
    // "unsupported startup parameter" are 08P01) reason for refusing: it says more than we can.
    if (typeof err.details.sqlstate === 'string') return new DbError('CONNECTION_FAILED', `the server refused the connection while it was being opened: ${err.message}`, err.details);
    const tls = /[?&]sslmode=(require|verify-ca|verify-full)\b/.test(cfg.url) ? ' (sslmode asks for TLS: does the server offer it?)' : '';
    return new DbError('CONNECTION_FAILED', `the server closed the connection while it was being opened${tls}`, err.details);
  }

  async function connect(): Promise<ServerInfo> {
    await loadPostgresParser();
    // postgres.js restarts its connect_timeout on every attempt: this bounds the whole open.
    const { conn, release } = await withDeadline(pool.reserve().catch((err: unknown) => { throw openError(err); }), CONNECT_TIMEOUT_MS, (late) => late.then((l) => l.release(), () => undefined), () => {
      pool.retireCurrent();
      return new DbError('CONNECTION_FAILED', `no PostgreSQL session within ${CONNECT_TIMEOUT_MS} ms`, { timeout_ms: CONNECT_TIMEOUT_MS });
    });
    try {
      const [row] = await conn.unsafe(CONNECT_SQL, [cfg.readOnlyRole ?? null] as never[], { simple: false } as never);
      standby = row.in_recovery === true;
      const info: ServerInfo = { server_version: String(row.v), database: String(row.db), flavor: null, user: String(row.u), ...(pooler ? { pooler } : {}) };
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

  /** BEGIN of a call with its settings: read-only calls under the guard's role (learned first if connect() has not run: the registry always runs it). */
  async function beginText(opts: ExecOptions): Promise<string> {
    if (!cfg.readOnly) return beginPlain(opts.timeoutMs);
    if (!guard) await connect();
    return beginReadOnly((guard as GuardPlan).role, opts.timeoutMs);
  }

  /**
   * `work` after `begin` (a BEGIN with settings, or session settings): both are sent at once
   * (one round trip). When `begin` itself failed, its error is the one to report (the
   * statement only says the transaction was aborted).
   */
  async function inTransaction<T>(lease: Lease, begin: string, work: () => Promise<T>, opts: ExecOptions, after?: () => void): Promise<T> {
    const opened = control(lease, begin, opts.timeoutMs + CONTROL_TIMEOUT_MS);
    opened.catch(() => undefined);
    try {
      const done = watch(lease, work());
      after?.();
      return await done;
    } catch (err) {
      await opened;
      throw err;
    } finally {
      await opened.catch(() => undefined);
    }
  }

  async function executeOnce(stmt: Statement, opts: ExecOptions, c: Analysis, pureRead: boolean): Promise<StatementResult> {
    // Before reserving: learning the guard may itself need a connection.
    const begin = await beginText(opts);
    const lease = await pool.reserve(opts.signal);
    // A transaction still open when the lease goes back is rolled back first; a read-only one
    // wrote nothing, so its ROLLBACK can wait until the answer is sent. The reset rides with
    // it: what outlives a rollback (a session advisory lock, a prepared statement) must not
    // reach whoever gets the server connection next (settings.ts).
    const cleanup: Array<string | Pipelined> = [ownsSession && !cfg.readOnly ? 'rollback' : ROLLBACK_RESET];
    const ended = (): void => { cleanup.length = 0; };
    try {
      if (cfg.readOnly) {
        // The ROLLBACK (and reset) is pipelined behind the statement: the answer does not wait for it.
        return await inTransaction(lease, begin, () => runStatement(lease, stmt, opts, pureRead ? capStop : 'none', typeNames), opts, () => {
          cleanup[0] = pipelined(lease, ROLLBACK_RESET, statementBoundMs(opts.timeoutMs) + CONTROL_TIMEOUT_MS);
        });
      }
      // Only pure reads are cut short at the cap (see runStatement).
      const run = (): Promise<StatementResult> => runStatement(lease, stmt, opts, pureRead && c.readOnlyViolation === null ? capStop : 'none', typeNames);
      if (ownsSession) {
        ended();
        const result = await inTransaction(lease, sessionSettings(opts.timeoutMs), run, opts);
        // On its own (no transaction of ours): stopped by the cancel, the statement undid its writes.
        if (stoppedByCancel.has(result)) result.rolledBack = true;
        return result;
      }
      // COMMIT, with the session reset inside the transaction (settings.ts), is pipelined behind
      // the statement: BEGIN, statement and COMMIT cost one round trip. If the statement fails,
      // the COMMIT message fails too (the transaction is aborted) and the ROLLBACK cleans up.
      // Its bound covers the statement's before it (statementBoundMs) and its own (deferred triggers).
      let committed: Pipelined | undefined;
      try {
        const result = await inTransaction(lease, begin, run, opts, () => {
          committed = pipelined(lease, COMMIT_RESET, statementBoundMs(opts.timeoutMs) + opts.timeoutMs + CONTROL_TIMEOUT_MS);
        });
        const failed = await (committed as Pipelined).then(() => null, (err: DbError) => err);
        if (failed === null) {
          ended();
          return result;
        }
        // A read past the cap may have been stopped by our cancel (its transaction aborted, so
        // the COMMIT fails), or have ended first and its COMMIT met the cancel: the ROLLBACK
        // (cleanup) ends it, and the rows are the answer. Any other failed COMMIT is an error.
        if (stoppedAtCap.has(result) && metOurCancel(failed)) return { ...result, rolledBack: true };
        throw commitError(failed);
      } catch (err) {
        if (!(err instanceof DbError) || err.details.sqlstate !== NOT_IN_TRANSACTION || lease.broken) throw err;
        // Refused before it did anything: run it on its own, bounded by the client-side timeout (execute.ts).
        await control(lease, 'rollback');
        ended();
        return await watch(lease, run());
      }
    } finally {
      pool.endLeaseLater(lease, cleanup);
    }
  }

  /** The COMMIT behind a read cancelled at the cap failed because of that cancel (25P02: aborted by it; 57014: it landed on the COMMIT). */
  function metOurCancel(err: DbError): boolean {
    const state = err.details.sqlstate;
    return state === '25P02' || (state === '57014' && err.code === 'CANCELLED');
  }

  async function liveInfo(): Promise<Pick<ServerInfo, 'standby'>> {
    const lease = await pool.reserve();
    try {
      const [row] = await lease.conn.unsafe(STANDBY_SQL, [], { simple: false } as never);
      const state = standbyState(row);
      standby = state !== undefined;
      return state ? { standby: state } : {};
    } catch (err) {
      throw fromPgError(err);
    } finally {
      pool.endLeaseLater(lease, []);
    }
  }

  /** A write (one that will run, not an EXPLAIN of it) on a connection whose server was a standby: refused unless it was promoted since. */
  async function refuseOnStandby(writes: boolean, opts: ExecOptions): Promise<void> {
    if (cfg.readOnly || !standby || !writes || (opts.explain && !opts.explain.analyze)) return;
    if ((await liveInfo()).standby) throw standbyRefusal();
  }

  /** A 25006 on a read-write connection: a primary that became a standby says so clearly (and later writes look first). */
  async function standbyError(err: unknown): Promise<never> {
    if (!cfg.readOnly && err instanceof DbError && err.details.sqlstate === '25006' && (await liveInfo().catch((): Pick<ServerInfo, 'standby'> => ({}))).standby) throw standbyRefusal();
    throw err;
  }

  async function execute(stmt: Statement, opts: ExecOptions): Promise<StatementResult> {
    const { c, sent } = await checkStatement(checks, stmt, opts);
    await refuseOnStandby(c.readOnlyViolation !== null, opts);
    return executeChecked(stmt, c, sent, opts).catch(standbyError);
  }

  async function executeChecked(stmt: Statement, c: Analysis, sent: Statement, opts: ExecOptions): Promise<StatementResult> {
    // The keyword of a long text comes from its classification: lexing it here would hold the
    // event loop. An EXPLAIN (the wrapper) is read whole.
    const pureRead = sent === stmt && readsThroughPortal(leadingKeywordOf(c, stmt.text, postgresSql, stmt.lexed));
    // A read that lost its connection (a restart, a killed backend) is safe to repeat; a write never is.
    return runClassified(c.readOnlyViolation !== null, () => executeOnce(sent, opts, c, pureRead), cfg.logger, opts.signal);
  }

  async function transaction(stmts: Statement[], opts: ExecOptions): Promise<StatementResult[]> {
    const rolledBack = cfg.readOnly || opts.rollback === true;
    const checked = await checkTransaction(checks, stmts, opts);
    await refuseOnStandby(checked.some((s) => s.c.readOnlyViolation !== null), opts);
    const sent = checked.map((s) => s.sent);
    return runTransaction(sent, opts, rolledBack).catch(standbyError);
  }

  async function runTransaction(sent: Statement[], opts: ExecOptions, rolledBack: boolean): Promise<StatementResult[]> {
    const begin = await beginText(opts);
    const lease = await pool.reserve(opts.signal);
    try {
      const results = await inTransaction(lease, begin, () => runAll(lease, sent, opts), opts);
      // The session is reset in the message that ends the transaction (settings.ts).
      if (rolledBack) await control(lease, ROLLBACK_RESET);
      else {
        // Deferred constraints and triggers run at COMMIT: it gets the statement timeout, not the housekeeping bound.
        await control(lease, COMMIT_RESET, opts.timeoutMs + CONTROL_TIMEOUT_MS).catch((err: DbError) => { throw commitError(err); });
      }
      return results;
    } catch (err) {
      await control(lease, ROLLBACK_RESET).catch(() => undefined);
      throw err;
    } finally {
      pool.endLeaseLater(lease, []);
    }
  }

  function runAll(lease: Lease, stmts: Statement[], opts: ExecOptions): Promise<StatementResult[]> {
    // Inside a transaction every statement is read to its end (closing early would half-run a writing one).
    return runInOrder(stmts, opts, (stmt, o) => runStatement(lease, stmt, o, 'none', typeNames));
  }

  return {
    backend: cfg.backend,
    capabilities: CAPABILITIES,
    connect,
    classify: checks.classify,
    execute,
    transaction,
    async withSession(fn, opts) {
      await loadPostgresParser();
      return runSession(pool, cfg.logger, fn, opts, pooler);
    },
    poolState: () => pool.state(),
    liveInfo,
    close: () => pool.close(),
  };
}
