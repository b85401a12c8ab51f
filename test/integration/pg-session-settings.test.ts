/**
 * PostgreSQL manager sessions without `pooler` in the URL (the default: a pooler may be in
 * between, so nothing is set on the session, SPEC §2): catalog reads get a transaction of
 * their own that carries the settings, and that transaction never closes one a migration
 * opened itself.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';

const pg = BACKENDS.find((b) => b.name === 'postgres');

describe.skipIf(!pg)('PostgreSQL manager sessions with no pooler declared', () => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  const dir = tempDir('cmx-pg-sess-');

  beforeAll(async () => {
    db = await freshDatabase(pg!, 'pgsess');
    h = await startInProcess({ a: { url: db.url, migrations_dir: dir }, none: { url: `${db.url}?pooler=none` } });
  });

  afterAll(async () => {
    await h?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('get_schema prints an interval default as ISO 8601, as with pooler=none', async () => {
    await mustCall(h.client, 'execute_query', { connection: 'a', query: "CREATE TABLE spans (d interval DEFAULT '1 day 2 hours')" });
    for (const c of ['a', 'none']) {
      const t = (await mustCall(h.client, 'get_schema', { connection: c, table: 'spans' })).table as { columns: Array<{ default: unknown }> };
      expect(t.columns[0]!.default, c).toBe('P1DT2H');
    }
  });

  it('a migration that leaves its own BEGIN open is rolled back, not committed by a later read of ours', async () => {
    writeFileSync(join(dir, '20240101000000_left_open.sql'), '-- migrate:no-transaction\n-- migrate:up\nBEGIN;\nCREATE TABLE left_open (id int);\n-- migrate:down\nDROP TABLE left_open;\n');
    const run = await callTool(h.client, 'run_migration', { connection: 'a' });
    expect(run.ok ? 'ok' : run.error.message).toMatch(/left its own transaction open/);
    const t = await callTool(h.client, 'execute_query', { connection: 'a', query: 'SELECT count(*) FROM left_open' });
    expect(t.ok ? 'exists' : t.error.code).toBe('UNDEFINED_OBJECT');
  });
});
