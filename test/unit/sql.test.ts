import { describe, expect, it } from 'vitest';
import { DbError } from '../../src/errors.js';
import { jsonByteLength, significantTokens, toJsonValue } from '../../src/core/sql.js';
import { countStatements, leadingKeywords, splitStatements, tokenize, translatePlaceholders, type SqlFlavor } from '../support/sql.js';

const FLAVORS: SqlFlavor[] = ['postgres', 'mysql', 'sqlite'];

/** Non-whitespace tokens as `kind:text`, the shape every lexer case compares. */
const lexed = (sql: string, flavor: SqlFlavor): string[] =>
  tokenize(sql, flavor)
    .filter((t) => t.kind !== 'whitespace')
    .map((t) => `${t.kind}:${t.text}`);

describe('tokenize', () => {
  it.each<[SqlFlavor, string, string[]]>([
    ['postgres', "SELECT 'it''s'", ['word:SELECT', "string:'it''s'"]],
    ['postgres', "E'\\'' x", ["string:E'\\''", 'word:x']],
    ['postgres', "e'a\\\\' || 'b'", ["string:e'a\\\\'", 'operator:||', "string:'b'"]],
    ['postgres', "'a\\' x", ["string:'a\\'", 'word:x']],
    ['postgres', `U&'d\\0061' U&"a b"`, ["string:U&'d\\0061'", 'quoted_ident:U&"a b"']],
    ['postgres', '$$ ; $$ $tag$ $$ ; $tag$', ['string:$$ ; $$', 'string:$tag$ $$ ; $tag$']],
    ['postgres', '"a""b"', ['quoted_ident:"a""b"']],
    ['postgres', '/* a /* b */ ; */ 1', ['comment:/* a /* b */ ; */', 'number:1']],
    ['postgres', 'x::int', ['word:x', 'operator:::', 'word:int']],
    ['postgres', '$1 + $12', ['placeholder:$1', 'operator:+', 'placeholder:$12']],
    ['postgres', 'x=? AND y ?| z AND w ?& v', ['word:x', 'operator:=', 'operator:?', 'word:AND', 'word:y', 'operator:?|', 'word:z', 'word:AND', 'word:w', 'operator:?&', 'word:v']],
    ['postgres', 'a=-1', ['word:a', 'operator:=', 'operator:-', 'number:1']],
    ['postgres', "j @? '$.a' #>> '{a}'", ['word:j', 'operator:@?', "string:'$.a'", 'operator:#>>', "string:'{a}'"]],
    ['postgres', 'a--b\nc', ['word:a', 'comment:--b', 'word:c']],
    ['postgres', 'ab$c $d', ['word:ab$c', 'punct:$', 'word:d']],
    ['mysql', "'a\\'b' \"c\"\"d\"", ["string:'a\\'b'", 'string:"c""d"']],
    ['mysql', '`a``b` #x\ny', ['quoted_ident:`a``b`', 'comment:#x', 'word:y']],
    ['mysql', '1--1', ['number:1', 'operator:-', 'operator:-', 'number:1']],
    ['mysql', '1-- c', ['number:1', 'comment:-- c']],
    ['mysql', '1--\tc', ['number:1', 'comment:--\tc']],
    ['mysql', 'x--', ['word:x', 'comment:--']],
    ['mysql', '/*!50000 DROP */ /*M!100 x */ /* y */', ['conditional_comment:/*!50000 DROP */', 'conditional_comment:/*M!100 x */', 'comment:/* y */']],
    ['mysql', '@a:=1', ['word:@a', 'operator::=', 'number:1']],
    ['mysql', '@@session.autocommit', ['word:@@session.autocommit']],
    ['mysql', '1abc 0x1F 1e5 1.5', ['word:1abc', 'number:0x1F', 'number:1e5', 'number:1.5']],
    ['mysql', 'a<=>b ?', ['word:a', 'operator:<=>', 'word:b', 'placeholder:?']],
    ['sqlite', '[a b] `c` "d" \'e\'', ['quoted_ident:[a b]', 'quoted_ident:`c`', 'quoted_ident:"d"', "string:'e'"]],
    ['sqlite', '? ?12 :n @m $p', ['placeholder:?', 'placeholder:?12', 'placeholder::n', 'placeholder:@m', 'placeholder:$p']],
    ['sqlite', "'a\\' x", ["string:'a\\'", 'word:x']],
    ['sqlite', '/* a /* b */ c */', ['comment:/* a /* b */', 'word:c', 'operator:*', 'operator:/']],
  ])('%s: %s', (flavor, sql, expected) => {
    expect(lexed(sql, flavor)).toEqual(expected);
  });

  it.each<[SqlFlavor, string, string]>([
    ['postgres', "SELECT 'abc", 'string'],
    ['postgres', "SELECT E'abc\\'", 'string'],
    ['postgres', 'SELECT $x$ abc $y$', 'string'],
    ['postgres', 'SELECT /* a /* b */', 'comment'],
    ['postgres', 'SELECT "abc', 'quoted_ident'],
    ['mysql', 'SELECT `abc', 'quoted_ident'],
    ['mysql', "SELECT 'abc\\", 'string'],
    ['mysql', 'SELECT /*! abc', 'conditional_comment'],
    ['sqlite', 'SELECT [abc', 'quoted_ident'],
    ['sqlite', 'SELECT /* abc', 'comment'],
  ])('%s: unterminated %s becomes one %s token to the end', (flavor, sql, kind) => {
    const last = tokenize(sql, flavor).at(-1)!;
    expect(last.kind).toBe(kind);
    expect(last.end).toBe(sql.length);
  });

  it('covers any input exactly, in order, without throwing', () => {
    const pieces = ["'", '"', '`', '$', '$a$', '--', '#', '/*', '*/', '/*!', '[', ']', '\\', ';', '?', ':', '::', '@', 'E', 'U&', ' ', '\n', 'a', '1', '.', 'é', '\uD83D', '-', '!'];
    let seed = 42;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let k = 0; k < 300; k++) {
      const sql = Array.from({ length: rand(40) }, () => pieces[rand(pieces.length)]).join('');
      for (const flavor of FLAVORS) {
        const tokens = tokenize(sql, flavor);
        expect(tokens.map((t) => t.text).join('')).toBe(sql);
        tokens.forEach((t, i) => {
          expect(t.end).toBeGreaterThan(t.start);
          expect(t.start).toBe(i === 0 ? 0 : tokens[i - 1].end);
        });
      }
    }
  });

  it('significantTokens drops whitespace and comments but keeps conditional comments', () => {
    const kinds = significantTokens(tokenize('SELECT /* a */ 1 -- b\n/*!50000 2 */ # c', 'mysql')).map((t) => t.kind);
    expect(kinds).toEqual(['word', 'number', 'conditional_comment']);
  });
});

