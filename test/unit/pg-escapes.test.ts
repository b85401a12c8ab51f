/**
 * Issue 14, PostgreSQL classifier: every syntactic form that names a function counts
 * as a call, the every-connection escape families, and what must stay allowed.
 * Pure (no database); the effects are checked for real in test/security/pg-*.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { classifyPostgres, loadPostgresParser } from '../../src/core/backends/postgres/classify.js';

beforeAll(loadPostgresParser);

/** Notations that call fn on arg: attribute, composite field, qualified, quoted, Unicode-escaped. */
function notations(fn: string, arg: string): string[] {
  const uni = `U&"\\${fn.charCodeAt(0).toString(16).padStart(4, '0')}${fn.slice(1)}"`;
  return [
    `SELECT ${fn}(${arg})`,
    `SELECT pg_catalog.${fn}(${arg})`,
    `SELECT "${fn}"(${arg})`,
    `SELECT ${uni}(${arg})`,
    `SELECT (${arg}).${fn}`,
    `SELECT (${arg}).pg_catalog.${fn}`.replace('.pg_catalog', ''), // same as above, kept for symmetry
    `SELECT (${arg}).${uni}`,
    `SELECT (${arg})."${fn}"`,
    `SELECT s.x.${fn} FROM (SELECT ${arg} AS x) s`,
    `SELECT (s.x).${fn} FROM (SELECT ${arg} AS x) s`,
    `SELECT x.${fn} FROM (SELECT ${arg} AS x) x`,
    `SELECT (r).${fn} FROM (SELECT ROW(${arg}) AS r) q`,
    `WITH c AS (SELECT (${arg}).${fn} AS v) SELECT v FROM c`,
    `SELECT * FROM (SELECT (${arg}).${fn}) s`,
    `SELECT 1 FROM t, LATERAL (SELECT (${arg}).${fn}) l`,
    `VALUES ((${arg}).${fn})`,
    `SELECT 1 ORDER BY (${arg}).${fn}`,
    `SELECT 1 WHERE EXISTS (SELECT (${arg}).${fn})`,
    `SELECT CASE WHEN true THEN (${arg}).${fn} END`,
    `SELECT ((${arg}).${fn})::text`,
    `EXPLAIN SELECT (${arg}).${fn}`,
  ];
}

const ESCAPING: Array<[string, string]> = [
  ['pg_read_file', "'/etc/hostname'::text"],
  ['pg_read_binary_file', "'/etc/hostname'::text"],
  ['pg_ls_dir', "'/'::text"],
  ['pg_stat_file', "'/etc/hostname'::text"],
  ['pg_terminate_backend', '12345'],
  ['pg_cancel_backend', '12345'],
  ['lo_import', "'/etc/hostname'::text"],
  ['pg_file_unlink', "'x'::text"],
  ['pg_logdir_ls', "'x'::text"],
  ['heap_force_kill', "'t'::regclass"],
  ['dblink_exec', "'select 1'::text"],
  ['dblink_connect_u', "'dbname=test'::text"],
  ['pg_reload_conf', "''::text"],
];

describe('every notation of an escaping function is an escape, on every connection', () => {
  for (const [fn, arg] of ESCAPING) {
    it(fn, () => {
      for (const sql of notations(fn, arg)) {
        const c = classifyPostgres(sql);
        expect(c.escape, sql).toMatch(new RegExp(fn));
        expect(c.readOnlyViolation, sql).not.toBeNull();
      }
    });
  }
});

describe('read-only: attribute notation of side-effect functions', () => {
  it.each([
    "SELECT ('s'::regclass).nextval",
    "SELECT ('s'::regclass).setval",
    'SELECT (1::bigint).pg_advisory_lock',
    "SELECT ('ch').pg_notify",
    "SELECT ('select 1'::text).ts_stat",
    'SELECT (1::oid).lo_unlink',
    'SELECT t.txid_current FROM t',
  ])('%s', (sql) => {
    expect(classifyPostgres(sql).readOnlyViolation).not.toBeNull();
  });
});

