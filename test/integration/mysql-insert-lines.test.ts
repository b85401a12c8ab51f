/**
 * bulk.ts insertRows (MySQL/MariaDB restores) writes a batch's JSON lines straight into
 * INSERT tuples where they transcode (jsonLineFields), and its parsed values otherwise.
 * The oracle is the server: the same lines loaded both ways into two tables of the same
 * definition must store the same values, for awkward strings (every escape JSON has,
 * quotes, backslashes, control characters, lone surrogates, UTF-8), numbers (exponents,
 * -0, integers past 2^53, digit strings into integer columns), timestamps with their Z,
 * JSON documents and ENUM labels. Batches that must not transcode (objects, \u, \f, damaged
 * lines) fall back to their values. The next statement is built while the one before runs
 * and sent only once it succeeded: after a failure part-way no statement runs (a deadlock
 * rolls back the whole transaction, and a statement queued behind it would commit on its
 * own), a cancel stops the load, and in both cases nothing of ours runs on the connection
 * when insertRows returns.
 */
import fc from 'fast-check';
import mysql, { type Pool, type PoolConnection } from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertRows } from '../../src/core/backends/mysql/bulk.js';
import { writer } from '../../src/core/backends/mysql/values.js';
import type { LoadBatch } from '../../src/core/dialect.js';
import { DbError } from '../../src/errors.js';
import { BACKENDS, freshDatabase } from '../support/backends.js';

const my = BACKENDS.find((b) => b.name === 'mysql');

/** The columns, their portable kinds (what the restore passes as LoadTarget.kinds) and types. */
const COLUMNS: Array<[string, string, string]> = [
  ['id', 'integer', 'INT NOT NULL PRIMARY KEY'],
  ['s', 'text', 'TEXT'],
  ['b', 'bigint', 'BIGINT'],
  ['u', 'bigint', 'BIGINT UNSIGNED'],
  ['d', 'decimal', 'DECIMAL(40,12)'],
  ['f', 'double', 'DOUBLE'],
  ['j', 'json', 'JSON'],
  ['ts', 'timestamptz', 'TIMESTAMP(6) NULL'],
  ['dt', 'timestamp', 'DATETIME(6)'],
  ['e', 'native', "ENUM('G','pg','it''s','a\\\\b')"],
];
const KINDS = COLUMNS.map((c) => c[1]);
const WRITERS = KINDS.map((kind) => writer({ kind } as never));

/** A batch as restore.ts makes one: the JSON lines, and the values parsed with the writers when asked. */
function batch(lines: string, json: boolean, asked: { rows: number }): LoadBatch {
  return {
    json: json ? lines : null,
    width: KINDS.length,
    rows: () => {
      asked.rows++;
      return lines.split('\n').map((l) => (JSON.parse(l) as unknown[]).map((v, k) => (v === null ? null : WRITERS[k](v))));
    },
  };
}
async function* of(...batches: LoadBatch[]): AsyncGenerator<LoadBatch> { for (const b of batches) yield b; }

