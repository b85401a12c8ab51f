/**
 * Review of 219fb2e, finding 2: pg_terminate_backend of a long read (a result streaming in);
 * the read is retried and answers, but the NEXT call on the connection sometimes never answers
 * (no session of ours on the server meanwhile: it never left the client). Measured: 219fb2e
 * 4 hangs in 15 next-reads (3 runs of 5), plus 1 in an earlier probe; its parent 0 in 10; 219fb2e
 * with only socket.ts put back to the parent's 0 in 10.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { freshDatabase, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const PG = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;
const fmt = (r: any, ms: number) => `${ms} ms ` + (r.ok ? 'OK' : `${r.error.code} ${r.error.message.slice(0, 140)} ${JSON.stringify(r.error.details).slice(0, 160)}`);

async function killWhen(admin: postgres.Sql, like: string): Promise<boolean> {
  for (let i = 0; i < 2000; i++) {
    const rows = await admin.unsafe(`SELECT pid FROM pg_stat_activity WHERE query ILIKE $1 AND state = 'active' AND pid <> pg_backend_pid() AND application_name = 'codomyrmex-db'`, [like]);
    if (rows.length) { await admin.unsafe('SELECT pg_terminate_backend($1)', [rows[0]!.pid]); return true; }
    await new Promise((r) => setTimeout(r, 2));
  }
  return false;
}

describe('killed reads', () => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;
  beforeAll(async () => {
    db = await freshDatabase(PG, 'rvkr');
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin`CREATE TABLE big (id int, v text)`;
    await admin`INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 400000) g`;
    h = await startInProcess({ db: { url: db.url } });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await admin?.end();
    await db?.drop();
  });
  it('every call after a killed read answers within 20 s', async () => {
    const log: string[] = [];
    const call = async (label: string, tool: string, args: Record<string, unknown>) => {
      const t = Date.now();
      const r = await callTool(h.client, tool, args, { timeout: 20_000 }).catch((e: Error) => ({ ok: false as const, error: { code: 'NO_ANSWER', message: e.message, details: {} } }));
      log.push(`${label} ${fmt(r, Date.now() - t)}`);
      if (!r.ok && r.error.code === 'NO_ANSWER') {
        const act = await admin`SELECT pid, state, left(query, 60) AS q FROM pg_stat_activity WHERE application_name = 'codomyrmex-db'`;
        log.push(`   server sessions then: ${JSON.stringify(act)}`);
      }
    };
    for (let i = 0; i < 5; i++) {
      const p = call(`${i} killed-read`, 'execute_query', { connection: 'db', query: 'SELECT * FROM big', max_rows: 1_000_000 });
      const killed = await killWhen(admin, '%select * from big%');
      await p;
      log.push(`${i} killed=${killed}`);
      await call(`${i} next-read`, 'execute_query', { connection: 'db', query: 'SELECT count(*) FROM big' });
    }
    console.log(log.join('\n'));
    expect(log.filter((l) => /NO_ANSWER/.test(l)), log.join('\n')).toEqual([]);
  }, 300_000);
});
