/**
 * Clean shutdown on every backend and both transports: SIGTERM (or SIGINT, or
 * the end of stdin) while a long statement runs stops the statement on the
 * database, closes the pools and exits 0 within seconds.
 */
import { spawn } from 'node:child_process';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, MYSQL_URL, PG_URL, tempDir, uniqueName, type TestBackend } from '../support/backends.js';
import { httpClient, startHttpServer } from '../support/http.js';
import { callTool, SERVER_JS, startStdio } from '../support/mcp.js';

const SLEEP_S = 30;

/** How many statements tagged `tag` are running on the database right now (SQLite: unknown, -1). */
type Running = (tag: string) => Promise<number>;

/** The long statement, tagged so the check never counts another test's (the servers are shared). */
const sleepSql = (backend: TestBackend, tag: string): string => `${backend.sleep(SLEEP_S)} AS ${tag}`;

function runningOn(backend: TestBackend): { running: Running; close(): Promise<void> } {
  if (backend.name === 'postgres') {
    const admin = postgres(PG_URL, { max: 1, onnotice: () => undefined });
    return {
      running: async (tag) => (await admin.unsafe(`SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%${tag}%' AND pid <> pg_backend_pid()`)).length,
      close: () => admin.end(),
    };
  }
  if (backend.name === 'mysql') {
    const admin = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 1 });
    return {
      running: async (tag) => ((await admin.query(`SELECT id FROM information_schema.processlist WHERE info LIKE '%${tag}' AND id <> CONNECTION_ID()`))[0] as unknown[]).length,
      close: () => admin.end(),
    };
  }
  return { running: async () => -1, close: async () => undefined };
}

async function waitUntilRunning(running: Running, tag: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const n = await running(tag);
    if (n === -1) return void (await new Promise((r) => setTimeout(r, 300)));
    if (n > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the statement never started');
}

function exitOf(child: { exitCode: number | null; once(e: 'exit', f: (code: number | null) => void): unknown }): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', r));
}

describe.each(BACKENDS)('shutdown during a running statement on $name', (backend) => {
  let db: ReturnType<typeof runningOn>;
  beforeAll(() => { db = runningOn(backend); });
  afterAll(async () => { await db.close(); });

  it('SIGTERM over stdio cancels it, answers CANCELLED and exits 0', async () => {
    const tag = uniqueName('stdio_stop');
    const s = await startStdio(['--connection', `db=${backend.url()}`]);
    let log = '';
    s.transport.stderr?.on('data', (d) => { log += d; });
    const pending = callTool(s.client, 'execute_query', { connection: 'db', query: sleepSql(backend, tag) }).catch((e: Error) => e);
    await waitUntilRunning(db.running, tag);
    const child = (s.transport as unknown as { _process: import('node:child_process').ChildProcess })._process;
    const started = performance.now();
    child.kill('SIGTERM');
    expect(await exitOf(child), log).toBe(0);
    expect(performance.now() - started, log).toBeLessThan(8000);
    expect(await pending).toMatchObject({ ok: false, error: { code: 'CANCELLED', details: { reason: 'shutdown' } } });
    if ((await db.running(tag)) !== -1) expect(await db.running(tag)).toBe(0);
    await s.close();
  });

  it('SIGTERM over HTTP cancels it, answers CANCELLED, waits for the call to end and exits 0', async () => {
    const tag = uniqueName('http_stop');
    const s = await startHttpServer(['--connection', `db=${backend.url()}`]);
    const { client } = await httpClient(s.url);
    const pending = callTool(client, 'execute_query', { connection: 'db', query: sleepSql(backend, tag) }).catch((e: Error) => e);
    await waitUntilRunning(db.running, tag);
    const started = performance.now();
    expect(await s.stop('SIGTERM')).toBe(0);
    expect(performance.now() - started, s.stderr()).toBeLessThan(8000);
    // The client hears why its call ended, before the server goes.
    expect(await pending).toMatchObject({ ok: false, error: { code: 'CANCELLED', details: { reason: 'shutdown' } } });
    expect(s.stderr()).toMatch(/"running_calls":1,"msg":"shutting down"/);
    expect(s.stderr()).toMatch(/"msg":"stopped"/);
    if ((await db.running(tag)) !== -1) expect(await db.running(tag)).toBe(0);
    await client.close().catch(() => undefined);
  });
});

describe('other ways to stop', () => {
  it('exits 0 on SIGINT over HTTP and on the end of stdin over stdio', async () => {
    const s = await startHttpServer(['--connection', 'lite=sqlite::memory:']);
    expect(await s.stop('SIGINT')).toBe(0);
    const child = spawn(process.execPath, [SERVER_JS, '--connection', 'lite=sqlite::memory:'], { env: { PATH: process.env.PATH ?? '', HOME: '/tmp', XDG_DATA_HOME: tempDir() } });
    child.stdin.end();
    expect(await exitOf(child)).toBe(0);
  });
});
