// The fast fingerprint path (one pass over char codes) against the lexer-based
// reference: the same fingerprint for every input, on the unit tests' cases and on
// generated statements of every flavour. Inputs the fast path leaves to the lexer
// (fingerprintFast returns null) are compared through fingerprint() too.
import { describe, expect, it } from 'vitest';
import { fingerprint, fingerprintFast, fingerprintReference, type SqlFlavor } from '../support/sql.js';

const FLAVORS: SqlFlavor[] = ['postgres', 'mysql', 'sqlite'];

/** mulberry32: a small seeded generator, so every run checks the same corpus. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every input of test/unit/fingerprint.test.ts, with its flavour. */
const UNIT_CASES: Array<[SqlFlavor, string]> = [
  ['postgres', "SELECT * FROM t WHERE id = 1 AND name = 'x''y'"],
  ['postgres', "SELECT E'a\\'b', U&'d\\0061', $$ it's ; $$, $tag$ x $tag$"],
  ['postgres', "SELECT B'0101', X'ff', 1.5e3, .5, 0x1F"],
  ['mysql', "SELECT x'ff', 0xFF, b'01', 0b01, N'text', _utf8mb4'text'"],
  ['mysql', "SELECT 'a\\'b', \"c\""],
  ['sqlite', "SELECT X'00ff', 'a', 3.14"],
  ['postgres', 'SELECT a - 1, -2 FROM t WHERE b = -3 AND c IN (-4, 5)'],
  ['postgres', "SELECT * FROM t WHERE id = $1 AND d > DATE '2024-01-01' AND j = '{1}'::int[]"],
  ['mysql', 'SELECT * FROM t WHERE id = ? AND x = @v'],
  ['sqlite', 'SELECT * FROM t WHERE id = ?1 AND x = :name AND y = @n AND z = $z'],
  ['postgres', 'SELECT 1 FROM t WHERE id IN (1, 2, 3) AND k NOT IN ($1,$2)'],
  ['mysql', "SELECT 1 FROM t WHERE id IN ('a','b')"],
  ['sqlite', "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')"],
  ['postgres', 'INSERT INTO t VALUES ($1, $2), ($3, $4)'],
  ['postgres', 'select /* hint 42 */ a\n  FROM   t -- trailing 7\n;'],
  ['postgres', 'SELECT /* a /* nested 1 */ b */ 1'],
  ['mysql', "SELECT 1 # note 'x'\nFROM t"],
  ['mysql', "SELECT /*!50000 SQL_NO_CACHE 'x' */ 1"],
  ['postgres', 'SELECT "id", "Id", "a b" FROM "orders"'],
  ['mysql', 'SELECT `Id`, `a b` FROM `Orders`'],
  ['sqlite', 'SELECT [id], "Name" FROM `t`'],
  ['postgres', 'SELECT count( * ), pg_sleep ( 0.3 ) AS slow'],
  ['postgres', 'SELECT * FROM orders WHERE customer_id = 1'],
  ['postgres', 'select *  from orders where customer_id=2'],
  ['postgres', 'SELECT pg_sleep($1) AS slow_x'],
  ['postgres', 'SELECT pg_sleep(0.3) AS slow_x'],
  ['mysql', 'SELECT `SLEEP` ( ? ) AS `slow_x`'],
  ['mysql', 'SELECT SLEEP(0.3) AS slow_x'],
  ['mysql', 'SELECT * FROM `t` WHERE `id` IN (...)'],
  ['postgres', "ALTER ROLE app PASSWORD 's3cr3t-value'"],
  ['postgres', 'SELECT $q$s3cr3t-value$q$'],
  ['mysql', 'SET PASSWORD = PASSWORD("s3cr3t-value")'],
  ['mysql', "SELECT /*! 's3cr3t-value' */ 1"],
  ['sqlite', "INSERT INTO t VALUES ('s3cr3t-value')"],
  ['postgres', "SELECT 's3cr3t-value"],
  ['sqlite', `SELECT ${Array.from({ length: 2000 }, (_, i) => `c${i}`).join(', ')} FROM t`],
];

