/**
 * Issue 14: column defaults and checks given to create_table / alter_table are agent
 * SQL too (a default runs on every insert and on a table rewrite, a check over every
 * existing row), so they go through the backend's classifier with the escape policy
 * of statements, on every backend, dry runs included. Effects: the table is not
 * created or changed (read back through get_schema and a raw count).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, uniqueName } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';

/** Escaping expressions per backend, in several spellings. */
const ESCAPES: Record<string, string[]> = {
  postgres: [
    "pg_read_file('/etc/hostname')", "pg_catalog.pg_read_file('/etc/hostname')", "\"pg_read_file\"('/etc/hostname')",
    "('/etc/hostname'::text).pg_read_file", "U&\"\\0070g_read_file\"('/etc/hostname')", "length(pg_ls_dir('/')::text)::text",
    "(select pg_terminate_backend(1))::text", "query_to_xml('select pg_read_file(''/etc/hostname'')', true, false, '')::text",
  ],
  mysql: ["LOAD_FILE('/etc/hostname')", "load_file('/etc/hostname')", "`LOAD_FILE`('/etc/hostname')"],
  sqlite: ["load_extension('/tmp/x')", "LOAD_EXTENSION('/tmp/x')"],
};

describe.each(BACKENDS.map((b) => [b.name, b] as const))('%s: defaults and checks with escapes are refused', (name, backend) => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  const base = uniqueName('cmx_def');
  let calls = 0;

  beforeAll(async () => {
    db = await freshDatabase(backend, 'defs');
    h = await startInProcess({ db: { url: db.url } });
    await mustCall(h.client, 'create_table', { connection: 'db', schema: { table: base, columns: [{ name: 'id', type: 'integer', primary_key: true }] } });
    await mustCall(h.client, 'execute_query', { connection: 'db', query: `INSERT INTO ${base} (id) VALUES (1)` });
  }, 60_000);

  afterAll(async () => {
    console.log(`[security] ${name} defaults: ${ESCAPES[name]!.length} expressions, ${calls} calls, 0 effects`);
    await h?.close();
    await db?.drop();
  });

  it('create_table (also dry run) with such a default or check: PERMISSION_DENIED, no table', async () => {
    for (const [i, expr] of ESCAPES[name]!.entries()) {
      for (const dryRun of [false, true]) {
        const table = `${base}_c${i}`;
        for (const schema of [
          { table, columns: [{ name: 'v', type: 'text', default: { sql: expr } }] },
          { table, columns: [{ name: 'v', type: 'text' }], checks: [{ expression: `length(${expr}) >= 0` }] },
        ]) {
          calls++;
          const r = await callTool(h.client, 'create_table', { connection: 'db', schema, dry_run: dryRun });
          expect(r.ok ? 'ok' : r.error.code, expr).toBe('PERMISSION_DENIED');
          const seen = await callTool(h.client, 'execute_query', { connection: 'db', query: `SELECT count(*) AS n FROM ${table}` });
          expect(seen.ok, `${table} exists after ${expr}`).toBe(false);
        }
      }
    }
  }, 120_000);

  it('alter_table adding or altering a column with such a default: PERMISSION_DENIED, table unchanged', async () => {
    for (const expr of ESCAPES[name]!) {
      for (const changes of [
        { add_columns: [{ name: 'v', type: 'text', default: { sql: expr } }] },
        { add_columns: [{ name: 'w', type: 'text', nullable: false, default: { sql: expr } }], drop_columns: [] },
      ]) {
        for (const dryRun of [false, true]) {
          calls++;
          const r = await callTool(h.client, 'alter_table', { connection: 'db', table: base, changes, dry_run: dryRun });
          expect(r.ok ? 'ok' : r.error.code, expr).toBe('PERMISSION_DENIED');
        }
      }
    }
    const after = await mustCall(h.client, 'get_schema', { connection: 'db', table: base });
    expect(JSON.stringify(after)).not.toMatch(/"name":"(v|w)"/);
  }, 120_000);

  it('ordinary defaults still work', async () => {
    const ok = { postgres: "lower('A')", mysql: "(lower('A'))", sqlite: "lower('A')" }[name]!;
    await mustCall(h.client, 'alter_table', { connection: 'db', table: base, changes: { add_columns: [{ name: 'ok', type: 'text', default: { sql: ok } }] } });
  });
});
