/**
 * pg_dump writes, for a schema, statements beyond tables and functions: foreign-data
 * wrappers, foreign servers, user mappings, foreign tables, table access methods, event
 * triggers (and ALTER EVENT TRIGGER … DISABLE for one that is off). The check of a backup's
 * native_ddl (native-ddl-check.ts) must take each of them, or a restore of such a database
 * fails with a false BACKUP_CORRUPT; and the restore must give them back. It must still
 * refuse what pg_dump does not write for them (a DROP SERVER, an ALTER of a server the
 * script did not create).
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkNativeDdl } from '../../src/core/backends/postgres/native-ddl-check.js';
import { psql } from '../review15/harness.js';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, mustCall, rowsOf, startInProcess, type Harness } from '../support/mcp.js';

const pg = BACKENDS.find((b) => b.name === 'postgres');

const OBJECTS_SQL = `
CREATE EXTENSION postgres_fdw;
CREATE FOREIGN DATA WRAPPER plain_fdw;
CREATE SERVER elsewhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '5432', dbname 'test');
CREATE USER MAPPING FOR postgres SERVER elsewhere OPTIONS (user 'postgres');
CREATE USER MAPPING FOR PUBLIC SERVER elsewhere;
CREATE FOREIGN TABLE remote_items (id int, name text) SERVER elsewhere OPTIONS (schema_name 'public', table_name 'items');
COMMENT ON SERVER elsewhere IS 'the other database';
CREATE ACCESS METHOD heap2 TYPE TABLE HANDLER heap_tableam_handler;
CREATE TABLE kept (id int PRIMARY KEY, v text) USING heap2;
INSERT INTO kept VALUES (1, 'one'), (2, 'two');
CREATE FUNCTION note_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'ddl'; END $$;
CREATE EVENT TRIGGER noted ON ddl_command_end EXECUTE FUNCTION note_ddl();
ALTER EVENT TRIGGER noted DISABLE;
`;

describe.runIf(pg)('the native_ddl check takes foreign servers, access methods and event triggers', () => {
  const dir = tempDir('cmx-pgddlobj-');
  const drops: Array<() => Promise<void>> = [];
  let h: Harness;

  beforeAll(async () => {
    const src = await freshDatabase(pg!, 'ddlobj_src');
    const dst = await freshDatabase(pg!, 'ddlobj_dst');
    drops.push(src.drop, dst.drop);
    psql(src.url, OBJECTS_SQL);
    h = await startInProcess({ src: { url: src.url }, dst: { url: dst.url } }, { backup_dir: dir });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    // The event trigger is database-wide: dropped with its database.
    for (const d of drops) await d();
    rmSync(dir, { recursive: true, force: true });
  });

  it('backs up and restores them (mode create runs the backup\'s own DDL)', async () => {
    await mustCall(h.client, 'create_backup', { connection: 'src', output_path: 'objects.cmx.gz' });
    const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: 'objects.cmx.gz' });
    expect(r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`).toBe('ok');
    const q = async (query: string): Promise<unknown[]> => rowsOf(await mustCall(h.client, 'execute_query', { connection: 'dst', query })).map((x) => Object.values(x)[0]);
    expect(await q('SELECT srvname FROM pg_foreign_server ORDER BY 1')).toEqual(['elsewhere']);
    expect(await q('SELECT fdwname FROM pg_foreign_data_wrapper ORDER BY 1')).toEqual(['plain_fdw', 'postgres_fdw']);
    expect(await q("SELECT count(*)::int FROM pg_user_mappings WHERE srvname = 'elsewhere'")).toEqual([2]);
    expect(await q("SELECT ftoptions::text FROM pg_foreign_table WHERE ftrelid = 'remote_items'::regclass")).toEqual(['{schema_name=public,table_name=items}']);
    expect(await q("SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'kept'")).toEqual(['heap2']);
    expect(await q('SELECT v FROM kept ORDER BY id')).toEqual(['one', 'two']);
    expect(await q("SELECT evtenabled::text FROM pg_event_trigger WHERE evtname = 'noted'")).toEqual(['D']);
  });

  it('still refuses what pg_dump does not write for them', async () => {
    const base = { backend: 'postgres', tool: 'pg_dump', version: '15', before_data: '', after_data: '' } as never as Parameters<typeof checkNativeDdl>[0];
    for (const bad of [
      'DROP SERVER elsewhere CASCADE;',
      "ALTER SERVER elsewhere OPTIONS (SET host 'evil.example');",
      'ALTER USER MAPPING FOR postgres SERVER elsewhere OPTIONS (ADD password \'x\');',
      'ALTER EVENT TRIGGER someone_elses DISABLE;',
      'DROP EVENT TRIGGER noted;',
      // A name differing only in case is another object: the target's own.
      'CREATE FUNCTION f() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$; CREATE EVENT TRIGGER "Guard" ON ddl_command_end EXECUTE FUNCTION f(); ALTER EVENT TRIGGER guard DISABLE;',
      'CREATE TABLE "Victim" (id int); ALTER TABLE victim ADD COLUMN x int;',
      // file_fdw's options run programs and read files on the database host.
      "CREATE SERVER files FOREIGN DATA WRAPPER file_fdw; CREATE FOREIGN TABLE out (line text) SERVER files OPTIONS (program 'id');",
      "CREATE SERVER files FOREIGN DATA WRAPPER file_fdw; CREATE FOREIGN TABLE pw (line text) SERVER files OPTIONS (filename '/etc/passwd');",
      // Mappings only of servers the script creates; wrappers not run by the script's own functions.
      "CREATE USER MAPPING FOR PUBLIC SERVER prod OPTIONS (user 'postgres');",
      'CREATE FUNCTION v(text[], oid) RETURNS void LANGUAGE plpgsql AS $$ BEGIN END $$; CREATE FOREIGN DATA WRAPPER w VALIDATOR v;',
      // pg_dump writes neither: each would run its query (and the functions in it) now.
      'CREATE TABLE copied AS SELECT 1 AS x;',
      'CREATE MATERIALIZED VIEW filled AS SELECT 1 AS x;',
    ]) {
      await expect(checkNativeDdl({ ...base, before_data: bad }), bad).rejects.toMatchObject({ code: 'BACKUP_CORRUPT' });
    }
    for (const good of [
      'CREATE FUNCTION f() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$; CREATE EVENT TRIGGER mine ON ddl_command_end EXECUTE FUNCTION f(); ALTER EVENT TRIGGER mine DISABLE;',
      'CREATE FUNCTION f() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$; CREATE EVENT TRIGGER "Mine" ON ddl_command_end EXECUTE FUNCTION f(); ALTER EVENT TRIGGER "Mine" DISABLE;',
      "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'h'); CREATE USER MAPPING FOR PUBLIC SERVER s; CREATE FOREIGN TABLE ft (id int) SERVER s; ALTER FOREIGN TABLE ft ALTER COLUMN id OPTIONS (column_name 'item_id');",
      'CREATE MATERIALIZED VIEW m AS SELECT 1 AS x WITH NO DATA;',
    ]) {
      await expect(checkNativeDdl({ ...base, before_data: good }), good).resolves.toBeUndefined();
    }
  });
});
