/**
 * The postgres.js pool of one PostgreSQL connection: opened on first use, retired
 * whole when one of its connections dies, and handed out as leases (one reserved
 * connection per call) that go back clean. Unnamed statements (`prepare: false`), so
 * that DISCARD ALL can reset a session without breaking a prepared-statement cache, and
 * so that a transaction pooler (which moves us between server connections) never meets
 * a statement name prepared on another one.
 */
import type { Notice, ReservedSql, Sql } from 'postgres';
import { DbError } from '../../../errors.js';
import type { DialectConfig, PoolState } from '../../dialect.js';
import { CONNECT_TIMEOUT_MS, createGate, MAX_MESSAGE_BYTES, withDeadline } from '../../limits.js';
import { fromPgError } from './errors.js';
import { resetsSession } from './settings.js';
import { pgSocketGuard, type PgSocketGuard, type SessionClose } from './socket.js';
import { PG_TYPE_PARSERS } from './types.js';

/** Bound on BEGIN/ROLLBACK/DISCARD: a healthy server answers these in microseconds. */
export const CONTROL_TIMEOUT_MS = 3000;

/** A connection reserved for one call. */
export interface Lease {
  conn: ReservedSql;
  /** The pool it came from: retired whole if the connection dies. */
  pool: Sql;
  /** The pool's renewal connection (the migration lock's lease, lease.ts): one connection of its own, opened on first use. */
  side(): Sql;
  /** The connection died: write nothing more to it. */
  broken: boolean;
  /**
   * The last message on the connection ended a transaction with SESSION_RESET (settings.ts),
   * which undoes all DISCARD ALL would: the lease ends without one (a round trip and server
   * work saved per call). Set and cleared by control().
   */
  clean: boolean;
  release(): void;
  /** The pool's sessions that closed lately, and why where the peer said so (socket.ts recentCloses). */
  recentCloses(): readonly SessionClose[];
}

/** What the driver takes from the connection's URL, already checked (the URL without its query, TLS and the like). */
export interface PgDriverUrl {
  url: string;
  ssl: unknown;
  sslnegotiation: 'direct' | null;
  target_session_attrs: string | null;
  connect_timeout?: number;
}

/**
 * How leases end. `discard`: with DISCARD ALL (the connection is ours until we close it:
 * no pooler, or a session pooler). `none`: a transaction pooler hands each transaction
 * to any server connection, so a DISCARD ALL would reset some other one; nothing of ours
 * outlives a transaction there (settings.ts) and agent statements that would leave state
 * are refused (dialect.ts).
 */
export type LeaseReset = 'discard' | 'none';

export interface PgPool {
  /** A connection of the current pool (opened if needed), within the pool size; BUSY after the acquire timeout. */
  reserve(signal?: AbortSignal): Promise<Lease>;
  /** Retires the current pool, if there is one: the next call opens a fresh one. */
  retireCurrent(): void;
  /** Resets the session (DISCARD ALL, unless the pool's LeaseReset is `none`) and releases the lease; a broken one retires its pool. */
  endLease(lease: Lease): Promise<void>;
  /**
   * Cleans the lease after the caller has its answer: the connection (and its pool
   * slot) is only handed to the next call once `first` (a ROLLBACK) and DISCARD ALL are done.
   */
  endLeaseLater(lease: Lease, first: Array<string | Pipelined>): void;
  state(): PoolState;
  close(): Promise<void>;
}

