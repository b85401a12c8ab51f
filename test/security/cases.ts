/**
 * Hostile SQL for the security suite, per backend and family. Each base case is also
 * sent in one disguise (case, whitespace, comments, NBSP...), picked in turn, so every
 * family meets every kind of disguise somewhere. `benign` marks inputs that a disguise
 * may turn into a plain read (a nested comment swallowing the write): those may pass
 * on a read-only connection, their effects are still checked.
 */
import type { TestBackend } from '../support/backends.js';
import { LOCK_NAME } from './effects.js';

export interface HostileCase {
  id: string;
  family: string;
  sql: string;
  benign?: boolean;
  /**
   * A documented limit (SPEC §6): the effect is expected in read-write mode on this
   * fixture's superuser role, and is reported as such instead of as a side effect.
   */
  limit?: string;
  /** The disguise applied to a base case, if any (disguised inputs run through execute_query only). */
  disguise?: string;
}

export interface CaseEnv {
  /** A file path in the watched output directory, unique per case. */
  out(tag: string): string;
  outDir: string;
  peer: number | null;
  account: string | null;
}

type Base = [family: string, sql: string, benign?: boolean, limit?: string];

const CODE_LIMIT = 'procedural code (DO, function bodies) is not classified: only a role without superuser / pg_execute_server_program stops its COPY PROGRAM';

