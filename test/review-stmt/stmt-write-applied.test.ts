/**
 * Review of 219fb2e, finding 1: behind PgBouncer in statement pooling mode, with no `pooler`
 * option in the URL, execute_query's INSERT is applied (committed on the server) while the
 * call answers UNSUPPORTED ("no retry mends") with no details.outcome. SPEC (§ poolers) says
 * "nothing of it was applied"; SPEC §7 says a write whose connection was lost answers
 * details.outcome "unknown". Before 219fb2e this answered CONNECTION_LOST with outcome "unknown".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { freshDatabase, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';
import { startPgBouncer, type PgBouncer } from '../topology/pgbouncer.js';

const PG = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;

describe.skipIf(process.getuid?.() !== 0)('a write through statement pooling', () => {
  let pgb: PgBouncer;
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;

  beforeAll(async () => {
    db = await freshDatabase(PG, 'rvstw');
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin`CREATE TABLE t0 (id int PRIMARY KEY)`;
    pgb = await startPgBouncer({ mode: 'statement' });
    h = await startInProcess({ rw: { url: pgb.url(new URL(db.url).pathname.slice(1)) } });
  });

  afterAll(async () => {
    await h?.close();
    await pgb?.stop();
    await admin?.end();
    await db?.drop();
  });

  it('an INSERT that was committed is not answered "UNSUPPORTED, nothing applied": its outcome is at least unknown', async () => {
    const seen: string[] = [];
    const bad: number[] = [];
    for (let id = 1; id <= 5; id++) {
      const r = await callTool(h.client, 'execute_query', { connection: 'rw', query: `INSERT INTO t0 VALUES (${id})` }, { timeout: 20_000 });
      const [row] = await admin`SELECT count(*)::int AS n FROM t0 WHERE id = ${id}`;
      const applied = row!.n === 1;
      seen.push(`${id}: applied=${applied} ${r.ok ? 'OK' : `${r.error.code} outcome=${String(r.error.details.outcome)}`}`);
      // A write that took effect must not be reported as refused with nothing applied.
      if (applied && !r.ok && (r.error.code === 'UNSUPPORTED' || r.error.details.outcome !== 'unknown')) bad.push(id);
    }
    console.log(seen.join('\n'));
    expect(bad, seen.join('\n')).toEqual([]);
  }, 120_000);
});
