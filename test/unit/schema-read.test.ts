import { describe, expect, it } from 'vitest';
import { DbError } from '../../src/errors.js';
import { checkForBackend, createTableSql } from '../../src/core/schema/ddl.js';
import { portableExpression, schemaFlavor } from '../../src/core/schema/flavors.js';
import { checkExpression } from '../support/sql.js';
import { normalizeTable, parseType, PORTABLE_KINDS, type TypeSpec } from '../../src/core/schema/model.js';
import { fkAction } from '../../src/core/schema/read-values.js';
import { mysqlDefault, mysqlType } from '../../src/core/backends/mysql/introspect.js';
import { pgDefault, pgType } from '../../src/core/backends/postgres/introspect.js';
import { sqliteDefault, sqliteType } from '../../src/core/backends/sqlite/introspect.js';
import { sqliteTableSql } from '../../src/core/backends/sqlite/table-sql.js';

const P = (t: string): TypeSpec => parseType(t, undefined);
const native = (n: string): TypeSpec => ({ kind: 'native', native: n });

function refused(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DbError);
    expect((err as DbError).code).toBe('INVALID_INPUT');
    expect((err as DbError).message).toMatch(message);
    return;
  }
  throw new Error('expected INVALID_INPUT');
}

describe('catalog types', () => {
  it.each<[string, TypeSpec]>([
    ['integer', P('integer')], ['bigint', P('bigint')], ['double precision', P('double')], ['character varying', P('text')],
    ['character varying(20)', P('varchar(20)')], ['character(3)', P('char(3)')], ['numeric(12,2)', P('decimal(12,2)')],
    ['numeric', native('numeric')], ['numeric(70,2)', native('numeric(70,2)')], ['character varying(20000)', native('character varying(20000)')],
    ['timestamp with time zone', P('timestamptz')], ['timestamp without time zone', P('timestamp')], ['time without time zone', P('time')],
    ['jsonb', P('json')], ['json', native('json')], ['bytea', P('binary')], ['uuid', P('uuid')], ['tsvector', native('tsvector')], ['integer[]', native('integer[]')],
  ])('pgType(%j)', (text, want) => expect(pgType(text)).toEqual(want));

  it.each<[string, string, boolean, TypeSpec]>([
    ['int', 'int(11)', false, P('integer')], ['int', 'int', false, P('integer')], ['bigint', 'bigint(20)', false, P('bigint')],
    ['int', 'int(10) unsigned', false, native('int(10) unsigned')], ['tinyint', 'tinyint(1)', false, P('boolean')],
    ['tinyint', 'tinyint(4)', false, native('tinyint(4)')], ['decimal', 'decimal(10,2)', false, P('decimal(10,2)')],
    ['varchar', 'varchar(255)', false, P('varchar(255)')], ['varchar', 'varchar(20000)', false, native('varchar(20000)')], ['char', 'char(36)', false, P('char(36)')],
    ['datetime', 'datetime(6)', false, P('timestamp')], ['timestamp', 'timestamp(6)', false, P('timestamptz')], ['time', 'time', false, P('time')],
    ['float', 'float', false, P('real')], ['float', 'float(7,2)', false, native('float(7,2)')], ['double', 'double', false, P('double')],
    ['longtext', 'longtext', true, P('json')], ['longtext', 'longtext', false, P('text')], ['json', 'json', false, P('json')],
    ['enum', "enum('a','b')", false, native("enum('a','b')")], ['uuid', 'uuid', false, P('uuid')], ['blob', 'blob', false, P('binary')], ['BIGINT', 'BIGINT', false, P('bigint')],
  ])('mysqlType(%j, %j, json=%s)', (dt, ct, json, want) => expect(mysqlType(dt, ct, json)).toEqual(want));

  it('sqliteType: declared types, the rowid alias and json checks', () => {
    expect(sqliteType('INTEGER', false, true)).toEqual(P('bigint'));
    expect(sqliteType('TEXT', true, true)).toEqual(P('bigint'));
    expect(sqliteType('integer', false, false)).toEqual(P('integer'));
    expect(sqliteType('TEXT', true, false)).toEqual(P('json'));
    expect(sqliteType('text', false, false)).toEqual(P('text'));
    expect(sqliteType('VARCHAR (20)', false, false)).toEqual(P('varchar(20)'));
    expect(sqliteType('decimal(10, 2)', false, false)).toEqual(P('decimal(10,2)'));
    expect(sqliteType('double  precision', false, false)).toEqual(P('double'));
    // Every SQLite float is 8 bytes, whatever its declared type.
    expect(['REAL', 'real', 'FLOAT', 'FLOAT4'].map((d) => sqliteType(d, false, false))).toEqual([P('double'), P('double'), P('double'), P('double')]);
    expect(sqliteType('datetime', false, false)).toEqual(P('timestamp'));
    expect(sqliteType('BLOB', false, false)).toEqual(P('binary'));
    expect(sqliteType('varchar(99999)', false, false)).toEqual(native('varchar(99999)'));
    expect(sqliteType('STRING', false, false)).toEqual(native('STRING'));
    expect(sqliteType('', false, false)).toEqual(native(''));
  });
});

