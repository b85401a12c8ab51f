/**
 * SQLite native backups (the online backup API, restored by writing the file over an
 * empty database): the whole database comes back, a damaged file leaves the target
 * empty and usable, an open connection on the target makes the restore copy tables
 * instead, a writer during the backup does not leak into it, and nothing is left
 * beside the backup file (-wal, -shm, -journal).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;
const ROWS = 20_000;
const db = (name: string): { url: string } => ({ url: `sqlite://${join(dbDir, `${name}.db`)}` });
const dbDir = tempDir('cmx-sqlnative-');

describe('SQLite native backups', () => {
  let h: Harness;
  const dir = tempDir('cmx-sqlnative-bk-');
  const count = async (c: string, table = 't'): Promise<number> =>
    Number(((await mustCall(h.client, 'execute_query', { connection: c, query: `SELECT count(*) AS n FROM ${table}` })).rows as Json[])[0].n);

  beforeAll(async () => {
    h = await startInProcess({
      src: db('src'), writer: db('src'), fresh: db('fresh'), fresh2: db('fresh2'), busy: db('busy'), busy2: db('busy'), live: db('live'),
    }, { backup_dir: dir });
    await mustCall(h.client, 'execute_transaction', { connection: 'src', queries: [
      { query: 'CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT NOT NULL)' },
      { query: `INSERT INTO t (v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS}) SELECT 'row ' || x FROM c` },
      { query: 'CREATE INDEX t_v ON t (v)' },
      { query: 'CREATE VIEW tv AS SELECT id FROM t WHERE id % 2 = 0' },
    ] });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('writes the whole database over an empty one: rows, indexes, views and the sequence come back; nothing is left beside the backup', async () => {
    const made = await mustCall(h.client, 'create_backup', { database: 'src', format: 'native', output_path: 'n.sqlite' });
    expect((made.tables as Json[]).find((x) => x.name === 't')).toMatchObject({ rows: ROWS, sha256: null });
    const restored = await mustCall(h.client, 'restore_backup', { database: 'fresh', backup_path: 'n.sqlite' });
    expect((restored.tables as Json[]).find((x) => x.name === 't')).toMatchObject({ rows: ROWS, created: true });
    // Only the file itself carries views: the table-by-table path would have left it out.
    expect(await count('fresh', 'tv')).toBe(ROWS / 2);
    await mustCall(h.client, 'execute_query', { connection: 'fresh', query: "INSERT INTO t (v) VALUES ('next')" });
    const next = await mustCall(h.client, 'execute_query', { connection: 'fresh', query: "SELECT id FROM t WHERE v = 'next'" });
    expect(Number((next.rows as Json[])[0].id)).toBe(ROWS + 1);
    expect((await mustCall(h.client, 'list_backups', { verify: true })).backups).toEqual([expect.objectContaining({ name: 'n.sqlite', status: 'ok' })]);
    expect((await fs.readdir(dir)).sort()).toEqual(['n.sqlite', 'n.sqlite.manifest.json']);
  });

  it('a damaged backup over an empty database: BACKUP_CORRUPT, and the target is still an empty, usable database', async () => {
    const bytes = await fs.readFile(join(dir, 'n.sqlite'));
    bytes[Math.floor(bytes.length * 0.7)] ^= 0x20;
    await fs.writeFile(join(dir, 'bad.sqlite'), bytes);
    const m = JSON.parse(await fs.readFile(join(dir, 'n.sqlite.manifest.json'), 'utf8'));
    await fs.writeFile(join(dir, 'bad.sqlite.manifest.json'), JSON.stringify({ ...m, file: 'bad.sqlite' }));
    const r = await callTool(h.client, 'restore_backup', { database: 'fresh2', backup_path: 'bad.sqlite' });
    expect(r.ok ? 'ok' : r.error.code).toBe('BACKUP_CORRUPT');
    expect(await count('fresh2', 'sqlite_schema')).toBe(0);
    const size = (await fs.stat(join(dbDir, 'fresh2.db'))).size;
    expect(size).toBeLessThan(64 * 1024);
    await mustCall(h.client, 'execute_query', { connection: 'fresh2', query: 'CREATE TABLE ok (x INTEGER)' });
    expect(await count('fresh2', 'ok')).toBe(0);
  });

  it('another connection has the target open: the tables are copied instead, and that connection sees them', async () => {
    expect(await count('busy2', 'sqlite_schema')).toBe(0);
    const restored = await mustCall(h.client, 'restore_backup', { database: 'busy', backup_path: 'n.sqlite' });
    expect(restored.rows).toBe(ROWS);
    expect(await count('busy2')).toBe(ROWS);
    const view = await callTool(h.client, 'execute_query', { connection: 'busy', query: 'SELECT count(*) AS n FROM tv' });
    expect(view.ok ? 'ok' : view.error.code).toBe('UNDEFINED_OBJECT');
  });

  it('a writer inserting all along does not leak into the backup: the restore holds exactly the counted rows', async () => {
    let writing = true;
    let inserted = 0;
    const writer = (async () => {
      while (writing) {
        await mustCall(h.client, 'execute_query', { connection: 'writer', query: "INSERT INTO t (v) VALUES ('live')" });
        inserted++;
      }
    })();
    while (inserted < 20) await new Promise((r) => setTimeout(r, 5));
    const made = await mustCall(h.client, 'create_backup', { database: 'src', format: 'native', output_path: 'live.sqlite' });
    const during = inserted;
    await new Promise((r) => setTimeout(r, 50));
    writing = false;
    await writer;
    const rows = (made.tables as Json[]).find((x) => x.name === 't')!.rows as number;
    expect(rows).toBeGreaterThan(ROWS);
    expect(rows).toBeLessThanOrEqual(ROWS + during + 1);
    expect(await count('src')).toBeGreaterThan(rows);
    await mustCall(h.client, 'restore_backup', { database: 'live', backup_path: 'live.sqlite' });
    expect(await count('live')).toBe(rows);
  });
});