/** `urlOptions` is read each time a pool is opened (it may throw for a URL it refuses). */
export function createPgPool(cfg: DialectConfig, urlOptions: () => PgDriverUrl, reset: LeaseReset): PgPool {
  const gate = createGate(cfg.poolSize, cfg.acquireTimeoutMs);
  let sql: Sql | undefined;
  let opened = 0;
  // Each pool's socket factory: stopped when the pool is retired or closed, so it opens nothing more.
  const sockets = new WeakMap<Sql, PgSocketGuard>();
  /** Each pool's renewal connection, retired and closed with it. */
  const sides = new WeakMap<Sql, { sql: Sql; socket: PgSocketGuard }>();
  /** Each pool's reservations not yet answered (reserveOn), asked again when one of its connections closes. */
  const pending = new WeakMap<Sql, Set<() => void>>();
  /** Retired pools whose waiting reservations move to the current pool (retire). */
  const moving = new WeakSet<Sql>();

  async function current(): Promise<Sql> {
    if (sql) return sql;
    const { default: postgres } = await import('postgres');
    if (sql) return sql;
    // The driver gets the URL without its query: postgres.js would send unknown parameters as
    // startup parameters, after (so over) `connection` below. TLS and the like come from the
    // checked parameters; every other option postgres.js would read from PG* variables is given.
    const fromUrl = urlOptions();
    const socket = pgSocketGuard(MAX_MESSAGE_BYTES);
    // `waiting`: the pool's unanswered reservations, asked again when one of its connections
    // closes (postgres.js' onclose, just before it reconnects for one of them; reserveOn).
    const options = (guard: PgSocketGuard, waiting?: Set<() => void>) => ({
      prepare: false,
      idle_timeout: 60,
      max_lifetime: 60 * 30,
      connect_timeout: fromUrl.connect_timeout ?? CONNECT_TIMEOUT_MS / 1000,
      socket: guard.socket,
      ssl: fromUrl.ssl,
      sslnegotiation: fromUrl.sslnegotiation,
      target_session_attrs: fromUrl.target_session_attrs,
      max_pipeline: 100,
      keep_alive: 60,
      debug: false,
      fetch_types: true,
      publications: 'alltables',
      // postgres.js waits before reconnecting a slot whose socket closed while a reservation
      // was pending, by default 3^n / 100 s (up to 20 s) after n failures: during a restart that
      // wait outlasts the database's downtime. Reads that fail are retried by us (recovery.ts)
      // on a fresh pool, so the driver's own wait stays short.
      backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 0.5),
      types: PG_TYPE_PARSERS,
      // Server NOTICEs go to the log: postgres.js would print them to stdout, our protocol channel.
      onnotice: (notice: Notice) => cfg.logger.debug({ notice: notice.message }, 'server notice'),
      onclose: () => {
        cfg.logger.debug({}, 'connection closed');
        if (waiting) askAgain(waiting);
      },
      // Only startup parameters a stock PgBouncer accepts (it tracks these itself); the
      // statement timeout and IntervalStyle are set inside each transaction (settings.ts).
      connection: {
        application_name: 'codomyrmex-db',
        TimeZone: 'UTC',
        // The read-only classifier parses strings as the default grammar does; pin it so both agree.
        standard_conforming_strings: 'on',
        DateStyle: 'ISO',
      },
    });
    const waiting = new Set<() => void>();
    const pool = postgres(fromUrl.url, { ...options(socket, waiting), max: cfg.poolSize } as Parameters<typeof postgres>[1]);
    sql = pool;
    sockets.set(pool, socket);
    pending.set(pool, waiting);
    // The migration lock's renewals (lease.ts) run outside any lease and must not wait behind
    // pool_size busy calls: one connection of their own. Without fetch_types: a renewal reads
    // one text column, and postgres.js' type query on a connection that dies while it waits
    // (at a session pooler with no server connection to spare) is a rejection nobody handles.
    const sideSocket = pgSocketGuard(MAX_MESSAGE_BYTES);
    sides.set(sql, { sql: postgres(fromUrl.url, { ...options(sideSocket), max: 1, fetch_types: false } as Parameters<typeof postgres>[1]), socket: sideSocket });
    opened = Date.now();
    return sql;
  }

  async function reserve(signal?: AbortSignal): Promise<Lease> {
    const releaseSlot = await gate.acquire(signal);
    let from: Sql | undefined;
    try {
      const { conn, of } = await reserveOn(await current(), (asked) => { from = asked; });
      // The pool may be retired (a connection died) while a lease is out: its renewal connection is then closed too.
      const side = (): Sql => {
        const own = sides.get(of);
        if (!own) throw new DbError('CONNECTION_LOST', 'the connection pool was replaced after a connection died');
        return own.sql;
      };
      const watched = watchClose(conn, () => lease);
      const lease: Lease = {
        conn: watched.conn,
        pool: of,
        side,
        broken: false,
        clean: false,
        // A connection that closed goes back to postgres.js by its own close path: handed back
        // here as well, the driver would give the dead connection to the next reservation.
        release: () => {
          watched.forget();
          if (!lease.broken) conn.release();
          releaseSlot();
        },
        recentCloses: () => sockets.get(of)?.recentCloses() ?? [],
      };
      return lease;
    } catch (err) {
      releaseSlot();
      const e = fromPgError(err);
      // postgres.js backs off a slot whose connect failed (0.2 s, 0.5 s, then 6 s ...) even
      // after the database is back, and a restart fails several: start over with a fresh pool.
      // A session the database dropped as it opened (it answered): the others waiting move on.
      if (from && (e.code === 'CONNECTION_FAILED' || e.code === 'CONNECTION_LOST')) retire(from, e.code === 'CONNECTION_LOST');
      throw e;
    }
  }

  /**
   * A connection of the pool, reserved. postgres.js 3.4.9 drops a reservation when a
   * connection closes while it waits: the closing connection reconnects for the oldest waiting
   * reservation but never hands itself over (connection.js ReadyForQuery), and the call waited
   * for ever. So each waiting reservation is asked again when one of its pool's connections
   * closes (askAgain), on the current pool if its own was retired after a lost session
   * (retire); the first answer wins and any later one goes straight back.
   */
  function reserveOn(first: Sql, asking: (of: Sql) => void): Promise<{ conn: ReservedSql; of: Sql }> {
    return new Promise((resolve, reject) => {
      let settled = false;
      let on = first;
      const done = (): boolean => {
        if (settled) return false;
        settled = true;
        pending.get(on)?.delete(ask);
        return true;
      };
      const request = (from: Sql): void => {
        asking(from);
        from.reserve().then((conn) => {
          if (from === on && done()) resolve({ conn, of: from });
          else conn.release();
        }, (err: unknown) => {
          if (from === on && done()) reject(err);
        });
      };
      function ask(): void {
        if (settled) return;
        // A pool retired because it could not connect opens nothing more: asked there, the
        // reservation fails at once (socket.ts stop) and nothing reconnects.
        if (on === sql || !moving.has(on)) return request(on);
        // Retired after a lost session: what waits there would be destroyed when it closes.
        pending.get(on)?.delete(ask);
        current().then((now) => {
          if (settled) return;
          on = now;
          pending.get(now)!.add(ask);
          request(now);
        }, (err: unknown) => { if (done()) reject(err); });
      }
      pending.get(on)!.add(ask);
      request(on);
    });
  }

  /** Asks a pool's waiting reservations again, on the next turn (once the driver is done with the event). */
  function askAgain(waiting: Set<() => void>): void {
    if (!waiting.size) return;
    const again = [...waiting];
    setImmediate(() => { for (const ask of again) ask(); });
  }

  /**
   * A connection that died under postgres.js 3.4.9 can leave the pool's internal
   * state inconsistent (later queries on it hang), so the whole pool is retired:
   * new calls get a fresh pool, the old one drains and closes in the background.
   * `moveWaiting`: a session was lost (the database answered), so the calls waiting for a
   * connection of the old pool ask the fresh one; after a failed connect they stay, and
   * fail at once, so that nothing reconnects to a peer that is not the database (SPEC §7).
   */
  function retire(old: Sql, moveWaiting: boolean): void {
    if (sql !== old) return; // already retired
    sql = undefined;
    sockets.get(old)?.stop();
    cfg.logger.warn({}, 'a connection died; opening a fresh pool');
    if (moveWaiting) {
      moving.add(old);
      askAgain(pending.get(old)!);
    }
    old.end({ timeout: Math.ceil(cfg.statementTimeoutMs / 1000) + 1 }).catch(() => undefined);
    endSide(old, 1);
  }

  /** Closes a pool's renewal connection: a renewal still waiting (at a pooler) fails, and lease.ts has stopped waiting for it. */
  async function endSide(of: Sql, timeoutS: number): Promise<void> {
    const side = sides.get(of);
    if (!side) return;
    sides.delete(of);
    side.socket.stop();
    await side.sql.end({ timeout: timeoutS }).catch(() => undefined);
  }

  /**
   * Leaves nothing behind for the next user: no SET, no lock, no LISTEN, no temp
   * table. Always, not only after statements that look session-changing: a
   * user-defined function or a trigger can change the session from any statement.
   */
  async function endLease(lease: Lease): Promise<void> {
    if (!lease.broken && reset === 'discard' && !lease.clean) {
      await control(lease, 'discard all').catch((err: Error) => {
        cfg.logger.warn({ err: err.message }, 'could not reset a session');
        lease.broken = true;
      });
    }
    if (lease.broken) retire(lease.pool, true);
    lease.release();
  }

  function endLeaseLater(lease: Lease, first: Array<string | Pipelined>): void {
    // A dead connection's pool is retired at once, so a retry never draws from it.
    if (lease.broken) retire(lease.pool, true);
    // Nothing to send (a call whose COMMIT carried the reset): back at once, as endLease would.
    else if (first.length === 0 && (reset === 'none' || lease.clean)) return lease.release();
    void (async () => {
      for (const step of first) {
        // Sent already (pipelined): sent again if it failed (a late cancel may have landed on it).
        if (typeof step !== 'string' && (await step.then(() => true, () => false) || lease.broken)) continue;
        await control(lease, typeof step === 'string' ? step : step.text).catch(() => undefined);
      }
      await endLease(lease);
    })().catch((err: Error) => cfg.logger.warn({ err: err.message }, 'lease cleanup failed'));
  }

  return {
    reserve,
    retireCurrent: () => { if (sql) retire(sql, false); },
    endLease,
    endLeaseLater,
    state: () => ({ open: null, busy: gate.busy, waiting: gate.waiting, max: cfg.poolSize }),
    async close() {
      const s = sql;
      sql = undefined;
      if (s) sockets.get(s)?.stop();
      if (s) await Promise.all([s.end({ timeout: 2 }), endSide(s, 2)]);
      cfg.logger.debug({ open_ms: opened ? Date.now() - opened : 0 }, 'pool closed');
    },
  };
}

