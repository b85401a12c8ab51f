/**
 * SQLite's table rebuild under alter_table: a column's type changed and a column
 * dropped on a 10,000-row table with an index, a trigger, a view and a foreign key
 * pointing at it. Every row, the index, the trigger, the view and the foreign key
 * survive; a rebuild that would break a foreign key is rolled back whole; a composite
 * primary key keeps its own column order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness, rowsOf } from '../support/mcp.js';

type Json = Record<string, any>;
const sqlite = BACKENDS.filter((b) => b.name === 'sqlite');

describe.each(sqlite)('SQLite table rebuild', (backend) => {
  let h: Harness;
  const rows = async (query: string): Promise<Json[]> => rowsOf(await mustCall(h.client, 'execute_query', { connection: 'db', query, max_rows: 20_000 }));
  const run = (query: string) => mustCall(h.client, 'execute_query', { connection: 'db', query });

  beforeAll(async () => {
    const db = await freshDatabase(backend, 'rebuild');
    h = await startInProcess({ db: { url: db.url, max_rows: 20_000, max_bytes: 2 * 1024 * 1024 } });
    await mustCall(h.client, 'create_table', { connection: 'db', schema: { table: 'accounts', columns: [
      { name: 'id', type: 'bigint', primary_key: true, auto_increment: true },
      { name: 'score', type: 'integer', nullable: false },
      { name: 'note', type: 'text' },
      { name: 'legacy', type: 'varchar(20)' },
    ], indexes: [{ name: 'accounts_score_idx', columns: ['score'] }] } });
    await mustCall(h.client, 'create_table', { connection: 'db', schema: { table: 'payments', columns: [
      { name: 'id', type: 'bigint', primary_key: true, auto_increment: true },
      { name: 'account_id', type: 'bigint', nullable: false, references: { table: 'accounts', column: 'id', on_delete: 'cascade' } },
    ] } });
    await run(`WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < 10000)
      INSERT INTO accounts (score, note, legacy) SELECT value % 97, 'note ' || value, 'x' FROM s`);
    await run('INSERT INTO payments (account_id) SELECT id FROM accounts WHERE id % 10 = 0');
    await run('CREATE TRIGGER accounts_touch AFTER UPDATE OF note ON accounts BEGIN UPDATE accounts SET score = score + 1000 WHERE id = NEW.id; END');
    await run('CREATE VIEW rich AS SELECT id, score FROM accounts WHERE score > 50');
    await run('DELETE FROM accounts WHERE id = 10000');
  });

  afterAll(async () => {
    await h.close();
  });

  it('changes a type and drops a column, keeping rows, index, trigger, view and foreign key', async () => {
    const before = await rows('SELECT id, score, note FROM accounts ORDER BY id');
    expect(before).toHaveLength(9999);
    const r = await mustCall(h.client, 'alter_table', { connection: 'db', table: 'accounts', allow_data_loss: true,
      changes: { alter_columns: [{ name: 'score', type: 'bigint' }], drop_columns: ['legacy'] } });
    expect(r.rebuilt).toBe(true);
    const table = r.table as Json;
    expect(table.columns.map((c: Json) => `${c.name}:${c.type}`)).toEqual(['id:bigint', 'score:bigint', 'note:text']);
    expect(table.indexes).toEqual([{ name: 'accounts_score_idx', columns: ['score'], unique: false }]);
    expect(await rows('SELECT id, score, note FROM accounts ORDER BY id')).toEqual(before);
    // The foreign key from payments still points at accounts and still cascades.
    const child = (await mustCall(h.client, 'get_schema', { connection: 'db', table: 'payments' })).table as Json;
    expect(child.columns[1].references).toEqual({ table: 'accounts', column: 'id', on_delete: 'cascade', on_update: 'no action' });
    expect((await rows('PRAGMA foreign_key_check'))).toEqual([]);
    await run('DELETE FROM accounts WHERE id = 10');
    expect((await rows('SELECT count(*) AS n FROM payments'))[0].n).toBe(998);
    // The trigger and the view came back.
    await run("UPDATE accounts SET note = 'changed' WHERE id = 1");
    expect((await rows('SELECT score FROM accounts WHERE id = 1'))[0].score).toBe(1001);
    expect((await rows('SELECT count(*) AS n FROM rich'))[0].n).toBeGreaterThan(0);
    // AUTOINCREMENT keeps its high-water mark: id 10000 (deleted) is not handed out again.
    await run("INSERT INTO accounts (score, note) VALUES (1, 'new')");
    expect((await rows("SELECT id FROM accounts WHERE note = 'new'"))[0].id).toBe(10001);
    expect(await rows("SELECT name FROM sqlite_schema WHERE name LIKE 'codomyrmex_rebuild_%'")).toEqual([]);
  });

  it('rolls the whole rebuild back when it would break a foreign key', async () => {
    await mustCall(h.client, 'create_table', { connection: 'db', schema: { table: 'owners', columns: [{ name: 'code', type: 'varchar(10)', primary_key: true }, { name: 'n', type: 'integer' }] } });
    await mustCall(h.client, 'create_table', { connection: 'db', schema: { table: 'pets', columns: [{ name: 'id', type: 'integer', primary_key: true }, { name: 'owner', type: 'varchar(10)', references: { table: 'owners', column: 'code' } }] } });
    await run("INSERT INTO owners VALUES ('a', 1)");
    await run("INSERT INTO pets VALUES (1, 'a')");
    const r = await callTool(h.client, 'alter_table', { connection: 'db', table: 'owners', allow_data_loss: true, changes: { rename_columns: [{ from: 'code', to: 'c' }], drop_columns: ['c'] } });
    expect(r.ok).toBe(false);
    const owners = (await mustCall(h.client, 'get_schema', { connection: 'db', table: 'owners' })).table as Json;
    expect(owners.columns.map((c: Json) => c.name)).toEqual(['code', 'n']);
    expect(await rows('SELECT * FROM pets')).toEqual([{ id: 1, owner: 'a' }]);
  });

  it('keeps a primary key in its own column order, less a dropped key column', async () => {
    await run('CREATE TABLE pairs (a int, b int, note text, legacy text, PRIMARY KEY (b, a))');
    await run("INSERT INTO pairs VALUES (1, 2, 'x', 'y'), (3, 1, 'z', 'w')");
    const keyOf = async (table: string): Promise<string> => (await rows(`SELECT name FROM pragma_table_info('${table}') WHERE pk > 0 ORDER BY pk`)).map((r) => r.name).join(', ');
    const r = await mustCall(h.client, 'alter_table', { connection: 'db', table: 'pairs', allow_data_loss: true,
      changes: { drop_columns: ['legacy'], alter_columns: [{ name: 'note', type: 'varchar(20)' }] } });
    expect(r.rebuilt).toBe(true);
    expect(await keyOf('pairs')).toBe('b, a');
    expect(((await mustCall(h.client, 'get_schema', { connection: 'db', table: 'pairs' })).table as Json).unportable).toEqual(['primary key (b, a) in that order']);
    expect(await rows('SELECT a, b, note FROM pairs ORDER BY a')).toEqual([{ a: 1, b: 2, note: 'x' }, { a: 3, b: 1, note: 'z' }]);
    await run('CREATE TABLE triple (a int, b int, c int, PRIMARY KEY (c, a, b))');
    await mustCall(h.client, 'alter_table', { connection: 'db', table: 'triple', allow_data_loss: true, changes: { drop_columns: ['a'] } });
    expect(await keyOf('triple')).toBe('c, b');
  });

  it('refuses to rebuild a table whose definition has no portable form', async () => {
    await run('CREATE TABLE odd (a TEXT COLLATE NOCASE, b INT)');
    const r = await callTool(h.client, 'alter_table', { connection: 'db', table: 'odd', allow_data_loss: true, changes: { drop_columns: ['b'] } });
    expect(r.ok ? 'ok' : r.error.code).toBe('UNSUPPORTED');
  });
});