describe('countStatements', () => {
  it.each<[SqlFlavor, string, number]>([
    ['postgres', '', 0],
    ['postgres', ' ; ; -- x\n', 0],
    ['postgres', 'SELECT 1', 1],
    ['postgres', 'SELECT 1;', 1],
    ['postgres', 'SELECT 1;  \n -- done', 1],
    ['postgres', 'SELECT 1; DROP TABLE t', 2],
    ['postgres', 'SELECT 1;;SELECT 2', 2],
    ['postgres', "SELECT ';', $$;$$, $f$;$f$, \"a;b\", E'\\';' -- ;\n", 1],
    ['postgres', 'SELECT /* ; /* ; */ ; */ 1', 1],
    ['postgres', 'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 1 END; END; SELECT 2', 2],
    ['mysql', 'SELECT 1; COMMIT; DELETE FROM t', 3],
    ['mysql', 'SELECT 1 # ; DROP TABLE t\n', 1],
    ['mysql', "SELECT 'a\\';' ; SELECT 2", 2],
    ['mysql', 'SELECT 1 -- ; x\n', 1],
    ['mysql', 'SELECT 1 --; DROP TABLE t', 2],
    ['mysql', 'SELECT 1; /*!50000 DROP TABLE t */', 2],
    ['mysql', 'CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; SELECT 2; END; SELECT 3', 2],
    ['sqlite', 'CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = 1; DELETE FROM u; END; SELECT 1', 2],
    ['sqlite', 'SELECT [a;b], `c;d` ; SELECT 2', 2],
    ['sqlite', 'BEGIN; SELECT 1; END', 3],
  ])('%s: %j -> %i', (flavor, sql, n) => {
    expect(countStatements(sql, flavor)).toBe(n);
  });
});

