/**
 * Issue 14, class 7: one value cannot take the server's memory. PostgreSQL: a row over
 * MAX_MESSAGE_BYTES is refused on its message header (backends/postgres/socket.ts) with
 * RESULT_TOO_LARGE and the bound in details; the connection is dropped, the pool keeps
 * serving, and a call made meanwhile completes first. MySQL: mysql2's socket bound
 * (backends/mysql/socket.ts) sits behind the server's max_allowed_packet (16 MiB on MariaDB
 * 10.11, which returns NULL for a bigger value): checked here as "no bloat, a value or
 * NULL, never a crash". Memory itself is measured by bench/availability.mjs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES } from '../../src/core/limits.js';
import { BACKENDS } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const pg = BACKENDS.find((b) => b.name === 'postgres');
const my = BACKENDS.find((b) => b.name === 'mysql');
const OVER = MAX_MESSAGE_BYTES + 1_000_000;

/** Rows of a successful execute_query, read in one place (issue 16 changes their shape). */
const rowsOf = (data: Record<string, unknown>): unknown[] => data.rows as unknown[];
const firstValue = (data: Record<string, unknown>): unknown => {
  const row = rowsOf(data)[0];
  return Array.isArray(row) ? row[0] : Object.values(row as object)[0];
};

describe.runIf(pg)('PostgreSQL: a value over the message bound', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startInProcess({ db: { url: pg!.url(), pool_size: 3 } });
  });
  afterAll(() => h?.close());

  it('RESULT_TOO_LARGE with the bound; a call made meanwhile completes first; the pool still works', async () => {
    const order: string[] = [];
    const big = callTool(h.client, 'execute_query', { connection: 'db', query: `SELECT repeat('x', ${OVER}) AS v` }).then((r) => { order.push('big'); return r; });
    const small = await callTool(h.client, 'execute_query', { connection: 'db', query: 'SELECT 1 AS one' });
    order.push('small');
    expect(small.ok).toBe(true);
    const r = await big;
    expect(r.ok ? 'ok' : r.error.code).toBe('RESULT_TOO_LARGE');
    if (!r.ok) expect(r.error.details).toMatchObject({ max_message_bytes: MAX_MESSAGE_BYTES, connection_dropped: true });
    expect(order).toEqual(['small', 'big']);
    for (let i = 0; i < 5; i++) {
      const again = await callTool(h.client, 'execute_query', { connection: 'db', query: `SELECT ${i} AS n` });
      expect(again.ok).toBe(true);
      if (again.ok) expect(rowsOf(again.data)).toHaveLength(1);
    }
  }, 120_000);

  it('the same inside execute_transaction (rows read without a portal)', async () => {
    const tx = await callTool(h.client, 'execute_transaction', { connection: 'db', queries: [{ query: 'SELECT 1 AS one' }, { query: `SELECT repeat('y', ${OVER}) AS v` }] });
    expect(tx.ok ? 'ok' : tx.error.code).toBe('RESULT_TOO_LARGE');
    const after = await callTool(h.client, 'execute_query', { connection: 'db', query: 'SELECT 2 AS two' });
    expect(after.ok).toBe(true);
  }, 120_000);

  it('a value under the bound still arrives whole (here truncated by max_bytes, not refused)', async () => {
    const r = await callTool(h.client, 'execute_query', { connection: 'db', query: "SELECT repeat('z', 3000000) AS v" });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.data.truncated).toBe(true);
  }, 60_000);
});

describe.runIf(my)('MySQL: a value past max_allowed_packet', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startInProcess({ db: { url: my!.url() } });
  });
  afterAll(() => h?.close());

  it('NULL (the server refuses to build it) or RESULT_TOO_LARGE, and the pool still works', async () => {
    const r = await callTool(h.client, 'execute_query', { connection: 'db', query: `SELECT repeat('x', ${OVER}) AS v` });
    if (r.ok) expect(firstValue(r.data)).toBeNull();
    else expect(r.error.code).toBe('RESULT_TOO_LARGE');
    const again = await callTool(h.client, 'execute_query', { connection: 'db', query: 'SELECT 1 AS one' });
    expect(again.ok).toBe(true);
  }, 60_000);
});

/** The socket guards on their own, with a small bound, straight on the drivers. */
describe('socket guards with a 1 MB bound, on the raw drivers', () => {
  it.runIf(pg)('postgres.js: RESULT_TOO_LARGE for a 2 MB value; 512 KB passes', async () => {
    const { pgSocketGuard } = await import('../../src/core/backends/postgres/socket.js');
    const { default: postgres } = await import('postgres');
    const guard = pgSocketGuard(1_000_000);
    const sql = postgres(pg!.url(), { max: 1, socket: guard.socket, onnotice: () => undefined } as Parameters<typeof postgres>[1]);
    try {
      const [ok] = await sql.unsafe("SELECT length(repeat('a', 512000)) AS n, repeat('a', 512000) AS v");
      expect(ok!.v).toHaveLength(512_000);
      const err = await sql.unsafe("SELECT repeat('b', 2000000) AS v").then(() => null, (e: { code?: string; details?: unknown }) => e);
      expect(err?.code).toBe('RESULT_TOO_LARGE');
      expect(err?.details).toMatchObject({ max_message_bytes: 1_000_000 });
      // A dropped connection is not reused here: postgres.js 3.4.9 can hang on a pool whose
      // connection died (PITFALLS.md), which is why the dialect retires the pool (tested above).
    } finally {
      await sql.end({ timeout: 0 });
    }
  }, 60_000);

  it.runIf(my)('mysql2: RESULT_TOO_LARGE for a 2 MB value; 512 KB passes', async () => {
    const { mysqlSocketFactory } = await import('../../src/core/backends/mysql/socket.js');
    const { mysqlOptionsFromUrl } = await import('../../src/core/backends/mysql/dialect.js');
    const mysql = (await import('mysql2/promise')).default;
    const conn = await mysql.createConnection({ ...mysqlOptionsFromUrl(my!.url()), stream: mysqlSocketFactory(1_000_000) as never });
    conn.on('error', () => undefined);
    try {
      const [rows] = await conn.query("SELECT repeat('a', 512000) AS v");
      expect((rows as Array<{ v: string }>)[0]!.v).toHaveLength(512_000);
      const err = await conn.query("SELECT repeat('b', 2000000) AS v").then(() => null, (e: { code?: string; details?: unknown }) => e);
      expect(err?.code).toBe('RESULT_TOO_LARGE');
      expect(err?.details).toMatchObject({ max_message_bytes: 1_000_000 });
    } finally {
      conn.destroy();
    }
  }, 60_000);
});
