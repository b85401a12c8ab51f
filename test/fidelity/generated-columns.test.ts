/**
 * Restores into tables that already exist and compute some of their columns: a PostgreSQL
 * `append` sent the backup's values of a stored generated column to COPY, which refuses them
 * (reported as SYNTAX_ERROR); a SQLite native `replace` (or a restore into a file that is
 * not new) copied with `INSERT … SELECT *`, which also gives generated columns ("13 values
 * for 11 columns").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { BACKENDS } from '../support/backends.js';
import { LITE, PG, callTool, outcome, pair, psql, type Json, type RoundTrip } from '../review15/harness.js';

const have = (n: string): boolean => BACKENDS.some((b) => b.name === n);

describe.runIf(have('postgres'))('PostgreSQL append into a table with a stored generated column', () => {
  let rt: RoundTrip;
  const CONTENT = "SELECT string_agg(id || ':' || coalesce(a::text, '-') || ':' || coalesce(b::text, '-') || ':' || s, ' ' ORDER BY id) FROM g";
  beforeAll(async () => {
    rt = await pair(PG, PG, 'gap');
    psql(rt.src.url, `CREATE TABLE g (id int PRIMARY KEY, a int, b int GENERATED ALWAYS AS (a * 2) STORED, s text);
      INSERT INTO g (id, a, s) VALUES (1, 10, 'x'), (2, NULL, 'y'), (3, -4, '');`);
    rt.backup = await callTool(rt.h.client, 'create_backup', { connection: 'src' });
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('restores, then appends into the emptied table, values computed by the target', async () => {
    expect(outcome(rt.backup)).toBe('ok');
    const path = (rt.backup as Json).data.backup;
    expect(outcome(await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: path }))).toBe('ok');
    psql(rt.dst.url, 'TRUNCATE g');
    expect(outcome(await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: path, mode: 'append', allow_lossy: true }))).toBe('ok');
    expect(psql(rt.dst.url, CONTENT)).toBe(psql(rt.src.url, CONTENT));
    expect(outcome(await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: path, mode: 'replace', allow_lossy: true }))).toBe('ok');
    expect(psql(rt.dst.url, CONTENT)).toBe(psql(rt.src.url, CONTENT));
  });
});

describe.runIf(have('sqlite'))('SQLite native restore over a database that holds tables with generated columns', () => {
  let rt: RoundTrip;
  const file = (url: string): string => url.replace(/^sqlite:\/\//, '');
  const content = (url: string): unknown => {
    const db = new Database(file(url), { readonly: true });
    try { return db.prepare("SELECT group_concat(id || ':' || name || ':' || full || ':' || len, ' ') FROM (SELECT * FROM people ORDER BY id)").pluck().get(); } finally { db.close(); }
  };
  beforeAll(async () => {
    rt = await pair(LITE, LITE, 'gsn');
    for (const url of [rt.src.url, rt.dst.url]) {
      const db = new Database(file(url));
      db.exec(`CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, full TEXT GENERATED ALWAYS AS ('Dr ' || name) VIRTUAL,
        len INTEGER GENERATED ALWAYS AS (length(name)) STORED, note TEXT);
        -- A trigger turns off SQLite's row-for-row transfer of INSERT … SELECT *, which hid the bug.
        CREATE TABLE log (n INTEGER); CREATE TRIGGER people_ai AFTER INSERT ON people BEGIN INSERT INTO log VALUES (new.id); END;`);
      db.exec(url === rt.src.url ? "INSERT INTO people (id, name, note) VALUES (1, 'Ada', 'n'), (2, 'Bo', NULL)" : "INSERT INTO people (id, name) VALUES (9, 'old')");
      db.close();
    }
    rt.backup = await callTool(rt.h.client, 'create_backup', { connection: 'src', format: 'native' });
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('append adds the source\'s rows beside the old one, then replace gives back the source\'s rows, generated columns computed', async () => {
    expect(outcome(rt.backup)).toBe('ok');
    const path = (rt.backup as Json).data.backup;
    expect(outcome(await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: path, mode: 'append' }))).toBe('ok');
    expect(content(rt.dst.url)).toBe(`${content(rt.src.url)} 9:old:Dr old:3`);
    expect(outcome(await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: path, mode: 'replace' }))).toBe('ok');
    expect(content(rt.dst.url)).toBe(content(rt.src.url));
  });
});
