/**
 * The BackupManager on every backend through a real MCP client: a table of every
 * portable type with edge values round-trips with identical content checksums and
 * rows; sequences continue; modes; damaged, unfinished and hostile inputs are
 * refused with the database untouched; cancellation leaves nothing behind.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { EVERY_TYPE_SCHEMA, fillEveryType, quoteFor, readRows } from '../support/every-type.js';
import { callTool, mustCall, startInProcess, type Harness, rowsOf } from '../support/mcp.js';

type Json = Record<string, any>;

describe.each(BACKENDS)('backups on $name', (backend: TestBackend) => {
  let h: Harness;
  let src: { url: string; drop(): Promise<void> };
  let dst: { url: string; drop(): Promise<void> };
  const dir = tempDir('cmx-backups-');
  const q = quoteFor(backend.name);

  beforeAll(async () => {
    src = await freshDatabase(backend, 'bksrc');
    dst = await freshDatabase(backend, 'bkdst');
    h = await startInProcess({ src: { url: src.url }, dst: { url: dst.url }, ro: { url: src.url, read_only: true } }, { backup_dir: dir });
    await mustCall(h.client, 'create_table', { connection: 'src', schema: EVERY_TYPE_SCHEMA('every') });
    await fillEveryType(h, 'src', backend.name, 'every');
  });

  afterAll(async () => {
    await h?.close();
    await src?.drop();
    await dst?.drop();
  });

  it('round-trips every type and edge value: identical content checksums and rows', async () => {
    const made = await mustCall(h.client, 'create_backup', { database: 'src', tables: ['every'], output_path: 'every.cmx.gz' });
    expect(made.rows).toBe(4);
    const restored = await mustCall(h.client, 'restore_backup', { database: 'dst', backup_path: 'every.cmx.gz' });
    expect(restored.rows).toBe(4);
    expect(restored.lossy).toEqual([]);
    const again = await mustCall(h.client, 'create_backup', { database: 'dst', tables: ['every'], output_path: 'every-again.cmx.gz' });
    expect((again.tables as Json[])[0].sha256).toBe((made.tables as Json[])[0].sha256);
    const before = await readRows(h, 'src', backend.name, 'every');
    const after = await readRows(h, 'dst', backend.name, 'every');
    expect(after).toEqual(before);
    expect(before[0].blob_len).toBe(1024 * 1024);
    expect(before[2].name).toBe(null);
    expect(before[1].name).toBe('');
  });

  it('restores the auto-increment position: new rows continue after the old ones', async () => {
    await mustCall(h.client, 'execute_query', { connection: 'dst', query: `INSERT INTO ${q('every')} (${q('name')}) VALUES ('next')` });
    const r = await mustCall(h.client, 'execute_query', { connection: 'dst', query: `SELECT ${q('id')} FROM ${q('every')} WHERE ${q('name')} = 'next'` });
    expect(Number(rowsOf(r)[0].id)).toBe(5);
  });

  it('modes: create refuses an existing table, replace recreates it, append adds rows', async () => {
    const refused = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: 'every.cmx.gz' });
    expect(refused.ok ? 'ok' : refused.error.code).toBe('DUPLICATE_OBJECT');
    const replaced = await mustCall(h.client, 'restore_backup', { database: 'dst', backup_path: 'every.cmx.gz', mode: 'replace' });
    expect((replaced.tables as Json[])[0]).toMatchObject({ rows: 4, created: true });
    await mustCall(h.client, 'execute_query', { connection: 'dst', query: `DELETE FROM ${q('every')} WHERE ${q('id')} > 2` });
    const appended = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: 'every.cmx.gz', mode: 'append' });
    // Rows 1 and 2 are still there: their keys collide, and the whole append is undone.
    expect(appended.ok ? 'ok' : `${appended.error.code}: ${appended.error.message}`).toMatch(/^CONSTRAINT_VIOLATION: /);
    const n = await mustCall(h.client, 'execute_query', { connection: 'dst', query: `SELECT count(*) AS n FROM ${q('every')}` });
    expect(Number(rowsOf(n)[0].n)).toBe(2);
  });

  it('lists backups with their status; unfinished and damaged ones are not ok', async () => {
    await fs.writeFile(join(dir, 'stray.cmx.gz'), 'not finished');
    await fs.writeFile(join(dir, `.every.cmx.gz.${process.pid}.abc.tmp`), 'a temporary');
    await fs.copyFile(join(dir, 'every.cmx.gz'), join(dir, 'damaged.cmx.gz'));
    const m = JSON.parse(await fs.readFile(join(dir, 'every.cmx.gz.manifest.json'), 'utf8'));
    await fs.writeFile(join(dir, 'damaged.cmx.gz.manifest.json'), JSON.stringify({ ...m, file: 'damaged.cmx.gz', size: m.size + 1 }));
    const list = (await mustCall(h.client, 'list_backups', {})).backups as Json[];
    const status = Object.fromEntries(list.map((b) => [b.name, b.status]));
    expect(status).toMatchObject({ 'every.cmx.gz': 'ok', 'every-again.cmx.gz': 'ok', 'stray.cmx.gz': 'incomplete', 'damaged.cmx.gz': 'corrupt' });
    expect(list.some((b) => b.name.startsWith('.'))).toBe(false);
    expect((await mustCall(h.client, 'list_backups', { database: 'dst' })).backups).toHaveLength(1);
    for (const name of ['stray.cmx.gz', 'damaged.cmx.gz']) {
      const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: name, mode: 'replace' });
      expect(r.ok ? 'ok' : r.error.code).toBe(name === 'stray.cmx.gz' ? 'UNDEFINED_OBJECT' : 'BACKUP_CORRUPT');
    }
  });

  it('refuses a truncated or bit-flipped backup with the database untouched', async () => {
    await mustCall(h.client, 'create_backup', { database: 'src', tables: ['every'], output_path: 'flip.cmx.gz' });
    await mustCall(h.client, 'create_backup', { database: 'src', tables: ['every'], output_path: 'cut.cmx.gz' });
    const flip = await fs.readFile(join(dir, 'flip.cmx.gz'));
    flip[Math.floor(flip.length / 2)] ^= 0x10;
    await fs.writeFile(join(dir, 'flip.cmx.gz'), flip);
    await fs.truncate(join(dir, 'cut.cmx.gz'), Math.floor(flip.length / 2));
    const before = await readRows(h, 'dst', backend.name, 'every');
    for (const name of ['flip.cmx.gz', 'cut.cmx.gz']) {
      const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: name, mode: 'replace' });
      expect(r.ok ? 'ok' : r.error.code).toBe('BACKUP_CORRUPT');
      if (!r.ok) expect(r.error.message).toMatch(/damaged.*nothing was restored/);
    }
    expect(await readRows(h, 'dst', backend.name, 'every')).toEqual(before);
  });

  it('refuses paths outside the backup directory and existing files, creating nothing', async () => {
    const outside = tempDir('cmx-outside-');
    await fs.symlink(join(outside, 'target.gz'), join(dir, 'link.gz'));
    const listing = async (): Promise<string[]> => (await fs.readdir(dir)).sort();
    const before = await listing();
    const cases: Array<[string, string]> = [
      ['../escape.gz', 'INVALID_INPUT'], [join(outside, 'abs.gz'), 'INVALID_INPUT'], ['sub/x.gz', 'INVALID_INPUT'], ['..', 'INVALID_INPUT'],
      ['.hidden.gz', 'INVALID_INPUT'], ['x\u0000.gz', 'INVALID_INPUT'], ['x.manifest.json', 'INVALID_INPUT'],
      ['every.cmx.gz', 'DUPLICATE_OBJECT'], ['link.gz', 'DUPLICATE_OBJECT'],
    ];
    for (const [output_path, code] of cases) {
      const r = await callTool(h.client, 'create_backup', { database: 'src', tables: ['every'], output_path });
      expect(`${output_path}: ${r.ok ? 'ok' : r.error.code}`).toBe(`${output_path}: ${code}`);
    }
    for (const backup_path of ['../../etc/passwd', '/etc/passwd', 'link.gz']) {
      const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path, mode: 'replace' });
      expect(r.ok ? 'ok' : r.error.code).toMatch(/INVALID_INPUT|UNDEFINED_OBJECT/);
    }
    expect(await listing()).toEqual(before);
    expect(await fs.readdir(outside)).toEqual([]);
    expect(await fs.readdir(join(dir, '..'))).not.toContain('escape.gz');
  });

  it('format native: the backend\'s own tool behind the same manifest, restored into the same backend only', async () => {
    const tables = backend.name === 'sqlite' ? undefined : ['every'];
    const made = await mustCall(h.client, 'create_backup', { database: 'src', tables, format: 'native', output_path: 'every.native' });
    expect(made.format).toBe('native');
    const listed = ((made.tables as Json[]).find((x) => x.name === 'every'))!;
    expect(listed.rows).toBe(backend.name === 'mysql' ? null : 4);
    const list = (await mustCall(h.client, 'list_backups', { verify: true })).backups as Json[];
    expect(list.find((b) => b.name === 'every.native')).toMatchObject({ status: 'ok', format: 'native' });
    const refused = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: 'every.native' });
    expect(refused.ok ? 'ok' : refused.error.code).toBe('DUPLICATE_OBJECT');
    const restored = await mustCall(h.client, 'restore_backup', { database: 'dst', backup_path: 'every.native', mode: 'replace' });
    expect(restored.format).toBe('native');
    expect(await readRows(h, 'dst', backend.name, 'every')).toEqual(await readRows(h, 'src', backend.name, 'every'));
  });

  it.runIf(backend.name === 'sqlite')('SQLite: values of any storage class in any column come back as they were', async () => {
    await mustCall(h.client, 'execute_query', { connection: 'src', query: 'CREATE TABLE loose (id INTEGER PRIMARY KEY, n INT, d DOUBLE, t TEXT, b BLOB, x)' });
    const rows = [
      "(1, 'not a number', 1.0, 'é \" \\ 🐜', x'00ff', 1.5)",
      "(2, 9223372036854775807, 2, x'41', 'text in a blob column', x'0102')",
      "(3, 1.25, 'text in a double column', 42, 7, 'plain')",
      '(4, NULL, -0.0, NULL, NULL, 9007199254740993)',
    ];
    await mustCall(h.client, 'execute_query', { connection: 'src', query: `INSERT INTO loose VALUES ${rows.join(', ')}` });
    const read = async (c: string) => rowsOf(await mustCall(h.client, 'execute_query', { connection: c, query: 'SELECT id, typeof(n) AS tn, n, typeof(d) AS td, d, typeof(t) AS tt, t, typeof(b) AS tb, b, typeof(x) AS tx, x FROM loose ORDER BY id' }));
    await mustCall(h.client, 'create_backup', { database: 'src', tables: ['loose'], output_path: 'loose.cmx.gz' });
    await mustCall(h.client, 'restore_backup', { database: 'dst', backup_path: 'loose.cmx.gz' });
    expect(await read('dst')).toEqual(await read('src'));
  });

  it('read-only connections back up but never restore', async () => {
    const made = await mustCall(h.client, 'create_backup', { database: 'ro', tables: ['every'], output_path: 'from-ro.cmx.gz' });
    expect(made.rows).toBe(4);
    const r = await callTool(h.client, 'restore_backup', { database: 'ro', backup_path: 'from-ro.cmx.gz', mode: 'replace' });
    expect(r.ok ? 'ok' : r.error.code).toBe('READ_ONLY_VIOLATION');
  });
});
