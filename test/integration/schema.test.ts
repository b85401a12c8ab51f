/**
 * The SchemaManager on every backend through a real MCP client: a model covering
 * every portable type round-trips through generate_schema, create_table and
 * get_schema; hostile identifiers stay identifiers; alter_table changes, refusals
 * and dry runs; record_migration; the schema resources and their notifications.
 */
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness, rowsOf } from '../support/mcp.js';

type Json = Record<string, any>;

/** Every portable type, nullable and not, as a compact model. */
const EVERY_TYPE = {
  id: 'bigint', small: 'smallint', count: 'integer', big: 'bigint?', price: 'decimal(12,2)', ratio: 'real?', score: 'double?',
  active: 'boolean', name: 'varchar(100)', code: 'char(3)?', body: 'text?', born: 'date?', at: 'time?', created: 'timestamp?',
  seen: 'timestamptz?', ref: 'uuid?', doc: 'json?', blob: 'binary?', parent_id: 'bigint?',
};

/** The schema as get_schema reports it, minus what only PostgreSQL adds. */
const comparable = (t: Json): Json => {
  const { schema: _schema, ...rest } = t;
  return rest;
};

describe.each(BACKENDS)('schema on $name', (backend: TestBackend) => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  const dir = tempDir('cmx-schema-mig-');

  const count = async (table: string, quote = (s: string) => s): Promise<number> => {
    const r = await mustCall(h.client, 'execute_query', { connection: 'db', query: `SELECT count(*) AS n FROM ${quote(table)}` });
    return Number(rowsOf(r)[0].n);
  };
  const q = (name: string): string => (backend.name === 'mysql' ? `\`${name.replace(/`/g, '``')}\`` : `"${name.replace(/"/g, '""')}"`);

  beforeAll(async () => {
    db = await freshDatabase(backend, 'schema');
    // mig2: the same database with its own migrations directory (rolled-back files stay pending in `dir`).
    h = await startInProcess({ db: { url: db.url, migrations_dir: dir }, ro: { url: db.url, read_only: true, migrations_dir: dir }, mig2: { url: db.url, migrations_dir: tempDir('cmx-schema-mig2-') } });
  });

  afterAll(async () => {
    await h.close();
    await db.drop();
  });

  it('round-trips every portable type: generate_schema, create_table, get_schema', async () => {
    await mustCall(h.client, 'create_table', { connection: 'db', schema: { table: 'rt_parent', columns: [{ name: 'id', type: 'bigint', primary_key: true, auto_increment: true }] } });
    const generated = await mustCall(h.client, 'generate_schema', { connection: 'db', model: EVERY_TYPE, table: 'rt_every' });
    const schema = generated.schema as Json;
    // No index or comment in the model: one CREATE TABLE on every backend.
    expect((generated.ddl as Json)[backend.name]).toHaveLength(1);
    expect((generated.ddl as Json)[backend.name][0]).toMatch(/^CREATE TABLE/);
    // Keys, defaults, uniques, an index and a reference on top of what the model says.
    const col = (name: string): Json => schema.columns.find((c: Json) => c.name === name);
    Object.assign(col('active'), { default: true });
    Object.assign(col('count'), { default: 42 });
    Object.assign(col('price'), { default: '12.50' });
    Object.assign(col('name'), { default: "it's \\ ok", comment: 'display name' });
    Object.assign(col('created'), { default: { sql: 'CURRENT_TIMESTAMP' } });
    Object.assign(col('code'), { unique: true });
    Object.assign(col('parent_id'), { references: { table: 'rt_parent', column: 'id', on_delete: 'cascade', on_update: 'no action' } });
    schema.indexes = [{ name: 'rt_every_name_born_idx', columns: ['name', 'born'], unique: false }];
    const created = await mustCall(h.client, 'create_table', { connection: 'db', schema });
    expect(created.created).toBe(true);
    const read = await mustCall(h.client, 'get_schema', { connection: 'db', table: 'rt_every' });
    const expected = structuredClone(schema);
    if (backend.name === 'sqlite') delete expected.columns.find((c: Json) => c.name === 'name').comment;
    // SQLite has one float, of 8 bytes: a `real` column reads back as `double` (its values are kept whole, never cut to 4 bytes).
    if (backend.name === 'sqlite') for (const c of expected.columns.filter((x: Json) => x.type === 'real')) c.type = 'double';
    expect(comparable(read.table as Json)).toEqual(comparable(expected));
    expect(comparable(created.table as Json)).toEqual(comparable(expected));
  });

  it('stores and returns values of every type in the created table', async () => {
    const r = await callTool(h.client, 'execute_query', {
      connection: 'db',
      query: 'INSERT INTO rt_every (small, count, price, active, name, doc, ref) VALUES (?, ?, ?, ?, ?, ?, ?)',
      params: [7, 8, '1234567890.12', true, 'x', { a: [1, 'two'] }, '0b5e6c2e-7c55-4f8b-9d1a-3c5a2b1e0f99'],
    });
    expect(r.ok).toBe(true);
    const rows = rowsOf(await mustCall(h.client, 'execute_query', { connection: 'db', query: 'SELECT price, name, doc FROM rt_every' }));
    expect(String(rows[0].price)).toBe('1234567890.12');
    expect(rows[0].name).toBe('x');
    // A JSON document stays a document (PostgreSQL once stored it as a JSON string).
    const doc = rows[0].doc;
    expect(typeof doc === 'string' ? JSON.parse(doc) : doc).toEqual({ a: [1, 'two'] });
  });

  it('refuses invalid json in a json column (SQLite: by the json_valid check)', async () => {
    const r = await callTool(h.client, 'execute_query', { connection: 'db', query: 'INSERT INTO rt_every (small, count, price, active, name, doc) VALUES (1, 1, 1, true, ?, ?)', params: ['y', '{not json'] });
    expect(r.ok).toBe(false);
  });

  it('keeps hostile identifiers as identifiers everywhere', async () => {
    const table = backend.name === 'mysql' ? 'Ord"er `Lines` é; DROP TABLE rt_parent; --' : 'Ord"er `Lines` é; DROP TABLE rt_parent; -- 🐜';
    const columns = [
      { name: 'id', type: 'integer', primary_key: true },
      { name: 'select', type: 'varchar(40)', default: "'); DROP TABLE rt_parent; --" },
      { name: 'from table', type: 'integer', nullable: false, default: 0 },
      { name: "quo'te\"d", type: 'text' },
      { name: 'naïve ☃', type: 'boolean' },
    ];
    const schema = { table, columns, indexes: [{ columns: ['select', 'from table'] }] };
    await mustCall(h.client, 'create_table', { connection: 'db', schema });
    const read = (await mustCall(h.client, 'get_schema', { connection: 'db', table })).table as Json;
    expect(read.table).toBe(table);
    expect(read.columns.map((c: Json) => c.name)).toEqual(columns.map((c) => c.name));
    expect(read.columns[1].default).toBe("'); DROP TABLE rt_parent; --");
    expect(await count('rt_parent')).toBe(0);
    await mustCall(h.client, 'alter_table', { connection: 'db', table, changes: { rename_columns: [{ from: 'select', to: 'where"`' }], add_columns: [{ name: 'new; col', type: 'text' }] } });
    const after = (await mustCall(h.client, 'get_schema', { connection: 'db', table })).table as Json;
    expect(after.columns.map((c: Json) => c.name)).toEqual(['id', 'where"`', 'from table', "quo'te\"d", 'naïve ☃', 'new; col']);
    expect(after.indexes[0].columns).toEqual(['where"`', 'from table']);
    expect(await count(table, q)).toBe(0);
  });

  it('refuses expressions that could break out of the DDL', async () => {
    for (const sql of ['1); DROP TABLE rt_parent; --', '1 -- comment', '(1', '1)']) {
      const r = await callTool(h.client, 'create_table', { connection: 'db', schema: { table: 'rt_bad', columns: [{ name: 'a', type: 'integer', default: { sql } }] } });
      expect(r.ok ? 'ok' : r.error.code).toBe('INVALID_INPUT');
    }
    expect(await count('rt_parent')).toBe(0);
  });

  it('refuses a table that exists, unless if_not_exists', async () => {
    const schema = { table: 'rt_parent', columns: [{ name: 'id', type: 'bigint', primary_key: true }] };
    const r = await callTool(h.client, 'create_table', { connection: 'db', schema });
    expect(r.ok ? 'ok' : r.error.code).toBe('DUPLICATE_OBJECT');
    const again = await mustCall(h.client, 'create_table', { connection: 'db', schema, if_not_exists: true });
    expect(again.created).toBe(false);
  });

  it('dry-runs create_table and alter_table without changing anything', async () => {
    const dry = await mustCall(h.client, 'create_table', { connection: 'db', dry_run: true, schema: { table: 'rt_dry', columns: [{ name: 'a', type: 'integer' }] } });
    expect((dry.statements as string[])[0]).toMatch(/^CREATE TABLE/);
    expect(dry.validated).toBe(backend.name !== 'mysql');
    expect((await callTool(h.client, 'get_schema', { connection: 'db', table: 'rt_dry' })).ok).toBe(false);
    const alter = await mustCall(h.client, 'alter_table', { connection: 'db', table: 'rt_parent', dry_run: true, changes: { add_columns: [{ name: 'label', type: 'text' }] } });
    expect((alter.statements as string[]).join(' ')).toMatch(/label/);
    const read = (await mustCall(h.client, 'get_schema', { connection: 'db', table: 'rt_parent' })).table as Json;
    expect(read.columns.map((c: Json) => c.name)).toEqual(['id']);
  });

  it('refuses data loss unless allowed, and says what would be lost', async () => {
    await mustCall(h.client, 'create_table', { connection: 'db', schema: { table: 'rt_loss', columns: [{ name: 'id', type: 'integer', primary_key: true }, { name: 'name', type: 'varchar(50)' }, { name: 'n', type: 'bigint' }] } });
    await mustCall(h.client, 'execute_query', { connection: 'db', query: "INSERT INTO rt_loss (id, name, n) VALUES (1, 'abc', 5)" });
    for (const changes of [{ drop_columns: ['name'] }, { alter_columns: [{ name: 'n', type: 'integer' }] }, { alter_columns: [{ name: 'name', type: 'varchar(10)' }] }]) {
      const r = await callTool(h.client, 'alter_table', { connection: 'db', table: 'rt_loss', changes });
      expect(r.ok ? 'ok' : r.error.code).toBe('INVALID_INPUT');
      if (!r.ok) expect((r.error.details.losses as string[]).length).toBe(1);
    }
    const widened = await mustCall(h.client, 'alter_table', { connection: 'db', table: 'rt_loss', changes: { alter_columns: [{ name: 'name', type: 'varchar(200)', nullable: false, default: 'none' }] } });
    expect((widened.table as Json).columns[1]).toMatchObject({ name: 'name', type: 'varchar(200)', nullable: false, default: 'none' });
    await mustCall(h.client, 'alter_table', { connection: 'db', table: 'rt_loss', allow_data_loss: true, changes: { drop_columns: ['n'] } });
    const rows = rowsOf(await mustCall(h.client, 'execute_query', { connection: 'db', query: 'SELECT * FROM rt_loss' }));
    expect(rows).toEqual([{ id: 1, name: 'abc' }]);
  });

  it('renames a table and adds and drops indexes', async () => {
    await mustCall(h.client, 'alter_table', { connection: 'db', table: 'rt_loss', changes: { add_indexes: [{ columns: ['name'], unique: true }], rename_to: 'rt_renamed' } });
    const read = (await mustCall(h.client, 'get_schema', { connection: 'db', table: 'rt_renamed' })).table as Json;
    expect(read.indexes).toEqual([{ name: 'rt_renamed_name_idx', columns: ['name'], unique: true }]);
    await mustCall(h.client, 'alter_table', { connection: 'db', table: 'rt_renamed', changes: { drop_indexes: ['rt_renamed_name_idx'] } });
    expect(((await mustCall(h.client, 'get_schema', { connection: 'db', table: 'rt_renamed' })).table as Json).indexes).toEqual([]);
  });

  it('records a change as a migration that rolls back', async () => {
    const created = await mustCall(h.client, 'create_table', { connection: 'db', record_migration: true, schema: { table: 'rt_recorded', columns: [{ name: 'id', type: 'bigint', primary_key: true, auto_increment: true }, { name: 'a', type: 'text' }] } });
    expect(created.migration).toMatchObject({ file: expect.stringMatching(/_create_rt_recorded\.sql$/) });
    const altered = await mustCall(h.client, 'alter_table', { connection: 'db', table: 'rt_recorded', record_migration: true, changes: { add_columns: [{ name: 'b', type: 'integer', nullable: false, default: 3 }], rename_columns: [{ from: 'a', to: 'aa' }] } });
    expect(altered.migration).toBeTruthy();
    const status = await mustCall(h.client, 'get_migration_status', { connection: 'db' });
    expect((status.counts as Json).applied).toBe(2);
    expect(((await mustCall(h.client, 'get_schema', { connection: 'db', table: 'rt_recorded' })).table as Json).columns.map((c: Json) => c.name)).toEqual(['id', 'aa', 'b']);
    await mustCall(h.client, 'rollback_migration', { connection: 'db' });
    expect(((await mustCall(h.client, 'get_schema', { connection: 'db', table: 'rt_recorded' })).table as Json).columns.map((c: Json) => c.name)).toEqual(['id', 'a']);
    await mustCall(h.client, 'rollback_migration', { connection: 'db' });
    expect((await callTool(h.client, 'get_schema', { connection: 'db', table: 'rt_recorded' })).ok).toBe(false);
  });

  it('records a mixed change whose generated down restores the exact schema', async () => {
    const schema = { table: 'rt_mixed', columns: [
      { name: 'id', type: 'integer', primary_key: true }, { name: 'a', type: 'varchar(10)', default: 'x' },
      { name: 'c', type: 'integer', nullable: false, default: 1 }, { name: 'd', type: 'smallint' },
    ], indexes: [{ columns: ['c'] }, { columns: ['a', 'd'], unique: true }] };
    await mustCall(h.client, 'create_table', { connection: 'mig2', schema });
    const before = ((await mustCall(h.client, 'get_schema', { connection: 'mig2', table: 'rt_mixed' })).table as Json);
    const r = await mustCall(h.client, 'alter_table', { connection: 'mig2', table: 'rt_mixed', record_migration: true, allow_data_loss: true, changes: {
      rename_columns: [{ from: 'a', to: 'b' }], drop_columns: ['c'], alter_columns: [{ name: 'd', type: 'bigint', default: 5 }],
      add_columns: [{ name: 'a', type: 'text' }], add_indexes: [{ columns: ['d'] }], rename_to: 'rt_mixed2',
    } });
    expect(((r.table as Json).columns as Json[]).map((c) => c.name)).toEqual(['id', 'b', 'd', 'a']);
    await mustCall(h.client, 'rollback_migration', { connection: 'mig2' });
    const after = ((await mustCall(h.client, 'get_schema', { connection: 'mig2', table: 'rt_mixed' })).table as Json);
    // Everything comes back; a dropped column returns at the end of the table (ADD COLUMN appends).
    const byName = (t: Json) => ({ ...t, columns: [...t.columns].sort((x: Json, y: Json) => (x.name < y.name ? -1 : 1)) });
    expect(byName(after)).toEqual(byName(before));
    expect(after.columns.map((c: Json) => c.name)).toEqual(['id', 'a', 'd', 'c']);
    expect((await callTool(h.client, 'get_schema', { connection: 'mig2', table: 'rt_mixed2' })).ok).toBe(false);
  });

  it('refuses changes on a read-only connection', async () => {
    for (const [tool, args] of [['create_table', { schema: { table: 'rt_ro', columns: [{ name: 'a', type: 'integer' }] } }], ['alter_table', { table: 'rt_parent', changes: { add_columns: [{ name: 'x', type: 'text' }] } }]] as const) {
      const r = await callTool(h.client, tool, { connection: 'ro', ...args });
      expect(r.ok ? 'ok' : r.error.code).toBe('READ_ONLY_VIOLATION');
    }
  });

  it('lists every table, paged, and answers schema resources with notifications', async () => {
    const all = await mustCall(h.client, 'get_schema', { connection: 'db', limit: 2 });
    expect((all.tables as Json[]).length).toBe(2);
    expect(all.next_offset).toBe(2);
    const names = [(all.tables as Json[])[0].table, (all.tables as Json[])[1].table];
    const next = await mustCall(h.client, 'get_schema', { connection: 'db', limit: 1000, offset: 2 });
    expect((next.tables as Json[]).map((t) => t.table)).not.toContain(names[0]);
    const one = await h.client.readResource({ uri: 'schema://db/rt_parent' });
    expect(JSON.parse(String((one.contents[0] as { text: string }).text)).table.table).toBe('rt_parent');
    const completion = await h.client.complete({ ref: { type: 'ref/resource', uri: 'schema://{connection}/{table}' }, argument: { name: 'table', value: 'rt_p' }, context: { arguments: { connection: 'db' } } });
    expect(completion.completion.values).toContain('rt_parent');
    const updates: string[] = [];
    h.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { updates.push(n.params.uri); });
    await h.client.subscribeResource({ uri: 'schema://db/rt_parent' });
    await mustCall(h.client, 'alter_table', { connection: 'db', table: 'rt_parent', changes: { add_columns: [{ name: 'note', type: 'text' }] } });
    await expect.poll(() => updates).toContain('schema://db/rt_parent');
  });
});
