import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DbError } from '../../src/errors.js';
import { classifyPostgres, loadPostgresParser } from '../../src/core/backends/postgres/classify.js';

beforeAll(loadPostgresParser);

const READ = { count: 1, readOnlyViolation: null, transactionControl: false, altersSession: false };

describe('read-only allow-list: reads', () => {
  const reads: string[] = [
    'SELECT 1',
    'SELECT 1;',
    'SELECT now()',
    'SELECT pg_sleep(1)',
    "SELECT pg_sleep_for('1 second')",
    'WITH a AS (SELECT 1 AS x), b AS (SELECT x FROM a) SELECT * FROM b',
    'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r',
    'SELECT id, row_number() OVER (PARTITION BY g ORDER BY id) FROM t',
    'SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE EXISTS (SELECT 1 FROM v))',
    'SELECT t.a, u.b FROM t JOIN u ON u.id = t.id LEFT JOIN LATERAL (SELECT 1) l ON true',
    "VALUES (1, 'a'), (2, 'b')",
    'TABLE t',
    'SHOW search_path',
    'SHOW ALL',
    'EXPLAIN SELECT * FROM t',
    'EXPLAIN (FORMAT JSON) SELECT * FROM t',
    'EXPLAIN (VERBOSE, COSTS OFF) SELECT 1',
    'SELECT 1 UNION SELECT 2 EXCEPT SELECT 3 INTERSECT SELECT 4',
    `SELECT '{"a":1}'::jsonb ? 'a'`,
    'SELECT "delete" FROM "update" WHERE "insert" = 1',
    "SELECT 'DELETE FROM t; DROP TABLE t' AS s",
    'SELECT $$pg_terminate_backend(1); COMMIT$$',
    '-- a comment\nSELECT 1',
    '/* DELETE FROM t; */ SELECT 1',
    'SELECT $1::int',
    "SELECT lower('A'), pg_size_pretty(pg_database_size(current_database()))",
    'SELECT * FROM generate_series(1, 3) AS g(n)',
    "SELECT currval('s')",
    'SELECT count(*) FROM pg_stat_activity',
  ];

  it.each(reads)('allows %s', (sql) => {
    expect(classifyPostgres(sql)).toEqual(READ);
  });
});

