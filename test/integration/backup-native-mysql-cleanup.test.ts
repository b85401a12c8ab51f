/**
 * A native MySQL/MariaDB restore runs the dump through the client, which commits
 * statement by statement: when it fails part way, what it created (tables, views,
 * sequences, routines) is dropped again and what was there before stays.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, rowsOf, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;
const my = BACKENDS.find((b) => b.name === 'mysql');

describe.runIf(my)('native MySQL restore that fails part way', () => {
  let src: { url: string; drop(): Promise<void> };
  let dst: { url: string; drop(): Promise<void> };
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    src = await freshDatabase(my!, 'mynclean_s');
    dst = await freshDatabase(my!, 'mynclean_d');
    dir = tempDir('cmx-mynclean-');
    h = await startInProcess({ src: { url: src.url }, dst: { url: dst.url } }, { backup_dir: dir });
    for (const query of ['CREATE TABLE t (id int PRIMARY KEY)', 'INSERT INTO t VALUES (1)', 'CREATE SEQUENCE s', 'CREATE VIEW v AS SELECT id FROM t']) {
      const r = await callTool(h.client, 'execute_query', { connection: 'src', query });
      if (!r.ok) throw new Error(r.error.message);
    }
    const r = await callTool(h.client, 'execute_query', { connection: 'dst', query: 'CREATE TABLE keep (id int)' });
    if (!r.ok) throw new Error(r.error.message);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await src?.drop();
    await dst?.drop();
  });

  it('drops the objects it created and keeps those that were there', async () => {
    const b = await callTool(h.client, 'create_backup', { connection: 'src', format: 'native', output_path: 'ok.sql.gz' });
    expect(b.ok ? 'ok' : b.error.message).toBe('ok');
    // The same dump with a failing statement at its end, under a manifest that matches it.
    const dump = gunzipSync(readFileSync(join(dir, 'ok.sql.gz'))).toString('utf8');
    const data = gzipSync(`${dump}\nSELECT * FROM no_such_table;\n`);
    writeFileSync(join(dir, 'bad.sql.gz'), data);
    const manifest = JSON.parse(readFileSync(join(dir, 'ok.sql.gz.manifest.json'), 'utf8'));
    writeFileSync(join(dir, 'bad.sql.gz.manifest.json'), JSON.stringify({ ...manifest, file: 'bad.sql.gz', size: data.length, sha256: createHash('sha256').update(data).digest('hex') }));
    const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: 'bad.sql.gz' });
    expect(r.ok).toBe(false);
    const left = await callTool(h.client, 'execute_query', { connection: 'dst', query: 'SELECT TABLE_NAME AS n, TABLE_TYPE AS k FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME' });
    expect(left.ok ? rowsOf(left.data).map((x: Json) => `${x.n} ${x.k}`) : left.error.message).toEqual(["keep BASE TABLE"]);
  });
});
