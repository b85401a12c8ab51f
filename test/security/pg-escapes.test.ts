/**
 * Issue 14, class 4 on PostgreSQL: the every-connection escape families (accounts and
 * role grants, catalog writes, database-wide changes, foreign servers and file_fdw,
 * subscriptions, untrusted extensions and languages, protected settings, server
 * configuration), each in several spellings, through execute_query and
 * execute_transaction on a read-write superuser connection, and on a read-only one.
 * Effects are read through a raw connection (catalogs), the file system and a TCP
 * listener: the cluster state after every attack must equal the state before.
 */
import { createServer } from 'node:net';
import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const pg = BACKENDS.find((b) => b.name === 'postgres');
const suite = pg ? describe : describe.skip;
const tag = `${process.pid}_${Math.random().toString(36).slice(2, 6)}`;
const VICTIM_ROLE = `cmx_victim_${tag}`;

/** Spellings of one statement: as written, lower case, comments and odd whitespace between tokens, a leading comment. */
function spellings(sql: string): string[] {
  return [sql, sql.toLowerCase() === sql ? sql.toUpperCase().replace(/'[^']*'/g, (m) => m.toLowerCase()) : sql.toLowerCase(),
    sql.replace(' ', ' /* x */ '), sql.replace(/ /g, '\n\t'), `-- lead\n${sql}`];
}

/** This file's roles (the victim and every name its attacks create) and the cluster's own superuser. */
const OURS = `(rolname LIKE '%\\_${tag}' OR rolname = 'postgres')`;

/**
 * Everything an escape could change, read through a raw superuser connection. Shared
 * catalogs are read only for this file's roles and database: other test files create
 * and drop roles and databases at the same time.
 */
async function clusterState(admin: Sql, dir: string): Promise<string> {
  const parts = await Promise.all([
    admin.unsafe(`SELECT rolname, rolsuper, rolreplication, rolbypassrls, rolcreaterole, rolcreatedb, rolcanlogin, rolconnlimit, rolpassword FROM pg_authid WHERE ${OURS} ORDER BY 1`),
    admin.unsafe(`SELECT roleid::regrole::text AS r, member::regrole::text AS m FROM pg_auth_members
      WHERE member IN (SELECT oid FROM pg_authid WHERE ${OURS}) OR roleid IN (SELECT oid FROM pg_authid WHERE ${OURS}) ORDER BY 1, 2`),
    admin.unsafe(`SELECT setdatabase, setrole, setconfig FROM pg_db_role_setting
      WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) OR setrole IN (SELECT oid FROM pg_authid WHERE ${OURS}) ORDER BY 1, 2`),
    admin.unsafe('SELECT datname, datallowconn, datconnlimit, datdba FROM pg_database WHERE datname = current_database()'),
    admin.unsafe('SELECT extname FROM pg_extension ORDER BY 1'),
    admin.unsafe('SELECT srvname FROM pg_foreign_server UNION ALL SELECT fdwname FROM pg_foreign_data_wrapper UNION ALL SELECT umuser::text FROM pg_user_mapping ORDER BY 1'),
    admin.unsafe('SELECT subname FROM pg_subscription UNION ALL SELECT spcname FROM pg_tablespace UNION ALL SELECT evtname FROM pg_event_trigger UNION ALL SELECT lanname FROM pg_language ORDER BY 1'),
    admin.unsafe("SELECT proname, proacl::text, prosecdef, proowner FROM pg_proc WHERE proname IN ('pg_read_file', 'pg_ls_dir', 'pg_terminate_backend') ORDER BY 1, 2"),
    admin.unsafe('SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = \'pg_catalog\'::regnamespace'),
    admin.unsafe('SELECT relname FROM pg_class WHERE relkind = \'f\''),
  ]);
  return JSON.stringify(parts) + readdirSync(dir).sort().join('|');
}

