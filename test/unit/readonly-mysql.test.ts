import { describe, expect, it } from 'vitest';
import { classifyMysql } from '../../src/core/backends/mysql/classify.js';

describe('classifyMysql: reads on the allow-list', () => {
  it.each([
    'SELECT 1',
    'SeLeCt * FROM t',
    '  \n\tselect\n*\nfrom\tt  ',
    '/**/SELECT/**/1',
    '-- note\nSELECT 1 -- trailing',
    '# note\nSELECT 1;',
    'SELECT 1;  -- one statement, trailing ;',
    '(SELECT a FROM t) UNION (SELECT b FROM u)',
    'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5) SELECT * FROM c',
    'SHOW TABLES',
    'SHOW CREATE TABLE t',
    'SHOW CREATE PROCEDURE p',
    'SHOW PROCEDURE STATUS',
    'SHOW CHARACTER SET LIKE "utf8%"',
    'SHOW GRANTS FOR CURRENT_USER',
    'DESCRIBE t',
    'DESC t',
    'EXPLAIN SELECT * FROM t',
    'EXPLAIN FORMAT=JSON SELECT 1',
    'VALUES ROW(1, 2)',
    'TABLE t',
    "HELP 'contents'",
    'SELECT SLEEP(1)',
    'SELECT `update`, `delete`, `into` FROM `insert`',
    "SELECT 'DROP TABLE t; INSERT INTO x', \"update\" FROM t",
    "SELECT REPLACE(a, 'x', 'y'), INSERT('abc', 1, 1, 'z'), TRUNCATE(1.55, 1) FROM t",
    'SELECT CAST(a AS CHAR CHARACTER SET utf8mb4) FROM t',
    'SELECT @a, @@version, @@session.sql_mode',
    'SELECT a FROM t WHERE b = ? AND c IN (?, ?)',
    'SELECT 1--1',
    'SELECT * FROM t /* FOR UPDATE */ ORDER BY a DESC',
    'SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM t',
    'SELECT PREVIOUS VALUE FOR s',
    'SELECT LAST_INSERT_ID()',
    "SELECT 'it''s'",
    "SELECT 'it\\'s'",
    'SELECT JSON_SET(j, "$.a", 1), FIND_IN_SET(\'a\', s) FROM t',
  ])('%j', (sql) => {
    expect(classifyMysql(sql)).toEqual({ count: 1, readOnlyViolation: null, transactionControl: false, altersSession: false });
  });
});

