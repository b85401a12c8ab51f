/**
 * KILL CONNECTION of a MariaDB restore's connection while it loads (mode create): the
 * restore fails with a clear error and the table it created is dropped. MySQL's DDL commits
 * by itself, so the restore takes back what it created when it fails; that ran on the dead
 * session, its error was swallowed, and the table stayed with part of the rows (found in the
 * review of 1269b6d; older than it). The clean-up now goes on on a new session.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { my, mysqlRows, mysqlRun, trip, type Trip } from './harness.js';

const ROWS = 300_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!my)('interrupted MariaDB restores', () => {
  let t: Trip;
  let path: string;
  const tables = async (): Promise<string[]> => (await mysqlRows(t.dst.url, 'SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1')).map((r) => String(r[0]));
  const inserting = async (): Promise<number> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const rows = await mysqlRows(t.dst.url, "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE 'INSERT INTO%' LIMIT 1");
      if (rows.length) return Number(rows[0][0]);
      if (Date.now() > deadline) throw new Error('no INSERT seen');
      await sleep(5);
    }
  };

  beforeAll(async () => {
    t = await trip();
    await mysqlRun(t.src.url, ['CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(200)) ENGINE=InnoDB', `INSERT INTO t SELECT seq, CONCAT(REPEAT('y', 60), seq) FROM seq_1_to_${ROWS}`]);
    path = await t.backup(['t'], 't.cmx.gz');
  }, 120_000);
  afterAll(async () => { await t?.close(); });

  it('KILL of the restore connection: an error, no table left behind, and the next restore works', async () => {
    const call = t.restore(path);
    const id = await inserting();
    const admin = await mysql.createConnection(t.dst.url);
    await admin.query(`KILL CONNECTION ${id}`);
    await admin.end();
    const r = await call;
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('CONNECTION_LOST');
    // The answer comes after the clean-up.
    expect(await tables()).toEqual([]);
    const again = await t.restore(path);
    expect(again.error).toBeUndefined();
    expect(await mysqlRows(t.dst.url, 'SELECT count(*) FROM t')).toEqual([[ROWS]]);
  }, 120_000);
});
