/**
 * SQLite through better-sqlite3, run in a child process per connection (sqlite-host.ts).
 *
 * better-sqlite3 is synchronous: in-process, a runaway statement would block every
 * other tool call and every cancellation. The host can be SIGKILLed instead, which is
 * how timeouts and cancellations stop a statement. Killing loses only the uncommitted
 * transaction of a file database, but all of an in-memory one (`database_reset`).
 *
 * One host per connection, calls queued FIFO: SQLite has one writer anyway, and an
 * in-memory database cannot be shared between processes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DbError } from '../../../errors.js';
import { LOCK_TABLE as LOCK_TABLE_NAME } from '../../bookkeeping.js';
import type { Capabilities, DatabaseFile, Dialect, DialectConfig, ExecOptions, ServerInfo, Session, SessionOptions, Statement, StatementResult } from '../../dialect.js';
import { createGate } from '../../limits.js';
import { enforceStatementPolicy, explainWrapped, withStatementIndex } from '../../policy.js';
import { classifySqlite } from './classify.js';
import { boundedClassifier, type Analysis } from '../../offload/index.js';
import { cachedClassifier } from '../../readonly/cache.js';
import type { HostInfo, HostLimits, HostReply, HostRequest, HostRows, HostFreeze, HostTakeover } from './host.js';

/**
 * The named lock as a row: SQLite has no session locks, and every server instance on
 * one file must see the same holder. A holder on this host whose process is gone (a
 * SIGKILLed server) is taken over; holders on other hosts are waited for.
 */
// Qualified: a migration's ATTACH of a database with a table of this name must not capture it.
const LOCK_TABLE = `main."${LOCK_TABLE_NAME}"`;
const LOCK_OWNER = `${hostname()}:${process.pid}`;
const LOCK_POLL_MS = 100;

type Send = (text: string, params?: unknown[]) => Promise<StatementResult>;

async function lockRow(send: Send, name: string): Promise<{ holder: string } | null> {
  try {
    const { rows } = await send(`SELECT holder FROM ${LOCK_TABLE} WHERE name = ?`, [name]);
    return rows[0] ? { holder: String(rows[0].holder) } : null;
  } catch (err) {
    if (err instanceof DbError && err.code === 'UNDEFINED_OBJECT') return null;
    throw err;
  }
}

