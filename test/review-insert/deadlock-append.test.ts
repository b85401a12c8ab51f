/**
 * No statement after a failed INSERT (bulk.ts insertRows). A restore in mode append runs in
 * a transaction (restore.ts loadAll), so a failure must leave the existing table as it was.
 * InnoDB answers a deadlock by rolling back the victim's whole transaction; a statement
 * queued behind the failed one would then run with autocommit and its rows stay after
 * restore_backup has failed (found in review of 1269b6d, which sent the next INSERT before
 * the one running had succeeded). On a non-transactional table (Aria) no INSERT may run
 * after the one that failed either.
 *
 * The deadlock is made deterministic: a BEFORE INSERT trigger on the target sleeps at one
 * row of the second statement; meanwhile another transaction (heavier, so InnoDB picks the
 * restore as victim) that already holds a key of that second statement waits for a key of
 * the first.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { my, mysqlRows, mysqlRun, trip, type Trip } from './harness.js';

const ROWS = 40_000;
const SLEEP_AT = 12_000; // in the second INSERT (about 9,500 rows of ~110 bytes make 1 MiB)
const HELD = 18_000; // also in the second INSERT, after the sleep

describe.skipIf(!my)('append restore, failure in the second INSERT', () => {
  let t: Trip;
  let path: string;
  beforeAll(async () => {
    t = await trip();
    await mysqlRun(t.src.url, [
      'CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(200)) ENGINE=InnoDB',
      `INSERT INTO t SELECT seq, REPEAT('x', 100) FROM seq_1_to_${ROWS}`,
    ]);
    path = await t.backup(['t'], 't.cmx.gz');
    await mysqlRun(t.dst.url, [
      'CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(200)) ENGINE=InnoDB',
      'CREATE TABLE w (id INT PRIMARY KEY) ENGINE=InnoDB',
      `CREATE TRIGGER slow BEFORE INSERT ON t FOR EACH ROW BEGIN IF NEW.id = ${SLEEP_AT} THEN DO SLEEP(2); END IF; END`,
    ]);
  }, 120_000);
  afterAll(async () => { await t?.close(); });

  it('a deadlock fails the restore and leaves the existing table as it was', async () => {
    const other = await mysql.createConnection(t.dst.url);
    try {
      await other.query('START TRANSACTION');
      await other.query('INSERT INTO w SELECT seq FROM seq_1_to_100000'); // the heavier transaction: not the victim
      await other.query(`INSERT INTO t VALUES (${HELD}, 'held by another transaction')`);
      const restoring = t.restore(path, 'append');
      // Once the restore sleeps inside its second INSERT (the first one's keys locked by it), wait for its key 1.
      const deadline = Date.now() + 20_000;
      while (Number((await mysqlRows(t.dst.url, "SELECT count(*) FROM information_schema.PROCESSLIST WHERE STATE = 'User sleep'"))[0][0]) === 0) {
        if (Date.now() > deadline) throw new Error('the restore never reached the sleeping row');
        await new Promise((r) => setTimeout(r, 20));
      }
      const waiting = other.query("INSERT INTO t VALUES (1, 'waits for the restore')").catch((e: unknown) => e);
      const r = await restoring;
      await waiting;
      await other.query('ROLLBACK');
      expect(r.ok).toBe(false);
      expect(r.error?.code).toBeDefined();
      const [[n, lo, hi]] = (await mysqlRows(t.dst.url, 'SELECT count(*), min(id), max(id) FROM t')) as Array<[number, number | null, number | null]>;
      expect({ error: r.error?.message, rows: Number(n), lo, hi }).toEqual({ error: r.error?.message, rows: 0, lo: null, hi: null });
    } finally {
      await other.end().catch(() => undefined);
    }
  }, 120_000);

  it('a non-transactional table (Aria): no INSERT runs after the one that failed', async () => {
    // Aria keeps what a statement wrote before its error, but the statement after the failed one must not run at all.
    await mysqlRun(t.dst.url, ['DROP TABLE t', 'CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(200)) ENGINE=Aria', `INSERT INTO t VALUES (${HELD}, 'mine')`]);
    const r = await t.restore(path, 'append');
    expect(r.error?.code).toBe('CONSTRAINT_VIOLATION');
    const [[past]] = (await mysqlRows(t.dst.url, `SELECT count(*) FROM t WHERE id > ${HELD}`)) as Array<[number]>;
    expect(Number(past)).toBe(0);
  }, 120_000);
});
