/**
 * Through a stock PgBouncer (issue 17 items 1 and 2), in session and in transaction pool
 * mode: every tool works or refuses with a stable code, one call's timeout never reaches
 * another call, and nothing of ours (timeouts, the read-only role, the interval style)
 * stays on a server connection for the pooler's other clients.
 *
 * In transaction mode PgBouncer gets a pool of 4 server connections per database, fewer
 * than our clients, so calls share server connections as they do on a busy hosted pooler.
 * In session mode a client connection holds its server connection until it closes (and
 * ours stay open while idle), so there the pooler's pool is larger than ours.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, rowsOf, startInProcess, type Harness } from '../support/mcp.js';
import { startPgBouncer, type PgBouncer, type PoolMode } from './pgbouncer.js';

const PG: TestBackend = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;
const SIZES = {
  transaction: { server: 4, db: 12, ro: 12, plain: 24 },
  session: { server: 20, db: 4, ro: 4, plain: 8 },
} as const;

const code = (r: Awaited<ReturnType<typeof callTool>>): string => (r.ok ? 'ok' : r.error.code);

// PgBouncer runs as the postgres OS user: starting it needs root, as CI has.
describe.skipIf(process.getuid?.() !== 0).each(['session', 'transaction'] as PoolMode[])('through a stock PgBouncer in %s mode', (mode) => {
  let pgb: PgBouncer;
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  let dbName: string;
  const migrations = tempDir('cmx-topo-mig-');
  const backups = tempDir('cmx-topo-bk-');
  const sizes = SIZES[mode];

  beforeAll(async () => {
    db = await freshDatabase(PG, 'pgb');
    dbName = new URL(db.url).pathname.slice(1);
    pgb = await startPgBouncer({ mode, poolSize: sizes.server });
    const url = pgb.url(dbName);
    h = await startInProcess({
      db: { url: `${url}?pooler=${mode}`, migrations_dir: migrations, pool_size: sizes.db },
      ro: { url: `${url}?pooler=${mode}`, read_only: true, pool_size: sizes.ro },
      // No pooler option: what a user gets before telling us (items 1 and 2 must hold anyway).
      plain: { url, pool_size: sizes.plain },
    }, { backup_dir: backups });
  });

  afterAll(async () => {
    await h?.close();
    await pgb?.stop();
    await db?.drop();
    for (const d of [migrations, backups]) rmSync(d, { recursive: true, force: true });
  });

  it('opens (no startup parameter PgBouncer refuses) and says which pooler mode is in force', async () => {
    expect(await mustCall(h.client, 'get_connection', { connection: 'db' })).toMatchObject({ backend: 'postgres', pooler: mode });
    expect(await mustCall(h.client, 'get_connection', { connection: 'plain' })).not.toHaveProperty('pooler');
  });

  it('a refusal by PgBouncer itself is CONNECTION_FAILED with its reason', async () => {
    const other = await startInProcess({ stranger: { url: pgb.url(dbName, 'no_such_role') } });
    try {
      const r = await callTool(other.client, 'get_connection', { connection: 'stranger' });
      expect(code(r)).toBe('CONNECTION_FAILED');
      expect(r.ok ? '' : r.error.message).toMatch(/refused the connection.*authentication failed/);
    } finally {
      await other.close();
    }
  });

  it('queries, transactions, read-only calls, values that depend on session settings', async () => {
    await mustCall(h.client, 'execute_query', { connection: 'db', query: 'CREATE TABLE t (id int PRIMARY KEY, d interval, ts timestamptz)' });
    await mustCall(h.client, 'execute_transaction', { connection: 'db', queries: [
      { query: "INSERT INTO t VALUES (1, interval '1 day 2 hours', '2024-01-02 03:04:05.123456+02')" },
      { query: "INSERT INTO t VALUES (2, interval '3 minutes', 'infinity')" },
    ] });
    for (const c of ['db', 'ro', 'plain']) {
      const r = await mustCall(h.client, 'execute_query', { connection: c, query: 'SELECT id, d, ts FROM t ORDER BY id' });
      expect(rowsOf(r)).toEqual([
        { id: 1, d: 'P1DT2H', ts: '2024-01-02T01:04:05.123456Z' },
        { id: 2, d: 'PT3M', ts: 'infinity' },
      ]);
    }
    expect(code(await callTool(h.client, 'execute_query', { connection: 'ro', query: 'DELETE FROM t' }))).toBe('READ_ONLY_VIOLATION');
    // All or nothing: the failing second statement takes the first with it.
    const failed = await callTool(h.client, 'execute_transaction', { connection: 'db', queries: [{ query: 'INSERT INTO t (id) VALUES (3)' }, { query: 'INSERT INTO t (id) VALUES (1)' }] });
    expect(code(failed)).toBe('CONSTRAINT_VIOLATION');
    expect(rowsOf(await mustCall(h.client, 'execute_query', { connection: 'db', query: 'SELECT count(*)::int AS n FROM t' }))).toEqual([{ n: 2 }]);
  });

  it('statements PostgreSQL refuses inside a transaction block still run (VACUUM, CREATE INDEX CONCURRENTLY)', async () => {
    expect(code(await callTool(h.client, 'execute_query', { connection: 'db', query: 'VACUUM t' }))).toBe('ok');
    expect(code(await callTool(h.client, 'execute_query', { connection: 'db', query: 'CREATE INDEX CONCURRENTLY t_d ON t (d)' }))).toBe('ok');
    const idx = await mustCall(h.client, 'execute_query', { connection: 'db', query: "SELECT indexname FROM pg_indexes WHERE tablename = 't' AND indexname = 't_d'" });
    expect(rowsOf(idx)).toEqual([{ indexname: 't_d' }]);
  });

  it('a statement that leaves session state: refused in transaction mode, reset after the call in session mode', async () => {
    const set = await callTool(h.client, 'execute_query', { connection: 'db', query: 'SET search_path = nowhere' });
    if (mode === 'transaction') {
      expect(code(set)).toBe('UNSUPPORTED');
      expect(set.ok ? '' : set.error.message).toMatch(/transaction pooler.*SET LOCAL/);
      // What ends with the transaction is fine.
      const local = await mustCall(h.client, 'execute_transaction', { connection: 'db', queries: [{ query: 'SET LOCAL search_path = nowhere' }, { query: 'SHOW search_path' }] });
      expect(JSON.stringify(local)).toContain('nowhere');
    } else {
      expect(code(set)).toBe('ok');
    }
    for (let i = 0; i < 8; i++) {
      const r = await mustCall(h.client, 'execute_query', { connection: 'db', query: 'SHOW search_path' });
      expect(rowsOf(r)[0]).toEqual({ search_path: '"$user", public' });
    }
  });

  it('schema tools: create_table, alter_table, get_schema', async () => {
    await mustCall(h.client, 'create_table', { connection: 'db', schema: { table: 'people', columns: [{ name: 'id', type: 'bigint', primary_key: true, auto_increment: true }, { name: 'name', type: 'text' }] } });
    await mustCall(h.client, 'alter_table', { connection: 'db', table: 'people', changes: { add_columns: [{ name: 'email', type: 'text' }] } });
    const schema = await mustCall(h.client, 'get_schema', { connection: 'db', table: 'people' });
    expect(JSON.stringify(schema)).toContain('email');
    // Catalog texts are printed in the session's styles: an interval default reads as ISO 8601 everywhere.
    await mustCall(h.client, 'execute_query', { connection: 'db', query: "CREATE TABLE spans (d interval DEFAULT '1 day 2 hours')" });
    for (const c of ['db', 'plain', 'ro']) {
      const t = (await mustCall(h.client, 'get_schema', { connection: c, table: 'spans' })).table as { columns: Array<{ default: unknown }> };
      expect(t.columns[0]!.default, c).toBe('P1DT2H');
    }
  });

  it('backups: portable round-trips; native works in session mode and is refused with UNSUPPORTED in transaction mode', async () => {
    await mustCall(h.client, 'execute_query', { connection: 'db', query: "INSERT INTO people (name) VALUES ('ada'), ('grace')" });
    const made = await mustCall(h.client, 'create_backup', { database: 'db', tables: ['people'], output_path: 'people.cmx.gz' });
    expect(made.rows).toBe(2);
    await mustCall(h.client, 'execute_query', { connection: 'db', query: 'DELETE FROM people' });
    expect((await mustCall(h.client, 'restore_backup', { database: 'db', backup_path: 'people.cmx.gz', mode: 'replace' })).rows).toBe(2);
    const names = await mustCall(h.client, 'execute_query', { connection: 'db', query: 'SELECT name FROM people ORDER BY id' });
    expect(rowsOf(names)).toEqual([{ name: 'ada' }, { name: 'grace' }]);
    const native = await callTool(h.client, 'create_backup', { database: 'db', tables: ['people'], format: 'native', output_path: 'people.native' });
    if (mode === 'transaction') {
      expect(code(native)).toBe('UNSUPPORTED');
      expect(native.ok ? '' : native.error.message).toMatch(/transaction pooler/);
    } else {
      expect(code(native)).toBe('ok');
    }
  });

  it('performance tools: monitor_query_performance, analyze_slow_queries, get_database_stats', async () => {
    expect(code(await callTool(h.client, 'monitor_query_performance', { connection: 'db', query: 'SELECT * FROM people WHERE name = $1', params: ['ada'] }))).toBe('ok');
    expect(code(await callTool(h.client, 'analyze_slow_queries', { connection: 'db' }))).toBe('ok');
    expect(await mustCall(h.client, 'get_database_stats', { connection: 'db' })).toMatchObject({ connection: 'db' });
  });

  it('migrations: create_migration, run_migration, get_migration_status', async () => {
    await mustCall(h.client, 'create_migration', { connection: 'db', name: 'pets', up: 'CREATE TABLE pets (id int PRIMARY KEY)', down: 'DROP TABLE pets' });
    expect(code(await callTool(h.client, 'run_migration', { connection: 'db' }))).toBe('ok');
    const status = await mustCall(h.client, 'get_migration_status', { connection: 'db' });
    expect(JSON.stringify(status)).toMatch(/"applied":1\b|"applied": 1\b/);
  });

  it('one call\'s timeout_ms never reaches another call (12 fast calls at 50 ms beside 12 pg_sleep(0.2), 5 rounds)', async () => {
    const failures: string[] = [];
    for (let round = 0; round < 5; round++) {
      const calls = [
        ...Array.from({ length: 12 }, () => callTool(h.client, 'execute_query', { connection: 'plain', query: 'SELECT 1 AS one', timeout_ms: 50 }).then(() => undefined)),
        ...Array.from({ length: 12 }, () => callTool(h.client, 'execute_query', { connection: 'plain', query: 'SELECT pg_sleep(0.2) AS slept' }).then((r) => { if (!r.ok) failures.push(`${r.error.code}: ${r.error.message}`); })),
      ];
      await Promise.all(calls);
    }
    expect(failures).toEqual([]);
    // A call's own timeout still holds (set inside its transaction, enforced by the server).
    const timed = await callTool(h.client, 'execute_query', { connection: 'plain', query: 'SELECT pg_sleep(2)', timeout_ms: 100 });
    expect(code(timed)).toBe('TIMEOUT');
  });

  it('leaves nothing on the server connections other clients get: timeout, role, interval style', async () => {
    // A read-only call as a superuser runs under pg_read_all_data (guard.ts); a short timeout; a long one.
    await Promise.all([
      ...Array.from({ length: 8 }, () => mustCall(h.client, 'execute_query', { connection: 'ro', query: 'SELECT current_user AS u', timeout_ms: 1234 })),
      ...Array.from({ length: 8 }, () => mustCall(h.client, 'execute_query', { connection: 'db', query: 'SELECT 1 AS one', timeout_ms: 4321 })),
      ...Array.from({ length: 8 }, () => mustCall(h.client, 'get_schema', { connection: 'db' })),
    ]);
    // Another client of the same pooler, with no settings of its own, sees the server's defaults on every server connection.
    const other = postgres(pgb.url(dbName), { max: mode === 'session' ? 3 : 8, onnotice: () => undefined, connection: {} });
    try {
      const seen = await Promise.all(Array.from({ length: 32 }, () =>
        other`select current_user as u, current_setting('statement_timeout') as t, current_setting('IntervalStyle') as i, pg_sleep(0.02)::text as s`));
      const distinct = new Set(seen.map(([r]) => `${r!.u} ${r!.t} ${r!.i}`));
      expect([...distinct]).toEqual(['postgres 0 postgres']);
    } finally {
      await other.end({ timeout: 1 });
    }
  });
});
