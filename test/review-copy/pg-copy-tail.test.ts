/**
 * Review of 3497167: after the last COPY row the restore waits for the server's
 * CommandComplete (pipeline final) and then for ReadyForQuery (`done`). A statement-level
 * AFTER INSERT trigger keeps the server busy in that window. Then:
 *  - the client cancels: the COPY must stop on the server promptly (copyIn's q.cancel()
 *    is a no-op once postgres.js resolved the query with the writable stream: the query
 *    is no longer `active`, so cancel() only records `cancelled` and never sends a
 *    CancelRequest);
 *  - the backend is terminated: the restore must end promptly with CONNECTION_LOST (and
 *    not wait forever on `done`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import postgres from 'postgres';
import { PG_URL } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;
const pg = BACKENDS.find((b) => b.name === 'postgres');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.runIf(pg)('review-copy: PostgreSQL restore at the COPY tail', () => {
  let src: { url: string; drop(): Promise<void> };
  let dst: { url: string; drop(): Promise<void> };
  let h: Harness;
  let dbName = '';
  const admin = postgres(PG_URL, { max: 1, onnotice: () => undefined });

  const run = async (connection: string, query: string): Promise<Json> => {
    const r = await callTool(h.client, 'execute_query', { connection, query });
    if (!r.ok) throw new Error(`${r.error.code} ${r.error.message}`);
    return r.data as Json;
  };
  const copyPid = async (): Promise<number | null> => {
    const r = await admin.unsafe(`SELECT pid FROM pg_stat_activity WHERE datname = '${dbName}' AND query LIKE 'COPY %' AND state = 'active'`);
    return r.length ? Number(r[0]!.pid) : null;
  };
  const waitFor = async <T>(f: () => Promise<T | null>, ms: number): Promise<T | null> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await f();
      if (v !== null || Date.now() > end) return v;
      await sleep(100);
    }
  };

  beforeAll(async () => {
    src = await freshDatabase(pg!, 'rvtail_s');
    dst = await freshDatabase(pg!, 'rvtail_d');
    dbName = dst.url.replace(/.*\//, '');
    h = await startInProcess({ src: { url: src.url }, dst: { url: dst.url }}, { backup_dir: tempDir('cmx-rvtail-') });
    await run('src', 'CREATE TABLE items (id integer PRIMARY KEY, name varchar(20))');
    await run('src', "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g");
    const b = await callTool(h.client, 'create_backup', { database: 'src', tables: ['items'], output_path: 'items.cmx.gz' });
    if (!b.ok) throw new Error(`${b.error.code} ${b.error.message}`);
    await run('dst', 'CREATE TABLE items (id integer PRIMARY KEY, name varchar(20))');
    await run('dst', 'CREATE FUNCTION rv_slow() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN PERFORM pg_sleep(15); RETURN NULL; END$$');
    await run('dst', 'CREATE TRIGGER rv_slow AFTER INSERT ON items FOR EACH STATEMENT EXECUTE FUNCTION rv_slow()');
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await admin.end();
    for (const d of [src, dst]) await d?.drop();
  });

  it('a client cancel stops the COPY on the server promptly', async () => {
    const ac = new AbortController();
    const call = callTool(h.client, 'restore_backup', { database: 'dst', backup_path: 'items.cmx.gz', mode: 'append' }, { signal: ac.signal }).then(() => 'finished', () => 'aborted');
    const pid = await waitFor(copyPid, 5000);
    expect(pid).not.toBeNull();
    await sleep(500);
    ac.abort();
    expect(await call).toBe('aborted');
    // The COPY (in its trigger) must be gone within 3 s of the cancel, not run its 15 s.
    const t0 = Date.now();
    const gone = await waitFor(async () => ((await copyPid()) === null ? true : null), 3000);
    const left = Date.now() - t0;
    // Whatever happens, the cancelled restore must not commit rows later.
    await waitFor(async () => ((await copyPid()) === null ? true : null), 20_000);
    await sleep(1000);
    const held = Number((await run('dst', 'SELECT count(*) AS n FROM items')).rows[0][0]);
    expect({ gone, within3s: left < 3000, held }).toEqual({ gone: true, within3s: true, held: 0 });
  }, 40_000);

  it('a terminated backend at the COPY tail ends the restore promptly with CONNECTION_LOST', async () => {
    // Let any leftover from the previous test finish.
    await waitFor(async () => ((await copyPid()) === null ? true : null), 20_000);
    await run('dst', 'TRUNCATE items');
    const t0 = Date.now();
    const call = callTool(h.client, 'restore_backup', { database: 'dst', backup_path: 'items.cmx.gz', mode: 'append' }, { timeout: 30_000 });
    const pid = await waitFor(copyPid, 5000);
    if (pid === null) expect(await call).toEqual('a COPY to terminate');
    await sleep(300);
    await admin.unsafe(`SELECT pg_terminate_backend(${pid})`);
    const r = await call;
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(r.ok ? 'ok' : r.error.code).toBe('CONNECTION_LOST');
    expect(Number((await run('dst', 'SELECT count(*) AS n FROM items')).rows[0][0])).toBe(0);
  }, 40_000);
});