describe('functions named in DDL will run later: escapes', () => {
  it.each([
    'CREATE CAST (text AS int) WITH FUNCTION pg_read_file(text)',
    'CREATE OPERATOR !!! (procedure = pg_read_file, rightarg = text)',
    'CREATE OPERATOR !!! (function = pg_catalog.pg_ls_dir, rightarg = text)',
    'CREATE AGGREGATE agg(text) (sfunc = dblink_exec, stype = text)',
    'CREATE AGGREGATE agg(text) (sfunc = textcat, stype = text, finalfunc = pg_read_file)',
    'CREATE TYPE t (input = pg_read_file, output = textout)',
    'CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION pg_file_write()',
    'CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f()',
    'GRANT EXECUTE ON FUNCTION pg_read_file(text) TO PUBLIC',
    'GRANT EXECUTE ON FUNCTION pg_catalog.pg_terminate_backend(int) TO bob',
    'ALTER FUNCTION pg_read_file(text) SECURITY DEFINER',
    'ALTER FUNCTION pg_read_file(text) OWNER TO bob',
  ])('%s', (sql) => {
    expect(classifyPostgres(sql).escape).toBeDefined();
  });
});

describe('SQL inside strings and bodies', () => {
  it.each([
    ["SELECT query_to_xml('select pg_read_file(''/etc/hostname'')', true, false, '')", /pg_read_file/],
    ["SELECT query_to_xml(format('select %s', 'pg_read_file(1)'), true, false, '')", /built at run time/],
    ["SELECT query_to_xml('select query_to_xml(''select pg_ls_dir(''''/'''')'', true, false, '''')', true, false, '')", /pg_ls_dir/],
    ["SELECT ts_stat('select pg_read_file(''/x'')::tsvector')", /pg_read_file/],
    ["SELECT ('select 1'::text).ts_stat", /runs SQL/],
    ["SELECT * FROM crosstab('select pg_read_file(''/etc/hostname'')') AS c(a text)", /pg_read_file/],
    ["SELECT * FROM crosstab('select 1', 'select pg_ls_dir(''/'')') AS c(a text)", /pg_ls_dir/],
    ["SELECT * FROM crosstab('select ' || 'x', 3) AS c(a text)", /built at run time/],
    ["SELECT * FROM connectby('t', 'id', 'parent', '1', 0) AS c(id int)", /builds SQL/],
    ["CREATE FUNCTION f() RETURNS text LANGUAGE sql AS 'select pg_read_file(''/etc/hostname'')'", /pg_read_file/],
    ['CREATE FUNCTION f() RETURNS text LANGUAGE sql RETURN pg_read_file(\'/x\')', /pg_read_file/],
    ["CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_terminate_backend(1); END $$", /pg_terminate_backend/],
    ["DO $$ BEGIN PERFORM dblink_exec('dbname=test', 'delete from t'); END $$", /dblink_exec/],
    ["DO $$ BEGIN COPY t TO PROGRAM 'id'; END $$", /PROGRAM/],
    ["DO $$ BEGIN PERFORM set_config('standard_conforming_strings', 'off', false); END $$", /standard_conforming_strings/],
    ["DO $$ BEGIN SET LOCAL client_encoding = 'SJIS'; END $$", /client_encoding/],
    ['DO $$ BEGIN SET ROLE postgres; END $$', /role/],
    ["DO $$ BEGIN PERFORM set_config('role', 'postgres', false); END $$", /role/],
    ['CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN SET SESSION AUTHORIZATION postgres; END $$', /role/],
    ["CREATE FUNCTION f() RETURNS text LANGUAGE plpython3u AS 'return 1'", /not a trusted language/],
    ["CREATE FUNCTION f() RETURNS text LANGUAGE c AS 'libc', 'system'", /not a trusted language/],
    ["DO LANGUAGE plperlu $$ system('id') $$", /not a trusted language/],
    ['CREATE FUNCTION f() RETURNS int LANGUAGE sql SET role = postgres AS $$ select 1 $$', /role/],
  ])('%s', (sql, reason) => {
    expect(classifyPostgres(sql).escape).toMatch(reason);
  });
});