/** The benchmark's statements (bench/performance.mjs): they must take the fast path. */
const BENCH_TEXTS = [
  "SELECT id, total, status FROM orders WHERE customer_id = 7 AND status = 'open' ORDER BY created_at DESC LIMIT 20",
  "INSERT INTO events (id, kind, payload) VALUES (7, 'click', '{\"x\": 7}')",
  'UPDATE accounts SET balance = balance - 7.5 WHERE id IN (7, 8, 9)',
];

const KEYWORDS = [
  'SELECT', 'select', 'FROM', 'from', 'WHERE', 'AND', 'or', 'NOT', 'IN', 'in', 'VALUES', 'values', 'INSERT', 'INTO', 'UPDATE', 'SET',
  'AS', 'ON', 'JOIN', 'LIMIT', 'OFFSET', 'ORDER BY', 'GROUP BY', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END', 'EXISTS', 'USING', 'OVER',
  'WITH', 'RETURNING', 'BETWEEN', 'LIKE', 'IS', 'NULL', 'interval', 'ALL', 'ANY', 'having', 'return', 'by', 'DATE', 'count', 'Sum',
  'coalesce', 'pg_sleep', 'x', 'X', 'b', 'B', 'n', 'N', 'e', 'E', 'u', 'U', 'o', '_utf8mb4', '_latin1', '_', '_a$', 'abc$1', 'ab$$c',
];
const NAMES = ['t', 'orders', 'customer_id', 'Id', 'MixedCase', 'a1', '_x', 't1.col', 'public.t', 'T.ID'];
const QUOTED_NAMES = [
  '"id"', '"Id"', '"a b"', '"a""b"', '""', '"in"', '"VALUES"', '"é"', '`id`', '`Id`', '`a b`', '`a``b`', '``', '`in`',
  '[id]', '[Id]', '[a b]', '[]', '[in]', '"$x"', '"_y$"', '"1a"',
];
const NUMBERS = [
  '1', '42', '007', '1.5', '1.', '.5', '1e5', '1E+5', '1e-3', '1e', '1e+', '1.e5', '0x1F', '0X1f', '0xg', '0x', '0x_1', '0b01', '0B2', '0b',
  '0o17', '0O8', '1_000', '1__', '1abc', '1.5abc', '00', '9999999999', '0x1g', '1$', '.5e', '1..2',
];
const STRINGS = [
  "'x'", "'it''s'", "'a\\'b'", "'a\\\\'", "''", "'é ü'", "'multi\nline'", '"dq"', '"d\\"q"', '"d""q"', "E'a\\'b'", "e'x'", "E'\\\\'",
  "x'AB'", "X'ab'", "b'01'", "B'01'", "N'text'", "n'x'", "_utf8mb4'x'", "_latin1'y'", "U&'d\\0061'", '$$x$$', "$tag$ y $tag$",
  "'{\"x\": 1}'", "'--not a comment'", "'/* nor this */'", "'#'",
];
const PLACEHOLDERS = ['?', '?1', '?12', '$1', '$12', '$1a', ':name', ':1', '@n', '$z', '@@session.x', '@v', '@', '@@', '@@.', '$', ':'];
const COMMENTS = [
  '/* c */', '/* a /* nested */ b */', '/**/', '/*/ */', '/* 1 */', '-- line\n', '--x\n', '-- x\n', '--\n', '--', '#x\n', '# 1\n',
  '/*! cond 1 */', '/*M! x */', '/*m!1*/', '/*!*/', "/* 'x' */", '-- é\n',
];
const OPERATORS = [
  '=', '<>', '!=', '<=', '>=', '<=>', '||', '&&', '::', ':::', '->', '->>', '-', '+', '*', '/', '%', '~', '!', '@>', '<@', '?|',
  '?&', '?||', '@?', '#>>', '=-', '*-', '!-', '+-+', '-+', '==', ':=', '<<', '>>', '^', '&', '|', '`', '#', '~~*', '!~', '@@', '&&&',
];
const PUNCT = ['(', ')', ',', ';', '.', '[', ']', ':', '{', '}', '\\', ';;', '\0', '\x01'];
const LISTS = [
  'IN (1, 2, 3)', 'in ($1,$2)', "NOT IN ('a','b')", 'in (-1, +2)', 'IN ((1,2),(3,4))', 'in (?)', 'in ()', 'IN (1)', 'in (1, a)',
  'IN (SELECT 1)', '"in" (1, 2)', '`IN` (1,2)', 'in(1,2)', 'in (?, ?, ?)', 'IN (...)', 'in (1, 2, 3) )',
];
const ROWS = [
  "VALUES (1,'x'), (2,'y')", 'VALUES (?, ?), (?, ?), (?, ?)', 'values ($1, $2), ($3, $4)', 'f(1,2), (3,4)', '(1), (2), (3)',
  "VALUES (1, 'x'), (2, 'y', 3)", 'VALUES (-1, 2), (3, -4)', 'values (1,2),(3,4),(5,6)', 'VALUES (1, a), (2, b)', '(?), (?)',
];
const SPACES = [' ', ' ', ' ', '', '', '  ', '\n', '\t', '\r\n', '\f', '\v', '\n  '];
const TAILS = ["'abc", '"abc', '/* abc', '`abc', '[abc', "E'abc\\", "'abc\\", '$$ abc', '/* a /* b */', '-- end', '"', "'", '`', '['];
const RARE = ['é', '\u00a0', 'naïve', '😀', 'ü_x'];

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)];

