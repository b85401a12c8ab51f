/**
 * What a SQLite index's column list does not say (a descending part, a collation of its
 * own, also in a UNIQUE table constraint) and a deferred foreign-key check: get_schema
 * shows them (`native`, `unportable`), a restore into another backend lists each in
 * `lossy` (they were dropped unsaid), and a restore into SQLite gives them back exactly.
 * A check that is not deferred (NOT DEFERRABLE, DEFERRABLE INITIALLY IMMEDIATE) is the
 * default one and is not listed.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, mustCall, rowsOf, startInProcess, type Harness } from '../support/mcp.js';

const SCHEMA = `
CREATE TABLE p (id INTEGER PRIMARY KEY, a INT, b TEXT, code TEXT, UNIQUE (code COLLATE NOCASE));
CREATE INDEX p_a_desc ON p (a DESC);
CREATE INDEX p_mixed ON p (a, b DESC);
CREATE INDEX p_b_nocase ON p (b COLLATE NOCASE);
CREATE INDEX p_plain ON p (a, b);
CREATE INDEX p_binary ON p (b COLLATE BINARY ASC);
CREATE TABLE q (id INTEGER PRIMARY KEY, c TEXT COLLATE NOCASE UNIQUE, d TEXT COLLATE "NoCase");
CREATE INDEX q_d ON q (d);
CREATE INDEX q_d_binary ON q (d COLLATE BINARY);
CREATE TABLE deferred (id INTEGER PRIMARY KEY, pid INT REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE immediate (id INTEGER PRIMARY KEY, pid INT REFERENCES p (id) NOT DEFERRABLE, qid INT REFERENCES p (id) DEFERRABLE INITIALLY IMMEDIATE);
INSERT INTO p VALUES (1, 1, 'x', 'A1'), (2, 2, 'y', 'b2');
INSERT INTO deferred VALUES (1, 1);
INSERT INTO immediate VALUES (1, 1, 2);`;

type Json = Record<string, any>;

describe('SQLite index order and collation, deferred foreign keys', () => {
  const dir = tempDir('cmx-sqlord-');
  const file = (n: string): string => join(dir, `${n}.db`);
  let h: Harness;
  let pg: { url: string; drop(): Promise<void> } | undefined;
  const pgBackend = BACKENDS.find((b) => b.name === 'postgres');

  beforeAll(async () => {
    const d = new Database(file('src'));
    d.exec(SCHEMA);
    d.close();
    pg = pgBackend ? await freshDatabase(pgBackend, 'sqlord') : undefined;
    h = await startInProcess({ src: { url: `sqlite://${file('src')}` }, copy: { url: `sqlite://${file('copy')}` }, ...(pg ? { pg: { url: pg.url } } : {}) }, { backup_dir: tempDir('cmx-sqlord-bk-') });
    await mustCall(h.client, 'create_backup', { database: 'src', output_path: 'o.cmx.gz' });
  });

  afterAll(async () => {
    await h?.close();
    await pg?.drop();
  });

  it('get_schema shows what the column lists do not say', async () => {
    const tables = (await mustCall(h.client, 'get_schema', { connection: 'src' })).tables as Json[];
    const p = tables.find((t) => t.table === 'p')!;
    const native = Object.fromEntries((p.indexes as Json[]).map((ix) => [ix.name, ix.native ?? null]));
    expect(native).toMatchObject({
      p_a_desc: 'CREATE INDEX p_a_desc ON p (a DESC)', p_mixed: 'CREATE INDEX p_mixed ON p (a, b DESC)',
      p_b_nocase: 'CREATE INDEX p_b_nocase ON p (b COLLATE NOCASE)', p_plain: null, p_binary: null,
    });
    expect(Object.values(native)).toContain('UNIQUE ("code" COLLATE NOCASE)');
    expect(p.columns.find((c: Json) => c.name === 'code').unique).toBe(false);
    // On a column declared NOCASE, an index is NOCASE without saying so: only one that says BINARY is its own.
    const q = tables.find((t) => t.table === 'q')!;
    expect(Object.fromEntries((q.indexes as Json[]).map((ix) => [ix.name, ix.native ?? null]))).toEqual({ q_d: null, q_d_binary: 'CREATE INDEX q_d_binary ON q (d COLLATE BINARY)' });
    expect(q.columns.find((c: Json) => c.name === 'c').unique).toBe(true);
    expect(tables.find((t) => t.table === 'deferred')!.unportable).toEqual(['DEFERRABLE INITIALLY DEFERRED']);
    expect(tables.find((t) => t.table === 'immediate')!.unportable).toBeUndefined();
  });

  it('a restore into SQLite gives them back exactly', async () => {
    const r = await mustCall(h.client, 'restore_backup', { database: 'copy', backup_path: 'o.cmx.gz' });
    expect(r.lossy).toEqual([]);
    const schema = (c: string) => new Database(file(c), { readonly: true }).prepare('SELECT type, name, sql FROM sqlite_schema ORDER BY name').all();
    expect(schema('copy')).toEqual(schema('src'));
  });

  it.runIf(pgBackend)('a restore into PostgreSQL lists each, and needs allow_lossy', async () => {
    const refused = await callTool(h.client, 'restore_backup', { database: 'pg', backup_path: 'o.cmx.gz' });
    expect(refused.ok ? 'ok' : refused.error.code).toBe('UNSUPPORTED');
    const r = await mustCall(h.client, 'restore_backup', { database: 'pg', backup_path: 'o.cmx.gz', allow_lossy: true });
    const lossy = (r.lossy as Json[]).map((l) => `${l.table}: ${l.what}`);
    for (const ix of ['p_a_desc', 'p_mixed', 'p_b_nocase']) expect(lossy.some((l) => l.startsWith(`p: index ${ix} `))).toBe(true);
    expect(lossy.some((l) => /^p: index \S+ .*not restored/.test(l) && !/p_a_desc|p_mixed|p_b_nocase|p_plain|p_binary/.test(l))).toBe(true);
    expect(lossy.some((l) => l.startsWith('deferred: DEFERRABLE INITIALLY DEFERRED'))).toBe(true);
    expect(lossy.filter((l) => /p_plain|p_binary|^immediate/.test(l))).toEqual([]);
    expect(rowsOf(await mustCall(h.client, 'execute_query', { connection: 'pg', query: 'SELECT count(*)::int AS n FROM immediate' }))[0]).toEqual({ n: 1 });
  });
});