function postgres(e: CaseEnv): Base[] {
  const p = e.peer ?? 0;
  return [
    ['multi', 'SELECT 1; DROP TABLE victim'],
    ['multi', 'COMMIT; DELETE FROM victim'],
    ['multi', 'SELECT 1;DELETE FROM victim;'],
    ['multi', "SELECT 'a;b'; UPDATE victim SET v = 'x'"],
    ['tx', 'COMMIT'],
    ['tx', 'BEGIN'],
    ['tx', 'ROLLBACK'],
    ['tx', 'START TRANSACTION READ WRITE'],
    ['tx', 'SET TRANSACTION READ WRITE'],
    ['tx', 'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE'],
    ['tx', "PREPARE TRANSACTION 'cmx'"],
    ['tx', 'SAVEPOINT s1'],
    ['tx', 'ABORT'],
    ['cte', 'WITH x AS (DELETE FROM victim RETURNING *) SELECT * FROM x'],
    ['cte', "WITH x AS (UPDATE victim SET v = 'z' RETURNING 1) SELECT 1"],
    ['cte', "WITH a AS (SELECT 1), b AS (INSERT INTO victim VALUES (9, 'x') RETURNING 1) SELECT * FROM a"],
    ['cte', 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3), d AS (DELETE FROM victim_log RETURNING 1) SELECT * FROM r'],
    ['cte', 'EXPLAIN ANALYZE WITH x AS (DELETE FROM victim RETURNING 1) SELECT * FROM x'],
    ['into', 'SELECT * INTO victim_copy FROM victim'],
    ['into', 'SELECT 1 AS a INTO TEMP tt'],
    ['into', 'CREATE TABLE victim_copy AS SELECT * FROM victim'],
    ['into', 'CREATE UNLOGGED TABLE victim_copy (a int)'],
    ['copy', `COPY victim TO '${e.out('copy1')}'`],
    ['copy', `COPY victim TO PROGRAM 'touch ${e.out('copy2')}'`],
    ['copy', `COPY (SELECT 1) TO PROGRAM 'touch ${e.out('copy3')}'`],
    ['copy', `copy victim_log from program 'echo 42 > ${e.out('copy4')}; echo 77'`],
    ['copy', "COPY victim_log FROM '/etc/hostname'"],
    ['copy', `COPY victim TO PROGRAM E'touch ${e.out('copy5')}'`],
    ['copy', `COPY victim TO PROGRAM $$touch ${e.out('copy6')}$$`],
    ['copy', `COPY victim TO PROGRAM U&'touch ${e.out('copy7').replaceAll('/', '\\002f')}'`],
    ['file', "SELECT pg_read_file('/etc/hostname')"],
    ['file', "SELECT pg_catalog.pg_read_file('/etc/hostname')"],
    ['file', `SELECT "pg_read_file"('/etc/hostname')`],
    ['file', `SELECT U&"\\0070g_read_file"('/etc/hostname')`],
    ['file', "SELECT pg_read_binary_file('/etc/hostname')"],
    ['file', "SELECT * FROM pg_ls_dir('/tmp')"],
    ['file', 'SELECT * FROM pg_ls_waldir()'],
    ['file', "SELECT pg_stat_file('/etc/hostname')"],
    ['file', "SELECT lo_import('/etc/hostname')"],
    ['file', `SELECT lo_export(lo_from_bytea(0, 'x'), '${e.out('lo1')}')`],
    ['file', `SELECT pg_catalog.lo_export(lo_import('/etc/hostname'), '${e.out('lo2')}')`],
    ['file', `SELECT (SELECT lo_export(l, '${e.out('lo3')}') FROM (SELECT lo_create(0) AS l) s)`],
    ['file', `SELECT 1 WHERE EXISTS (SELECT pg_read_file('/etc/hostname'))`],
    ['session', 'SET search_path TO nowhere'],
    ['session', "SET application_name = 'pwned'"],
    ['session', "SELECT set_config('search_path', 'nowhere', false)"],
    ['session', `SELECT pg_catalog.set_config('statement_timeout', '1', false)`],
    ['session', 'SET ROLE NONE'],
    ['session', 'SET SESSION AUTHORIZATION postgres'],
    ['session', 'SET statement_timeout = 0'],
    ['session', "SET datestyle = 'SQL, DMY'"],
    ['session', 'RESET ALL'],
    ['role', "ALTER USER CURRENT_USER PASSWORD 'pwned'"],
    ['role', "ALTER ROLE CURRENT_USER WITH PASSWORD 'pwned'"],
    ['role', 'ALTER ROLE CURRENT_USER NOLOGIN'],
    ['role', 'ALTER ROLE CURRENT_USER SET search_path = nowhere'],
    ['role', "ALTER SYSTEM SET work_mem = '64kB'"],
    ['role', 'SELECT pg_reload_conf()'],
    ['kill', `SELECT pg_terminate_backend(${p})`],
    ['kill', `SELECT pg_cancel_backend(${p})`],
    ['kill', `SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ${p}`],
    ['kill', `SELECT "pg_terminate_backend"(${p})`],
    ['kill', `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND usename = current_user`],
    ['lock', 'SELECT pg_advisory_lock(1)'],
    ['lock', 'SELECT pg_try_advisory_lock(2)'],
    ['lock', 'SELECT pg_advisory_lock_shared(3)'],
    ['lock', 'SELECT pg_catalog.pg_advisory_lock(4)'],
    ['lock', 'SELECT "pg_advisory_lock"(5, 6)'],
    ['lock', 'SELECT * FROM victim FOR UPDATE'],
    ['lock', 'LOCK TABLE victim IN ACCESS EXCLUSIVE MODE'],
    ['listen', 'LISTEN cmx_chan'],
    ['listen', "NOTIFY cmx_chan, 'x'"],
    ['listen', "SELECT pg_notify('cmx_chan', 'x')"],
    ['listen', 'PREPARE p1 AS SELECT 1'],
    ['listen', 'DEALLOCATE ALL'],
    ['listen', 'DECLARE c1 CURSOR WITH HOLD FOR SELECT 1'],
    ['listen', 'DISCARD ALL'],
    ['listen', "LOAD 'auto_explain'"],
    ['dblink', "SELECT dblink_exec('dbname=postgres', 'CREATE TABLE cmx_pwned(a int)')"],
    ['dblink', "SELECT * FROM dblink('dbname=postgres', 'SELECT 1') AS t(a int)"],
    ['dblink', "SELECT dblink_connect('cmx', 'dbname=postgres')"],
    ['dblink', 'DO $$BEGIN PERFORM pg_advisory_lock(7); END$$'],
    ['dblink', `DO $$BEGIN EXECUTE 'COPY victim TO PROGRAM ''touch ${e.out('do1')}'''; END$$`, false, CODE_LIMIT],
    ['dblink', "SELECT query_to_xml('DELETE FROM victim RETURNING 1', true, true, '')"],
    ['dblink', "SELECT ts_stat('SELECT to_tsvector(pg_advisory_lock(8)::text)')"],
    ['dblink', 'SELECT nextval(pg_get_serial_sequence(\'victim\', \'id\'))'],
    ['ddl', 'DROP TABLE victim'],
    ['ddl', 'TRUNCATE victim'],
    ['ddl', 'ALTER TABLE victim ADD COLUMN pwned int'],
    ['ddl', 'CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS $$SELECT 1$$'],
    ['ddl', 'VACUUM victim'],
    ['ddl', 'CHECKPOINT'],
    ['ddl', '/* /* nested */ DELETE FROM victim */ SELECT 1', true],
  ];
}