/** A statement from random fragments, glued by random whitespace (often none, so signs and prefixes stick). */
function statement(r: () => number, allowRare: boolean): string {
  const groups: Array<readonly string[]> = [KEYWORDS, KEYWORDS, NAMES, QUOTED_NAMES, NUMBERS, NUMBERS, STRINGS, PLACEHOLDERS, COMMENTS, OPERATORS, OPERATORS, PUNCT, LISTS, ROWS];
  const parts: string[] = [];
  const count = 1 + Math.floor(r() * 24);
  for (let k = 0; k < count; k++) {
    parts.push(pick(r, groups[Math.floor(r() * groups.length)]));
    parts.push(pick(r, SPACES));
  }
  if (allowRare && r() < 0.1) parts.splice(Math.floor(r() * parts.length), 0, pick(r, RARE));
  if (r() < 0.1) parts.push(pick(r, TAILS));
  if (r() < 0.1) parts.push(';');
  return parts.join('');
}

/** Random characters that matter to some lexer rule: finds the corners the fragments miss. */
const FUZZ_CHARS = "\"'`[]()-+*/#$@?:;.,!<>=|&^~%0123456789eExXbBnNoOuUmM_aZ \n\t\\é{}";
function fuzz(r: () => number): string {
  const len = Math.floor(r() * 40);
  let s = '';
  for (let k = 0; k < len; k++) s += FUZZ_CHARS[Math.floor(r() * FUZZ_CHARS.length)];
  return s;
}

interface Outcome {
  mismatches: Array<{ flavor: SqlFlavor; sql: string; fast: string; reference: string }>;
  fast: number;
  total: number;
}

function compare(cases: Array<[SqlFlavor, string]>): Outcome {
  const out: Outcome = { mismatches: [], fast: 0, total: 0 };
  for (const [flavor, sql] of cases) {
    out.total++;
    const reference = fingerprintReference(sql, flavor);
    const fast = fingerprintFast(sql, flavor);
    if (fast !== null) out.fast++;
    const got = fast ?? fingerprint(sql, flavor);
    if (got !== reference && out.mismatches.length < 10) out.mismatches.push({ flavor, sql, fast: got, reference });
  }
  return out;
}