describe('classifyMysql: read-only violations', () => {
  it.each<[string, RegExp]>([
    ['SELECT 1; COMMIT; DELETE FROM t', /3 statements/],
    ['SELECT 1 # comment hides nothing\n; DROP TABLE t', /2 statements/],
    ['SELECT 1 --; DROP TABLE t', /2 statements/],
    ["SELECT ';' ; DROP TABLE t", /2 statements/],
    ['/*!50000 DROP TABLE t */', /conditional comments/],
    ['SELECT /*!50000 1, (SELECT 1 FROM t FOR UPDATE) */', /conditional comments/],
    ['SELECT 1 /*M!100000 , GET_LOCK("a", 1) */', /conditional comments/],
    ['SELECT 1 /*!; DROP TABLE t */', /2 statements/], // the server reads the inside as code,
    ["SELECT * FROM t INTO OUTFILE '/tmp/x'", /INTO/],
    ["SELECT * INTO DUMPFILE '/tmp/x' FROM t", /INTO/],
    ['SELECT a INTO @x FROM t', /INTO/],
    ["SELECT LOAD_FILE('/etc/passwd')", /LOAD_FILE has side effects/],
    ["select load_file ('/etc/passwd')", /LOAD_FILE/],
    ["SELECT `LOAD_FILE`('/etc/passwd')", /LOAD_FILE has side effects/],
    ["SELECT GET_LOCK('a', 1)", /GET_LOCK/],
    ["SELECT RELEASE_LOCK('a')", /RELEASE_LOCK/],
    ['SELECT RELEASE_ALL_LOCKS()', /RELEASE_ALL_LOCKS/],
    ["SELECT IS_USED_LOCK('a'), IS_FREE_LOCK('a')", /IS_USED_LOCK/],
    ['SELECT NEXTVAL(s)', /NEXTVAL/],
    ['SELECT SETVAL(s, 10)', /SETVAL/],
    ['SELECT NEXT VALUE FOR s', /NEXT VALUE FOR/],
    ["SELECT MASTER_POS_WAIT('log', 4)", /MASTER_POS_WAIT/],
    ["SELECT SOURCE_POS_WAIT('log', 4)", /SOURCE_POS_WAIT/],
    ["SELECT MASTER_GTID_WAIT('0-1-1')", /MASTER_GTID_WAIT/],
    ["SELECT sys_exec('id')", /SYS_EXEC/],
    ["SELECT db.sys_eval('id')", /SYS_EVAL/],
    ['SELECT @a := 1', /:=/],
    ['SELECT @a:=a FROM t', /:=/],
    ['SELECT * FROM t FOR UPDATE', /FOR UPDATE/],
    ['SELECT * FROM t FOR UPDATE SKIP LOCKED', /FOR UPDATE/],
    ['select * from t for share', /FOR SHARE/],
    ['SELECT * FROM t LOCK IN SHARE MODE', /LOCK IN SHARE MODE/],
    ['SELECT * FROM t WHERE a IN (SELECT a FROM u FOR UPDATE)', /FOR UPDATE/],
    ['WITH x AS (SELECT 1) DELETE FROM t', /DELETE/],
    ['WITH x AS (SELECT 1) UPDATE t SET a = 1', /UPDATE/],
    ['EXPLAIN ANALYZE SELECT 1', /ANALYZE/],
    ['ANALYZE SELECT 1', /not a read-only statement/],
    ['EXPLAIN DELETE FROM t', /DELETE/],
    ['SHOW TABLES WHERE (SELECT GET_LOCK("a", 1))', /GET_LOCK/],
    ['SELECT * FROM t PROCEDURE ANALYSE()', /PROCEDURE/],
    ['SELECT a, set FROM t', /SET/],
    ['SELECT 1 FROM t WHERE 1 = 1 UNION SELECT DO FROM u', /DO/],
    ['INSERT INTO t VALUES (1)', /INSERT is not a read-only statement/],
    ['UPDATE t SET a = 1', /UPDATE/],
    ['DELETE FROM t', /DELETE/],
    ['REPLACE INTO t VALUES (1)', /REPLACE/],
    ['CREATE TABLE t (a int)', /CREATE/],
    ['DROP TABLE t', /DROP/],
    ['TRUNCATE t', /TRUNCATE/],
    ['SET autocommit = 0', /SET/],
    ['SET PASSWORD = "x"', /SET/],
    ['USE mysql', /USE/],
    ['CALL p()', /CALL/],
    ['DO SLEEP(1)', /DO/],
    ['HANDLER t OPEN', /HANDLER/],
    ['LOCK TABLES t READ', /LOCK/],
    ['KILL CONNECTION 1', /KILL/],
    ['FLUSH TABLES', /FLUSH/],
    ["LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t", /LOAD/],
    ["PREPARE s FROM 'DELETE FROM t'", /PREPARE/],
    ['EXECUTE s', /EXECUTE/],
    ['XA START "x"', /XA/],
    ['BEGIN', /BEGIN/],
    ['START TRANSACTION', /START/],
    ['', /empty/],
    ['-- only a comment', /empty/],
    ["'SELECT 1'", /not a read-only statement/],
    ['(DELETE FROM t)', /not a read-only statement/],
    ['((TABLE t))', /not a read-only statement/],
  ])('%j', (sql, reason) => {
    const c = classifyMysql(sql);
    expect(c.readOnlyViolation).toMatch(reason);
  });
});

describe('classifyMysql: quoting that depends on sql_mode', () => {
  it.each<[string, RegExp]>([
    // Under NO_BACKSLASH_ESCAPES the first string ends at \' and LOAD_FILE runs.
    ["SELECT '\\', LOAD_FILE('/etc/passwd') -- '", /NO_BACKSLASH_ESCAPES.*LOAD_FILE/],
    ["SELECT '\\'; DELETE FROM t; -- '", /NO_BACKSLASH_ESCAPES.*2 statements/],
    // Under ANSI_QUOTES "\" is an identifier, so the call is outside any string.
    ['SELECT "\\", GET_LOCK(\'a\', 1) -- "', /ANSI_QUOTES.*GET_LOCK/],
  ])('%j', (sql, reason) => {
    const c = classifyMysql(sql);
    expect(c.readOnlyViolation).toMatch(reason);
    expect(c.altersSession).toBe(true);
  });

  it('counts the statements of the most dangerous reading', () => {
    expect(classifyMysql("SELECT '\\'; DELETE FROM t; -- '").count).toBe(2);
  });
});

