/**
 * A SQLite full-text table (FTS5) is a virtual table over shadow tables SQLite makes and
 * fills itself (docs_data, docs_idx, docs_content, docs_docsize, docs_config). The catalog
 * reader listed the shadow tables as tables of their own, so a portable backup carried them
 * and its restore failed ("object name reserved for internal use: docs_config", after its
 * DDL, written `CREATE TABLE 'docs_config'…`, was refused as not the table's). The shadow
 * tables are now left to SQLite: the virtual table's rows are backed up and loaded, and
 * SQLite builds its index again. Into another backend the table is an ordinary one, listed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const pg = BACKENDS.find((b) => b.name === 'postgres');

describe('SQLite full-text tables', () => {
  const dir = tempDir('cmx-fts-');
  const src = join(dir, 'src.db');
  let h: Harness;
  let pgDb: { url: string; drop(): Promise<void> } | undefined;
  beforeAll(async () => {
    const db = new Database(src);
    db.exec("CREATE VIRTUAL TABLE docs USING fts5(title, body); INSERT INTO docs VALUES ('alpha', 'beta gamma'), ('x', 'y z'), ('café', 'naïve résumé');");
    db.close();
    if (pg) pgDb = await freshDatabase(pg, 'fts');
    h = await startInProcess({ src: { url: `sqlite://${src}` }, dst: { url: `sqlite://${join(dir, 'dst.db')}` }, ...(pgDb ? { pg: { url: pgDb.url } } : {}) }, { backup_dir: dir });
  });
  afterAll(async () => { await h?.close(); await pgDb?.drop(); });

  it('get_schema shows the full-text table, not its shadow tables', async () => {
    const s = await callTool(h.client, 'get_schema', { connection: 'src' });
    expect(s.ok ? (s.data.tables as Array<{ table: string }>).map((t) => t.table) : s.error.message).toEqual(['docs']);
  });

  it('a portable backup restores into SQLite with its rows and its search', async () => {
    const b = await callTool(h.client, 'create_backup', { connection: 'src', format: 'portable' });
    if (!b.ok) throw new Error(b.error.message);
    const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: b.data.backup });
    expect(r.ok ? r.data.lossy : r.error.message).toEqual([]);
    const q = await callTool(h.client, 'execute_query', { connection: 'dst', query: "SELECT title FROM docs WHERE docs MATCH 'gamma OR résumé' ORDER BY title" });
    expect(q.ok ? q.data.rows : q.error.message).toEqual([['alpha'], ['café']]);
    const schema = new Database(join(dir, 'dst.db'), { readonly: true });
    const sql = schema.prepare("SELECT sql FROM sqlite_schema WHERE name = 'docs'").pluck().get();
    schema.close();
    expect(sql).toBe('CREATE VIRTUAL TABLE docs USING fts5(title, body)');
  });

  it.runIf(pg)('into PostgreSQL it is an ordinary table, said in lossy', async () => {
    const b = await callTool(h.client, 'create_backup', { connection: 'src', format: 'portable' });
    if (!b.ok) throw new Error(b.error.message);
    const r = await callTool(h.client, 'restore_backup', { connection: 'pg', backup_path: b.data.backup, allow_lossy: true });
    expect(r.ok ? JSON.stringify(r.data.lossy) : r.error.message).toMatch(/fts5/i);
  });
});

describe('SQLite full-text tables over another table\'s content', () => {
  const dir = tempDir('cmx-fts-ext-');
  let h: Harness;
  beforeAll(async () => {
    const db = new Database(join(dir, 'src.db'));
    // The usual way to search a table: the index keeps no copy of the text, content= reads it from posts.
    db.exec(`CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT, body TEXT);
      CREATE VIRTUAL TABLE posts_fts USING fts5(title, body, content='posts', content_rowid='id');
      CREATE TABLE a_first (x);
      INSERT INTO posts VALUES (1, 'alpha', 'beta gamma'), (2, 'café', 'naïve résumé'), (7, 'x', 'gamma ray');
      INSERT INTO posts_fts(posts_fts) VALUES ('rebuild');`);
    db.close();
    h = await startInProcess({ src: { url: `sqlite://${join(dir, 'src.db')}` }, dst: { url: `sqlite://${join(dir, 'dst.db')}` } }, { backup_dir: dir });
  });
  afterAll(async () => { await h?.close(); });

  it('restore with their index whole, whatever order the tables load in (it failed INTERNAL: the count read the content table, loaded after it)', async () => {
    const b = await callTool(h.client, 'create_backup', { connection: 'src', format: 'portable' });
    if (!b.ok) throw new Error(b.error.message);
    const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: b.data.backup });
    expect(r.ok ? r.data.lossy : r.error.message).toEqual([]);
    const q = await callTool(h.client, 'execute_query', { connection: 'dst', query: "SELECT rowid, title FROM posts_fts WHERE posts_fts MATCH 'gamma' ORDER BY rowid" });
    expect(q.ok ? q.data.rows : q.error.message).toEqual([[1, 'alpha'], [7, 'x']]);
    const dst = new Database(join(dir, 'dst.db'));
    try {
      // FTS5's own check that the index agrees with the content table (it throws when not).
      dst.exec("INSERT INTO posts_fts(posts_fts) VALUES ('integrity-check')");
      expect(dst.prepare('SELECT count(*) FROM posts').pluck().get()).toBe(3);
    } finally {
      dst.close();
    }
  });
});