describe('every-connection escape families', () => {
  it.each([
    "CREATE FOREIGN TABLE ft (a text) SERVER s OPTIONS (program 'id')",
    "CREATE FOREIGN TABLE ft (a text) SERVER s OPTIONS (filename '/etc/passwd')",
    "ALTER FOREIGN TABLE ft OPTIONS (SET filename '/etc/shadow')",
    "CREATE SERVER s FOREIGN DATA WRAPPER file_fdw",
    "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'evil.example')",
    "ALTER SERVER s OPTIONS (SET host 'evil.example')",
    "CREATE USER MAPPING FOR PUBLIC SERVER s OPTIONS (user 'postgres')",
    'IMPORT FOREIGN SCHEMA public FROM SERVER s INTO public',
    'CREATE FOREIGN DATA WRAPPER w',
    'GRANT USAGE ON FOREIGN SERVER s TO PUBLIC',
    'CREATE ROLE r',
    'CREATE ROLE r SUPERUSER',
    'CREATE USER u WITH REPLICATION BYPASSRLS CREATEROLE',
    "CREATE USER u PASSWORD 'x'",
    'ALTER ROLE bob SUPERUSER',
    "ALTER USER postgres PASSWORD 'x'",
    'ALTER ROLE ALL SET session_preload_libraries = \'auto_explain\'',
    'DROP ROLE bob',
    'GRANT pg_execute_server_program TO bob',
    'GRANT pg_read_server_files TO CURRENT_USER',
    'GRANT postgres TO bob',
    'REVOKE pg_signal_backend FROM bob',
    'REASSIGN OWNED BY bob TO postgres',
    "UPDATE pg_authid SET rolsuper = true WHERE rolname = 'bob'",
    'UPDATE pg_catalog.pg_authid SET rolsuper = true',
    'INSERT INTO pg_catalog.pg_proc SELECT * FROM pg_proc LIMIT 1',
    'DELETE FROM pg_catalog.pg_auth_members',
    "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'",
    'WITH x AS (UPDATE pg_authid SET rolsuper = true RETURNING 1) SELECT * FROM x',
    'ALTER TABLE pg_catalog.pg_class ADD COLUMN x int',
    'TRUNCATE pg_catalog.pg_statistic',
    'LOCK pg_authid IN ACCESS EXCLUSIVE MODE',
    'CREATE TRIGGER tr AFTER INSERT ON pg_catalog.pg_class FOR EACH ROW EXECUTE FUNCTION f()',
    'DROP TABLE pg_catalog.pg_authid',
    "COPY pg_authid FROM '/tmp/x'",
    'GRANT UPDATE ON pg_authid TO PUBLIC',
    "ALTER DATABASE test SET session_preload_libraries = 'auto_explain'",
    'ALTER DATABASE test ALLOW_CONNECTIONS false',
    'ALTER DATABASE test CONNECTION LIMIT 0',
    'ALTER DATABASE test OWNER TO bob',
    'ALTER DATABASE test RENAME TO other',
    'ALTER DATABASE test SET TABLESPACE t',
    'DROP DATABASE other',
    'CREATE DATABASE other',
    "CREATE TABLESPACE ts LOCATION '/tmp/ts'",
    "CREATE SUBSCRIPTION s CONNECTION 'host=evil.example' PUBLICATION p",
    'ALTER SUBSCRIPTION s ENABLE',
    'DROP SUBSCRIPTION s',
    'CREATE EXTENSION adminpack',
    'CREATE EXTENSION IF NOT EXISTS file_fdw',
    'CREATE EXTENSION dblink SCHEMA public',
    'CREATE EXTENSION pg_surgery',
    'CREATE EXTENSION postgres_fdw',
    'CREATE EXTENSION "pageinspect"',
    'CREATE EXTENSION plpython3u',
    'ALTER EXTENSION dblink UPDATE',
    'CREATE LANGUAGE plpython3u',
    'CREATE TRUSTED LANGUAGE plperlu',
    'ALTER SYSTEM SET work_mem = 1',
    "LOAD 'auto_explain'",
    'CHECKPOINT',
    "SET session_preload_libraries = 'auto_explain'",
    "SET local_preload_libraries = 'auto_explain'",
    'SET standard_conforming_strings = off',
    'SET LOCAL standard_conforming_strings TO off',
    'SET escape_string_warning = off',
    'SET backslash_quote = on',
    "SET client_encoding = 'SJIS'",
    "SET NAMES 'SJIS'",
    'SET ROLE postgres',
    'SET LOCAL ROLE postgres',
    'RESET ROLE',
    'SET ROLE NONE',
    'SET SESSION AUTHORIZATION postgres',
    'SET SESSION AUTHORIZATION DEFAULT',
    'RESET SESSION AUTHORIZATION',
    'SET transaction_read_only = off',
    'SET allow_system_table_mods = on',
    "SELECT set_config('role', 'postgres', true)",
    "SELECT pg_catalog.set_config('session_authorization', 'postgres', false)",
    "SELECT set_config('standard_conforming_strings', 'off', false)",
    "SELECT set_config('ROLE', 'postgres', true)",
    "SELECT set_config(('ro' || 'le'), 'postgres', true)",
    "SELECT set_config(name, 'postgres', true) FROM (VALUES ('role')) v(name)",
    // Catalog writes inside procedural bodies.
    "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE pg_authid SET rolsuper = true WHERE rolname = 'x'; RETURN NEW; END $$",
    'DO $$ BEGIN INSERT INTO pg_catalog.pg_auth_members VALUES (1, 2, 3, false); END $$',
    'DO $$ BEGIN DELETE FROM "pg_catalog"."pg_db_role_setting"; END $$',
    // A simple view is updatable: a view over a catalog would write to it.
    'CREATE VIEW v AS SELECT * FROM pg_catalog.pg_class',
    'CREATE OR REPLACE VIEW v AS SELECT * FROM pg_authid',
    'CREATE VIEW v AS SELECT a.rolname FROM pg_authid a JOIN pg_auth_members m ON m.member = a.oid',
    'CREATE VIEW v AS WITH x AS (SELECT * FROM "pg_catalog"."pg_proc") SELECT * FROM x',
    'CREATE VIEW v AS SELECT * FROM (SELECT * FROM pg_db_role_setting) s',
  ])('%s', (sql) => {
    expect(classifyPostgres(sql).escape).toBeDefined();
  });
});

