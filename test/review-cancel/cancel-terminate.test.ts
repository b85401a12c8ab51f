/**
 * Review of 1e02cdf: a cancel whose statement never becomes current because its connection is
 * killed (pg_terminate_backend from another session, sent at the same moment as the client's
 * cancel, 0-3 ms into the call). Checks: the next call on the pool (pool_size 1) answers ok,
 * within 2 s (not the 10 s CURRENT_WAIT_MS nor 3 s CANCEL_SENT_MS), no session idle in
 * transaction, no unhandled rejection. Measured 04:58 UTC (fails, finding 1 again): 24 probes all ok,
 * 4 at 3,022-3,039 ms, all after INSERT calls (the kill came too late to matter there); never 10 s,
 * no idle in transaction, no unhandled rejection.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const PG = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;
const unhandled: unknown[] = [];
process.on('unhandledRejection', (e) => unhandled.push(e));

describe('cancel while the connection is killed', () => {
  let db: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;
  let h: Harness;
  beforeAll(async () => {
    db = await freshDatabase(PG, 'rvt');
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin.unsafe('CREATE TABLE w (id int PRIMARY KEY)');
    h = await startInProcess({ one: { url: db.url, pool_size: 1, statement_timeout_ms: 20_000, acquire_timeout_ms: 15_000 } });
    await callTool(h.client, 'execute_query', { connection: 'one', query: 'SELECT 1' });
  }, 60_000);
  afterAll(async () => { await h?.close(); await admin?.end(); await db?.drop(); });

  it('the next call is not held', async () => {
    const bad: string[] = [];
    const seen: string[] = [];
    for (let i = 0; i < 24; i++) {
      const ac = new AbortController();
      const d = i % 4;
      const kill = (): void => { ac.abort(); void admin.unsafe(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`); };
      if (d === 0) setImmediate(kill); else setTimeout(kill, d);
      await callTool(h.client, 'execute_query', { connection: 'one', query: i % 2 ? 'INSERT INTO w VALUES ($1)' : 'SELECT pg_sleep(0.01)', params: i % 2 ? [i] : undefined }, { signal: ac.signal }).catch(() => undefined);
      const t = performance.now();
      const r = await callTool(h.client, 'execute_query', { connection: 'one', query: 'SELECT 1 AS x' });
      const ms = Math.round(performance.now() - t);
      seen.push(`${r.ok ? 'ok' : r.error.code}/${ms}`);
      if (ms > 2000) bad.push(`${i}: ${r.ok ? 'ok' : r.error.code} after ${ms} ms`);
      if (!r.ok) { const r2 = await callTool(h.client, 'execute_query', { connection: 'one', query: 'SELECT 1 AS x' }); if (!r2.ok) bad.push(`${i}: second probe ${r2.error.code}`); }
    }
    const idle = await admin.unsafe(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`);
    console.log('probes', seen.join(' '), 'idle in tx', idle[0].n, 'unhandled', unhandled.map(String));
    expect(bad, bad.join('\n')).toEqual([]);
    expect(idle[0].n).toBe(0);
    expect(unhandled.map(String)).toEqual([]);
  }, 200_000);
});