describe('readDefault', () => {
  const readers = { postgres: pgDefault, mysql: mysqlDefault, sqlite: sqliteDefault };
  const rd = (raw: string | null, type: string, backend: 'postgres' | 'mysql' | 'sqlite', expr?: boolean) => readers[backend](raw, P(type), expr);
  const lit = (value: unknown) => ({ value, sequence: false });

  it.each<[string | null, string, unknown]>([
    ["'it''s'::text", 'text', lit("it's")], ["'-1'::integer", 'integer', lit(-1)], ['(-1)', 'integer', lit(-1)],
    ["nextval('users_id_seq'::regclass)", 'integer', { value: null, sequence: true }],
    ['CURRENT_TIMESTAMP', 'timestamptz', lit({ sql: 'CURRENT_TIMESTAMP' })], ['now()', 'timestamptz', lit({ sql: 'CURRENT_TIMESTAMP' })],
    ['CURRENT_DATE', 'date', lit({ sql: 'CURRENT_DATE' })], ['true', 'boolean', lit(true)], ['false', 'boolean', lit(false)],
    ["'12.5'::numeric", 'decimal(10,2)', lit('12.50')], ["'9007199254740993'::bigint", 'bigint', lit('9007199254740993')],
    ["'{}'::jsonb", 'json', lit('{}')], ["'2020-01-01 00:00:00'::timestamp without time zone", 'timestamp', lit('2020-01-01 00:00:00')],
    ["lower('X'::text)", 'text', lit({ sql: "lower('X'::text)" })], ['NULL', 'text', lit(null)], [null, 'text', lit(null)],
  ])('postgres %j (%s)', (raw, type, want) => expect(rd(raw, type, 'postgres')).toEqual(want));

  // Regression (found in review): PostgreSQL reports DEFAULT NULL on a typed column as NULL::character varying.
  it('postgres NULL::type is no default', () => expect(rd('NULL::character varying', 'varchar(5)', 'postgres')).toEqual(lit(null)));

  it.each<[string, string, unknown]>([
    ["'it''s'", 'text', lit("it's")], ["'a\\nb'", 'text', lit('a\nb')], ["'a\\\\b'", 'text', lit('a\\b')], ["'tab\\there'", 'text', lit('tab\there')],
    ['NULL', 'text', lit(null)], ["'NULL'", 'text', lit('NULL')], ['current_timestamp(6)', 'timestamp', lit({ sql: 'CURRENT_TIMESTAMP' })],
    ['curdate()', 'date', lit({ sql: 'CURRENT_DATE' })], ['42', 'integer', lit(42)], ['1.50', 'decimal(10,2)', lit('1.50')],
    ["'1'", 'boolean', lit(true)], ['0', 'boolean', lit(false)], ['uuid()', 'uuid', lit({ sql: 'uuid()' })],
  ])('mysql (MariaDB style) %j (%s)', (raw, type, want) => expect(rd(raw, type, 'mysql')).toEqual(want));

  it('mysql 8 style: bare literals, expressions flagged', () => {
    expect(rd("it's", 'text', 'mysql', false)).toEqual(lit("it's"));
    expect(rd("'q'", 'text', 'mysql', false)).toEqual(lit("'q'"));
    expect(rd('a\\b', 'text', 'mysql', false)).toEqual(lit('a\\b'));
    expect(rd('NULL', 'text', 'mysql', false)).toEqual(lit('NULL'));
    expect(rd('42', 'integer', 'mysql', false)).toEqual(lit(42));
    expect(rd('1', 'boolean', 'mysql', false)).toEqual(lit(true));
    expect(rd('1.5', 'decimal(10,2)', 'mysql', false)).toEqual(lit('1.50'));
    expect(rd('CURRENT_TIMESTAMP(6)', 'timestamp', 'mysql', true)).toEqual(lit({ sql: 'CURRENT_TIMESTAMP' }));
    expect(rd('curdate()', 'date', 'mysql', true)).toEqual(lit({ sql: 'CURRENT_DATE' }));
  });

  it.each<[string, string, unknown]>([
    ["'x'", 'text', lit('x')], ["'a\\nb'", 'text', lit('a\\nb')], ['42', 'integer', lit(42)], ['(-5)', 'integer', lit(-5)],
    ['CURRENT_TIMESTAMP', 'timestamp', lit({ sql: 'CURRENT_TIMESTAMP' })], ['(1+2)', 'integer', lit({ sql: '(1+2)' })],
    ["(datetime('now'))", 'timestamp', lit({ sql: "(datetime('now'))" })], ['NULL', 'text', lit(null)], ['TRUE', 'boolean', lit(true)],
    ['1.0', 'double', lit('1.0')], ["X'00'", 'binary', lit({ sql: "X'00'" })],
  ])('sqlite %j (%s)', (raw, type, want) => expect(rd(raw, type, 'sqlite')).toEqual(want));

  it('fkAction reads PostgreSQL codes and SQL words', () => {
    expect(['a', 'r', 'c', 'n', 'd'].map(fkAction)).toEqual(['no action', 'restrict', 'cascade', 'set null', 'set default']);
    expect(['NO ACTION', 'RESTRICT', 'CASCADE', 'SET NULL', 'set default'].map(fkAction)).toEqual(['no action', 'restrict', 'cascade', 'set null', 'set default']);
    expect([null, undefined, 'x'].map(fkAction)).toEqual(['no action', 'no action', 'no action']);
  });
});