describe('read-only allow-list: refusals', () => {
  const refusals: Array<[string, RegExp]> = [
    // Several statements: the simple protocol would run them all.
    ['COMMIT; DROP TABLE t', /^multiple statements \(2\)/],
    ['SELECT 1; SELECT 2', /^multiple statements/],
    ['SELECT 1\n;\nDELETE FROM t', /^multiple statements/],
    // Data-modifying CTEs, at the top and nested.
    ['WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x', /data-modifying CTE \(DELETE\)/],
    ['WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT 1', /data-modifying CTE \(INSERT\)/],
    ['WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT 1', /data-modifying CTE \(UPDATE\)/],
    [
      'WITH a AS (SELECT 1), b AS (MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE RETURNING *) SELECT 1',
      /data-modifying CTE \(MERGE\)/,
    ],
    ['SELECT * FROM (WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x) s', /data-modifying CTE \(DELETE\)/],
    ['SELECT 1 WHERE 1 IN (WITH d AS (UPDATE t SET a = 1 RETURNING a) SELECT a FROM d)', /data-modifying CTE \(UPDATE\)/],
    ['SELECT 1 UNION ALL (WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d)', /data-modifying CTE \(DELETE\)/],
    // SELECT INTO and row locks.
    ['SELECT * INTO new_t FROM t', /SELECT INTO/],
    ['SELECT * FROM (SELECT * INTO x FROM t) s', /SELECT INTO/],
    ['SELECT * FROM t FOR UPDATE', /FOR UPDATE\/SHARE/],
    ['SELECT * FROM t FOR SHARE SKIP LOCKED', /FOR UPDATE\/SHARE/],
    ['SELECT * FROM (SELECT * FROM t FOR NO KEY UPDATE) s', /FOR UPDATE\/SHARE/],
    ['SELECT 1 UNION SELECT 2 FOR UPDATE', /FOR UPDATE\/SHARE/],
    // Functions whose effects escape a READ ONLY transaction, however they are spelled.
    ['SELECT pg_terminate_backend(1)', /^function pg_terminate_backend acts on other sessions or on the server itself$/],
    ['SELECT PG_CATALOG.PG_TERMINATE_BACKEND(1)', /function pg_terminate_backend /],
    ['select "pg_terminate_backend"(1)', /function pg_terminate_backend /],
    ['SELECT "PG_TERMINATE_BACKEND"(1)', /function pg_terminate_backend /],
    ['SELECT U&"\\0070g_terminate_backend"(1)', /function pg_terminate_backend /],
    [`SELECT U&"!0070g_terminate_backend" UESCAPE '!'(1)`, /function pg_terminate_backend /],
    ['SELECT/**/pg_terminate_backend(1)', /function pg_terminate_backend /],
    ['SELECT 1 WHERE coalesce(NULL, pg_terminate_backend(1))', /function pg_terminate_backend /],
    ['SELECT pg_cancel_backend(pid) FROM pg_stat_activity', /function pg_cancel_backend /],
    ["SELECT set_config('a', 'b', false)", /function set_config has side effects/],
    ["SELECT pg_catalog.set_config('a', 'b', false)", /function set_config /],
    ['SELECT pg_advisory_lock(1)', /function pg_advisory_lock /],
    ['SELECT pg_try_advisory_xact_lock(1)', /function pg_try_advisory_xact_lock /],
    ["SELECT lo_export(1, '/tmp/x')", /function lo_export reads or writes files on the server/],
    ['SELECT lo_unlink(1)', /function lo_unlink has side effects/],
    ["SELECT lowrite(0, 'x')", /function lowrite /],
    ["SELECT dblink_exec('...')", /function dblink_exec opens its own connection/],
    ["SELECT * FROM dblink('..', '..') AS t(a int)", /function dblink opens its own connection/],
    ["SELECT query_to_xml('delete from t', true, true, '')", /function query_to_xml runs SQL/],
    ["SELECT table_to_xmlschema('t', true, true, '')", /function table_to_xmlschema runs SQL/],
    ["SELECT nextval('s')", /function nextval has side effects/],
    ["SELECT setval('s', 1)", /function setval /],
    ["SELECT pg_read_file('/etc/passwd')", /function pg_read_file reads or writes files/],
    ["SELECT * FROM pg_ls_dir('.')", /function pg_ls_dir /],
    ["SELECT * FROM ROWS FROM (pg_ls_waldir())", /function pg_ls_waldir /],
    ["SELECT pg_notify('c', 'x')", /function pg_notify /],
    ['SELECT txid_current()', /function txid_current /],
    ['SELECT pg_reload_conf()', /function pg_reload_conf /],
    ["SELECT pg_create_logical_replication_slot('s', 'pgoutput')", /function pg_create_logical_replication_slot /],
    ["SELECT pg_stat_reset_shared('bgwriter')", /function pg_stat_reset_shared /],
    // EXPLAIN: ANALYZE runs the statement; the inner statement must itself be a read.
    ['EXPLAIN ANALYZE DELETE FROM t', /EXPLAIN ANALYZE runs the statement/],
    ['EXPLAIN (ANALYZE) SELECT 1', /EXPLAIN ANALYZE runs the statement/],
    ['EXPLAIN (FORMAT JSON, ANALYZE TRUE) SELECT 1', /EXPLAIN ANALYZE/],
    ['EXPLAIN ANALYSE SELECT 1', /EXPLAIN ANALYZE/],
    ['EXPLAIN DELETE FROM t', /^EXPLAIN of a statement that is not a read: DELETE/],
    ['EXPLAIN SELECT pg_terminate_backend(1)', /^EXPLAIN .*function pg_terminate_backend/],
    ['EXPLAIN EXECUTE p', /^EXPLAIN .*EXECUTE/],
    ['EXPLAIN CREATE TABLE x AS SELECT 1', /^EXPLAIN .*CREATE TABLE AS/],
    // Statement kinds outside the allow-list.
    ["COPY t TO PROGRAM 'id'", /^COPY is not allowed in read-only mode/],
    ["COPY (SELECT 1) TO '/tmp/x'", /^COPY /],
    ['LISTEN x', /^LISTEN /],
    ['NOTIFY x', /^NOTIFY /],
    ['PREPARE p AS SELECT 1', /^PREPARE /],
    ['EXECUTE p', /^EXECUTE /],
    ['SET ROLE postgres', /^SET /],
    ['SET search_path = evil', /^SET /],
    ['RESET ALL', /^SET /],
    ['DO $$ BEGIN END $$', /^DO /],
    ['CALL p()', /^CALL /],
    ['VACUUM', /^VACUUM /],
    ['ANALYZE t', /^ANALYZE /],
    ['CHECKPOINT', /^CHECKPOINT /],
    ['DISCARD ALL', /^DISCARD /],
    ['LOCK TABLE t', /^LOCK /],
    ['DECLARE c CURSOR FOR SELECT 1', /^DECLARE CURSOR /],
    ['BEGIN', /^transaction control /],
    ['DROP TABLE t', /^DROP /],
    ['CREATE TABLE x (a int)', /^CREATE /],
    ['CREATE TABLE x AS SELECT 1', /^CREATE TABLE AS /],
    ['TRUNCATE t', /^TRUNCATE /],
    ['ALTER TABLE t ADD COLUMN c int', /^ALTER TABLE /],
    ['INSERT INTO t VALUES (1)', /^INSERT /],
    ['UPDATE t SET a = 1', /^UPDATE /],
    ['MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE', /^MERGE /],
    ['--x\nDELETE FROM t', /^DELETE /],
    ['/* SELECT 1 */ DELETE FROM t', /^DELETE /],
  ];

  it.each(refusals)('refuses %s', (sql, reason) => {
    expect(classifyPostgres(sql).readOnlyViolation).toMatch(reason);
  });

  it('counts statements but refuses empty input', () => {
    for (const sql of ['', '   \n', '-- only a comment', '/* x */ ;']) {
      const c = classifyPostgres(sql);
      expect(c.count).toBe(0);
      expect(c.readOnlyViolation).toMatch(/^no statement found/);
    }
    expect(classifyPostgres('SELECT 1; SELECT 2; SELECT 3').count).toBe(3);
  });
});

