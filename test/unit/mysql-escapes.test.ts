/**
 * The MySQL/MariaDB classifier on the shapes of issue 14: executable comments read
 * as the server reads them, and the every-connection escape list (accounts, the mysql
 * schema, files, outbound engines, replication, pinned session settings, dynamic SQL).
 * Each family in several notations; harmless look-alikes must pass.
 */
import { describe, expect, it } from 'vitest';
import { classifyMysql } from '../../src/core/backends/mysql/classify.js';
import { lexMysql } from '../../src/core/backends/mysql/lexer.js';

const DEFAULT = { backslashEscapes: true, ansiQuotes: false };
const codeOf = (sql: string): string[] =>
  lexMysql(sql, DEFAULT).tokens.filter((t) => !['whitespace', 'comment', 'conditional_comment'].includes(t.kind)).map((t) => t.text);

describe('lexMysql: executable comments read as code', () => {
  it.each([
    ["SELECT /*!50000 '*/', LOAD_FILE('/etc/hostname') */", ['SELECT', "'*/'", ',', 'LOAD_FILE', '(', "'/etc/hostname'", ')']],
    ['SELECT /*! `*/` */', ['SELECT', '`*/`']],
    ['SELECT /*M! 1 -- */ x\n */', ['SELECT', '1']],
    ['SELECT /*!1 # */\n*/ 2', ['SELECT', '1', '2']],
    ['SELECT /*! 1 /* plain */ , 2 */', ['SELECT', '1', ',', '2']],
    ['SELECT 2*/*!3*/4', ['SELECT', '2', '*', '3', '4']],
    ['SELECT 1 */ 2', ['SELECT', '1', '*', '/', '2']],
    ["SELECT /*!'\\'*/'*/", ['SELECT', "'\\'*/'"]],
    ['SELECT 1--1', ['SELECT', '1', '-', '-', '1']],
    ['SELECT 1 --\u00a0x', ['SELECT', '1', '-', '-', '\u00a0x']],
    ['SELECT 1 -- x\0, 2', ['SELECT', '1', '\0', ',', '2']],
    ['SELECT 1abc, 0x1g, 0x1F', ['SELECT', '1abc', ',', '0x1g', ',', '0x1F']],
    ["SELECT N'a', _utf8mb4'b', X'41', B'1'", ['SELECT', 'N', "'a'", ',', '_utf8mb4', "'b'", ',', 'X', "'41'", ',', 'B', "'1'"]],
    ['SELECT `a``b`', ['SELECT', '`a``b`']],
    // /*m! (lower case) is a plain comment for MariaDB.
    ["SELECT 1 /*m! '*/ , 2", ['SELECT', '1', ',', '2']],
  ])('%j', (sql, code) => {
    expect(codeOf(sql)).toEqual(code);
  });

  it('a versioned comment whose end moves with the server version is ambiguous', () => {
    expect(lexMysql("SELECT /*!99999 '*/ , LOAD_FILE('x') -- ' */", DEFAULT).ambiguity).toMatch(/server version/);
    expect(lexMysql("SELECT /*M! '*/ , 1 -- ' */", DEFAULT).ambiguity).toMatch(/server version/);
    expect(lexMysql('SELECT /*!50700 1 */', DEFAULT).ambiguity).toBeNull();
    expect(lexMysql('SELECT /*!50700 /* a */ 1 */', DEFAULT).ambiguity).toBeNull();
    expect(lexMysql('SELECT /*!100000 1 -- */ x\n */', DEFAULT).ambiguity).toMatch(/server version/);
    expect(lexMysql("SELECT /*!50000 '*/' */", DEFAULT).ambiguity).toBeNull();
  });
});

