/**
 * A PostgreSQL `execute_query` sends BEGIN (with its settings), the statement and COMMIT (with
 * the session reset) in one round trip, and stops a pure read at the cap with a cancel
 * request instead of a portal. What must hold whatever the timing: a failed statement or a
 * COMMIT that fails commits nothing; a cancel sent at the cap never reaches a later call,
 * even when the read had already finished by the time it arrived; the session is clean
 * after each call. Each class runs on the default (pooler-safe) path, on `pooler=none` and
 * on a read-only connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';

const pg = BACKENDS.find((b) => b.name === 'postgres');

describe.skipIf(!pg)('PostgreSQL calls pipelined in one round trip', () => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  const WRITERS = ['a', 'none'] as const;

  beforeAll(async () => {
    db = await freshDatabase(pg!, 'pgpipe');
    h = await startInProcess({ a: { url: db.url }, none: { url: `${db.url}?pooler=none` }, ro: { url: db.url, read_only: true } });
    await mustCall(h.client, 'execute_query', { connection: 'a', query: 'CREATE TABLE marks (id serial PRIMARY KEY, who text NOT NULL)' });
    await mustCall(h.client, 'execute_query', {
      connection: 'a',
      query: "CREATE FUNCTION mark(w text) RETURNS int LANGUAGE sql AS $$ INSERT INTO marks (who) VALUES (w) RETURNING id $$",
    });
    await mustCall(h.client, 'execute_query', {
      connection: 'a',
      query: 'CREATE TABLE parent (id int PRIMARY KEY)',
    });
    await mustCall(h.client, 'execute_query', { connection: 'a', query: 'CREATE TABLE child (p int REFERENCES parent DEFERRABLE INITIALLY DEFERRED)' });
  });

  afterAll(async () => {
    await h?.close();
    await db?.drop();
  });

  const count = async (who: string): Promise<number> => {
    const r = await mustCall(h.client, 'execute_query', { connection: 'a', query: 'SELECT count(*)::int AS n FROM marks WHERE who = $1', params: [who] });
    return (r.rows as number[][])[0]![0]!;
  };

  it('a huge pure read stops at the cap quickly, on every kind of connection', async () => {
    for (const c of [...WRITERS, 'ro']) {
      const started = Date.now();
      // In the target list the series streams (in FROM it would be materialized before the first row).
      const r = await mustCall(h.client, 'execute_query', { connection: c, query: 'SELECT generate_series(1, 50000000) AS g', max_rows: 7 });
      expect(r.truncated, c).toBe(true);
      expect(r.rows, c).toEqual([[1], [2], [3], [4], [5], [6], [7]]);
      // Reading 50M rows to the end takes over ten seconds here; stopping at the cap, well under one.
      expect(Date.now() - started, c).toBeLessThan(3000);
    }
  });

  it('a cancel sent at the cap never reaches the next call, whether or not the read had ended', async () => {
    // Results one row over the cap finish before the cancel request lands most of the time;
    // bigger ones are usually stopped by it. Each is followed at once by a write that must
    // commit and a read that must succeed on the same connection.
    for (const c of WRITERS) {
      for (let i = 0; i < 40; i++) {
        const over = i % 2 === 0 ? 1 : 5000;
        const r = await mustCall(h.client, 'execute_query', { connection: c, query: `SELECT g FROM generate_series(1, ${10 + over}) AS g`, max_rows: 10 });
        expect(r.truncated).toBe(true);
        expect((r.rows as unknown[]).length).toBe(10);
        const w = await callTool(h.client, 'execute_query', { connection: c, query: 'INSERT INTO marks (who) VALUES ($1)', params: [`late-${c}`] });
        expect(w.ok ? 'ok' : `${w.error.code}: ${w.error.message}`).toBe('ok');
        const s = await callTool(h.client, 'execute_query', { connection: c, query: 'SELECT pg_sleep(0.001), 1 AS one' });
        expect(s.ok ? 'ok' : `${s.error.code}: ${s.error.message}`).toBe('ok');
      }
      expect(await count(`late-${c}`)).toBe(40);
    }
  });

  it('a SELECT that writes through a function and is stopped at the cap keeps nothing; under the cap it commits', async () => {
    for (const c of WRITERS) {
      const r = await mustCall(h.client, 'execute_query', { connection: c, query: `SELECT mark('capped-${c}') FROM generate_series(1, 200000)`, max_rows: 3 });
      expect(r.truncated).toBe(true);
      expect(await count(`capped-${c}`)).toBe(0);
      const whole = await mustCall(h.client, 'execute_query', { connection: c, query: `SELECT mark('whole-${c}') FROM generate_series(1, 3)`, max_rows: 3 });
      expect(whole.truncated).toBe(false);
      expect(await count(`whole-${c}`)).toBe(3);
    }
  });

  it('a failed statement commits nothing and leaves the connection usable', async () => {
    for (const c of WRITERS) {
      for (let i = 0; i < 10; i++) {
        const bad = await callTool(h.client, 'execute_query', { connection: c, query: `WITH x AS (INSERT INTO marks (who) VALUES ('failed-${c}') RETURNING 1) SELECT 1 / 0 FROM x` });
        expect(bad.ok ? 'ok' : bad.error.code).not.toBe('ok');
        const next = await mustCall(h.client, 'execute_query', { connection: c, query: 'SELECT current_setting($1) AS s', params: ['IntervalStyle'] });
        expect(next.rows).toEqual([['iso_8601']]);
      }
      expect(await count(`failed-${c}`)).toBe(0);
    }
  });

  it('a COMMIT that fails (a deferred foreign key) reports it and commits nothing', async () => {
    for (const c of WRITERS) {
      const r = await callTool(h.client, 'execute_query', { connection: c, query: 'INSERT INTO child VALUES (42)' });
      // On the default path the check runs at the pipelined COMMIT; with pooler=none the statement runs on its own.
      expect(r.ok ? 'ok' : r.error.code).toBe(c === 'none' ? 'CONSTRAINT_VIOLATION' : 'TRANSACTION_FAILED');
      const n = await mustCall(h.client, 'execute_query', { connection: c, query: 'SELECT count(*)::int FROM child' });
      expect(n.rows).toEqual([[0]]);
    }
  });

  it("deferred triggers run under the call's timeout (PostgreSQL runs COMMIT itself without statement_timeout)", async () => {
    await mustCall(h.client, 'execute_query', { connection: 'a', query: 'CREATE TABLE slow_commit (id int)' });
    await mustCall(h.client, 'execute_query', { connection: 'a', query: 'CREATE FUNCTION slow_check() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$' });
    await mustCall(h.client, 'execute_query', { connection: 'a', query: 'CREATE CONSTRAINT TRIGGER slow_commit_check AFTER INSERT ON slow_commit DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_check()' });
    for (const c of WRITERS) {
      const started = Date.now();
      const r = await callTool(h.client, 'execute_query', { connection: c, query: 'INSERT INTO slow_commit VALUES (1)', timeout_ms: 300 });
      expect(Date.now() - started).toBeLessThan(2500);
      expect(r.ok ? 'ok' : `${r.error.code} ${String(r.error.details.sqlstate)}`).toBe(c === 'none' ? 'TIMEOUT 57014' : 'TRANSACTION_FAILED 57014');
      const n = await mustCall(h.client, 'execute_query', { connection: c, query: 'SELECT count(*)::int FROM slow_commit' });
      expect(n.rows).toEqual([[0]]);
    }
  });

  it('session state a statement leaves behind does not reach the next call', async () => {
    for (const c of WRITERS) {
      await mustCall(h.client, 'execute_query', { connection: c, query: "SELECT set_config('search_path', 'pg_catalog', false)" });
      const r = await mustCall(h.client, 'execute_query', { connection: c, query: "SELECT current_setting('search_path') AS p" });
      expect(r.rows).toEqual([['"$user", public']]);
    }
  });
});