describe('schemaFlavor', () => {
  const [pg, my, lite] = (['postgres', 'mysql', 'sqlite'] as const).map((b) => schemaFlavor(b));

  it('quotes names and strings per backend', () => {
    expect([pg.quote('a"b`c'), my.quote('a"b`c'), lite.quote('a"b`c')]).toEqual(['"a""b`c"', '`a"b``c`', '"a""b`c"']);
    expect([pg.string("it's a\\b"), my.string("it's a\\b"), lite.string("it's a\\b")]).toEqual(["'it''s a\\b'", "'it''s a\\\\b'", "'it''s a\\b'"]);
    expect([pg.boolean(true), pg.boolean(false), my.boolean(true), lite.boolean(false)]).toEqual(['TRUE', 'FALSE', '1', '0']);
  });

  it('writes every portable kind', () => {
    const specs = PORTABLE_KINDS.map((k) => P(k === 'decimal' ? 'decimal(10,2)' : k === 'varchar' ? 'varchar(20)' : k === 'char' ? 'char(3)' : k));
    expect(specs.map((s) => pg.type(s, false))).toEqual(['integer', 'bigint', 'smallint', 'numeric(10,2)', 'real', 'double precision', 'boolean', 'text',
      'varchar(20)', 'char(3)', 'date', 'time', 'timestamp', 'timestamptz', 'uuid', 'jsonb', 'bytea']);
    expect(specs.map((s) => my.type(s, false))).toEqual(['INT', 'BIGINT', 'SMALLINT', 'DECIMAL(10,2)', 'FLOAT', 'DOUBLE', 'TINYINT(1)', 'LONGTEXT',
      'VARCHAR(20)', 'CHAR(3)', 'DATE', 'TIME(6)', 'DATETIME(6)', 'TIMESTAMP(6)', 'UUID', 'JSON', 'LONGBLOB']);
    expect(specs.map((s) => lite.type(s, false))).toEqual(['INT', 'BIGINT', 'SMALLINT', 'DECIMAL(10,2)', 'REAL', 'DOUBLE', 'BOOLEAN', 'TEXT',
      'VARCHAR(20)', 'CHAR(3)', 'DATE', 'TIME', 'TIMESTAMP', 'TIMESTAMPTZ', 'UUID', 'TEXT', 'BLOB']);
    expect([pg.type(P('bigint'), true), my.type(P('bigint'), true), lite.type(P('bigint'), true), lite.type(P('smallint'), true)]).toEqual(['bigint', 'BIGINT', 'INTEGER', 'INTEGER']);
    expect([pg, my, lite].map((f) => f.type(native('tsvector'), false))).toEqual(['tsvector', 'tsvector', 'tsvector']);
    expect(schemaFlavor('mysql', { nativeUuid: false }).type(P('uuid'), false)).toBe('CHAR(36)');
    expect([pg, my, lite].map((f) => f.autoIncrement)).toEqual(['GENERATED BY DEFAULT AS IDENTITY', 'AUTO_INCREMENT', 'PRIMARY KEY AUTOINCREMENT']);
    expect(['timestamp', 'timestamptz', 'time', 'date'].map((k) => my.now(P(k)))).toEqual(['CURRENT_TIMESTAMP(6)', 'CURRENT_TIMESTAMP(6)', 'CURRENT_TIMESTAMP(6)', 'CURRENT_TIMESTAMP']);
    expect(pg.now(P('timestamp'))).toBe('CURRENT_TIMESTAMP');
  });

  it('portableExpression knows CURRENT_TIMESTAMP and CURRENT_DATE spellings only', () => {
    for (const e of ['CURRENT_TIMESTAMP', 'current_timestamp(6)', 'now()', 'NOW ( )', 'now(3)', 'localtimestamp', '(CURRENT_TIMESTAMP)']) expect(portableExpression(e)).toBe('CURRENT_TIMESTAMP');
    for (const e of ['current_date', 'CURRENT_DATE()', 'curdate()']) expect(portableExpression(e)).toBe('CURRENT_DATE');
    for (const e of ['CURRENT_TIME', 'uuid()', "now() + interval '1 day'"]) expect(portableExpression(e)).toBeNull();
  });
});

