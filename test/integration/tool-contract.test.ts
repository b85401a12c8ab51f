/**
 * The contract of the tool list itself (SPEC §3): every tool refuses unknown argument
 * keys with INVALID_INPUT naming the key and the valid ones, before doing anything;
 * the backup tools take `connection` (and still `database`, the seed's name); the list
 * stays within its byte budget, in a fixed order. Sizes are bytes, never timings.
 */
import Database from 'better-sqlite3';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;

/** The budgets (issue 16): what a model sees of the whole list, and the list with output schemas. */
const MODEL_VISIBLE_BUDGET = 12_000;
const WHOLE_BUDGET = 24_000;

const ORDER = [
  'get_connection', 'list_connections', 'close_connection', 'execute_query', 'execute_transaction',
  'list_migrations', 'get_migration_status', 'run_migration', 'rollback_migration', 'create_migration', 'repair_migration',
  'get_schema', 'generate_schema', 'create_table', 'alter_table',
  'monitor_query_performance', 'analyze_slow_queries', 'get_database_stats',
  'create_backup', 'restore_backup', 'list_backups',
];

function sqliteFile(): string {
  return join(tempDir('cmx-contract-'), 'db.sqlite');
}

function tablesIn(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
  } finally {
    db.close();
  }
}

describe('unknown argument keys', () => {
  let h: Harness;
  const file = sqliteFile();

  beforeAll(async () => {
    h = await startInProcess({ default: { url: `sqlite://${file}` } }, { backup_dir: tempDir('cmx-contract-bk-') });
    await mustCall(h.client, 'execute_query', { query: 'CREATE TABLE kept (id integer)' });
  });
  afterAll(async () => h?.close());

  it('are refused on every listed tool with INVALID_INPUT naming the key and every listed argument', async () => {
    const { tools } = await h.client.listTools();
    expect(tools.length).toBe(ORDER.length);
    for (const t of tools) {
      const r = await callTool(h.client, t.name, { bogus_key: 1 });
      expect(r.ok, t.name).toBe(false);
      if (r.ok) continue;
      expect(r.error.code, t.name).toBe('INVALID_INPUT');
      expect(r.error.message, t.name).toContain('"bogus_key"');
      expect(r.error.details.unknown, t.name).toEqual(['bogus_key']);
      const listed = Object.keys((t.inputSchema.properties ?? {}) as object);
      expect(r.error.details.valid, t.name).toEqual(expect.arrayContaining(listed));
      for (const k of listed) expect(r.error.message, `${t.name} names ${k}`).toContain(k);
    }
  });

  it('stop the call before anything runs: a statement with an extra key changes nothing', async () => {
    const r = await callTool(h.client, 'execute_query', { query: 'CREATE TABLE should_not_exist (a int)', bogus: true });
    expect(r.ok ? 'ran' : r.error.code).toBe('INVALID_INPUT');
    const t = await callTool(h.client, 'execute_transaction', { queries: [{ query: 'DROP TABLE kept' }], dry: true });
    expect(t.ok ? 'ran' : t.error.code).toBe('INVALID_INPUT');
    expect(tablesIn(file)).toEqual(['kept']);
  });

  it('name a misspelt argument rather than the missing one it stands for', async () => {
    const r = await callTool(h.client, 'execute_query', { sql: 'SELECT 1' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.message).toMatch(/^unknown argument "sql"; valid: connection, query, params, max_rows, timeout_ms$/);
  });

  it('are named briefly however many and however long they are', async () => {
    const args = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`${'k'.repeat(i === 0 ? 10_000 : 3)}${i}`, i]));
    const r = await callTool(h.client, 'list_connections', args);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('INVALID_INPUT');
    expect(r.error.message).toMatch(/^unknown arguments "k{64}…", "kkk1", "kkk2", "kkk3", "kkk4" and 5 more; valid: \(none\)$/);
    expect(r.error.details.unknown).toHaveLength(5);
  });

  it('inside nested objects are named with their path and the valid keys there', async () => {
    const r = await callTool(h.client, 'execute_transaction', { queries: [{ query: 'SELECT 1' }, { sql: 'SELECT 2' }] });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('INVALID_INPUT');
    expect(r.error.message).toBe('unknown argument "sql" in "queries.1"; valid: query, params');
    expect(r.error.details).toMatchObject({ field: 'queries.1.sql', unknown: ['sql'], valid: ['query', 'params'] });
    const c = await callTool(h.client, 'create_table', { schema: { table: 't', columns: [{ name: 'a', type: 'integer', nullabel: false }] } });
    expect(c.ok ? 'ran' : c.error.message).toMatch(/unknown argument "nullabel" in "schema\.columns\.0"; valid: name, type, .*nullable/);
  });
});

