/**
 * The server's own tables (migration history, events, the migration lock's rows) are read-only
 * to agents on every backend (policy.ts refuseBookkeepingWrite): a deleted lock row let a
 * second server run the migration the first was running (review17 finding 2). Reads stay
 * allowed; writes elsewhere that merely look alike are not refused.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DbError } from '../../src/errors.js';
import { classifyMysql } from '../../src/core/backends/mysql/classify.js';
import { classifyPostgres, loadPostgresParser } from '../../src/core/backends/postgres/classify.js';
import { classifySqlite } from '../../src/core/backends/sqlite/classify.js';
import { refuseBookkeepingWrite } from '../../src/core/policy.js';
import type { Classification } from '../../src/core/readonly/types.js';

beforeAll(() => loadPostgresParser());

const verdict = (classify: (sql: string) => Classification, sql: string): string => {
  try {
    refuseBookkeepingWrite(classify(sql), sql);
    return 'allowed';
  } catch (err) {
    return err instanceof DbError ? `${err.code}:${String(err.details.reason)}` : String(err);
  }
};

const REFUSED = 'PERMISSION_DENIED:bookkeeping';

describe('writes to the server\'s own tables', () => {
  it.each([
    'DELETE FROM codomyrmex.codomyrmex_locks',
    'delete from "codomyrmex"."codomyrmex_locks"',
    'DELETE FROM U&"codomyrmex\\005flocks"',
    "UPDATE codomyrmex.codomyrmex_migrations SET status = 'applied'",
    'TRUNCATE codomyrmex.codomyrmex_migration_events',
    'DROP SCHEMA codomyrmex CASCADE',
    'DROP SCHEMA "codomyrmex" CASCADE',
    'ALTER TABLE codomyrmex.codomyrmex_locks RENAME TO x',
    'INSERT INTO CODOMYRMEX.CODOMYRMEX_LOCKS VALUES (1)',
    'WITH d AS (DELETE FROM codomyrmex.codomyrmex_locks RETURNING 1) SELECT * FROM d',
    'CREATE VIEW v AS SELECT * FROM codomyrmex.codomyrmex_locks',
    "DO $$ BEGIN DELETE FROM codomyrmex.codomyrmex_locks; END $$",
    'CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DELETE FROM codomyrmex.codomyrmex_locks $$',
  ])('PostgreSQL refuses %s', (sql) => {
    expect(verdict(classifyPostgres, sql)).toBe(REFUSED);
  });

  it.each([
    'DELETE FROM codomyrmex_locks',
    'DELETE FROM `codomyrmex_locks`',
    "UPDATE codomyrmex_migrations SET status = 'applied'",
    'TRUNCATE TABLE codomyrmex_migration_events',
    'DROP TABLE codomyrmex_locks',
    'RENAME TABLE codomyrmex_locks TO x',
    'REPLACE INTO codomyrmex_locks VALUES (1)',
  ])('MySQL refuses %s', (sql) => {
    expect(verdict(classifyMysql, sql)).toBe(REFUSED);
  });

  it.each([
    'DELETE FROM codomyrmex_locks',
    'DELETE FROM "codomyrmex_locks"',
    'DELETE FROM [codomyrmex_locks]',
    'DELETE FROM main.codomyrmex_locks',
    "UPDATE codomyrmex_migrations SET status = 'applied'",
    'DROP TABLE codomyrmex_migration_events',
    'CREATE TRIGGER t AFTER INSERT ON codomyrmex_locks BEGIN SELECT 1; END',
  ])('SQLite refuses %s', (sql) => {
    expect(verdict(classifySqlite, sql)).toBe(REFUSED);
  });

  it('reads of them, and writes to look-alike names, are allowed', () => {
    expect(verdict(classifyPostgres, 'SELECT * FROM codomyrmex.codomyrmex_migrations')).toBe('allowed');
    expect(verdict(classifyMysql, 'SELECT * FROM codomyrmex_migrations')).toBe('allowed');
    expect(verdict(classifySqlite, 'SELECT * FROM codomyrmex_locks')).toBe('allowed');
    expect(verdict(classifyPostgres, "INSERT INTO notes VALUES ('codomyrmex')")).toBe('allowed');
    expect(verdict(classifyPostgres, 'DELETE FROM my_codomyrmex_locks_copy')).toBe('allowed');
    expect(verdict(classifyMysql, 'DELETE FROM codomyrmex_locks2')).toBe('allowed');
    expect(verdict(classifySqlite, 'INSERT INTO codomyrmex_notes VALUES (1)')).toBe('allowed');
  });
});