describe('fingerprintFast matches the lexer-based fingerprint', () => {
  it('on every case of the fingerprint unit tests, in every flavour', () => {
    const cases: Array<[SqlFlavor, string]> = [...UNIT_CASES, ...UNIT_CASES.flatMap(([, sql]) => FLAVORS.map((f): [SqlFlavor, string] => [f, sql]))];
    const r = compare(cases);
    expect(r.mismatches).toEqual([]);
  });

  it('takes the fast path on the benchmark statements and plain statements', () => {
    for (const flavor of FLAVORS) {
      for (const sql of [...BENCH_TEXTS, 'SELECT * FROM t WHERE id = 1', "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')"]) {
        expect(fingerprintFast(sql, flavor)).toBe(fingerprintReference(sql, flavor));
      }
    }
    expect(fingerprintFast(BENCH_TEXTS[2], 'postgres')).toBe('update accounts set balance = balance - ? where id in (?)');
  });

  it('leaves what it does not cover to the lexer', () => {
    expect(fingerprintFast('SELECT $$x$$', 'postgres')).toBeNull();
    expect(fingerprintFast("SELECT U&'x'", 'postgres')).toBeNull();
    expect(fingerprintFast('SELECT /*! 1 */ 2', 'mysql')).toBeNull();
    expect(fingerprintFast('SELECT café FROM t', 'sqlite')).toBeNull();
    expect(fingerprintFast("SELECT 'café' FROM t", 'sqlite')).toBe('select ? from t'); // inside a string it is fine
  });

  it('spaces a SQLite `[` left open at the end (a name whose text is `[`) like the punctuation', () => {
    for (const sql of ['SELECT DATE[', 'select a [', 'SELECT 1 [', "select x'ab'["]) {
      expect(fingerprintFast(sql, 'sqlite')).toBe(fingerprintReference(sql, 'sqlite'));
    }
    expect(fingerprintFast('SELECT DATE[', 'sqlite')).toBe('select date[');
  });

  for (const flavor of FLAVORS) {
    it(`on 5000 generated statements and 3000 fuzzed texts (${flavor})`, () => {
      const r = prng(0xf1 + FLAVORS.indexOf(flavor));
      const statements = Array.from({ length: 5000 }, (_, k): [SqlFlavor, string] => [flavor, statement(r, k % 2 === 0)]);
      const fuzzed = Array.from({ length: 3000 }, (): [SqlFlavor, string] => [flavor, fuzz(r)]);
      const a = compare(statements);
      const b = compare(fuzzed);
      expect(a.mismatches).toEqual([]);
      expect(b.mismatches).toEqual([]);
      // The corpus exercises the fast path itself, not only the fallback.
      expect(a.fast / a.total).toBeGreaterThan(0.3);
      expect(b.fast / b.total).toBeGreaterThan(0.3);
    });
  }

  it('on statements without rare constructs, nearly always on the fast path', () => {
    const r = prng(7);
    for (const flavor of FLAVORS) {
      const plain = Array.from({ length: 2000 }, (): [SqlFlavor, string] => {
        const parts: string[] = [];
        const count = 1 + Math.floor(r() * 30);
        for (let k = 0; k < count; k++) {
          const group = [KEYWORDS, NAMES, NUMBERS.filter((x) => x !== '1$'), ['?', '(', ')', ',', '=', '<>', '.'], LISTS.slice(0, 4), ROWS.slice(0, 4)][Math.floor(r() * 6)];
          parts.push(pick(r, group), pick(r, [' ', ' ', '', '\n']));
        }
        return [flavor, parts.join('')];
      });
      const out = compare(plain);
      expect(out.mismatches).toEqual([]);
      expect(out.fast / out.total).toBeGreaterThan(0.95);
    }
  });
});
