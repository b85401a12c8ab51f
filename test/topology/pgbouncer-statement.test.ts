/**
 * PgBouncer in statement pooling mode ends the session of any message that leaves a
 * transaction open, and most calls of this server run in one. Before, every such call answered
 * a bare CONNECTION_LOST ("CONNECTION_CLOSED") that said nothing of why, and with `pooler=none`
 * or `session` run_migration never answered: its lock release was written to the dead
 * connection, where postgres.js leaves a query pending for ever. Now each answers at once,
 * CONNECTION_LOST with the pooler's words and what to do (a write: its outcome unknown, since
 * PgBouncer ends the session after the server has run the whole message), and the server goes
 * on serving.
 *
 * Also: a session the server itself ends (pg_terminate_backend) gives CONNECTION_LOST with
 * the server's reason, not the bare driver code.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type ConnectionSpec, type Harness } from '../support/mcp.js';
import { startPgBouncer, type PgBouncer } from './pgbouncer.js';

const PG: TestBackend = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;
const POOLERS = ['', '?pooler=transaction', '?pooler=session', '?pooler=none'];
/** Each call must answer well within this (a stalled one would wait for the SDK's 60 s). */
const ANSWER_MS = 20_000;

describe.skipIf(process.getuid?.() !== 0)('through PgBouncer in statement pooling mode', () => {
  let pgb: PgBouncer;
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  const dir = tempDir('cmx-topo-stmt-');
  const migrations = join(dir, 'migrations');

  beforeAll(async () => {
    db = await freshDatabase(PG, 'pgbs');
    mkdirSync(migrations);
    writeFileSync(join(migrations, '001_people.sql'), '-- migrate:up\nCREATE TABLE people (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE people;\n');
    pgb = await startPgBouncer({ mode: 'statement' });
    const url = pgb.url(new URL(db.url).pathname.slice(1));
    const connections: Record<string, ConnectionSpec> = {};
    POOLERS.forEach((q, i) => {
      connections[`rw${i}`] = { url: url + q, migrations_dir: migrations };
      connections[`ro${i}`] = { url: url + q, read_only: true };
    });
    h = await startInProcess(connections, { backup_dir: join(dir, 'backups') });
  });

  afterAll(async () => {
    await h?.close();
    await pgb?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (tool: string, args: Record<string, unknown>) => callTool(h.client, tool, args, { timeout: ANSWER_MS });

  it.each(POOLERS.map((q, i) => [q || '(no pooler option)', i] as const))("%s: every call that needs a transaction answers at once, CONNECTION_LOST with the pooler's reason", async (_q, i) => {
    const calls: Array<[string, Record<string, unknown>]> = [
      ['execute_query', { connection: `ro${i}`, query: 'SELECT 1 AS one' }],
      ['execute_transaction', { connection: `rw${i}`, queries: [{ query: 'SELECT 1' }] }],
      ['run_migration', { connection: `rw${i}` }],
      ['create_backup', { connection: `rw${i}` }],
    ];
    for (const [tool, args] of calls) {
      const r = await call(tool, args);
      expect(r.ok, `${tool} on ${String(args.connection)}`).toBe(false);
      if (r.ok) continue;
      expect(r.error.code, `${tool}: ${r.error.message}`).toBe('CONNECTION_LOST');
      expect(r.error.message).toMatch(/statement pooling mode/);
      expect(r.error.message).toMatch(/pool_mode = statement/);
      expect(r.error.details).toMatchObject({ driver_code: 'CONNECTION_CLOSED', server_sqlstate: '08P01', pooler_mode: 'statement' });
    }
    // Nothing was applied, and the server still answers on the same connections.
    const status = await call('get_migration_status', { connection: `rw${i}` });
    if (status.ok) expect((status.data as { counts: { applied: number } }).counts.applied).toBe(0);
    else expect(status.error.details.pooler_mode).toBe('statement');
    expect((await call('list_connections', {})).ok).toBe(true);
  }, 120_000);

  it('a write the pooler ended after its COMMIT says its outcome is unknown', async () => {
    const r = await call('execute_query', { connection: 'rw0', query: 'CREATE TABLE IF NOT EXISTS maybe_applied (id int)' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('CONNECTION_LOST');
    expect(r.error.details).toMatchObject({ pooler_mode: 'statement', outcome: 'unknown' });
    expect(r.error.message).toMatch(/may or may not have been applied/);
  });

  it('no migration ran and no lock row was left behind', async () => {
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const [t] = await sql`SELECT to_regclass('people') IS NULL AS absent`;
      expect(t!.absent).toBe(true);
      const [l] = await sql`SELECT to_regclass('codomyrmex_locks') IS NOT NULL AS here`;
      if (l!.here) expect(await sql`SELECT * FROM codomyrmex_locks WHERE expires_at > clock_timestamp() + interval '1 second'`).toEqual([]);
    } finally {
      await sql.end();
    }
  });
});

describe('a session the server ends', () => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };

  beforeAll(async () => {
    db = await freshDatabase(PG, 'pgterm');
    h = await startInProcess({ db: { url: db.url } });
  });

  afterAll(async () => {
    await h?.close();
    await db?.drop();
  });

  it('gives CONNECTION_LOST with the server\'s reason (a write: reads are retried on a fresh connection)', async () => {
    const admin = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await admin`CREATE TABLE slow_writes (id int)`;
      const marker = `term_${process.pid}`;
      const running = callTool(h.client, 'execute_query', { connection: 'db', query: `INSERT INTO slow_writes SELECT 1 FROM pg_sleep(10) /* ${marker} */` }, { timeout: 30_000 });
      let pid: number | undefined;
      for (let i = 0; i < 400 && pid === undefined; i++) {
        const rows = await admin`SELECT pid FROM pg_stat_activity WHERE query LIKE ${`%${marker}%`} AND pid <> pg_backend_pid()`;
        pid = rows[0]?.pid as number | undefined;
        if (pid === undefined) await new Promise((r) => setTimeout(r, 25));
      }
      expect(pid).toBeDefined();
      await admin`SELECT pg_terminate_backend(${pid!})`;
      const r = await running;
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error.code).toBe('CONNECTION_LOST');
      expect(r.error.message).toMatch(/terminating connection due to administrator command/);
      expect(r.error.details).toMatchObject({ driver_code: 'CONNECTION_CLOSED', server_sqlstate: '57P01', outcome: 'unknown' });
      // The next call gets a fresh connection.
      expect((await callTool(h.client, 'execute_query', { connection: 'db', query: 'SELECT 1 AS one' })).ok).toBe(true);
    } finally {
      await admin.end();
    }
  }, 60_000);
});
