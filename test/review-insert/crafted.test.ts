/**
 * A backup whose row lines are not JSON, with every checksum (table, trailer, manifest,
 * file) made to match: the restore must refuse it with BACKUP_CORRUPT and restore nothing,
 * as JSON.parse refuses it. The JSON-line scanner of 1269b6d copied number tokens it did
 * not check (`01`, `9-10`, `-.5`, `1.`) and string bodies with raw control characters into
 * the INSERT, where MariaDB evaluated them (`9-10` stored -1), and a token MariaDB could not
 * parse gave a SYNTAX_ERROR that quoted the other rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { craft, my, mysqlRows, mysqlRun, trip, type Trip } from './harness.js';

describe.skipIf(!my)('crafted backups: row lines that are not JSON', () => {
  let t: Trip;
  let path: string;
  beforeAll(async () => {
    t = await trip();
    await mysqlRun(t.src.url, ['CREATE TABLE x (id INT PRIMARY KEY, n INT, s TEXT)', "INSERT INTO x VALUES (1, 1, 'a'), (2, 2, 'b')"]);
    path = await t.backup(['x'], 'x.cmx.gz');
  }, 60_000);
  afterAll(async () => { await t?.close(); });

  const cases: Array<[string, string]> = [
    ['a leading zero', '[3,01,"c"]'],
    ['an arithmetic expression', '[3,9-10,"c"]'],
    ['a number without digits before its point', '[3,-.5,"c"]'],
    ['a number ending in a point', '[3,1.,"c"]'],
    ['a raw newline inside a string', '[3,3,"c\nd"]'],
    ['a raw NUL and ^Z inside a string', '[3,3,"c\u0000\u001ad"]'],
    ['a token MariaDB cannot parse', '[3,1.2.3,"secret row text"]'],
  ];
  for (const [what, line] of cases) {
    it(`refuses ${what} (${JSON.stringify(line)}) as BACKUP_CORRUPT, and restores nothing`, async () => {
      expect(() => JSON.parse(line)).toThrow();
      const name = `bad${Math.random().toString(36).slice(2, 8)}.cmx.gz`;
      craft(path, name, (_t, lines) => [...lines, line]);
      const r = await t.restore(name);
      const there = await mysqlRows(t.dst.url, "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'x'");
      const rows = Number(there[0][0]) ? await mysqlRows(t.dst.url, 'SELECT id, n, HEX(s) FROM x ORDER BY id') : [];
      if (Number(there[0][0])) await mysqlRun(t.dst.url, ['DROP TABLE x']);
      expect({ ok: r.ok, code: r.error?.code, rows }).toEqual({ ok: false, code: 'BACKUP_CORRUPT', rows: [] });
      expect(r.error?.message).not.toMatch(/secret row text/);
    }, 60_000);
  }
});