describe('the backup tools take `connection`', () => {
  let h: Harness;
  const files = { a: sqliteFile(), b: sqliteFile(), c: sqliteFile() };
  const dir = tempDir('cmx-contract-bk-');
  const backups = (): string[] => readdirSync(dir).filter((n) => !n.startsWith('.') && !n.endsWith('.manifest.json')).sort();

  beforeAll(async () => {
    h = await startInProcess(Object.fromEntries(Object.entries(files).map(([n, f]) => [n, { url: `sqlite://${f}` }])), { backup_dir: dir });
    await mustCall(h.client, 'execute_query', { connection: 'a', query: 'CREATE TABLE only_a (id integer)' });
    await mustCall(h.client, 'execute_query', { connection: 'b', query: 'CREATE TABLE only_b (id integer)' });
  });
  afterAll(async () => h?.close());

  it('create_backup backs up the connection named by `connection`, or by its old name `database`', async () => {
    const b = await mustCall(h.client, 'create_backup', { connection: 'b' });
    expect(b.connection).toBe('b');
    expect((b.tables as Json[]).map((t) => t.name)).toEqual(['only_b']);
    const a = await mustCall(h.client, 'create_backup', { database: 'a' });
    expect(a.connection).toBe('a');
    expect((a.tables as Json[]).map((t) => t.name)).toEqual(['only_a']);
    expect(backups()).toEqual([a.backup, b.backup].sort());
  });

  it('refuses `connection` and `database` naming different connections, writing nothing', async () => {
    const before = backups();
    const r = await callTool(h.client, 'create_backup', { connection: 'a', database: 'b' });
    expect(r.ok ? 'ran' : r.error.code).toBe('INVALID_INPUT');
    expect(backups()).toEqual(before);
    const same = await mustCall(h.client, 'list_backups', { connection: 'a', database: 'a' });
    expect((same.backups as Json[]).every((x) => x.connection === 'a')).toBe(true);
  });

  it('answers CONNECTION_NOT_FOUND for a connection that is not configured', async () => {
    const r = await callTool(h.client, 'create_backup', { connection: 'nope' });
    expect(r.ok ? 'ran' : r.error.code).toBe('CONNECTION_NOT_FOUND');
  });

  it('list_backups filters by `connection` (and by `database`)', async () => {
    const all = (await mustCall(h.client, 'list_backups', {})).backups as Json[];
    expect(new Set(all.map((x) => x.connection))).toEqual(new Set(['a', 'b']));
    for (const [arg, name] of [['connection', 'a'], ['connection', 'b'], ['database', 'b']] as const) {
      const listed = (await mustCall(h.client, 'list_backups', { [arg]: name })).backups as Json[];
      expect(listed.length, `${arg}=${name}`).toBeGreaterThan(0);
      expect(listed.map((x) => x.connection), `${arg}=${name}`).toEqual(listed.map(() => name));
    }
    expect((await mustCall(h.client, 'list_backups', { connection: 'c' })).backups).toEqual([]);
  });

  it('restore_backup restores into the connection named by `connection`', async () => {
    const listed = (await mustCall(h.client, 'list_backups', { connection: 'b' })).backups as Json[];
    const r = await mustCall(h.client, 'restore_backup', { backup_path: listed[0].name, connection: 'c' });
    expect(r.connection).toBe('c');
    expect(tablesIn(files.c)).toEqual(['only_b']);
    expect(tablesIn(files.a)).toEqual(['only_a']);
  });
});

describe('the tool list', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startInProcess({ default: { url: 'sqlite::memory:' } });
  });
  afterAll(async () => h?.close());

  it(`fits ${MODEL_VISIBLE_BUDGET} bytes as a model sees it and ${WHOLE_BUDGET} with output schemas`, async () => {
    const { tools } = await h.client.listTools();
    const visible = tools.reduce((n, { outputSchema: _o, ...seen }) => n + Buffer.byteLength(JSON.stringify(seen)), 0);
    const whole = tools.reduce((n, t) => n + Buffer.byteLength(JSON.stringify(t)), 0);
    expect(visible).toBeLessThanOrEqual(MODEL_VISIBLE_BUDGET);
    expect(whole).toBeLessThanOrEqual(WHOLE_BUDGET);
  });

  it('lists the tools in one documented order, the same on every call and every server', async () => {
    const first = await h.client.listTools();
    expect(first.tools.map((t) => t.name)).toEqual(ORDER);
    expect(await h.client.listTools()).toEqual(first);
    const other = await startInProcess({ x: { url: 'sqlite::memory:' } });
    try {
      expect(JSON.stringify(await other.client.listTools())).toBe(JSON.stringify(first));
    } finally {
      await other.close();
    }
  });

  it('keeps the backup tools\' old `database` name out of the list and says when to use each tool', async () => {
    const { tools } = await h.client.listTools();
    for (const name of ['create_backup', 'restore_backup', 'list_backups']) {
      const props = Object.keys(tools.find((t) => t.name === name)!.inputSchema.properties ?? {});
      expect(props, name).toContain('connection');
      expect(props, name).not.toContain('database');
    }
    for (const t of tools) expect(t.description!.split(/(?<=\.) /).length, `${t.name}: one sentence`).toBe(1);
  });
});
