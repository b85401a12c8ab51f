/** Real-shaped MariaDB schemas through create_backup -> restore_backup into MariaDB (create, replace, append): no false refusal, rows kept. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callTool, type Harness } from '../support/mcp.js';
import { mariadb } from '../review15/harness.js';
import { mustCall, reviewDatabase, server } from './harness.js';

let h: Harness; let backup = '';
const dbs: Record<string, { url: string; drop(): Promise<void> }> = {};
const SCHEMA = `
CREATE TABLE sales (id int NOT NULL, sold date NOT NULL, region varchar(8) NOT NULL, amount decimal(10,2) CHECK (amount >= 0), PRIMARY KEY (id, sold))
  PARTITION BY RANGE (YEAR(sold)) (PARTITION p2023 VALUES LESS THAN (2024), PARTITION p2024 VALUES LESS THAN (2025), PARTITION pmax VALUES LESS THAN MAXVALUE);
CREATE TABLE regions (id int NOT NULL, code char(2) NOT NULL, PRIMARY KEY (id, code)) PARTITION BY LIST COLUMNS (code) (PARTITION eu VALUES IN ('fr', 'de'), PARTITION am VALUES IN ('us', 'ca'));
CREATE TABLE prices (id int PRIMARY KEY, price int, note varchar(100) COMMENT 'with select union values table in it') WITH SYSTEM VERSIONING
  PARTITION BY SYSTEM_TIME (PARTITION p_hist HISTORY, PARTITION p_cur CURRENT);
CREATE TABLE docs (id int PRIMARY KEY, body text, FULLTEXT KEY ft (body), total int AS (id * 2) PERSISTENT) ENGINE=InnoDB COMMENT='like of inherits';
CREATE TABLE hashed (id int PRIMARY KEY, v varchar(10)) PARTITION BY HASH (id) PARTITIONS 4;
CREATE TABLE periods (id int, s date, e date, PERIOD FOR valid(s, e), PRIMARY KEY (id, valid WITHOUT OVERLAPS));
`;
beforeAll(async () => {
  for (const k of ['src', 'dst']) dbs[k] = await reviewDatabase('mysql', `rs${k}`);
  mariadb(dbs.src.url, `${SCHEMA}
    INSERT INTO sales VALUES (1, '2023-05-01', 'eu', 10), (2, '2024-06-01', 'us', 20), (3, '2030-01-01', 'eu', 30);
    INSERT INTO regions VALUES (1, 'fr'), (2, 'us');
    INSERT INTO prices VALUES (1, 100, 'a'); UPDATE prices SET price = 110 WHERE id = 1;
    INSERT INTO docs (id, body) VALUES (1, 'the quick brown fox'), (2, 'lazy dog');
    INSERT INTO hashed VALUES (1,'a'),(2,'b'),(3,'c');
    INSERT INTO periods VALUES (1, '2024-01-01', '2024-06-01'), (1, '2024-06-01', '2025-01-01');`);
  ({ h } = await server({ src: dbs.src.url, dst: dbs.dst.url }));
  backup = String((await mustCall(h.client, 'create_backup', { connection: 'src' })).backup);
}, 60_000);
afterAll(async () => { await h?.close(); for (const d of Object.values(dbs)) await d.drop(); });

const state = (url: string) => mariadb(url, `SELECT concat_ws('|', (SELECT group_concat(id, sold, region, amount ORDER BY id) FROM sales), (SELECT group_concat(partition_name, ':', table_rows ORDER BY partition_name) FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'sales'),
  (SELECT count(*) FROM prices FOR SYSTEM_TIME ALL), (SELECT price FROM prices), (SELECT group_concat(id) FROM docs WHERE MATCH(body) AGAINST ('fox')), (SELECT sum(total) FROM docs), (SELECT count(*) FROM hashed), (SELECT count(*) FROM periods), (SELECT group_concat(code) FROM regions))`).trim();

it('create, then replace over it, then append into the emptied tables', async () => {
  const want = state(dbs.src.url);
  const c = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: backup });
  expect(c.ok ? c.data.lossy : `${c.error.code} ${c.error.message}`).toEqual([]);
  expect(state(dbs.dst.url)).toBe(want);
  const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: backup, mode: 'replace' });
  expect(r.ok ? r.data.lossy : `${r.error.code} ${r.error.message}`).toEqual([]);
  expect(state(dbs.dst.url)).toBe(want);
  mariadb(dbs.dst.url, 'DELETE FROM sales; DELETE FROM regions; DELETE HISTORY FROM prices; DELETE FROM prices; DELETE HISTORY FROM prices; DELETE FROM docs; DELETE FROM hashed; DELETE FROM periods;');
  const a = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: backup, mode: 'append' });
  expect(a.ok ? a.data.lossy : `${a.error.code} ${a.error.message}`).toEqual([]);
  expect(state(dbs.dst.url)).toBe(want);
});
