/**
 * SQLite full-text tables as the SQLite docs make them, through create_backup -> restore_backup
 * into SQLite (written by the sixth issue 15 review). An external-content table kept in sync by
 * triggers comes back searchable; a contentless one (content='') keeps no text, so its rows come
 * back without it and its search finds nothing: said in lossy.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempDir } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';

const dir = tempDir('cmx-rv-fts-');
const src = join(dir, 'src.db');
let h: Harness; let backup = '';
beforeAll(async () => {
  const db = new Database(src);
  db.exec(`
    CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT, body TEXT);
    CREATE VIRTUAL TABLE posts_fts USING fts5(title, body, content='posts', content_rowid='id');
    CREATE TRIGGER posts_ai AFTER INSERT ON posts BEGIN INSERT INTO posts_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END;
    CREATE TRIGGER posts_ad AFTER DELETE ON posts BEGIN INSERT INTO posts_fts(posts_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); END;
    CREATE TRIGGER posts_au AFTER UPDATE ON posts BEGIN INSERT INTO posts_fts(posts_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); INSERT INTO posts_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END;
    INSERT INTO posts(id, title, body) VALUES (3, 'alpha', 'gamma delta'), (7, 'beta', 'epsilon'), (9, 'café', 'naïve résumé');
    DELETE FROM posts WHERE id = 7;
    UPDATE posts SET body = 'zeta' WHERE id = 3;
    CREATE VIRTUAL TABLE notes USING fts5(body, content='');
    INSERT INTO notes(rowid, body) VALUES (1, 'contentless alpha'), (2, 'contentless beta');
  `);
  db.close();
  h = await startInProcess({ src: { url: `sqlite://${src}` }, a: { url: `sqlite://${join(dir, 'a.db')}` }, b: { url: `sqlite://${join(dir, 'b.db')}` } }, { backup_dir: dir });
  backup = String((await mustCall(h.client, 'create_backup', { connection: 'src' })).backup);
}, 60_000);
afterAll(async () => { await h?.close(); });

const q = async (c: string, query: string) => { const r = await callTool(h.client, 'execute_query', { connection: c, query }); return r.ok ? r.data.rows : r.error.message; };

it('source answers (the reference)', async () => {
  expect(await q('src', "SELECT rowid, title FROM posts_fts WHERE posts_fts MATCH 'zeta OR résumé' ORDER BY rowid")).toEqual([[3, 'alpha'], [9, 'café']]);
  expect(await q('src', "SELECT rowid FROM notes WHERE notes MATCH 'beta'")).toEqual([[2]]);
});

const CONTENTLESS = [{ table: 'notes', what: "a contentless full-text table (content='') keeps no text to read back: its rows are restored without it, and its search finds none of them" }];

it('mode create: external-content search; the contentless table listed, and restored without its text', async () => {
  const refused = await callTool(h.client, 'restore_backup', { connection: 'a', backup_path: backup });
  expect(refused.ok ? 'ok' : refused.error.details.lossy).toEqual(CONTENTLESS);
  const r = await callTool(h.client, 'restore_backup', { connection: 'a', backup_path: backup, allow_lossy: true });
  expect(r.ok ? r.data.lossy : r.error.message).toEqual(CONTENTLESS);
  expect(await q('a', "SELECT rowid, title FROM posts_fts WHERE posts_fts MATCH 'zeta OR résumé' ORDER BY rowid")).toEqual([[3, 'alpha'], [9, 'café']]);
  expect(await q('a', "SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'gamma'")).toEqual([[0]]);
  expect(await q('a', "SELECT rowid FROM notes WHERE notes MATCH 'beta'")).toEqual([]);
  expect(await q('a', 'SELECT rowid FROM notes ORDER BY rowid')).toEqual([[1], [2]]);
});

it('mode replace over itself, then append into a target holding the tables empty', async () => {
  const r = await callTool(h.client, 'restore_backup', { connection: 'a', backup_path: backup, mode: 'replace', allow_lossy: true });
  expect(r.ok ? 'ok' : r.error.message).toBe('ok');
  expect(await q('a', "SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'zeta'")).toEqual([[3]]);
  const db = new Database(join(dir, 'b.db'));
  db.exec("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT, body TEXT); CREATE VIRTUAL TABLE posts_fts USING fts5(title, body, content='posts', content_rowid='id'); CREATE VIRTUAL TABLE notes USING fts5(body, content=''); INSERT INTO posts VALUES (100, 'own', 'kept words'); INSERT INTO posts_fts(rowid, title, body) VALUES (100, 'own', 'kept words');");
  db.close();
  const a = await callTool(h.client, 'restore_backup', { connection: 'b', backup_path: backup, mode: 'append' });
  expect(a.ok ? 'ok' : a.error.message).toBe('ok');
  expect(await q('b', "SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'zeta OR kept' ORDER BY rowid")).toEqual([[3], [100]]);
  // The contentless table's rows come without their text (the target's table of that name was there: an append lists nothing of it).
  expect(await q('b', "SELECT rowid FROM notes WHERE notes MATCH 'beta'")).toEqual([]);
});
