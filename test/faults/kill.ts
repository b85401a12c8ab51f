/**
 * Helpers of the SIGKILL scenarios. The state after a kill is read through raw drivers
 * (channels the server under test does not control), once the database has finished
 * with the killed server's sessions: before that, a COMMIT already sent could still land.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { TestBackend } from '../support/backends.js';
import { startStdio } from '../support/mcp.js';

type Json = Record<string, any>;

/** One statement on a fresh raw connection; returns its rows. */
export async function raw(backend: TestBackend['name'], url: string, sql: string): Promise<Json[]> {
  if (backend === 'postgres') {
    const { default: postgres } = await import('postgres');
    const c = postgres(url, { max: 1, onnotice: () => undefined });
    try { return [...(await c.unsafe(sql))]; } finally { await c.end({ timeout: 1 }); }
  }
  if (backend === 'mysql') {
    const { default: mysql } = await import('mysql2/promise');
    const c = await mysql.createConnection(url);
    try { return (await c.query(sql))[0] as Json[]; } finally { await c.end(); }
  }
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(url.replace(/^sqlite:\/\//, ''), { timeout: 10_000 });
  try {
    const st = db.prepare(sql);
    return st.reader ? (st.all() as Json[]) : (st.run(), []);
  } finally {
    db.close();
  }
}

/** Whether a table exists, and its row count (null when it does not). */
export async function countOf(backend: TestBackend['name'], url: string, table: string): Promise<number | null> {
  try {
    return Number((await raw(backend, url, `SELECT count(*) AS n FROM ${table}`))[0]!.n);
  } catch (err) {
    if (/does not exist|doesn't exist|no such table/i.test((err as Error).message)) return null;
    throw err;
  }
}

/**
 * Until no session of a killed server is left on the database. PostgreSQL and MariaDB
 * notice the closed socket at their next read or check; the SQLite host exits with its
 * parent, and its lock is free once an IMMEDIATE transaction can start.
 */
export async function waitQuiet(backend: TestBackend['name'], url: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  const db = url.replace(/^.*\//, '').replace(/\?.*$/, '');
  const probe: Record<TestBackend['name'], string> = {
    postgres: `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '${db}' AND pid <> pg_backend_pid()`,
    mysql: `SELECT count(*) AS n FROM information_schema.processlist WHERE db = '${db}' AND id <> CONNECTION_ID()`,
    sqlite: 'BEGIN IMMEDIATE',
  };
  for (;;) {
    if (backend === 'sqlite') {
      const { default: Database } = await import('better-sqlite3');
      const d = new Database(url.replace(/^sqlite:\/\//, ''), { timeout: 10_000 });
      try { d.exec('BEGIN IMMEDIATE; ROLLBACK'); return; } finally { d.close(); }
    }
    if (Number((await raw(backend, url, probe[backend]))[0]!.n) === 0) return;
    if (Date.now() > until) throw new Error(`sessions of the killed server still open on ${db} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export type Stdio = Awaited<ReturnType<typeof startStdio>>;

/** SIGKILLs the server after `ms` (or now), and resolves once the process is gone. */
export function killAfter(server: Stdio, ms: number): Promise<void> {
  const pid = server.transport.pid as number;
  return new Promise((resolve) => setTimeout(() => {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    const poll = (): void => {
      try { process.kill(pid, 0); setTimeout(poll, 10); } catch { resolve(); }
    };
    poll();
  }, ms));
}

/** A delay uniform in [lo, hi) ms. */
export const between = (lo: number, hi: number): number => Math.floor(lo + Math.random() * (hi - lo));

/** 'a:3 b:1' from a list of outcomes: shows where the kills landed. */
export function histogram(xs: string[]): string {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m].map(([k, v]) => `${k}:${v}`).join(' ');
}

/**
 * A kill between the two links of publishBackup (SPEC §17.4): the manifest is linked, its
 * data file is not (it is linked last, as the commit point). Then the directory shows the
 * manifest alone, listed `incomplete`, and the data file's hidden temporary is whole. Never
 * the reverse: a data file visible without its manifest is a failure in every fault test.
 */
export async function killedBetweenLinks(dir: string, name: string, files: string[], listed: Array<Record<string, any>>): Promise<boolean> {
  const manifest = `${name}.manifest.json`;
  if (files.length !== 1 || files[0] !== manifest || listed.length !== 1 || listed[0].status !== 'incomplete') return false;
  try {
    const m = JSON.parse(await fs.readFile(join(dir, manifest), 'utf8'));
    const tmp = (await fs.readdir(dir)).filter((n) => n.startsWith(`.${name}.`) && !n.startsWith(`.${manifest}.`) && n.endsWith('.tmp'));
    for (const t of tmp) if ((await fs.stat(join(dir, t))).size === m.size) return m.file === name;
    return false;
  } catch {
    return false;
  }
}
