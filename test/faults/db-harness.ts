/**
 * What the database fault files share: the built server as a child process over stdio
 * (so a crash is a dead process, not a test exception), a liveness probe after each
 * repetition, admin connections of the test's own to look at and kill server sessions,
 * and small polling helpers.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/backends.js';
import { callTool, startStdio, type ConnectionSpec, type ToolOutcome } from '../support/mcp.js';
import type { Tally } from './tally.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ServerProcess {
  client: Client;
  pid: number;
  /** The last lines the server logged (warn and above), for failure messages. */
  logTail(): string;
  /** Driver errors the crash guard caught (logged "uncaught exception" / "unhandled rejection"): survived, but worth knowing. */
  guarded(): { count: number; first?: string };
  /** Messages and log lines searched for the sentinel since the last call, and hits. */
  takeSecrets(): { scanned: number; hits: number; first?: string };
  close(): Promise<void>;
}

/**
 * The password every server under test is given (issue 8, "Secrets"): PostgreSQL's trust
 * auth accepts it unchecked; on MariaDB it belongs to an account made for it.
 */
export const SENTINEL = 'S3ntinel-fault-PW';
const SENTINEL_USER = 'cmx_fault_sentinel';

/** The URL the server is given instead of `url`: the same database, with the sentinel password. */
async function withSentinel(url: string): Promise<string> {
  const u = new URL(url);
  if (u.protocol === 'postgres:' || u.protocol === 'postgresql:') {
    u.password = SENTINEL;
    return u.toString();
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') return url;
  const database = decodeURIComponent(u.pathname.slice(1));
  const admin = await adminFor('mysql', url);
  try {
    await admin.rows(`CREATE USER IF NOT EXISTS '${SENTINEL_USER}'@'%' IDENTIFIED BY '${SENTINEL}'`);
    await admin.rows(`GRANT ALL ON \`${database}\`.* TO '${SENTINEL_USER}'@'%'`);
  } finally {
    await admin.close();
  }
  u.username = SENTINEL_USER;
  u.password = SENTINEL;
  return u.toString();
}

/**
 * Starts dist/server.js with a config file holding these connections, each with the
 * sentinel password, and searches every message it sends and every line it logs for it.
 */
export async function startServer(connections: Record<string, ConnectionSpec>): Promise<ServerProcess> {
  const dir = tempDir('cmx-faults-cfg-');
  const file = join(dir, 'config.json');
  const given: Record<string, ConnectionSpec> = {};
  for (const [name, spec] of Object.entries(connections)) given[name] = { ...spec, url: await withSentinel(spec.url) };
  writeFileSync(file, JSON.stringify({ connections: given, log_level: 'info' }));
  const s = await startStdio(['--config', file]);
  const lines: string[] = [];
  const guarded: { count: number; first?: string } = { count: 0 };
  const secrets = { scanned: 0, hits: 0, first: undefined as string | undefined };
  const search = (text: string): void => {
    secrets.scanned++;
    if (!text.includes(SENTINEL)) return;
    secrets.hits++;
    secrets.first ??= text.slice(0, 500);
  };
  // Every JSON-RPC message the server writes to stdout, before the client sees it.
  const deliver = s.transport.onmessage;
  s.transport.onmessage = (message) => {
    search(JSON.stringify(message));
    deliver?.(message);
  };
  // Drained always: a full stderr pipe would block the server and look like a hang.
  s.transport.stderr?.on('data', (chunk: Buffer) => {
    const fresh = chunk.toString('utf8').split('\n').filter(Boolean);
    for (const l of fresh) search(l);
    for (const l of fresh.filter((x) => /uncaught exception|unhandled rejection/.test(x))) {
      guarded.count++;
      guarded.first ??= l.slice(0, 1500);
    }
    lines.push(...fresh);
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  });
  const close = async (): Promise<void> => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const takeSecrets = (): { scanned: number; hits: number; first?: string } => {
    const taken = { ...secrets };
    secrets.scanned = 0;
    secrets.hits = 0;
    return taken;
  };
  return { client: s.client, pid: s.transport.pid ?? -1, logTail: () => lines.slice(-5).join(' | '), guarded: () => guarded, takeSecrets, close };
}

/** Prints how many driver errors the server's crash guard caught, if any (not a failure: the process is meant to survive them). */
export function noteGuarded(label: string, server: ServerProcess): void {
  const g = server.guarded();
  if (g.count) console.error(`[faults] ${label}: the server's crash guard caught ${g.count} driver error(s) and kept running; first: ${g.first}`);
}

/**
 * Whether the process still runs. A killed child stays a zombie until its parent (the
 * server, maybe busy on a loaded machine) reaps it, and signal 0 still reaches a zombie:
 * its state in /proc tells that it runs no more.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /s.test(stat);
  } catch {
    return false;
  }
}

/**
 * The crash check after each repetition: the process lives and answers a call that
 * needs no database within 5 s. It also hands what the server wrote since the last
 * check, searched for the sentinel password, to the tally. On a crash the tally
 * counts it and a fresh server is started, so the remaining repetitions still run.
 */
export async function checkAlive(server: ServerProcess, t: Tally, restart: () => Promise<ServerProcess>): Promise<ServerProcess> {
  let answered = false;
  if (processAlive(server.pid)) {
    const r = await callTool(server.client, 'list_connections', {}, { timeout: 5000 }).catch(() => undefined);
    answered = r?.ok === true;
  }
  const secrets = server.takeSecrets();
  t.secretScans += secrets.scanned;
  t.secretHits += secrets.hits;
  if (secrets.hits) t.failures.push(`the sentinel password left the server ${secrets.hits} time(s), first: ${secrets.first}`);
  if (answered) return server;
  t.crashes++;
  t.failures.push(`server ${processAlive(server.pid) ? 'stopped answering' : 'died'}; log: ${server.logTail()}`);
  await server.close().catch(() => undefined);
  return restart();
}

/**
 * execute_query through the server under test. A tool error is an outcome, not a throw,
 * and so is no answer within the timeout (code NO_ANSWER). A client-side abort still
 * rejects, for the cancellation tests.
 */
export function query(server: ServerProcess, connection: string, sql: string, extra: Record<string, unknown> = {}, options?: { signal?: AbortSignal; timeout?: number }): Promise<ToolOutcome> {
  return callTool(server.client, 'execute_query', { connection, query: sql, ...extra }, { timeout: 12_000, ...options }).catch((err: Error) => {
    if (options?.signal?.aborted) throw err;
    return { ok: false, error: { code: 'NO_ANSWER', message: err.message, details: {} }, raw: { content: [] } };
  });
}

export function describeOutcome(r: ToolOutcome): string {
  return r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`;
}

/** An admin connection of the test's own (never the server's pool). */
export interface Admin {
  rows(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

export async function adminFor(backend: 'postgres' | 'mysql', url: string): Promise<Admin> {
  if (backend === 'postgres') {
    const { default: postgres } = await import('postgres');
    const sql = postgres(url, { max: 1, onnotice: () => undefined, idle_timeout: 5 });
    return {
      rows: async (text, params = []) => [...(await sql.unsafe(text, params as never[]))] as Array<Record<string, unknown>>,
      close: () => sql.end({ timeout: 2 }),
    };
  }
  const { default: mysql } = await import('mysql2/promise');
  const u = new URL(url);
  const pool = mysql.createPool({
    host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password), database: u.pathname.slice(1) || undefined, connectionLimit: 1,
  });
  return {
    rows: async (text, params = []) => (await pool.query(text, params))[0] as Array<Record<string, unknown>>,
    close: () => pool.end(),
  };
}

/**
 * The server's sessions still running a statement that contains `marker` (the
 * admin's own query contains it too and is left out).
 */
export async function runningWith(admin: Admin, backend: 'postgres' | 'mysql', marker: string): Promise<number[]> {
  const rows = backend === 'postgres'
    ? await admin.rows("SELECT pid AS id FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND position($1 in query) > 0", [marker])
    : await admin.rows("SELECT id FROM information_schema.processlist WHERE command = 'Query' AND id <> CONNECTION_ID() AND LOCATE(?, info) > 0", [marker]);
  return rows.map((r) => Number(r.id));
}

/** Polls until `check` is true or `ms` pass; returns whether it became true. */
export async function waitFor(check: () => Promise<boolean>, ms: number, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(stepMs);
  }
}

/** Processes whose parent is `ppid` and whose command line contains `match` (Linux /proc). */
export function childPids(ppid: number, match: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 is the parent pid; the command name (field 2) may hold spaces, so split after its ')'.
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === ppid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(match)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}
