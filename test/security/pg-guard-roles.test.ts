/**
 * Issue 14, PostgreSQL read-only guard: which role is chosen for which account, that
 * every way back to the account's own powers is refused, and what the dropped role
 * still sees (tables, sequences, views, functions) and what changes (current_user,
 * row-level security, other sessions' query text). Real server, own database and roles.
 */
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginReadOnly } from '../../src/core/backends/postgres/guard.js';
import { BACKENDS, freshDatabase } from '../support/backends.js';
import { callTool, startInProcess, type ConnectionSpec, type Harness } from '../support/mcp.js';

const pg = BACKENDS.find((b) => b.name === 'postgres');
const suite = pg ? describe : describe.skip;
const tag = `${process.pid}_${Math.random().toString(36).slice(2, 6)}`;
const R = { plain: `cmx_plain_${tag}`, files: `cmx_files_${tag}`, filesRead: `cmx_filesread_${tag}`, ro: `cmx_ro_${tag}`, other: `cmx_other_${tag}`, filesCfg: `cmx_filescfg_${tag}` };

/** Rows of an execute_query/execute_transaction result: the one place that knows the result's shape. */
function rowsOf(data: Record<string, unknown>): Array<Record<string, unknown>> {
  const results = data.results as Array<Record<string, unknown>> | undefined;
  const r = results ? results[results.length - 1]! : data;
  const rows = r.rows as unknown[];
  const columns = r.columns as Array<{ name: string } | string>;
  return rows.map((row) => (Array.isArray(row) ? Object.fromEntries(columns.map((c, i) => [typeof c === 'string' ? c : c.name, row[i]])) : row as Record<string, unknown>));
}

