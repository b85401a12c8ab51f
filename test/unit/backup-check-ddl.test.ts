/**
 * A backup's own SQL (`ddl`, `objects`) runs as written on the same backend: each
 * statement must be one CREATE of what the header names, checked before anything runs.
 */
import { describe, expect, it } from 'vitest';
import { mysql } from '../../src/core/backends/mysql/index.js';
import { sqlite } from '../../src/core/backends/sqlite/index.js';
import type { NativeObject } from '../../src/core/backends/contract/backup.js';
import type { TableEntry } from '../../src/core/backup/format.js';
import { checkBuiltSql, checkNativeSql } from '../../src/core/backup/check-ddl.js';
import { postgres } from '../../src/core/backends/postgres/index.js';

const entry = (name: string, ddl: string[]): TableEntry => ({ name, definition: { table: name, columns: [], indexes: [], foreign_keys: [], checks: [] }, columns: [], order_by: [], sequence: null, ddl } as unknown as TableEntry);
const code = (f: () => void): string => { try { f(); return 'ok'; } catch (e) { return (e as { code?: string }).code ?? 'thrown'; } };

describe('checkNativeSql', () => {
  it('takes what the source prints (MariaDB SHOW CREATE, SQLite sqlite_schema)', () => {
    const objects: NativeObject[] = [
      { kind: 'trigger', name: 'customer_ai', table: 'customer', sql: 'CREATE DEFINER=`root`@`%` TRIGGER customer_ai AFTER INSERT ON customer FOR EACH ROW BEGIN INSERT INTO audit_log (what) VALUES (\'x\'); END' },
      { kind: 'procedure', name: 'touch_all', sql: 'CREATE DEFINER=`root`@`%` PROCEDURE `touch_all`(IN p int) BEGIN UPDATE customer SET id = id WHERE id = p; SELECT 1; END' },
      { kind: 'view', name: 'v', sql: 'CREATE ALGORITHM=MERGE DEFINER=`root`@`%` SQL SECURITY INVOKER VIEW `v` AS select 1 AS `a`' },
      { kind: 'sequence', name: 's', sql: 'CREATE SEQUENCE `s` start with 1 minvalue 1 maxvalue 9223372036854775806 increment by 1 cache 1000 nocycle ENGINE=InnoDB' },
      { kind: 'event', name: 'nightly', sql: 'CREATE DEFINER=`root`@`%` EVENT `nightly` ON SCHEDULE EVERY 1 DAY DO DELETE FROM audit_log' },
    ];
    expect(code(() => checkNativeSql([entry('customer', ['CREATE TABLE `customer` (\n  `id` int NOT NULL\n) ENGINE=InnoDB'])], objects, mysql.sql))).toBe('ok');
    expect(code(() => checkNativeSql([entry('Item', ['CREATE TABLE "Item" (id INTEGER PRIMARY KEY)', 'CREATE UNIQUE INDEX ix ON "Item" (id DESC)'])],
      [{ kind: 'view', name: 'v_item', sql: 'CREATE VIEW v_item AS SELECT id FROM "Item"' },
        { kind: 'trigger', name: 'v_ins', table: 'v_item', sql: 'CREATE TRIGGER v_ins INSTEAD OF INSERT ON v_item BEGIN INSERT INTO "Item" (id) VALUES (new.id); END' }], sqlite.sql))).toBe('ok');
  });
  it.each([
    ['a table ddl that drops', [entry('t', ['DROP TABLE victim'])], []],
    ['a table ddl of another table', [entry('t', ['CREATE TABLE victim2 (id int)'])], []],
    ['two statements in one', [entry('t', ['CREATE TABLE t (id int); DROP TABLE victim'])], []],
    ['an index on another table', [entry('t', ['CREATE TABLE t (id int)', 'CREATE INDEX i ON victim (id)'])], []],
    ['an object that is not a CREATE', [], [{ kind: 'trigger', name: 'x', table: 't', sql: 'DROP TABLE victim' }]],
    ['an object of another name', [], [{ kind: 'view', name: 'v', sql: 'CREATE VIEW victim AS SELECT 1' }]],
    ['an object of another kind', [], [{ kind: 'view', name: 'v', sql: 'CREATE TABLE v (id int)' }]],
    ['a trigger on a table outside the backup', [entry('t', ['CREATE TABLE t (id int)'])], [{ kind: 'trigger', name: 'x', table: 't', sql: 'CREATE TRIGGER x AFTER INSERT ON victim FOR EACH ROW SET @a = 1' }]],
  ] as Array<[string, TableEntry[], NativeObject[]]>)('refuses %s (BACKUP_CORRUPT)', (_what, entries, objects) => {
    expect(code(() => checkNativeSql(entries, objects, mysql.sql))).toBe('BACKUP_CORRUPT');
  });
  it('takes a key to another database\'s table, LIKE in a check, a trigger on the backup\'s table (what MariaDB prints)', () => {
    const t = entry('c', ['CREATE TABLE `c` (\n  `id` int(11) NOT NULL,\n  `p` int(11) DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  KEY `p` (`p`),\n  CONSTRAINT `c_ibfk_1` FOREIGN KEY (`p`) REFERENCES `other`.`parent` (`id`) ON DELETE CASCADE,\n  CONSTRAINT `k` CHECK (`id` like \'1%\')\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci']);
    expect(code(() => checkNativeSql([t], [], mysql.sql))).toBe('ok');
  });
  it('takes what SQLite writes for a full-text table and its shadow tables', () => {
    const entries = [entry('docs', ['CREATE VIRTUAL TABLE docs USING fts5(title, body)']), entry('docs_config', ["CREATE TABLE 'docs_config'(k PRIMARY KEY, v) WITHOUT ROWID"])];
    expect(code(() => checkNativeSql(entries, [], sqlite.sql))).toBe('ok');
    expect(code(() => checkNativeSql([entry('f', ["CREATE VIRTUAL TABLE f USING fsdir('/etc')"])], [], sqlite.sql))).toBe('BACKUP_CORRUPT');
  });
  it('reads the inside of MariaDB executable comments as the server runs it', () => {
    for (const sql of [
      'CREATE TABLE `t` (`a` int) ENGINE=InnoDB /*! SELECT a FROM other.s */',
      'CREATE TABLE `t` (`a` int) ENGINE=InnoDB /*M!100000 SELECT a FROM other.s */',
      'CREATE TABLE `t` (`a` int) ENGINE=MRG_MyISAM /*!UNION=(other.m)*/ INSERT_METHOD=LAST',
      "CREATE TABLE `t` (`a` int) ENGINE=MyISAM /*! DATA DIRECTORY='/tmp/x' */",
      'CREATE TABLE `t` (`a` int) /*!50100 ENGINE FEDERATED */',
    ]) expect([sql, code(() => checkNativeSql([entry('t', [sql])], [], mysql.sql))]).toEqual([sql, 'BACKUP_CORRUPT']);
    // MySQL prints a partitioning clause in one; its inside is plain.
    const parts = 'CREATE TABLE `t` (`a` int NOT NULL, PRIMARY KEY (`a`)) ENGINE=InnoDB /*!50100 PARTITION BY RANGE (`a`) (PARTITION p0 VALUES LESS THAN (10) ENGINE = InnoDB, PARTITION p1 VALUES LESS THAN MAXVALUE ENGINE = InnoDB) */';
    expect(code(() => checkNativeSql([entry('t', [parts])], [], mysql.sql))).toBe('ok');
  });
  it('takes SQLite columns named like table options, and full-text content from the backup\'s own table only', () => {
    expect(code(() => checkNativeSql([entry('cars', ['CREATE TABLE cars (id INTEGER PRIMARY KEY, make TEXT, engine TEXT, directory TEXT, connection TEXT, of INTEGER)'])], [], sqlite.sql))).toBe('ok');
    const fts = (content: string): TableEntry[] => [entry('src_docs', ['CREATE TABLE src_docs (id INTEGER PRIMARY KEY, body TEXT)']), entry('docs', [`CREATE VIRTUAL TABLE docs USING fts5(body, content=${content}, content_rowid='id')`])];
    expect([code(() => checkNativeSql(fts("'src_docs'"), [], sqlite.sql)), code(() => checkNativeSql(fts("''"), [], sqlite.sql)), code(() => checkNativeSql(fts("'secret'"), [], sqlite.sql))]).toEqual(['ok', 'ok', 'BACKUP_CORRUPT']);
    expect(code(() => checkNativeSql([entry('t', ['CREATE TABLE `t` (`a` int) ENGINE FEDERATED'])], [], mysql.sql))).toBe('BACKUP_CORRUPT');
  });
  it.each([
    ['a qualified table name', 'CREATE TABLE `other`.`t` (id int)'],
    ['OR REPLACE', 'CREATE OR REPLACE TABLE `t` (id int)'],
    ['AS SELECT', 'CREATE TABLE `t` (id int) AS SELECT 1 AS id'],
    ['LIKE', 'CREATE TABLE `t` LIKE `u`'],
    ['a qualified name in an expression', 'CREATE TABLE `t` (id int DEFAULT (`other`.`f`()))'],
    ['a CONNECT engine', 'CREATE TABLE `t` (id int) ENGINE=CONNECT TABLE_TYPE=CSV FILE_NAME=\'/etc/passwd\''],
  ])('refuses a table ddl with %s (BACKUP_CORRUPT)', (_what, sql) => {
    expect(code(() => checkNativeSql([entry('t', [sql])], [], mysql.sql))).toBe('BACKUP_CORRUPT');
  });
  it.each([
    ['a query in parentheses after the columns', 'CREATE TABLE `t` (`id` int, `a` text) (SELECT 1 AS id, EXTRACTVALUE(1, CONCAT(0x7e, LOAD_FILE(\'/etc/hostname\'))) AS a)'],
    ['a query inside the column list', 'CREATE TABLE `t` (`id` int DEFAULT ((SELECT 1)))'],
    ['a UNION inside parentheses', 'CREATE TABLE `t` (`id` int) ENGINE=MRG_MyISAM (UNION (`m`))'],
    ['a qualified name whose table starts with digits', 'CREATE TABLE `t` (`id` int DEFAULT (other.1secret))'],
    ['a backquoted qualified name whose table starts with digits', 'CREATE TABLE `t` (`id` int DEFAULT (`other`.1secret))'],
    ["a partition's DATA DIRECTORY", "CREATE TABLE `t` (`id` int) PARTITION BY RANGE (`id`) (PARTITION p0 VALUES LESS THAN MAXVALUE DATA DIRECTORY = '/tmp/x' ENGINE = InnoDB)"],
    ["a partition's INDEX DIRECTORY", "CREATE TABLE `t` (`id` int) PARTITION BY HASH (`id`) (PARTITION p0 INDEX DIRECTORY = '/tmp/x' ENGINE = MyISAM)"],
    ['TEMPORARY', 'CREATE TEMPORARY TABLE `t` (`id` int)'],
  ])('refuses a MySQL table ddl with %s (BACKUP_CORRUPT)', (_what, sql) => {
    expect(code(() => checkNativeSql([entry('t', [sql])], [], mysql.sql))).toBe('BACKUP_CORRUPT');
  });
  it('names what it does not run, for a table a real source may have (a MERGE table, a partition in another directory, a FEDERATED table)', () => {
    const message = (sql: string): string => { try { checkNativeSql([entry('t', [sql])], [], mysql.sql); return 'ok'; } catch (e) { return `${(e as { code: string }).code}: ${(e as Error).message} ${JSON.stringify((e as { details: unknown }).details)}`; } };
    expect(message('CREATE TABLE `t` (`id` int(11) NOT NULL) ENGINE=MRG_MyISAM DEFAULT CHARSET=latin1 UNION=(`t1`,`t2`)')).toMatch(/^BACKUP_CORRUPT: .*holds UNION \(a MERGE table's list of other tables\), which a restore does not run.*make such a table by hand.*"clause":"UNION/);
    expect(message("CREATE TABLE `t` (`id` int NOT NULL) ENGINE=InnoDB PARTITION BY HASH (`id`) (PARTITION `p0` DATA DIRECTORY = '/data/x' ENGINE = InnoDB)")).toMatch(/holds DATA or INDEX DIRECTORY \(files outside the data directory\)/);
    expect(message("CREATE TABLE `t` (`id` int NOT NULL) ENGINE=FEDERATED CONNECTION='mysql://u@h/db/t'")).toMatch(/holds ENGINE=FEDERATED \(its rows are not kept in this database\)/);
  });
  it('reads an object as the server will, under the sql_mode it is created with', () => {
    const view = (sql: string, sql_mode?: string): NativeObject => ({ kind: 'view', name: 'v', sql, ...(sql_mode === undefined ? {} : { settings: { sql_mode } }) });
    const check = (o: NativeObject): string => code(() => checkNativeSql([], [o], mysql.sql));
    // What the server would run: CREATE DEFINER='a\' VIEW other.planted … (the backslash escapes nothing).
    expect(check(view("CREATE DEFINER='a\\' VIEW other.planted AS SELECT 1 AS x -- ' VIEW v AS SELECT 1 AS x", 'NO_BACKSLASH_ESCAPES'))).toBe('BACKUP_CORRUPT');
    expect(check(view('CREATE DEFINER="a\\" VIEW other.planted AS SELECT 1 AS x -- " VIEW v AS SELECT 1 AS x', 'ANSI_QUOTES'))).toBe('BACKUP_CORRUPT');
    expect(check(view('CREATE DEFINER="a\\" VIEW other.planted AS SELECT 1 AS x -- " VIEW v AS SELECT 1 AS x', 'PIPES_AS_CONCAT,ORACLE'))).toBe('BACKUP_CORRUPT');
    // An sql_mode that cannot be read (a number, an unknown flag) is refused: how it quotes is unknown.
    expect(check(view('CREATE VIEW `v` AS SELECT 1 AS `x`', '4'))).toBe('BACKUP_CORRUPT');
    expect(check(view('CREATE VIEW `v` AS SELECT 1 AS `x`', 'STRICT_TRANS_TABLES,NEW_QUOTING'))).toBe('BACKUP_CORRUPT');
    // What real sources write under these modes is taken.
    expect(check(view("CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW `v` AS select 'it\\'s' AS `x`", 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION'))).toBe('ok');
    expect(check(view("CREATE VIEW `v` AS select 'C:\\' AS `x`", 'NO_BACKSLASH_ESCAPES'))).toBe('ok');
    expect(check(view('CREATE VIEW "v" AS select "a" AS "x" from "t"', 'PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ONLY_FULL_GROUP_BY,ANSI'))).toBe('ok');
    expect(check(view('CREATE VIEW `v` AS SELECT 1 AS `x`', ''))).toBe('ok');
  });
  it('refuses temporary objects (a SQLite TEMP VIEW stands in front of the table of its name)', () => {
    const users = entry('users', ['CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)']);
    expect(code(() => checkNativeSql([users], [{ kind: 'view', name: 'users', sql: "CREATE TEMP VIEW users AS SELECT 1 AS id, 'mallory' AS name" }], sqlite.sql))).toBe('BACKUP_CORRUPT');
    expect(code(() => checkNativeSql([users], [{ kind: 'trigger', name: 'tr', table: 'users', sql: 'CREATE TEMPORARY TRIGGER tr AFTER INSERT ON users BEGIN SELECT 1; END' }], sqlite.sql))).toBe('BACKUP_CORRUPT');
    expect(code(() => checkNativeSql([entry('t', ['CREATE TEMP TABLE t (id INTEGER)'])], [], sqlite.sql))).toBe('BACKUP_CORRUPT');
  });
  it('takes the events MariaDB prints (SHOW CREATE EVENT) and refuses a schedule that calls anything', () => {
    const event = (sql: string): string => code(() => checkNativeSql([], [{ kind: 'event', name: 'e1', sql }], mysql.sql));
    expect(event("CREATE DEFINER=`root`@`127.0.0.1` EVENT `e1` ON SCHEDULE EVERY 1 DAY STARTS '2024-01-01 00:00:00' ENDS '2027-12-07 10:21:00' ON COMPLETION PRESERVE DISABLE ON SLAVE COMMENT 'nightly' DO SELECT 1")).toBe('ok');
    expect(event("CREATE DEFINER=`root`@`127.0.0.1` EVENT `e1` ON SCHEDULE AT '2030-01-01 00:00:00' ON COMPLETION NOT PRESERVE ENABLE DO DELETE FROM t WHERE at < now()")).toBe('ok');
    expect(event('CREATE DEFINER=root@localhost EVENT e1 ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 1 HOUR DO SELECT 1')).toBe('ok');
    expect(event("CREATE EVENT e1 ON SCHEDULE AT '2030-01-01' + INTERVAL LENGTH(LOAD_FILE('/etc/passwd')) SECOND DO SELECT 1")).toBe('BACKUP_CORRUPT');
    expect(event('CREATE EVENT e1 ON SCHEDULE EVERY (SELECT 1) DAY DO SELECT 1')).toBe('BACKUP_CORRUPT');
  });
  it("MySQL objectSql refuses a sequence's follow-up that is not its position", () => {
    const o: NativeObject = { kind: 'sequence', name: 's', sql: 'CREATE SEQUENCE `s`', then: ['DROP TABLE victim'] };
    const f = { quote: (n: string) => `\`${n}\``, string: (v: string) => `'${v}'` };
    expect(code(() => mysql.backup.portable.objectSql!(o, f))).toBe('BACKUP_CORRUPT');
    expect(code(() => mysql.backup.portable.objectSql!({ ...o, then: ['SELECT SETVAL(`s`, 12000, 0)'] }, f))).toBe('ok');
  });
});

describe('checkBuiltSql: DDL made from a header definition is one statement each', () => {
  it.each([
    [postgres.sql, 'CREATE TABLE "t" ("a" integer DEFAULT 1) ; DROP TABLE victim', 'BACKUP_CORRUPT'],
    [postgres.sql, 'ALTER TABLE "t" ADD CONSTRAINT "c" CHECK (true); DROP TABLE victim; --)', 'BACKUP_CORRUPT'],
    [postgres.sql, 'CREATE TABLE "t" ("a" text DEFAULT \'x; DROP TABLE victim\')', 'ok'],
    [mysql.sql, 'CREATE TABLE `t` (`a` int) ; DROP TABLE victim', 'BACKUP_CORRUPT'],
    [mysql.sql, 'CREATE TABLE `t` (`a;b` int COMMENT \'x; y\')', 'ok'],
    [sqlite.sql, 'CREATE TABLE "t" ("a" int); DROP TABLE victim', 'BACKUP_CORRUPT'],
    [sqlite.sql, 'CREATE TABLE "t" ("a" int CHECK ("a" <> \';\'))', 'ok'],
  ])('%#: %s', (flavor, sql, expected) => {
    expect(code(() => checkBuiltSql('t', [sql], flavor))).toBe(expected);
  });
});
