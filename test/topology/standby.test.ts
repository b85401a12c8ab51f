/**
 * A PostgreSQL primary with a streaming hot standby (issue 17 item 4): get_connection says
 * the standby is one and how far behind it is, a read-write connection to it refuses writes
 * before sending them, reads and backups work (restored on the primary exactly), and after
 * a promotion the same connection writes again.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/backends.js';
import { callTool, mustCall, rowsOf, startInProcess, type Harness } from '../support/mcp.js';
import { startPrimaryWithStandby, type PrimaryWithStandby } from './standby.js';

const code = (r: Awaited<ReturnType<typeof callTool>>): string => (r.ok ? 'ok' : r.error.code);

// Private servers run as the postgres OS user: they need root, as CI has.
describe.skipIf(process.getuid?.() !== 0)('a PostgreSQL hot standby', () => {
  let t: PrimaryWithStandby;
  let h: Harness;
  const dirs = [tempDir('cmx-topo-sb-mig-'), tempDir('cmx-topo-sb-bk-')];

  beforeAll(async () => {
    t = await startPrimaryWithStandby();
    h = await startInProcess({
      primary: { url: t.primaryUrl() },
      // Read-write on purpose: the server, not the configuration, makes it read-only.
      standby: { url: t.standbyUrl(), migrations_dir: dirs[0] },
      standby_ro: { url: t.standbyUrl(), read_only: true },
    }, { backup_dir: dirs[1] });
    await mustCall(h.client, 'execute_query', { connection: 'primary', query: 'CREATE TABLE items (id int PRIMARY KEY, name text, d interval)' });
    await mustCall(h.client, 'execute_query', { connection: 'primary', query: "INSERT INTO items SELECT g, 'item ' || g, g * interval '1 hour' FROM generate_series(1, 50) g" });
    await t.waitForReplay();
  });

  afterAll(async () => {
    await h?.close();
    await t?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('get_connection reports the standby and its replay lag; the primary reports none', async () => {
    const sb = await mustCall(h.client, 'get_connection', { connection: 'standby' });
    expect(sb).toMatchObject({ read_only: false, standby: { replay_lag_ms: expect.any(Number), unreplayed_bytes: expect.any(Number) } });
    expect(await mustCall(h.client, 'get_connection', { connection: 'standby_ro' })).toHaveProperty('standby');
    expect(await mustCall(h.client, 'get_connection', { connection: 'primary' })).not.toHaveProperty('standby');
  });

  it('reads work on read-write and read-only connections to it', async () => {
    for (const c of ['standby', 'standby_ro']) {
      const r = await mustCall(h.client, 'execute_query', { connection: c, query: 'SELECT count(*)::int AS n, max(d)::text AS d FROM items' });
      expect(rowsOf(r)).toEqual([{ n: 50, d: 'PT50H' }]);
    }
    expect(code(await callTool(h.client, 'execute_transaction', { connection: 'standby', queries: [{ query: 'SELECT 1' }, { query: 'SELECT 2' }] }))).toBe('ok');
  });

  it('writes are refused before they are tried, with READ_ONLY_VIOLATION and reason standby', async () => {
    for (const [tool, args] of [
      ['execute_query', { query: "INSERT INTO items VALUES (100, 'x')" }],
      ['execute_transaction', { queries: [{ query: 'SELECT 1' }, { query: 'DELETE FROM items' }] }],
    ] as const) {
      const r = await callTool(h.client, tool, { connection: 'standby', ...args });
      expect(code(r)).toBe('READ_ONLY_VIOLATION');
      expect(r.ok ? {} : r.error.details).toMatchObject({ reason: 'standby' });
      expect(r.ok ? '' : r.error.message).toMatch(/standby/);
    }
    // Tools that write through their own sessions get the engine's refusal, with the same code.
    expect(code(await callTool(h.client, 'create_table', { connection: 'standby', schema: { table: 'nope', columns: [{ name: 'id', type: 'integer', primary_key: true }] } }))).toBe('READ_ONLY_VIOLATION');
    await mustCall(h.client, 'create_migration', { connection: 'standby', name: 'nope', up: 'CREATE TABLE nope (id int)', down: 'DROP TABLE nope' });
    expect(code(await callTool(h.client, 'run_migration', { connection: 'standby' }))).toBe('READ_ONLY_VIOLATION');
  });

  it('a backup taken on the standby restores exactly on the primary', async () => {
    const made = await mustCall(h.client, 'create_backup', { database: 'standby', tables: ['items'], output_path: 'items.cmx.gz' });
    expect(made.rows).toBe(50);
    await mustCall(h.client, 'execute_query', { connection: 'primary', query: 'DELETE FROM items WHERE id > 10' });
    expect((await mustCall(h.client, 'restore_backup', { database: 'primary', backup_path: 'items.cmx.gz', mode: 'replace' })).rows).toBe(50);
    const again = await mustCall(h.client, 'create_backup', { database: 'primary', tables: ['items'], output_path: 'items-again.cmx.gz' });
    expect((again.tables as Array<{ sha256: string }>)[0]!.sha256).toBe((made.tables as Array<{ sha256: string }>)[0]!.sha256);
    expect(code(await callTool(h.client, 'get_schema', { connection: 'standby', table: 'items' }))).toBe('ok');
    expect(code(await callTool(h.client, 'get_database_stats', { connection: 'standby' }))).toBe('ok');
  });

  it('after a promotion the same connection writes, and get_connection no longer says standby', async () => {
    await t.promote();
    expect(await mustCall(h.client, 'get_connection', { connection: 'standby' })).not.toHaveProperty('standby');
    expect(code(await callTool(h.client, 'execute_query', { connection: 'standby', query: "INSERT INTO items VALUES (100, 'after promotion')" }))).toBe('ok');
  });
});
