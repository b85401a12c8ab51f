/**
 * SQLite keeps any value in any column; a restore into PostgreSQL or MariaDB must give each
 * back as it was, or list its column in `lossy` (restored as text), or refuse. Found on
 * SQLite samples and application schemas:
 * - bytes in a TEXT column became the text "[object Object]" on PostgreSQL;
 * - PostgreSQL read 'now', 'today', 'epoch' and 'infinity' in a DATETIME or DATE column as
 *   dates (the restore's own clock); an integer there failed the load;
 * - a DECIMAL(10,2) holding 12.345 came back 12.35;
 * - CHAR(5) 'ab' came back 'ab   ' on PostgreSQL, and 'ab   ' came back 'ab' on MariaDB;
 * - an UNSIGNED BIG INT past 2^53 failed on PostgreSQL ("[object Object]");
 * - a uuid kept as 16 bytes;
 * - a uuid in upper case came back lowered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { BACKENDS } from '../support/backends.js';
import { LITE, MY, PG, callTool, outcome, pair, type Json, type RoundTrip } from '../review15/harness.js';

const SQL = `
CREATE TABLE v (
  id INTEGER PRIMARY KEY, s TEXT, vc VARCHAR(10), at DATETIME, d DATE, t TIME, tz TIMESTAMPTZ,
  dec DECIMAL(10,2), c CHAR(5), big UNSIGNED BIG INT, u UUID, plain_at DATETIME, plain_dec DECIMAL(10,2),
  frac DATETIME, y0 DATE, h24 DATETIME, tzo TIMESTAMPTZ, j JSON, b BLOB, uu UUID
);
INSERT INTO v VALUES
  (1, X'E29C93', X'41', 'now', 'today', '25:99', '2024-01-01 10:00:00+02:00', 12.345, 'ab', 9223372036854775807, X'00112233445566778899AABBCCDDEEFF', '2024-01-02 03:04:05', 1.5,
   '2024-01-01 10:00:00.1234567', '0000-01-01', '2024-01-01 24:00:00', '2024-01-01 10:00:00+05:30', '{"a": 1}', X'00FF', 'F47AC10B-58CC-4372-A567-0E02B2C3D479'),
  (2, 'plain', 'x', 'epoch', 'tomorrow', 'noon', 'infinity', 0.005, 'ab   ', 1, '0f8fad5b-d9cb-469f-a165-70867728950e', '2024-01-02T03:04:05.25', 2,
   '2024-01-01 10:00:00.9999999', '2024-01-01', '2024-01-01 23:59:59', '2024-01-01 10:00:00-08:00', 'not json', '\\x41', '0f8fad5b-d9cb-469f-a165-70867728950e'),
  (3, NULL, NULL, 1704103200, '2016-02-30', '12:30', '2024-01-01T10:00:00Z', '1.999', '', -5, NULL, '2016-07-04', NULL,
   '2024-01-01 10:00:00.5', NULL, NULL, '2024-06-01T00:00:00Z', X'00FF', 42, NULL),
  (4, '', '', 'infinity', 'yesterday', NULL, NULL, NULL, ' ', NULL, 'not-a-uuid', NULL, 10.25,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL);
`;

/** Columns every value of which is of its declared type in a form both targets read alike: they must not be listed. */
const CLEAN = ['id', 'plain_at', 'plain_dec', 'tzo'];

const have = (n: string): boolean => BACKENDS.some((b) => b.name === n);

describe.each([['postgres', PG], ['mysql', MY]] as const)('SQLite values into %s', (name, backend) => {
  let rt: RoundTrip;
  beforeAll(async () => {
    if (!have(name) || !have('sqlite')) return;
    rt = await pair(LITE, backend, `sv${name[0]}`);
    const db = new Database(rt.src.url.replace(/^sqlite:\/\//, ''));
    db.exec(SQL);
    db.close();
    rt.backup = await callTool(rt.h.client, 'create_backup', { connection: 'src' });
    if (rt.backup.ok) rt.restore = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: rt.backup.data.backup, allow_lossy: true });
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it.runIf(have(name) && have('sqlite'))('every value comes back as it was, or its column is listed', async () => {
    expect([outcome(rt.backup), outcome(rt.restore)]).toEqual(['ok', 'ok']);
    const lossy = ((rt.restore as Json).data.lossy ?? []) as Array<{ table: string; column?: string }>;
    const listed = new Set(lossy.filter((l) => l.table === 'v').map((l) => l.column));
    const read = async (connection: string): Promise<Json[]> => {
      const r = await callTool(rt.h.client, 'execute_query', { connection, query: 'SELECT * FROM v ORDER BY id' });
      if (!r.ok) throw new Error(outcome(r));
      const cols = (r.data.columns as Array<{ name: string }>).map((c) => c.name);
      return (r.data.rows as unknown[][]).map((row) => Object.fromEntries(cols.map((c, i) => [c, row[i]])));
    };
    const [src, dst] = [await read('src'), await read('dst')];
    // Values compared as the text a person reads (numbers and dates print differently per driver; "[object Object]" never matches).
    const text = (v: unknown): string | null => (v === null ? null : Buffer.isBuffer(v) ? v.toString('base64') : String(v));
    const changed = Object.keys(src[0]!).filter((c) => !listed.has(c)).filter((c) => src.some((row, i) => {
      const [a, b] = [text(row[c]), text(dst[i]?.[c])];
      if (a === b) return false;
      // Same number, same instant, printed otherwise by the target's driver.
      if (a !== null && b !== null && Number(a) === Number(b)) return false;
      if (a !== null && b !== null && !Number.isNaN(Date.parse(a)) && Date.parse(a) === Date.parse(b)) return false;
      return true;
    }));
    expect(changed, JSON.stringify({ src, dst, lossy }, null, 1)).toEqual([]);
    expect(CLEAN.filter((c) => listed.has(c))).toEqual([]);
    // The value that was "[object Object]": the bytes arrive (as their base64, the column listed).
    expect(dst.map((r) => r.s)).not.toContain('[object Object]');
  });
});

describe.runIf(have('sqlite'))('SQLite into SQLite: text in a BLOB column stays text', () => {
  let rt: RoundTrip;
  const CHECK = "SELECT group_concat(id || ':' || typeof(b) || ':' || quote(b), ' ') FROM (SELECT * FROM v ORDER BY id)";
  const read = (url: string): unknown => {
    const db = new Database(url.replace(/^sqlite:\/\//, ''), { readonly: true });
    try { return db.prepare(CHECK).pluck().get(); } finally { db.close(); }
  };
  beforeAll(async () => {
    rt = await pair(LITE, LITE, 'svs');
    const db = new Database(rt.src.url.replace(/^sqlite:\/\//, ''));
    db.exec(SQL);
    db.close();
    rt.backup = await callTool(rt.h.client, 'create_backup', { connection: 'src' });
    if (rt.backup.ok) rt.restore = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: rt.backup.data.backup });
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it("'\\x41' comes back as that text, not as the byte 0x41", () => {
    expect([outcome(rt.backup), outcome(rt.restore)]).toEqual(['ok', 'ok']);
    expect(read(rt.dst.url)).toBe(read(rt.src.url));
    expect(read(rt.dst.url)).toContain("2:text:'\\x41'");
  });
});