describe.skipIf(!my)('MySQL INSERT tuples from JSON lines (insertRows)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let pool: Pool;

  const withConn = async <T>(fn: (c: PoolConnection) => Promise<T>): Promise<T> => {
    const c = await new Promise<PoolConnection>((res, rej) => pool.getConnection((e, x) => (e ? rej(e) : res(x))));
    try {
      // Our sessions' settings (pool.ts): UTC, backslash escapes on.
      await new Promise((res, rej) => c.query("SET time_zone = '+00:00', sql_mode = REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '')", (e) => (e ? rej(e) : res(null))));
      return await fn(c);
    } finally { c.release(); }
  };
  const query = (sql: string): Promise<any> => new Promise((res, rej) => pool.query({ sql, rowsAsArray: true }, (e, r) => (e ? rej(e) : res(r))));
  const target = (table: string) => ({ table, columns: COLUMNS.map((c) => c[0]), kinds: KINDS });
  /** Every column as the server keeps it: text exactly (HEX), numbers by their own text. */
  const stored = (table: string): Promise<unknown[][]> => query(`SELECT ${COLUMNS.map(([n]) => `HEX(CAST(${n} AS CHAR CHARACTER SET utf8mb4)), CAST(${n} AS CHAR)`).join(', ')} FROM ${table} ORDER BY id`);
  const fresh = async (table: string): Promise<void> => {
    await query(`DROP TABLE IF EXISTS ${table}`);
    await query(`CREATE TABLE ${table} (${COLUMNS.map(([n, , t]) => `${n} ${t}`).join(', ')}) DEFAULT CHARSET utf8mb4`);
  };

  /** Loads the lines transcoded into a, parsed into b; says how often each asked for values. */
  const both = async (lines: string): Promise<{ transcoded: number; parsed: number }> => {
    await fresh('a');
    await fresh('b');
    const ta = { rows: 0 };
    const tb = { rows: 0 };
    const n = lines.split('\n').length;
    expect(await withConn((c) => insertRows(c, target('a'), of(batch(lines, true, ta))))).toBe(n);
    expect(await withConn((c) => insertRows(c, target('b'), of(batch(lines, false, tb))))).toBe(n);
    expect(await stored('a')).toEqual(await stored('b'));
    return { transcoded: ta.rows, parsed: tb.rows };
  };

  beforeAll(async () => {
    db = await freshDatabase(my!, 'insertlines');
    pool = mysql.createPool({ uri: db.url, connectionLimit: 3 });
  }, 60_000);

  afterAll(async () => {
    await new Promise((r) => pool?.end(r));
    await db?.drop();
  });

  it('stores what the parsed values store, on awkward values of every kind, without parsing them', async () => {
    const rows = [
      [1, 'plain', 42, 0, '0.5', 0.1, '{"a": 1}', '2006-02-15T21:30:53Z', '2005-05-24 22:53:30', 'G'],
      [2, "it's \"quoted\" \\ back\\slash", -7, '18446744073709551615', '123456789012345678901234567.123456789012', 1e-7, '{"k": "it\'s \\"x\\""}', '2006-02-15T21:30:53.123456Z', '2005-05-24T22:53:30.5', "it's"],
      [3, 'tab\there new\nline cr\r bs\b', '-9223372036854775808', 1, '-0.000000000001', -0, '[1, 2.50, "x"]', null, null, 'a\\b'],
      [4, '🐜 naïve 日本 \u007f a/b \\/ x\\', 9007199254740993, '9223372036854775807', 1e21, 1.7976931348623157e308, '"a string"', '1970-01-01T00:00:01Z', '9999-12-31 23:59:59.999999', 'pg'],
      [5, '', 0, 0, 0, 5e-324, '{}', '2038-01-19T03:14:07Z', '1000-01-01 00:00:00', null],
      [6, '\'', -1, 1, '-1', -1.5e-10, 'null', '2006-02-15T21:30:53', null, 'G'],
    ];
    const lines = rows.map((r) => JSON.stringify(r)).join('\n');
    const asked = await both(lines);
    expect(asked).toEqual({ transcoded: 0, parsed: 1 });
    // The stored values themselves, where they are the point.
    const [r1, r2, r3] = await query('SELECT s, CAST(u AS CHAR), e FROM a ORDER BY id');
    expect(r1).toEqual(['plain', '0', 'G']);
    expect(r2[0]).toBe("it's \"quoted\" \\ back\\slash");
    expect(String(r2[1])).toBe('18446744073709551615');
    expect(r3[0]).toBe('tab\there new\nline cr\r bs\b');
    expect(r3[2]).toBe('a\\b');
  });

  it('keeps integers past 2^53 as written, where parsed values round them', async () => {
    await fresh('a');
    await withConn((c) => insertRows(c, target('a'), of(batch('[1,null,9007199254740993,18446744073709551615,null,null,null,null,null,null]', true, { rows: 0 }))));
    expect(await query('SELECT CAST(b AS CHAR), CAST(u AS CHAR) FROM a')).toEqual([['9007199254740993', '18446744073709551615']]);
  });

  it('parses the strings it must (\\u and \\f escapes), and the batches it must (objects, whitespace, damaged lines)', async () => {
    for (const [text, whole] of [
      ['[1,"\\u0000 nul \\u001a ctrl-z \\ud83d\\udc1c \\u0027 \\\\",null,null,null,null,null,null,null,null]', 0],
      ['[1,"\\ud800 lone",null,null,null,null,null,null,null,null]', 0],
      ['[1,"form\\ffeed",null,null,null,null,null,null,null,"G"]', 0],
      ['[1,null,{"int":"12"},null,null,null,null,null,null,null]', 1],
      ['[1, "space", null,null,null,null,null,null,null,null]', 1],
    ] as Array<[string, number]>) {
      const asked = await both(text);
      expect(asked.transcoded, text).toBe(whole);
    }
    const [[s]] = await query('SELECT s FROM a');
    expect(s).toBe('space');
    await fresh('a');
    // Another width, an escape JSON does not have: given up on, then refused by the parse.
    for (const text of ['[1,"x",null,null,null,null,null,null,null]', '[1,"\\x41",null,null,null,null,null,null,null,null]']) {
      await expect(withConn((c) => insertRows(c, target('a'), of(batch(text, true, { rows: 0 }))))).rejects.toThrow();
    }
    expect(await query('SELECT count(*) FROM a')).toEqual([[0]]);
  });

  it('agrees with the parsed values on random strings and numbers', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.string({ unit: 'binary' }), fc.oneof(fc.integer(), fc.constant(null)), fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(null))), { minLength: 1, maxLength: 20 }),
      async (values) => {
        const lines = values.map(([s, b, f], i) => JSON.stringify([i + 1, s, b, null, null, f, null, null, null, null])).join('\n');
        await both(lines);
      },
    ), { numRuns: 60 });
  }, 120_000);

  describe('statements sent ahead', () => {
    /** Batches of 20,000 rows of 100-character strings (about 3 MB of INSERT each), made as they are pulled; `pulled` counts them. */
    async function* big(from: number, batches: number, pulled = { n: 0 }): AsyncGenerator<LoadBatch> {
      for (let b = 0; b < batches; b++) {
        pulled.n++;
        yield batch(Array.from({ length: 20_000 }, (_, i) => JSON.stringify([from + b * 20_000 + i, 'x'.repeat(100), null, null, null, null, null, null, null, null])).join('\n'), true, { rows: 0 });
      }
    }
    async function* chain(...parts: AsyncGenerator<LoadBatch>[]): AsyncGenerator<LoadBatch> { for (const p of parts) yield* p; }

    it('loads every row of many statements', async () => {
      await fresh('a');
      expect(await withConn((c) => insertRows(c, target('a'), big(1, 5)))).toBe(100_000);
      expect(await query('SELECT count(*), min(id), max(id), sum(id) FROM a')).toEqual([[100_000, 1, 100_000, '5000050000']]);
    });

    it('throws the failure, and runs no statement after it', async () => {
      await fresh('a');
      await query("INSERT INTO a (id, s) VALUES (30000, 'already there')");
      const more = { n: 0 };
      await withConn(async (c) => {
        const err = await insertRows(c, target('a'), chain(big(1, 5), big(500_000, 20, more))).catch((e: unknown) => e);
        expect((err as { code?: string }).code).toBe('CONSTRAINT_VIOLATION');
        expect(String((err as Error).message)).toMatch(/30000/);
        // Loading stopped at the failure (in the second statement of five batches): the batches after them were never read.
        expect(more.n).toBe(0);
        // Nothing of ours is left queued: the connection answers our next statement at once.
        const rows = await new Promise<any>((res, rej) => c.query({ sql: 'SELECT 1 AS one', rowsAsArray: true }, (e, r) => (e ? rej(e) : res(r))));
        expect(rows).toEqual([[1]]);
      });
      // The failed statement stored nothing (InnoDB), and none after it ran: nothing past the duplicate.
      const [[n]] = await query('SELECT count(*) FROM a WHERE id > 30000');
      expect(n).toBe(0);
    });

    it('throws the first failure in time: a damaged batch found while an INSERT runs that fails later', async () => {
      await fresh('a');
      // The first statement's row 100 waits 300 ms, then fails; the next batch is found damaged 20 ms after that statement is sent.
      await query("CREATE TRIGGER late BEFORE INSERT ON a FOR EACH ROW BEGIN IF NEW.id = 100 THEN DO SLEEP(0.3); SIGNAL SQLSTATE '40001' SET MESSAGE_TEXT = 'late failure'; END IF; END");
      async function* damaged(): AsyncGenerator<LoadBatch> {
        yield batch(Array.from({ length: 12_000 }, (_, i) => JSON.stringify([i + 1, 'x'.repeat(100), null, null, null, null, null, null, null, null])).join('\n'), true, { rows: 0 });
        await new Promise((r) => setTimeout(r, 20));
        throw new DbError('BACKUP_CORRUPT', 'a row is not JSON');
      }
      const err = await withConn((c) => insertRows(c, target('a'), damaged())).catch((e: unknown) => e);
      expect((err as DbError).code).toBe('BACKUP_CORRUPT');
      await query('DROP TRIGGER late');
    });

    it('a cancel stops the INSERT the server runs (waiting on a lock), and sends no other', async () => {
      await fresh('a');
      const locker = await new Promise<PoolConnection>((res, rej) => pool.getConnection((e, x) => (e ? rej(e) : res(x))));
      const ctl = await new Promise<PoolConnection>((res, rej) => pool.getConnection((e, x) => (e ? rej(e) : res(x))));
      const run = (c: PoolConnection, sql: string): Promise<unknown> => new Promise((res, rej) => c.query(sql, (e, r) => (e ? rej(e) : res(r))));
      try {
        await run(locker, 'START TRANSACTION');
        await run(locker, 'INSERT INTO a (id) VALUES (1)');
        const ac = new AbortController();
        setTimeout(() => ac.abort(), 300);
        const started = Date.now();
        const err = await withConn((c) => insertRows(c, target('a'), big(1, 3), ac.signal, async () => { await run(ctl, `KILL QUERY ${c.threadId}`); })).catch((e: unknown) => e);
        expect((err as DbError).code).toBe('CANCELLED');
        expect(Date.now() - started).toBeLessThan(5000);
        await run(locker, 'ROLLBACK');
        expect(await query('SELECT count(*) FROM a')).toEqual([[0]]);
      } finally {
        locker.release();
        ctl.release();
      }
    });

    it('stops on a cancel with CANCELLED and leaves the connection idle', async () => {
      await fresh('a');
      const ac = new AbortController();
      async function* slow(): AsyncGenerator<LoadBatch> {
        let i = 0;
        for await (const b of big(1, 10)) {
          if (++i === 3) ac.abort();
          yield b;
        }
      }
      await withConn(async (c) => {
        const err = await insertRows(c, target('a'), slow(), ac.signal).catch((e: unknown) => e);
        expect((err as { code?: string }).code).toBe('CANCELLED');
        const rows = await new Promise<any>((res, rej) => c.query({ sql: 'SELECT count(*) FROM a', rowsAsArray: true }, (e, r) => (e ? rej(e) : res(r))));
        expect(rows[0][0]).toBeLessThan(100_000);
      });
    });
  });
});
