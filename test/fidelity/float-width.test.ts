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

/** Values only 8 bytes hold; 4-byte ones (MySQL prints a FLOAT with 6 digits: 123456.78 as 123457). */
const WIDE = ['3.141592653589793', '0.1', '123456789.123', '-2.5e-300', '9007199254740993', '1e308'];
const NARROW = ['123456.78', '0.5', '-1024.25', '16777216', '3.4028234e38', '1.17549435e-38'];

const SOURCES: Record<Name, { ddl: string; rows: string[][] }> = {
  sqlite: { ddl: 'CREATE TABLE f (id INTEGER PRIMARY KEY, r REAL, fl FLOAT, d DOUBLE, n4 FLOAT4)', rows: WIDE.map((v, i) => [String(i + 1), v, v, v, v]) },
  postgres: { ddl: 'CREATE TABLE f (id integer PRIMARY KEY, r real, d double precision)', rows: WIDE.map((v, i) => [String(i + 1), NARROW[i], v]) },
  // FLOAT(10,2) and FLOAT UNSIGNED have no portable form (native), and are 4 bytes too.
  mysql: { ddl: 'CREATE TABLE f (id INT PRIMARY KEY, r FLOAT, d DOUBLE, fm FLOAT(10,2), fu FLOAT UNSIGNED)', rows: WIDE.map((v, i) => [String(i + 1), NARROW[i], v, ['123.45', '0.5', '-1024.25', '99999.99', '1.25', '0'][i], ['1234.5677', '0.5', '1024.25', '16777216', '3.4028234e38', '0'][i]]) },
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

/** Every column as the exact double it holds: MySQL prints a FLOAT with 6 digits, so its value is read as DOUBLE. */
async function rows(rt: RoundTrip, connection: 'src' | 'dst', backend: Name): Promise<unknown[][]> {
  const names = (((await callTool(rt.h.client, 'execute_query', { connection, query: 'SELECT * FROM f WHERE 1 = 0' })) as Json).data.columns as Array<{ name: string }>).map((c) => c.name);
  const exact = (c: string): string => (backend === 'mysql' ? `CAST(\`${c}\` AS DOUBLE)` : backend === 'postgres' ? `"${c}"::float8` : `"${c}"`);
  const r = await callTool(rt.h.client, 'execute_query', { connection, query: `SELECT ${names.map(exact).join(', ')} FROM f ORDER BY 1` });
  if (!r.ok) throw new Error(outcome(r));
  // Numbers compared as numbers: drivers differ in how they print them, not in their value.
  return (r.data.rows as unknown[][]).map((row) => row.map((v) => (v === null ? null : Number(v))));
}

const have = (n: Name): boolean => BACKENDS.some((b) => b.name === n);
// Same backend too: a MariaDB FLOAT restored into MariaDB lost its digits past the sixth.
const cases = (Object.keys(SOURCES) as Name[]).flatMap((from) => (Object.keys(SOURCES) as Name[]).map((to) => ({ from, to })))
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
    const [before, after] = [await rows(rt, 'src', from), await rows(rt, 'dst', to)];
    const columns = ((await callTool(rt.h.client, 'execute_query', { connection: 'src', query: 'SELECT * FROM f WHERE 1 = 0' })) as Json).data.columns as Array<{ name: string }>;
    // A 4-byte float is the same value wherever it reads back as the same 4-byte float (SQLite keeps 123456.78125 as 123456.78, the shortest spelling of that float).
    const same = (a: unknown, b: unknown): boolean => Object.is(a, b) || (typeof a === 'number' && typeof b === 'number' && Math.fround(a) === a && Math.fround(b) === a);
    const changed = columns.map((c, i) => ({ column: c.name, same: before.every((row, r) => same(row[i], after[r]?.[i])) }))
      .filter((c) => !c.same && !lossy.some((l) => l.table === 'f' && l.column === c.column));
    expect(changed, JSON.stringify({ before, after, lossy })).toEqual([]);
  });

  it.runIf(from === 'sqlite' && to !== 'sqlite')('an 8-byte SQLite float is an 8-byte float on the target, not listed as lossy', async () => {
    const lossy = ((rt.restore as Json)?.data?.lossy ?? []) as Array<{ column?: string }>;
    expect(lossy.filter((l) => ['r', 'fl', 'd', 'n4'].includes(l.column ?? ''))).toEqual([]);
    const after = await rows(rt, 'dst', to);
    // FLOAT4 too: SQLite keeps 8 bytes whatever the declared type says.
    expect(after.map((row) => row.slice(1, 5))).toEqual(WIDE.map((v) => [Number(v), Number(v), Number(v), Number(v)]));
  });
});