/** What postgres.js hands a query's `onexecute` option: the connection it was written to. */
interface DriverConnection {
  /** Called once when the connection closes (postgres.js index.js onclose). */
  onclose: ((err: unknown) => void) | null;
}

/** A postgres.js query as the lease sees it: settled from outside when its connection closed. */
interface DriverQuery {
  /** Set once the query was handed to the connection (postgres.js Query.handle). */
  executed?: boolean;
  reject(err: unknown): void;
}

/** The lease's last queries that may still be pending when its connection closes (pipelined ones are a few). */
const RECENT_QUERIES = 16;

/**
 * The reserved connection, with every query written through it watched: the first one that
 * reaches the wire (postgres.js calls its `onexecute` with the connection) hooks the
 * connection's close, which marks the lease broken the moment the driver sees the close,
 * whether or not a query of ours was pending then. Nothing is written to a broken lease: a
 * query on a closed postgres.js connection is never sent and never settles, or is written
 * into the session it reconnects for someone else. Queries still waiting in postgres.js'
 * queue of the reserved connection when it closes are dropped there without an answer; they
 * fail here as the ones on the wire do (CONNECTION_CLOSED).
 */
function watchClose(conn: ReservedSql, leaseOf: () => Lease): { conn: ReservedSql; forget(): void } {
  const unsafe = conn.unsafe.bind(conn);
  let hooked: DriverConnection | undefined;
  let recent: DriverQuery[] = [];
  const onclose = (): void => {
    leaseOf().broken = true;
    const closed = Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED', errno: 'CONNECTION_CLOSED' });
    // The ones the driver answered already keep their answer (a settled promise ignores this).
    for (const q of recent) if (q.executed) q.reject(closed);
    recent = [];
  };
  const onexecute = (c: DriverConnection): true => {
    if (!hooked) {
      hooked = c;
      c.onclose = onclose;
    }
    // postgres.js reads this as "the connection takes more": what it would be without the option.
    return true;
  };
  conn.unsafe = ((text: string, params?: unknown[], options?: Record<string, unknown>) => {
    if (leaseOf().broken) throw new DbError('CONNECTION_LOST', 'the connection to the database was lost');
    const q = unsafe(text, params as never[], { ...options, onexecute } as never);
    recent.push(q as unknown as DriverQuery);
    if (recent.length > RECENT_QUERIES) recent.shift();
    return q;
  }) as ReservedSql['unsafe'];
  // The next lease of the connection hooks it again: this one's hook must not outlive it.
  return { conn, forget: () => { recent = []; if (hooked?.onclose === onclose) hooked.onclose = null; } };
}

