/**
 * What would outlive its transaction on a server connection a transaction pooler shares
 * (backends/postgres/classify.ts sessionStateLeft): pure, through the real grammar.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPostgresParser, sessionStateLeft } from '../../src/core/backends/postgres/classify.js';

beforeAll(() => loadPostgresParser());

describe('sessionStateLeft', () => {
  it.each([
    ['SET search_path = x', 'SET without LOCAL'],
    ['SET SESSION statement_timeout = 5', 'SET without LOCAL'],
    ['RESET ALL', 'SET without LOCAL'],
    ["SELECT set_config('search_path', 'x', false)", 'set_config(…, false)'],
    ["SELECT set_config('search_path', 'x', $1)", 'set_config(…, false)'],
    ['PREPARE p AS SELECT 1', 'PREPARE'],
    ['LISTEN ch', 'LISTEN'],
    ['DISCARD ALL', 'DISCARD'],
    ['DECLARE c CURSOR WITH HOLD FOR SELECT 1', 'DECLARE … WITH HOLD'],
    ['SELECT pg_advisory_lock(1)', 'pg_advisory_lock'],
    ['SELECT pg_try_advisory_lock(1)', 'pg_try_advisory_lock'],
    ['CREATE TEMP TABLE t (x int)', 'a temporary table'],
    ['CREATE TABLE pg_temp.t (x int)', 'a temporary table'],
    ['CREATE TEMP TABLE t AS SELECT 1', 'a temporary table'],
    ['SELECT 1 INTO TEMP t', 'a temporary table'],
    ['CREATE TEMP VIEW v AS SELECT 1', 'a temporary table'],
    ['CREATE TEMP SEQUENCE s', 'a temporary table'],
  ])('%s: refused (%s)', (sql, reason) => {
    expect(sessionStateLeft(sql)).toContain(reason);
  });

  it.each([
    'SET LOCAL search_path = x',
    "SELECT set_config('search_path', 'x', true)",
    'SELECT pg_advisory_xact_lock(1)',
    'CREATE TEMP TABLE t (x int) ON COMMIT DROP',
    'CREATE TEMP TABLE t ON COMMIT DROP AS SELECT 1',
    'DECLARE c CURSOR FOR SELECT 1',
    'SELECT 1',
    'INSERT INTO t VALUES (1)',
    'CREATE TABLE t (x int)',
    "DO $$ BEGIN PERFORM 1; END $$",
    'CALL p()',
  ])('%s: ends with its transaction', (sql) => {
    expect(sessionStateLeft(sql)).toBeNull();
  });
});
