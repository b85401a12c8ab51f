/**
 * Review of 9132989: server_message is a peer's text. When the peer's closing ErrorResponse
 * carries the URL password (a proxy or pooler echoing its configuration, a hostile peer), the
 * answer must not show it. A TCP proxy in front of PostgreSQL injects the ErrorResponse into an
 * idle session and closes it; another session of the pool is then dropped plainly, which is
 * where withCloseReason adds server_message (see reason-other-session.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { freshDatabase, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';
import { pgProxy, type PgProxy } from '../support/pg-proxy.js';

const PG = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;
const SECRET = 'Zq7SecretPw42';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function errorResponse(message: string): Buffer {
  const f = (k: string, v: string) => Buffer.concat([Buffer.from(k), Buffer.from(v), Buffer.from([0])]);
  const body = Buffer.concat([f('S', 'FATAL'), f('V', 'FATAL'), f('C', '57P01'), f('M', message), Buffer.from([0])]);
  const head = Buffer.alloc(5);
  head[0] = 0x45;
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

describe('a close reason that carries the password', () => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;
  let px: PgProxy;
  beforeAll(async () => {
    db = await freshDatabase(PG, 'rv2s');
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin`CREATE TABLE t (id int)`;
    px = await pgProxy();
    const u = new URL(db.url);
    u.port = String(px.port);
    u.password = SECRET;
    h = await startInProcess({ db: { url: u.toString(), pool_size: 3 } });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    px?.server.close();
    await admin?.end();
    await db?.drop();
  });

  const sessions = () => admin.unsafe(`SELECT pid, client_port, state, query FROM pg_stat_activity WHERE application_name = 'codomyrmex-db' AND datname = current_database()`);

  for (const variant of ['idle session', 'busy session'] as const) {
    it(`${variant}: the password in the peer's closing words is not in the answer`, async () => {
      await Promise.all([0, 1].map(() => callTool(h.client, 'execute_query', { connection: 'db', query: 'SELECT pg_sleep(0.3)' })));
      const w = callTool(h.client, 'execute_query', { connection: 'db', query: 'INSERT INTO t SELECT 1 FROM pg_sleep(3)' }, { timeout: 20_000 });
      let busy: any; let idle: any;
      for (let i = 0; i < 200 && !(busy && idle); i++) {
        const s = await sessions();
        // Only sessions whose proxy socket is still open (a backend of an earlier test's dropped
        // session stays 'active' in pg_sleep until it next writes).
        const live = (r: any) => { const c = px.byUpstreamPort.get(r.client_port); return c && !c.destroyed && c.writable; };
        busy = s.find((r: any) => r.state === 'active' && /pg_sleep\(3\)/.test(r.query) && live(r));
        idle = s.find((r: any) => r.state === 'idle' && live(r));
        if (!(busy && idle)) await sleep(10);
      }
      expect(busy && idle).toBeTruthy();
      const text = `closing: upstream password=${SECRET} postgres://u:${SECRET}@x ${SECRET}`;
      if (variant === 'idle session') {
        const c = px.byUpstreamPort.get(idle.client_port)!;
        c.write(errorResponse(text)); c.end();
        await sleep(50);
        px.byUpstreamPort.get(busy.client_port)!.end();
      } else {
        const c = px.byUpstreamPort.get(busy.client_port)!;
        c.write(errorResponse(text)); c.end();
      }
      const r = await w;
      const raw = JSON.stringify(r);
      console.log(raw);
      expect(r.ok).toBe(false);
      expect(raw).not.toContain(SECRET);
      if (!r.ok) expect(r.error.details.outcome).toBe('unknown');
    }, 60_000);
  }
});
