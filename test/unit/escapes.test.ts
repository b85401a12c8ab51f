/**
 * Statements that reach outside the database are refused on every connection, read-write
 * included (Classification.escape); ordinary writes and reads are not.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { classifyMysql } from '../../src/core/backends/mysql/classify.js';
import { classifyPostgres, loadPostgresParser } from '../../src/core/backends/postgres/classify.js';
import { classifySqlite } from '../../src/core/backends/sqlite/classify.js';

beforeAll(() => loadPostgresParser());

describe('escapes on PostgreSQL', () => {
  it.each([
    ["COPY t TO '/tmp/x'", /COPY to or from a file/],
    ["COPY t FROM PROGRAM 'id'", /PROGRAM runs a program/],
    ["COPY (SELECT 1) TO PROGRAM 'touch /tmp/x'", /PROGRAM/],
    ["SELECT pg_read_file('/etc/hostname')", /pg_read_file reads or writes files/],
    [`SELECT U&"\\0070g_read_file"('/etc/hostname')`, /pg_read_file/],
    ["SELECT lo_export(1, '/tmp/x')", /lo_export/],
    ['SELECT * FROM pg_ls_dir(\'/\')', /pg_ls_dir/],
    ['SELECT pg_terminate_backend(1)', /acts on other sessions/],
    ['SELECT pg_catalog.pg_cancel_backend(1)', /pg_cancel_backend/],
    ['SELECT pg_reload_conf()', /pg_reload_conf/],
    ["SELECT dblink_exec('dbname=x', 'DROP TABLE t')", /dblink_exec opens its own connection/],
    ["ALTER USER CURRENT_USER PASSWORD 'x'", /changes an account/],
    ['ALTER ROLE r NOLOGIN', /changes an account/],
    ['ALTER ROLE r SET search_path = x', /future sessions/],
    ["ALTER SYSTEM SET work_mem = '1MB'", /configuration file/],
    ["LOAD 'auto_explain'", /shared library/],
    ['WITH x AS (SELECT pg_read_file(\'/etc/passwd\') AS f) INSERT INTO t SELECT 1 FROM x', /pg_read_file/],
  ])('%s', (sql, reason) => {
    expect(classifyPostgres(sql).escape).toMatch(reason);
  });

  it.each([
    'SELECT 1', 'DELETE FROM t', 'DROP TABLE t', 'SET search_path TO x', "SELECT set_config('a.b', 'c', false)",
    'SELECT pg_advisory_lock(1)', 'COPY t FROM STDIN', "SELECT 'pg_read_file(1)'", 'LISTEN x',
  ])('lets %s through', (sql) => {
    expect(classifyPostgres(sql).escape).toBeUndefined();
  });
});

describe('escapes on MySQL / MariaDB', () => {
  it.each([
    ["SELECT * FROM t INTO OUTFILE '/tmp/x'", /OUTFILE/],
    ["SELECT 'x' INTO DUMPFILE '/tmp/x'", /DUMPFILE/],
    ["SELECT LOAD_FILE('/etc/hostname')", /LOAD_FILE/],
    ["SELECT `load_file`('/etc/hostname')", /LOAD_FILE/],
    ["LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE t", /LOAD DATA/],
    ["LOAD XML INFILE '/x' INTO TABLE t", /LOAD XML/],
    ['KILL 12', /KILL/],
    ['KILL QUERY 12', /KILL/],
    ["SET PASSWORD = PASSWORD('x')", /SET PASSWORD/],
    ["SET PASSWORD FOR 'u'@'%' = 'x'", /SET PASSWORD/],
    ["ALTER USER CURRENT_USER() IDENTIFIED BY 'x'", /ALTER USER/],
    ["RENAME USER 'a'@'%' TO 'b'@'%'", /RENAME USER/],
    ['SET GLOBAL max_connections = 5', /server-wide/],
    ['SET @@global.max_connections = 5', /server-wide/],
    ['SHUTDOWN', /SHUTDOWN/],
    ["INSTALL PLUGIN p SONAME 'p.so'", /native code/],
    ["SELECT sys_exec('id')", /SYS_EXEC/],
    ["/*!50000 SELECT LOAD_FILE('/etc/hostname') */", /LOAD_FILE/],
    ["SELECT 1 /*M!100000 INTO OUTFILE '/tmp/x' */", /OUTFILE/],
    ["SELECT '\\'', LOAD_FILE('/etc/hostname') -- '", /LOAD_FILE/],
  ])('%s', (sql, reason) => {
    expect(classifyMysql(sql).escape).toMatch(reason);
  });

  it.each([
    'SELECT 1', 'DELETE FROM t', 'SET @x = 1', 'SHOW GLOBAL STATUS', 'SELECT @@global.sql_mode', "SELECT 'LOAD_FILE(1)'",
    'SELECT password FROM users', 'SELECT GET_LOCK(\'a\', 0)', 'CREATE USER_TABLE (a int)',
  ])('lets %s through', (sql) => {
    expect(classifyMysql(sql).escape).toBeUndefined();
  });
});

describe('escapes on SQLite', () => {
  it.each([
    ["ATTACH '/tmp/x' AS x", /ATTACH/],
    ["attach/**/database '/tmp/x' as x", /ATTACH/],
    ["VACUUM INTO '/tmp/x'", /VACUUM INTO/],
    ["vacuum main into '/tmp/x'", /VACUUM INTO/],
    ["SELECT load_extension('/x')", /load_extension/],
    ["PRAGMA temp_store_directory = '/tmp'", /temp_store_directory/],
  ])('%s', (sql, reason) => {
    expect(classifySqlite(sql).escape).toMatch(reason);
  });

  it.each(['SELECT 1', 'VACUUM', 'DELETE FROM t', 'PRAGMA journal_mode = WAL', "SELECT 'attach'"])('lets %s through', (sql) => {
    expect(classifySqlite(sql).escape).toBeUndefined();
  });
});
