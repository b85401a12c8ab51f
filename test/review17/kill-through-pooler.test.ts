/**
 * Review of issue 17 (migration lock lease, SPEC §4.5: "a holder that dies without deleting
 * its row (a SIGKILLed server …) blocks others until its lease expires: at most 8 s after
 * its last renewal"). Through PgBouncer in transaction mode with pooler=transaction, manager
 * sessions do not set client_connection_check_interval (session.ts), so when the server is
 * SIGKILLed mid-statement, is that statement still running on the database when the lease
 * says the lock is free? `direct` (no pooler, where the check interval is set) is the control.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { freshDatabase, PG_URL, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, startStdio } from '../support/mcp.js';
import { killAfter } from '../faults/kill.js';
import { configFile } from '../faults/process.js';
import { startPgBouncer, type PgBouncer } from '../topology/pgbouncer.js';

const PG = { name: 'postgres', url: () => PG_URL } as TestBackend;
type Json = Record<string, any>;

describe.skipIf(process.getuid?.() !== 0).each(['pgbouncer-transaction', 'direct'] as const)('a server SIGKILLed mid-migration (%s)', (via) => {
  let pgb: PgBouncer;
  let db: { url: string; drop(): Promise<void> };
  let config: string;
  const dir = tempDir('cmx-r17-kill-');

  beforeAll(async () => {
    db = await freshDatabase(PG, 'r17kill');
    if (via !== 'direct') pgb = await startPgBouncer({ mode: 'transaction', poolSize: 4 });
    writeFileSync(join(dir, '20260101000000_long.sql'), ['-- migrate:up', '-- migrate:no-transaction', 'SELECT pg_sleep(25) AS r17_long_statement;', '-- migrate:down', 'SELECT 1;', ''].join('\n'));
    config = configFile({ db: { url: via === 'direct' ? db.url : `${pgb.url(new URL(db.url).pathname.slice(1))}?pooler=transaction`, migrations_dir: dir } });
  });

  afterAll(async () => {
    await pgb?.stop();
    await db?.drop();
  });

  it('when the lock is free again, the dead holder\'s statement is no longer running', async () => {
    const a = await startStdio(['--config', config]);
    const running = callTool(a.client, 'run_migration', { connection: 'db' }).catch(() => undefined);
    await killAfter(a, 1500);
    await running;
    const b = await startStdio(['--config', config]);
    const check = postgres(db.url, { max: 1, onnotice: () => undefined });
    try {
      // Wait (bounded) until B sees the lock free: the lease of the dead holder expired.
      let free = false;
      for (let i = 0; i < 60 && !free; i++) {
        const s = await callTool(b.client, 'get_migration_status', { connection: 'db' });
        free = s.ok && (s.data.lock as Json).held === false;
        if (!free) await new Promise((r) => setTimeout(r, 250));
      }
      expect(free).toBe(true);
      const still = await check`select count(*)::int as n from pg_stat_activity where query like '%r17_long_statement%' and state = 'active' and pid <> pg_backend_pid()`;
      expect(still[0]!.n, 'statements of the dead holder still running while the lock reads free').toBe(0);
    } finally {
      await b.close();
      await check`select pg_cancel_backend(pid) from pg_stat_activity where query like '%r17_long_statement%' and pid <> pg_backend_pid()`;
      await check.end();
    }
  }, 60_000);
});