suite('PostgreSQL read-only guard: roles, ways back, visibility (issue 14)', () => {
  let db: { url: string; drop(): Promise<void> };
  let admin: Sql;
  let h: Harness;
  const urlAs = (role: string): string => db.url.replace('postgres@', `${role}@`);

  beforeAll(async () => {
    db = await freshDatabase(pg!, 'pgroles');
    admin = postgres(db.url, { max: 1, onnotice: () => undefined });
    await admin.unsafe(`
      CREATE ROLE ${R.plain} LOGIN; CREATE ROLE ${R.files} LOGIN IN ROLE pg_read_server_files;
      CREATE ROLE ${R.filesRead} LOGIN IN ROLE pg_read_server_files, pg_read_all_data;
      CREATE ROLE ${R.ro} NOLOGIN IN ROLE pg_read_all_data; CREATE ROLE ${R.other} LOGIN;
      CREATE ROLE ${R.filesCfg} LOGIN IN ROLE pg_read_server_files; GRANT ${R.ro} TO ${R.filesCfg};
      CREATE TABLE private_t (id int, owner text); INSERT INTO private_t VALUES (1, 'a'), (2, 'b');
      REVOKE ALL ON private_t FROM PUBLIC;
      CREATE SEQUENCE private_s START 41; SELECT nextval('private_s');
      CREATE VIEW private_v AS SELECT count(*) AS n FROM private_t; REVOKE ALL ON private_v FROM PUBLIC;
      CREATE FUNCTION add1(int) RETURNS int LANGUAGE sql AS 'select $1 + 1';
      CREATE TABLE rls_t (id int, owner text); INSERT INTO rls_t VALUES (1, 'pg_read_all_data'), (2, 'someone');
      ALTER TABLE rls_t ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON rls_t USING (owner = current_user);
    `);
    const conns: Record<string, ConnectionSpec & { read_only_role?: string }> = {
      su: { url: db.url, read_only: true },
      rw: { url: db.url },
      plain: { url: urlAs(R.plain), read_only: true },
      files: { url: urlAs(R.files), read_only: true },
      filesRead: { url: urlAs(R.filesRead), read_only: true },
      configured: { url: urlAs(R.filesCfg), read_only: true, read_only_role: R.ro },
      missing: { url: db.url, read_only: true, read_only_role: `cmx_nobody_${tag}` },
      powerful: { url: db.url, read_only: true, read_only_role: 'pg_read_server_files' },
      notMember: { url: urlAs(R.other), read_only: true, read_only_role: R.ro },
    };
    h = await startInProcess(conns as Record<string, ConnectionSpec>);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await db?.drop();
    for (const r of Object.values(R)) await admin.unsafe(`DROP ROLE IF EXISTS ${r}`).catch(() => undefined);
    await admin?.end({ timeout: 1 });
  });

  it.each([
    ['su', 'read-only transaction + role pg_read_all_data', false],
    ['plain', 'read-only transaction', false],
    ['filesRead', 'read-only transaction + role pg_read_all_data', false],
    ['files', 'read-only transaction', true],
  ])('account %s: engine guard "%s"', async (conn, engine, warns) => {
    const r = await callTool(h.client, 'get_connection', { connection: conn });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    const guard = (r as { data: Record<string, any> }).data.read_only_guard;
    expect(guard.engine).toBe(engine);
    expect(guard.classifier).toBe(true);
    if (warns) expect(guard.warning).toMatch(/pg_read_server_files.*read_only_role/);
    else expect(guard.warning).toBeUndefined();
  });

  it('a file function granted to PUBLIC follows pg_read_all_data: get_connection warns', async () => {
    const other = await freshDatabase(pg!, 'pgpublic');
    const a = postgres(other.url, { max: 1, onnotice: () => undefined });
    const h2 = await startInProcess({ su: { url: other.url, read_only: true } });
    try {
      await a.unsafe('GRANT EXECUTE ON FUNCTION pg_read_file(text) TO PUBLIC');
      const r = await callTool(h2.client, 'get_connection', { connection: 'su' });
      expect(r.ok && (r.data.read_only_guard as Record<string, unknown>).warning).toMatch(/pg_read_all_data itself holds pg_read_file\(text\)/);
    } finally {
      await h2.close();
      await a.end({ timeout: 1 });
      await other.drop();
    }
  });

  it('a configured read_only_role is used; a missing, powerful or foreign one fails get_connection', async () => {
    const ok = await callTool(h.client, 'get_connection', { connection: 'configured' });
    expect(ok.ok && (ok.data.read_only_guard as Record<string, unknown>).engine).toBe(`read-only transaction + role ${R.ro}`);
    const who = await callTool(h.client, 'execute_query', { connection: 'configured', query: 'SELECT current_user AS cu, session_user AS su' });
    expect(who.ok && rowsOf(who.data)).toEqual([{ cu: R.ro, su: R.filesCfg }]);
    for (const [conn, code] of [['missing', 'INVALID_INPUT'], ['powerful', 'INVALID_INPUT'], ['notMember', 'PERMISSION_DENIED']]) {
      const r = await callTool(h.client, 'get_connection', { connection: conn });
      expect(r.ok ? 'ok' : r.error.code, conn).toBe(code);
    }
  });

  const WAYS_BACK = [
    'SET ROLE postgres', 'SET LOCAL ROLE postgres', 'RESET ROLE', 'SET ROLE NONE', 'SET SESSION AUTHORIZATION postgres',
    'SET SESSION AUTHORIZATION DEFAULT', 'RESET SESSION AUTHORIZATION', "SELECT set_config('role', 'postgres', true)",
    "SELECT pg_catalog.set_config('role', 'none', true)", "SELECT set_config('session_authorization', 'postgres', false)",
    "SELECT set_config('ro' || 'le', 'postgres', true)", "SELECT \"set_config\"(U&\"\\0072ole\", 'postgres', true)",
    "UPDATE pg_settings SET setting = 'postgres' WHERE name = 'role'", 'SET transaction_read_only = off',
    "SELECT set_config('transaction_read_only', 'off', true)", 'RESET ALL',
  ];

  it('every way back is refused, and the account\'s powers stay dropped after it', async () => {
    for (const conn of ['su', 'rw']) {
      for (const back of WAYS_BACK) {
        const r = await callTool(h.client, 'execute_transaction', { connection: conn, queries: [{ query: back }, { query: 'SELECT current_user AS cu' }] });
        if (back === 'RESET ALL' && conn === 'rw') continue; // harmless on a read-write connection, and allowed there
        expect(r.ok, `${conn}: ${back}`).toBe(false);
      }
    }
    const after = await callTool(h.client, 'execute_query', { connection: 'su', query: 'SELECT current_user AS cu, session_user AS su' });
    expect(after.ok && rowsOf(after.data)).toEqual([{ cu: 'pg_read_all_data', su: 'postgres' }]);
  });

  it('a per-call timeout is set in the same BEGIN as the role, and holds', async () => {
    const r = await callTool(h.client, 'execute_query', { connection: 'su', query: 'SELECT pg_sleep(2)', timeout_ms: 200 });
    expect(r.ok ? 'ok' : r.error.code).toBe('TIMEOUT');
    const t = await callTool(h.client, 'execute_transaction', { connection: 'su', queries: [{ query: 'SELECT current_user AS cu' }, { query: 'SELECT pg_sleep(2)' }], timeout_ms: 200 });
    expect(t.ok ? 'ok' : t.error.code).toBe('TIMEOUT');
    const after = await callTool(h.client, 'execute_query', { connection: 'su', query: 'SELECT current_setting(\'statement_timeout\') AS t, current_user AS cu' });
    expect(after.ok && rowsOf(after.data)).toEqual([{ t: '30s', cu: 'pg_read_all_data' }]);
  });

  it('RESET ALL keeps the role; after the guard\'s BEGIN the engine refuses transaction_read_only = off', async () => {
    const raw = await admin.reserve();
    try {
      await raw.unsafe(beginReadOnly('pg_read_all_data', 30_000));
      await raw.unsafe('RESET ALL', [], { simple: false } as never);
      expect((await raw.unsafe('SELECT current_user AS cu'))[0].cu).toBe('pg_read_all_data');
      await expect(raw.unsafe('SET transaction_read_only = off', [], { simple: false } as never)).rejects.toThrow(/before any query/);
    } finally {
      await raw.unsafe('rollback').catch(() => undefined);
      raw.release();
    }
  });

  it('as pg_read_all_data the statement still sees tables, sequences, views and functions; RLS now applies', async () => {
    const q = async (query: string): Promise<unknown> => {
      const r = await callTool(h.client, 'execute_query', { connection: 'su', query });
      if (!r.ok) throw new Error(`${query}: ${r.error.code} ${r.error.message}`);
      return rowsOf(r.data);
    };
    expect(await q('SELECT count(*)::int AS n FROM private_t')).toEqual([{ n: 2 }]);
    expect(await q('SELECT last_value::int AS v FROM private_s')).toEqual([{ v: 41 }]);
    expect(await q('SELECT n::int FROM private_v')).toEqual([{ n: 2 }]);
    expect(await q('SELECT add1(1) AS v')).toEqual([{ v: 2 }]);
    // Other sessions' query text needs pg_read_all_stats, which pg_read_all_data lacks (SPEC §6).
    const [{ pid }] = await admin.unsafe('SELECT pg_backend_pid() AS pid');
    expect(await q(`SELECT query FROM pg_stat_activity WHERE pid = ${Number(pid)}`)).toEqual([{ query: '<insufficient privilege>' }]);
    // A superuser bypasses row-level security; pg_read_all_data does not (SPEC §6).
    expect(await q('SELECT id FROM rls_t ORDER BY id')).toEqual([{ id: 1 }]);
    const plan = await callTool(h.client, 'monitor_query_performance', { connection: 'su', query: 'SELECT * FROM private_t', runs: 1 });
    expect(plan.ok, JSON.stringify(plan)).toBe(true);
  });
});
