/**
 * A migration whose lock row disappears under it (deleted by hand, or taken over by another
 * server after a lease it could not renew) stops at once: the renewal that finds the row gone
 * cancels the statement under way, the transactional path rolls back, and the call answers
 * BUSY with details.lock_lost (review17 finding 2: before, the holder ran on and noticed only
 * before its next migration, alongside the next holder). PostgreSQL and MySQL: the lease
 * backends (SQLite's lock row is refused to agents and never expires under a live holder).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Deletes the lock row over a connection of the test's own, as an operator (or a stray script) would. */
async function deleteLockRow(backend: string, url: string): Promise<number> {
  if (backend === 'postgres') {
    const { default: postgres } = await import('postgres');
    const sql = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      return (await sql`delete from codomyrmex.codomyrmex_locks`).count;
    } finally {
      await sql.end();
    }
  }
  const mysql = await import('mysql2/promise');
  const conn = await mysql.createConnection(url);
  try {
    const [r] = await conn.query('DELETE FROM codomyrmex_locks');
    return (r as { affectedRows: number }).affectedRows;
  } finally {
    await conn.end();
  }
}

describe.each(BACKENDS.filter((b) => b.name !== 'sqlite'))('$name: a holder whose lock row vanishes', (backend) => {
  let db: { url: string; drop(): Promise<void> };
  let server: Harness;
  const dir = tempDir('cmx-lock-lost-');

  beforeAll(async () => {
    db = await freshDatabase(backend, 'locklost');
    // Long enough that "stopped at once" and "ran to its end" cannot be confused: 30 s.
    writeFileSync(join(dir, '20260101000000_slow.sql'), [
      '-- migrate:up',
      'CREATE TABLE lost_mark (id INT PRIMARY KEY);',
      `${backend.sleep(30)};`,
      '-- migrate:down',
      'DROP TABLE lost_mark;',
      '',
    ].join('\n'));
    server = await startInProcess({ db: { url: db.url, migrations_dir: dir } });
  });

  afterAll(async () => {
    await server?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cancels the statement under way and answers BUSY with lock_lost', async () => {
    const run = callTool(server.client, 'run_migration', { connection: 'db' });
    await sleep(1000);
    expect(await deleteLockRow(backend.name, db.url)).toBe(1);
    const r = await run;
    expect(r.ok ? 'ok' : r.error.code).toBe('BUSY');
    if (r.ok) return;
    expect(r.error.details.lock_lost).toBe(true);
    expect(r.error.message).toMatch(/lock was lost/);
    const status = await callTool(server.client, 'get_migration_status', { connection: 'db' });
    expect(status.ok).toBe(true);
    if (!status.ok) return;
    const counts = status.data.counts as Record<string, number>;
    // PostgreSQL: one transaction, rolled back, so still pending. MySQL: DDL commits at once,
    // so the running row became failed, to be repaired by hand; never applied.
    expect(counts.applied).toBe(0);
    expect(counts[backend.name === 'postgres' ? 'pending' : 'failed']).toBe(1);
  }, 40_000);
});
