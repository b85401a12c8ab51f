/**
 * JSON documents across backends. MariaDB (LONGTEXT with a json_valid check) and SQLite
 * keep each document's text as written; PostgreSQL keeps its own parse (jsonb): spacing
 * and key order its own, and of a key given twice only the last. A copy from the first
 * kind into PostgreSQL lists each json column in `lossy` (a duplicate key is a value
 * lost); between two that keep the text, the text comes back byte for byte.
 */
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, mustCall, rowsOf, startInProcess, type Harness } from '../support/mcp.js';

const have = (n: string): boolean => BACKENDS.some((b) => b.name === n);
const DOC = '{"b": 1,   "a": 2, "a": 3}';
type Json = Record<string, any>;

describe.runIf(have('postgres') && have('mysql') && have('sqlite'))('json documents across backends', () => {
  const dir = tempDir('cmx-jsontext-');
  const dbs: Record<string, { url: string; drop(): Promise<void> }> = {};
  let h: Harness;
  const jsonLossy = (r: Json): string[] => (r.lossy as Json[]).filter((l) => l.column === 'doc').map((l) => l.what);
  const docOf = async (c: string, query: string): Promise<unknown> => Object.values(rowsOf(await mustCall(h.client, 'execute_query', { connection: c, query }))[0]!)[0];

  beforeAll(async () => {
    dbs.maria = await freshDatabase(BACKENDS.find((b) => b.name === 'mysql')!, 'jsont_m');
    dbs.maria2 = await freshDatabase(BACKENDS.find((b) => b.name === 'mysql')!, 'jsont_m2');
    dbs.pg = await freshDatabase(BACKENDS.find((b) => b.name === 'postgres')!, 'jsont_p');
    dbs.pg2 = await freshDatabase(BACKENDS.find((b) => b.name === 'postgres')!, 'jsont_p2');
    const c = await mysql.createConnection(dbs.maria.url);
    await c.query('CREATE TABLE notes (id INT PRIMARY KEY, doc JSON)');
    await c.query('INSERT INTO notes VALUES (1, ?)', [DOC]);
    await c.end();
    const lite = new Database(join(dir, 'src.db'));
    lite.exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, doc JSON CHECK (json_valid(doc))); INSERT INTO notes VALUES (1, '${DOC}')`);
    lite.close();
    h = await startInProcess({
      maria: { url: dbs.maria.url }, maria2: { url: dbs.maria2.url }, pg: { url: dbs.pg.url }, pg2: { url: dbs.pg2.url }, lite: { url: `sqlite://${join(dir, 'src.db')}` },
    }, { backup_dir: tempDir('cmx-jsontext-bk-') });
    await mustCall(h.client, 'create_backup', { database: 'maria', output_path: 'm.cmx.gz' });
    await mustCall(h.client, 'create_backup', { database: 'lite', output_path: 'l.cmx.gz' });
  });

  afterAll(async () => {
    await h?.close();
    for (const d of Object.values(dbs)) await d.drop();
  });

  it('MariaDB into PostgreSQL: listed, refused without allow_lossy, the value as jsonb reads it', async () => {
    const refused = await callTool(h.client, 'restore_backup', { database: 'pg', backup_path: 'm.cmx.gz' });
    expect(refused.ok ? 'ok' : refused.error.code).toBe('UNSUPPORTED');
    const r = await mustCall(h.client, 'restore_backup', { database: 'pg', backup_path: 'm.cmx.gz', allow_lossy: true });
    expect(jsonLossy(r)).toEqual([expect.stringMatching(/^json documents are kept as PostgreSQL parses them/)]);
    expect(await docOf('pg', 'SELECT doc::text FROM notes')).toBe('{"a": 3, "b": 1}');
  });

  it('SQLite into PostgreSQL: listed too', async () => {
    const r = await mustCall(h.client, 'restore_backup', { database: 'pg2', backup_path: 'l.cmx.gz', allow_lossy: true });
    expect(jsonLossy(r)).toHaveLength(1);
  });

  it('SQLite into MariaDB: not listed, the text byte for byte', async () => {
    const r = await mustCall(h.client, 'restore_backup', { database: 'maria2', backup_path: 'l.cmx.gz' });
    expect(jsonLossy(r)).toEqual([]);
    expect(await docOf('maria2', 'SELECT CONCAT(doc) AS d FROM notes')).toBe(DOC);
  });
});
