/**
 * Review of 219fb2e, finding 4 (pre-existing): a database with idle_in_transaction_session_timeout.
 * create_backup holds a snapshot transaction while pg_dump runs on a connection of its own; the
 * server ends the idle-in-transaction session with FATAL 25P03. The socket guard now destroys
 * the socket with an error on the peer's 'end' after that ErrorResponse, postgres.js takes it
 * as a failed connection, and the call's next statement is written to a null socket: an
 * uncaught TypeError ("Cannot read properties of null (reading 'write')", postgres.js
 * nextWrite), a 3 s wait (CONTROL_TIMEOUT_MS) and an answer that blames pg_dump (UNSUPPORTED
 * "pg_dump failed"). Measured: 6 of 6 calls at 100 ms, on 219fb2e and on its parent alike (not a
 * regression; the commit's claim that nothing is written to a dead connection does not hold here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { freshDatabase, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const PG = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;
const TIMEOUT = process.env.RV_IIT ?? '100ms';

describe('create_backup on a database with idle_in_transaction_session_timeout', () => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;

  beforeAll(async () => {
    db = await freshDatabase(PG, 'rviit');
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin`CREATE TABLE t0 (id int)`;
    await admin`INSERT INTO t0 SELECT generate_series(1, 1000)`;
    await admin.unsafe(`ALTER DATABASE ${new URL(db.url).pathname.slice(1)} SET idle_in_transaction_session_timeout = '${TIMEOUT}'`);
    h = await startInProcess({ db: { url: db.url } });
  });

  afterAll(async () => {
    await h?.close();
    await admin?.end();
    await db?.drop();
  });

  it('every create_backup answers within 20 s, and nothing is written to the dead connection (no uncaught exception)', async () => {
    const log: string[] = [];
    const uncaught: string[] = [];
    const onUncaught = (err: Error): void => { uncaught.push(err.message); };
    process.on('uncaughtException', onUncaught);
    for (let i = 0; i < 6; i++) {
      const t = Date.now();
      const r = await callTool(h.client, 'create_backup', { connection: 'db' }, { timeout: 20_000 }).catch((e: Error) => ({ ok: false as const, error: { code: 'NO_ANSWER', message: e.message, details: {} } }));
      log.push(`${i} ${Date.now() - t} ms ${r.ok ? 'OK' : `${r.error.code} ${r.error.message.slice(0, 160)}`}`);
    }
    await new Promise((r) => setTimeout(r, 500));
    process.off('uncaughtException', onUncaught);
    console.log(log.join('\n'));
    expect(log.filter((l) => / NO_ANSWER /.test(l)), log.join('\n')).toEqual([]);
    // CHANGELOG (219fb2e): "A statement is no longer written to a connection known dead".
    expect(uncaught, log.join('\n')).toEqual([]);
  }, 200_000);
});