const escapes: Array<[string, RegExp]> = [
  // Executable comments: the inside is code, in every notation.
  ["SELECT /*!50000 '*/', LOAD_FILE('/etc/hostname') */", /LOAD_FILE/],
  ["SELECT /*! '*/' */ , /*M!100000 LOAD_FILE('/etc/hostname') */", /LOAD_FILE/],
  ["SELECT 1 /*!50000 '*/' INTO OUTFILE '/tmp/x' */", /OUTFILE/],
  ["SELECT 1 /*M! \"*/\" INTO DUMPFILE '/tmp/x' */", /DUMPFILE|server version/],
  ["/*!SET*/ PASSWORD FOR 'u'@'%' = PASSWORD('x')", /PASSWORD/],
  ["SET /*!50000 PASSWORD */ FOR u = 'x'", /PASSWORD/],
  ["SELECT /*!99999 '*/ , LOAD_FILE('x') -- ' */", /server version/],
  // Accounts and privileges.
  ["GRANT ALL ON *.* TO 'u'@'%' IDENTIFIED BY 'x'", /GRANT/],
  ['grant file on *.* to u', /GRANT/],
  ['GRANT SELECT ON t TO u WITH GRANT OPTION', /GRANT/],
  ['REVOKE ALL ON *.* FROM u', /REVOKE/],
  ["CREATE OR REPLACE USER u IDENTIFIED BY 'x'", /IDENTIFIED|USER/],
  ['CREATE USER IF NOT EXISTS u', /USER/],
  ['create /**/ user u', /USER/],
  ['DROP USER u', /USER/],
  ['RENAME USER u TO v', /USER/],
  ["ALTER USER u ACCOUNT LOCK", /USER/],
  ['CREATE ROLE r WITH ADMIN u', /ROLE/],
  ['SET DEFAULT ROLE r FOR u', /ROLE/],
  ["SET PASSWORD = PASSWORD('x')", /PASSWORD/],
  ["SET PASSWORD FOR 'u'@'%' = 'x'", /PASSWORD/],
  ["SET @a = 1, PASSWORD = 'x'", /PASSWORD/],
  ["SET\tpassword\u000bFOR u='x'", /PASSWORD/],
  // The mysql schema.
  ["INSERT INTO mysql.user (Host, User) VALUES ('%', 'x')", /mysql system schema/],
  ["UPDATE `mysql`.`global_priv` SET Priv = '{}'", /mysql system schema/],
  ['DELETE FROM MySQL . db', /mysql system schema/],
  ['REPLACE INTO mysql.proxies_priv VALUES (1)', /mysql system schema/],
  ['TRUNCATE mysql.roles_mapping', /mysql system schema/],
  ['ALTER TABLE mysql.user ENGINE = MyISAM', /mysql system schema/],
  ['DROP TABLE mysql.servers', /mysql system schema/],
  ['RENAME TABLE mysql.plugin TO x', /mysql system schema/],
  ['CREATE TABLE mysql.evil (a int)', /mysql system schema/],
  ['DROP DATABASE IF EXISTS mysql', /mysql system schema/],
  ['USE mysql', /USE mysql/],
  ['USE `mysql`', /USE mysql/],
  ['CREATE PROCEDURE p() INSERT INTO mysql.db VALUES (1)', /mysql system schema/],
  // Server-wide actions.
  ['FLUSH PRIVILEGES', /FLUSH/],
  ['flush tables with read lock', /FLUSH/],
  ['KILL 5', /KILL/],
  ['KILL QUERY 5', /KILL/],
  ['SHUTDOWN', /SHUTDOWN/],
  ["CHANGE MASTER TO MASTER_HOST = 'evil'", /replication/],
  ['START SLAVE', /replication/],
  ['STOP ALL SLAVES', /replication/],
  ['RESET MASTER', /RESET/],
  ['PURGE BINARY LOGS BEFORE NOW()', /binary logs/],
  ["BINLOG 'abc'", /BINLOG/],
  ['BACKUP STAGE START', /BACKUP/],
  ['SET GLOBAL max_connections = 10', /GLOBAL/],
  ['SET @@global.max_connections = 10', /GLOBAL/],
  ['SET @@GLOBAL.`max_connections` := 10', /GLOBAL/],
  ['SET @a = 1, GLOBAL max_connections = 10', /GLOBAL/],
  ['SET PERSIST max_connections = 10', /PERSIST/],
  // Files and outbound connections.
  ["CREATE TABLE t (a int) DATA DIRECTORY = '/tmp'", /DIRECTORY/],
  ["CREATE TABLE t (a int) INDEX\nDIRECTORY '/tmp'", /DIRECTORY/],
  ["ALTER TABLE t DATA DIRECTORY='/tmp'", /DIRECTORY/],
  ["CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'evil')", /SERVER/],
  ["CREATE TABLE t (a int) ENGINE=CONNECT TABLE_TYPE=DOS FILE_NAME='/etc/passwd'", /CONNECT/],
  ["CREATE TABLE t (a int) ENGINE FEDERATED CONNECTION='mysql://u@evil/db/t'", /FEDERATED|CONNECTION/],
  ["ALTER TABLE t ENGINE = 'Spider'", /SPIDER/],
  ["INSTALL SONAME 'ha_connect'", /INSTALL|SONAME/],
  ["LOAD DATA INFILE '/etc/passwd' INTO TABLE t", /LOAD DATA/],
  ["LOAD XML LOCAL INFILE '/x' INTO TABLE t", /LOAD/],
  ["SELECT load_file ('/etc/passwd')", /LOAD_FILE/],
  ["SELECT `load_file`('/etc/passwd')", /LOAD_FILE/],
  ["SELECT sys_éxec('id')", /SYS_EXEC/],
  ["SELECT test.SYS_EVAL('id')", /SYS_EVAL/],
  ["LOAD_FILE('/etc/passwd')", /LOAD_FILE/],
  ["CONCAT('a', LOAD_FILE('/etc/hostname'))", /LOAD_FILE/],
  // Code that runs later or as someone else; SQL the classifier cannot see.
  ['CREATE EVENT e ON SCHEDULE EVERY 1 SECOND DO DELETE FROM t', /EVENT/],
  ['CREATE DEFINER = root@localhost PROCEDURE p() SELECT 1', /DEFINER/],
  ['ALTER EVENT e ENABLE', /EVENT/],
  ["EXECUTE IMMEDIATE CONCAT('SELECT LOAD', '_FILE(1)')", /EXECUTE/],
  ["PREPARE s FROM 'SELECT 1'", /PREPARE/],
  ['CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET GLOBAL max_connections = 1', /GLOBAL/],
  // Settings the classifier depends on.
  ["SET sql_mode = 'NO_BACKSLASH_ESCAPES'", /sql_mode is pinned/],
  ["SET SESSION sql_mode = 'ANSI_QUOTES'", /sql_mode is pinned/],
  ["SET @@sql_mode = 'ANSI_QUOTES'", /sql_mode is pinned/],
  ["SET @@session.sql_mode := ''", /sql_mode is pinned/],
  ["SET @@local . `sql_mode` = ''", /sql_mode is pinned/],
  ["SET STATEMENT sql_mode = 'ANSI_QUOTES' FOR SELECT 1", /sql_mode is pinned/],
  ['SET NAMES gbk', /character set/],
  ['SET CHARACTER SET sjis', /character set/],
  ['SET CHARSET big5', /character set/],
  ["SET character_set_client = 'gbk'", /character_set_client is pinned/],
  ['SET @@collation_connection = gbk_chinese_ci', /pinned/],
  ['SET sql_log_bin = 0', /sql_log_bin is pinned/],
  ["SET SESSION binlog_format = 'STATEMENT'", /binlog_format is pinned/],
];

