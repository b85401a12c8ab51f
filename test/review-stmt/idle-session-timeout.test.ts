/**
 * Review of 219fb2e, supplementary (intermittent, NOT attributed): failed 2 of 5 runs on 219fb2e
 * (create_backup: no answer in 20 s, uncaught TypeError), passed 1 of 1 on its parent. a database with idle_session_timeout (or
 * idle_in_transaction_session_timeout) set. The server ends an idle pooled session with a
 * FATAL (57P05) and closes it; the socket guard now remembers that ErrorResponse and, on the
 * peer's 'end', destroys the socket with an error. postgres.js then counts it as a failed
 * connection (closed(hadError = true)) and the next call on the pool never answers, with an
 * uncaught "TypeError: Cannot read properties of null (reading 'write')" from postgres.js'
 * nextWrite (vitest lists it under "Unhandled Errors"; the stdio server logs
 * 'uncaught exception (the server keeps running)').
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { freshDatabase, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const PG = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a database that ends idle sessions', () => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;

  beforeAll(async () => {
    db = await freshDatabase(PG, 'rvidle');
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin`CREATE TABLE t0 (id int)`;
    await admin.unsafe(`ALTER DATABASE ${new URL(db.url).pathname.slice(1)} SET idle_session_timeout = '300ms'`);
    await admin.unsafe(`ALTER DATABASE ${new URL(db.url).pathname.slice(1)} SET idle_in_transaction_session_timeout = '300ms'`);
    h = await startInProcess({ db: { url: db.url } });
  });

  afterAll(async () => {
    await h?.close();
    await admin?.end();
    await db?.drop();
  });

  it('each call after an idle pause answers, within 20 s', async () => {
    const log: string[] = [];
    const calls: Array<[string, Record<string, unknown>]> = [
      ['execute_query', { connection: 'db', query: 'SELECT 1 AS one' }],
      ['execute_query', { connection: 'db', query: 'INSERT INTO t0 VALUES (1)' }],
      ['create_backup', { connection: 'db' }],
      ['get_schema', { connection: 'db' }],
      ['execute_query', { connection: 'db', query: 'SELECT 2 AS two' }],
    ];
    for (let round = 0; round < 4; round++) {
      for (const [tool, args] of calls) {
        const t = Date.now();
        const r = await callTool(h.client, tool, args, { timeout: 20_000 }).catch((e: Error) => ({ ok: false as const, error: { code: 'NO_ANSWER', message: e.message, details: {} } }));
        log.push(`${round} ${tool} ${Date.now() - t} ms ${r.ok ? 'OK' : `${r.error.code} ${r.error.message.slice(0, 120)}`}`);
        await sleep(700); // over idle_session_timeout: the server ends the pooled session
      }
    }
    console.log(log.join('\n'));
    expect(log.filter((l) => !/ OK$/.test(l)), log.join('\n')).toEqual([]);
  }, 200_000);
});
