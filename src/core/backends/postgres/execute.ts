/**
 * One agent statement on a leased PostgreSQL connection, over the extended protocol
 * (`simple: false`, which refuses several statements in one string): rows streamed
 * into a capped collector, stopped by the client's cancel, a client-side timeout
 * behind the server's, and a hard deadline when the server stops answering.
 */
import type { ReservedSql } from 'postgres';
import { DbError } from '../../../errors.js';
import type { ExecOptions, Statement, StatementResult } from '../../dialect.js';
import { elapsedSince, RowCollector, withDeadline } from '../../limits.js';
import { classifyPgCode, fromPgError } from './errors.js';
import type { Lease } from './pool.js';
import { isKnownOid, pgTypeName } from './types.js';

/** Grace after the server-side timeout before we cancel from the client, and before we give up waiting. */
const CLIENT_CANCEL_GRACE_MS = 250;
const HARD_DEADLINE_GRACE_MS = 5000;

/** The longest a statement with this timeout can hold its connection before it is abandoned (what is pipelined behind it waits that long). */
export const statementBoundMs = (timeoutMs: number): number => timeoutMs + HARD_DEADLINE_GRACE_MS;

interface RunState {
  /** Why we cancelled, if we did: decides the error code of the 57014 that follows. */
  cancelledFor?: 'CANCELLED' | 'TIMEOUT' | 'CAP';
  /** The cancel request, done once the server has signalled the backend (or failed). */
  cancelSent?: Promise<void>;
  /** The statement itself was stopped by our cancel: nothing is left to land later. */
  consumed?: boolean;
}

/** Names of the user types (enums, domains ...) met in results so far, by oid: learnt from pg_type once. */
export type TypeNames = Map<number, string>;

/**
 * How a pure read (SELECT, WITH, VALUES, TABLE) stops at the cap. `cancel`: its rows are
 * read on, dropped, and a cancel request stops it once 1,000 rows or 50 ms have passed the
 * cap (a result a little over the cap just ends, without a cancel). `portal`: read through a
 * portal closed at the cap (postgres.js `cursor`): its Sync costs a round trip of its own
 * and nothing can be pipelined behind it, so only where a cancel could go astray (a URL
 * with several hosts: the cancel's own connection may reach another one). `none`: read to
 * its end, the extra rows dropped (anything that may write: stopping it would undo that).
 */
export type CapStop = 'cancel' | 'portal' | 'none';

/** Rows past the cap, or milliseconds, before a pure read is cancelled (CapStop `cancel`). */
const CAP_SLACK_ROWS = 1000;
const CAP_SLACK_MS = 50;
/** Longest wait for a cancel request's own connection to be done with. */
const CANCEL_SENT_MS = 3000;

/** Results of pure reads that went past the cap with CapStop `cancel` (dialect.ts: their COMMIT may meet the cancel). */
export const stoppedAtCap = new WeakSet<StatementResult>();
/** Of those, the ones the cancel itself stopped: the statement failed, its effects are undone. */
export const stoppedByCancel = new WeakSet<StatementResult>();

/**
 * Sends the cancel request for `q` and says when it is done: postgres.js' own `cancel()`
 * drops that promise (3.4.9; the canceller is its pool's). Once the server has closed the
 * request's connection it has signalled the backend, and a signal that finds the backend
 * idle, or reading its next message, is discarded there: nothing later can be hit.
 */
function requestCancel(q: unknown, settled: Promise<unknown>): Promise<void> {
  const query = q as { canceller?: ((q: unknown) => Promise<void>) | null; cancel(): unknown; active?: boolean };
  const canceller = query.canceller;
  if (typeof canceller !== 'function') {
    query.cancel();
    return Promise.reject(new Error('no canceller'));
  }
  query.canceller = null;
  if (query.active === true) return Promise.resolve(canceller(q));
  // postgres.js 3.4.9 cancels a query that is not yet its connection's current one (written
  // behind the lease's BEGIN, or still in the reserved connection's queue) by marking it: the
  // marked query is then skipped in the order of answers, its answer goes to the query behind
  // it (the COMMIT) and its own promise never settles. The call held its connection until the
  // statement timeout (test/faults/pg-cancel-early). So the request is sent at the moment the
  // driver makes it the current query (it sets `active`), as the driver does for a current
  // one; nothing is sent if it settles first.
  return new Promise((resolve, reject) => {
    let done = false;
    let active = false;
    Object.defineProperty(query, 'active', {
      configurable: true,
      enumerable: true,
      get: () => active,
      set: (value: boolean) => {
        active = value;
        if (value !== true || done) return;
        done = true;
        Promise.resolve(canceller(q)).then(resolve, reject);
      },
    });
    const ended = (): void => {
      if (done) return;
      done = true;
      resolve();
    };
    settled.then(ended, ended);
  });
}

