/**
 * The server's own tables are read-only to agents on every backend (SPEC §6): execute_query,
 * execute_transaction and migrations written by create_migration refuse writes to them with
 * PERMISSION_DENIED, reason "bookkeeping"; reads are allowed, and the migration tools keep
 * writing them.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

describe.each(BACKENDS)('$name: the server\'s own tables', (backend) => {
  let db: { url: string; drop(): Promise<void> };
  let server: Harness;
  const dir = tempDir('cmx-bk-writes-');
  const history = backend.name === 'postgres' ? 'codomyrmex.codomyrmex_migrations' : 'codomyrmex_migrations';
  const locks = backend.name === 'postgres' ? 'codomyrmex.codomyrmex_locks' : 'codomyrmex_locks';

  beforeAll(async () => {
    db = await freshDatabase(backend, 'bkwrites');
    writeFileSync(join(dir, '20260101000000_one.sql'), '-- migrate:up\nCREATE TABLE bk_one (id INT PRIMARY KEY);\n-- migrate:down\nDROP TABLE bk_one;\n');
    server = await startInProcess({ db: { url: db.url, migrations_dir: dir } });
    const r = await callTool(server.client, 'run_migration', { connection: 'db' });
    expect(r.ok).toBe(true);
  });

  afterAll(async () => {
    await server?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses writes through execute_query and execute_transaction, allows reads', async () => {
    for (const query of [`DELETE FROM ${locks}`, `UPDATE ${history} SET status = 'failed'`, `DROP TABLE ${history}`]) {
      const r = await callTool(server.client, 'execute_query', { connection: 'db', query });
      expect(r.ok ? 'ok' : `${r.error.code}:${String(r.error.details.reason)}`, query).toBe('PERMISSION_DENIED:bookkeeping');
    }
    const t = await callTool(server.client, 'execute_transaction', { connection: 'db', queries: [{ query: 'SELECT 1' }, { query: `DELETE FROM ${history}` }] });
    expect(t.ok ? 'ok' : `${t.error.code}:${String(t.error.details.reason)}:${String(t.error.details.statement_index)}`).toBe('PERMISSION_DENIED:bookkeeping:1');
    const read = await callTool(server.client, 'execute_query', { connection: 'db', query: `SELECT count(*) AS n FROM ${history}` });
    expect(read.ok ? Number((read.data.rows as unknown[][])[0]![0]) : read.error.code).toBe(1);
  });

  it('refuses a migration written by create_migration that writes them', async () => {
    const r = await callTool(server.client, 'create_migration', { connection: 'db', name: 'tamper', up: `DELETE FROM ${locks};` });
    expect(r.ok ? 'ok' : `${r.error.code}:${String(r.error.details.reason)}`).toBe('PERMISSION_DENIED:bookkeeping');
  });
});
