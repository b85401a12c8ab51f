/**
 * Review of issue 17 (migration lock lease, SPEC §4.5) through a stock PgBouncer with a
 * small server pool. The lease is renewed "every 2 s over another connection (PostgreSQL: a
 * connection of the pool beyond its pool_size calls) … so a statement that runs for minutes
 * keeps it". Through a pooler, that other connection is one more pooler client competing
 * for the same server connections as the migration itself.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { freshDatabase, PG_URL, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';
import { startPgBouncer, type PgBouncer } from '../topology/pgbouncer.js';

const PG = { name: 'postgres', url: () => PG_URL } as TestBackend;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const brief = (r: Awaited<ReturnType<typeof callTool>>): string => (r.ok ? 'ok' : `${r.error.code}: ${r.error.message.slice(0, 160)}`);

function migration(dir: string, version: string, up: string[]): void {
  writeFileSync(join(dir, `${version}.sql`), ['-- migrate:up', ...up, '-- migrate:down', 'SELECT 1;', ''].join('\n'));
}

describe.skipIf(process.getuid?.() !== 0)('lease renewals through PgBouncer transaction mode, default_pool_size=1', () => {
  let pgb: PgBouncer;
  let db: { url: string; drop(): Promise<void> };
  let a: Harness;
  let b: Harness;
  const dir = tempDir('cmx-r17-lease-');

  beforeAll(async () => {
    db = await freshDatabase(PG, 'r17lease');
    pgb = await startPgBouncer({ mode: 'transaction', poolSize: 1 });
    const url = `${pgb.url(new URL(db.url).pathname.slice(1))}?pooler=transaction`;
    // One statement longer than the 8 s lease, then a quick one.
    migration(dir, '20260101000001_slow', ['CREATE TABLE log (v text PRIMARY KEY);', 'SELECT pg_sleep(10);', "INSERT INTO log VALUES ('slow');"]);
    migration(dir, '20260101000002_quick', ["INSERT INTO log VALUES ('quick');"]);
    a = await startInProcess({ db: { url, migrations_dir: dir, pool_size: 2 } });
    b = await startInProcess({ db: { url, migrations_dir: dir, pool_size: 2 } });
  });

  afterAll(async () => {
    await pgb?.stop();
    await a?.close();
    await b?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a migration statement longer than the lease keeps the lock; the other server waits (ok or BUSY), and the first is not told its lease ran out', async () => {
    const first = callTool(a.client, 'run_migration', { connection: 'db' });
    await sleep(1000);
    const second = callTool(b.client, 'run_migration', { connection: 'db' });
    const [ra, rb] = await Promise.all([first, second]);
    const check = postgres(db.url, { max: 1, onnotice: () => undefined });
    const log = (await check`select v from log order by v`).map((r) => r.v);
    const left = (await check`select count(*)::int as n from codomyrmex.codomyrmex_locks`)[0]!.n;
    await check.end();
    const outcome = { a: brief(ra), b: brief(rb), log, left };
    console.log('review17 lease-pooler outcome', outcome);
    expect.soft(outcome.a, 'server A, whose renewals waited behind its own statement at the pooler').toBe('ok');
    expect.soft(['ok', 'BUSY'], 'server B').toContain(outcome.b.split(':')[0]);
    expect(outcome.log).toEqual(['quick', 'slow']);
    expect(outcome.left).toBe(0);
  }, 60_000);
});

describe.skipIf(process.getuid?.() !== 0)('lease renewals through PgBouncer session mode, default_pool_size=1', () => {
  let pgb: PgBouncer;
  let db: { url: string; drop(): Promise<void> };
  let a: Harness;
  const dir = tempDir('cmx-r17-lease-s-');

  beforeAll(async () => {
    db = await freshDatabase(PG, 'r17leases');
    pgb = await startPgBouncer({ mode: 'session', poolSize: 1 });
    migration(dir, '20260101000001_three_seconds', ['SELECT pg_sleep(3);', 'CREATE TABLE done (id int PRIMARY KEY);']);
    a = await startInProcess({ db: { url: `${pgb.url(new URL(db.url).pathname.slice(1))}?pooler=session`, migrations_dir: dir, pool_size: 1 } });
  });

  afterAll(async () => {
    // The pooler first: it holds the stuck renewal connection.
    await pgb?.stop();
    await a?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('one server alone runs a 3 s migration and returns (the renewal connection gets no server: does release wait for it?)', async () => {
    const r = await Promise.race([
      callTool(a.client, 'run_migration', { connection: 'db' }).then(brief),
      // Not a speed assertion: a hang guard. PgBouncer's query_wait_timeout is 120 s.
      sleep(30_000).then(() => 'no answer after 30 s'),
    ]);
    expect(r).toBe('ok');
  }, 40_000);
});
