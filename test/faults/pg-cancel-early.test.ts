/**
 * PostgreSQL calls cancelled by the client within their first milliseconds, one after another
 * (a sequential client: the next call starts as soon as the cancelled one is given up). A cancel
 * that reached postgres.js while the statement was written but not yet its connection's current
 * query (behind the lease's BEGIN) was mishandled by the driver: the statement's answer went to
 * the COMMIT behind it and its own promise never settled, so the call held its connection, idle
 * in an aborted transaction, until the statement timeout. Five of those and every other call
 * waited 10 s for a connection and got BUSY.
 * The fix sends the cancel request when the driver makes the statement current (execute.ts).
 * Measured before the fix (a stdio server, 4,000 calls, every tenth cancelled 0-5 ms in):
 * 6 BUSY after 10 s each, the run 73.5 s; after it 0, 6.3 s. This test failed 3 of 3 runs on
 * the code before (BUSY or a call over its bound), in about 28 s each.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const PG = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;
/** A call of ours answers in milliseconds; a stalled one waits for the statement timeout below. */
const BOUND_MS = 3000;

describe('PostgreSQL calls cancelled in their first milliseconds', () => {
  let db: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;
  let h: Harness;
  beforeAll(async () => {
    db = await freshDatabase(PG, 'pgce');
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    h = await startInProcess({ db: { url: db.url, pool_size: 5, statement_timeout_ms: 20_000 } });
  }, 60_000);
  afterAll(async () => { await h?.close(); await admin?.end(); await db?.drop(); });

  it('never hold their connection: 1,500 calls, a third cancelled 0-5 ms in, every other one answered in time', async () => {
    const slow: string[] = [];
    let cancelled = 0;
    for (let i = 0; i < 1500; i++) {
      const t = performance.now();
      if (i % 3 === 1) {
        const ac = new AbortController();
        setTimeout(() => ac.abort(), (i * 7) % 6);
        await callTool(h.client, 'execute_query', { connection: 'db', query: 'SELECT pg_sleep(0.05)' }, { signal: ac.signal }).catch(() => { cancelled++; });
        continue;
      }
      const r = await callTool(h.client, 'execute_query', { connection: 'db', query: 'SELECT $1::int AS n', params: [i] }, { timeout: 30_000 }).catch((e: Error) => ({ ok: false as const, error: { code: 'NO_ANSWER', message: e.message } }));
      const ms = performance.now() - t;
      if (!r.ok || ms > BOUND_MS) slow.push(`${i}: ${r.ok ? 'ok' : `${r.error.code} ${r.error.message}`} after ${Math.round(ms)} ms`);
      if (slow.length >= 3) break;
    }
    expect(slow, slow.join('\n')).toEqual([]);
    expect(cancelled).toBeGreaterThan(100);
    // The pool is whole: five calls at once, each on a connection of its own.
    const t = performance.now();
    const five = await Promise.all(Array.from({ length: 5 }, () => callTool(h.client, 'execute_query', { connection: 'db', query: 'SELECT pg_sleep(0.2)' })));
    expect(five.every((r) => r.ok), JSON.stringify(five.filter((r) => !r.ok))).toBe(true);
    expect(performance.now() - t).toBeLessThan(BOUND_MS);
    const stuck = await admin.unsafe(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction (aborted)'`);
    expect(stuck[0].n).toBe(0);
  }, 180_000);
});
