/**
 * Backups restored into other backends: SQLite -> PostgreSQL -> MariaDB -> SQLite,
 * each hop keeping every value the type mapping promises (the content checksums of
 * all four copies are identical), and a mapping that would lose digits refused
 * up front unless allow_lossy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';
import { EVERY_TYPE_SCHEMA, fillEveryType, readRows } from '../support/every-type.js';

type Json = Record<string, any>;
const all = ['sqlite', 'postgres', 'mysql'].every((b) => BACKENDS.some((x) => x.name === b));

describe.runIf(all)('backups across backends', () => {
  let h: Harness;
  const dbs: Array<{ url: string; drop(): Promise<void> }> = [];
  const byName = (n: string) => BACKENDS.find((b) => b.name === n)!;

  beforeAll(async () => {
    const [lite, pg, my, lite2] = await Promise.all([
      freshDatabase(byName('sqlite'), 'x1'), freshDatabase(byName('postgres'), 'x2'), freshDatabase(byName('mysql'), 'x3'), freshDatabase(byName('sqlite'), 'x4'),
    ]);
    dbs.push(lite, pg, my, lite2);
    h = await startInProcess({ lite: { url: lite.url }, pg: { url: pg.url }, my: { url: my.url }, lite2: { url: lite2.url } }, { backup_dir: tempDir('cmx-cross-') });
  });

  afterAll(async () => {
    await h?.close();
    for (const d of dbs) await d.drop();
  });

  const backup = async (database: string, output_path: string, table = 'every'): Promise<string> => {
    const made = await mustCall(h.client, 'create_backup', { database, output_path, tables: [table] });
    return (made.tables as Json[])[0].sha256;
  };

  it('SQLite -> PostgreSQL -> MariaDB -> SQLite keeps every value: identical content checksums', async () => {
    await mustCall(h.client, 'create_table', { connection: 'lite', schema: EVERY_TYPE_SCHEMA('every', 'decimal(12,2)') });
    await fillEveryType(h, 'lite', 'sqlite', 'every', false);
    const sums = [await backup('lite', 'hop0.cmx.gz')];
    const hops: Array<[string, string]> = [['pg', 'postgres'], ['my', 'mysql'], ['lite2', 'sqlite']];
    for (const [i, [db]] of hops.entries()) {
      const r = await mustCall(h.client, 'restore_backup', { database: db, backup_path: `hop${i}.cmx.gz`, allow_lossy: db === 'pg' });
      // Only into PostgreSQL, and only the json documents' text: SQLite keeps it as written, jsonb its own
      // (these documents are already in jsonb's form, so the checksums still agree below).
      expect((r.lossy as Json[]).map((l) => l.column)).toEqual(db === 'pg' ? ['doc'] : []);
      sums.push(await backup(db, `hop${i + 1}.cmx.gz`));
    }
    expect(new Set(sums).size).toBe(1);
    const rows = await readRows(h, 'lite2', 'sqlite', 'every');
    expect(rows).toEqual(await readRows(h, 'lite', 'sqlite', 'every'));
    const pgRows = await readRows(h, 'pg', 'postgres', 'every');
    expect(pgRows[0]).toMatchObject({ big: '9223372036854775807', price: 1234567890.12, name: '🐜 naïve 日本', seen: '2024-01-01T21:34:05.123456Z', blob_len: 1024 * 1024 });
    expect(pgRows[1].name).toBe('');
    expect(pgRows[2].name).toBe(null);
  });

  it('refuses a mapping that would lose digits (decimal(38,10) into SQLite) unless allow_lossy', async () => {
    await mustCall(h.client, 'create_table', { connection: 'pg', schema: EVERY_TYPE_SCHEMA('wide') });
    await fillEveryType(h, 'pg', 'postgres', 'wide');
    await backup('pg', 'wide.cmx.gz', 'wide');
    const r = await callTool(h.client, 'restore_backup', { database: 'lite2', backup_path: 'wide.cmx.gz' });
    expect(r.ok ? 'ok' : r.error.code).toBe('UNSUPPORTED');
    if (!r.ok) expect(r.error.details.lossy).toEqual([expect.objectContaining({ table: 'wide', column: 'price' })]);
    const tables = await mustCall(h.client, 'get_schema', { connection: 'lite2' });
    expect((tables.tables as Json[]).map((t) => t.table)).not.toContain('wide');
    const lossy = await mustCall(h.client, 'restore_backup', { database: 'lite2', backup_path: 'wide.cmx.gz', allow_lossy: true });
    expect((lossy.lossy as Json[]).length).toBe(1);
    expect(lossy.rows).toBe(4);
  });

  it('a value the target cannot hold fails the load, and MySQL drops the tables it created', async () => {
    await mustCall(h.client, 'create_table', { connection: 'pg', schema: { table: 'future', columns: [{ name: 'id', type: 'integer', primary_key: true }, { name: 'at', type: 'timestamptz' }] } });
    await mustCall(h.client, 'execute_query', { connection: 'pg', query: "INSERT INTO future VALUES (1, '2024-01-01T00:00:00Z'), (2, '2100-01-01T00:00:00Z')" });
    await backup('pg', 'future.cmx.gz', 'future');
    const r = await callTool(h.client, 'restore_backup', { database: 'my', backup_path: 'future.cmx.gz' });
    expect(r.ok ? 'ok' : r.error.code).toBe('DATA_ERROR');
    const tables = await mustCall(h.client, 'get_schema', { connection: 'my' });
    expect((tables.tables as Json[]).map((t) => t.table)).not.toContain('future');
  });

  it('a column comment longer than MariaDB takes is cut to its 1,024 characters and listed, not an INTERNAL failure', async () => {
    const long = `${'ü'.repeat(1020)}🐜日本語${'x'.repeat(3000)}`;
    await mustCall(h.client, 'create_table', { connection: 'pg', schema: { table: 'noted', columns: [{ name: 'id', type: 'integer', primary_key: true }, { name: 'v', type: 'text' }] } });
    await mustCall(h.client, 'execute_query', { connection: 'pg', query: `COMMENT ON COLUMN noted.v IS '${long}'` });
    await mustCall(h.client, 'execute_query', { connection: 'pg', query: "INSERT INTO noted VALUES (1, 'a')" });
    await backup('pg', 'noted.cmx.gz', 'noted');
    const refused = await callTool(h.client, 'restore_backup', { database: 'my', backup_path: 'noted.cmx.gz' });
    expect(refused.ok ? 'ok' : [refused.error.code, refused.error.message]).toEqual(['UNSUPPORTED', expect.stringContaining('noted.v: comment of 4024 characters cut')]);
    const r = await mustCall(h.client, 'restore_backup', { database: 'my', backup_path: 'noted.cmx.gz', allow_lossy: true });
    expect(r.lossy).toEqual([
      { table: 'noted', column: 'v', what: 'comment of 4024 characters cut to the 1024 MySQL/MariaDB keeps' },
      { table: 'noted', column: 'v', what: "comment characters beyond U+FFFF (emoji and the like) become '?' on MySQL/MariaDB" },
    ]);
    const kept = await mustCall(h.client, 'execute_query', { connection: 'my', query: "SELECT CHAR_LENGTH(COLUMN_COMMENT) AS n, COLUMN_COMMENT AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'noted' AND COLUMN_NAME = 'v'" });
    expect((kept.rows as Json[])[0]).toEqual([1024, [...long].slice(0, 1024).join('').replace('🐜', '?')]);
  });

  it('a native backup restores only into its own backend', async () => {
    await mustCall(h.client, 'create_backup', { database: 'pg', tables: ['wide'], format: 'native', output_path: 'wide.pgdump' });
    const r = await callTool(h.client, 'restore_backup', { database: 'my', backup_path: 'wide.pgdump' });
    expect(r.ok ? 'ok' : r.error.code).toBe('UNSUPPORTED');
  });
});