describe('classifyMysql: transaction control', () => {
  it.each<[string, boolean]>([
    ['BEGIN', true],
    ['begin work', true],
    ['START TRANSACTION READ ONLY', true],
    ['COMMIT', true],
    ['  /* x */ ROLLBACK', true],
    ['ROLLBACK TO SAVEPOINT a', true],
    ['SAVEPOINT a', true],
    ['RELEASE SAVEPOINT a', true],
    ["XA START 'x'", true],
    ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', true],
    ['SET SESSION TRANSACTION READ WRITE', true],
    ['SET autocommit = 0', true],
    ['SET @@autocommit = 0', true],
    ['SET @@session.autocommit = 0', true],
    ['SET @x = 1, autocommit = 0', true],
    ['SET @transaction = 1', false],
    ["SET @x = 'autocommit'", false],
    ['SET NAMES utf8mb4', false],
    ['SELECT 1', false],
    ['START SLAVE', false],
    ['RELEASE_LOCK', false],
    ['SELECT 1; COMMIT', false],
  ])('%j -> %s', (sql, expected) => {
    expect(classifyMysql(sql).transactionControl).toBe(expected);
  });
});

describe('classifyMysql: session state', () => {
  it.each<[string, boolean]>([
    ['SELECT 1', false],
    ['SHOW CREATE TABLE t', false],
    ['INSERT INTO t VALUES (1)', false],
    ['UPDATE t SET a = 1 WHERE b = 2', false],
    ['DELETE FROM t', false],
    ['REPLACE INTO t VALUES (1)', false],
    ['CREATE TABLE t (a int)', false],
    ['ALTER TABLE t ADD COLUMN b int, LOCK=NONE', false],
    ['DROP TABLE t', false],
    ['TRUNCATE TABLE t', false],
    ['RENAME TABLE a TO b', false],
    ["CREATE USER 'u'@'localhost' IDENTIFIED BY 'p'", false],
    ['CREATE DEFINER=`root`@`localhost` PROCEDURE p() BEGIN SELECT 1; END', false],
    ['CREATE TEMPORARY TABLE t (a int)', true],
    ['DROP TEMPORARY TABLE t', true],
    ['DROP DATABASE d', true],
    ['INSERT INTO t VALUES (@a)', true],
    ["INSERT INTO t VALUES (@'a b')", true],
    ['UPDATE t SET a = (@x := @x + 1)', true],
    ["INSERT INTO t SELECT GET_LOCK('a', 1)", true],
    ['UPDATE t SET id = LAST_INSERT_ID(id + 1)', true],
    ['SELECT LAST_INSERT_ID(5)', true],
    ['/*!40101 SET NAMES utf8 */', true],
    ['INSERT INTO t VALUES (1) /*!50000 , (2) */', true],
    ['SET NAMES utf8mb4', true],
    ['SET @a = 1', true],
    ['USE other', true],
    ['LOCK TABLES t WRITE', true],
    ['UNLOCK TABLES', true],
    ["PREPARE s FROM 'SELECT 1'", true],
    ['EXECUTE s', true],
    ['DEALLOCATE PREPARE s', true],
    ['HANDLER t OPEN', true],
    ['SELECT * FROM t FOR UPDATE', true],
    ['COMMIT', true],
    ['SELECT 1; SELECT 2', true],
    ['CALL p()', true],
  ])('%j -> %s', (sql, expected) => {
    expect(classifyMysql(sql).altersSession).toBe(expected);
  });
});

describe('classifyMysql: statement count', () => {
  it.each<[string, number]>([
    ['SELECT 1', 1],
    ['SELECT 1;', 1],
    ['', 0],
    ['SELECT 1; SELECT 2', 2],
    ["SELECT ';', \";\", `;` # ;\n -- ;\n/* ; */", 1],
    ['SELECT 1 /*! ; */', 1],
  ])('%j -> %i', (sql, n) => {
    expect(classifyMysql(sql).count).toBe(n);
  });
});