describe('leadingKeywords', () => {
  it.each<[SqlFlavor, string, number, string[]]>([
    ['postgres', 'select * from t', 3, ['SELECT']],
    ['postgres', '/* x */ -- y\n ((SeLeCt a FROM t', 3, ['SELECT', 'A', 'FROM']],
    ['postgres', 'WITH x AS (DELETE FROM t)', 4, ['WITH', 'X', 'AS', 'DELETE']],
    ['mysql', '# c\nSHOW CREATE TABLE t', 2, ['SHOW', 'CREATE']],
    ['mysql', '/*!50000 DROP */ SELECT', 1, []],
    ['sqlite', "PRAGMA 'x'", 2, ['PRAGMA']],
    ['sqlite', 'EXPLAIN QUERY PLAN SELECT 1', 2, ['EXPLAIN', 'QUERY']],
    ['sqlite', '', 2, []],
  ])('%s: %j (%i)', (flavor, sql, n, expected) => {
    expect(leadingKeywords(sql, flavor, n)).toEqual(expected);
  });
});

describe('splitStatements', () => {
  it.each<[string, SqlFlavor, string, string[]]>([
    ['trims and drops the trailing empty one', 'postgres', ' SELECT 1 ;\n\nSELECT 2;\n', ['SELECT 1', 'SELECT 2']],
    ['keeps the last statement without ;', 'postgres', 'SELECT 1; SELECT 2', ['SELECT 1', 'SELECT 2']],
    ['drops comment-only pieces', 'postgres', '-- header\n; /* x */ ; SELECT 1; -- end', ['SELECT 1']],
    ['keeps a leading comment with its statement', 'postgres', '-- users\nCREATE TABLE u (a int);', ['-- users\nCREATE TABLE u (a int)']],
    ['strips a BOM', 'postgres', '\uFEFFSELECT 1;', ['SELECT 1']],
    [
      'keeps dollar-quoted bodies whole',
      'postgres',
      'CREATE FUNCTION f() RETURNS void AS $body$ BEGIN PERFORM 1; END $body$ LANGUAGE plpgsql; SELECT 1;',
      ['CREATE FUNCTION f() RETURNS void AS $body$ BEGIN PERFORM 1; END $body$ LANGUAGE plpgsql', 'SELECT 1'],
    ],
    [
      'keeps BEGIN ATOMIC bodies whole',
      'postgres',
      'CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); INSERT INTO t VALUES (CASE WHEN true THEN 2 END); END; SELECT 1;',
      ['CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); INSERT INTO t VALUES (CASE WHEN true THEN 2 END); END', 'SELECT 1'],
    ],
    ['ignores ; in strings and comments', 'postgres', "INSERT INTO t VALUES (';', E'\\';'); -- ; x\nSELECT 2;", ["INSERT INTO t VALUES (';', E'\\';')", '-- ; x\nSELECT 2']],
    [
      'keeps sqlite trigger bodies whole (CASE ... END inside)',
      'sqlite',
      'CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET a = CASE WHEN new.a > 0 THEN 1 ELSE 0 END;\n  DELETE FROM u;\nEND;\nINSERT INTO t VALUES (1);',
      ['CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET a = CASE WHEN new.a > 0 THEN 1 ELSE 0 END;\n  DELETE FROM u;\nEND', 'INSERT INTO t VALUES (1)'],
    ],
    ['does not treat a transaction BEGIN as a block', 'sqlite', 'BEGIN; CREATE TABLE t (a); COMMIT;', ['BEGIN', 'CREATE TABLE t (a)', 'COMMIT']],
    [
      'honours DELIMITER and does not send it',
      'mysql',
      'DELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT \'//\';\nEND //\nDELIMITER ;\nCALL p();\n',
      ["CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT '//';\nEND", 'CALL p()'],
    ],
    [
      'handles $$ and ;; delimiters glued to words',
      'mysql',
      'delimiter $$\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; END$$\nDELIMITER ;;\nSELECT 1;;SELECT 2;;\nDELIMITER ;\nSELECT 3;',
      ['CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; END', 'SELECT 1', 'SELECT 2', 'SELECT 3'],
    ],
    [
      'splits a mysql routine body without DELIMITER as one statement',
      'mysql',
      'CREATE PROCEDURE p() BEGIN WHILE 1 DO SELECT 1; END WHILE; CASE 1 WHEN 1 THEN SELECT 2; END CASE; END; SELECT 3;',
      ['CREATE PROCEDURE p() BEGIN WHILE 1 DO SELECT 1; END WHILE; CASE 1 WHEN 1 THEN SELECT 2; END CASE; END', 'SELECT 3'],
    ],
    ['does not see DELIMITER inside a statement or comment', 'mysql', "SELECT 'DELIMITER //';\n# DELIMITER //\nSELECT 2;", ["SELECT 'DELIMITER //'", '# DELIMITER //\nSELECT 2']],
    ['keeps mysqldump conditional comments', 'mysql', '/*!40101 SET NAMES utf8mb4 */;\nSELECT 1;', ['/*!40101 SET NAMES utf8mb4 */', 'SELECT 1']],
  ])('%s', (_name, flavor, sql, expected) => {
    expect(splitStatements(sql, flavor)).toEqual(expected);
  });

  it('rejects a DELIMITER line without a value', () => {
    expect(() => splitStatements('DELIMITER\nSELECT 1;', 'mysql')).toThrow(/DELIMITER needs a value/);
  });
});

