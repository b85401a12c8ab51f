/**
 * The SQLite dialect's side of its host process (host.ts): starting one, the requests
 * in flight to it, killing it (how timeouts and cancellations stop a statement), and
 * the slot that holds the running host of one connection.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DbError } from '../../../errors.js';
import type { DialectConfig } from '../../dialect.js';
import type { HostReply, RequestBody } from './host-protocol.js';

/** Starting node and loading better-sqlite3 takes ~50 ms; a loaded machine may need far more. */
const START_TIMEOUT_MS = 10_000;
/** How long a host may take to close its database and exit before SIGKILL. */
const CLOSE_GRACE_MS = 1_000;

export interface HostContext {
  cfg: DialectConfig & { file: string };
  /** Killing the host loses the database (':memory:'). */
  lossOnKill: boolean;
}

/** One host process and the requests in flight to it. */
export class Host {
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

/** A file the build writes into dist/: beside this module in the bundle, or the project's dist/ from the TS sources (tests); null when not built. */
export function builtFile(name: string): string | null {
  const beside = fileURLToPath(new URL(`./${name}`, import.meta.url));
  if (existsSync(beside)) return beside;
  const root = findProjectRoot(dirname(fileURLToPath(import.meta.url)));
  const built = root ? join(root, 'dist', name) : null;
  return built && existsSync(built) ? built : null;
}

function resolveHostPath(): string {
  const path = builtFile('sqlite-host.js');
  if (path) return path;
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
  const { logger } = ctx.cfg;
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

/** The host of one connection: started on demand, recycled between sessions, closed. */
export interface HostSlot {
  /** The running host, if any. */
  readonly current: Host | null;
  /** The running host, or one started now: every caller waits for the same start. */
  ensure(signal?: AbortSignal): Promise<Host>;
  /** Ends the host of a file database so the next call starts a clean session (and starts that host now); in-memory ones are kept. */
  recycle(): Promise<void>;
  /** Ends the host; a later call starts a new one (lazily, as at first). */
  close(): Promise<void>;
}

export function createHostSlot(ctx: HostContext): HostSlot {
  const { cfg } = ctx;
  let host: Host | null = null;
  /** A host being started (by a call, or warmed after a recycle): every caller waits for the same one. */
  let starting: Promise<Host> | null = null;
  /** While close() runs: no host is warmed, and one that finishes starting is ended. */
  let closed = false;

  async function start(signal?: AbortSignal): Promise<Host> {
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

  async function ensure(signal?: AbortSignal): Promise<Host> {
    if (host?.isAlive) return host;
    if (!starting) starting = start(signal).finally(() => { starting = null; });
    return starting;
  }

  /**
   * Starts the next host at once, in the background, after one was recycled: starting a
   * host (a Node process loading better-sqlite3) costs 100-250 ms, up to a second on a
   * loaded machine, which the next call paid in full (the "random" latency spikes of issue
   * 16: a SELECT right after list_migrations took 670 ms at the median). Failures are left
   * for the next call to meet and report.
   */
  function warm(): void {
    if (closed || ctx.lossOnKill) return;
    ensure().catch(() => undefined);
  }

  return {
    get current() { return host; },
    ensure,
    async recycle() {
      if (ctx.lossOnKill || !host) return;
      const h = host;
      host = null;
      await h.shutdown(CLOSE_GRACE_MS).catch(() => undefined);
      warm();
    },
    async close() {
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
    },
  };
}
