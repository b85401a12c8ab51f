/**
 * The backup DDL checks (check-ddl.ts) on inputs an independent review wrote (the fifth of
 * issue 15, of 9330c55): what held up, and the two bypasses it found, fixed since (a query
 * made with VALUES; an object under sql_mode MSSQL, whose [names] the lexer does not read).
 */
import { describe, expect, it } from 'vitest';
import { sql as mysqlSql } from '../../src/core/backends/mysql/sql.js';
import { sql as liteSql } from '../../src/core/backends/sqlite/sql.js';
import { checkNativeSql } from '../../src/core/backup/check-ddl.js';

type Flavor = typeof mysqlSql;
const obj = (f: Flavor, kind: string, name: string, sql: string, settings?: Record<string, string>, table?: string): string => {
  try { checkNativeSql([{ name: 't', ddl: [] } as any], [{ kind, name, sql, settings, table } as any], f); return 'ok'; } catch (e) { return (e as any).code ?? String(e); }
};
const tbl = (f: Flavor, ddl: string): string => {
  try { checkNativeSql([{ name: 't', ddl: [ddl] } as any], [], f); return 'ok'; } catch (e) { return (e as any).code ?? String(e); }
};

describe('backup DDL checks: refused', () => {
  it.each([
    ['SQLite CREATE TEMP TRIGGER', () => obj(liteSql, 'trigger', 'tr', 'CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END', undefined, 't')],
    ['SQLite CREATE TEMPORARY VIEW', () => obj(liteSql, 'view', 'v', 'CREATE TEMPORARY VIEW v AS SELECT 1')],
    ['SQLite CREATE VIEW temp.v', () => obj(liteSql, 'view', 'v', 'CREATE VIEW temp.v AS SELECT 1')],
    ['SQLite CREATE VIEW "temp"."t"', () => obj(liteSql, 'view', 't', 'CREATE VIEW "temp"."t" AS SELECT 1')],
    ['MySQL CREATE TEMPORARY TABLE', () => tbl(mysqlSql, 'CREATE TEMPORARY TABLE t (id int)')],
    ['MySQL view db.1e5 (digit-led, exponent-like)', () => obj(mysqlSql, 'view', 'other_db', 'CREATE VIEW other_db.1e5 AS SELECT 1')],
    ['MySQL view `db`.0x1f', () => obj(mysqlSql, 'view', 'other_db', 'CREATE VIEW `other_db`.0x1f AS SELECT 1')],
    ['MySQL view db.1t under ANSI "db".1t', () => obj(mysqlSql, 'view', 'other_db', 'CREATE VIEW "other_db".1t AS SELECT 1', { sql_mode: 'ANSI' })],
    ['MySQL view name inside /*M!100000 */', () => obj(mysqlSql, 'view', 'v', 'CREATE VIEW /*M!100000 other_db.planted AS SELECT 1 AS x, */ v AS SELECT 1')],
    ['MySQL unknown sql_mode', () => obj(mysqlSql, 'view', 'v', 'CREATE VIEW v AS SELECT 1', { sql_mode: 'ANSI_QUOTE' })],
    ['MySQL numeric sql_mode', () => obj(mysqlSql, 'view', 'v', 'CREATE VIEW v AS SELECT 1', { sql_mode: '4' })],
    ['MySQL partition INDEX DIRECTORY', () => tbl(mysqlSql, "CREATE TABLE t (id int) PARTITION BY HASH (id) (PARTITION p0 INDEX DIRECTORY = '/tmp/x')")],
    ['MySQL table CONNECTION after a comma', () => tbl(mysqlSql, "CREATE TABLE t (id int) ENGINE=InnoDB, CONNECTION='mysql://x/y/z'")],
    ['MySQL subpartition DATA DIRECTORY', () => tbl(mysqlSql, "CREATE TABLE t (id int) PARTITION BY RANGE (id) SUBPARTITION BY HASH (id) (PARTITION p0 VALUES LESS THAN MAXVALUE (SUBPARTITION s0 DATA DIRECTORY = '/tmp/x'))")],
    ['MySQL SELECT in a nested executable comment', () => tbl(mysqlSql, 'CREATE TABLE t (id int) /*!50000 /*!50100 (SELECT 1 AS id) */ */')],
    ['MySQL SELECT after --x (not a comment)', () => tbl(mysqlSql, 'CREATE TABLE t (id int) --x\n(SELECT 1 AS id)')],
  ])('%s', (_w, f) => { expect(f()).toBe('BACKUP_CORRUPT'); });
});

