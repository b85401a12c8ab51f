/**
 * Floats keep their width across backends. SQLite stores every float in 8 bytes, whatever
 * its declared type (REAL, FLOAT, DOUBLE); PostgreSQL `real` and MySQL `FLOAT` are 4 bytes.
 * SQLite's REAL once read as portable `real`: restored into MariaDB, 3.141592653589793
 * became 3.14159 and 123456789.123 became 123457000, with nothing listed as lossy.
 *
 * Every source's float columns go to each other backend; what the target reads back must
 * be what the source reads (as numbers), or the column must be listed in `lossy`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { BACKENDS, type TestBackend } from '../support/backends.js';
import { LITE, MY, PG, callTool, mariadb, outcome, pair, psql, type Json, type RoundTrip } from '../review15/harness.js';

type Name = TestBackend['name'];
const BY_NAME: Record<Name, TestBackend> = { postgres: PG, mysql: MY, sqlite: LITE };

/** Values a float column of each width holds exactly, and ones only 8 bytes hold. */
const WIDE = ['3.141592653589793', '0.1', '123456789.123', '-2.5e-300', '9007199254740993', '1e308'];
const NARROW = ['3.14159', '0.5', '-1024.25', '1e30'];

const SOURCES: Record<Name, { ddl: string; rows: string[][] }> = {
  sqlite: { ddl: 'CREATE TABLE f (id INTEGER PRIMARY KEY, r REAL, fl FLOAT, d DOUBLE, n4 FLOAT4)', rows: WIDE.map((v, i) => [String(i + 1), v, v, v, NARROW[i % NARROW.length]]) },
  postgres: { ddl: 'CREATE TABLE f (id integer PRIMARY KEY, r real, d double precision)', rows: WIDE.map((v, i) => [String(i + 1), NARROW[i % NARROW.length], v]) },
  mysql: { ddl: 'CREATE TABLE f (id INT PRIMARY KEY, r FLOAT, d DOUBLE)', rows: WIDE.map((v, i) => [String(i + 1), NARROW[i % NARROW.length], v]) },
};

function load(backend: Name, url: string): void {
  const { ddl, rows } = SOURCES[backend];
  const script = `${ddl};\nINSERT INTO f VALUES ${rows.map((r) => `(${r.join(', ')})`).join(', ')};`;
  if (backend === 'postgres') psql(url, script);
  else if (backend === 'mysql') mariadb(url, script);
  else {
    const db = new Database(url.replace(/^sqlite:\/\//, ''));
    db.exec(script);
    db.close();
  }
}

async function rows(rt: RoundTrip, connection: 'src' | 'dst'): Promise<unknown[][]> {
  const r = await callTool(rt.h.client, 'execute_query', { connection, query: 'SELECT * FROM f ORDER BY id' });
  if (!r.ok) throw new Error(outcome(r));
  // Numbers compared as numbers: drivers differ in how they print them, not in their value.
  return (r.data.rows as unknown[][]).map((row) => row.map((v) => (v === null ? null : Number(v))));
}

const have = (n: Name): boolean => BACKENDS.some((b) => b.name === n);
const cases = (Object.keys(SOURCES) as Name[]).flatMap((from) => (Object.keys(SOURCES) as Name[]).filter((to) => to !== from).map((to) => ({ from, to })))
  .filter((c) => have(c.from) && have(c.to));

describe.each(cases)('floats from $from into $to', ({ from, to }) => {
  let rt: RoundTrip;
  beforeAll(async () => {
    rt = await pair(BY_NAME[from], BY_NAME[to], `fw${from[0]}${to[0]}`);
    load(from, rt.src.url);
    rt.backup = await callTool(rt.h.client, 'create_backup', { connection: 'src' });
    if (rt.backup.ok) rt.restore = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: rt.backup.data.backup, allow_lossy: true });
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('restores every value the target can hold, exactly, or lists its column', async () => {
    // Every value fits its column's width on every backend (the 4-byte columns hold NARROW only).
    expect([outcome(rt.backup), outcome(rt.restore)]).toEqual(['ok', 'ok']);
    const lossy = ((rt.restore as Json).data.lossy ?? []) as Array<{ table: string; column?: string }>;
    const [before, after] = [await rows(rt, 'src'), await rows(rt, 'dst')];
    const columns = ((await callTool(rt.h.client, 'execute_query', { connection: 'src', query: 'SELECT * FROM f WHERE 1 = 0' })) as Json).data.columns as Array<{ name: string }>;
    const changed = columns.map((c, i) => ({ column: c.name, same: before.every((row, r) => Object.is(row[i], after[r]?.[i])) }))
      .filter((c) => !c.same && !lossy.some((l) => l.table === 'f' && l.column === c.column));
    expect(changed, JSON.stringify({ before, after, lossy })).toEqual([]);
  });

  it.runIf(from === 'sqlite')('an 8-byte SQLite float is an 8-byte float on the target, not listed as lossy', async () => {
    const lossy = ((rt.restore as Json)?.data?.lossy ?? []) as Array<{ column?: string }>;
    expect(lossy.filter((l) => ['r', 'fl', 'd'].includes(l.column ?? ''))).toEqual([]);
    const after = await rows(rt, 'dst');
    expect(after.map((row) => row.slice(1, 4))).toEqual(WIDE.map((v) => [Number(v), Number(v), Number(v)]));
  });
});
