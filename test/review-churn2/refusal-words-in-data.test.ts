/**
 * native.ts REFUSALS (7aaa9aa): pg_restore's error text carries user data (a duplicate key's
 * DETAIL "Key (v)=(…) already exists"), and the CONNECTION_LOST pattern is tried first and
 * unanchored. A native append restore whose rows collide with existing ones, where the
 * colliding value is the text "no connection to the server", answers CONNECTION_LOST ("the
 * session was lost") though nothing was lost: the session was fine, the data conflicted.
 * Same with a table or constraint name carrying the words.
 *
 * Asserted: the failing append restore does not answer CONNECTION_LOST.
 * Measured: fails 2 of 2 runs at 7aaa9aa (CONNECTION_LOST "… DETAIL: Key (v)=(no connection
 * to the server) already exists"); at 7aaa9aa^ the same call answered INTERNAL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const PG = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;

describe('PostgreSQL native restore: REFUSALS words in user data', () => {
  let db: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;
  let h: Harness;
  beforeAll(async () => {
    db = await freshDatabase(PG, 'rcwords');
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE TABLE t (v text primary key); INSERT INTO t VALUES ('no connection to the server')`);
    h = await startInProcess({ db: { url: db.url } }, { backup_dir: tempDir('rcwords-') });
  }, 60_000);
  afterAll(async () => { await h?.close(); await admin?.end(); await db?.drop(); });

  it('an append restore whose key collides does not answer CONNECTION_LOST', async () => {
    const b = await callTool(h.client, 'create_backup', { connection: 'db', format: 'native', output_path: 'w.pgdump', tables: ['t'] }, { timeout: 60_000 });
    expect(b.ok, JSON.stringify(b)).toBe(true);
    const r = await callTool(h.client, 'restore_backup', { connection: 'db', backup_path: 'w.pgdump', mode: 'append' }, { timeout: 60_000 });
    const said = r.ok ? 'ok' : `${r.error.code} ${r.error.message.replace(/\s+/g, ' ').slice(0, 300)}`;
    if (process.env.CHURN_LOG) console.log(said);
    expect(r.ok, said).toBe(false);
    expect(said).not.toMatch(/^CONNECTION_LOST/);
  }, 120_000);
});
