/** An external-content FTS5 table whose content is a view (the FTS5 docs allow a view), through a portable backup into SQLite. */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempDir } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';

const dir = tempDir('cmx-rv-ftsv-');
let h: Harness; let backup = '';
beforeAll(async () => {
  const db = new Database(join(dir, 'src.db'));
  db.exec(`CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT, body TEXT, published INTEGER);
    CREATE VIEW live AS SELECT id, title, body FROM posts WHERE published = 1;
    CREATE VIRTUAL TABLE live_fts USING fts5(title, body, content='live', content_rowid='id');
    INSERT INTO posts VALUES (1, 'alpha', 'gamma', 1), (2, 'beta', 'gamma hidden', 0), (3, 'delta', 'gamma too', 1);
    INSERT INTO live_fts(live_fts) VALUES ('rebuild');`);
  db.close();
  h = await startInProcess({ src: { url: `sqlite://${join(dir, 'src.db')}` }, dst: { url: `sqlite://${join(dir, 'dst.db')}` } }, { backup_dir: dir });
  backup = String((await mustCall(h.client, 'create_backup', { connection: 'src' })).backup);
}, 60_000);
afterAll(async () => { await h?.close(); });

it('restores, and the search finds the published rows', async () => {
  const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: backup });
  expect(r.ok ? r.data.lossy : `${r.error.code} ${r.error.message}`).toEqual([]);
  const q = await callTool(h.client, 'execute_query', { connection: 'dst', query: "SELECT rowid FROM live_fts WHERE live_fts MATCH 'gamma' ORDER BY rowid" });
  expect(q.ok ? q.data.rows : q.error.message).toEqual([[1], [3]]);
});
