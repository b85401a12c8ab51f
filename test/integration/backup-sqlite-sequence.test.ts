/**
 * A portable restore into SQLite writes an AUTOINCREMENT table's counter
 * (`sqlite_sequence.seq`) as an integer, its exact value, past 2^53 too (found by an
 * independent review: it was stored as text, '200', which AUTOINCREMENT still read). A
 * key inserted without a value after the restore is the next one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { mustCall, rowsOf, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;
const sqlite = BACKENDS.find((b) => b.name === 'sqlite');

describe.runIf(sqlite)('portable SQLite restore: sqlite_sequence', () => {
  let h: Harness;
  const dbs: Array<{ url: string; drop(): Promise<void> }> = [];
  const rows = async (connection: string, query: string): Promise<Json[]> => rowsOf(await mustCall(h.client, 'execute_query', { connection, query }));
  const run = (connection: string, query: string) => mustCall(h.client, 'execute_query', { connection, query });
  const sequences = (connection: string) => rows(connection, 'SELECT name, typeof(seq) AS t, CAST(seq AS TEXT) AS v FROM sqlite_sequence ORDER BY name');

  beforeAll(async () => {
    dbs.push(await freshDatabase(sqlite!, 'seq_src'), await freshDatabase(sqlite!, 'seq_dst'));
    h = await startInProcess({ src: { url: dbs[0].url }, dst: { url: dbs[1].url } }, { backup_dir: tempDir('cmx-seq-') });
    await run('src', 'CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name text)');
    await run('src', 'CREATE TABLE huge (id INTEGER PRIMARY KEY AUTOINCREMENT, name text)');
    // The counter keeps the largest key handed out: deleted rows' keys are not reused.
    await run('src', "INSERT INTO items (id, name) VALUES (199, 'a'), (200, 'b')");
    await run('src', 'DELETE FROM items WHERE id = 200');
    // 2^53 + 1: a JavaScript number cannot hold it.
    await run('src', "INSERT INTO huge (id, name) VALUES (9007199254740993, 'x')");
  });

  afterAll(async () => {
    await h?.close();
    for (const d of dbs) await d.drop();
  });

  it('writes the counter as an integer, exactly, and the next key follows it', async () => {
    const expected = [{ name: 'huge', t: 'integer', v: '9007199254740993' }, { name: 'items', t: 'integer', v: '200' }];
    expect(await sequences('src')).toEqual(expected);
    const made = await mustCall(h.client, 'create_backup', { connection: 'src', format: 'portable', tables: ['items', 'huge'] });
    const r = await mustCall(h.client, 'restore_backup', { connection: 'dst', backup_path: made.backup });
    expect(r.lossy).toEqual([]);
    expect(await sequences('dst')).toEqual(expected);
    await run('dst', "INSERT INTO items (name) VALUES ('c')");
    await run('dst', "INSERT INTO huge (name) VALUES ('y')");
    expect(await rows('dst', 'SELECT CAST(max(id) AS TEXT) AS id FROM items')).toEqual([{ id: '201' }]);
    expect(await rows('dst', 'SELECT CAST(max(id) AS TEXT) AS id FROM huge')).toEqual([{ id: '9007199254740994' }]);
  });
});
