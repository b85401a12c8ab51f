/**
 * Red-team corpus, PostgreSQL: a superuser account on a database with dblink, adminpack,
 * pg_surgery and file_fdw installed. A read-only connection must not read or write a
 * server file, signal another session, dial out, or change a row, a sequence or a
 * catalog, in any notation; a read-write connection must not do the escapes (files,
 * programs, other sessions, accounts, server or database configuration).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, tempDir } from '../support/backends.js';
import { startInProcess, type Harness } from '../support/mcp.js';
import { fill, runRedTeam, type Attack, type Witness } from './redteam.js';

const BACKENDS = process.env.BACKENDS?.split(',') ?? ['postgres'];
const id = `${process.pid}_${randomBytes(3).toString('hex')}`;
const DB = `rt_pg_${id}`;
const SUPER = `rt_su_${id}`;
const PLAIN = `rt_plain_${id}`;
const PEER_APP = `rt-peer-${id}`;
const token = `RTSECRET${randomBytes(8).toString('hex')}`;

/** Attacks that must have no effect on a read-only connection (on read-write, many are legitimately writes). */
const READ_ONLY: Attack[] = [
  // Server files, in every notation that reaches the function.
  ...[
    "SELECT pg_read_file('{F}')",
    "SELECT ('{F}'::text).pg_read_file",
    "SELECT (CAST('{F}' AS text)).pg_read_file",
    "SELECT (lower('{F}')).pg_read_file",
    "SELECT p.pg_read_file FROM (SELECT '{F}'::text AS p) s",
    "SELECT (s.p).pg_read_file FROM (SELECT '{F}'::text AS p) s",
    "SELECT s.p.pg_read_file FROM (SELECT '{F}'::text AS p) s",
    "SELECT (row('{F}'::text)).f1.pg_read_file",
    "SELECT pg_catalog.pg_read_file('{F}')",
    "SELECT \"pg_read_file\"('{F}')",
    "SELECT U&\"\\0070g_read_file\"('{F}')",
    "SELECT * FROM pg_read_file('{F}')",
    "SELECT * FROM ROWS FROM (pg_read_file('{F}'))",
    "SELECT convert_from(pg_read_binary_file('{F}'), 'UTF8')",
    "SELECT convert_from(('{F}'::text).pg_read_binary_file, 'UTF8')",
    "WITH x AS (SELECT ('{F}'::text).pg_read_file AS c) SELECT c FROM x",
    "SELECT (SELECT ('{F}'::text).pg_read_file)",
    "VALUES (('{F}'::text).pg_read_file)",
    "SELECT x.pg_read_file FROM unnest(array['{F}'::text]) AS x",
    "SELECT 1 WHERE ('{F}'::text).pg_read_file LIKE '%RTSECRET%' OR true",
    "SELECT t.f FROM (SELECT ('{F}'::text).pg_read_file AS f) t",
    "SELECT lo_get(lo_import('{F}'))",
    "SELECT pg_ls_dir('{D}')",
    "SELECT ('{D}'::text).pg_ls_dir",
    "SELECT query_to_xml('select pg_read_file(''{F}'')', true, true, '')",
    "SELECT xmlparse(document '<!DOCTYPE x [<!ENTITY e SYSTEM \"file://{F}\">]><x>&e;</x>')",
    "SELECT * FROM dblink('dbname={DB} user={SUPER}', 'select pg_read_file(''{F}'')') AS t(x text)",
    "SELECT 'x\\', $$', pg_read_file('{F}') --$$",
    "SELECT E'\\'', pg_read_file('{F}')",
  ].map((sql, i) => ({ id: `file-read-${i}`, sql })),
  // Server files written, renamed or deleted.
  ...[
    "SELECT pg_file_write('{D}/w1', 'x', false)",
    "SELECT ('{V}'::text).pg_file_unlink",
    "SELECT pg_file_unlink('{V}')",
    "SELECT pg_file_rename('{V}', '{D}/w2')",
    "SELECT lo_export(lo_from_bytea(0, 'x'), '{D}/w3')",
    "COPY (SELECT 1) TO '{D}/w4'",
    "COPY rt_data FROM PROGRAM 'touch {D}/w5'",
    "SELECT dblink_exec('dbname={DB} user={SUPER}', 'COPY (select 1) TO ''{D}/w6''')",
    "SELECT (('dbname={DB} user={SUPER}')::text).dblink_connect",
    "SELECT dblink_connect('dbname={DB} user={SUPER}')",
  ].map((sql, i) => ({ id: `file-write-${i}`, sql })),
  // Rows, sequences and locks.
  ...[
    "SELECT heap_force_kill('rt_data'::regclass, array['(0,1)'::tid])",
    "SELECT heap_force_freeze('rt_data'::regclass, array['(0,2)'::tid])",
    "SELECT dblink_exec('dbname={DB} user={SUPER}', 'delete from rt_data')",
    "SELECT * FROM dblink('dbname={DB} user={SUPER}', 'delete from rt_data returning 1') AS t(x int)",
    "SELECT nextval('rt_seq')",
    "SELECT ('rt_seq'::regclass).nextval",
    "SELECT ('rt_seq').nextval",
    "SELECT setval('rt_seq', 1000)",
    "SELECT (42::bigint).pg_advisory_lock",
    "SELECT (42::bigint).pg_advisory_lock_shared",
    "SELECT pg_catalog.pg_advisory_lock(42)",
  ].map((sql, i) => ({ id: `rows-${i}`, sql, on: ['ro' as const] })),
  // Other sessions.
  ...[
    'SELECT pg_terminate_backend({PID})',
    'SELECT ({PID}).pg_terminate_backend',
    "SELECT (pid).pg_terminate_backend FROM pg_stat_activity WHERE application_name = '{PEER}'",
    "SELECT a.pid.pg_terminate_backend FROM pg_stat_activity a WHERE application_name = '{PEER}'",
    "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{PEER}'",
  ].map((sql, i) => ({ id: `session-${i}`, sql })),
  // Ways back from a dropped privilege, then a file read in the same transaction.
  { id: 'role-back-0', sql: ['SET ROLE {SUPER}', "SELECT ('{F}'::text).pg_read_file"] },
  { id: 'role-back-1', sql: ['RESET ROLE', "SELECT ('{F}'::text).pg_read_file"] },
  { id: 'role-back-2', sql: ["SELECT set_config('role', '{SUPER}', true)", "SELECT ('{F}'::text).pg_read_file"] },
  { id: 'role-back-3', sql: ['SET LOCAL SESSION AUTHORIZATION {SUPER}', "SELECT ('{F}'::text).pg_read_file"] },
  { id: 'role-back-4', sql: ["SELECT ('role')::text.set_config", "SELECT ('{F}'::text).pg_read_file"] },
  { id: 'scs-0', sql: ['SET standard_conforming_strings = off', "SELECT 'x\\', $$', pg_read_file('{F}') --$$"] },
  { id: 'scs-1', sql: ["SELECT set_config('standard_conforming_strings', 'off', true)", "SELECT 'x\\', $$', pg_read_file('{F}') --$$"] },
  { id: 'scs-2', sql: ['SET LOCAL standard_conforming_strings TO off', "SELECT 'x\\', $$', ('{F}'::text).pg_read_file --$$"] },
];