/**
 * Housekeeping statements (BEGIN, ROLLBACK, SET, DISCARD) on a leased connection.
 * Never written to a connection known dead (postgres.js 3.4.9 can then throw from
 * a socket callback and leave the query pending forever), and always bounded. A message
 * that ends its transaction with the session reset (settings.ts COMMIT_RESET, ROLLBACK_RESET)
 * leaves the lease clean once it succeeded; any other message, or one that failed, does not.
 */
export async function control(lease: Lease, text: string, timeoutMs = CONTROL_TIMEOUT_MS): Promise<void> {
  if (lease.broken) throw new DbError('CONNECTION_LOST', 'the connection to the database was lost');
  lease.clean = false;
  // Handed to the connection now (postgres.js queries are lazy): whatever the caller sends
  // next on this lease is pipelined behind it, in order.
  const q = lease.conn.unsafe(text).execute();
  try {
    await withDeadline(q, timeoutMs, () => undefined, () => new DbError('CONNECTION_LOST', `the database did not answer ${text.split(' ')[0]}`));
  } catch (err) {
    // Pipelined messages end in order: the last one to end says whether the lease is clean.
    lease.clean = false;
    const e = withCloseReason(lease, fromPgError(err));
    if (connectionGone(e)) lease.broken = true;
    throw e;
  }
  lease.clean = resetsSession(text);
}