describe('checkExpression', () => {
  const backends = ['postgres', 'mysql', 'sqlite'] as const;

  it('refuses ;, comments, placeholders and unbalanced parentheses', () => {
    for (const b of backends) {
      refused(() => checkExpression('a > 0; DROP TABLE t', b, 'f'), /a ;/);
      refused(() => checkExpression('a > 0 -- x', b, 'f'), /comment/);
      refused(() => checkExpression('a /* x */ > 0', b, 'f'), /comment/);
      for (const e of ['(1', '1)', 'a > 0)', ') OR (1']) refused(() => checkExpression(e, b, 'f'), /unbalanced/);
    }
    refused(() => checkExpression('a = ?', 'mysql', 'f'), /placeholder/);
    refused(() => checkExpression('a = ?', 'sqlite', 'f'), /placeholder/);
    refused(() => checkExpression('a = $1', 'postgres', 'f'), /placeholder/);
    refused(() => checkExpression('/*! 1 */', 'mysql', 'f'), /comment/);
  });

  it('accepts balanced expressions, also with ; or -- inside quotes', () => {
    for (const b of backends) {
      for (const e of ["lower(name) <> ''", "name <> ';'", "name <> '--'", "x = '/*'", "x <> 'it''s'"]) expect(checkExpression(e, b, 'f')).toBe(e);
      expect(checkExpression('  a > 1  ', b, 'f')).toBe('a > 1');
    }
    expect(checkExpression("x <> 'a\\' ; '", 'mysql', 'f')).toBe("x <> 'a\\' ; '");
    expect(checkExpression("data ? 'k'", 'postgres', 'f')).toBe("data ? 'k'"); // jsonb operator, not a placeholder
  });

  // Regression (found in review): an unterminated string or quoted name would swallow the DDL after it (injection).
  it('refuses an unterminated string or quoted identifier', () => {
    for (const b of backends) for (const e of ["x = 'abc", "') ; DROP TABLE users; --", 'x = "abc']) expect(() => checkExpression(e, b, 'f')).toThrow(DbError);
  });
});

