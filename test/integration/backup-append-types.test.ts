/**
 * restore_backup mode append loads into the tables the target has, as they are. When a
 * column there has another type than the backup's (numeric(12,2) for numeric(12,4), float4
 * for float8, timestamp for timestamptz), its values are the target's conversion of them:
 * the second review of issue 15 saw 1.2345 stored as 1.23 with `lossy: []`. Such columns
 * are listed, so the restore asks for allow_lossy; a table of the same types is not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { PG, callTool, pair, psql, type RoundTrip } from '../review15/harness.js';

describe.runIf(BACKENDS.some((b) => b.name === 'postgres'))('append into a table whose column types differ', () => {
  let rt: RoundTrip;
  let backup: string;
  beforeAll(async () => {
    rt = await pair(PG, PG, 'apt');
    psql(rt.src.url, "CREATE TABLE a1 (id int PRIMARY KEY, ts timestamptz, n numeric(12,4), f float8, t text); INSERT INTO a1 VALUES (1, '2024-01-01 10:00+02', 1.2345, 0.1234567890123, 'abcdefghijkl');");
    const made = await callTool(rt.h.client, 'create_backup', { connection: 'src', tables: ['a1'] });
    if (!made.ok) throw new Error(made.error.message);
    backup = String(made.data.backup);
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('lists each converted column and loads nothing without allow_lossy', async () => {
    psql(rt.dst.url, 'CREATE TABLE a1 (id int PRIMARY KEY, ts timestamp, n numeric(12,2), f float4, t text)');
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: backup, mode: 'append' });
    expect(r.ok ? 'ok' : r.error.code).toBe('UNSUPPORTED');
    const lossy = (r.ok ? [] : (r.error.details.lossy as Array<{ column?: string }>)).map((l) => l.column).sort();
    expect(lossy).toEqual(['f', 'n', 'ts']);
    expect(psql(rt.dst.url, 'SELECT count(*) FROM a1').trim()).toBe('0');
  });

  it('a table of the same types takes the rows with nothing listed', async () => {
    psql(rt.dst.url, 'DROP TABLE a1; CREATE TABLE a1 (id int PRIMARY KEY, ts timestamptz, n numeric(12,4), f float8, t text)');
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: backup, mode: 'append' });
    expect(r.ok ? r.data.lossy : r.error.message).toEqual([]);
    expect(psql(rt.dst.url, 'SELECT n, f FROM a1').trim()).toBe('1.2345|0.1234567890123');
  });
});