/**
 * Runs one statement on a leased connection. Rows arrive as arrays (duplicate column
 * names keep every value); a pure read stops at the cap as `cap` says.
 */
export async function runStatement(lease: Lease, stmt: Statement, opts: ExecOptions, cap: CapStop, typeNames: TypeNames): Promise<StatementResult> {
  const start = performance.now();
  const collector = new RowCollector(opts.maxRows, opts.maxBytes);
  const state: RunState = {};
  /** Resolved once the statement settled, or this call stopped waiting for it: a cancel not sent by then is not sent. */
  let ended!: () => void;
  const settled = new Promise<void>((resolve) => { ended = resolve; });
  const q = lease.conn.unsafe(stmt.text, stmt.params as never[], { prepare: false, simple: false } as never).values();
  const described = (): Array<{ name: string; type: number }> => (q as unknown as { statement?: { columns?: Array<{ name: string; type: number }> } }).statement?.columns ?? [];
  const take = (row: unknown[]): boolean => {
    if (!collector.hasColumns) collector.setColumns(described().map((c) => c.name));
    return collector.add(row);
  };
  const cancel = (why: NonNullable<RunState['cancelledFor']>): void => {
    if (state.cancelledFor) return;
    state.cancelledFor = why;
    state.cancelSent = requestCancel(q, settled);
    state.cancelSent.catch(() => undefined);
  };
  const onAbort = (): void => cancel('CANCELLED');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  /** Ends the wait for the statement (the hard deadline); set once the statement is sent. */
  let abandon: ((err: DbError) => void) | undefined;
  // One timer per statement: the client's cancel, then, re-armed, the hard deadline.
  const cancelAt = opts.timeoutMs + CLIENT_CANCEL_GRACE_MS;
  let timer = setTimeout(() => {
    cancel('TIMEOUT');
    const bound = statementBoundMs(opts.timeoutMs);
    timer = setTimeout(() => abandon?.(new DbError('CONNECTION_LOST', 'the database stopped answering; the statement was abandoned', { waited_ms: bound })), bound - cancelAt);
  }, cancelAt);
  let capTimer: NodeJS.Timeout | undefined;
  let past = 0;
  try {
    if (opts.signal?.aborted) throw new DbError('CANCELLED', 'cancelled before the statement started');
    const close = (lease.pool as unknown as { CLOSE: unknown }).CLOSE;
    const work = cap === 'portal'
      ? q.cursor(Math.min(opts.maxRows + 1, 1000), (rows: unknown[][]) => (rows.every(take) ? undefined : close)).then(() => null)
      : q.forEach((row: unknown[]) => {
        if (take(row) || cap !== 'cancel') return;
        if (past++ === 0) capTimer = setTimeout(() => cancel('CAP'), CAP_SLACK_MS);
        if (past > CAP_SLACK_ROWS) cancel('CAP');
      });
    let res: { count?: number; command?: string } | null;
    try {
      res = await new Promise<{ count?: number; command?: string } | null>((resolve, reject) => {
        abandon = reject;
        (work as Promise<{ count?: number; command?: string } | null>).then(resolve, reject);
        (work as Promise<unknown>).then(ended, ended);
      });
    } catch (err) {
      state.consumed = state.cancelledFor !== undefined && isCancelOfOurs(err);
      if (state.cancelledFor !== 'CAP' || !state.consumed) throw err;
      res = null; // the rows up to the cap are the answer
    }
    clearTimeout(capTimer);
    const columns = described();
    const affected = res && res.command !== 'SELECT' && columns.length === 0 ? Number(res.count ?? 0) : null;
    const unknown = unknownOids(columns, typeNames);
    if (unknown.length > 0) await learnTypeNames(lease.conn, unknown, typeNames, state.consumed === true);
    const result = resultOf(columns, collector, affected, start, typeNames);
    if (past > 0) stoppedAtCap.add(result);
    if (res === null) stoppedByCancel.add(result);
    return result;
  } catch (err) {
    const e = errorFor(err, state, opts);
    // Nothing more may be written to a dead connection (not even the late-cancel absorber below): it could wait for ever.
    if (e.code === 'CONNECTION_LOST' || e.details.connection_dropped === true) lease.broken = true;
    throw e;
  } finally {
    ended();
    clearTimeout(timer);
    clearTimeout(capTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    // A cancel request may land after its statement ended: wait until the server has
    // signalled the backend (then nothing later can be hit); where that cannot be known,
    // give it somewhere harmless to land before anything else runs here.
    if (state.cancelledFor && !state.consumed && !lease.broken) await cancelSettled(lease, state.cancelSent);
  }
}

async function cancelSettled(lease: Lease, sent: Promise<void> | undefined): Promise<void> {
  const done = await withDeadline(sent ?? Promise.reject(new Error('not sent')), CANCEL_SENT_MS, () => undefined, () => new Error('the cancel request is not done'))
    .then(() => true, () => false);
  if (!done) await absorbLateCancel(lease);
}

/** 57014 from a cancel request (ours), not from statement_timeout (which may run out while our cancel is on its way). */
function isCancelOfOurs(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === '57014' && classifyPgCode(e.code, e.message ?? '') === 'CANCELLED';
}

/** The oids of the result's columns whose type names are not known yet (user types: enums, domains …). */
function unknownOids(columns: Array<{ type: number }>, typeNames: TypeNames): number[] {
  const unknown: number[] = [];
  for (const c of columns) if (!isKnownOid(c.type) && !typeNames.has(c.type) && !unknown.includes(c.type)) unknown.push(c.type);
  return unknown;
}

/** Asks pg_type for these oids' names; a failure only leaves them unnamed. */
async function learnTypeNames(conn: ReservedSql, oids: number[], typeNames: TypeNames, aborted: boolean): Promise<void> {
  await askTypeNames(conn, oids, typeNames).catch(async (err: { code?: string }) => {
    // Our cancel aborted the transaction, and the names are asked behind the COMMIT pipelined
    // after the statement, which failed too: end the transaction (it keeps nothing) and ask again.
    if (!aborted || err.code !== '25P02') return;
    await conn.unsafe('rollback');
    await askTypeNames(conn, oids, typeNames);
  }).catch(() => undefined);
}

async function askTypeNames(conn: ReservedSql, oids: number[], typeNames: TypeNames): Promise<void> {
  const rows = await conn.unsafe('select oid::int4 as oid, typname from pg_type where oid = any($1::oid[])', [oids as never], { simple: false } as never);
  for (const r of rows) typeNames.set(Number(r.oid), String(r.typname));
}

function resultOf(
  columns: Array<{ name: string; type: number }>,
  collector: RowCollector,
  affected: number | null,
  start: number,
  typeNames: TypeNames,
): StatementResult {
  const rows = collector.rows;
  const keys = collector.hasColumns ? collector.setColumns(columns.map((c) => c.name)) : columns.map((c) => c.name);
  return {
    columns: columns.map((c, i) => ({ name: keys[i] ?? c.name, type: pgTypeName(c.type, typeNames) })),
    rows,
    row_count: affected ?? rows.length,
    affected_rows: affected,
    truncated: collector.truncated,
    elapsed_ms: elapsedSince(start),
  };
}

function errorFor(err: unknown, state: RunState, opts: ExecOptions): DbError {
  const e = fromPgError(err);
  // A message over the bound (socket.ts) says more than the cancel that may have crossed it.
  if (e.details.connection_dropped === true) return e;
  if (state.cancelledFor === 'CANCELLED') return new DbError('CANCELLED', 'the statement was cancelled by the client', e.details);
  if (e.code === 'TIMEOUT' || state.cancelledFor === 'TIMEOUT') {
    return new DbError('TIMEOUT', `the statement was stopped after ${opts.timeoutMs} ms (statement timeout)`, { ...e.details, timeout_ms: opts.timeoutMs });
  }
  return e;
}

/**
 * A cancel request travels on its own connection and may arrive after its
 * statement ended. The server ignores it while idle, but not during the next
 * statement: a short sleep gives it somewhere harmless to land. What was pipelined
 * behind the statement (its COMMIT or ROLLBACK) runs first; a transaction the cancel
 * aborted there is rolled back (the caller reports the failed COMMIT).
 */
async function absorbLateCancel(lease: Lease): Promise<void> {
  for (let i = 0; i < 3; i++) {
    try {
      await lease.conn.unsafe('select pg_sleep(0.02)', [], { simple: false } as never);
      return;
    } catch (err) {
      if ((err as { code?: string }).code === '25P02') {
        await lease.conn.unsafe('rollback').catch(() => { lease.broken = true; });
        if (lease.broken) return;
        continue;
      }
      if ((err as { code?: string }).code !== '57014') {
        lease.broken = true;
        return;
      }
    }
  }
}