describe('classifyMysql: escapes refused on every connection', () => {
  it.each(escapes)('%j', (sql, reason) => {
    expect(classifyMysql(sql).escape).toMatch(reason);
  });

  it('also when the words are backquoted, split by comments or spelled in another case', () => {
    for (const sql of ['/*!GRANT*/ ALL ON *.* TO u', 'CrEaTe/**/uSeR u', 'INSERT INTO `MYSQL`.user VALUES (1)', 'SET/*x*/GLOBAL max_connections=1']) {
      expect(classifyMysql(sql).escape, sql).toBeDefined();
    }
  });
});

describe('classifyMysql: look-alikes that stay allowed', () => {
  it.each([
    "UPDATE users SET password = 'x' WHERE id = 1",
    "UPDATE t SET names = 'a'",
    "SELECT * FROM information_schema.routines WHERE sql_mode = ''",
    "SELECT * FROM information_schema.tables WHERE engine = 'CONNECT'",
    'SELECT @@global.max_connections, @@sql_mode',
    'SHOW GLOBAL VARIABLES WHERE Variable_name = "x"',
    'SELECT user, host FROM mysql.user',
    'SHOW CREATE TABLE mysql.user',
    'SHOW GRANTS',
    'ALTER TABLE t DROP COLUMN user',
    'ALTER TABLE t ALTER event SET DEFAULT 1',
    'CREATE TABLE t (event int, user varchar(10), a text CHARACTER SET utf8mb4)',
    "SELECT '/*!LOAD_FILE(1)*/', `KILL`, 'GRANT'",
    "SELECT REPLACE(user, 'a', 'b') FROM mysql.user",
    'SET @a = 1, @b = 2',
    'SET max_statement_time = 0',
    'SELECT 1 /*!50700 , 2 */',
  ])('%j', (sql) => {
    expect(classifyMysql(sql).escape).toBeUndefined();
  });
});
