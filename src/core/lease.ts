/**
 * The migration lock as a lease: a row in a table of the server's own, with an expiry on
 * the database's clock, taken by one statement, renewed while held and deleted after.
 * Why a row and not a session lock: through a transaction pooler (PgBouncer
 * pool_mode=transaction) a session-level advisory lock is taken on whichever server
 * connection ran that statement, which the pooler then hands to other clients (who get
 * it again for free: the lock is re-entrant) and keeps after ours is gone; on a Galera
 * cluster GET_LOCK is local to one node. A row in a replicated table holds through both.
 * Why a lease: nothing ends a row when its holder dies (a SIGKILLed server), so it must
 * expire; renewals run over a connection other than the session's, which may be busy with
 * one long statement for minutes.
 *
 * The backends give the SQL (postgres/lock.ts, mysql/lock.ts); this file keeps the timing.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { LockAt, Session } from './dialect.js';

/** How long a lease lasts without renewal: a holder that died blocks others at most this long. */
export const LEASE_MS = 8_000;
/** Renewals while held: four chances before the lease runs out. */
export const RENEW_EVERY_MS = 2_000;
/**
 * How long one renewal may take before it counts as failed. Through a pooler with no
 * server connection to spare (PgBouncer session mode, default_pool_size = pool_size) a
 * renewal waits at the pooler for ever: it is then not awaited again, and no second one is
 * sent while it waits; the lease runs out unless a later renewal gets through.
 */
export const RENEW_DEADLINE_MS = Math.floor(LEASE_MS / 3);
/** How often a waiting taker tries again. */
const POLL_MS = 200;

/** Who holds a lease, as the row says: enough to find the server instance, nothing secret. */
export const LEASE_HOLDER = `codomyrmex-db@${hostname()}:${process.pid}`;

/** One lease row's statements, bound to the lock table and name. */
export interface LeaseSql {
  /** Creates the lock table (and its schema) if missing; safe with two servers at once. */
  ensure(): Promise<void>;
  /** Takes the row when it is absent or expired: true when the row now holds `token`. A write conflict (Galera certification) is false, not an error. */
  take(token: string): Promise<boolean>;
  /** Extends the lease if the row still holds `token`; `side`: over the renewal connection, not the session's. */
  renew(token: string, side: boolean): Promise<boolean>;
  /** Deletes the row if it holds `token`. */
  release(token: string): Promise<void>;
  /** The live holder's description, or null (no row, or an expired one). */
  holder(): Promise<string | null>;
}

export interface Lease {
  /** Takes the lease, trying again every 200 ms until timeoutMs; false when another holder kept it. */
  take(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  /** Extends it on the session's own connection; false when it was lost. */
  stillHeld(): Promise<boolean>;
  /** Stops the renewals and deletes the row (best effort: an undeleted row expires). Never waits longer than RENEW_DEADLINE_MS for a renewal under way. */
  release(): Promise<void>;
}

/** What happened to one renewal: `late` when it had no answer within RENEW_DEADLINE_MS. */
type Renewal = 'held' | 'lost' | 'failed' | 'late';

/** Resolves with `late` after ms, unless work settles first; never rejects. */
function bounded(work: Promise<Renewal>, ms: number): Promise<Renewal> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Renewal>((resolve) => { timer = setTimeout(() => resolve('late'), ms); });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * A lease on one row, with a token of its own; `onError`: a renewal that failed or was late
 * (the next one tries again); `onLost`: a renewal found the row gone or another holder's,
 * called once, at once (the holder stops its work then, not at its next migration).
 */
export function createLease(sql: LeaseSql, onError: (err: unknown) => void, onLost?: () => void): Lease {
  const token = randomBytes(16).toString('hex');
  let timer: NodeJS.Timeout | undefined;
  let held = false;
  /** The renewal on its way to the database (it may be stuck at a pooler), or none. */
  let inFlight: Promise<Renewal> | undefined;
  /** The last renewal, bounded by RENEW_DEADLINE_MS: what release waits for. */
  let renewing: Promise<Renewal> = Promise.resolve('held');

  const lost = (): void => {
    if (!held) return;
    held = false;
    onLost?.();
  };

  const renewOnce = (): Promise<Renewal> => {
    // One renewal at a time: a stuck one is not joined by a second behind it.
    if (inFlight) return Promise.resolve('late');
    const work = sql.renew(token, true).then((ok): Renewal => (ok ? 'held' : 'lost'), (err): Renewal => { onError(err); return 'failed'; });
    inFlight = work;
    void work.finally(() => { if (inFlight === work) inFlight = undefined; });
    return bounded(work, RENEW_DEADLINE_MS);
  };

  const renewLater = (): void => {
    timer = setTimeout(() => {
      renewing = renewOnce().then((r) => {
        if (r === 'late') onError(new Error(`a renewal of the migration lock got no answer within ${RENEW_DEADLINE_MS} ms (a pooler with no server connection to spare?)`));
        // A late renewal that later finds the row gone still counts.
        if (r === 'late') void inFlight?.then((x) => { if (x === 'lost') lost(); });
        if (r === 'lost') lost();
        if (held) renewLater();
        return r;
      });
    }, RENEW_EVERY_MS);
    // A lease never keeps the process alive by itself.
    timer.unref();
  };

  return {
    async take(timeoutMs, signal) {
      await sql.ensure();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (await sql.take(token)) {
          held = true;
          renewLater();
          return true;
        }
        if (Date.now() + POLL_MS > deadline || signal?.aborted) return false;
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    },
    async stillHeld() {
      if (!held) return false;
      held = await sql.renew(token, false);
      return held;
    },
    async release() {
      const was = held;
      held = false;
      clearTimeout(timer);
      // Bounded: renewing resolves within RENEW_DEADLINE_MS of its start (a stuck renewal is
      // left to the pooler; it finds nothing to renew once the row is gone).
      await renewing;
      if (was) await sql.release(token);
    },
  };
}

/** Session.lock, unlock, stillHolds and lockHolder over leases (PostgreSQL, MySQL); `end` releases at the session's end. */
export interface LeaseLocks extends Pick<Session, 'lock' | 'unlock' | 'stillHolds' | 'lockHolder'> {
  end(): Promise<void>;
}

/** `sqlFor`: the backend's lease SQL for a lock name and table; `onError`: a failed renewal or release, to log. */
export function leaseLocks(sqlFor: (name: string, at: LockAt) => LeaseSql, onError: (err: unknown, what: string) => void, signal?: AbortSignal): LeaseLocks {
  let held: Lease | undefined;
  const release = async (): Promise<void> => {
    const l = held;
    held = undefined;
    await l?.release();
  };
  return {
    async lock(name, timeoutMs, at, onLost) {
      if (held) return true;
      const l = createLease(sqlFor(name, at), (err) => onError(err, 'migration lock renewal failed'), onLost);
      if (!(await l.take(timeoutMs, signal))) return false;
      held = l;
      return true;
    },
    unlock: release,
    stillHolds: async () => (held ? held.stillHeld() : false),
    lockHolder: (name, at) => sqlFor(name, at).holder(),
    async end() {
      await release().catch((err) => onError(err, 'could not release the migration lock; its lease expires'));
    },
  };
}