describe('backup DDL checks: the bypasses of the fifth review', () => {
  it.each([
    "CREATE TABLE t (id int) (VALUES (EXTRACTVALUE(1, CONCAT(0x7e, LOAD_FILE('/etc/hostname')))))",
    "CREATE TABLE t (id int) WITH c AS (VALUES (1)) VALUES (2)",
    'CREATE TABLE t (id int) VALUES ROW(1)',
    'CREATE TABLE t (id int) TABLE other_t',
  ])('a table DDL that is a query without SELECT is refused: %s', (ddl) => {
    expect(tbl(mysqlSql, ddl)).toBe('BACKUP_CORRUPT');
  });
  it('the table\'s own VALUES and WITH are taken (partitions, system versioning)', () => {
    expect(tbl(mysqlSql, 'CREATE TABLE `t` (`id` int NOT NULL, `d` int WITHOUT SYSTEM VERSIONING) WITH SYSTEM VERSIONING PARTITION BY LIST (`id`) (PARTITION `p0` VALUES IN (1,2) ENGINE = InnoDB, PARTITION `p1` VALUES LESS THAN MAXVALUE ENGINE = InnoDB)')).toBe('ok');
  });
  it('an object under sql_mode MSSQL (hiding its real name in [a\']) is refused, as are sql_mode spellings the server reads otherwise', () => {
    for (const mode of [' ANSI_QUOTES', 'ANſI_QUOTES', 'ANSı_QUOTES', 'MSSQL,ANSI_QUOTES']) expect([mode, obj(mysqlSql, 'view', 'v', 'CREATE VIEW v AS SELECT 1', { sql_mode: mode })]).toEqual([mode, 'BACKUP_CORRUPT']);
    expect(obj(mysqlSql, 'view', 'v', 'CREATE VIEW v AS SELECT 1', { sql_mode: 'ANSI_QUOTES,,' })).toBe('ok');
    expect(obj(mysqlSql, 'view', 'v', "CREATE DEFINER=[a'] VIEW [other_db].planted AS SELECT 1 AS x -- ' VIEW v AS SELECT 1 AS x", { sql_mode: 'MSSQL' })).toBe('BACKUP_CORRUPT');
  });
});

describe('backup DDL checks: SQLite columns named like MySQL clauses, used anywhere in their table', () => {
  it.each([
    ['directory in a CHECK after another word', 'CREATE TABLE files (id INTEGER PRIMARY KEY, name TEXT, directory TEXT, CHECK (name <> directory))'],
    ['directory in a generated column', "CREATE TABLE files (id INTEGER PRIMARY KEY, name TEXT, directory TEXT, path TEXT GENERATED ALWAYS AS (directory || '/' || name))"],
    ['of in a CHECK', 'CREATE TABLE pages (id INTEGER PRIMARY KEY, page INTEGER, of INTEGER CHECK (page <= of))'],
    ['connection NOT NULL DEFAULT', "CREATE TABLE links (id INTEGER PRIMARY KEY, connection TEXT NOT NULL DEFAULT 'x', CHECK (length(connection) > 0 AND connection <> 'none'))"],
    ['inherits in a generated column', 'CREATE TABLE cls (id INTEGER PRIMARY KEY, inherits TEXT, has_parent INT AS (inherits IS NOT NULL))'],
    ['control: the same words only right after ( or ,', 'CREATE TABLE ok (id INTEGER PRIMARY KEY, directory TEXT, of INTEGER, connection TEXT, inherits TEXT, "union" TEXT, UNIQUE (directory, of))'],
  ])('%s is taken', (_what, ddl) => {
    const name = /^CREATE TABLE (\w+)/.exec(ddl)![1];
    let got = 'ok';
    try { checkNativeSql([{ name, ddl: [ddl] } as any], [], liteSql); } catch (e) { got = (e as any).code ?? String(e); }
    expect(got).toBe('ok');
  });
});
