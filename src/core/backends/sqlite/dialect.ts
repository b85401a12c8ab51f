/**
 * SQLite through better-sqlite3, run in a child process per connection (host.ts).
 *
 * better-sqlite3 is synchronous: in-process, a runaway statement would block every
 * other tool call and every cancellation. The host can be SIGKILLed instead, which is
 * how timeouts and cancellations stop a statement. Killing loses only the uncommitted
 * transaction of a file database, but all of an in-memory one (`database_reset`).
 *
 * One host per connection, calls queued FIFO: SQLite has one writer anyway, and an
 * in-memory database cannot be shared between processes. The host process is driven
 * from host-process.ts, a manager's session is session.ts. A read on a file database runs
 * in this process first, within a budget of a few milliseconds, and goes to the host only
 * when it does not finish within it (fast-read.ts).
 */
import { DbError } from '../../../errors.js';
import type { Capabilities, Dialect, DialectConfig, ExecOptions, ServerInfo, Statement, StatementResult } from '../../dialect.js';
import { createGate } from '../../limits.js';
import { checkStatement, checkTransaction, type StatementChecks } from '../../policy.js';
import { writeOnce } from '../../recovery.js';
import { classifySqlite } from './classify.js';
import { sql } from './sql.js';
import { boundedClassifier, type Analysis } from '../../offload/index.js';
import { FastReads, fastEligible } from './fast-read.js';
import { createHostSlot, type HostContext } from './host-process.js';
import type { HostInfo, HostLimits, RequestBody } from './host-protocol.js';
import { runSession } from './session.js';

export interface SqliteDialect extends Dialect {
  /** For tests only: pid of the running host process, or null when none runs. */
  hostPid(): number | null;
}

/** SQLite's plan never runs the statement: there is no ANALYZE form. */
const explainText = (text: string): string => `EXPLAIN QUERY PLAN ${text}`;

function limitsOf(opts: ExecOptions): HostLimits {
  return { maxRows: opts.maxRows, maxBytes: opts.maxBytes, timeoutMs: opts.timeoutMs };
}

/** Only text and params cross to the host (a caller's extra fields might not be cloneable). */
function plain(stmt: Statement): Statement {
  return { text: stmt.text, params: stmt.params ?? [] };
}

export function createSqliteDialect(config: DialectConfig): SqliteDialect {
  const cfg = { ...config, file: config.file ?? ':memory:' };
  const ctx: HostContext = { cfg, lossOnKill: cfg.file === ':memory:' };
  const capabilities: Capabilities = {
    transactionalDdl: true,
    // No named session locks: Session.lock is a row in a lock table (lock.ts).
    advisoryLocks: false,
    explainAnalyze: false,
    cancelKeepsDatabase: !ctx.lossOnKill,
    readOnlyTransactions: false,
  };
  const gate = createGate(1, cfg.acquireTimeoutMs);
  const slot = createHostSlot(ctx);
  const fast = ctx.lossOnKill ? null : new FastReads(cfg);
  const checks: StatementChecks<Analysis> = {
    // Long texts are classified off the main thread, with a deadline (offload/index.ts).
    classify: boundedClassifier(cfg.backend, sql),
    readOnly: cfg.readOnly,
    explainOf: explainText,
  };

  /**
   * One request to the host, in turn. `recycle`: the statement may have changed the
   * session (a PRAGMA, ATTACH, a temp table), so a file database gets a fresh host
   * before the next call, and the reader in this process is closed first (PRAGMA
   * journal_mode, say, may need the file to itself). An in-memory database lives in its
   * host and is kept. `here`: a read tried in this process first, in the call's turn
   * (fast-read.ts); null sends it on.
   */
  async function call<T>(body: RequestBody, timeoutMs: number, signal?: AbortSignal, recycle = false, here?: () => T | null): Promise<T> {
    const release = await gate.acquire(signal);
    try {
      if (recycle) fast?.close();
      const result = here?.();
      if (result) return result;
      try {
        return (await (await slot.ensure(signal)).request(body, timeoutMs, signal)) as T;
      } catch (err) {
        // The host died between calls (killed from outside) and we learnt it only now.
        if (!(err instanceof DbError && err.details.delivered === false)) throw err;
        cfg.logger.info({}, 'sqlite host was gone; retrying on a new host');
        return (await (await slot.ensure(signal)).request(body, timeoutMs, signal)) as T;
      }
    } finally {
      if (recycle) await slot.recycle();
      release();
    }
  }

  async function connect(): Promise<ServerInfo> {
    const info = await call<HostInfo>({ op: 'info' }, cfg.statementTimeoutMs);
    return { server_version: info.sqlite_version, database: cfg.file, flavor: null, user: null };
  }

  async function execute(stmt: Statement, opts: ExecOptions): Promise<StatementResult> {
    const { c, sent } = await checkStatement(checks, stmt, opts);
    const body = plain(sent);
    const limits = limitsOf(opts);
    const here = fast && fastEligible(c, body) && (await fast.ready()) ? () => fast.run(body, limits, slot.current?.pid ?? null) : undefined;
    const run = call<StatementResult>({ op: 'execute', stmt: body, limits }, opts.timeoutMs, opts.signal, c.altersSession, here);
    return c.readOnlyViolation === null ? run : writeOnce(run);
  }

  async function transaction(stmts: Statement[], opts: ExecOptions): Promise<StatementResult[]> {
    const rollback = cfg.readOnly || opts.rollback === true;
    const checked = await checkTransaction(checks, stmts, opts);
    if (stmts.length === 0) return [];
    const recycle = checked.some((s) => s.c.altersSession);
    return call({ op: 'transaction', stmts: checked.map((s) => plain(s.sent)), limits: limitsOf(opts), rollback }, opts.timeoutMs, opts.signal, recycle);
  }

  return {
    backend: cfg.backend,
    capabilities,
    connect,
    classify: checks.classify,
    execute,
    transaction,
    async withSession(fn, opts) {
      const release = await gate.acquire(opts.signal);
      try {
        // A session may take the file over (a restore): nothing else may have it open.
        fast?.close();
        return await runSession(slot, ctx, fn, opts);
      } finally {
        release();
      }
    },
    poolState: () => ({ open: slot.current?.isAlive ? 1 : 0, busy: gate.busy, waiting: gate.waiting, max: 1 }),
    close: () => {
      fast?.close();
      return slot.close();
    },
    hostPid: () => slot.current?.pid ?? null,
  };
}
