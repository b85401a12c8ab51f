/**
 * A pinned PostgreSQL connection for a manager's multi-step work (dialect.ts Session):
 * trusted SQL over the simple protocol, pipelined history writes, the advisory lock,
 * snapshots, and COPY in and out.
 */
import type { Logger } from 'pino';
import { DbError } from '../../../errors.js';
import type { Row, Session, SessionOptions } from '../../dialect.js';
import { withStatementIndex } from '../../policy.js';
import { copyIn, copyOut, copyOutLines } from './copy.js';
import { fromPgError } from './errors.js';
import { control, CONTROL_TIMEOUT_MS, watch, type Lease, type PgPool } from './pool.js';

const LOST = 'the connection to the database was lost';

/** Trusted SQL on the lease (simple protocol: any statement a migration may hold), cancellable. */
async function trusted(lease: Lease, text: string, signal?: AbortSignal): Promise<Row[]> {
  if (lease.broken) throw new DbError('CONNECTION_LOST', LOST);
  const q = lease.conn.unsafe(text);
  const onAbort = (): void => { q.cancel(); };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await watch(lease, q.then((rows) => [...rows] as Row[]).catch((err) => { throw signal?.aborted ? new DbError('CANCELLED', 'cancelled by the client') : fromPgError(err); }));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** One statement with parameters over the extended protocol, its driver error mapped. */
function extended(lease: Lease, text: string, params: unknown[]): Promise<Row[]> {
  return lease.conn.unsafe(text, params as never[], { prepare: false, simple: false } as never).then((rows) => [...rows] as Row[], (err) => { throw fromPgError(err); });
}

export async function runSession<T>(pool: PgPool, logger: Logger, fn: (s: Session) => Promise<T>, opts: SessionOptions): Promise<T> {
  const lease = await pool.reserve(opts.signal);
  let inTransaction = false;
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
      return watch(lease, extended(lease, text, params));
    },
    write: async (text, params = []) => {
      const w = watch(lease, extended(lease, text, params).then(() => undefined));
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
      // A backup reads every row or fails (as pg_dump does): row-level security that would
      // filter a table (FORCE ROW LEVEL SECURITY on its owner, a role without BYPASSRLS)
      // makes the read fail with 42501 instead of returning the rows one tenant sees.
      await control(lease, 'set local row_security = off');
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
    await settled().catch((err: Error) => logger.warn({ err: err.message }, 'session write failed'));
    if (inTransaction) await control(lease, 'rollback').catch(() => undefined);
    await pool.endLease(lease);
  }
}
