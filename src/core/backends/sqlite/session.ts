/**
 * A SQLite session for a manager's multi-step work (dialect.ts Session), on the
 * connection's host. The caller holds the connection's gate for the whole session, so
 * BEGIN IMMEDIATE and COMMIT sent as separate requests see no other caller in between.
 * Deferred statements (BEGIN, history writes) ride along with the next batch: every
 * request to the host is a round trip between processes.
 */
import { DbError } from '../../../errors.js';
import type { DatabaseFile, Session, SessionOptions, Statement, StatementResult } from '../../dialect.js';
import { withStatementIndex } from '../../policy.js';
import type { HostContext, HostSlot } from './host-process.js';
import type { HostFreeze, HostLimits, HostRows, HostTakeover, RequestBody } from './host-protocol.js';
import { holdsLock, lockHolder, lockOwner, releaseLock, takeLock } from './lock.js';

/** Rows per IPC reply of a streamed read (each batch is copied between processes once). */
const STREAM_BATCH_ROWS = 2000;

export async function runSession<T>(slot: HostSlot, ctx: HostContext, fn: (s: Session) => Promise<T>, opts: SessionOptions): Promise<T> {
  const { cfg } = ctx;
  let inTransaction = false;
  let pending: Statement[] = [];
  /** This session's name in the lock table (lock.ts), set when it takes the lock. */
  let owner = lockOwner(null);
  const limits: HostLimits = { maxRows: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER, timeoutMs: opts.timeoutMs };
  const flushWith = async (stmts: Statement[], signal = opts.signal): Promise<StatementResult[]> => {
    const lead = pending.length;
    const all = [...pending, ...stmts];
    pending = [];
    if (all.length === 0) return [];
    try {
      const results = (await (await slot.ensure(signal)).request({ op: 'batch', stmts: all, limits }, opts.timeoutMs, signal)) as StatementResult[];
      return results.slice(lead);
    } catch (err) {
      if (err instanceof DbError && typeof err.details.batch_index === 'number' && err.details.batch_index >= lead) {
        throw err.withDetails({ statement_index: err.details.batch_index - lead });
      }
      throw err;
    }
  };
  const send = async (text: string, params: unknown[] = [], signal = opts.signal): Promise<StatementResult> =>
    (await flushWith([{ text, params }], signal))[0];
  const ask = async <R>(body: RequestBody, signal = opts.signal): Promise<R> => {
    await flushWith([], signal);
    return (await (await slot.ensure(signal)).request(body, opts.timeoutMs, signal)) as R;
  };
  // Between takeOver and release the host holds the file locked: a session that ends
  // without release (or whose release failed) ends that host.
  let holdsFile = false;
  const file: DatabaseFile | undefined = ctx.lossOnKill ? undefined : {
    backup: (dest, tables, signal) => ask<number[]>({ op: 'backup', dest, count: tables }, signal),
    checkpoint: async () => { await ask({ op: 'checkpoint' }); },
    freeze: async (tables, signal) => {
      const r = await ask<HostFreeze>({ op: 'freeze', count: tables }, signal);
      return { rows: r.rows, image: r.image && { path: cfg.file, ...r.image } };
    },
    takeOver: async () => {
      const r = await ask<HostTakeover>({ op: 'takeover' });
      if (!r.ok) return { reason: r.reason };
      holdsFile = true;
      return { path: cfg.file, pageSize: r.pageSize, pages: r.pages };
    },
    release: async () => {
      await ask({ op: 'release' });
      holdsFile = false;
    },
  };
  const session: Session = {
    run: async (statements, onApplied, signal) => {
      if (!onApplied) {
        await flushWith(statements.map((text) => ({ text, params: [] })), signal);
        return;
      }
      for (let i = 0; i < statements.length; i++) {
        await withStatementIndex(i, () => send(statements[i], [], signal));
        await onApplied(i);
      }
    },
    query: async (text, params = []) => (await send(text, params)).rows,
    write: async (text, params = []) => { pending.push({ text, params }); },
    // The session does not ask the host whether a transaction is open: a BEGIN left open
    // is rolled back when the host is recycled at the end of the session, and the row stays running.
    leftOpen: async () => false,
    begin: async () => { pending.push({ text: 'BEGIN IMMEDIATE', params: [] }); inTransaction = true; },
    commit: async () => { await send('COMMIT'); inTransaction = false; },
    rollback: async () => {
      // A BEGIN still waiting in the batch means nothing was sent: dropping it all is the rollback.
      const unsent = pending.some((p) => p.text === 'BEGIN IMMEDIATE');
      pending = [];
      if (!unsent) await send('ROLLBACK');
      inTransaction = false;
    },
    // The lock table is the file's own (main."codomyrmex_locks"), wherever `at` says.
    lock: async (name, timeoutMs) => {
      owner = lockOwner((await slot.ensure(opts.signal)).pid);
      return takeLock(send, owner, name, timeoutMs, opts.signal);
    },
    unlock: (name) => releaseLock(send, owner, name),
    stillHolds: (name) => holdsLock(send, owner, name),
    setForeignKeys: async (on) => {
      const was = (await send('PRAGMA foreign_keys')).rows[0]?.foreign_keys === 1;
      await send(`PRAGMA foreign_keys = ${on ? 'ON' : 'OFF'}`);
      return was;
    },
    foreignKeyViolations: async () => (await send('PRAGMA foreign_key_check')).rows.length,
    // A deferred BEGIN takes its snapshot at the first read: read at once, so the
    // snapshot is the moment this returns, not whenever the first table is read.
    snapshot: async () => {
      pending.push({ text: 'BEGIN', params: [] });
      inTransaction = true;
      await send('SELECT count(*) AS n FROM sqlite_schema');
    },
    stream: async (text, onRows, signal = opts.signal) => {
      await flushWith([], signal);
      const h = await slot.ensure(signal);
      const step = (body: RequestBody): Promise<HostRows> => h.request(body, opts.timeoutMs, signal) as Promise<HostRows>;
      let reply = await step({ op: 'iterate', text, batchRows: STREAM_BATCH_ROWS });
      let count = 0;
      for (;;) {
        // The host steps the next batch while this one is handled: one batch ahead, no more.
        const next = reply.done ? null : step({ op: 'next' });
        next?.catch(() => undefined);
        count += reply.rows.length;
        if (reply.rows.length) await onRows(reply.rows);
        if (!next) return count;
        reply = await next;
      }
    },
    load: async (target, batches, signal = opts.signal) => {
      await flushWith([], signal);
      const text = `INSERT INTO ${target.table} (${target.columns.join(', ')}) VALUES (${target.columns.map(() => '?').join(', ')})`;
      let count = 0;
      const it = batches[Symbol.asyncIterator]();
      let next = it.next();
      for (;;) {
        const r = await next;
        if (r.done) return count;
        const h = await slot.ensure(signal);
        const inserted = h.request({ op: 'insert', text, rows: r.value.rows() }, opts.timeoutMs, signal) as Promise<number>;
        inserted.catch(() => undefined);
        // The next batch is decoded here while the host inserts this one.
        next = it.next();
        next.catch(() => undefined);
        count += await inserted;
      }
    },
    lockHolder: (name) => lockHolder(send, name),
    file,
  };
  try {
    return await fn(session);
  } finally {
    if (holdsFile) slot.current?.kill();
    if (inTransaction && slot.current?.isAlive) await session.rollback().catch(() => undefined);
    else await flushWith([]).catch((err: Error) => cfg.logger.warn({ err: err.message }, 'deferred session writes failed'));
    // Trusted SQL may have set PRAGMAs: a file database gets a fresh host next time (unless it only read).
    if (!opts.readsOnly || inTransaction) await slot.recycle();
  }
}