/** Escapes a read-write connection must refuse as well (each also tried read-only). */
const ESCAPES: Attack[] = [
  { id: 'role-super', sql: 'CREATE ROLE rt_evil_{ID} SUPERUSER LOGIN' },
  { id: 'role-alter-super', sql: 'ALTER ROLE {PLAIN} SUPERUSER' },
  { id: 'role-grant-program', sql: 'GRANT pg_execute_server_program TO {PLAIN}' },
  { id: 'role-grant-files', sql: 'GRANT pg_read_server_files, pg_write_server_files TO {PLAIN}' },
  { id: 'role-grant-super-member', sql: 'GRANT {SUPER} TO {PLAIN}' },
  { id: 'role-authid', sql: "UPDATE pg_authid SET rolsuper = true WHERE rolname = '{PLAIN}'" },
  { id: 'role-authid-qualified', sql: "UPDATE pg_catalog.pg_authid SET rolsuper = true WHERE rolname = '{PLAIN}'" },
  { id: 'role-password', sql: "ALTER USER {PLAIN} PASSWORD 'owned'" },
  { id: 'role-preload', sql: "ALTER ROLE {SUPER} SET session_preload_libraries = 'auto_explain'" },
  { id: 'db-preload', sql: "ALTER DATABASE {DB} SET session_preload_libraries = 'auto_explain'" },
  { id: 'db-noconn', sql: 'ALTER DATABASE {DB} ALLOW_CONNECTIONS false' },
  { id: 'db-connlimit', sql: 'ALTER DATABASE {DB} CONNECTION LIMIT 0' },
  { id: 'db-set-search', sql: 'ALTER DATABASE {DB} SET search_path = evil' },
  { id: 'subscription', sql: "CREATE SUBSCRIPTION rt_sub_{ID} CONNECTION 'dbname={DB} user={SUPER}' PUBLICATION p WITH (connect = false)" },
  { id: 'fdw-file', sql: ['CREATE SERVER rt_fs_{ID} FOREIGN DATA WRAPPER file_fdw', "CREATE FOREIGN TABLE rt_ft_{ID} (l text) SERVER rt_fs_{ID} OPTIONS (filename '{F}')", 'SELECT * FROM rt_ft_{ID}'] },
  { id: 'fdw-program', sql: ['CREATE SERVER rt_fp_{ID} FOREIGN DATA WRAPPER file_fdw', "CREATE FOREIGN TABLE rt_fq_{ID} (l text) SERVER rt_fp_{ID} OPTIONS (program 'cat {F}')", 'SELECT * FROM rt_fq_{ID}'] },
  { id: 'view-read', sql: ["CREATE VIEW rt_v_{ID} AS SELECT pg_read_file('{F}') AS c", 'SELECT * FROM rt_v_{ID}'] },
  { id: 'view-read-attr', sql: ["CREATE VIEW rt_w_{ID} AS SELECT ('{F}'::text).pg_read_file AS c", 'SELECT * FROM rt_w_{ID}'] },
  { id: 'default-read', sql: ["CREATE TABLE rt_d_{ID} (id int, c text DEFAULT pg_read_file('{F}'))", 'INSERT INTO rt_d_{ID} (id) VALUES (1)', 'SELECT * FROM rt_d_{ID}'] },
  { id: 'default-read-attr', sql: ["CREATE TABLE rt_e_{ID} (id int, c text DEFAULT ('{F}'::text).pg_read_file)", 'INSERT INTO rt_e_{ID} (id) VALUES (1)', 'SELECT * FROM rt_e_{ID}'] },
  { id: 'generated-read', sql: ["CREATE TABLE rt_g_{ID} (p text, c text GENERATED ALWAYS AS (pg_read_file(p)) STORED)", "INSERT INTO rt_g_{ID} (p) VALUES ('{F}')", 'SELECT * FROM rt_g_{ID}'] },
  { id: 'operator', sql: ['CREATE OPERATOR ##> (rightarg = text, function = pg_read_file)', "SELECT ##> '{F}'"] },
  { id: 'cast', sql: ['CREATE DOMAIN rt_dom_{ID} AS text', 'CREATE CAST (text AS rt_dom_{ID}) WITH FUNCTION pg_read_file(text)', "SELECT '{F}'::text::rt_dom_{ID}"] },
  { id: 'sql-function', sql: ['CREATE FUNCTION rt_f_{ID}(text) RETURNS text LANGUAGE sql AS $$ SELECT pg_read_file($1) $$', "SELECT rt_f_{ID}('{F}')"] },
  { id: 'sql-function-atomic', sql: ['CREATE FUNCTION rt_h_{ID}(p text) RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT pg_read_file(p); END', "SELECT rt_h_{ID}('{F}')"] },
  { id: 'rule', sql: ["CREATE TABLE rt_r_{ID} (c text)", "CREATE RULE rt_rule_{ID} AS ON INSERT TO rt_r_{ID} DO ALSO SELECT pg_file_write('{D}/w7', 'x', false)", "INSERT INTO rt_r_{ID} VALUES ('a')"] },
  // Catalogs written through a view the agent made (a simple view is updatable), directly, by a rule or in a CTE.
  { id: 'view-authid', sql: ['CREATE VIEW rt_va_{ID} AS SELECT * FROM pg_authid', "UPDATE rt_va_{ID} SET rolsuper = true WHERE rolname = '{PLAIN}'"] },
  { id: 'view-authid-cte', sql: ['CREATE VIEW rt_vc_{ID} AS SELECT rolname, rolsuper FROM pg_catalog.pg_authid', "WITH x AS (UPDATE rt_vc_{ID} SET rolsuper = true WHERE rolname = '{PLAIN}' RETURNING 1) SELECT count(*) FROM x"] },
  { id: 'view-members', sql: ['CREATE VIEW rt_vm_{ID} AS SELECT * FROM "pg_catalog"."pg_auth_members"', "INSERT INTO rt_vm_{ID} (roleid, member, grantor, admin_option) SELECT 'pg_execute_server_program'::regrole, '{PLAIN}'::regrole, 10, false"] },
  { id: 'view-settings', sql: ['CREATE VIEW rt_vs_{ID} AS SELECT * FROM pg_db_role_setting', "INSERT INTO rt_vs_{ID} VALUES ((SELECT oid FROM pg_database WHERE datname = current_database()), 0, '{log_min_messages=debug5}')"] },
  { id: 'view-proc-rebind', sql: ["CREATE FUNCTION rt_rf_{ID}(text) RETURNS text LANGUAGE sql AS 'SELECT $1'", 'CREATE VIEW rt_vp_{ID} AS SELECT oid, proname, prolang, prosrc FROM pg_proc', "UPDATE rt_vp_{ID} SET prolang = 12, prosrc = 'pg_read_file_all' WHERE oid = 'rt_rf_{ID}(text)'::regprocedure", "SELECT rt_rf_{ID}('{F}')"] },
  { id: 'view-rule', sql: ['CREATE VIEW rt_vr_{ID} AS SELECT * FROM pg_authid', 'CREATE TABLE rt_rt_{ID} (n text)', "CREATE RULE rt_rr_{ID} AS ON INSERT TO rt_rt_{ID} DO ALSO UPDATE rt_vr_{ID} SET rolsuper = true WHERE rolname = NEW.n", "INSERT INTO rt_rt_{ID} VALUES ('{PLAIN}')"] },
  { id: 'extension-untrusted', sql: 'CREATE EXTENSION IF NOT EXISTS plperlu' },
  { id: 'load', sql: "LOAD 'auto_explain'" },
  { id: 'alter-system', sql: "ALTER SYSTEM SET log_statement = 'all'" },
  { id: 'set-preload', sql: ["SET session_preload_libraries = 'auto_explain'", "SELECT 1"] },
  { id: 'copy-program', sql: "COPY (SELECT 1) TO PROGRAM 'touch {D}/w8'" },
  { id: 'file-read-rw', sql: "SELECT ('{F}'::text).pg_read_file" },
  { id: 'file-read-rw-col', sql: "SELECT p.pg_read_file FROM (SELECT '{F}'::text AS p) s" },
  { id: 'xml-rw', sql: "SELECT query_to_xml('select pg_read_file(''{F}'')', true, true, '')" },
  { id: 'terminate-rw', sql: "SELECT (pid).pg_terminate_backend FROM pg_stat_activity WHERE application_name = '{PEER}'" },
  { id: 'dblink-rw', sql: "SELECT * FROM dblink('dbname={DB} user={SUPER}', 'select pg_read_file(''{F}'')') AS t(x text)" },
];

