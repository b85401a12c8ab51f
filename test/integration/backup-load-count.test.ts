/**
 * A restore checks that the target stored every row it was sent. PostgreSQL's load trusts
 * COPY's own count (CommandComplete `COPY n`) instead of counting the table afterwards;
 * SQLite and MySQL count the table. A target that drops rows silently (a BEFORE INSERT
 * trigger returning NULL on PostgreSQL, RAISE(IGNORE) on SQLite), restored into with
 * mode `append`, must fail the restore with INTERNAL and leave the table as it was; the
 * same restore into a target without the trigger loads every row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;

const DROPS: Record<string, string[]> = {
  postgres: [
    "CREATE FUNCTION drop_odd() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN IF NEW.id % 2 = 1 THEN RETURN NULL; END IF; RETURN NEW; END$$",
    'CREATE TRIGGER drop_odd BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION drop_odd()',
  ],
  sqlite: ['CREATE TRIGGER drop_odd BEFORE INSERT ON items WHEN NEW.id % 2 = 1 BEGIN SELECT RAISE(IGNORE); END'],
};

describe.each(BACKENDS.filter((b) => DROPS[b.name]))('$name restore into a table that drops rows', (backend) => {
  let src: { url: string; drop(): Promise<void> };
  let dropping: { url: string; drop(): Promise<void> };
  let plain: { url: string; drop(): Promise<void> };
  let h: Harness;

  const run = async (connection: string, query: string): Promise<Json> => {
    const r = await callTool(h.client, 'execute_query', { connection, query });
    if (!r.ok) throw new Error(`${r.error.code} ${r.error.message}`);
    return r.data as Json;
  };

  beforeAll(async () => {
    src = await freshDatabase(backend, 'loadcount');
    dropping = await freshDatabase(backend, 'loadcount_d');
    plain = await freshDatabase(backend, 'loadcount_p');
    h = await startInProcess({ src: { url: src.url }, dropping: { url: dropping.url }, plain: { url: plain.url } }, { backup_dir: tempDir('cmx-loadcount-') });
    for (const c of ['src', 'dropping', 'plain']) await run(c, 'CREATE TABLE items (id integer PRIMARY KEY, name varchar(20))');
    await run('src', "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 5000) g".replace(
      'generate_series(1, 5000) g', backend.name === 'sqlite' ? '(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 5000) SELECT g FROM s)' : 'generate_series(1, 5000) g',
    ));
    for (const c of ['dropping', 'plain']) await run(c, "INSERT INTO items VALUES (100000, 'already there')");
    for (const st of DROPS[backend.name]) await run('dropping', st);
    const b = await callTool(h.client, 'create_backup', { database: 'src', tables: ['items'], output_path: 'items.cmx.gz' });
    if (!b.ok) throw new Error(`${b.error.code} ${b.error.message}`);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    for (const d of [src, dropping, plain]) await d?.drop();
  });

  it('fails with INTERNAL and keeps the table as it was', async () => {
    const r = await callTool(h.client, 'restore_backup', { database: 'dropping', backup_path: 'items.cmx.gz', mode: 'append' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('INTERNAL');
    expect(r.error.message).toMatch(/nothing was restored/);
    expect(Number((await run('dropping', 'SELECT count(*) AS n FROM items')).rows[0][0])).toBe(1);
  });

  it('loads every row where nothing drops them', async () => {
    const r = await callTool(h.client, 'restore_backup', { database: 'plain', backup_path: 'items.cmx.gz', mode: 'append' });
    if (!r.ok) throw new Error(`${r.error.code} ${r.error.message}`);
    expect((r.data as Json).rows).toBe(5000);
    expect(Number((await run('plain', 'SELECT count(*) AS n FROM items')).rows[0][0])).toBe(5001);
  });
});