function holderIsDead(holder: string): boolean {
  const [host, pid] = holder.split(':');
  if (host !== hostname() || !/^\d+$/.test(pid ?? '')) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function takeLockRow(send: Send, name: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  await send(`CREATE TABLE IF NOT EXISTS ${LOCK_TABLE} (name TEXT PRIMARY KEY, holder TEXT NOT NULL, taken_at TEXT NOT NULL)`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await send('BEGIN IMMEDIATE');
    let taken = false;
    try {
      const row = await lockRow(send, name);
      if (!row || row.holder === LOCK_OWNER || holderIsDead(row.holder)) {
        await send(`INSERT OR REPLACE INTO ${LOCK_TABLE} (name, holder, taken_at) VALUES (?, ?, ?)`, [name, LOCK_OWNER, new Date().toISOString()]);
        taken = true;
      }
    } finally {
      await send('COMMIT');
    }
    if (taken) return true;
    if (Date.now() >= deadline || signal?.aborted) return false;
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
}

/** Starting node and loading better-sqlite3 takes ~50 ms; a loaded machine may need far more. */
const START_TIMEOUT_MS = 10_000;
/** Rows per IPC reply of a streamed read (each batch is copied between processes once). */
const STREAM_BATCH_ROWS = 2000;
/** How long close() lets a host finish before SIGKILL. */
const CLOSE_GRACE_MS = 1_000;

type RequestBody = HostRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export interface SqliteDialect extends Dialect {
  /** For tests only: pid of the running host process, or null when none runs. */
  hostPid(): number | null;
}

interface HostContext {
  cfg: DialectConfig & { file: string };
  /** Killing the host loses the database (':memory:'). */
  lossOnKill: boolean;
}

/** One host process and the requests in flight to it. */
class Host {
  readonly exited: Promise<void>;
  private alive = true;
  private seq = 0;
  private readonly pending = new Map<number, (reply: HostReply | DbError) => void>();

  constructor(private readonly child: ChildProcess, private readonly ctx: HostContext) {
    let markExited: () => void = () => undefined;
    this.exited = new Promise((resolve) => { markExited = resolve; });
    child.on('exit', (code, signal) => {
      this.alive = false;
      this.failPending(new DbError('CONNECTION_LOST', `the SQLite host exited unexpectedly (${signal ?? `exit code ${code}`})`, {
        exit_code: code, signal, database_reset: ctx.lossOnKill,
      }));
      markExited();
    });
    child.on('error', (err) => {
      ctx.cfg.logger.warn({ connection: ctx.cfg.name, err: err.message }, 'sqlite host process error');
      if (child.pid === undefined) { // never started: no 'exit' will follow
        this.alive = false;
        this.failPending(new DbError('CONNECTION_FAILED', `cannot start the SQLite host: ${err.message}`));
        markExited();
      }
    });
    child.on('message', (msg: HostReply) => this.pending.get(msg?.id)?.(msg));
  }

  get isAlive(): boolean {
    return this.alive;
  }

  get pid(): number | null {
    return this.alive ? this.child.pid ?? null : null;
  }

  /** Sends one request; on timeout or abort the host is killed, since nothing else stops SQLite. */
  request(body: RequestBody, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(new DbError('CANCELLED', 'cancelled before the statement started'));
    if (!this.alive) return Promise.reject(new DbError('CONNECTION_LOST', 'the SQLite host is not running'));
    return new Promise((resolve, reject) => {
      const id = ++this.seq;
      const settle = (reply: HostReply | DbError): void => {
        if (!this.pending.delete(id)) return;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (reply instanceof DbError) reject(reply);
        else if (reply.ok) resolve(reply.result);
        else reject(new DbError(reply.error.code, reply.error.message, reply.error.details));
      };
      const stop = (err: DbError): void => {
        settle(err);
        this.kill();
      };
      const onAbort = (): void => stop(this.stopped('CANCELLED', 'the statement was cancelled by the client'));
      const timer = setTimeout(
        () => stop(this.stopped('TIMEOUT', `the statement was stopped after ${timeoutMs} ms (statement timeout)`, { timeout_ms: timeoutMs })),
        timeoutMs,
      );
      this.pending.set(id, settle);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.child.send({ ...body, id }, (err) => {
        if (!err) return;
        this.kill();
        // Never delivered, so never run: the caller may safely send it to a new host.
        settle(new DbError('CONNECTION_LOST', `could not reach the SQLite host: ${err.message}`, { delivered: false }));
      });
    });
  }

  /** The host counts as gone at once, so no request is sent to it while it dies. */
  kill(): void {
    if (!this.alive) return;
    this.alive = false;
    this.child.ref(); // someone may await `exited`: the dying child must keep the loop alive until then
    this.child.kill('SIGKILL');
  }

  /** Asks the host to close its database and exit; SIGKILL if it has not within graceMs. */
  async shutdown(graceMs: number): Promise<void> {
    if (!this.alive) return this.exited;
    this.child.ref();
    const timer = setTimeout(() => this.kill(), graceMs);
    try {
      this.child.send({ id: 0, op: 'close' }, (err) => { if (err) this.kill(); });
    } catch {
      this.kill();
    }
    await this.exited;
    clearTimeout(timer);
  }

  private stopped(code: 'TIMEOUT' | 'CANCELLED', message: string, extra: Record<string, unknown> = {}): DbError {
    const loss = this.ctx.lossOnKill ? '; the in-memory database was lost with it' : '; any uncommitted change was rolled back';
    return new DbError(code, message + loss, { ...extra, database_reset: this.ctx.lossOnKill });
  }

  private failPending(err: DbError): void {
    for (const settle of [...this.pending.values()]) settle(err);
  }
}

function findProjectRoot(start: string): string | null {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return null;
  }
}

/** Beside this module in the bundle (dist/); from the TS sources (tests), the project's dist/. */
function resolveHostPath(): string {
  const beside = fileURLToPath(new URL('./sqlite-host.js', import.meta.url));
  if (existsSync(beside)) return beside;
  const root = findProjectRoot(dirname(fileURLToPath(import.meta.url)));
  const built = root ? join(root, 'dist', 'sqlite-host.js') : null;
  if (built && existsSync(built)) return built;
  throw new DbError('CONNECTION_FAILED', 'the SQLite host (dist/sqlite-host.js) is not built; run `npm run build`');
}

function spawnHost(ctx: HostContext): Host {
  const { file, readOnly } = ctx.cfg;
  // A missing file in an existing directory is a new database, created on first use. A missing
  // directory is most often a typo in the path: refused unless the connection says
  // create_directory (the default connection, under XDG_DATA_HOME, does).
  if (file !== ':memory:' && !existsSync(dirname(file))) {
    if (!ctx.cfg.createDirectory || readOnly) {
      throw new DbError('CONNECTION_FAILED', `the directory of the SQLite file does not exist: ${dirname(file)}; check the path, create the directory, or set "create_directory": true on connection "${ctx.cfg.name}"`, { cause: 'missing_directory', dir: dirname(file) });
    }
    mkdirSync(dirname(file), { recursive: true });
  }
  const child = fork(resolveHostPath(), [], {
    serialization: 'advanced',
    // The host's stdout must never reach ours: our stdout is the MCP protocol channel.
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    // Flags of the parent (--inspect, test loaders) would break or slow the host.
    execArgv: [],
  });
  const { logger, name } = ctx.cfg;
  if (child.stderr) {
    createInterface({ input: child.stderr, crlfDelay: Infinity })
      .on('line', (line) => logger.warn({ host_pid: child.pid, host_stderr: line }, 'sqlite host says'));
  }
  // An idle host must not keep the server alive: a pending request's timer does that.
  child.unref();
  child.channel?.unref();
  (child.stderr as { unref?: () => void } | null)?.unref?.();
  logger.debug({ host_pid: child.pid }, 'sqlite host started');
  return new Host(child, ctx);
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
    advisoryLocks: false, // SQLite's single write lock serialises writers; there is nothing to name
    explainAnalyze: false,
    cancelKeepsDatabase: !ctx.lossOnKill,
    readOnlyTransactions: false,
  };
  const gate = createGate(1, cfg.acquireTimeoutMs);
  // Long texts are classified off the main thread, with a deadline (offload/index.ts).
  const classify = boundedClassifier('sqlite', cachedClassifier(classifySqlite));
  let host: Host | null = null;
  /** A host being started (by a call, or warmed after a recycle): every caller waits for the same one. */
  let starting: Promise<Host> | null = null;
  /** While close() runs: no host is warmed, and one that finishes starting is ended. */
  let closed = false;

  async function startHost(signal?: AbortSignal): Promise<Host> {
    // A killed host must be gone before the next opens the file: it may still hold the write lock.
    if (host) await host.exited;
    host = null;
    const fresh = spawnHost(ctx);
    try {
      await fresh.request({ op: 'open', file: cfg.file, readOnly: cfg.readOnly, busyTimeoutMs: cfg.statementTimeoutMs }, START_TIMEOUT_MS, signal);
    } catch (err) {
      fresh.kill();
      const e = err instanceof DbError ? err : new DbError('INTERNAL', String(err));
      if (e.code === 'CANCELLED') throw e;
      throw new DbError('CONNECTION_FAILED', `cannot open SQLite database ${cfg.file}: ${e.message}`, { ...e.details, cause_code: e.code });
    }
    if (closed) {
      fresh.kill();
      throw new DbError('CONNECTION_LOST', 'the connection was closed');
    }
    host = fresh;
    return fresh;
  }

  async function ensureHost(signal?: AbortSignal): Promise<Host> {
    if (host?.isAlive) return host;
    if (!starting) starting = startHost(signal).finally(() => { starting = null; });
    return starting;
  }

  /**
   * Starts the next host at once, in the background, after one was recycled: starting a
   * host (a Node process loading better-sqlite3) costs 100-250 ms, up to a second on a
   * loaded machine, which the next call paid in full (the "random" latency spikes of issue
   * 16: a SELECT right after list_migrations took 670 ms at the median). Failures are left
   * for the next call to meet and report.
   */
  function warmHost(): void {
    if (closed || ctx.lossOnKill) return;
    ensureHost().catch(() => undefined);
  }

  /**
   * One request to the host, in turn. `recycle`: the statement may have changed the
   * session (a PRAGMA, ATTACH, a temp table), so a file database gets a fresh host
   * before the next call. An in-memory database lives in its host and is kept.
   */
  async function call<T>(body: RequestBody, timeoutMs: number, signal?: AbortSignal, recycle = false): Promise<T> {
    const release = await gate.acquire(signal);
    try {
      try {
        return (await (await ensureHost(signal)).request(body, timeoutMs, signal)) as T;
      } catch (err) {
        // The host died between calls (killed from outside) and we learnt it only now.
        if (!(err instanceof DbError && err.details.delivered === false)) throw err;
        cfg.logger.info({}, 'sqlite host was gone; retrying on a new host');
        return (await (await ensureHost(signal)).request(body, timeoutMs, signal)) as T;
      }
    } finally {
      if (recycle) await recycleHost();
      release();
    }
  }

  /** Ends the host of a file database so the next call starts a clean session; in-memory ones are kept. */
  async function recycleHost(): Promise<void> {
    if (ctx.lossOnKill || !host) return;
    const h = host;
    host = null;
    await h.shutdown(CLOSE_GRACE_MS).catch(() => undefined);
    warmHost();
  }

  async function connect(): Promise<ServerInfo> {
    const info = await call<HostInfo>({ op: 'info' }, cfg.statementTimeoutMs);
    return { server_version: info.sqlite_version, database: cfg.file, flavor: null, user: null };
  }

  async function execute(stmt: Statement, opts: ExecOptions): Promise<StatementResult> {
    const c = await classify(stmt.text, stmt.lexed);
    enforceStatementPolicy(c, cfg.readOnly);
    const sent = explainWrapped(stmt, c, opts, cfg.readOnly, explainText);
    return call({ op: 'execute', stmt: plain(sent), limits: limitsOf(opts) }, opts.timeoutMs, opts.signal, c.altersSession);
  }

  async function transaction(stmts: Statement[], opts: ExecOptions): Promise<StatementResult[]> {
    const rollback = cfg.readOnly || opts.rollback === true;
    let recycle = false;
    const classified: Analysis[] = [];
    for (const [i, s] of stmts.entries()) classified.push(await withStatementIndex(i, () => classify(s.text, s.lexed)));
    const sent = stmts.map((s, i) => withStatementIndex(i, () => {
      const c = classified[i]!;
      enforceStatementPolicy(c, cfg.readOnly);
      recycle ||= c.altersSession;
      return plain(explainWrapped(s, c, opts, rollback, explainText));
    }));
    if (stmts.length === 0) return [];
    return call({ op: 'transaction', stmts: sent, limits: limitsOf(opts), rollback }, opts.timeoutMs, opts.signal, recycle);
  }

  /**
   * A session holds the host for its whole duration (the gate), so BEGIN IMMEDIATE
   * and COMMIT sent as separate requests see no other caller in between. SQLite has
   * no named locks: the lock is a row, taken under BEGIN IMMEDIATE (see takeLockRow).
   */
  async function withSession<T>(fn: (s: Session) => Promise<T>, opts: SessionOptions): Promise<T> {
    const release = await gate.acquire(opts.signal);
    let inTransaction = false;
    // Deferred statements (BEGIN, history writes) ride along with the next batch: every
    // request to the host is a round trip between processes.
    let pending: Statement[] = [];
    const limits: HostLimits = { maxRows: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER, timeoutMs: opts.timeoutMs };
    const flushWith = async (stmts: Statement[], signal = opts.signal): Promise<StatementResult[]> => {
      const lead = pending.length;
      const all = [...pending, ...stmts];
      pending = [];
      if (all.length === 0) return [];
      try {
        const results = (await (await ensureHost(signal)).request({ op: 'batch', stmts: all, limits }, opts.timeoutMs, signal)) as StatementResult[];
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
    const ask = async <T>(body: RequestBody, signal = opts.signal): Promise<T> => {
      await flushWith([], signal);
      return (await (await ensureHost(signal)).request(body, opts.timeoutMs, signal)) as T;
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
      // SQLite's autocommit flag is not visible through SQL; a BEGIN left open is rolled
      // back when the host is recycled at the end of the session, and the row stays running.
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
      lock: (name, timeoutMs) => takeLockRow(send, name, timeoutMs, opts.signal),
      unlock: async (name) => { await send(`DELETE FROM ${LOCK_TABLE} WHERE name = ? AND holder = ?`, [name, LOCK_OWNER]); },
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
        const h = await ensureHost(signal);
        const ask = (body: RequestBody): Promise<HostRows> => h.request(body, opts.timeoutMs, signal) as Promise<HostRows>;
        let reply = await ask({ op: 'iterate', text, batchRows: STREAM_BATCH_ROWS });
        let count = 0;
        for (;;) {
          // The host steps the next batch while this one is handled: one batch ahead, no more.
          const next = reply.done ? null : ask({ op: 'next' });
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
          const h = await ensureHost(signal);
          const inserted = h.request({ op: 'insert', text, rows: r.value.rows() }, opts.timeoutMs, signal) as Promise<number>;
          inserted.catch(() => undefined);
          // The next batch is decoded here while the host inserts this one.
          next = it.next();
          next.catch(() => undefined);
          count += await inserted;
        }
      },
      lockHolder: async (name) => {
        const row = await lockRow(send, name);
        return row && !holderIsDead(row.holder) ? `server process ${row.holder}` : null;
      },
      file,
    };
    try {
      return await fn(session);
    } finally {
      if (holdsFile) host?.kill();
      if (inTransaction && host?.isAlive) await session.rollback().catch(() => undefined);
      else await flushWith([]).catch((err: Error) => cfg.logger.warn({ err: err.message }, 'deferred session writes failed'));
      // Trusted SQL may have set PRAGMAs: a file database gets a fresh host next time (unless it only read).
      if (!opts.readsOnly || inTransaction) await recycleHost();
      release();
    }
  }

  async function close(): Promise<void> {
    closed = true;
    await starting?.catch(() => undefined);
    const h = host;
    host = null;
    try {
      if (h) await h.shutdown(CLOSE_GRACE_MS);
    } finally {
      // A later call may open the connection again (lazily, as at first).
      closed = false;
    }
  }

  return {
    backend: 'sqlite',
    capabilities,
    connect,
    classify,
    execute,
    transaction,
    withSession,
    poolState: () => ({ open: host?.isAlive ? 1 : 0, busy: gate.busy, waiting: gate.waiting, max: 1 }),
    close,
    hostPid: () => host?.pid ?? null,
  };
}
