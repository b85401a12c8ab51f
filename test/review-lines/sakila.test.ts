/**
 * Review: Sakila (MariaDB) through the new path. Every table whose lines our process makes
 * must give exactly the server-built lines (backup-sql.ts select), and the backup must
 * restore into a fresh database and back up again to the same per-table checksums.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { portable } from '../../src/core/backends/mysql/backup-sql.js';
import { finishMarked } from '../../src/core/backup/sql.js';
import { freshDatabase, tempDir } from '../support/backends.js';
import { readBackupLines } from '../support/backup-file.js';
import { haveDatasets, loadSakila } from '../support/datasets.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';
import { my, QUOTING } from './harness.js';

type Json = Record<string, any>;
const dbName = (url: string): string => new URL(url).pathname.slice(1);

describe.runIf(my && haveDatasets)('review: Sakila through the process-made lines', () => {
  let src: { url: string; drop(): Promise<void> };
  let dst: { url: string; drop(): Promise<void> };
  let h: Harness;

  beforeAll(async () => {
    src = await freshDatabase(my!, 'rvsak');
    dst = await freshDatabase(my!, 'rvsak_t');
    loadSakila(dbName(src.url));
    h = await startInProcess({ src: { url: src.url }, dst: { url: dst.url } }, { backup_dir: tempDir('cmx-rvsak-') });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    await src?.drop();
    await dst?.drop();
  });

  it('lines equal the server lines; restore and backup again give the same checksums', async () => {
    const b = await callTool(h.client, 'create_backup', { database: 'src', output_path: 'sak.cmx.gz' });
    if (!b.ok) throw new Error(`${b.error.code} ${b.error.message}`);
    const { header, rows } = readBackupLines((b.data as Json).path);
    const conn = await mysql.createConnection(src.url);
    const made: string[] = [];
    try {
      await conn.query("SET NAMES utf8mb4, time_zone = '+00:00'");
      for (const t of header.tables as Json[]) {
        if (!portable.rowLines!(t.definition, QUOTING)) continue;
        made.push(t.name);
        const [res] = await conn.query({ sql: portable.select(t.definition, QUOTING), rowsAsArray: true }) as unknown as [Array<[Buffer | string]>];
        const server = res.map(([line]) => finishMarked(Buffer.isBuffer(line) ? line.toString('utf8') : String(line)));
        expect.soft(rows[t.name], t.name).toEqual(server);
      }
    } finally {
      await conn.end();
    }
    expect(made.length).toBeGreaterThan(10);
    const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: 'sak.cmx.gz' });
    if (!r.ok) throw new Error(`${r.error.code} ${r.error.message}`);
    const again = await callTool(h.client, 'create_backup', { database: 'dst', output_path: 'sak2.cmx.gz' });
    if (!again.ok) throw new Error(`${again.error.code} ${again.error.message}`);
    const sums = (x: Json) => Object.fromEntries((x.tables as Json[]).map((t) => [t.name, [t.rows, t.sha256]]));
    expect(sums(again.data as Json)).toEqual(sums(b.data as Json));
  }, 180_000);
});