interface PgWorld {
  url: string;
  admin: Sql;
  peer: Sql;
  dir: string;
  values: Record<string, string | number>;
}

async function state(w: PgWorld): Promise<string> {
  const [s] = await w.admin.unsafe(`
    select
      (select md5(coalesce(string_agg(id || ':' || v, ',' order by id), '')) from rt_data) as rows,
      (select last_value || ':' || is_called from rt_seq) as seq,
      (select count(*) from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())) as locks,
      (select md5(string_agg(concat_ws(':', rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, rolpassword), ',' order by rolname)) from pg_authid where rolname like 'rt\_%') as roles,
      (select count(*) from pg_auth_members m join pg_authid r on r.oid = m.member where r.rolname like 'rt\_%') as members,
      (select count(*) from pg_db_role_setting s left join pg_authid r on r.oid = s.setrole
         where s.setdatabase = (select oid from pg_database where datname = current_database()) or r.rolname like 'rt\_%') as settings,
      (select concat_ws(':', datallowconn, datconnlimit) from pg_database where datname = current_database()) as db,
      (select count(*) from pg_subscription) as subs,
      (select count(*) from pg_foreign_server) as servers,
      (select count(*) from pg_stat_activity where datname = current_database() and backend_type = 'client backend'
         and pid <> pg_backend_pid() and application_name not in ('codomyrmex-db', '${PEER_APP}')) as strangers`);
  const files = readdirSync(w.dir).sort().join(',');
  const victim = readFileSync(join(w.dir, 'victim.txt'), 'utf8');
  return JSON.stringify({ ...s, files, victim });
}

