/**
 * Review of 1a63818 (pure reads stopped at the cap by a cancel request, COMMIT pipelined
 * behind the statement), on the default (pooler-safe) connection:
 *
 * 1. A result stopped at the cap loses the names of its user-defined column types: the
 *    names are learnt from pg_type after the statement (execute.ts finish), and that query
 *    now runs behind the pipelined COMMIT message, which failed (25P02: the cancel aborted the
 *    transaction): it fails too, is swallowed, and the column's type is null instead of
 *    "mood". The same read under the cap, or on pooler=none, says "mood".
 *
 * 2. SPEC "Result caps" said a SELECT that calls a writing user function "keeps nothing when
 *    it is stopped at the cap", yet a result a few rows over the cap ended before the cancel
 *    landed and its pipelined COMMIT committed: which one happened depended on timing. Now
 *    the contract is one the timing cannot change: a read a little over the cap (under 1,000
 *    rows and 50 ms past it) is read to its end and commits whole, like any statement; one
 *    that goes on is stopped by the cancel and keeps nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase } from '../support/backends.js';
import { mustCall, startInProcess, type Harness } from '../support/mcp.js';

const pg = BACKENDS.find((b) => b.name === 'postgres');

describe.skipIf(!pg)('PostgreSQL reads stopped at the cap (review of the pipelined call)', () => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };

  beforeAll(async () => {
    db = await freshDatabase(pg!, 'rvpipe');
    h = await startInProcess({ a: { url: db.url, pool_size: 1 }, none: { url: `${db.url}?pooler=none`, pool_size: 1 } });
    await mustCall(h.client, 'execute_query', { connection: 'a', query: "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')" });
    await mustCall(h.client, 'execute_query', { connection: 'a', query: 'CREATE TABLE marks (id serial PRIMARY KEY, who text NOT NULL)' });
    await mustCall(h.client, 'execute_query', { connection: 'a', query: 'CREATE FUNCTION mark(w text) RETURNS int LANGUAGE sql AS $$ INSERT INTO marks (who) VALUES (w) RETURNING id $$' });
  });

  afterAll(async () => {
    await h?.close();
    await db?.drop();
  });

  it('a result cut at the cap still names its enum column type', async () => {
    // First read of the type on this connection is the capped one (the names are cached per connection).
    const capped = await mustCall(h.client, 'execute_query', { connection: 'a', query: "SELECT 'ok'::mood AS m FROM generate_series(1, 5000000)", max_rows: 3 });
    expect(capped.truncated).toBe(true);
    expect(capped.columns).toEqual([{ name: 'm', type: 'mood' }]);
  });

  it('a SELECT that writes through a function commits whole when a little over the cap, and keeps nothing when stopped (SPEC "Result caps")', async () => {
    let truncated = 0;
    for (let i = 0; i < 10; i++) {
      const r = await mustCall(h.client, 'execute_query', { connection: 'a', query: "SELECT mark('over') FROM generate_series(1, 4)", max_rows: 3 });
      if (r.truncated === true) truncated++;
    }
    expect(truncated).toBe(10);
    const kept = await mustCall(h.client, 'execute_query', { connection: 'a', query: "SELECT count(*)::int AS n FROM marks WHERE who = 'over'" });
    expect(kept.rows).toEqual([[40]]);
    for (let i = 0; i < 3; i++) {
      const r = await mustCall(h.client, 'execute_query', { connection: 'a', query: "SELECT mark('stopped') FROM generate_series(1, 5000000)", max_rows: 3 });
      expect(r.truncated).toBe(true);
    }
    const none = await mustCall(h.client, 'execute_query', { connection: 'a', query: "SELECT count(*)::int AS n FROM marks WHERE who = 'stopped'" });
    expect(none.rows).toEqual([[0]]);
  });
});
