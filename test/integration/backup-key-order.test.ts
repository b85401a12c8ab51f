/**
 * A portable PostgreSQL restore adds foreign keys only after every table has its keys,
 * whatever order the tables come in: Chinook's album -> artist, backed up as
 * ["artist", "album"] and as ["album", "artist"] (album sorts first), and a cycle of two
 * tables that reference each other, restored into an empty database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { haveDatasets, loadChinook } from '../support/datasets.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;
const pg = BACKENDS.find((b) => b.name === 'postgres');

describe.runIf(pg && haveDatasets)('portable PostgreSQL restore: key order', () => {
  let src: { url: string; drop(): Promise<void> };
  const targets: Array<{ url: string; drop(): Promise<void> }> = [];
  let h: Harness;

  beforeAll(async () => {
    src = await freshDatabase(pg!, 'keyorder');
    loadChinook('postgres', new URL(src.url).pathname.slice(1));
    for (let i = 0; i < 3; i++) targets.push(await freshDatabase(pg!, `keyorder_t${i}`));
    h = await startInProcess({ src: { url: src.url }, t0: { url: targets[0].url }, t1: { url: targets[1].url }, t2: { url: targets[2].url } }, { backup_dir: tempDir('cmx-keyorder-') });
    const cycle = [
      'CREATE TABLE zz_a (id int PRIMARY KEY, b_id int)',
      'CREATE TABLE aa_b (id int PRIMARY KEY, a_id int REFERENCES zz_a (id))',
      'ALTER TABLE zz_a ADD CONSTRAINT zz_a_b FOREIGN KEY (b_id) REFERENCES aa_b (id) DEFERRABLE INITIALLY DEFERRED',
      'BEGIN', "INSERT INTO zz_a VALUES (1, 1)", "INSERT INTO aa_b VALUES (1, 1)", 'COMMIT',
    ];
    const r = await callTool(h.client, 'execute_transaction', { connection: 'src', queries: cycle.filter((q) => q !== 'BEGIN' && q !== 'COMMIT').map((query) => ({ query })) });
    if (!r.ok) throw new Error(r.error.message);
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    for (const d of [src, ...targets]) await d?.drop();
  });

  const foreignKeys = async (connection: string): Promise<string> => {
    const r = await callTool(h.client, 'execute_query', { connection, query: "SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE contype = 'f' ORDER BY 1" });
    if (!r.ok) throw new Error(r.error.message);
    return JSON.stringify(r.data.rows);
  };

  it.each([
    [['artist', 'album'], 't0'],
    [['album', 'artist'], 't1'],
    [['zz_a', 'aa_b'], 't2'],
  ])('restores %j with its foreign keys', async (tables, target) => {
    const b = await callTool(h.client, 'create_backup', { database: 'src', tables });
    if (!b.ok) throw new Error(`${b.error.code} ${b.error.message}`);
    const r = await callTool(h.client, 'restore_backup', { database: target, backup_path: (b.data as Json).backup });
    expect(r.ok ? 'ok' : `${r.error.code} ${r.error.message}`).toBe('ok');
    const fks = await foreignKeys(target);
    if (tables.includes('album')) expect(fks).toContain('album FOREIGN KEY (artist_id) REFERENCES artist(artist_id)');
    else {
      expect(fks).toContain('aa_b FOREIGN KEY (a_id) REFERENCES zz_a(id)');
      expect(fks).toContain('zz_a FOREIGN KEY (b_id) REFERENCES aa_b(id)');
    }
  }, 60_000);
});