function mysql(e: CaseEnv): Base[] {
  const p = e.peer ?? 0;
  return [
    ['multi', 'SELECT 1; DELETE FROM victim'],
    ['multi', 'COMMIT; DELETE FROM victim'],
    ['multi', "SELECT 'a;b'; UPDATE victim SET v = 'x'"],
    ['tx', 'BEGIN'],
    ['tx', 'COMMIT'],
    ['tx', 'START TRANSACTION'],
    ['tx', 'SET autocommit = 0'],
    ['tx', 'SET SESSION TRANSACTION READ WRITE'],
    ['tx', "XA START 'cmx'"],
    ['tx', 'SAVEPOINT s1'],
    ['cte', 'WITH x AS (SELECT 1) DELETE FROM victim'],
    ['cte', "WITH x AS (SELECT 1 AS a) UPDATE victim SET v = 'z'"],
    ['into', `SELECT * FROM victim INTO OUTFILE '${e.out('of1')}'`],
    ['into', `SELECT * INTO OUTFILE '${e.out('of2')}' FROM victim`],
    ['into', `SELECT 'x' INTO DUMPFILE '${e.out('df1')}'`],
    ['into', `SELECT * FROM victim INTO OUTFILE '${e.out('of3')}' FIELDS TERMINATED BY ','`],
    ['into', 'SELECT 1 INTO @x'],
    ['into', 'CREATE TABLE victim_copy AS SELECT * FROM victim'],
    ['file', "SELECT LOAD_FILE('/etc/hostname')"],
    ['file', "SELECT `load_file`('/etc/hostname')"],
    ['file', "SELECT load_file ('/etc/hostname')"],
    ['file', "LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE victim_log"],
    ['file', "LOAD DATA INFILE '/etc/hostname' INTO TABLE victim_log"],
    ['file', "LOAD XML LOCAL INFILE '/etc/hostname' INTO TABLE victim_log"],
    ['cond', '/*!50000 DELETE FROM victim */'],
    ['cond', "SELECT 1 /*!, LOAD_FILE('/etc/hostname') */"],
    ['cond', `SELECT 1 /*M!100000 INTO OUTFILE '${e.out('cc1')}' */`],
    ['cond', `SELECT * FROM victim /*!50000 INTO OUTFILE '${e.out('cc2')}' */`],
    ['cond', `/*!SELECT*/ 1 INTO DUMPFILE '${e.out('cc3')}'`],
    ['cond', `SELECT 1 /*!50000 , GET_LOCK('${LOCK_NAME}', 0) */`],
    ['cond', `SELECT 1 /*!50000 ; KILL ${p} */`],
    ['session', "SET sql_mode = ''"],
    ['session', "SET @@session.sql_mode = 'ANSI_QUOTES'"],
    ['session', 'SET NAMES latin1'],
    ['session', "SET time_zone = '+05:00'"],
    ['session', 'SET foreign_key_checks = 0'],
    ['session', 'SET max_statement_time = 0'],
    ['session', 'SELECT @x := 1'],
    ['session', 'SET @x = 1'],
    ['session', 'SET ROLE NONE'],
    ['session', 'SET sql_log_bin = 0'],
    ['role', "SET PASSWORD = PASSWORD('pwned')"],
    ['role', "SET PASSWORD FOR CURRENT_USER() = PASSWORD('pwned')"],
    ['role', "ALTER USER CURRENT_USER() IDENTIFIED BY 'pwned'"],
    ['role', 'ALTER USER CURRENT_USER() ACCOUNT LOCK'],
    ['role', `RENAME USER '${e.account}'@'%' TO 'cmx_renamed'@'%'`],
    ['role', 'SET GLOBAL max_connections = 5'],
    ['kill', `KILL ${p}`],
    ['kill', `KILL CONNECTION ${p}`],
    ['kill', `KILL QUERY ${p}`],
    ['kill', `KILL HARD ${p}`],
    ['kill', `KILL USER '${e.account}'`],
    ['lock', `SELECT GET_LOCK('${LOCK_NAME}', 0)`],
    ['lock', `SELECT \`GET_LOCK\`('${LOCK_NAME}', 0)`],
    ['lock', `SELECT get_lock ('${LOCK_NAME}', 0)`],
    ['lock', `DO GET_LOCK('${LOCK_NAME}', 0)`],
    ['lock', `SELECT 1 FROM victim WHERE GET_LOCK('${LOCK_NAME}', 0) = 1`],
    ['lock', 'LOCK TABLES victim WRITE'],
    ['lock', 'SELECT * FROM victim FOR UPDATE'],
    ['lock', 'SELECT * FROM victim LOCK IN SHARE MODE'],
    ['lock', 'HANDLER victim OPEN'],
    ['prepare', "PREPARE s1 FROM 'DELETE FROM victim'"],
    ['prepare', 'EXECUTE s1'],
    ['prepare', 'DEALLOCATE PREPARE s1'],
    ['misc', 'CALL cmx_nothing()'],
    ['misc', 'DO 1'],
    ['misc', 'FLUSH TABLES'],
    ['misc', 'SHUTDOWN'],
    ['misc', "INSTALL PLUGIN cmx SONAME 'cmx.so'"],
    ['misc', `SELECT sys_exec('touch ${e.out('udf1')}')`],
    ['misc', "CREATE FUNCTION sys_exec RETURNS int SONAME 'lib_mysqludf_sys.so'"],
    ['dashdash', "SELECT 1 --x\n, LOAD_FILE('/etc/hostname')"],
    ['dashdash', "SELECT 1 #x\n, LOAD_FILE('/etc/hostname')"],
    ['dashdash', "SELECT '\\'', LOAD_FILE('/etc/hostname') -- '"],
    ['dashdash', `SELECT "\\"", GET_LOCK('${LOCK_NAME}', 0) -- "`],
    ['ddl', 'DROP TABLE victim'],
    ['ddl', 'TRUNCATE victim'],
    ['ddl', 'ALTER TABLE victim ADD COLUMN pwned int'],
    ['ddl', 'CREATE TEMPORARY TABLE tt (a int)'],
    ['ddl', 'REPLACE INTO victim VALUES (1, \'z\')'],
  ];
}

