/**
 * A pinned MySQL/MariaDB connection for a manager's multi-step work (dialect.ts
 * Session): trusted SQL (cancelled by KILL QUERY), the migration lock's lease (lock.ts),
 * consistent snapshots, streamed reads and bulk inserts.
 */
import type { Logger } from 'pino';
import { DbError } from '../../../errors.js';
import type { Session, SessionOptions } from '../../dialect.js';
import { leaseLocks } from '../../lease.js';
import { withStatementIndex } from '../../policy.js';
import { insertRows, streamLines, streamRows } from './bulk.js';
import type { MysqlRowLines } from './lines.js';
import { execOn, mysqlLeaseSql, type MysqlExec } from './lock.js';
import { rowsOf, simple, type MysqlPool, type Run } from './pool.js';

export async function runSession<T>(pool: MysqlPool, logger: Logger, fn: (s: Session) => Promise<T>, opts: SessionOptions): Promise<T> {
  const { conn, release } = await pool.acquire(opts.signal);
  let inTransaction = false;
  const trusted = async (text: string, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted) throw new DbError('CANCELLED', 'cancelled by the client');
    const run: Run = {};
    let killing: Promise<void> | undefined;
    const onAbort = (): void => { killing = pool.kill(run, conn, 'CANCELLED'); };
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
  const exec = execOn(conn);
  const side: MysqlExec = async (text, params) => execOn(await pool.side())(text, params);
  /** The migration lock (lock.ts): a lease on a row, replicated to every Galera node. */
  const locks = leaseLocks((name, at) => mysqlLeaseSql(exec, side, name, at), (err, what) => logger.warn({ err: (err as Error).message }, what), opts.signal);
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
    ...locks,
    setForeignKeys: async () => true,
    foreignKeyViolations: async () => 0,
    snapshot: async () => {
      await simple(conn, 'SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await simple(conn, 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      inTransaction = true;
    },
    stream: (text, onRows, signal) => {
      const run: Run = {};
      return streamRows(conn, text, onRows, () => pool.kill(run, conn, 'CANCELLED'), signal);
    },
    streamLines: (text, onBytes, signal, lines) => {
      const run: Run = {};
      return streamLines(conn, text, onBytes, () => pool.kill(run, conn, 'CANCELLED'), signal, lines as MysqlRowLines | undefined);
    },
    load: (target, batches, signal) => {
      const run: Run = {};
      return insertRows(conn, target, batches, signal, () => pool.kill(run, conn, 'CANCELLED'));
    },
  };
  try {
    await simple(conn, pool.timeoutSql(opts.timeoutMs));
    return await fn(session);
  } finally {
    await locks.end();
    if (inTransaction) await simple(conn, 'ROLLBACK').catch(() => undefined);
    // Named locks and session settings must not outlive the session: reset like every other call.
    release(false);
  }
}
