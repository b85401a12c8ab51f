/**
 * A pinned PostgreSQL connection for a manager's multi-step work (dialect.ts Session):
 * trusted SQL over the simple protocol, pipelined history writes, the migration lock's lease,
 * snapshots, and COPY in and out.
 *
 * Through a transaction pooler the connection is pinned only inside a transaction: between
 * transactions each statement may run on another server connection, which other clients
 * share. So unless the URL says the connection is ours (`pooler=none|session`), the
 * settings go into each transaction (begin, snapshot), never on the session; a query
 * outside one gets a transaction of its own (pipelined, no added round trip), and a
 * trusted statement outside one (run: it may refuse a transaction block) is bounded by a
 * cancel from the client instead of the server's statement_timeout.
 */
import type { Logger } from 'pino';
import { DbError } from '../../../errors.js';
import type { Row, Session, SessionOptions } from '../../dialect.js';
import { withStatementIndex } from '../../policy.js';
import { copyIn, copyOut, copyOutLines } from './copy.js';
import { fromPgError } from './errors.js';
import { leaseLocks } from '../../lease.js';
import { pgLeaseSql, type PgLockIo } from './lock.js';
import { control, CONTROL_TIMEOUT_MS, watch, type Lease, type PgPool } from './pool.js';
import { beginWith, SESSION_RESET, sessionSettings } from './settings.js';
import type { PoolerMode } from './url.js';

const LOST = 'the connection to the database was lost';

/** Grace after the statement timeout before a client-side cancel (the server's own timeout goes first where it is set). */
const CLIENT_CANCEL_GRACE_MS = 250;