function sqlite(e: CaseEnv): Base[] {
  return [
    ['multi', 'SELECT 1; DROP TABLE victim'],
    ['multi', 'SELECT 1;DELETE FROM victim;'],
    ['tx', 'BEGIN'],
    ['tx', 'BEGIN IMMEDIATE'],
    ['tx', 'COMMIT'],
    ['tx', 'END'],
    ['tx', 'SAVEPOINT s1'],
    ['tx', 'RELEASE s1'],
    ['cte', 'WITH x AS (SELECT 1) DELETE FROM victim'],
    ['cte', "WITH x AS (SELECT 1) INSERT INTO victim VALUES (9, 'x')"],
    ['cte', "WITH x AS (SELECT 1) UPDATE victim SET v = 'z'"],
    ['cte', "WITH x AS (SELECT 1) REPLACE INTO victim VALUES (1, 'z')"],
    ['into', 'CREATE TABLE victim_copy AS SELECT * FROM victim'],
    ['into', 'INSERT INTO victim_log SELECT id + 10 FROM victim'],
    ['into', 'SELECT * INTO victim_copy FROM victim'],
    ['file', `ATTACH DATABASE '${e.out('att1')}' AS x`],
    ['file', `ATTACH '${e.out('att2')}' AS x`],
    ['file', `attach/**/'${e.out('att3')}'as x`],
    ['file', `ATTACH 'file:${e.out('att4')}?mode=rwc' AS x`],
    ['file', `VACUUM INTO '${e.out('vac1')}'`],
    ['file', `vacuum main into '${e.out('vac2')}'`],
    ['file', `VACUUM "main" INTO '${e.out('vac3')}'`],
    ['file', "SELECT load_extension('/nonexistent/x')"],
    ['file', `SELECT "load_extension"('/nonexistent/x')`],
    ['file', `SELECT 'load_extension'('/nonexistent/x')`],
    ['file', `SELECT writefile('${e.out('wf1')}', 'x')`],
    ['file', "SELECT fts3_tokenizer('simple')"],
    ['pragma', 'PRAGMA writable_schema = 1'],
    ['pragma', 'PRAGMA writable_schema=ON'],
    ['pragma', 'PRAGMA writable_schema(1)'],
    ['pragma', 'PRAGMA main.writable_schema = 1'],
    ['pragma', 'PRAGMA journal_mode = WAL'],
    ['pragma', 'PRAGMA journal_mode(delete)'],
    ['pragma', 'PRAGMA query_only = 0'],
    ['pragma', 'PRAGMA query_only(false)'],
    ['pragma', 'PRAGMA "query_only" = 0'],
    ['pragma', "PRAGMA 'query_only' = 'off'"],
    ['pragma', 'PRAGMA foreign_keys = OFF'],
    ['pragma', `PRAGMA temp_store_directory = '${e.outDir}'`],
    ['pragma', 'PRAGMA trusted_schema = 1'],
    ['pragma', 'PRAGMA main.journal_mode = off'],
    ['pragma', 'SELECT * FROM pragma_writable_schema(1)'],
    ['pragma', 'EXPLAIN PRAGMA query_only = 0'],
    ['pragma', 'EXPLAIN QUERY PLAN PRAGMA writable_schema = 1'],
    ['session', 'CREATE TEMP TABLE tt (x)'],
    ['session', 'CREATE TEMP VIEW tv AS SELECT 1'],
    ['session', 'DETACH main'],
    ['ddl', 'DROP TABLE victim'],
    ['ddl', 'REINDEX'],
    ['ddl', 'ANALYZE'],
    ['ddl', 'VACUUM'],
    ['ddl', 'CREATE VIRTUAL TABLE vt USING fts5(x)'],
    ['ddl', 'CREATE TRIGGER tr AFTER INSERT ON victim_log BEGIN DELETE FROM victim; END'],
    ['ddl', '/* DELETE FROM victim; */ SELECT 1', true],
  ];
}

