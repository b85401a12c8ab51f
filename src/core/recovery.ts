/**
 * Reads that lose their connection (a database restart, a killed session) are run
 * again on a fresh connection; writes never are, since they may have committed. The
 * dialects decide what counts as a read (the read-only allow-list of §6) and call
 * this only from execute_query, never inside a transaction.
 */
import type { Logger } from 'pino';
import { DbError } from '../errors.js';

/** How long after the loss a read keeps trying to reach the database again (a restart takes well under this). */
export const READ_RECOVERY_MS = 5000;
const FIRST_PAUSE_MS = 100;
const MAX_PAUSE_MS = 1000;

function lostOrUnreachable(err: unknown): boolean {
  return err instanceof DbError && (err.code === 'CONNECTION_LOST' || err.code === 'CONNECTION_FAILED');
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
 * Runs `read`; if it fails with CONNECTION_LOST (and the call was not cancelled), runs
 * it again at once on a fresh connection, then, while the database still cannot be
 * reached or drops the new connection (it is restarting), again after 100, 200, 400 ...
 * (at most 1000) ms, until READ_RECOVERY_MS after the loss. Any other error, or a
 * cancel, answers at once.
 */
export async function retryLostRead<T>(read: () => Promise<T>, logger: Logger, signal?: AbortSignal): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (!(err instanceof DbError && err.code === 'CONNECTION_LOST') || signal?.aborted) throw err;
  }
  const deadline = Date.now() + READ_RECOVERY_MS;
  logger.info({}, 'connection lost during a read; retrying on a fresh connection');
  for (let wait = FIRST_PAUSE_MS, attempt = 1; ; attempt++, wait = Math.min(wait * 2, MAX_PAUSE_MS)) {
    try {
      return await read();
    } catch (err) {
      if (!lostOrUnreachable(err) || signal?.aborted || Date.now() + wait > deadline) throw err;
      logger.debug({ attempt, err: (err as Error).message }, 'the database is not reachable yet; retrying the read');
    }
    await pause(wait, signal);
    if (signal?.aborted) throw new DbError('CANCELLED', 'cancelled while waiting for the database to come back');
  }
}
