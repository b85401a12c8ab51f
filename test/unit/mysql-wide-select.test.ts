/**
 * MariaDB answers a SELECT list of any length (`SELECT 1,1,…` of 1 MB is one row of
 * 500,000 columns that the driver parses for seconds on the server's only thread): a list
 * longer than a table may be wide is UNSUPPORTED before it runs; long VALUES and IN lists
 * are not select lists and stay allowed.
 */
import { describe, expect, it } from 'vitest';
import { classifyMysql } from '../../src/core/backends/mysql/classify.js';

const list = (n: number, item = '1'): string => Array.from({ length: n }, () => item).join(',');

describe('MySQL SELECT lists wider than a table', () => {
  it.each([
    `SELECT ${list(5000)}`,
    `SELECT ${list(5000)} FROM t`,
    `SELECT * FROM (SELECT ${list(5000)}) x`,
    `WITH c AS (SELECT 1) SELECT ${list(4097, 'a')} FROM c`,
    `SELECT 1 UNION SELECT ${list(5000)}`,
  ])('refuses %#', (sql) => {
    expect(classifyMysql(sql).unsupported).toMatch(/SELECT list of more than 4096 items/);
  });

  it.each([
    `SELECT ${list(4096)}`,
    `INSERT INTO t VALUES ${list(10000, '(1,2)')}`,
    `SELECT * FROM t WHERE id IN (${list(10000)})`,
    `SELECT a FROM t ORDER BY ${list(10, 'a')}`,
  ])('allows %#', (sql) => {
    expect(classifyMysql(sql).unsupported).toBeUndefined();
  });
});