describe.runIf(BACKENDS.includes('postgres'))('red team: PostgreSQL superuser with dblink, adminpack, pg_surgery, file_fdw', () => {
  let root: Sql;
  let world: PgWorld;
  let h: Harness;
  let base = '';

  beforeAll(async () => {
    const { default: postgres } = await import('postgres');
    root = postgres(PG_URL, { max: 1, onnotice: () => undefined });
    await root.unsafe(`CREATE ROLE ${SUPER} LOGIN SUPERUSER`);
    await root.unsafe(`CREATE ROLE ${PLAIN} LOGIN`);
    await root.unsafe(`CREATE DATABASE ${DB}`);
    const url = PG_URL.replace(/\/\/[^@/]*@/, `//${SUPER}@`).replace(/\/[^/]*$/, `/${DB}`);
    const admin = postgres(PG_URL.replace(/\/[^/]*$/, `/${DB}`), { max: 1, onnotice: () => undefined, connection: { application_name: 'rt-admin' } });
    for (const ext of ['dblink', 'adminpack', 'pg_surgery', 'file_fdw']) await admin.unsafe(`CREATE EXTENSION ${ext}`);
    await admin.unsafe("CREATE TABLE rt_data (id int PRIMARY KEY, v text); INSERT INTO rt_data SELECT g, 'v' || g FROM generate_series(1, 10) g; CREATE SEQUENCE rt_seq");
    await admin.unsafe(`GRANT ALL ON rt_data, rt_seq TO ${PLAIN}`);
    const peer = postgres(url, { max: 1, onnotice: () => undefined, connection: { application_name: PEER_APP } });
    const dir = tempDir('cmx-rt-pg-');
    chmodSync(dir, 0o777);
    writeFileSync(join(dir, 'secret.txt'), `${token}\n`, { mode: 0o644 });
    writeFileSync(join(dir, 'victim.txt'), 'victim\n', { mode: 0o666 });
    writeFileSync(join(dir, `${token}.name`), '', { mode: 0o644 });
    const [{ pid }] = await peer.unsafe('select pg_backend_pid() as pid');
    world = { url, admin, peer, dir, values: { F: join(dir, 'secret.txt'), V: join(dir, 'victim.txt'), D: dir, DB, SUPER, PLAIN, PEER: PEER_APP, PID: pid, ID: id } };
    h = await startInProcess({
      ro: { url, read_only: true, pool_size: 1, statement_timeout_ms: 5000 },
      rw: { url, pool_size: 1, statement_timeout_ms: 5000 },
    });
    base = await state(world);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await world?.peer.end().catch(() => undefined);
    await world?.admin.end().catch(() => undefined);
    await root.unsafe(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`).catch(() => undefined);
    for (const r of [SUPER, PLAIN, `rt_evil_${id}`]) await root.unsafe(`DROP ROLE IF EXISTS ${r}`).catch(() => undefined);
    await root.end();
    if (world) rmSync(world.dir, { recursive: true, force: true });
  });

  function witness(): Witness {
    return {
      token,
      content: `${token}\n`,
      async effects() {
        const out: string[] = [];
        try {
          await world.peer.unsafe('select 1');
        } catch {
          out.push('the peer session was ended');
          const { default: postgres } = await import('postgres');
          world.peer = postgres(world.url, { max: 1, onnotice: () => undefined, connection: { application_name: PEER_APP } });
        }
        let now: string;
        try {
          now = await state(world);
        } catch (err) {
          return [...out, `state unreadable: ${(err as Error).message}`];
        }
        if (now !== base) out.push(`state changed: ${diff(base, now)}`);
        return out;
      },
      async rebase() {
        await world.admin.unsafe('select pg_advisory_unlock_all()');
        base = await state(world);
      },
    };
  }

  it('a read-only connection has no effect, in any notation', async () => {
    const attacks = READ_ONLY.map((a) => ({ ...a, on: ['ro' as const], sql: fillAll(a.sql) }));
    const report = await runRedTeam(h, witness(), attacks, 'pg read-only');
    expect(report.effects).toEqual([]);
  }, 600_000);

  it('escapes are refused on read-only and read-write connections', async () => {
    const attacks = ESCAPES.map((a) => ({ ...a, sql: fillAll(a.sql) }));
    const report = await runRedTeam(h, witness(), attacks, 'pg escapes');
    expect(report.effects).toEqual([]);
  }, 600_000);

  function fillAll(sql: string | string[]): string | string[] {
    return Array.isArray(sql) ? sql.map((s) => fill(s, world.values)) : fill(sql, world.values);
  }
});

function diff(a: string, b: string): string {
  const x = JSON.parse(a) as Record<string, unknown>;
  const y = JSON.parse(b) as Record<string, unknown>;
  return Object.keys(y).filter((k) => String(x[k]) !== String(y[k])).map((k) => `${k} ${String(x[k]).slice(0, 40)} -> ${String(y[k]).slice(0, 40)}`).join(', ');
}
