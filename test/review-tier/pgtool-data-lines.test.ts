/**
 * d8354a9 pgToolRefusal: the CONNECTION_LOST pattern is anchored to a line that starts with
 * "pg_dump: " / "pg_restore: " (flag m). A server ERROR/DETAIL line quotes user data raw,
 * newlines included, so a value (or a table name) holding "\npg_restore: error: connection to
 * server was lost" makes a line of its own that looks like the tool's.
 *
 * Real restores (native, pg_restore --exit-on-error --single-transaction), nothing killed:
 *  - append into a table with a unique key whose existing value is crafted (duplicate key DETAIL);
 *  - create into an existing table whose name is crafted (relation already exists);
 *  - portable append of the same rows (driver path, SQLSTATE-mapped).
 * Asserted: none of these answers CONNECTION_LOST; a duplicate key naming another refusal's
 * words answers INTERNAL as any other duplicate key does.
 * Measured (d8354a9): native append values 0-3 answer CONNECTION_LOST ("… nothing was restored
 * unless the connection was lost during its COMMIT", outcome unknown), 4-5 INTERNAL; the four other-
 * refusal values answer PERMISSION_DENIED, UNSUPPORTED, CONNECTION_FAILED, UNDEFINED_OBJECT; portable
 * 6/6 CONSTRAINT_VIOLATION; the crafted table name is stopped by DUPLICATE_OBJECT. 8 of 17 fail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const PG = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;

const VALUES = [
  'a\npg_restore: error: connection to server was lost',
  'b\npg_restore: error: could not execute query: server closed the connection unexpectedly',
  'c\npg_restore: no connection to the server',
  'd\npg_restore: detail: Error message from server: FATAL:  terminating connection due to administrator command',
  // the cases the unit test covers (no tool prefix): must stay not-lost
  'e\nserver closed the connection unexpectedly',
  'f: no connection to the server',
];

describe('pgToolRefusal fooled by data lines', () => {
  let db: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;
  let h: Harness;
  const out: string[] = [];
  beforeAll(async () => {
    db = await freshDatabase(PG, 'rtdata');
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    h = await startInProcess({ db: { url: db.url } }, { backup_dir: tempDir('rtdata-') });
  }, 60_000);
  afterAll(async () => { console.log(out.join('\n')); await h?.close(); await admin?.end(); await db?.drop(); });

  it.each(VALUES.map((v, i) => [i, v] as const))('native append, duplicate key value %i', async (i, v) => {
    await admin.unsafe(`DROP TABLE IF EXISTS t${i}; CREATE TABLE t${i} (v text primary key)`);
    await admin.unsafe(`INSERT INTO t${i} VALUES ($1)`, [v]);
    const b = await callTool(h.client, 'create_backup', { connection: 'db', format: 'native', output_path: `n${i}.pgdump`, tables: [`t${i}`] }, { timeout: 60_000 });
    expect(b.ok, JSON.stringify(b)).toBe(true);
    const r = await callTool(h.client, 'restore_backup', { connection: 'db', backup_path: `n${i}.pgdump`, mode: 'append' }, { timeout: 60_000 });
    const said = r.ok ? 'ok' : `${r.error.code} ${JSON.stringify(r.error.message).slice(0, 400)} ${JSON.stringify(r.error.details)}`;
    out.push(`native append value ${JSON.stringify(v)}: ${said}`);
    expect(r.ok).toBe(false);
    expect(said).not.toMatch(/^CONNECTION_LOST/);
  }, 120_000);

  it.each(VALUES.map((v, i) => [i, v] as const))('portable append, duplicate key value %i', async (i, v) => {
    await admin.unsafe(`DROP TABLE IF EXISTS p${i}; CREATE TABLE p${i} (v text primary key)`);
    await admin.unsafe(`INSERT INTO p${i} VALUES ($1)`, [v]);
    const b = await callTool(h.client, 'create_backup', { connection: 'db', format: 'portable', output_path: `p${i}.sql.gz`, tables: [`p${i}`] }, { timeout: 60_000 });
    expect(b.ok, JSON.stringify(b)).toBe(true);
    const r = await callTool(h.client, 'restore_backup', { connection: 'db', backup_path: String((b as unknown as { data: { backup: string } }).data.backup), mode: 'append' }, { timeout: 60_000 });
    const said = r.ok ? 'ok' : `${r.error.code} ${JSON.stringify(r.error.message).slice(0, 400)}`;
    out.push(`portable append value ${JSON.stringify(v)}: ${said}`);
    expect(r.ok).toBe(false);
    expect(said).not.toMatch(/^CONNECTION_LOST/);
  }, 120_000);

  // The other refusals (PERMISSION_DENIED, UNSUPPORTED, CONNECTION_FAILED, UNDEFINED_OBJECT) are
  // matched anywhere in the text, data included (unchanged by d8354a9, but the same contract).
  const OTHER = ['permission denied', 'unsupported version', 'could not connect', 'does not exist'];
  it.each(OTHER.map((v, i) => [i, v] as const))('native append, duplicate key value naming another refusal %i', async (i, v) => {
    await admin.unsafe(`DROP TABLE IF EXISTS o${i}; CREATE TABLE o${i} (v text primary key)`);
    await admin.unsafe(`INSERT INTO o${i} VALUES ($1)`, [v]);
    const b = await callTool(h.client, 'create_backup', { connection: 'db', format: 'native', output_path: `o${i}.pgdump`, tables: [`o${i}`] }, { timeout: 60_000 });
    expect(b.ok, JSON.stringify(b)).toBe(true);
    const r = await callTool(h.client, 'restore_backup', { connection: 'db', backup_path: `o${i}.pgdump`, mode: 'append' }, { timeout: 60_000 });
    const said = r.ok ? 'ok' : `${r.error.code} ${JSON.stringify(r.error.message).slice(0, 300)}`;
    out.push(`native append value ${JSON.stringify(v)}: ${said}`);
    expect(r.ok).toBe(false);
    expect(said).toMatch(/^INTERNAL /);
  }, 120_000);

  it('native create into an existing table whose name carries a tool line', async () => {
    const name = 'x\npg_restore: error: connection to server was lost';
    await admin.unsafe(`CREATE TABLE "${name}" (v int)`);
    const b = await callTool(h.client, 'create_backup', { connection: 'db', format: 'native', output_path: 'name.pgdump', tables: [name] }, { timeout: 60_000 });
    out.push(`backup of crafted table name: ${b.ok ? 'ok' : b.error.code + ' ' + b.error.message}`);
    expect(b.ok, JSON.stringify(b)).toBe(true);
    const r = await callTool(h.client, 'restore_backup', { connection: 'db', backup_path: 'name.pgdump', mode: 'create' }, { timeout: 60_000 });
    const said = r.ok ? 'ok' : `${r.error.code} ${JSON.stringify(r.error.message).slice(0, 400)} ${JSON.stringify(r.error.details)}`;
    out.push(`native create over crafted table name: ${said}`);
    expect(r.ok).toBe(false);
    expect(said).not.toMatch(/^CONNECTION_LOST/);
  }, 120_000);
});
