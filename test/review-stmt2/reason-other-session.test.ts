/**
 * Review of 9132989: the close reason (socket.ts lastClose) is kept per pool, not per session.
 * A session of the pool that the server ends with a FATAL (here pg_terminate_backend of an IDLE
 * session) sets it; a different session of the same pool that is then dropped plainly (a FIN from
 * the network: a proxy, a load balancer's timeout) within 1 s gets that FATAL as its "reason":
 * "the server closed it after "terminating connection due to administrator command"",
 * server_sqlstate 57P01. The server did not close that session.
 *
 * A plain TCP proxy in front of PostgreSQL stands for the network, so one session can be dropped
 * with a FIN and no ErrorResponse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { freshDatabase, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';
import { pgProxy, type PgProxy } from '../support/pg-proxy.js';

const PG = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('close reason of another session of the pool', () => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;
  let px: PgProxy;
  beforeAll(async () => {
    db = await freshDatabase(PG, 'rv2o');
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin`CREATE TABLE t (id int)`;
    px = await pgProxy();
    const u = new URL(db.url);
    u.port = String(px.port);
    h = await startInProcess({ db: { url: u.toString(), pool_size: 3 } });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    px?.server.close();
    await admin?.end();
    await db?.drop();
  });

  const sessions = () => admin.unsafe(`SELECT pid, client_port, state, query FROM pg_stat_activity WHERE application_name = 'codomyrmex-db' AND datname = current_database()`);

  it('a plain network drop is not answered with the FATAL of another (idle) session', async () => {
    // Two sessions in the pool.
    await Promise.all([0, 1].map(() => callTool(h.client, 'execute_query', { connection: 'db', query: 'SELECT pg_sleep(0.3)' })));
    // A write that takes 3 s on one session.
    const w = callTool(h.client, 'execute_query', { connection: 'db', query: 'INSERT INTO t SELECT 1 FROM pg_sleep(3)' }, { timeout: 20_000 });
    let busy: any; let idle: any;
    for (let i = 0; i < 200 && !(busy && idle); i++) {
      const s = await sessions();
      busy = s.find((r: any) => r.state === 'active' && /pg_sleep\(3\)/.test(r.query));
      idle = s.find((r: any) => r.state === 'idle');
      if (!(busy && idle)) await sleep(10);
    }
    expect(busy && idle, JSON.stringify(await sessions())).toBeTruthy();
    // The server ends the IDLE session (FATAL 57P01, which the guard keeps as the pool's lastClose)...
    await admin.unsafe('SELECT pg_terminate_backend($1)', [idle.pid]);
    await sleep(50);
    // ...and the network drops the busy one, plainly (a FIN, no ErrorResponse).
    const client = px.byUpstreamPort.get(busy.client_port);
    expect(client, 'proxy socket of the busy session').toBeDefined();
    client!.end();
    const r = await w;
    console.log(JSON.stringify(r));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('CONNECTION_LOST');
    expect(r.error.details.outcome).toBe('unknown');
    // The reason belongs to another session: this one was not closed by the server.
    expect(r.error.details.server_sqlstate, r.error.message).toBeUndefined();
    expect(r.error.message).not.toMatch(/administrator command/);
  }, 60_000);
});
