/**
 * A PostgreSQL backup of a whole database restored into a database that is not empty: the
 * backup's own DDL makes every object, so mode create meets the one the target already has
 * (a type, an empty schema), and mode replace loads from the portable schema, which needs
 * the types the target lacks. Each refusal says what to do instead, and touches nothing;
 * mode replace into an empty database runs the DDL, as create does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, mustCall, rowsOf, startInProcess, type Harness } from '../support/mcp.js';

const pgBackend = BACKENDS.find((b) => b.name === 'postgres');

describe.runIf(pgBackend)('a whole PostgreSQL database restored where something is already', () => {
  const dbs: Record<string, { url: string; drop(): Promise<void> }> = {};
  let h: Harness;
  const run = async (c: string, sql: string): Promise<void> => void (await mustCall(h.client, 'execute_transaction', { connection: c, queries: sql.split('; ').map((query) => ({ query })) }));
  const count = async (c: string, query: string): Promise<number> => Number(Object.values(rowsOf(await mustCall(h.client, 'execute_query', { connection: c, query }))[0]!)[0]);

  beforeAll(async () => {
    for (const n of ['src', 'typed', 'schema', 'other', 'empty', 'plainsrc', 'nopublic', 'nopublic2']) dbs[n] = await freshDatabase(pgBackend!, `pgwhole_${n}`);
    h = await startInProcess(Object.fromEntries(Object.entries(dbs).map(([n, d]) => [n, { url: d.url }])), { backup_dir: tempDir('cmx-pgwhole-') });
    await run('src', "CREATE SCHEMA app; CREATE TYPE app.mood AS ENUM ('calm', 'busy'); CREATE TABLE app.day (id serial PRIMARY KEY, mood app.mood NOT NULL)");
    await run('src', "INSERT INTO app.day (mood) VALUES ('calm'), ('busy')");
    await run('typed', "CREATE SCHEMA app; CREATE TYPE app.mood AS ENUM ('calm', 'busy')");
    await run('schema', 'CREATE SCHEMA app');
    await run('other', 'CREATE TYPE public.unrelated AS ENUM (\'x\')');
    await run('nopublic', 'DROP SCHEMA public');
    await run('nopublic2', 'DROP SCHEMA public');
    await mustCall(h.client, 'create_backup', { database: 'src', output_path: 'whole.cmx.gz' });
  });

  afterAll(async () => {
    await h?.close();
    for (const d of Object.values(dbs)) await d.drop();
  });

  it.each(['typed', 'schema'])('mode create into a database whose %s exists: DUPLICATE_OBJECT, what to do instead, nothing restored', async (target) => {
    const r = await callTool(h.client, 'restore_backup', { database: target, backup_path: 'whole.cmx.gz' });
    expect(r.ok ? 'ok' : r.error.code).toBe('DUPLICATE_OBJECT');
    if (!r.ok) expect(r.error.message).toMatch(/already exists: the backup's own DDL creates every object .* Restore into an empty database, or use mode "replace"/);
    expect(await count(target, "SELECT count(*) FROM pg_class WHERE relnamespace = 'app'::regnamespace")).toBe(0);
  });

  it('mode replace where the type is missing and the database is not empty: UNDEFINED_OBJECT, pointing at an empty database', async () => {
    const r = await callTool(h.client, 'restore_backup', { database: 'other', backup_path: 'whole.cmx.gz', mode: 'replace', allow_lossy: true });
    expect(r.ok ? 'ok' : r.error.code).toBe('UNDEFINED_OBJECT');
    if (!r.ok) expect(r.error.message).toMatch(/"app\.mood" .* restore into an empty database \(the backup's own DDL makes them there\)/);
  });

  it('mode replace where the type exists: the tables load from the portable schema', async () => {
    const r = await mustCall(h.client, 'restore_backup', { database: 'typed', backup_path: 'whole.cmx.gz', mode: 'replace', allow_lossy: true });
    expect(r.rows).toBe(2);
  });

  it('a database without the public schema: replace loads from the portable schema, create says what is missing', async () => {
    await run('plainsrc', 'CREATE TABLE public.plain (i int PRIMARY KEY); INSERT INTO public.plain VALUES (1)');
    await mustCall(h.client, 'create_backup', { database: 'plainsrc', output_path: 'with-public.cmx.gz' });
    const r = await mustCall(h.client, 'restore_backup', { database: 'nopublic', backup_path: 'with-public.cmx.gz', mode: 'replace', allow_lossy: true });
    expect(r.rows).toBe(1);
    const c = await callTool(h.client, 'restore_backup', { database: 'nopublic2', backup_path: 'with-public.cmx.gz' });
    expect(c.ok ? 'ok' : c.error.code).toBe('UNDEFINED_OBJECT');
    if (!c.ok) expect(c.error.message).toMatch(/schema "public" does not exist: the backup's own DDL .* use mode "replace"/);
  });

  it('mode replace into an empty database: the backup\'s DDL, nothing lost', async () => {
    const r = await mustCall(h.client, 'restore_backup', { database: 'empty', backup_path: 'whole.cmx.gz', mode: 'replace' });
    expect(r.lossy).toEqual([]);
    await run('empty', "INSERT INTO app.day (mood) VALUES ('busy')");
    expect(await count('empty', 'SELECT max(id) FROM app.day')).toBe(3);
  });
});

describe.runIf(pgBackend)('mode append of a whole PostgreSQL database into one of the same schema', () => {
  const dbs: Record<string, { url: string; drop(): Promise<void> }> = {};
  let h: Harness;
  const schema = "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); CREATE DOMAIN posint AS integer CHECK (VALUE > 0); CREATE TABLE t (id serial PRIMARY KEY, m mood, n posint); CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql AS 'select 2 * x'; CREATE VIEW tv AS SELECT id, twice(n) AS n2 FROM t";
  beforeAll(async () => {
    for (const n of ['a', 'b']) dbs[n] = await freshDatabase(pgBackend!, `pgappend_${n}`);
    h = await startInProcess(Object.fromEntries(Object.entries(dbs).map(([n, d]) => [n, { url: d.url }])), { backup_dir: tempDir('cmx-pgappend-') });
    for (const n of ['a', 'b']) await mustCall(h.client, 'execute_transaction', { connection: n, queries: schema.split('; ').map((query) => ({ query })) });
    await mustCall(h.client, 'execute_query', { connection: 'a', query: "INSERT INTO t (m, n) VALUES ('ok', 3), ('happy', 5)" });
  });
  afterAll(async () => { await h?.close(); for (const d of Object.values(dbs)) await d.drop(); });

  it('loses nothing the target has already (its types, domain, function and view were listed as lost), and lists what it has not', async () => {
    const b = await mustCall(h.client, 'create_backup', { connection: 'a' });
    const r = await mustCall(h.client, 'restore_backup', { connection: 'b', backup_path: b.backup, mode: 'append' });
    expect([r.lossy, r.rows]).toEqual([[], 2]);
    expect(rowsOf(await mustCall(h.client, 'execute_query', { connection: 'b', query: 'SELECT m::text AS m, n2 FROM t JOIN tv USING (id) ORDER BY id' }))).toEqual([{ m: 'ok', n2: 6 }, { m: 'happy', n2: 10 }]);
    // One object the target lacks: listed, and the append asks for allow_lossy.
    await mustCall(h.client, 'execute_query', { connection: 'a', query: 'CREATE VIEW only_a AS SELECT 1 AS one' });
    const b2 = await mustCall(h.client, 'create_backup', { connection: 'a' });
    const refused = await callTool(h.client, 'restore_backup', { connection: 'b', backup_path: b2.backup, mode: 'append' });
    expect(refused.ok ? 'ok' : refused.error.details.lossy).toEqual([{ table: 'public.only_a', what: "view public.only_a (postgres SQL) is not restored without the backup's own DDL (which mode create runs)" }]);
  });
});
