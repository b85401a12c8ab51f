/**
 * Review of 9132989: behind PgBouncer in statement pooling mode with `?pooler=session`, a
 * single-statement write runs (no transaction). While it runs, another call of the same pool is
 * refused by PgBouncer ("transaction blocks not allowed in statement pooling mode", the pool's
 * lastClose). When the write's connection is then dropped plainly by the network (a FIN, no
 * ErrorResponse; a TCP proxy stands for it) within 1 s, its answer says PgBouncer ended it for
 * statement pooling, with pooler_mode "statement" and the advice to change the pool: not why
 * it was lost.
 */
import { createServer, Socket, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { freshDatabase, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';
import { startPgBouncer, type PgBouncer } from '../topology/pgbouncer.js';

const PG = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A proxy to `port` that remembers, per client socket, the text it sent. */
function proxy(port: number): Promise<{ server: Server; port: number; clients: Array<{ c: Socket; sent: string }> }> {
  const clients: Array<{ c: Socket; sent: string }> = [];
  const server = createServer((client) => {
    const entry = { c: client, sent: '' };
    clients.push(entry);
    const up = new Socket();
    up.connect(port, '127.0.0.1');
    client.on('data', (d) => { entry.sent += d.toString('latin1'); });
    client.pipe(up); up.pipe(client);
    client.on('error', () => up.destroy()); up.on('error', () => client.destroy());
    client.on('close', () => up.destroy()); up.on('close', () => client.destroy());
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res({ server, port: (server.address() as { port: number }).port, clients })));
}

describe.skipIf(process.getuid?.() !== 0)('statement pooling advice on a plain drop', () => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;
  let pgb: PgBouncer;
  let px: Awaited<ReturnType<typeof proxy>>;
  beforeAll(async () => {
    db = await freshDatabase(PG, 'rv2p');
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin`CREATE TABLE t (id int)`;
    pgb = await startPgBouncer({ mode: 'statement' });
    const u = new URL(pgb.url(new URL(db.url).pathname.slice(1)));
    px = await proxy(Number(u.port));
    u.port = String(px.port);
    h = await startInProcess({ db: { url: `${u.toString()}?pooler=session`, pool_size: 3 } });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    px?.server.close();
    await pgb?.stop();
    await admin?.end();
    await db?.drop();
  });

  it('a write dropped by the network is not answered with the pooler advice of another session', async () => {
    const w = callTool(h.client, 'execute_query', { connection: 'db', query: 'INSERT INTO t SELECT 1 FROM pg_sleep(3)' }, { timeout: 20_000 });
    let writer: { c: Socket; sent: string } | undefined;
    for (let i = 0; i < 300 && !writer; i++) {
      writer = px.clients.find((e) => e.sent.includes('pg_sleep(3)') && !e.c.destroyed);
      if (!writer) await sleep(10);
    }
    expect(writer, 'the write reached the proxy').toBeDefined();
    await sleep(200);
    // Another call of the pool, refused by PgBouncer: the pool's lastClose.
    const other = await callTool(h.client, 'execute_transaction', { connection: 'db', queries: [{ query: 'SELECT 1' }] }, { timeout: 20_000 });
    console.log('other', JSON.stringify(other).slice(0, 400));
    writer!.c.end();
    const r = await w;
    console.log('write', JSON.stringify(r).slice(0, 900));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.details.outcome).toBe('unknown');
    expect(r.error.details.pooler_mode, r.error.message).toBeUndefined();
    expect(r.error.message).not.toMatch(/statement pooling/);
  }, 60_000);
});
