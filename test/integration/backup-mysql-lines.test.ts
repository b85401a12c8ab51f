/**
 * MySQL/MariaDB portable backups build row lines in the server for native columns too
 * (TINYINT, UNSIGNED, ZEROFILL, YEAR, DECIMAL UNSIGNED, FLOAT(m,d), ENUM, SET, BIT,
 * BINARY): those lines must be exactly what the driver-value path writes (§17.2
 * `native`). The same columns and rows go in two tables, one with an extra INET6
 * column (a type read as driver values, so that table takes the value path): every line
 * of the first must equal the second's without its trailing null.
 */
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portable } from '../../src/core/backends/mysql/backup-sql.js';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;
const my = BACKENDS.find((b) => b.name === 'mysql');

const COLUMNS = `id INT PRIMARY KEY, ti TINYINT, t2 TINYINT(2), tu TINYINT UNSIGNED, si SMALLINT UNSIGNED, mi MEDIUMINT, mu MEDIUMINT UNSIGNED,
  iu INT UNSIGNED, iz INT(5) ZEROFILL, bu BIGINT UNSIGNED, bz BIGINT ZEROFILL, y YEAR, du DECIMAL(10,3) UNSIGNED, dz DECIMAL(6,2) ZEROFILL,
  f FLOAT(7,2), fu FLOAT UNSIGNED, dbu DOUBLE UNSIGNED, dm DOUBLE(10,4), e ENUM('G','PG','PG-13',''), st SET('a','B','c d'),
  b1 BIT(1), b12 BIT(12), bn BINARY(4), vb VARBINARY(10)`;

const ROWS = [
  '(1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)',
  "(2, -128, -99, 0, 0, -8388608, 0, 0, 0, 0, 0, 0, 0.000, 0.00, -99999.99, 0, 0, -999999.9999, 'G', '', b'0', b'0', 0x00000000, '')",
  "(3, 127, 99, 255, 65535, 8388607, 16777215, 4294967295, 99999, 18446744073709551615, 9007199254740992, 2155, 9999999.999, 9999.99, 99999.99, 3.40282e38, 1.7976931348623157e308, 999999.9999, 'PG-13', 'a,B,c d', b'1', b'111111111111', 0xff00ff00, 0x00)",
  "(4, 5, 7, 7, 1234, -5, 42, 123, 42, 9007199254740991, 9007199254740993, 1901, 12.5, 1.5, 1.1, 0.1, 0.30000000000000004, 1.0001, 'PG', 'c d,a', b'0', b'101', 'ab\\0', 'x\"\\\\y')",
  "(5, 0, 0, 1, 1, 0, 1, 1, 1, 9007199254740992, 1, 2024, 0.001, 0.01, 0.01, 1e-7, 1e-300, 0.0001, '', 'B', b'1', b'100000000000', 'abcd', 'é')",
];

describe.runIf(my)('MySQL portable backup: server-built lines for native columns', () => {
  let src: { url: string; drop(): Promise<void> };
  let dst: { url: string; drop(): Promise<void> };
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    src = await freshDatabase(my!, 'mylines');
    dst = await freshDatabase(my!, 'mylines_t');
    dir = tempDir('cmx-mylines-');
    h = await startInProcess({ src: { url: src.url }, dst: { url: dst.url } }, { backup_dir: dir });
    const queries = [
      `CREATE TABLE l (${COLUMNS})`, `CREATE TABLE v (${COLUMNS}, g INET6 NULL)`,
      `INSERT INTO l VALUES ${ROWS.join(', ')}`, `INSERT INTO v VALUES ${ROWS.map((r) => r.replace(/\)$/, ', NULL)')).join(', ')}`,
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

  /** The header and each table's row lines, as written. */
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
    const b = await callTool(h.client, 'create_backup', { database: 'src', tables: ['l', 'v'], output_path: 'lines.cmx.gz' });
    if (!b.ok) throw new Error(`${b.error.code} ${b.error.message}`);
    const { header, rows } = read((b.data as Json).path);
    const def = (name: string) => header.tables.find((t: Json) => t.name === name).definition;
    // The two paths are really both taken.
    expect(portable.lineMode!(def('l'))).toBe(true);
    expect(portable.lineMode!(def('v'))).toBe(false);
    expect(rows.l).toHaveLength(ROWS.length);
    expect(rows.l).toEqual(rows.v.map((line) => line.replace(/,null\]$/, ']')));
    // Spot checks of §17.2's native forms.
    expect(rows.l[2]).toContain('18446744073709551615');
    expect(rows.l[3]).toContain('{"base64":"YWIAAA=="}'); // BINARY(4) pads with NUL

    const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: 'lines.cmx.gz' });
    if (!r.ok) throw new Error(`${r.error.code} ${r.error.message}`);
    const again = await callTool(h.client, 'create_backup', { database: 'dst', tables: ['l'], output_path: 'again.cmx.gz' });
    if (!again.ok) throw new Error(`${again.error.code} ${again.error.message}`);
    expect((again.data as Json).tables[0].sha256).toBe((b.data as Json).tables.find((t: Json) => t.name === 'l').sha256);
  }, 60_000);
});
