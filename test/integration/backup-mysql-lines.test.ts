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
import mysql from 'mysql2/promise';
import { portable } from '../../src/core/backends/mysql/backup-sql.js';
import { finishMarked } from '../../src/core/backup/sql.js';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { readBackupLines } from '../support/backup-file.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;
const QUOTING = { quote: (n: string) => `\`${n.replaceAll('`', '``')}\``, string: (t: string) => `'${t.replaceAll("'", "''")}'` };
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

/** Kinds whose lines our process makes from the row (lines.ts), at their edges. */
const ROW_COLUMNS = `id INT PRIMARY KEY, t MEDIUMTEXT NULL, vc VARCHAR(40) NULL, c CHAR(5) NULL, e ENUM('G','PG-13','Ä ü','') NULL, st SET('a','B','c d') NULL,
  b BIGINT NULL, bo BOOL NULL, iz INT(6) ZEROFILL NULL, tz TINYINT(3) UNSIGNED ZEROFILL NULL, mu MEDIUMINT UNSIGNED NULL, si SMALLINT NULL, y YEAR NULL,
  d DECIMAL(12,4) NULL, dz DECIMAL(8,2) ZEROFILL NULL, d0 DECIMAL(20,0) NULL, dt DATE NULL, tm TIME NULL, tm6 TIME(6) NULL, ts3 TIMESTAMP(3) NULL DEFAULT NULL,
  dt2 DATETIME(2) NULL`;

const ROW_ROWS = [
  `(1, ${Array(20).fill('NULL').join(', ')})`,
  "(2, '', '', '', '', '', 0, 0, 0, 0, 0, 0, '0000', 0, 0, 0, '0000-00-00', '00:00:00', '00:00:00.000000', '1970-01-01 00:00:01.000', '0000-00-00 00:00:00.00')",
  "(3, 'plain ascii ~!@#$%^&*()', 'quote \" and back\\slash', 'pad  ', 'G', 'a,B,c d', 9007199254740991, 1, 1, 7, 16777215, -32768, 1901, -12345678.1234, 0.5, 99999999999999999999, '1000-01-01', '-838:59:59', '838:59:59.999999', '2038-01-19 03:14:07.999', '9999-12-31 23:59:59.99')",
  "(4, 'tab\tnew\nline\rcr\0nul', 'ÄÖÜ 日本語 🐜', 'é', 'Ä ü', 'c d', -9007199254740991, 2, 123456, 255, 1, 32767, 2155, 0.0001, 123456.78, -99999999999999999999, '9999-12-31', '-00:00:01', '-12:30:00.500000', '2024-02-29 12:00:00.100', '2024-02-29 12:00:00.10')",
  "(5, CONCAT('ctrl', CHAR(1), CHAR(26), CHAR(31), CHAR(127), 'del'), 'u2028\u2029', NULL, 'PG-13', '', 9007199254740992, -1, 42, 0, 8388607, 1, 2000, -0.0001, 0, 0, '2024-02-29', '100:00:00', '00:00:00.000001', '2000-01-01 00:00:00.000', '1000-01-01 00:00:00.01')",
  "(6, REPEAT('x', 70000), REPEAT('é', 20), 'abc', NULL, 'B,a', -9007199254740992, 127, 999999, 100, 0, -1, NULL, 1, 1, 1, '2000-02-29', '23:59:59', '01:02:03.040000', NULL, '2005-05-24 22:53:30.00')",
  "(7, NULL, NULL, NULL, NULL, NULL, 9223372036854775807, -128, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
  "(8, NULL, NULL, NULL, NULL, NULL, -9223372036854775808, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
];

const CASES: Array<{ name: string; columns: string; rows: string[]; made: 'process' | 'server'; check(lines: string[]): void }> = [
  {
    name: 'kinds whose lines our process makes',
    columns: ROW_COLUMNS,
    rows: ROW_ROWS,
    made: 'process',
    check(lines) {
      expect(lines[2]).toContain(',9007199254740991,true,1,7,16777215,-32768,1901,"-12345678.1234",');
      expect(lines[4]).toContain(',"9007199254740992",-1,42,0,');
      expect(lines[6]).toContain('"9223372036854775807"');
      expect(lines[3]).toContain('"tab\\tnew\\nline\\rcr\\u0000nul"');
      // Escapes in lower case, as JSON.stringify writes them (MariaDB's JSON_QUOTE writes \\u001A).
      expect(lines[4]).toContain('"ctrl\\u0001\\u001a\\u001f\x7fdel"');
    },
  },
  {
    name: 'native columns',
    columns: COLUMNS,
    rows: ROWS,
    made: 'server',
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
    made: 'process',
    check(lines) {
      // The canonical spelling: fractions trimmed of trailing zeros, none when zero.
      expect(lines[2]).toBe('[3,"2005-05-24T22:53:30","2005-05-24T22:53:30.1","2005-05-24T22:53:30.12","2005-05-24T22:53:30.12","2005-05-24T22:53:30Z","2005-05-24T22:53:30.1Z"]');
      expect(lines[4]).toContain('"9999-12-31T23:59:59.999999"');
      expect(lines[5]).toContain('"2024-02-29T12:00:00.0005"');
    },
  },
];

describe.runIf(my).each(CASES)('MySQL portable backup: lines for $name', ({ columns, rows: inserted, made, check }) => {
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
    // The paths are really taken: l's lines made by our process (lines.ts) or the server, v's from driver values.
    expect(Boolean(portable.rowLines!(def('l'), QUOTING))).toBe(made === 'process');
    expect(portable.lineMode!(def('l'))).toBe(true);
    expect(portable.rowLines!(def('v'), QUOTING)).toBeNull();
    expect(portable.lineMode!(def('v'))).toBe(false);
    expect(rows.l).toHaveLength(inserted.length);
    const values = rows.v!.map((line) => line.replace(/,null\]$/, ']'));
    expect(rows.l).toEqual(values);
    // And the server's lines (backup-sql.ts select) say the same, for tables our process makes too.
    const conn = await mysql.createConnection(src.url);
    try {
      const [server] = await conn.query({ sql: portable.select(def('l'), QUOTING), rowsAsArray: true }) as unknown as [Array<[Buffer | string]>];
      expect(server.map(([line]) => finishMarked(Buffer.isBuffer(line) ? line.toString('utf8') : line))).toEqual(values);
    } finally {
      await conn.end();
    }
    check(rows.l!);

    const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: 'lines.cmx.gz' });
    if (!r.ok) throw new Error(`${r.error.code} ${r.error.message}`);
    const again = await callTool(h.client, 'create_backup', { database: 'dst', tables: ['l'], output_path: 'again.cmx.gz' });
    if (!again.ok) throw new Error(`${again.error.code} ${again.error.message}`);
    expect((again.data as Json).tables[0].sha256).toBe((b.data as Json).tables.find((t: Json) => t.name === 'l').sha256);
  }, 60_000);
});
