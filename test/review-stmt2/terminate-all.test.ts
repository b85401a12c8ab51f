/**
 * Review of 9132989 (expected to hold): every session of the pool ended at once by
 * pg_terminate_backend while reads and writes run: each call answers within 20 s, reads are
 * retried (OK), writes say CONNECTION_LOST with outcome "unknown", and the next calls work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { freshDatabase, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const PG = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('terminate every session of the pool at once', () => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;
  beforeAll(async () => {
    db = await freshDatabase(PG, 'rv2a');
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin`CREATE TABLE t (id int)`;
    h = await startInProcess({ db: { url: db.url, pool_size: 6 } });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await admin?.end();
    await db?.drop();
  });

  it('3 rounds: reads OK, writes outcome unknown, all within 20 s', async () => {
    const log: string[] = [];
    for (let round = 0; round < 3; round++) {
      const calls = [0, 1, 2, 3, 4, 5].map((i) => {
        const query = i % 2 ? `SELECT ${i} AS n FROM pg_sleep(1)` : `INSERT INTO t SELECT ${i} FROM pg_sleep(1)`;
        const t = Date.now();
        return callTool(h.client, 'execute_query', { connection: 'db', query }, { timeout: 20_000 })
          .then((r) => ({ i, ms: Date.now() - t, r }), (e: Error) => ({ i, ms: Date.now() - t, r: { ok: false, error: { code: 'NO_ANSWER', message: e.message, details: {} } } as any }));
      });
      await sleep(300);
      await admin.unsafe(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'codomyrmex-db' AND datname = current_database()`);
      for (const { i, ms, r } of await Promise.all(calls)) {
        log.push(`${round}.${i} ${i % 2 ? 'read' : 'write'} ${ms} ms ${r.ok ? 'OK' : `${r.error.code} ${JSON.stringify(r.error.details)}`}`);
        if (i % 2) expect(r.ok, log.at(-1)).toBe(true);
        else if (!r.ok) {
          expect(r.error.code, log.at(-1)).toBe('CONNECTION_LOST');
          expect(r.error.details.outcome, log.at(-1)).toBe('unknown');
        }
      }
      const next = await callTool(h.client, 'execute_query', { connection: 'db', query: 'SELECT 1' }, { timeout: 20_000 });
      expect(next.ok).toBe(true);
    }
    console.log(log.join('\n'));
  }, 120_000);
});
