/**
 * restore_backup mode append of a whole PostgreSQL database (cec9a6e, objectsPresent): an
 * object of the backup's DDL "the target has" is dropped from lossy. A function is matched by
 * name whatever its arguments, a type by name whatever its labels.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callTool, type Harness } from '../support/mcp.js';
import { psql } from '../review15/harness.js';
import { mustCall, reviewDatabase, server } from './harness.js';

let h: Harness; let backup = '';
const dbs: Record<string, { url: string; drop(): Promise<void> }> = {};
const SCHEMA = `
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE DOMAIN score AS int CHECK (VALUE BETWEEN 0 AND 10);
  CREATE FUNCTION bump(i int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT i + 1';
  CREATE TABLE people (id int PRIMARY KEY, m mood, s score);
  CREATE VIEW happy AS SELECT id FROM people WHERE m = 'happy';`;
beforeAll(async () => {
  for (const k of ['src', 'copy', 'other']) dbs[k] = await reviewDatabase('postgres', `pa${k}`);
  psql(dbs.src.url, `${SCHEMA} INSERT INTO people VALUES (1, 'happy', 3), (2, 'sad', 9);`);
  psql(dbs.copy.url, SCHEMA);
  // Same names, other things: labels, a function of another signature, no view.
  psql(dbs.other.url, "CREATE TYPE mood AS ENUM ('x', 'y'); CREATE DOMAIN score AS int; CREATE FUNCTION bump(t text) RETURNS text LANGUAGE sql AS 'SELECT t';");
  ({ h } = await server({ src: dbs.src.url, copy: dbs.copy.url, other: dbs.other.url }));
  backup = String((await mustCall(h.client, 'create_backup', { connection: 'src' })).backup);
}, 60_000);
afterAll(async () => { await h?.close(); for (const d of Object.values(dbs)) await d.drop(); });

it('append into a copy of its own schema: ok, nothing lost', async () => {
  const r = await callTool(h.client, 'restore_backup', { connection: 'copy', backup_path: backup, mode: 'append' });
  expect(r.ok ? r.data.lossy : r.error.message).toEqual([]);
  expect(psql(dbs.copy.url, 'SELECT count(*) FROM happy').trim()).toBe('1');
});

it('append into a database with other objects of the same names: bump(integer) is not there, so it is listed', async () => {
  const r = await callTool(h.client, 'restore_backup', { connection: 'other', backup_path: backup, mode: 'append' });
  const listed = r.ok ? (r.data.lossy as Array<{ what: string }>).map((l) => l.what).join(' | ') : ((r.error.details?.lossy ?? []) as Array<{ what: string }>).map((l) => l.what).join(' | ');
  const left = psql(dbs.other.url, "SELECT count(*) FROM pg_class WHERE relname = 'people'").trim();
  console.error('RV6', r.ok ? 'ok' : `${r.error.code} ${r.error.message}`, listed, 'people tables left:', left);
  expect(listed).toMatch(/function .*bump/);
  expect(left).toBe('0');
});

it('allow_lossy into the same database: the type of other labels fails the load, nothing kept (or it is listed)', async () => {
  const r = await callTool(h.client, 'restore_backup', { connection: 'other', backup_path: backup, mode: 'append', allow_lossy: true });
  const left = psql(dbs.other.url, "SELECT count(*) FROM pg_class WHERE relname = 'people'").trim();
  console.error('RV6b', r.ok ? `ok ${JSON.stringify(r.data.lossy)}` : `${r.error.code} ${r.error.message}`, 'people tables left:', left);
  expect(r.ok ? 'ok' : r.error.code).not.toBe('INTERNAL');
  expect(left).toBe(r.ok ? '1' : '0');
});
