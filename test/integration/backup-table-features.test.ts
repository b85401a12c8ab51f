/**
 * What a MySQL/MariaDB or SQLite table has beyond its portable shape, and a restore into
 * another backend loses, is listed (found by an independent review): a composite primary
 * key whose column order is not the columns' (MariaDB `dept_emp (emp_no, dept_no)` keyed
 * `(dept_no, emp_no)`, SQLite `tags (artist_id, tag)` keyed `(tag, artist_id)`), and
 * SQLite's WITHOUT ROWID and STRICT. get_schema reports them as the table's `unportable`;
 * a same-backend restore keeps the key's order (it runs the source's own DDL); alter_table
 * still works on such tables and keeps the key's order (SQLite's table rebuild:
 * schema-sqlite-rebuild.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, mustCall, rowsOf, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;
interface Lossy { table: string; column?: string; what: string }
const byName = (n: string) => BACKENDS.find((b) => b.name === n);
const all = ['sqlite', 'postgres', 'mysql'].every((b) => byName(b));

describe.runIf(all)('table features across backends: key order, WITHOUT ROWID, STRICT', () => {
  let h: Harness;
  const dbs: Array<{ url: string; drop(): Promise<void> }> = [];
  const names = ['my', 'lite', 'pg1', 'pg2', 'my2', 'lite2', 'my3'] as const;
  const kinds = ['mysql', 'sqlite', 'postgres', 'postgres', 'mysql', 'sqlite', 'mysql'];
  const rows = async (connection: string, query: string): Promise<Json[]> => rowsOf(await mustCall(h.client, 'execute_query', { connection, query }));
  const run = (connection: string, query: string) => mustCall(h.client, 'execute_query', { connection, query });
  const backup = async (connection: string, tables: string[]): Promise<string> => (await mustCall(h.client, 'create_backup', { connection, tables })).backup as string;
  const restore = async (connection: string, backup_path: string): Promise<Lossy[]> => {
    const refused = await callTool(h.client, 'restore_backup', { connection, backup_path });
    expect(refused.ok ? 'ok' : `${refused.error.code} ${refused.error.message}`).toMatch(/^UNSUPPORTED /);
    return (await mustCall(h.client, 'restore_backup', { connection, backup_path, allow_lossy: true })).lossy as Lossy[];
  };
  const pgKey = async (connection: string, table: string): Promise<string> =>
    String((await rows(connection, `SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE contype = 'p' AND conrelid = '${table}'::regclass`))[0].d);
  const myKey = async (connection: string, table: string): Promise<string> =>
    (await rows(connection, `SELECT COLUMN_NAME AS c FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${table}' AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`)).map((r) => r.c).join(', ');
  const liteKey = async (connection: string, table: string): Promise<string> =>
    (await rows(connection, `SELECT name FROM pragma_table_info('${table}') WHERE pk > 0 ORDER BY pk`)).map((r) => r.name).join(', ');

  beforeAll(async () => {
    for (const [i, n] of names.entries()) dbs.push(await freshDatabase(byName(kinds[i])!, `tfeat_${n}`));
    h = await startInProcess(Object.fromEntries(names.map((n, i) => [n, { url: dbs[i].url }])), { backup_dir: tempDir('cmx-tfeat-') });
    await run('my', 'CREATE TABLE dept_emp (emp_no int, dept_no char(4), PRIMARY KEY (dept_no, emp_no))');
    await run('my', "INSERT INTO dept_emp VALUES (10001, 'd005'), (10002, 'd001')");
    await run('lite', 'CREATE TABLE tags (artist_id int, tag text, PRIMARY KEY (tag, artist_id)) WITHOUT ROWID');
    // MariaDB keys no text column without a length (a plan refusal of its own): varchar there.
    await run('lite', 'CREATE TABLE labels (artist_id int, label varchar(20), PRIMARY KEY (label, artist_id)) WITHOUT ROWID');
    await run('lite', 'CREATE TABLE strict_t (id integer PRIMARY KEY, name text) STRICT');
    await run('lite', 'CREATE TABLE pairs (a int, b int, PRIMARY KEY (b, a))');
    await run('lite', "INSERT INTO tags VALUES (1, 'rock'), (2, 'jazz')");
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    for (const d of dbs) await d.drop();
  });

  it('get_schema reports the key order and SQLite table options as the table\'s unportable', async () => {
    const my = (await mustCall(h.client, 'get_schema', { connection: 'my', table: 'dept_emp' })).table as Json;
    expect(my.unportable).toEqual(['primary key (dept_no, emp_no) in that order']);
    const tags = (await mustCall(h.client, 'get_schema', { connection: 'lite', table: 'tags' })).table as Json;
    expect(tags.unportable).toEqual(['primary key (tag, artist_id) in that order', 'WITHOUT ROWID']);
    const strict = (await mustCall(h.client, 'get_schema', { connection: 'lite', table: 'strict_t' })).table as Json;
    expect(strict.unportable).toEqual(['STRICT']);
  });

  it('MariaDB -> PostgreSQL lists the key order it loses', async () => {
    const lossy = await restore('pg1', await backup('my', ['dept_emp']));
    expect(lossy).toEqual([{ table: 'dept_emp', what: 'primary key (dept_no, emp_no) in that order: not carried across backends' }]);
    expect(await pgKey('pg1', 'dept_emp')).toBe('PRIMARY KEY (emp_no, dept_no)');
  });

  it('SQLite -> PostgreSQL and -> MariaDB list the key order, WITHOUT ROWID and STRICT', async () => {
    const byTable = (l: Lossy[]) => [...l].sort((a, b) => a.table.localeCompare(b.table));
    expect(byTable(await restore('pg2', await backup('lite', ['tags', 'strict_t'])))).toEqual([
      { table: 'strict_t', what: 'STRICT: not carried across backends' },
      { table: 'tags', what: 'primary key (tag, artist_id) in that order: not carried across backends' },
      { table: 'tags', what: 'WITHOUT ROWID: not carried across backends' },
    ]);
    expect(await pgKey('pg2', 'tags')).toBe('PRIMARY KEY (artist_id, tag)');
    expect(byTable(await restore('my2', await backup('lite', ['labels', 'strict_t'])))).toEqual([
      { table: 'labels', what: 'primary key (label, artist_id) in that order: not carried across backends' },
      { table: 'labels', what: 'WITHOUT ROWID: not carried across backends' },
      { table: 'strict_t', what: 'STRICT: not carried across backends' },
    ]);
    expect(await myKey('my2', 'labels')).toBe('artist_id, label');
  });

  it('same-backend restores keep the key order and list nothing', async () => {
    const my = await mustCall(h.client, 'restore_backup', { connection: 'my3', backup_path: await backup('my', ['dept_emp']) });
    expect(my.lossy).toEqual([]);
    expect(await myKey('my3', 'dept_emp')).toBe('dept_no, emp_no');
    const lite = await mustCall(h.client, 'restore_backup', { connection: 'lite2', backup_path: await backup('lite', ['tags', 'pairs']) });
    expect(lite.lossy).toEqual([]);
    expect(await liteKey('lite2', 'tags')).toBe('tag, artist_id');
    expect(await liteKey('lite2', 'pairs')).toBe('b, a');
    expect(String((await rows('lite2', "SELECT sql FROM sqlite_schema WHERE name = 'tags'"))[0].sql)).toMatch(/WITHOUT ROWID$/);
  });

  it('alter_table works on such tables and keeps the key order (MariaDB, SQLite ADD COLUMN)', async () => {
    await mustCall(h.client, 'alter_table', { connection: 'my', table: 'dept_emp', allow_data_loss: true, changes: { add_columns: [{ name: 'since', type: 'date' }], alter_columns: [{ name: 'dept_no', type: 'char(6)' }] } });
    expect(await myKey('my', 'dept_emp')).toBe('dept_no, emp_no');
    const added = await mustCall(h.client, 'alter_table', { connection: 'lite', table: 'tags', changes: { add_columns: [{ name: 'weight', type: 'integer' }] } });
    expect(added.rebuilt).toBe(false);
    expect(await liteKey('lite', 'tags')).toBe('tag, artist_id');
  });
});
