/**
 * review-last (2e79517): the native_ddl check now takes foreign-data wrappers, foreign
 * servers, user mappings, access methods and ALTER EVENT TRIGGER of "an event trigger the
 * script created". The backup file is untrusted (anyone who can write backup_dir; the
 * manifest's checksums are recomputed as test/review15/attacks.test.ts does).
 *
 * 1. ALTER EVENT TRIGGER: the check compares names lower-cased, so a script that creates
 *    "Guard" (quoted) may then ALTER EVENT TRIGGER guard DISABLE: the target's own event
 *    trigger `guard`, which the script did not create, is switched off.
 * 2. CREATE SERVER now passes, so a script can create a file_fdw server, a foreign table
 *    with OPTIONS (program '…') and a materialized view over it, which REFRESH (or a CREATE
 *    MATERIALIZED VIEW with data) reads: the restore runs a shell command on the database host.
 * 3. CREATE USER MAPPING passes for any server, also one the script did not create (pg_dump
 *    writes mappings only of the servers it writes): the target's existing server gets a
 *    PUBLIC mapping chosen by the file (here password_required 'false', superuser-only).
 * 4. The reverse: pg_dump writes a foreign table's column options as ALTER FOREIGN TABLE …
 *    ALTER COLUMN … OPTIONS (every table of IMPORT FOREIGN SCHEMA has them), and the check
 *    refuses it (the foreign table is never recorded as created): a false BACKUP_CORRUPT.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG, callTool, outcome, pair, psql, type Json, type RoundTrip } from '../review15/harness.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A copy of a portable backup with its header edited, under a new name, with a manifest that matches it. */
function craft(dir: string, from: string, to: string, edit: (h: Json) => void): string {
  const lines = gunzipSync(readFileSync(join(dir, from))).toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const h = JSON.parse(lines[0]);
  edit(h);
  lines[0] = JSON.stringify(h);
  const data = gzipSync(`${lines.join('\n')}\n`);
  writeFileSync(join(dir, to), data);
  const manifest = JSON.parse(readFileSync(join(dir, `${from}.manifest.json`), 'utf8'));
  writeFileSync(join(dir, `${to}.manifest.json`), JSON.stringify({ ...manifest, file: to, size: data.length, sha256: sha(data) }));
  return to;
}