/** Trusted SQL on the lease (simple protocol: any statement a migration may hold), cancellable; `limitMs`: cancelled from here after that long. */
async function trusted(lease: Lease, text: string, signal?: AbortSignal, limitMs?: number): Promise<Row[]> {
  if (lease.broken) throw new DbError('CONNECTION_LOST', LOST);
  const q = lease.conn.unsafe(text);
  let late = false;
  const onAbort = (): void => { q.cancel(); };
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = limitMs === undefined ? undefined : setTimeout(() => { late = true; q.cancel(); }, limitMs + CLIENT_CANCEL_GRACE_MS);
  try {
    return await watch(lease, q.then((rows) => [...rows] as Row[]).catch((err) => {
      if (signal?.aborted) throw new DbError('CANCELLED', 'cancelled by the client');
      if (late) throw new DbError('TIMEOUT', `the statement was stopped after ${limitMs} ms (statement timeout)`, { timeout_ms: limitMs });
      throw fromPgError(err);
    }));
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * One statement with parameters over the extended protocol, its driver error mapped. Never
 * on a connection known dead: postgres.js then throws from a socket callback and the query
 * stays pending for ever (a lock release after a failed migration waited so).
 */
async function extended(lease: Lease, text: string, params: unknown[]): Promise<Row[]> {
  if (lease.broken) throw new DbError('CONNECTION_LOST', LOST);
  return lease.conn.unsafe(text, params as never[], { prepare: false, simple: false } as never).then((rows) => [...rows] as Row[], (err) => { throw fromPgError(err); });
}

/**
 * A query outside the session's transactions on a connection that may be shared: in a
 * transaction of its own that carries the settings (the timeout, and the interval style
 * catalog texts are printed in), BEGIN and COMMIT pipelined with it (one round trip).
 */
async function ownTransaction(lease: Lease, timeoutMs: number, work: () => Promise<Row[]>): Promise<Row[]> {
  const begin = control(lease, beginWith('begin', timeoutMs), timeoutMs + CONTROL_TIMEOUT_MS);
  begin.catch(() => undefined);
  const result = work();
  result.catch(() => undefined);
  const commit = control(lease, 'commit', timeoutMs + CONTROL_TIMEOUT_MS);
  commit.catch(() => undefined);
  // BEGIN's failure explains the others; then the query's; COMMIT's last (it may hold a deferred check).
  await begin;
  const rows = await result;
  await commit;
  return rows;
}

export async function runSession<T>(pool: PgPool, logger: Logger, fn: (s: Session) => Promise<T>, opts: SessionOptions, pooler: PoolerMode | undefined): Promise<T> {
  const lease = await pool.reserve(opts.signal);
  const shared = pooler !== 'none' && pooler !== 'session';
  let inTransaction = false;
  let ranTrusted = false;
  /** Outside a transaction on a connection that may be shared no statement_timeout is in force: the client cancels (run; query has a transaction of its own). */
  const limit = (): number | undefined => (shared && !inTransaction ? opts.timeoutMs : undefined);
  // Writes are pipelined: sent at once, awaited with whatever comes next on the connection.
  let writes: Array<Promise<void>> = [];
  const settled = async (): Promise<void> => {
    const w = writes;
    writes = [];
    await Promise.all(w);
  };
  /** Waits for the pipelined writes, then fails at once if the connection died. */
  const ready = async (): Promise<void> => {
    await settled();
    if (lease.broken) throw new DbError('CONNECTION_LOST', LOST);
  };
  const lockIo: PgLockIo = {
    query: (text, params) => session.query(text, params),
    run: async (text) => { await settled(); await trusted(lease, text); },
    side: () => lease.side(),
  };
  /**
   * Through a transaction pooler: client_connection_check_interval for each of the session's
   * transactions (set_config(…, true)), learnt at its start. PgBouncer closes the server
   * connection of a client that disappears mid-transaction; with the check the backend then
   * stops within a second instead of running a killed server's migration to its end.
   */
  const inTransactionChecks: Array<readonly [string, string]> = [];
  /** The session's own settings, applied at its start and again at each commit (see commit). */
  const settings: string[] = [];
  /** The migration lock (lock.ts): a lease on a row, never on this connection. */
  const locks = leaseLocks((name, at) => pgLeaseSql(lockIo, name, at), (err, what) => logger.warn({ err: (err as Error).message }, what), opts.signal);
  const session: Session = {
    run: async (statements, onApplied, signal) => {
      await settled();
      ranTrusted = true;
      for (let i = 0; i < statements.length; i++) {
        await withStatementIndex(i, () => trusted(lease, statements[i], signal, limit()));
        await onApplied?.(i);
      }
    },
    runSingle: async (statements) => {
      await settled();
      for (const text of statements) await watch(lease, extended(lease, text, []));
    },
    query: async (text, params = []) => {
      await settled();
      // After trusted SQL (a migration's own BEGIN without COMMIT) the server may be in a
      // transaction we did not open: a BEGIN/COMMIT of ours would commit its work.
      if (!shared || inTransaction || ranTrusted) return watch(lease, extended(lease, text, params));
      return watch(lease, ownTransaction(lease, opts.timeoutMs, () => extended(lease, text, params)));
    },
    write: async (text, params = []) => {
      const w = watch(lease, extended(lease, text, params).then(() => undefined));
      w.catch(() => undefined); // awaited later; this only keeps Node from calling it unhandled meanwhile
      writes.push(w);
    },
    begin: async () => { await settled(); await control(lease, beginWith('begin', opts.timeoutMs, inTransactionChecks)); inTransaction = true; },
    leftOpen: async () => (await session.query('select pg_current_xact_id_if_assigned() is not null as open'))[0]?.open === true,
    // Deferred constraints and triggers run at COMMIT: it gets the statement timeout.
    // Settings the transaction changed for the session (a migration's SET search_path, a
    // dump's set_config(..., false), SET ROLE) are put back before it commits: through a
    // transaction pooler nothing else would clear them before the server connection's next client.
    // Where the connection may be shared, the whole reset (settings.ts SESSION_RESET: also
    // session advisory locks, temporary objects, LISTEN …); on one that is ours, temporary
    // tables may serve the session's next transaction and DISCARD ALL ends the lease.
    commit: async () => {
      const reset = control(lease, [shared ? SESSION_RESET : 'reset all; reset role', ...settings].join('; '));
      reset.catch(() => undefined);
      const commit = control(lease, 'commit', opts.timeoutMs + CONTROL_TIMEOUT_MS);
      commit.catch(() => undefined);
      // A failed write aborted the transaction: its error, not COMMIT's, is the one to report.
      try {
        await settled();
        await reset;
      } finally {
        inTransaction = false;
      }
      await commit;
    },
    rollback: async () => { inTransaction = false; await Promise.allSettled(writes); writes = []; await control(lease, 'rollback'); },
    ...locks,
    setForeignKeys: async () => true,
    foreignKeyViolations: async () => 0,
    snapshot: async () => {
      await settled();
      await control(lease, beginWith('begin isolation level repeatable read, read only', opts.timeoutMs, inTransactionChecks));
      inTransaction = true;
      // A backup reads every row or fails (as pg_dump does): row-level security that would
      // filter a table (FORCE ROW LEVEL SECURITY on its owner, a role without BYPASSRLS)
      // makes the read fail with 42501 instead of returning the rows one tenant sees.
      // The snapshot's session sits idle in its transaction while pg_dump reads through it: a
      // database's idle_in_transaction_session_timeout would end it (and the backup) there, so
      // it is off for this transaction, as pg_dump turns it off for its own sessions.
      await control(lease, 'set local row_security = off; set local idle_in_transaction_session_timeout = 0');
    },
    stream: async (text, onRows, signal) => {
      await ready();
      return watch(lease, copyOut(lease.conn, text, onRows, signal));
    },
    load: async (target, batches, signal) => {
      await ready();
      return watch(lease, copyIn(lease.conn, target, batches, signal));
    },
    streamLines: async (text, onBytes, signal) => {
      await ready();
      return watch(lease, copyOutLines(lease.conn, text, onBytes, signal));
    },
  };
  try {
    // The connection is ours until the lease ends (DISCARD ALL resets these); `settings` are
    // also put back after a migration's RESET ALL, before its COMMIT.
    if (!shared) {
      settings.push(sessionSettings(opts.timeoutMs));
      await control(lease, settings[0]);
    }
    // PostgreSQL 14+: a session whose client died (a SIGKILLed server) stops within a second
    // instead of running its statement (and transaction) to the end. Harmless on a server
    // connection a pooler shares, and reset by DISCARD ALL where there is one.
    // Through a transaction pooler a session-wide SET may land on another server connection:
    // the check goes into each transaction instead (a statement outside one, in a
    // no-transaction migration, runs without it: SPEC §4.5). Probed outside a transaction,
    // set_config(…, true) changes nothing and fails only where the setting does not exist (before 14).
    if (pooler !== 'transaction') {
      const check = 'set client_connection_check_interval = 1000';
      if (await control(lease, check).then(() => true, () => false)) settings.push(check);
    } else if (await control(lease, "select set_config('client_connection_check_interval', '1000', true)").then(() => true, () => false)) {
      inTransactionChecks.push(['client_connection_check_interval', '1000']);
    }
    return await fn(session);
  } finally {
    await locks.end();
    await settled().catch((err: Error) => logger.warn({ err: err.message }, 'session write failed'));
    if (inTransaction) await control(lease, 'rollback').catch(() => undefined);
    await pool.endLease(lease);
  }
}