describe('sqliteTableSql', () => {
  it('finds json_valid columns, keeps other checks with their names, ignores strings and comments', () => {
    const r = sqliteTableSql(`CREATE TABLE t (a TEXT CHECK (json_valid(a)), "My ""Col""" TEXT CHECK (JSON_VALID("My ""Col""")), [b c] TEXT CHECK(json_valid([b c])),
      n INT CONSTRAINT pos CHECK (n > 0), CHECK (n < 10), CONSTRAINT "my ""ck""" CHECK (n IN (1, 2)), j TEXT CHECK (json_valid(j) AND length(j) < 9),
      note TEXT DEFAULT 'CHECK (x) WITHOUT ROWID COLLATE', m INT /* CHECK (q) */) -- STRICT`);
    expect([...r.jsonColumns]).toEqual(['a', 'my "col"', 'b c']);
    expect(r.checks).toEqual([
      { name: 'pos', expression: 'n > 0' }, { name: null, expression: 'n < 10' }, { name: 'my "ck"', expression: 'n IN (1, 2)' },
      { name: null, expression: 'json_valid(j) AND length(j) < 9' },
    ]);
    expect(r).toMatchObject({ withoutRowid: false, strict: false, unportable: [] });
  });

  it('reports COLLATE, generated columns, WITHOUT ROWID and STRICT', () => {
    const r = sqliteTableSql(`CREATE TABLE t (a TEXT COLLATE NOCASE, b INT GENERATED ALWAYS AS (a || 'x') STORED, c INT AS (b + 1)) WITHOUT ROWID, STRICT`);
    expect(r.withoutRowid).toBe(true);
    expect(r.strict).toBe(true);
    expect(r.unportable).toEqual(expect.arrayContaining(['COLLATE NOCASE', 'a generated column', 'WITHOUT ROWID', 'STRICT']));
    // Per column too, so that a restore elsewhere lists the column (a table constraint's COLLATE belongs to none).
    expect(r.columnFeatures).toEqual(new Map([['a', ['COLLATE NOCASE']], ['b', ['a generated column']], ['c', ['a generated column']]]));
    expect(sqliteTableSql('CREATE TABLE "check" ("CHECK" INT)')).toEqual({ jsonColumns: new Set(), checks: [], withoutRowid: false, strict: false, unportable: [], columnFeatures: new Map() });
    expect(sqliteTableSql('CREATE TABLE t (k TEXT, v TEXT DEFAULT (lower(\'a,b\')), PRIMARY KEY (k COLLATE NOCASE))').columnFeatures).toEqual(new Map());
  });
});