describe('transactionControl', () => {
  const control = [
    'BEGIN',
    'BEGIN ISOLATION LEVEL SERIALIZABLE',
    'START TRANSACTION READ WRITE',
    'COMMIT',
    'ROLLBACK',
    'END',
    'ABORT',
    'SAVEPOINT s',
    'RELEASE SAVEPOINT s',
    'ROLLBACK TO SAVEPOINT s',
    "PREPARE TRANSACTION 'x'",
    "COMMIT PREPARED 'x'",
    "ROLLBACK PREPARED 'x'",
    'COMMIT; DROP TABLE t',
    'SELECT 1; ROLLBACK',
  ];
  it.each(control)('flags %s', (sql) => {
    const c = classifyPostgres(sql);
    expect(c.transactionControl).toBe(true);
    expect(c.readOnlyViolation).not.toBeNull();
  });

  const notControl = [
    'SELECT 1',
    "SELECT 'commit'",
    'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
    'PREPARE p AS SELECT 1',
    'DELETE FROM t',
  ];
  it.each(notControl)('does not flag %s', (sql) => {
    expect(classifyPostgres(sql).transactionControl).toBe(false);
  });
});

describe('altersSession', () => {
  const alters = [
    'SET x = 1',
    'SET LOCAL x = 1',
    'RESET ALL',
    'SET ROLE postgres',
    'SET SESSION AUTHORIZATION bob',
    'PREPARE p AS SELECT 1',
    'DEALLOCATE ALL',
    'LISTEN x',
    'UNLISTEN *',
    'DECLARE c CURSOR WITH HOLD FOR SELECT 1',
    'CLOSE c',
    'DISCARD ALL',
    "LOAD 'auto_explain'",
    'CREATE TEMP TABLE x (a int)',
    'CREATE TEMPORARY TABLE x AS SELECT 1',
    'CREATE TEMP VIEW v AS SELECT 1',
    'CREATE TEMP SEQUENCE s',
    'SELECT * INTO TEMP x FROM t',
    'CREATE TABLE pg_temp.x (a int)',
    'CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS $$SELECT 1$$',
    "SELECT set_config('search_path', 'evil', false)",
    "SELECT pg_catalog.set_config('a', 'b', false)",
    'SELECT pg_advisory_lock(1)',
    'SELECT 1 WHERE pg_try_advisory_lock(1)',
    "SELECT dblink_connect('c', 'dbname=x')",
    'DO $$ BEGIN PERFORM 1; END $$',
    'CALL p()',
    'SELECT 1; SET x = 1',
  ];
  it.each(alters)('flags %s', (sql) => {
    expect(classifyPostgres(sql).altersSession).toBe(true);
  });

  const harmless = [
    'SELECT 1',
    'SHOW search_path',
    'EXPLAIN SELECT 1',
    'CREATE TABLE x (a int)',
    'CREATE UNLOGGED TABLE x (a int)',
    'SELECT * INTO x FROM t',
    'DROP TABLE t',
    'INSERT INTO t VALUES (1)',
    'NOTIFY x',
    'BEGIN',
    'SELECT pg_terminate_backend(1)',
    "SELECT 'set_config(1)'",
  ];
  it.each(harmless)('does not flag %s', (sql) => {
    expect(classifyPostgres(sql).altersSession).toBe(false);
  });
});

describe('syntax errors', () => {
  // Positions are 1-based, as PostgreSQL reports them.
  const errors: Array<[string, RegExp, number]> = [
    ['SELEC 1', /syntax error at or near "SELEC"/, 1],
    ["SELECT 'abc", /unterminated quoted string/, 8],
    ['SELECT (', /syntax error at end of input/, 9],
    ['SELECT 1 FROM', /syntax error at end of input/, 14],
    ['SELECT 1\0; DROP TABLE t', /NUL character/, 9],
  ];
  it.each(errors)('rejects %j', (sql, message, position) => {
    const err = catchError(() => classifyPostgres(sql));
    expect(err).toBeInstanceOf(DbError);
    expect(err).toMatchObject({ code: 'SYNTAX_ERROR', details: { position } });
    expect((err as DbError).message).toMatch(message);
  });
});

describe('loading', () => {
  it('does not load the parser at import time, and refuses to classify before it is loaded', async () => {
    vi.resetModules();
    const fresh = await import('../../src/core/backends/postgres/classify.js');
    const err = catchError(() => fresh.classifyPostgres('SELECT 1'));
    expect(err).toMatchObject({ code: 'INTERNAL' });
    await Promise.all([fresh.loadPostgresParser(), fresh.loadPostgresParser()]);
    expect(fresh.classifyPostgres('SELECT 1').readOnlyViolation).toBeNull();
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}