type Params = unknown[] | Record<string, unknown> | undefined;

describe('translatePlaceholders', () => {
  it.each<[string, SqlFlavor, string, Params, string, unknown[]]>([
    ['? -> $n in order', 'postgres', 'SELECT * FROM t WHERE a = ? AND b=?', [1, 'x'], 'SELECT * FROM t WHERE a = $1 AND b=$2', [1, 'x']],
    ['repeated :name reuses its number', 'postgres', 'SELECT :a, :b, :a', { a: 1, b: 2 }, 'SELECT $1, $2, $1', [1, 2]],
    ['existing $1 passes through', 'postgres', 'SELECT $1::int, $2', [5, 6], 'SELECT $1::int, $2', [5, 6]],
    ['jsonb ? survives without params', 'postgres', `SELECT '{"a":1}'::jsonb ? 'a'`, undefined, `SELECT '{"a":1}'::jsonb ? 'a'`, []],
    ['jsonb ? survives with empty params', 'postgres', "SELECT j ? 'a' FROM t", [], "SELECT j ? 'a' FROM t", []],
    ['jsonb ? stays an operator with named params', 'postgres', 'SELECT j ? :key FROM t', { key: 'a' }, 'SELECT j ? $1 FROM t', ['a']],
    ['?| and ?& stay operators', 'postgres', 'SELECT j ?| ? FROM t', [['a']], 'SELECT j ?| $1 FROM t', [['a']]],
    ['casts are not placeholders', 'postgres', 'SELECT :a::int, x::text', { a: '1' }, 'SELECT $1::int, x::text', ['1']],
    ['array slices are not placeholders', 'postgres', 'SELECT arr[1:n], arr[:n], :n FROM t', { n: 2 }, 'SELECT arr[1:n], arr[:n], $1 FROM t', [2]],
    [
      'nothing inside strings, identifiers, comments, dollar quotes',
      'postgres',
      `SELECT '?', ':a', "?", $$ ? :a $$, E'\\' ?' /* ? :a */ -- ? :a\n, ?`,
      [1],
      `SELECT '?', ':a', "?", $$ ? :a $$, E'\\' ?' /* ? :a */ -- ? :a\n, $1`,
      [1],
    ],
    ['pads $n so it cannot glue to a word', 'postgres', 'SELECT x FROM t WHERE a=?AND b', [1], 'SELECT x FROM t WHERE a=$1 AND b', [1]],
    ['mysql keeps ?', 'mysql', 'SELECT ? , ?', [1, 2], 'SELECT ? , ?', [1, 2]],
    ['mysql :name -> ? repeating values', 'mysql', 'SELECT :a, :b, :a', { a: 1, b: 2 }, 'SELECT ?, ?, ?', [1, 2, 1]],
    ['mysql := and @x are not placeholders', 'mysql', 'SELECT @x := :v, @y', { v: 3 }, 'SELECT @x := ?, @y', [3]],
    ['mysql strings and comments', 'mysql', "SELECT 'a\\'?', \"?\", `?` # ? :a\n, ? -- :b", [1], "SELECT 'a\\'?', \"?\", `?` # ? :a\n, ? -- :b", [1]],
    ['sqlite :name -> ?', 'sqlite', 'SELECT * FROM t WHERE a = :a OR [:b] = :a', { a: null }, 'SELECT * FROM t WHERE a = ? OR [:b] = ?', [null, null]],
    ['no placeholders, no params', 'sqlite', "SELECT ':a', '?'", undefined, "SELECT ':a', '?'", []],
    ['empty object with no placeholders', 'mysql', 'SELECT 1', {}, 'SELECT 1', []],
  ])('%s (%s)', (_name, flavor, sql, params, text, values) => {
    expect(translatePlaceholders(sql, params, flavor)).toEqual({ text, values });
  });

  it.each<[SqlFlavor, string, Params, RegExp]>([
    ['mysql', 'SELECT ?, ?', [1, 2, 3], /query has 2 \? placeholders but 3 params were given/],
    ['sqlite', 'SELECT ?', undefined, /query has 1 \? placeholder but 0 params were given/],
    ['postgres', 'SELECT 1', [1], /query has 0 \? placeholders but 1 param was given/],
    ['postgres', 'SELECT ?, ?', [1], /2 \? placeholders but 1 param was given/],
    ['postgres', 'SELECT :a, :b', { a: 1 }, /no value given for :b/],
    ['mysql', 'SELECT :a', undefined, /no value given for :a/],
    ['sqlite', 'SELECT :a', { a: 1, ab: 2 }, /"ab" is not used by the query \(a typo\?\)/],
    ['postgres', 'SELECT 1', { x: 1 }, /"x" is not used/],
    ['mysql', 'SELECT ?, :a', [1, 2], /mixes placeholder styles/],
    ['sqlite', 'SELECT ?, :a', { a: 1 }, /mixes placeholder styles/],
    ['postgres', 'SELECT $1, ?', [1, 2], /mixes placeholder styles/],
    ['mysql', 'SELECT ?', { a: 1 }, /"a" is not used|params is an object|pass an array/],
    ['postgres', 'SELECT :a', [1], /params is an array: pass an object/],
    ['postgres', 'SELECT $1', { a: 1 }, /pass params as an array/],
    ['postgres', 'SELECT $1, $3', [1, 2], /up to \$3 but 2 params were given/],
    ['sqlite', 'SELECT @a', { a: 1 }, /placeholder @a is not supported/],
    ['sqlite', 'SELECT ?1', [1], /placeholder \?1 is not supported/],
    ['mysql', 'SELECT 1', 'x' as unknown as Params, /params must be an array/],
  ])('%s: %j with %j is rejected', (flavor, sql, params, message) => {
    let err: unknown;
    try {
      translatePlaceholders(sql, params, flavor);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DbError);
    expect((err as DbError).code).toBe('INVALID_INPUT');
    expect((err as DbError).message).toMatch(message);
  });

  it('names every missing and unused key in details', () => {
    expect(() => translatePlaceholders('SELECT :a, :b', {}, 'postgres')).toThrow(expect.objectContaining({ details: { missing: ['a', 'b'] } }));
    expect(() => translatePlaceholders('SELECT :a', { a: 1, b: 2, c: 3 }, 'mysql')).toThrow(expect.objectContaining({ details: { unused: ['b', 'c'] } }));
  });
});