suite('PostgreSQL every-connection escapes, with effects checked (issue 14)', () => {
  let db: { url: string; drop(): Promise<void> };
  let admin: Sql;
  let h: Harness;
  let dir: string;
  let dials = 0;
  let port = 0;
  const listener = createServer((s) => { dials++; s.destroy(); });
  const tally = { families: 0, statements: 0, calls: 0, effects: 0 };

  beforeAll(async () => {
    db = await freshDatabase(pg!, 'pgesc');
    dir = tempDir('cmx-pgesc-');
    chmodSync(dir, 0o777);
    admin = postgres(db.url, { max: 2, onnotice: () => undefined });
    await admin.unsafe(`CREATE ROLE ${VICTIM_ROLE} LOGIN PASSWORD 'victim-pw'; CREATE EXTENSION file_fdw; CREATE SERVER files FOREIGN DATA WRAPPER file_fdw`);
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    port = (listener.address() as { port: number }).port;
    h = await startInProcess({ rw: { url: db.url }, ro: { url: db.url, read_only: true } });
  }, 60_000);

  afterAll(async () => {
    console.log(`[security] pg escapes: ${tally.families} families, ${tally.statements} statements, ${tally.calls} calls, ${tally.effects} effects`);
    await h?.close();
    listener.close();
    await db?.drop();
    await admin.unsafe(`DROP ROLE IF EXISTS ${VICTIM_ROLE}`).catch(() => undefined);
    await admin?.end({ timeout: 1 });
    rmSync(dir, { recursive: true, force: true });
  });

  const dbName = (): string => new URL(db.url).pathname.slice(1);
  const FAMILIES: Record<string, () => string[]> = {
    'accounts and role grants': () => [
      `CREATE ROLE cmx_evil_${tag} SUPERUSER LOGIN`, `CREATE USER cmx_evil_${tag} WITH REPLICATION BYPASSRLS CREATEROLE`,
      `CREATE ROLE cmx_evil_${tag}`, `ALTER ROLE ${VICTIM_ROLE} SUPERUSER`, `ALTER USER ${VICTIM_ROLE} PASSWORD 'owned'`,
      `ALTER ROLE ${VICTIM_ROLE} SET session_preload_libraries = 'auto_explain'`, `GRANT pg_execute_server_program TO ${VICTIM_ROLE}`,
      `GRANT "pg_read_server_files" TO ${VICTIM_ROLE}`, `GRANT postgres TO ${VICTIM_ROLE}`, `DROP ROLE ${VICTIM_ROLE}`,
      `ALTER ROLE ${VICTIM_ROLE} RENAME TO cmx_x_${tag}`, `REASSIGN OWNED BY ${VICTIM_ROLE} TO postgres`,
    ],
    'catalog writes': () => [
      `UPDATE pg_authid SET rolsuper = true WHERE rolname = '${VICTIM_ROLE}'`, `UPDATE pg_catalog.pg_authid SET rolpassword = NULL WHERE rolname = '${VICTIM_ROLE}'`,
      `UPDATE "pg_catalog"."pg_authid" SET rolcanlogin = false WHERE rolname = '${VICTIM_ROLE}'`,
      `WITH x AS (UPDATE pg_authid SET rolsuper = true WHERE rolname = '${VICTIM_ROLE}' RETURNING 1) SELECT * FROM x`,
      "UPDATE pg_proc SET proacl = NULL WHERE proname = 'pg_read_file'", "DELETE FROM pg_catalog.pg_auth_members",
      "INSERT INTO pg_catalog.pg_db_role_setting VALUES (0, 0, '{work_mem=1MB}')", "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'",
      'GRANT EXECUTE ON FUNCTION pg_read_file(text) TO PUBLIC', 'ALTER FUNCTION pg_ls_dir(text) SECURITY DEFINER', 'ALTER FUNCTION pg_catalog.pg_read_file(text) OWNER TO ' + VICTIM_ROLE,
      'CREATE TABLE pg_catalog.cmx_t (a int)', 'LOCK TABLE pg_authid IN ACCESS EXCLUSIVE MODE',
    ],
    'database-wide changes': () => [
      `ALTER DATABASE ${dbName()} SET session_preload_libraries = 'auto_explain'`, `ALTER DATABASE ${dbName()} ALLOW_CONNECTIONS false`,
      `ALTER DATABASE ${dbName()} CONNECTION LIMIT 0`, `ALTER DATABASE ${dbName()} OWNER TO ${VICTIM_ROLE}`, `ALTER DATABASE "${dbName()}" SET work_mem = '1MB'`,
      `CREATE DATABASE cmx_evil_${tag}`, "CREATE TABLESPACE cmx_ts LOCATION '" + dir + "'", 'CHECKPOINT', 'ALTER SYSTEM SET work_mem = \'1MB\'', "LOAD 'auto_explain'",
    ],
    'foreign servers, file_fdw, subscriptions': () => [
      `CREATE FOREIGN TABLE cmx_ft (a text) SERVER files OPTIONS (program 'touch ${join(dir, 'ran')}')`,
      `CREATE FOREIGN TABLE cmx_ft (a text) SERVER files OPTIONS (filename '/etc/hostname')`,
      `CREATE SERVER cmx_s FOREIGN DATA WRAPPER file_fdw`, 'CREATE USER MAPPING FOR PUBLIC SERVER files', 'GRANT USAGE ON FOREIGN SERVER files TO PUBLIC',
      `CREATE SUBSCRIPTION cmx_sub CONNECTION 'host=127.0.0.1 port=${port} dbname=x connect_timeout=2' PUBLICATION p`,
      `IMPORT FOREIGN SCHEMA public FROM SERVER files INTO public`,
    ],
    'extensions and languages': () => [
      'CREATE EXTENSION adminpack', 'CREATE EXTENSION IF NOT EXISTS dblink', 'CREATE EXTENSION "pg_surgery"', 'CREATE EXTENSION postgres_fdw',
      'CREATE EXTENSION pageinspect', 'CREATE LANGUAGE plpython3u', "CREATE FUNCTION cmx_f() RETURNS int LANGUAGE c AS 'libc', 'getpid'",
      "CREATE FUNCTION cmx_f() RETURNS text LANGUAGE sql AS 'select pg_read_file(''/etc/hostname'')'",
      `CREATE FUNCTION cmx_f() RETURNS text LANGUAGE sql SET role = ${VICTIM_ROLE} AS 'select 1::text'`,
      "DO $$ BEGIN PERFORM pg_ls_dir('/'); END $$",
    ],
    'protected settings': () => [
      'SET standard_conforming_strings = off', "SET session_preload_libraries = 'auto_explain'", "SET client_encoding = 'SJIS'", "SET NAMES 'SJIS'",
      'SET backslash_quote = on', 'SET ROLE ' + VICTIM_ROLE, 'SET SESSION AUTHORIZATION ' + VICTIM_ROLE, "SELECT set_config('standard_conforming_strings', 'off', false)",
      "SELECT set_config('role', '" + VICTIM_ROLE + "', false)",
    ],
  };

  for (const [family, make] of Object.entries(FAMILIES)) {
    it(`${family}: refused on every connection, in every spelling, with no effect`, async () => {
      tally.families++;
      const before = await clusterState(admin, dir);
      const accepted: string[] = [];
      for (const stmt of make()) {
        tally.statements++;
        for (const sql of spellings(stmt)) {
          for (const [conn, args] of [
            ['rw', { connection: 'rw', query: sql }], ['ro', { connection: 'ro', query: sql }],
          ] as const) {
            tally.calls++;
            const r = await callTool(h.client, 'execute_query', args);
            if (r.ok) accepted.push(`${conn}: ${sql}`);
            else if (conn === 'rw') expect(r.error.code, sql).toBe('PERMISSION_DENIED');
          }
          tally.calls++;
          const t = await callTool(h.client, 'execute_transaction', { connection: 'rw', queries: [{ query: 'SELECT 1' }, { query: sql }] });
          if (t.ok) accepted.push(`rw transaction: ${sql}`);
        }
      }
      const after = await clusterState(admin, dir);
      const effects = (after === before ? 0 : 1) + dials;
      tally.effects += effects;
      expect(accepted).toEqual([]);
      expect(after).toBe(before);
      expect(dials).toBe(0);
    }, 120_000);
  }
});
