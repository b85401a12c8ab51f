/**
 * MySQL/MariaDB portable backups spell DATETIME and TIMESTAMP in the server (the SELECT that
 * builds each line) by reading the packed value's microseconds, not by searching the printed
 * value for a fraction. Whatever the column's precision (0, 1, 3, 6) and the value (no
 * fraction, a fraction with trailing zeros, one microsecond, the last microsecond of 9999,
 * the first second of 1000, NULL, the zero date), the line must be exactly what the
 * driver-value path writes: the same rows go in a second table with an INET6 column, which
 * takes that path. The backup then restores and backs up again to the same checksum.
 */
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portable } from '../../src/core/backends/mysql/backup-sql.js';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;
const my = BACKENDS.find((b) => b.name === 'mysql');

const COLUMNS = 'id INT PRIMARY KEY, d0 DATETIME NULL, d1 DATETIME(1) NULL, d3 DATETIME(3) NULL, d6 DATETIME(6) NULL, t0 TIMESTAMP NULL DEFAULT NULL, t6 TIMESTAMP(6) NULL DEFAULT NULL';

const VALUES = [
  ['NULL', 'NULL', 'NULL', 'NULL', 'NULL', 'NULL'],
  ["'2005-05-24 22:53:30'", "'2005-05-24 22:53:30'", "'2005-05-24 22:53:30'", "'2005-05-24 22:53:30'", "'2005-05-24 22:53:30'", "'2005-05-24 22:53:30'"],
  ["'2005-05-24 22:53:30'", "'2005-05-24 22:53:30.1'", "'2005-05-24 22:53:30.120'", "'2005-05-24 22:53:30.120000'", "'2005-05-24 22:53:30'", "'2005-05-24 22:53:30.100000'"],
  ["'1000-01-01 00:00:00'", "'1000-01-01 00:00:00.0'", "'1000-01-01 00:00:00.001'", "'1000-01-01 00:00:00.000001'", "'1970-01-01 00:00:01'", "'1970-01-01 00:00:01.000001'"],
  ["'9999-12-31 23:59:59'", "'9999-12-31 23:59:59.9'", "'9999-12-31 23:59:59.999'", "'9999-12-31 23:59:59.999999'", "'2038-01-19 03:14:07'", "'2038-01-19 03:14:07.999999'"],
  ["'2024-02-29 12:00:00'", "'2024-02-29 12:00:00.5'", "'2024-02-29 12:00:00.050'", "'2024-02-29 12:00:00.000500'", "'2024-02-29 12:00:00'", "'2024-02-29 12:00:00.000000'"],
  ["'0000-00-00 00:00:00'", "'0000-00-00 00:00:00.0'", "'0000-00-00 00:00:00.000'", "'0000-00-00 00:00:00.000000'", "'0000-00-00 00:00:00'", "'0000-00-00 00:00:00.000000'"],
];

describe.runIf(my)('MySQL portable backup: DATETIME and TIMESTAMP lines built by the server', () => {
  let src: { url: string; drop(): Promise<void> };
  let dst: { url: string; drop(): Promise<void> };
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    src = await freshDatabase(my!, 'mydtl');
    dst = await freshDatabase(my!, 'mydtl_t');
    dir = tempDir('cmx-mydtl-');
    h = await startInProcess({ src: { url: src.url }, dst: { url: dst.url } }, { backup_dir: dir });
    const rows = VALUES.map((v, i) => `(${i + 1}, ${v.join(', ')}`);
    const queries = [
      // The zero date needs a sql_mode without NO_ZERO_DATE (MariaDB's default has none of it).
      `CREATE TABLE l (${COLUMNS})`, `CREATE TABLE v (${COLUMNS}, g INET6 NULL)`,
      `INSERT INTO l VALUES ${rows.map((r) => `${r})`).join(', ')}`, `INSERT INTO v VALUES ${rows.map((r) => `${r}, NULL)`).join(', ')}`,
    ];
    for (const query of queries) {
      const r = await callTool(h.client, 'execute_query', { connection: 'src', query });
      if (!r.ok) throw new Error(`${r.error.code} ${r.error.message}`);
    }
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await src?.drop();
    await dst?.drop();
  });

  const read = (path: string): { header: Json; rows: Record<string, string[]> } => {
    const lines = gunzipSync(readFileSync(path)).toString('utf8').split('\n').filter(Boolean);
    const header = JSON.parse(lines[0]);
    const rows: Record<string, string[]> = {};
    let table = '';
    for (const line of lines.slice(1)) {
      if (line.startsWith('[')) rows[table].push(line);
      else if (line.startsWith('{"table"')) { table = JSON.parse(line).name; rows[table] = []; }
    }
    return { header, rows };
  };

  it('writes the same lines as the driver-value path, and restores them', async () => {
    const b = await callTool(h.client, 'create_backup', { database: 'src', tables: ['l', 'v'], output_path: 'dt.cmx.gz' });
    if (!b.ok) throw new Error(`${b.error.code} ${b.error.message}`);
    const { header, rows } = read((b.data as Json).path);
    const def = (name: string) => header.tables.find((t: Json) => t.name === name).definition;
    expect(portable.lineMode!(def('l'))).toBe(true);
    expect(portable.lineMode!(def('v'))).toBe(false);
    expect(rows.l).toHaveLength(VALUES.length);
    expect(rows.l).toEqual(rows.v.map((line) => line.replace(/,null\]$/, ']')));
    // Spot checks of the canonical spelling: fractions trimmed of trailing zeros, none when zero.
    expect(rows.l[2]).toBe('[3,"2005-05-24T22:53:30","2005-05-24T22:53:30.1","2005-05-24T22:53:30.12","2005-05-24T22:53:30.12","2005-05-24T22:53:30Z","2005-05-24T22:53:30.1Z"]');
    expect(rows.l[4]).toContain('"9999-12-31T23:59:59.999999"');
    expect(rows.l[5]).toContain('"2024-02-29T12:00:00.0005"');

    const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: 'dt.cmx.gz' });
    if (!r.ok) throw new Error(`${r.error.code} ${r.error.message}`);
    const again = await callTool(h.client, 'create_backup', { database: 'dst', tables: ['l'], output_path: 'dt-again.cmx.gz' });
    if (!again.ok) throw new Error(`${again.error.code} ${again.error.message}`);
    expect((again.data as Json).tables[0].sha256).toBe((b.data as Json).tables.find((t: Json) => t.name === 'l').sha256);
  }, 60_000);
});
