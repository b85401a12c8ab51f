/**
 * MySQL and MariaDB through mysql2: the dialect of one connection. The pool and its
 * session setup are pool.ts, one agent statement execute.ts, a manager's pinned
 * session session.ts. Read-only calls run in START TRANSACTION READ ONLY, always
 * rolled back; execute_transaction refuses what would commit implicitly.
 */
import type { PoolConnection } from 'mysql2';
import { DbError } from '../../../errors.js';
import { mysqlCausalReads, mysqlUrlOptions, type MysqlUrlOptions } from './url.js';
import type { Capabilities, Dialect, DialectConfig, ExecOptions, Statement, StatementResult } from '../../dialect.js';
import { checkStatement, checkTransaction, commitError, runInOrder, type StatementChecks } from '../../policy.js';
import { classifyMysql } from './classify.js';
import { sql } from './sql.js';
import { boundedClassifier, hasConditionalComment, leadingKeywordOf, type Analysis } from '../../offload/index.js';
import { sql as mysqlSql } from './sql.js';
import type { Classification } from '../../readonly/types.js';
import { runClassified } from '../../recovery.js';
import { runStatement } from './execute.js';
import { createMysqlPool, simple } from './pool.js';
import { runSession } from './session.js';

const CAPABILITIES: Capabilities = {
  transactionalDdl: false,
  advisoryLocks: true,
  explainAnalyze: true,
  cancelKeepsDatabase: true,
  readOnlyTransactions: true,
};

/**
 * Statements that never commit the open transaction by themselves. Anything else
 * (DDL, LOCK, FLUSH, CALL of a procedure that may hold DDL ...) is refused inside
 * execute_transaction, where all-or-nothing would be a lie on MySQL/MariaDB.
 */
const TRANSACTIONAL = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'WITH', 'VALUES', 'TABLE', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN', 'DO']);

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

/** Refuses what would commit the transaction implicitly (inside execute_transaction). */
function refuseImplicitCommit(c: Analysis, stmt: Statement): void {
  const kw = leadingKeywordOf(c, stmt.text, mysqlSql, stmt.lexed);
  const hidden = hasConditionalComment(c);
  if (!TRANSACTIONAL.has(kw ?? '') || hidden) {
    throw new DbError('UNSUPPORTED', `${hidden ? 'a /*! */ comment' : kw} may commit the transaction implicitly on MySQL/MariaDB, so execute_transaction cannot make it all-or-nothing; run it alone with execute_query (or as a migration)`);
  }
}

export function createMysqlDialect(cfg: DialectConfig): Dialect {
  const base = mysqlOptionsFromUrl(cfg.url);
  const pool = createMysqlPool(cfg, base, { causalReads: mysqlCausalReads(cfg.url) });
  const checks: StatementChecks<Analysis> = {
    // Long texts are classified off the main thread, with a deadline (offload/index.ts).
    classify: boundedClassifier(cfg.backend, sql),
    readOnly: cfg.readOnly,
    // MariaDB's ANALYZE FORMAT=JSON runs the statement and reports r_rows; MySQL's EXPLAIN ANALYZE only prints a tree.
    explainOf: (text, analyze) => `${analyze && pool.flavor === 'mariadb' ? 'ANALYZE' : 'EXPLAIN'} FORMAT=JSON ${text}`,
    refuse: enforceSystemSchema,
  };

  /**
   * On a connection whose database is the `mysql` system schema, unqualified names are
   * its tables (`DELETE FROM user`), which the escape list cannot see: only reads run there.
   */
  function enforceSystemSchema(c: Classification): void {
    if (base.database?.toLowerCase() !== 'mysql' || c.readOnlyViolation === null) return;
    throw new DbError('PERMISSION_DENIED', 'not run: this connection\'s database is the mysql system schema (accounts and privileges), where only reads are allowed', { reason: 'writes to the mysql system schema' });
  }

  /** Runs fn under the call's own statement timeout; `dirty`: the connection's could not be set back. */
  async function withTimeout<T>(conn: PoolConnection, opts: ExecOptions, fn: () => Promise<T>): Promise<{ value: T; dirty: boolean }> {
    if (opts.timeoutMs === cfg.statementTimeoutMs) return { value: await fn(), dirty: false };
    await simple(conn, pool.timeoutSql(opts.timeoutMs));
    let dirty = false;
    try {
      return { value: await fn(), dirty };
    } finally {
      await simple(conn, pool.timeoutSql(cfg.statementTimeoutMs)).catch(() => { dirty = true; });
    }
  }

  async function execute(stmt: Statement, opts: ExecOptions): Promise<StatementResult> {
    const { c, sent } = await checkStatement(checks, stmt, opts);
    // A read that lost its connection (a restart, a killed session) is safe to repeat; a write never is.
    return runClassified(c.readOnlyViolation !== null, () => executeOnce(sent, opts), cfg.logger, opts.signal);
  }

  async function executeOnce(stmt: Statement, opts: ExecOptions): Promise<StatementResult> {
    // KILL QUERY at the row cap undoes what the statement wrote, and a stored function
    // can write from a SELECT: only on read-only connections (all rolled back anyway) is it stopped early.
    const killOnCap = cfg.readOnly;
    const { conn, release } = await pool.acquire(opts.signal);
    let destroy = false;
    try {
      if (!cfg.readOnly) {
        const { value, dirty } = await withTimeout(conn, opts, () => runStatement(pool, conn, stmt, opts, killOnCap));
        destroy ||= dirty;
        return value;
      }
      await simple(conn, 'START TRANSACTION READ ONLY');
      try {
        return (await withTimeout(conn, opts, () => runStatement(pool, conn, stmt, opts, killOnCap))).value;
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

  async function transaction(stmts: Statement[], opts: ExecOptions): Promise<StatementResult[]> {
    const rolledBack = cfg.readOnly || opts.rollback === true;
    const sent = (await checkTransaction(checks, stmts, opts, refuseImplicitCommit)).map((s) => s.sent);
    const { conn, release } = await pool.acquire(opts.signal);
    let destroy = false;
    try {
      await simple(conn, cfg.readOnly ? 'START TRANSACTION READ ONLY' : 'START TRANSACTION');
      // KILL QUERY inside a transaction would abort it, so rows past the cap are read and dropped.
      const { value } = await withTimeout(conn, opts, () => runInOrder(sent, opts, (stmt, o) => runStatement(pool, conn, stmt, o, false)));
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

  return {
    backend: cfg.backend,
    capabilities: CAPABILITIES,
    connect: () => pool.open(),
    classify: checks.classify,
    execute,
    transaction,
    withSession: (fn, opts) => runSession(pool, cfg.logger, fn, opts),
    poolState: () => pool.state(),
    liveInfo: async () => {
      const replication = await pool.replication();
      return replication ? { replication } : {};
    },
    close: () => pool.close(),
  };
}
