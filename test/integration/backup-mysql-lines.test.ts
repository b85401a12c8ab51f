/**
 * MySQL/MariaDB portable backups build row lines in the server: for native columns
 * (TINYINT, UNSIGNED, ZEROFILL, YEAR, DECIMAL UNSIGNED, FLOAT(m,d), ENUM, SET, BIT,
 * BINARY) and for DATETIME and TIMESTAMP at every precision (spelt from the packed value's
 * microseconds, whatever the printed form: the zero date, year 1000 and 9999, fractions
 * with trailing zeros, one microsecond). Those lines must be exactly what the driver-value
 * path writes (§17.2). The same columns and rows go in two tables, one with an extra INET6
 * column (a type read as driver values, so that table takes the value path): every line of
 * the first must equal the second's without its trailing null; the backup then restores
 * and backs up again to the same checksum.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portable } from '../../src/core/backends/mysql/backup-sql.js';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { readBackupLines } from '../support/backup-file.js';
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

const DATETIME_COLUMNS = 'id INT PRIMARY KEY, d0 DATETIME NULL, d1 DATETIME(1) NULL, d3 DATETIME(3) NULL, d6 DATETIME(6) NULL, t0 TIMESTAMP NULL DEFAULT NULL, t6 TIMESTAMP(6) NULL DEFAULT NULL';

const DATETIME_ROWS = [
  ['NULL', 'NULL', 'NULL', 'NULL', 'NULL', 'NULL'],
  ["'2005-05-24 22:53:30'", "'2005-05-24 22:53:30'", "'2005-05-24 22:53:30'", "'2005-05-24 22:53:30'", "'2005-05-24 22:53:30'", "'2005-05-24 22:53:30'"],
  ["'2005-05-24 22:53:30'", "'2005-05-24 22:53:30.1'", "'2005-05-24 22:53:30.120'", "'2005-05-24 22:53:30.120000'", "'2005-05-24 22:53:30'", "'2005-05-24 22:53:30.100000'"],
  ["'1000-01-01 00:00:00'", "'1000-01-01 00:00:00.0'", "'1000-01-01 00:00:00.001'", "'1000-01-01 00:00:00.000001'", "'1970-01-01 00:00:01'", "'1970-01-01 00:00:01.000001'"],
  ["'9999-12-31 23:59:59'", "'9999-12-31 23:59:59.9'", "'9999-12-31 23:59:59.999'", "'9999-12-31 23:59:59.999999'", "'2038-01-19 03:14:07'", "'2038-01-19 03:14:07.999999'"],
  ["'2024-02-29 12:00:00'", "'2024-02-29 12:00:00.5'", "'2024-02-29 12:00:00.050'", "'2024-02-29 12:00:00.000500'", "'2024-02-29 12:00:00'", "'2024-02-29 12:00:00.000000'"],
  // The zero date (MariaDB's default sql_mode allows it).
  ["'0000-00-00 00:00:00'", "'0000-00-00 00:00:00.0'", "'0000-00-00 00:00:00.000'", "'0000-00-00 00:00:00.000000'", "'0000-00-00 00:00:00'", "'0000-00-00 00:00:00.000000'"],
].map((v, i) => `(${i + 1}, ${v.join(', ')})`);

const CASES: Array<{ name: string; columns: string; rows: string[]; check(lines: string[]): void }> = [
  {
    name: 'native columns',
    columns: COLUMNS,
    rows: ROWS,
    check(lines) {
      // Spot checks of §17.2's native forms.
      expect(lines[2]).toContain('18446744073709551615');
      expect(lines[3]).toContain('{"base64":"YWIAAA=="}'); // BINARY(4) pads with NUL
    },
  },
  {
    name: 'DATETIME and TIMESTAMP at precisions 0 to 6',
    columns: DATETIME_COLUMNS,
    rows: DATETIME_ROWS,
    check(lines) {
      // The canonical spelling: fractions trimmed of trailing zeros, none when zero.
      expect(lines[2]).toBe('[3,"2005-05-24T22:53:30","2005-05-24T22:53:30.1","2005-05-24T22:53:30.12","2005-05-24T22:53:30.12","2005-05-24T22:53:30Z","2005-05-24T22:53:30.1Z"]');
      expect(lines[4]).toContain('"9999-12-31T23:59:59.999999"');
      expect(lines[5]).toContain('"2024-02-29T12:00:00.0005"');
    },
  },
];

describe.runIf(my).each(CASES)('MySQL portable backup: server-built lines for $name', ({ columns, rows: inserted, check }) => {
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
      `CREATE TABLE l (${columns})`, `CREATE TABLE v (${columns}, g INET6 NULL)`,
      `INSERT INTO l VALUES ${inserted.join(', ')}`, `INSERT INTO v VALUES ${inserted.map((r) => r.replace(/\)$/, ', NULL)')).join(', ')}`,
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

  it('writes the same lines as the driver-value path, and restores them', async () => {
    const b = await callTool(h.client, 'create_backup', { database: 'src', tables: ['l', 'v'], output_path: 'lines.cmx.gz' });
    if (!b.ok) throw new Error(`${b.error.code} ${b.error.message}`);
    const { header, rows } = readBackupLines((b.data as Json).path);
    const def = (name: string) => header.tables.find((t: Json) => t.name === name).definition;
    // The two paths are really both taken.
    expect(portable.lineMode!(def('l'))).toBe(true);
    expect(portable.lineMode!(def('v'))).toBe(false);
    expect(rows.l).toHaveLength(inserted.length);
    expect(rows.l).toEqual(rows.v!.map((line) => line.replace(/,null\]$/, ']')));
    check(rows.l!);

    const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: 'lines.cmx.gz' });
    if (!r.ok) throw new Error(`${r.error.code} ${r.error.message}`);
    const again = await callTool(h.client, 'create_backup', { database: 'dst', tables: ['l'], output_path: 'again.cmx.gz' });
    if (!again.ok) throw new Error(`${again.error.code} ${again.error.message}`);
    expect((again.data as Json).tables[0].sha256).toBe((b.data as Json).tables.find((t: Json) => t.name === 'l').sha256);
  }, 60_000);
});