describe('native_ddl check: what 2e79517 lets through', () => {
  let rt: RoundTrip;
  let whole: string;
  let n = 0;
  const fresh = (): void => {
    // Each test restores into an emptied target (mode create): drop what a previous one made.
    psql(rt.dst.url, `DROP TABLE IF EXISTS public.t; DROP MATERIALIZED VIEW IF EXISTS public.rl_seen; DROP FOREIGN TABLE IF EXISTS public.rl_out;
      DROP SERVER IF EXISTS rl_files CASCADE; DROP EXTENSION IF EXISTS file_fdw; DROP EVENT TRIGGER IF EXISTS "Guard"; DROP FUNCTION IF EXISTS public.rl_noop();
      DROP USER MAPPING IF EXISTS FOR PUBLIC SERVER prod; ALTER EVENT TRIGGER guard ENABLE;`);
  };
  beforeAll(async () => {
    rt = await pair(PG, PG, 'rlfdw');
    psql(rt.src.url, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a');");
    // The target's own objects: an event trigger (an audit or a DDL guard; here it only notes) and a foreign server.
    psql(rt.dst.url, `CREATE FUNCTION public.guard_fn() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'guard'; END $$;
      CREATE EVENT TRIGGER guard ON ddl_command_start EXECUTE FUNCTION public.guard_fn();
      CREATE EXTENSION postgres_fdw; CREATE SERVER prod FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', dbname 'postgres');`);
    whole = String((await callTool(rt.h.client, 'create_backup', { connection: 'src', output_path: 'whole.cmx.gz' }) as Json).data.backup);
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it("ALTER EVENT TRIGGER of the target's trigger passes by a quoted mixed-case name the script created (the target's guard is disabled)", async () => {
    fresh();
    const f = craft(rt.dir, whole, `evt-${n++}.cmx.gz`, (h) => {
      h.native_ddl.before_data += `\nCREATE FUNCTION public.rl_noop() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE EVENT TRIGGER "Guard" ON ddl_command_start EXECUTE FUNCTION public.rl_noop();
ALTER EVENT TRIGGER guard DISABLE;\n`;
    });
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: f });
    const state = psql(rt.dst.url, "SELECT evtenabled FROM pg_event_trigger WHERE evtname = 'guard'").trim();
    expect(`${outcome(r).slice(0, 15)}; target's guard: ${state === 'O' ? 'enabled' : 'disabled'}`).toMatch(/guard: enabled$/);
  });

  it('a file_fdw server, a foreign table with OPTIONS (program) and a REFRESH run a shell command at restore (refused before it runs)', async () => {
    fresh();
    const f = craft(rt.dir, whole, `prog-${n++}.cmx.gz`, (h) => {
      h.native_ddl.before_data += `\nCREATE EXTENSION IF NOT EXISTS file_fdw WITH SCHEMA public;
CREATE SERVER rl_files FOREIGN DATA WRAPPER file_fdw;
CREATE FOREIGN TABLE public.rl_out (line text) SERVER rl_files OPTIONS (program 'id -un; hostname');
CREATE MATERIALIZED VIEW public.rl_seen AS SELECT line FROM public.rl_out WITH NO DATA;\n`;
      h.native_ddl.after_data += '\nREFRESH MATERIALIZED VIEW public.rl_seen;\n';
    });
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: f });
    // (The view's name is looked up first: a query naming a missing relation fails to parse.)
    const exists = psql(rt.dst.url, "SELECT to_regclass('public.rl_seen') IS NOT NULL").trim() === 't';
    const ran = exists ? psql(rt.dst.url, "SELECT string_agg(line, ' ') FROM public.rl_seen").trim() : '(none)';
    expect(`${outcome(r).slice(0, 15)}; program output in the restored view: ${ran}`).toMatch(/^BACKUP_CORRUPT.*\(none\)$/);
  });

  it('(before 2e79517 too) CREATE TABLE AS, which pg_dump never writes, runs a function the script created: the victim is dropped', async () => {
    fresh();
    psql(rt.dst.url, 'CREATE TABLE IF NOT EXISTS public.victim (id int); INSERT INTO public.victim VALUES (42);');
    const f = craft(rt.dir, whole, `ctas-${n++}.cmx.gz`, (h) => {
      h.native_ddl.before_data += `\nCREATE FUNCTION public.rl_evil() RETURNS int LANGUAGE plpgsql AS $$ BEGIN DROP TABLE public.victim; RETURN 1; END $$;
CREATE TABLE public.rl_x AS SELECT public.rl_evil() AS x;\n`;
    });
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: f });
    const alive = psql(rt.dst.url, "SELECT CASE WHEN to_regclass('public.victim') IS NULL THEN 'dropped' ELSE 'alive' END").trim();
    psql(rt.dst.url, 'DROP TABLE IF EXISTS public.rl_x; DROP FUNCTION IF EXISTS public.rl_evil();');
    expect(`${outcome(r).slice(0, 15)}; victim ${alive}`).toMatch(/victim alive$/);
  });

  it("CREATE USER MAPPING on a server the script did not create (the target's own) is refused", async () => {
    fresh();
    const f = craft(rt.dir, whole, `um-${n++}.cmx.gz`, (h) => {
      h.native_ddl.before_data += "\nCREATE USER MAPPING FOR PUBLIC SERVER prod OPTIONS (user 'postgres', password_required 'false');\n";
    });
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: f });
    const mappings = psql(rt.dst.url, "SELECT coalesce(string_agg(usename || ' ' || coalesce(array_to_string(umoptions, ','), ''), '; '), '(none)') FROM pg_user_mappings WHERE srvname = 'prod'").trim();
    expect(`${outcome(r).slice(0, 15)}; mappings on prod: ${mappings}`).toMatch(/^BACKUP_CORRUPT.*\(none\)$/);
  });
});

describe('native_ddl check: what pg_dump writes for foreign tables and is still refused', () => {
  let rt: RoundTrip;
  beforeAll(async () => {
    rt = await pair(PG, PG, 'rlft');
    // IMPORT FOREIGN SCHEMA gives each column OPTIONS (column_name …); pg_dump writes them as ALTER FOREIGN TABLE … ALTER COLUMN.
    psql(rt.src.url, `CREATE EXTENSION postgres_fdw; CREATE SERVER elsewhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', dbname 'test');
      CREATE FOREIGN TABLE remote_items (id int OPTIONS (column_name 'item_id'), name text) SERVER elsewhere OPTIONS (table_name 'items');
      CREATE TABLE kept (id int PRIMARY KEY); INSERT INTO kept VALUES (1);`);
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('a whole-database backup with a foreign table that has column options restores (mode create)', async () => {
    const b = await callTool(rt.h.client, 'create_backup', { connection: 'src', output_path: 'ft.cmx.gz' });
    expect(outcome(b)).toBe('ok');
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: 'ft.cmx.gz' });
    expect(outcome(r)).toBe('ok');
    expect(psql(rt.dst.url, "SELECT attfdwoptions::text FROM pg_attribute WHERE attrelid = 'remote_items'::regclass AND attname = 'id'").trim()).toBe('{column_name=item_id}');
  });
});