describe('toJsonValue', () => {
  const big = 2n ** 64n;
  it.each<[string, unknown, unknown]>([
    ['string', 'a', 'a'],
    ['number', 1.5, 1.5],
    ['boolean', false, false],
    ['null', null, null],
    ['undefined becomes null', undefined, null],
    ['safe bigint', 42n, 42],
    ['negative safe bigint', -(2n ** 53n - 1n), -(2 ** 53 - 1)],
    ['unsafe bigint', big, '18446744073709551616'],
    ['just unsafe bigint', 2n ** 53n, '9007199254740992'],
    ['negative unsafe bigint', -big, '-18446744073709551616'],
    ['Buffer', Buffer.from('hi'), 'aGk='],
    ['Uint8Array view', new Uint8Array([0, 104, 105, 0]).subarray(1, 3), 'aGk='],
    ['Date', new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)), '2024-01-02T03:04:05.006Z'],
    ['invalid Date is not null', new Date('infinity'), 'Invalid Date'],
    ['NaN', NaN, 'NaN'],
    ['Infinity', Infinity, 'Infinity'],
    ['-Infinity', -Infinity, '-Infinity'],
    ['array', [1n, [Buffer.from('a')], NaN], [1, ['YQ=='], 'NaN']],
    ['plain object', { a: { b: 2n ** 70n }, c: new Date(0) }, { a: { b: '1180591620717411303424' }, c: '1970-01-01T00:00:00.000Z' }],
  ])('%s', (_name, input, expected) => {
    expect(toJsonValue(input)).toEqual(expected);
  });

  it('leaves class instances alone', () => {
    const m = new Map([[1, 2]]);
    expect(toJsonValue(m)).toBe(m);
  });
});

describe('jsonByteLength', () => {
  it.each<[string, unknown, number]>([
    ['ascii', 'abc', 5],
    ['two-byte character', 'é', 4],
    ['astral character', '😀', 6],
    ['object', { a: [1, null] }, 14],
    ['null', null, 4],
    ['undefined', undefined, 0],
    ['raw bigint', { n: 2n }, 7],
  ])('%s', (_name, v, n) => {
    expect(jsonByteLength(v)).toBe(n);
  });
});