describe('createTableSql', () => {
  const users = normalizeTable({ table: 'users', columns: [
    { name: 'id', type: 'bigint', primary_key: true, auto_increment: true },
    { name: 'email', type: 'varchar(255)', nullable: false, unique: true },
    { name: 'active', type: 'boolean', default: true },
    { name: 'created_at', type: 'timestamptz', default: { sql: 'now()' } },
    { name: 'team_id', type: 'integer', references: { table: 'teams', column: 'id', on_delete: 'cascade' } },
    { name: 'prefs', type: 'json' },
    { name: 'nick', type: 'varchar(50)', default: "it's", comment: 'shown name' },
  ], indexes: [{ columns: ['team_id', 'email'] }], checks: [{ name: 'email_nonempty', expression: "email <> ''" }] });

  it('pins the PostgreSQL statements', () => {
    expect(createTableSql(users, schemaFlavor('postgres'))).toEqual([
      'CREATE TABLE "users" (\n  "id" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL,\n  "email" varchar(255) NOT NULL,\n  "active" boolean NULL DEFAULT TRUE,\n  "created_at" timestamptz NULL DEFAULT CURRENT_TIMESTAMP,\n  "team_id" integer NULL,\n  "prefs" jsonb NULL,\n  "nick" varchar(50) NULL DEFAULT \'it\'\'s\',\n  CONSTRAINT "users_pkey" PRIMARY KEY ("id"),\n  CONSTRAINT "users_email_key" UNIQUE ("email"),\n  CONSTRAINT "users_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams" ("id") ON DELETE CASCADE ON UPDATE NO ACTION,\n  CONSTRAINT "email_nonempty" CHECK (email <> \'\')\n)',
      'CREATE INDEX "users_team_id_email_idx" ON "users" ("team_id", "email")',
      'COMMENT ON COLUMN "users"."nick" IS \'shown name\'',
    ]);
    expect(createTableSql({ ...users, schema: 'app' }, schemaFlavor('postgres'))[0]).toMatch(/^CREATE TABLE "app"\."users" \(/);
    // A reference without a schema is to the table's own schema, written qualified (never found through search_path).
    expect(createTableSql({ ...users, schema: 'app' }, schemaFlavor('postgres'))[0]).toContain('REFERENCES "app"."teams" ("id")');
    expect(createTableSql({ ...users, schema: 'main' }, schemaFlavor('sqlite'))[0]).toContain('REFERENCES "teams" ("id")');
  });

  it('pins the MySQL statement', () => {
    expect(createTableSql(users, schemaFlavor('mysql'))).toEqual([
      'CREATE TABLE `users` (\n  `id` BIGINT NOT NULL AUTO_INCREMENT,\n  `email` VARCHAR(255) NOT NULL,\n  `active` TINYINT(1) NULL DEFAULT 1,\n  `created_at` TIMESTAMP(6) NULL DEFAULT CURRENT_TIMESTAMP(6),\n  `team_id` INT NULL,\n  `prefs` JSON NULL,\n  `nick` VARCHAR(50) NULL DEFAULT \'it\'\'s\' COMMENT \'shown name\',\n  CONSTRAINT `users_pkey` PRIMARY KEY (`id`),\n  UNIQUE KEY `users_email_key` (`email`),\n  CONSTRAINT `users_team_id_fkey` FOREIGN KEY (`team_id`) REFERENCES `teams` (`id`) ON DELETE CASCADE ON UPDATE NO ACTION,\n  CONSTRAINT `email_nonempty` CHECK (email <> \'\'),\n  KEY `users_team_id_email_idx` (`team_id`, `email`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
    ]);
  });

  it('pins the SQLite statements', () => {
    expect(createTableSql(users, schemaFlavor('sqlite'))).toEqual([
      'CREATE TABLE "users" (\n  "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,\n  "email" VARCHAR(255) NOT NULL,\n  "active" BOOLEAN NULL DEFAULT 1,\n  "created_at" TIMESTAMPTZ NULL DEFAULT CURRENT_TIMESTAMP,\n  "team_id" INT NULL,\n  "prefs" TEXT NULL CHECK (json_valid("prefs")),\n  "nick" VARCHAR(50) NULL DEFAULT \'it\'\'s\',\n  CONSTRAINT "users_email_key" UNIQUE ("email"),\n  CONSTRAINT "users_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams" ("id") ON DELETE CASCADE ON UPDATE NO ACTION,\n  CONSTRAINT "email_nonempty" CHECK (email <> \'\')\n)',
      'CREATE INDEX "users_team_id_email_idx" ON "users" ("team_id", "email")',
    ]);
  });

  it('checkForBackend refuses what a backend cannot take', () => {
    const [pg, my, lite] = (['postgres', 'mysql', 'sqlite'] as const).map((b) => schemaFlavor(b));
    const inApp = { ...users, schema: 'app' };
    expect(() => checkForBackend(inApp, pg)).not.toThrow();
    refused(() => checkForBackend(inApp, my), /PostgreSQL schema/);
    refused(() => checkForBackend(inApp, lite), /PostgreSQL schema/);
    expect(() => checkForBackend({ ...users, schema: 'main' }, lite)).not.toThrow();
    const emoji = [normalizeTable({ table: 't😀', columns: [{ name: 'a', type: 'int' }] }), normalizeTable({ table: 't', columns: [{ name: 'a😀', type: 'int' }] })];
    for (const t of emoji) {
      refused(() => checkForBackend(t, my), /Basic Multilingual Plane/);
      expect(() => checkForBackend(t, pg)).not.toThrow();
    }
    const textIndex = normalizeTable({ table: 't', columns: [{ name: 'a', type: 'text' }], indexes: [{ columns: ['a'] }] });
    refused(() => checkForBackend(textIndex, my), /cannot index text column "a"/);
    refused(() => checkForBackend(normalizeTable({ table: 't', columns: [{ name: 'j', type: 'json', unique: true }] }), my), /cannot index json/);
    expect(() => checkForBackend(textIndex, lite)).not.toThrow();
    refused(() => createTableSql(textIndex, my), /cannot index/);
  });
});