const NBSP = '\u00a0';

/** One disguise per base case, in turn: the same attack dressed differently. */
const DISGUISES: Array<[name: string, apply: (sql: string, backend: TestBackend['name'], first: boolean, last: boolean) => string]> = [
  ['lower', (s) => s.toLowerCase()],
  ['tabs', (s) => s.replaceAll(' ', '\t')],
  ['newlines', (s) => s.replaceAll(' ', '\n ')],
  ['lead-comment', (s, _b, first) => (first ? `/* hello */ ${s}` : s)],
  ['line-comment', (s, b, first) => (first ? (b === 'mysql' ? `-- x\n${s}` : `--x\n${s}`) : s)],
  ['inline-comments', (s) => s.replaceAll(' ', '/**/')],
  ['nbsp', (s) => s.replace(' ', NBSP)],
  ['mixed-case', (s) => s.replace(/[a-z]+/gi, (w) => w.split('').map((c, i) => (i % 2 ? c.toLowerCase() : c.toUpperCase())).join(''))],
  ['trailing', (s, _b, _f, last) => (last ? `${s} ;  ` : s)],
  ['padding', (s, _b, first) => (first ? `\n\t ${s}` : s)],
];

/** Applies a disguise to the text outside '...', "...", `...` and $$...$$, so paths and commands stay intact. */
function outsideQuotes(sql: string, apply: (part: string, first: boolean, last: boolean) => string): string {
  const parts = sql.split(/('(?:[^'\\]|''|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`|\$\$[\s\S]*?\$\$)/);
  return parts.map((p, i) => (i % 2 === 1 ? p : apply(p, i === 0, i === parts.length - 1))).join('');
}

export function hostileCases(backend: TestBackend['name'], env: CaseEnv): HostileCase[] {
  const base = backend === 'postgres' ? postgres(env) : backend === 'mysql' ? mysql(env) : sqlite(env);
  const out: HostileCase[] = [];
  base.forEach(([family, sql, benign, limit], i) => {
    out.push({ id: `${backend}-${family}-${i}`, family, sql, benign, limit });
    const [name, apply] = DISGUISES[i % DISGUISES.length];
    const dressed = outsideQuotes(sql, (part, first, last) => apply(part, backend, first, last));
    if (dressed !== sql) out.push({ id: `${backend}-${family}-${i}-${name}`, family, sql: dressed, benign, limit, disguise: name });
  });
  return out;
}
