/**
 * A cancelled COPY TO STDOUT (what a PostgreSQL backup reads its rows with) stops on the
 * server. postgres.js takes a COPY for finished once it has handed over the stream, and its
 * cancel() then sent nothing: a cancelled backup read the whole table before it answered.
 * The COPY here takes about 30 s (a pg_sleep a row); cancelled after 300 ms, the read must
 * fail with CANCELLED within a few seconds, the server must no longer run it, and the
 * connection must serve the next statement. A caller's batch that fails cancels it too.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyOutLines } from '../../src/core/backends/postgres/copy.js';
import { BACKENDS } from '../support/backends.js';

const pg = BACKENDS.find((b) => b.name === 'postgres');
// pg_sleep in the select list runs for every row (in FROM, uncorrelated, it would run once).
// Rows of 4 KB: a batch (256 KiB) is handed on every 64 rows, 0.6 s, long before the end.
const SLOW = "SELECT g::text || repeat('x', 4000) || pg_sleep(0.01)::text FROM generate_series(1, 3000) g";

describe.runIf(pg)('PostgreSQL COPY TO STDOUT cancelled', () => {
  let sql: ReturnType<typeof postgres>;
  let admin: ReturnType<typeof postgres>;

  beforeAll(() => {
    sql = postgres(pg!.url(), { max: 2, onnotice: () => undefined });
    admin = postgres(pg!.url(), { max: 1, onnotice: () => undefined });
  });

  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await admin?.end({ timeout: 5 });
  });

  const running = async (pid: number): Promise<boolean> => {
    const rows = await admin`SELECT 1 FROM pg_stat_activity WHERE pid = ${pid} AND state = 'active' AND query LIKE 'COPY%'`;
    return rows.length > 0;
  };

  const stopsOn = async (trigger: (signal: AbortController) => (bytes: Buffer) => Promise<void>): Promise<{ error: unknown; ms: number; stillRunning: boolean; next: string }> => {
    const conn = await sql.reserve();
    try {
      const [{ pid }] = await conn`SELECT pg_backend_pid() AS pid`;
      const controller = new AbortController();
      const started = Date.now();
      const error = await copyOutLines(conn, SLOW, trigger(controller), controller.signal).then(() => null, (err: unknown) => err);
      const ms = Date.now() - started;
      let stillRunning = await running(pid);
      for (let i = 0; i < 20 && stillRunning; i++) {
        await new Promise((r) => setTimeout(r, 100));
        stillRunning = await running(pid);
      }
      const [{ one }] = await conn`SELECT 'next' AS one`;
      return { error, ms, stillRunning, next: one };
    } finally {
      conn.release();
    }
  };

  it('a client cancel stops the COPY on the server', async () => {
    const r = await stopsOn((controller) => {
      setTimeout(() => controller.abort(), 300);
      return async () => undefined;
    });
    expect(r.error).toMatchObject({ code: 'CANCELLED' });
    // The whole COPY takes about 30 s.
    expect(r.ms).toBeLessThan(10_000);
    expect(r.stillRunning).toBe(false);
    expect(r.next).toBe('next');
  }, 60_000);

  it('a batch the caller cannot take stops the COPY on the server, with the caller\'s error', async () => {
    const r = await stopsOn(() => async () => { throw new Error('disk full'); });
    expect((r.error as Error).message).toBe('disk full');
    expect(r.ms).toBeLessThan(10_000);
    expect(r.stillRunning).toBe(false);
    expect(r.next).toBe('next');
  }, 60_000);
});
