/**
 * bulk.ts streamLines reads backup lines straight from mysql2's row packets (no row parser,
 * no value objects). The oracle is mysql2's own reading of the same SELECT: for every
 * length class of MySQL's length-encoded strings (1-byte, 0xfc 2-byte, 0xfd 3-byte
 * lengths and the edges between them), empty lines, every byte value, UTF-8, lines larger
 * than a batch, many rows crossing batch edges, slow consumers (back-pressure) and none at
 * all, the bytes handed on must be exactly mysql2's values, each followed by a newline. A
 * NULL line, a statement failing part-way and a cancel must each end the stream with an
 * error, never with a short result that looks complete.
 */
import mysql, { type Pool, type PoolConnection } from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamLines } from '../../src/core/backends/mysql/bulk.js';
import { BACKENDS, freshDatabase } from '../support/backends.js';

const my = BACKENDS.find((b) => b.name === 'mysql');

/** Lengths at and around each length-encoding edge, and past the reader's 256 KiB batch. */
const LENGTHS = [0, 1, 250, 251, 252, 255, 256, 65535, 65536, 65537, 262_143, 262_144, 300_000, 1_000_000];

describe.skipIf(!my)('MySQL line reader (streamLines) against mysql2', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let pool: Pool;

  const withConn = async <T>(fn: (c: PoolConnection) => Promise<T>): Promise<T> => {
    const c = await new Promise<PoolConnection>((res, rej) => pool.getConnection((e, x) => (e ? rej(e) : res(x))));
    try { return await fn(c); } finally { c.release(); }
  };
  const query = (sql: string, params: unknown[] = []): Promise<any> => new Promise((res, rej) => pool.query({ sql, values: params, rowsAsArray: true }, (e, r) => (e ? rej(e) : res(r))));

  /** What mysql2 itself reads: each value's bytes and a newline. */
  const oracle = async (sql: string): Promise<Buffer> => {
    const rows = await new Promise<any[]>((res, rej) => pool.query({ sql, rowsAsArray: true, typeCast: (f: any) => f.buffer() } as any, (e, r) => (e ? rej(e) : res(r as any[]))));
    return Buffer.concat(rows.flatMap((r) => [r[0] as Buffer, Buffer.from('\n')]));
  };

  /** streamLines' bytes, batch sizes and row counts; `slow` delays each batch. */
  const read = (sql: string, opts: { slow?: number; signal?: AbortSignal; onBatch?: (n: number) => void } = {}) => withConn(async (c) => {
    const parts: Buffer[] = [];
    let handed = 0;
    const count = await streamLines(c, sql, async (bytes, n) => {
      // The batch must be whole lines: as many newlines as rows, the last byte one.
      let newlines = 0;
      for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) newlines++;
      expect(newlines).toBeGreaterThanOrEqual(n);
      if (bytes.length) expect(bytes[bytes.length - 1]).toBe(10);
      parts.push(Buffer.from(bytes));
      handed += n;
      opts.onBatch?.(n);
      if (opts.slow) await new Promise((r) => setTimeout(r, opts.slow));
    }, async () => { c.destroy(); }, opts.signal);
    return { bytes: Buffer.concat(parts), count, handed };
  });

  beforeAll(async () => {
    db = await freshDatabase(my!, 'streamlines');
    pool = mysql.createPool({ uri: db.url, connectionLimit: 3, multipleStatements: false });
    await query('CREATE TABLE l (id INT PRIMARY KEY, v LONGBLOB NOT NULL) ENGINE=InnoDB');
    let id = 0;
    for (const n of LENGTHS) await query('INSERT INTO l VALUES (?, ?)', [++id, Buffer.alloc(n, 0x61 + (id % 26))]);
    // Every byte value, newlines and NUL included (a line's bytes are copied, not parsed).
    await query('INSERT INTO l VALUES (?, ?)', [++id, Buffer.from(Array.from({ length: 256 }, (_, i) => i))]);
    await query('INSERT INTO l VALUES (?, ?)', [++id, Buffer.from('ÄÖÜ 日本語 🐜 "quoted" \\ back', 'utf8')]);
    await query('CREATE TABLE many (id INT PRIMARY KEY, v VARCHAR(200) NOT NULL)');
    const values: string[] = [];
    for (let i = 1; i <= 30_000; i++) values.push(`(${i}, '${'x'.repeat(i % 97)}${i}')`);
    await query(`INSERT INTO many VALUES ${values.join(',')}`);
  }, 60_000);

  afterAll(async () => {
    await new Promise((r) => pool?.end(r));
    await db?.drop();
  });

  it('hands on exactly the bytes mysql2 reads, for every length class', async () => {
    const sql = 'SELECT v FROM l ORDER BY id';
    const want = await oracle(sql);
    const got = await read(sql);
    expect(got.count).toBe(LENGTHS.length + 2);
    expect(got.handed).toBe(got.count);
    expect(got.bytes.equals(want)).toBe(true);
  });

  it('keeps lines whole and in order across batch edges, with a slow consumer too', async () => {
    const sql = "SELECT CONCAT('[', id, ',\"', v, '\"]') FROM many ORDER BY id";
    const want = await oracle(sql);
    const batches: number[] = [];
    const fast = await read(sql, { onBatch: (n) => batches.push(n) });
    expect(fast.bytes.equals(want)).toBe(true);
    expect(fast.count).toBe(30_000);
    expect(batches.length).toBeGreaterThan(1);
    const slow = await read(sql, { slow: 5 });
    expect(slow.bytes.equals(want)).toBe(true);
    expect(slow.handed).toBe(30_000);
  });

  it('reads no rows as no bytes', async () => {
    const got = await read('SELECT v FROM l WHERE id < 0');
    expect(got).toEqual({ bytes: Buffer.alloc(0), count: 0, handed: 0 });
  });

  it('fails on a NULL line instead of dropping it', async () => {
    await expect(read('SELECT IF(id = 3, NULL, v) FROM l ORDER BY id')).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('fails when the statement fails part-way, after rows were handed on', async () => {
    // The subquery returns two rows only for id 20000: an error after thousands of lines.
    let seen = 0;
    const sql = 'SELECT IF(id = 20000, (SELECT v FROM many WHERE id IN (1, 2)), v) FROM many ORDER BY id';
    await expect(read(sql, { onBatch: (n) => { seen += n; } })).rejects.toMatchObject({ code: expect.any(String) });
    expect(seen).toBeGreaterThan(0);
    // The pool still serves the next read.
    expect((await read('SELECT v FROM many WHERE id = 7')).bytes.toString()).toBe(`${'x'.repeat(7)}7\n`);
  });

  it('answers a failure only once its KILL QUERY is done, so a late KILL never hits the next statement', async () => {
    // The statement has ended when the consumer fails (one small batch); the KILL is slow to
    // arrive (300 ms, as from a busy control connection). The next statement on the same
    // connection must not be interrupted: SLEEP returns 1 when KILL QUERY stops it.
    const ctl = await new Promise<PoolConnection>((res, rej) => pool.getConnection((e, x) => (e ? rej(e) : res(x))));
    try {
      await withConn(async (c) => {
        const slowKill = async (): Promise<void> => {
          await new Promise((r) => setTimeout(r, 300));
          await new Promise((res, rej) => ctl.query(`KILL QUERY ${c.threadId}`, (e) => (e ? rej(e) : res(null))));
        };
        const failing = streamLines(c, 'SELECT v FROM many WHERE id <= 10 ORDER BY id', async () => { throw new Error('disk full'); }, slowKill);
        await expect(failing).rejects.toThrow(/disk full/);
        const [[slept]] = await new Promise<any>((res, rej) => c.query({ sql: 'SELECT SLEEP(0.6)', rowsAsArray: true }, (e, r) => (e ? rej(e) : res(r))));
        expect(Number(slept)).toBe(0);
      });
    } finally {
      ctl.release();
    }
  });

  it('stops on a cancel with CANCELLED', async () => {
    const ac = new AbortController();
    let seen = 0;
    const sql = "SELECT CONCAT(a.v, b.v) FROM many a JOIN many b ON b.id <= 50 ORDER BY a.id, b.id";
    await expect(read(sql, { slow: 2, onBatch: (n) => { seen += n; if (seen > 5000) ac.abort(); } , signal: ac.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
