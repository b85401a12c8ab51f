/**
 * The SchemaManager against hostile and awkward input on every backend (each case
 * once found by review): fragments that try to break out of the DDL, names that
 * differ only in case, constraints a change must not lose, and record_migration
 * failures that must leave nothing behind.
 */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness, rowsOf } from '../support/mcp.js';

type Json = Record<string, any>;

describe.each(BACKENDS)('schema against hostile input on $name', (backend: TestBackend) => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  const dir = tempDir('cmx-hostile-mig-');
  const run = (query: string) => mustCall(h.client, 'execute_query', { connection: 'db', query });
  const tableNames = async (): Promise<string[]> => ((await mustCall(h.client, 'get_schema', { connection: 'db', limit: 1000 })).tables as Json[]).map((t) => t.table);
  const columnsOf = async (table: string): Promise<string[]> => (((await mustCall(h.client, 'get_schema', { connection: 'db', table })).table as Json).columns as Json[]).map((c) => c.name);

  beforeAll(async () => {
    db = await freshDatabase(backend, 'hostile');
    h = await startInProcess({ db: { url: db.url, migrations_dir: dir } });
    await run('CREATE TABLE victim (id integer PRIMARY KEY)');
  });

  afterAll(async () => {
    await h.close();
    await db.drop();
  });

  it('refuses unterminated quotes in expressions that would swallow the DDL after them', async () => {
    const attempts = [
      [{ name: 'a', type: 'text', default: { sql: '$$' } }, { name: '$$));DROP TABLE victim;CREATE TABLE x(y text default($$', type: 'text' }, { name: 'c', type: 'text', default: { sql: '$$' } }],
      [{ name: 'a', type: 'varchar(200)', default: { sql: "'" } }, { name: 'b', type: 'integer', comment: ') NULL, injected_col INT NULL, z VARCHAR(200) DEFAULT (' }, { name: 'c', type: 'varchar(200)', default: { sql: "'" } }],
      [{ name: 'a', type: 'varchar(20)', default: { sql: '"' } }, { name: 'b', type: 'integer' }],
      [{ name: 'a', type: 'varchar(20)', default: { sql: '/*' } }],
    ];
    for (const columns of attempts) {
      // Refused up front, or (MySQL, where $$ is no quote) by the database as a bad default: never run.
      const r = await callTool(h.client, 'create_table', { connection: 'db', schema: { table: 'inj', columns } });
      expect(r.ok).toBe(false);
    }
    const checks = await callTool(h.client, 'create_table', { connection: 'db', schema: { table: 'inj', columns: [{ name: 'x', type: 'text' }], checks: [{ expression: "x = 'a" }, { expression: "') ; DROP TABLE victim; --" }] } });
    expect(checks.ok ? 'ok' : checks.error.code).toBe('INVALID_INPUT');
    expect(await tableNames()).toEqual(['victim']);
  });

  it('refuses a native type that carries a constraint', async () => {
    for (const native of ['integer REFERENCES victim ON DELETE CASCADE', 'int AUTO_INCREMENT', 'text COLLATE C', 'INT PRIMARY KEY ON CONFLICT REPLACE']) {
      const r = await callTool(h.client, 'create_table', { connection: 'db', schema: { table: 'nat', columns: [{ name: 'a', type: 'native', native }] } });
      expect(r.ok ? 'ok' : r.error.code).toBe('INVALID_INPUT');
    }
  });

  it('refuses a record_migration whose SQL holds a migration marker line, and writes nothing', async () => {
    const r = await callTool(h.client, 'create_table', { connection: 'db', record_migration: true, schema: { table: 'marked', columns: [{ name: 'a', type: 'text', default: 'x\n-- migrate:no-transaction\ny' }] } });
    expect(r.ok ? 'ok' : r.error.code).toBe('INVALID_INPUT');
    expect(readdirSync(dir).filter((f) => f.endsWith('.sql'))).toEqual([]);
  });

  it('removes the migration file and history row when a recorded change fails at once', async () => {
    await mustCall(h.client, 'create_table', { connection: 'db', schema: { table: 'dup', columns: [{ name: 'id', type: 'integer', primary_key: true }, { name: 'v', type: 'integer' }] } });
    await run('INSERT INTO dup (id, v) VALUES (1, 5)');
    await run('INSERT INTO dup (id, v) VALUES (2, 5)');
    const r = await callTool(h.client, 'alter_table', { connection: 'db', table: 'dup', record_migration: true, changes: { add_columns: [{ name: 'n', type: 'integer', default: 5 }], add_indexes: [{ columns: ['v'], unique: true }] } });
    // Refused while planning (PostgreSQL, SQLite validate in a rolled-back transaction), or applied,
    // failed at its only statement and forgotten (MySQL).
    expect(r.ok ? 'ok' : r.error.code).toMatch(/CONSTRAINT_VIOLATION|MIGRATION_FAILED/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.sql'))).toEqual([]);
    const status = await mustCall(h.client, 'get_migration_status', { connection: 'db' });
    expect(status.problems).toEqual([]);
    // One ALTER on MySQL too: the failed unique index did not leave the added column behind.
    expect(await columnsOf('dup')).toEqual(['id', 'v']);
  });

  it('drops a column that has a foreign key', async () => {
    await mustCall(h.client, 'create_table', { connection: 'db', schema: { table: 'child', columns: [{ name: 'id', type: 'integer', primary_key: true }, { name: 'pid', type: 'integer', references: { table: 'victim', column: 'id' } }] } });
    await mustCall(h.client, 'alter_table', { connection: 'db', table: 'child', allow_data_loss: true, changes: { drop_columns: ['pid'] } });
    expect(await columnsOf('child')).toEqual(['id']);
  });

  it('adds a column with a foreign key that is enforced', async () => {
    await mustCall(h.client, 'alter_table', { connection: 'db', table: 'child', changes: { add_columns: [{ name: 'vid', type: 'integer', references: { table: 'victim', column: 'id' } }] } });
    const col = (((await mustCall(h.client, 'get_schema', { connection: 'db', table: 'child' })).table as Json).columns as Json[])[1];
    expect(col.references).toMatchObject({ table: 'victim', column: 'id' });
    const orphan = await callTool(h.client, 'execute_query', { connection: 'db', query: 'INSERT INTO child (id, vid) VALUES (1, 999)' });
    expect(orphan.ok ? 'ok' : orphan.error.code).toBe('CONSTRAINT_VIOLATION');
  });

  it('lists a unique index named after its column as an index, and drops it', async () => {
    await mustCall(h.client, 'create_table', { connection: 'db', schema: { table: 'uq', columns: [{ name: 'id', type: 'integer', primary_key: true }, { name: 'email', type: 'varchar(100)' }], indexes: [{ name: 'email', columns: ['email'], unique: true }] } });
    const t = (await mustCall(h.client, 'get_schema', { connection: 'db', table: 'uq' })).table as Json;
    expect(t.indexes).toEqual([{ name: 'email', columns: ['email'], unique: true }]);
    expect(t.columns[1].unique).toBe(false);
    await mustCall(h.client, 'alter_table', { connection: 'db', table: 'uq', changes: { drop_indexes: ['email'] } });
    expect(((await mustCall(h.client, 'get_schema', { connection: 'db', table: 'uq' })).table as Json).indexes).toEqual([]);
  });

  it('generates DDL for every backend, reporting a backend that refuses it beside the others', async () => {
    const r = await mustCall(h.client, 'generate_schema', { connection: 'db', all_backends: true, model: { type: 'object', title: 'Notes', properties: { id: { type: 'string' }, body: { type: 'string' } } } });
    expect(((r.schema as Json).columns as Json[])[0]).toMatchObject({ name: 'id', type: 'varchar(255)', primary_key: true });
    expect(Object.keys(r.ddl as Json).sort()).toEqual(['mysql', 'postgres', 'sqlite']);
  });

  it.runIf(backend.name === 'postgres')('PostgreSQL: drops the column whose name has that exact case', async () => {
    await run('CREATE TABLE cc (id int PRIMARY KEY, "a" text, "A" text)');
    await run(`INSERT INTO cc VALUES (1, 'lower', 'upper')`);
    await mustCall(h.client, 'alter_table', { connection: 'db', table: 'cc', allow_data_loss: true, changes: { drop_columns: ['A'] } });
    expect(rowsOf(await mustCall(h.client, 'execute_query', { connection: 'db', query: 'SELECT * FROM cc' }))).toEqual([{ id: 1, a: 'lower' }]);
  });

  it.runIf(backend.name === 'sqlite')('SQLite: a rebuild keeps multi-column UNIQUE constraints and plain integer keys', async () => {
    await run('CREATE TABLE mu (id INTEGER PRIMARY KEY, a INT, b INT, c INT, UNIQUE (a, b))');
    await run('INSERT INTO mu (a, b, c) VALUES (1, 1, 1)');
    await mustCall(h.client, 'alter_table', { connection: 'db', table: 'mu', allow_data_loss: true, changes: { drop_columns: ['c'] } });
    const dup = await callTool(h.client, 'execute_query', { connection: 'db', query: 'INSERT INTO mu (a, b) VALUES (1, 1)' });
    expect(dup.ok ? 'ok' : dup.error.code).toBe('CONSTRAINT_VIOLATION');
    const sql = rowsOf(await mustCall(h.client, 'execute_query', { connection: 'db', query: "SELECT sql FROM sqlite_schema WHERE name = 'mu'" }));
    expect(sql[0].sql).not.toMatch(/AUTOINCREMENT/);
  });

  it.runIf(backend.name === 'sqlite')('SQLite: refuses to drop a column a view or trigger uses, and changes nothing', async () => {
    await run('CREATE TABLE vt (id INTEGER PRIMARY KEY, gone TEXT, kept TEXT)');
    await run('CREATE TABLE vlog (v TEXT)');
    await run('CREATE TRIGGER vt_ins AFTER INSERT ON vt BEGIN INSERT INTO vlog VALUES (NEW.gone); END');
    const r = await callTool(h.client, 'alter_table', { connection: 'db', table: 'vt', allow_data_loss: true, changes: { drop_columns: ['gone'] } });
    expect(r.ok).toBe(false);
    expect(await columnsOf('vt')).toEqual(['id', 'gone', 'kept']);
    await run("INSERT INTO vt (gone, kept) VALUES ('g', 'k')");
    expect(rowsOf(await mustCall(h.client, 'execute_query', { connection: 'db', query: 'SELECT v FROM vlog' }))).toEqual([{ v: 'g' }]);
  });
});
