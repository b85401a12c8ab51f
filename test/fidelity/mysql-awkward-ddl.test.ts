/**
 * DDL MariaDB's SHOW CREATE prints for awkward tables, through
 * create_backup -> restore_backup (portable and native), compared by SHOW CREATE and rows;
 * the header checks (check-ddl.ts) must take all of it. Written by the fourth issue 15 review.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL_URL, tempDir } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;
const DB = (n: string) => `cmx_awk_${n}_${process.pid}`;
const url = (n: string) => MYSQL_URL.replace(/\/[^/]*$/, `/${DB(n)}`);
async function admin(db: string | null, sqls: string[]): Promise<Json[][]> {
  const { default: mysql } = await import('mysql2/promise');
  const c = await mysql.createConnection(db ? url(db) : MYSQL_URL);
  const out: Json[][] = [];
  try { for (const q of sqls) out.push((await c.query(q))[0] as Json[]); } finally { await c.end(); }
  return out;
}

const SCHEMA = [
  `CREATE TABLE \`union\` (\`engine\` INT NOT NULL, \`of\` VARCHAR(20) COMMENT 'SELECT * FROM x UNION SELECT 1; ENGINE=CONNECT', \`select\` INT INVISIBLE DEFAULT 7,
     PRIMARY KEY (\`of\`, \`engine\`), CONSTRAINT \`like\` CHECK (\`of\` LIKE 'a%' OR \`of\` IS NULL)) COMMENT='UNION of ENGINE=FEDERATED; DATA DIRECTORY'`,
  `CREATE TABLE geo (id INT AUTO_INCREMENT PRIMARY KEY, pt POINT NOT NULL, g GEOMETRY, SPATIAL INDEX (pt)) ENGINE=InnoDB`,
  `CREATE TABLE hist (id INT PRIMARY KEY, v VARCHAR(10)) WITH SYSTEM VERSIONING`,
  `CREATE TABLE parted (id INT NOT NULL, d DATE NOT NULL, PRIMARY KEY (id, d)) PARTITION BY RANGE (YEAR(d)) (PARTITION p2023 VALUES LESS THAN (2024) COMMENT 'old SELECT', PARTITION pmax VALUES LESS THAN MAXVALUE)`,
  `CREATE SEQUENCE s_order START WITH 1000 INCREMENT BY 5 CACHE 20`,
  `CREATE TABLE orders (id BIGINT NOT NULL DEFAULT NEXTVAL(s_order) PRIMARY KEY, qty INT CHECK (qty > 0), price DECIMAL(10,2), total DECIMAL(12,2) AS (qty * price) PERSISTENT,
     tag VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_german2_ci, upd TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), KEY k_total (total DESC))`,
  `CREATE TABLE kv (k VARCHAR(50) PRIMARY KEY, v LONGTEXT CHECK (JSON_VALID(v)), h BINARY(16) INVISIBLE) COMMENT 'it''s a /*! comment */ -- test'`,
];
const DATA = [
  "INSERT INTO `union` (`engine`, `of`, `select`) VALUES (1, 'abc', 3), (2, NULL, 4)".replace(", (2, NULL, 4)", ", (2, 'a2', 4)"),
  "INSERT INTO geo (pt, g) VALUES (ST_GeomFromText('POINT(1 2)'), ST_GeomFromText('LINESTRING(0 0,1 1)')), (POINT(3,4), NULL)",
  "INSERT INTO hist VALUES (1, 'a')", "UPDATE hist SET v = 'b' WHERE id = 1",
  "INSERT INTO parted VALUES (1, '2023-05-01'), (2, '2025-01-01')",
  "INSERT INTO orders (qty, price, tag) VALUES (2, 1.50, 'straße'), (3, 2.25, NULL)",
  `INSERT INTO kv (k, v, h) VALUES ('a', '{"x": 1}', UNHEX('00112233445566778899aabbccddeeff'))`,
];
const TABLES = ['union', 'geo', 'hist', 'parted', 'orders', 'kv'];

async function snapshot(db: string): Promise<Json> {
  const out: Json = {};
  for (const t of TABLES) {
    const [[c]] = await admin(db, [`SHOW CREATE TABLE \`${t}\``]);
    const [rows] = await admin(db, [`SELECT * ${t === 'hist' ? ', row_start IS NOT NULL AS rs' : ''} FROM \`${t}\` ${t === 'hist' ? 'FOR SYSTEM_TIME ALL' : ''} ORDER BY 1`]);
    out[t] = { ddl: String(c['Create Table']).replace(/ AUTO_INCREMENT=\d+/, '').replaceAll(db === 'src' ? '' : DB(db), db === 'src' ? '' : DB('src')), rows: JSON.stringify(rows) };
  }
  const [[s]] = await admin(db, ['SHOW CREATE SEQUENCE s_order']);
  out.seq = s['Create Table'];
  return out;
}

describe('MariaDB DDL with keywords for names, SQL in comments, partitions, system versioning, sequences: round trips', () => {
  let h: Harness;
  const dir = tempDir('cmx-awk-');
  beforeAll(async () => {
    await admin(null, ['src', 'p', 'n'].map((n) => `CREATE DATABASE ${DB(n)}`));
    await admin('src', [...SCHEMA, ...DATA]);
    h = await startInProcess(Object.fromEntries(['src', 'p', 'n'].map((n) => [n, { url: url(n) }])), { backup_dir: dir });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await admin(null, ['src', 'p', 'n'].map((n) => `DROP DATABASE IF EXISTS ${DB(n)}`));
  });

  for (const [format, target] of [['portable', 'p'], ['native', 'n']] as const) {
    it(`${format}: same catalog and rows, sequences continue`, async () => {
      const b = await callTool(h.client, 'create_backup', { connection: 'src', format });
      expect(b.ok, JSON.stringify(b)).toBe(true);
      const r = await callTool(h.client, 'restore_backup', { connection: target, backup_path: (b as Json).data.backup });
      expect(r.ok).toBe(true);
      const [a, c] = [await snapshot('src'), await snapshot(target)];
      for (const k of Object.keys(a)) expect(c[k], k).toEqual(a[k]);
      // The sequence goes on from where the source's stood (its next value not yet cached), never back.
      const [[y]] = await admin(target, ['SELECT NEXTVAL(s_order) AS n']);
      expect(Number(y.n)).toBeGreaterThanOrEqual(1010);
      await admin(target, ["INSERT INTO geo (pt) VALUES (POINT(9,9))"]);
      const [[g]] = await admin(target, ['SELECT MAX(id) AS m FROM geo']);
      expect(Number(g.m)).toBe(3);
    });
  }
});