describe('ordinary statements stay allowed on read-write connections', () => {
  it.each([
    'SELECT 1',
    "SELECT 'pg_read_file', 'select pg_read_file(1)'",
    'SELECT t.id, t.name FROM t',
    'SELECT lo_price FROM t',
    'SELECT t.lo_price FROM t',
    "SELECT set_config('search_path', 'public', true)",
    "SELECT set_config('statement_timeout', '5s', true)",
    "SELECT query_to_xml('select * from t', true, false, '')",
    "SELECT * FROM crosstab('select a, b, c from t order by 1', 3) AS c(a text, b text, c text)",
    'SELECT * FROM pg_catalog.pg_class',
    'INSERT INTO t SELECT oid::int FROM pg_class',
    'CREATE TABLE t2 AS SELECT * FROM pg_authid',
    'UPDATE t SET a = 1',
    'CREATE EXTENSION IF NOT EXISTS pg_trgm',
    'CREATE EXTENSION "uuid-ossp"',
    'SET search_path = public',
    'SET statement_timeout = 1000',
    'RESET ALL',
    'GRANT SELECT ON t TO bob',
    'REVOKE ALL ON t FROM PUBLIC',
    'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ select 1 $$',
    'CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$',
    'DO $$ BEGIN RAISE NOTICE \'hi\'; END $$',
    "DO $$ DECLARE r text; BEGIN SELECT role INTO r FROM users LIMIT 1; END $$",
    'CREATE FOREIGN TABLE ft (a int) SERVER s',
    'ALTER TABLE t ADD COLUMN c int DEFAULT 1',
    'COMMENT ON TABLE t IS \'pg_read_file\'',
    'CREATE TABLE pg_notes (id int)',
    'CREATE VIEW pg_v AS SELECT 1',
  ])('%s', (sql) => {
    expect(classifyPostgres(sql).escape).toBeUndefined();
  });
});

describe('server-wide WAL, backup and replication control: escapes', () => {
  it.each([
    "SELECT pg_create_logical_replication_slot('s', 'pgoutput')",
    "SELECT pg_create_physical_replication_slot('s')",
    "SELECT * FROM pg_logical_slot_get_changes('s', NULL, NULL)",
    "SELECT pg_drop_replication_slot('s')",
    'SELECT pg_switch_wal()',
    "SELECT pg_backup_start('x')",
    "SELECT ('x'::text).pg_create_restore_point",
    "SELECT pg_replication_origin_create('o')",
    "SELECT * FROM pg_get_wal_records_info('0/0', '0/100')",
  ])('%s', (sql) => {
    expect(classifyPostgres(sql).escape).toBeDefined();
  });
});

describe('SQL in a string that does not parse cannot be checked', () => {
  it.each([
    "SELECT query_to_xml('select from where', true, false, '')",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'selec 1'",
  ])('%s', (sql) => {
    expect(classifyPostgres(sql).escape).toMatch(/does not parse/);
  });
});