/** Marks the lease broken when the work failed because the connection died. */
export async function watch<T>(lease: Lease, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (!(err instanceof DbError)) throw err;
    if (connectionGone(err)) lease.broken = true;
    throw withCloseReason(lease, err);
  }
}

/**
 * A CONNECTION_CLOSED comes from the pool's session that closed last, as the driver reports it
 * in the same turn of the event loop; the guard cannot say which session a lease holds, so a
 * reason is added only when that session is the pool's one close within this window.
 */
const CLOSE_REASON_MS = 1000;
/** PgBouncer's refusal, in statement pooling mode, of a message that leaves a transaction open. */
const STATEMENT_POOLING = /transaction blocks not allowed in statement pool/i;

/**
 * postgres.js reports a session the peer closed as a bare CONNECTION_CLOSED; the socket guard
 * (socket.ts) read why, when the peer said so first: its words go into the error. Behind
 * PgBouncer's statement pooling, which ends any session whose message leaves a transaction
 * open, the error says so and what to do. The code stays CONNECTION_LOST: a write's outcome is
 * still unknown (its COMMIT may have run before the pooler ended the session), a read is retried.
 */
export function withCloseReason(lease: Lease, err: DbError): DbError {
  if (err.code !== 'CONNECTION_LOST' || err.details.driver_code !== 'CONNECTION_CLOSED' || err.details.server_message !== undefined) return err;
  const now = Date.now();
  const recent = lease.recentCloses().filter((c) => now - c.at <= CLOSE_REASON_MS);
  const why = recent.length === 1 ? recent[0]!.reason : undefined;
  if (!why) return err;
  const pooling = STATEMENT_POOLING.test(why.message);
  const message = pooling
    ? `${err.message}: the pooler in front of the database ended the session after "${why.message}" (PgBouncer's pool_mode = statement, which refuses the transaction a call runs in: connect through a transaction or session pool, or to the database directly)`
    : `${err.message}: the server closed it after "${why.message}"`;
  return new DbError('CONNECTION_LOST', message, {
    ...err.details, server_message: why.message, ...(why.sqlstate ? { server_sqlstate: why.sqlstate } : {}), ...(pooling ? { pooler_mode: 'statement' } : {}),
  }, { cause: err });
}

/** The error says the lease's connection is gone; connection_dropped: the socket guard closed it (socket.ts). */
function connectionGone(err: DbError): boolean {
  return err.code === 'CONNECTION_LOST' || err.code === 'CONNECTION_FAILED' || err.details.connection_dropped === true;
}

/**
 * `text` handed to the connection now, behind what was sent before it (pipelined), its outcome
 * awaited later (a rejection nobody awaits is not reported as unhandled).
 */
export function pipelined(lease: Lease, text: string, timeoutMs: number): Pipelined {
  const sent = control(lease, text, timeoutMs);
  sent.catch(() => undefined);
  return Object.assign(sent, { text });
}

/** A message sent ahead (pipelined), with its text. */
export type Pipelined = Promise<void> & { text: string };
