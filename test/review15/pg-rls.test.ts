/**
 * Row-level security: an application often connects as the owner of its tables, with
 * FORCE ROW LEVEL SECURITY so that the owner is filtered too. A backup through such a
 * connection must hold every row or fail saying why (pg_dump sets row_security = off and
 * fails with "query would be affected by row-level security policy"); it must never be a
 * complete-looking backup of the rows one tenant can see.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG, callTool, outcome, pair, psql, type Json, type RoundTrip } from './harness.js';

const role = `r15_owner_${process.pid}`;

describe('PostgreSQL backup through the owner of a FORCE ROW LEVEL SECURITY table', () => {
  let rt: RoundTrip;
  let ownerUrl: string;
  beforeAll(async () => {
    rt = await pair(PG, PG, 'rls');
    psql(rt.src.url, `CREATE ROLE ${role} LOGIN; GRANT CREATE ON SCHEMA public TO ${role};
      SET ROLE ${role};
      CREATE TABLE doc (id int PRIMARY KEY, tenant int NOT NULL, body text);
      INSERT INTO doc SELECT g, g % 3, 'row ' || g FROM generate_series(1, 30) g;
      ALTER TABLE doc ENABLE ROW LEVEL SECURITY; ALTER TABLE doc FORCE ROW LEVEL SECURITY;
      CREATE POLICY by_tenant ON doc USING (tenant = coalesce(nullif(current_setting('app.tenant', true), ''), '1')::int);
      RESET ROLE;`);
    const u = new URL(rt.src.url);
    u.username = role;
    ownerUrl = u.toString();
  }, 60_000);
  afterAll(async () => {
    await rt?.close();
    psql(PG.url(), `DROP ROLE IF EXISTS ${role}`);
  });

  for (const format of ['portable', 'native'] as const) {
    it(`${format}: every row (30) or a clear refusal, never 10 rows reported as complete`, async () => {
      const { startInProcess } = await import('../support/mcp.js');
      const h = await startInProcess({ owner: { url: ownerUrl } }, { backup_dir: rt.dir });
      try {
        const r = await callTool(h.client, 'create_backup', { connection: 'owner', format, tables: format === 'portable' ? ['doc'] : undefined });
        if (!r.ok) { expect(r.error.code, r.error.message).not.toBe('INTERNAL'); return; }
        const rows = (r.data as Json).tables?.[0]?.rows;
        if (rows !== null && rows !== undefined) expect(rows, 'rows the manifest claims').toBe(30);
        const back = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: (r.data as Json).backup, mode: 'replace' });
        expect(outcome(back)).toBe('ok');
        expect(psql(rt.dst.url, 'SET row_security = off; SELECT count(*) FROM doc')).toBe('30\n');
      } finally { await h.close(); }
    });
  }
});
