/**
 * A backup of named tables whose foreign keys reference a table it leaves out. PostgreSQL
 * cannot make such a key, and SQLite's check after the load refuses the rows: the restore
 * is refused first, naming the tables it needs (PostgreSQL failed halfway with `relation
 * "parent" does not exist`, SQLite with "the restored rows break a foreign key"), and goes
 * through once the target has them. MySQL/MariaDB (checks off during a restore) makes the
 * key anyway, as mariadb-dump's restore of one table does: unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';

const PARENT = 'CREATE TABLE parent (id int PRIMARY KEY)';
const CHILD = 'CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id), other_id int)';

describe.each(BACKENDS.map((b) => [b.name, b] as const))('named tables whose keys reference a table left out, on %s', (name, backend) => {
  const dbs: Record<string, { url: string; drop(): Promise<void> }> = {};
  let h: Harness;
  const run = async (c: string, query: string): Promise<void> => void (await mustCall(h.client, 'execute_query', { connection: c, query }));

  beforeAll(async () => {
    for (const n of ['src', 'empty', 'ready']) dbs[n] = await freshDatabase(backend, `nref_${n}`);
    if (name === 'sqlite') for (const n of ['src', 'empty', 'ready']) dbs[n] = { url: `sqlite://${tempDir('cmx-nref-')}/${n}.db`, drop: async () => undefined };
    h = await startInProcess(Object.fromEntries(Object.entries(dbs).map(([n, d]) => [n, { url: d.url }])), { backup_dir: tempDir('cmx-nref-bk-') });
    for (const q of [PARENT, CHILD, 'INSERT INTO parent VALUES (1)', 'INSERT INTO child VALUES (1, 1, 7)']) await run('src', q);
    await run('ready', PARENT);
    await run('ready', 'INSERT INTO parent VALUES (1)');
    await mustCall(h.client, 'create_backup', { database: 'src', tables: ['child'], output_path: 'child.cmx.gz' });
  });

  afterAll(async () => {
    await h?.close();
    for (const d of Object.values(dbs)) await d.drop();
  });

  it(name !== 'mysql' ? 'into a database without the table: refused first, naming it' : 'into a database without the table: restored, as its own tools do', async () => {
    const r = await callTool(h.client, 'restore_backup', { database: 'empty', backup_path: 'child.cmx.gz' });
    if (name !== 'mysql') {
      const parent = name === 'postgres' ? 'public.parent' : 'parent';
      expect(r.ok ? 'ok' : r.error.code).toBe('UNDEFINED_OBJECT');
      if (!r.ok) {
        expect(r.error.message).toContain(`reference "${parent}" (from child (parent_id)), which neither the backup nor "empty" has`);
        expect(r.error.details.referenced).toEqual([name === 'postgres' ? { table: 'parent', schema: 'public' } : { table: 'parent' }]);
      }
      const left = await callTool(h.client, 'execute_query', { connection: 'empty', query: 'SELECT 1 FROM child' });
      expect(left.ok ? 'ok' : left.error.code).toBe('UNDEFINED_OBJECT');
    } else {
      expect(r.ok ? 'ok' : `${r.error.code} ${r.error.message}`).toBe('ok');
    }
  });

  it('into a database that has it: restored', async () => {
    const r = await mustCall(h.client, 'restore_backup', { database: 'ready', backup_path: 'child.cmx.gz' });
    expect(r.rows).toBe(1);
  });
});

describe.runIf(BACKENDS.some((b) => b.name === 'sqlite'))('SQLite keys that spell their table in another case', () => {
  const dir = tempDir('cmx-nref-case-');
  let h: Harness;
  beforeAll(async () => {
    h = await startInProcess({ src: { url: `sqlite://${dir}/src.db` }, tgt: { url: `sqlite://${dir}/tgt.db` }, one: { url: `sqlite://${dir}/one.db` }, app: { url: `sqlite://${dir}/app.db` } }, { backup_dir: tempDir('cmx-nref-case-bk-') });
    for (const query of ['CREATE TABLE parent (id INTEGER PRIMARY KEY)', 'CREATE TABLE child (id INTEGER PRIMARY KEY, p INT REFERENCES Parent (id))',
      'CREATE TABLE selfr (id INTEGER PRIMARY KEY, up INT REFERENCES SELFR (id))', 'INSERT INTO parent VALUES (1)', 'INSERT INTO child VALUES (1, 1)', 'INSERT INTO selfr VALUES (1, NULL), (2, 1)']) {
      await mustCall(h.client, 'execute_query', { connection: 'src', query });
    }
    await mustCall(h.client, 'create_backup', { database: 'src', output_path: 'whole.cmx.gz' });
    await mustCall(h.client, 'create_backup', { database: 'src', tables: ['selfr'], output_path: 'selfr.cmx.gz' });
    await mustCall(h.client, 'create_backup', { database: 'src', tables: ['child'], output_path: 'child.cmx.gz' });
  });
  afterAll(async () => { await h?.close(); });

  it('a whole database and a self-reference restore as before', async () => {
    expect((await mustCall(h.client, 'restore_backup', { database: 'tgt', backup_path: 'whole.cmx.gz' })).rows).toBe(4);
    expect((await mustCall(h.client, 'restore_backup', { database: 'one', backup_path: 'selfr.cmx.gz' })).rows).toBe(2);
  });

  it('mode append that makes the table is refused the same way, naming what it needs', async () => {
    const r = await callTool(h.client, 'restore_backup', { database: 'app', backup_path: 'child.cmx.gz', mode: 'append' });
    expect(r.ok ? 'ok' : r.error.code).toBe('UNDEFINED_OBJECT');
    if (!r.ok) expect(r.error.details.referenced).toEqual([{ table: 'Parent' }]);
  });
});

describe.runIf(BACKENDS.some((b) => b.name === 'postgres'))('a PostgreSQL inheritance child backed up without its parent', () => {
  const dbs: Record<string, { url: string; drop(): Promise<void> }> = {};
  let h: Harness;
  beforeAll(async () => {
    const pg = BACKENDS.find((b) => b.name === 'postgres')!;
    for (const n of ['src', 'empty']) dbs[n] = await freshDatabase(pg, `ninh_${n}`);
    h = await startInProcess({ src: { url: dbs.src.url }, empty: { url: dbs.empty.url } }, { backup_dir: tempDir('cmx-ninh-bk-') });
    await mustCall(h.client, 'execute_transaction', { connection: 'src', queries: [
      { query: 'CREATE TABLE base (id int PRIMARY KEY, at date)' }, { query: 'CREATE TABLE kid (note text) INHERITS (base)' }, { query: "INSERT INTO kid VALUES (1, '2024-01-01', 'x')" },
    ] });
    await mustCall(h.client, 'create_backup', { database: 'src', tables: ['kid'], output_path: 'kid.cmx.gz' });
  });
  afterAll(async () => {
    await h?.close();
    for (const d of Object.values(dbs)) await d.drop();
  });

  it('is refused saying what it needs, nothing restored', async () => {
    const r = await callTool(h.client, 'restore_backup', { database: 'empty', backup_path: 'kid.cmx.gz' });
    expect(r.ok ? 'ok' : r.error.code).toBe('UNDEFINED_OBJECT');
    if (!r.ok) expect(r.error.message).toMatch(/"public\.base" does not exist: the backup's own DDL of its tables needs it .* Back it up with them, or create it first/);
    const left = await callTool(h.client, 'execute_query', { connection: 'empty', query: 'SELECT 1 FROM kid' });
    expect(left.ok ? 'ok' : left.error.code).toBe('UNDEFINED_OBJECT');
  });
});
