/**
 * Reads that lose their connection (a database restart, a killed session) are run
 * again on a fresh connection; writes never are, since they may have committed, and
 * their error says so. The dialects decide what counts as a read (the read-only
 * allow-list of §6) and call this only from execute_query, never inside a transaction.
 */
import type { Logger } from 'pino';
import { DbError } from '../errors.js';

/** How long after the loss a read keeps trying to reach the database again (a restart takes well under this). */
export const READ_RECOVERY_MS = 5000;
const FIRST_PAUSE_MS = 100;
const MAX_PAUSE_MS = 1000;
/** Executions of one read that may end in a lost connection (a restart can drop the first retry too). */
const MAX_LOSSES = 3;

/**
 * Worth another attempt for a read: the connection died under it, or the database
 * refuses connections for now (ECONNREFUSED, PostgreSQL 57P03 "starting up" or
 * "shutting down"), or a new connection was closed before the handshake (`peer_closed`:
 * a server being killed still accepts for a moment), as during a restart. A wrong host,
 * a missing database or bad credentials answer at once. Only a read that had reached the
 * database retries: a first connect to a port that closes on us fails at once (§7).
 */
function transient(err: unknown): boolean {
  if (!(err instanceof DbError)) return false;
  if (err.code === 'CONNECTION_LOST') return true;
  return err.code === 'CONNECTION_FAILED' && (err.details.driver_code === 'ECONNREFUSED' || err.details.sqlstate === '57P03' || err.details.peer_closed === true);
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs `read`; if the connection was lost (or the database refuses connections for
 * now) and the call was not cancelled, runs it again: at once after the first lost
 * connection (a fresh one usually works), otherwise after 100, 200, 400 ... (at most
 * 1000) ms while the database keeps refusing or dropping connections (it is
 * restarting), until READ_RECOVERY_MS after the first failure. A read that loses its
 * connection MAX_LOSSES times is not tried again, so a statement an administrator keeps
 * killing stays killed. Then, or on any other error, or on a cancel, the last error is
 * the answer.
 */
export async function retryLostRead<T>(read: () => Promise<T>, logger: Logger, signal?: AbortSignal): Promise<T> {
  let deadline: number | undefined;
  let wait = FIRST_PAUSE_MS;
  let losses = 0;
  for (;;) {
    let failure: unknown;
    try {
      return await read();
    } catch (err) {
      failure = err;
    }
    const lost = failure instanceof DbError && failure.code === 'CONNECTION_LOST';
    // A session waiting on a pool that another call retired never reached the server: not
    // an execution lost (during a restart several calls retire pools under each other).
    const retired = lost && (failure as DbError).details.driver_code === 'POOL_RETIRED';
    if (lost && !retired) losses++;
    deadline ??= Date.now() + READ_RECOVERY_MS;
    const pauseMs = lost && !retired && losses === 1 ? 0 : wait;
    if (!transient(failure) || losses >= MAX_LOSSES || signal?.aborted || Date.now() + pauseMs > deadline) throw failure;
    logger.info({ err: (failure as Error).message, losses }, 'a read could not reach the database; retrying on a fresh connection');
    if (pauseMs > 0) {
      wait = Math.min(wait * 2, MAX_PAUSE_MS);
      await pause(pauseMs, signal);
      if (signal?.aborted) throw new DbError('CANCELLED', 'cancelled while waiting for the database to come back');
    }
  }
}

/**
 * A statement that may write, whose connection died under it: nobody knows whether it was
 * applied. A commit's answer can be lost to a database stop (test/faults/db-restart.test.ts:
 * a MariaDB stop as the statement ends commits it and closes the connection unanswered),
 * and it is never run again by us (SPEC §7). Reads are retried instead (retryLostRead).
 */
export function lostWriteError(err: unknown): unknown {
  // `delivered: false` (SQLite): the statement never reached a host, so it was not applied.
  if (!(err instanceof DbError) || err.code !== 'CONNECTION_LOST' || err.details.outcome !== undefined || err.details.delivered === false) return err;
  return new DbError('CONNECTION_LOST', `${err.message}; the statement may or may not have been applied: check before running it again`, { ...err.details, outcome: 'unknown' });
}

/** A statement that may write, run once: its connection lost, it says its outcome is unknown (lostWriteError). */
export function writeOnce<T>(running: Promise<T>): Promise<T> {
  return running.catch((err: unknown) => { throw lostWriteError(err); });
}

/**
 * One agent statement by its classification: a write runs once (writeOnce); a read is
 * retried (retryLostRead).
 */
export function runClassified<T>(writes: boolean, run: () => Promise<T>, logger: Logger, signal?: AbortSignal): Promise<T> {
  return writes ? writeOnce(run()) : retryLostRead(run, logger, signal);
}
