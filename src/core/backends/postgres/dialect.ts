/**
 * PostgreSQL through postgres.js: the dialect of one connection. The pool and its
 * leases are pool.ts, one agent statement execute.ts, a manager's pinned session
 * session.ts. Agent SQL always goes over the extended protocol, which refuses several
 * statements in one string; read-only calls run in a READ ONLY transaction, under the
 * role guard.ts chose, that is always rolled back.
 */
import { DbError } from '../../../errors.js';
import { postgresUrlOptions } from './url.js';
import type { Capabilities, Dialect, DialectConfig, ExecOptions, ServerInfo, Statement, StatementResult } from '../../dialect.js';
import { CONNECT_TIMEOUT_MS, withDeadline } from '../../limits.js';
import { classifyPostgres, loadPostgresParser } from './classify.js';
import { sql } from './sql.js';
import { boundedClassifier, leadingKeywordOf, type Analysis } from '../../offload/index.js';
import { sql as postgresSql } from './sql.js';
import { checkStatement, checkTransaction, commitError, runInOrder, type StatementChecks } from '../../policy.js';
import { retryLostRead } from '../../recovery.js';
import { runStatement, type TypeNames } from './execute.js';
import { fromPgError } from './errors.js';
import { beginReadOnly, CONNECT_SQL, planGuard, type GuardPlan } from './guard.js';
import { control, CONTROL_TIMEOUT_MS, createPgPool, watch, type Lease } from './pool.js';
import { runSession } from './session.js';

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

export function createPostgresDialect(cfg: DialectConfig): Dialect {
  const pool = createPgPool(cfg, () => postgresUrlOptions(cfg.url));
  const checks: StatementChecks<Analysis> = {
    // Long texts are classified off the main thread, with a deadline (offload/index.ts).
    classify: boundedClassifier(cfg.backend, sql),
    readOnly: cfg.readOnly,
    explainOf: explainText,
  };
  const typeNames: TypeNames = new Map();
  /** Read-only connections: the role agent statements run as, decided at connect time (guard.ts). */
  let guard: GuardPlan | undefined;

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
    const { conn, release } = await withDeadline(pool.reserve().catch((err: unknown) => { throw openError(err); }), CONNECT_TIMEOUT_MS, (late) => late.then((l) => l.release(), () => undefined), () => {
      pool.retireCurrent();
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

  /** A call's own statement timeout, when it differs from the connection's. */
  async function setTimeoutFor(lease: Lease, opts: ExecOptions, local: boolean): Promise<void> {
    if (opts.timeoutMs === cfg.statementTimeoutMs) return;
    await control(lease, `set ${local ? 'local ' : ''}statement_timeout = ${Math.max(1, Math.floor(opts.timeoutMs))}`);
  }

  async function executeOnce(stmt: Statement, opts: ExecOptions, c: Analysis, portal: boolean): Promise<StatementResult> {
    // Before reserving: learning the guard may itself need a connection.
    const begin = cfg.readOnly ? await beginText(opts) : undefined;
    const lease = await pool.reserve(opts.signal);
    let cleanup: string[] = [];
    try {
      if (begin) {
        // The read-only transaction wrote nothing: its ROLLBACK can run after the answer is sent.
        cleanup = ['rollback'];
        await control(lease, begin);
        return await watch(lease, runStatement(lease, stmt, opts, portal, typeNames));
      }
      // A changed statement_timeout is undone by the DISCARD ALL that ends every lease.
      await setTimeoutFor(lease, opts, false);
      // Only pure reads are cut short at the cap (see runStatement).
      return await watch(lease, runStatement(lease, stmt, opts, portal && c.readOnlyViolation === null, typeNames));
    } finally {
      pool.endLeaseLater(lease, cleanup);
    }
  }

  async function execute(stmt: Statement, opts: ExecOptions): Promise<StatementResult> {
    const { c, sent } = await checkStatement(checks, stmt, opts);
    // The keyword of a long text comes from its classification: lexing it here would hold the
    // event loop. An EXPLAIN (the wrapper) is read whole.
    const portal = sent === stmt && readsThroughPortal(leadingKeywordOf(c, stmt.text, postgresSql, stmt.lexed));
    // A read that lost its connection (a restart, a killed backend) is safe to repeat; a write never is.
    if (c.readOnlyViolation !== null) return executeOnce(sent, opts, c, portal);
    return retryLostRead(() => executeOnce(sent, opts, c, portal), cfg.logger, opts.signal);
  }

  async function transaction(stmts: Statement[], opts: ExecOptions): Promise<StatementResult[]> {
    const rolledBack = cfg.readOnly || opts.rollback === true;
    const sent = (await checkTransaction(checks, stmts, opts)).map((s) => s.sent);
    const begin = cfg.readOnly ? await beginText(opts) : 'begin';
    const lease = await pool.reserve(opts.signal);
    try {
      await control(lease, begin);
      const results = await watch(lease, runAll(lease, sent, opts, !cfg.readOnly));
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
      pool.endLeaseLater(lease, []);
    }
  }

  async function runAll(lease: Lease, stmts: Statement[], opts: ExecOptions, setTimeout: boolean): Promise<StatementResult[]> {
    // A read-only BEGIN has set the timeout already (beginReadOnly).
    if (setTimeout) await setTimeoutFor(lease, opts, true);
    // Inside a transaction every statement is read to its end (closing early would half-run a writing one).
    return runInOrder(stmts, opts, (stmt, o) => runStatement(lease, stmt, o, false, typeNames));
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
      return runSession(pool, cfg.logger, fn, opts);
    },
    poolState: () => pool.state(),
    close: () => pool.close(),
  };
}
