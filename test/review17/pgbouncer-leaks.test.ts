/**
 * Review of issue 17 (poolers): what an agent statement leaves on a server connection of a
 * stock PgBouncer in transaction mode, for the pooler's OTHER clients, with and without
 * `pooler=transaction` in the URL. PgBouncer gets ONE server connection, so "the next
 * client" is deterministic: a raw client whose query is queued behind ours gets that
 * server connection right after our COMMIT (before our lease's DISCARD ALL, which in
 * transaction mode is just another query in the queue).
 *
 * Failing tests here are findings (test/review17/FINDINGS.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { loadPostgresParser, sessionStateLeft } from '../../src/core/backends/postgres/classify.js';
import { freshDatabase, PG_URL, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';
import { startPgBouncer, type PgBouncer } from '../topology/pgbouncer.js';

const PG = { name: 'postgres', url: () => PG_URL } as TestBackend;
const code = (r: Awaited<ReturnType<typeof callTool>>): string => (r.ok ? 'ok' : r.error.code);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('classifier: objects in pg_temp outlive the transaction (SPEC §2 lists "functions in pg_temp" as refused)', () => {
  beforeAll(async () => { await loadPostgresParser(); });
  it.each([
    "CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS 'select 1'",
    "CREATE PROCEDURE pg_temp.p() LANGUAGE sql AS 'select 1'",
    "CREATE TYPE pg_temp.mood AS ENUM ('a')",
    'CREATE TYPE pg_temp.pair AS (a int, b int)',
    'CREATE DOMAIN pg_temp.d AS int',
    'CREATE AGGREGATE pg_temp.agg(int) (sfunc = int4pl, stype = int)',
    'CREATE COLLATION pg_temp.c FROM "C"',
  ])('%s is seen as leaving session state', (q) => {
    expect(sessionStateLeft(q)).not.toBeNull();
  });
});

describe.skipIf(process.getuid?.() !== 0)('a stock PgBouncer in transaction mode with one server connection', () => {
  let pgb: PgBouncer;
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  let dbName: string;
  let other: postgres.Sql;

  beforeAll(async () => {
    db = await freshDatabase(PG, 'r17leak');
    dbName = new URL(db.url).pathname.slice(1);
    pgb = await startPgBouncer({ mode: 'transaction', poolSize: 1 });
    const url = pgb.url(dbName);
    h = await startInProcess({
      plain: { url, pool_size: 1 },
      tx: { url: `${url}?pooler=transaction`, pool_size: 1 },
    });
    // Another application using the same pooler (no settings of its own).
    other = postgres(url, { max: 1, onnotice: () => undefined, prepare: false });
    // Opened before the tests: the first call's connect must not shift the timing.
    for (const c of ['plain', 'tx']) await callTool(h.client, 'execute_query', { connection: c, query: 'SELECT 1' });
    await other`select 1`;
  });

  afterAll(async () => {
    await other?.end({ timeout: 1 });
    await h?.close();
    await pgb?.stop();
    await db?.drop();
  });

  /** Runs `calls` (ours) and, 150 ms later while they run, `probe` from the other client: what the other client saw. */
  async function seenBehind<T>(ours: Promise<unknown>, probe: () => Promise<T>): Promise<{ ours: unknown; seen: T }> {
    const started = sleep(150).then(probe);
    const [o, seen] = await Promise.all([ours, started]);
    return { ours: o, seen };
  }

  it('no pooler= in the URL (the default): an agent SET search_path reaches the pooler\'s next client', async () => {
    const ours = callTool(h.client, 'execute_transaction', { connection: 'plain', queries: [
      { query: 'SET search_path = evil_schema, public' },
      { query: 'SELECT pg_sleep(0.6)' },
    ] });
    const { ours: r, seen } = await seenBehind(ours, async () => (await other`select current_setting('search_path') as sp`)[0]!.sp as string);
    // Either refuse the SET (as with pooler=transaction) or leave nothing behind: the default must be safe.
    if ((r as { ok: boolean }).ok) expect(seen).toBe('"$user", public');
    else expect(code(r as never)).toBe('UNSUPPORTED');
  });

  it('no pooler= in the URL: a session advisory lock taken through execute_query stays with the pooler\'s next client', async () => {
    const ours = callTool(h.client, 'execute_transaction', { connection: 'plain', queries: [
      { query: 'SELECT pg_advisory_lock(4242)' },
      { query: 'SELECT pg_sleep(0.6)' },
    ] });
    const { ours: r, seen } = await seenBehind(ours, async () => (await other`select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = 4242 and pid = pg_backend_pid()`)[0]!.n as number);
    if ((r as { ok: boolean }).ok) expect(seen).toBe(0);
    else expect(code(r as never)).toBe('UNSUPPORTED');
  });

  it('no pooler= in the URL: a temporary table an agent filled is readable by the pooler\'s next client', async () => {
    const ours = callTool(h.client, 'execute_transaction', { connection: 'plain', queries: [
      { query: "CREATE TEMP TABLE r17_secret AS SELECT 'card 4111-1111' AS v" },
      { query: 'SELECT pg_sleep(0.6)' },
    ] });
    const { ours: r, seen } = await seenBehind(ours, async () => {
      try {
        return (await other`select v from pg_temp.r17_secret`).map((x) => x.v as string);
      } catch {
        return [];
      }
    });
    if ((r as { ok: boolean }).ok) expect(seen).toEqual([]);
    else expect(code(r as never)).toBe('UNSUPPORTED');
  });

  it('pooler=transaction: CREATE FUNCTION pg_temp.f is refused (SPEC §2), not left for the next client', async () => {
    const r = await callTool(h.client, 'execute_query', { connection: 'tx', query: "CREATE FUNCTION pg_temp.r17_leak() RETURNS text LANGUAGE sql AS $$ SELECT 'leaked from another client' $$" });
    let seen: string | null = null;
    try {
      seen = (await other`select pg_temp.r17_leak() as x`)[0]!.x as string;
    } catch {
      seen = null;
    }
    expect({ code: code(r), seen }).toEqual({ code: 'UNSUPPORTED', seen: null });
  });

  it('pooler=transaction: a DO block that sets search_path for the session (documented as unseen): what the next client gets', async () => {
    const r = await callTool(h.client, 'execute_query', { connection: 'tx', query: "DO $$ BEGIN PERFORM set_config('search_path', 'evil_do, public', false); END $$" });
    const seen = (await other`select current_setting('search_path') as sp`)[0]!.sp as string;
    // SPEC §2 accepts this hole; a safe default would refuse DO/CALL through a transaction pooler
    // (classify.ts already counts them as altering the session "when unsure").
    expect({ code: code(r), seen }).toEqual({ code: 'UNSUPPORTED', seen: '"$user", public' });
  });
});
