import { describe, expect, it } from 'vitest';
import { MAX_FINGERPRINT_CHARS } from '../../src/core/performance/fingerprint.js';
import { fingerprint, type SqlFlavor } from '../support/sql.js';

describe('fingerprint', () => {
  it.each<[SqlFlavor, string, string]>([
    // literals of every kind become ?
    ['postgres', "SELECT * FROM t WHERE id = 1 AND name = 'x''y'", 'select * from t where id = ? and name = ?'],
    ['postgres', "SELECT E'a\\'b', U&'d\\0061', $$ it's ; $$, $tag$ x $tag$", 'select ?, ?, ?, ?'],
    ['postgres', "SELECT B'0101', X'ff', 1.5e3, .5, 0x1F", 'select ?, ?, ?, ?, ?'],
    ['mysql', "SELECT x'ff', 0xFF, b'01', 0b01, N'text', _utf8mb4'text'", 'select ?, ?, ?, ?, ?, ?'],
    ['mysql', "SELECT 'a\\'b', \"c\"", 'select ?, ?'],
    ['sqlite', "SELECT X'00ff', 'a', 3.14", 'select ?, ?, ?'],
    // signs belong to the number only where nothing stands to their left
    ['postgres', 'SELECT a - 1, -2 FROM t WHERE b = -3 AND c IN (-4, 5)', 'select a - ?, ? from t where b = ? and c in (?)'],
    // placeholders of every flavour, and typed literals
    ['postgres', "SELECT * FROM t WHERE id = $1 AND d > DATE '2024-01-01' AND j = '{1}'::int[]", 'select * from t where id = ? and d > date ? and j = ?::int[]'],
    ['mysql', 'SELECT * FROM t WHERE id = ? AND x = @v', 'select * from t where id = ? and x = @v'],
    ['sqlite', 'SELECT * FROM t WHERE id = ?1 AND x = :name AND y = @n AND z = $z', 'select * from t where id = ? and x = ? and y = ? and z = ?'],
    // IN lists collapse, whatever their length
    ['postgres', 'SELECT 1 FROM t WHERE id IN (1, 2, 3) AND k NOT IN ($1,$2)', 'select ? from t where id in (?) and k not in (?)'],
    ['mysql', "SELECT 1 FROM t WHERE id IN ('a','b')", 'select ? from t where id in (?)'],
    // multi-row VALUES keep one row
    ['sqlite', "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')", 'insert into t(a, b) values (?, ?)'],
    ['postgres', 'INSERT INTO t VALUES ($1, $2), ($3, $4)', 'insert into t values (?, ?)'],
    // comments go, whitespace and case are normalised, a trailing ; too
    ['postgres', 'select /* hint 42 */ a\n  FROM   t -- trailing 7\n;', 'select a from t'],
    ['postgres', 'SELECT /* a /* nested 1 */ b */ 1', 'select ?'],
    ['mysql', "SELECT 1 # note 'x'\nFROM t", 'select ? from t'],
    // MySQL runs conditional comments: kept, with their literals replaced
    ['mysql', "SELECT /*!50000 SQL_NO_CACHE 'x' */ 1", "select /*! sql_no_cache ? */ ?"],
    // quoted names that need no quotes are bare; others keep their quotes
    ['postgres', 'SELECT "id", "Id", "a b" FROM "orders"', 'select id, "Id", "a b" from orders'],
    ['mysql', 'SELECT `Id`, `a b` FROM `Orders`', 'select id, `a b` from orders'],
    ['sqlite', 'SELECT [id], "Name" FROM `t`', 'select id, name from t'],
    // function calls keep their parentheses tight
    ['postgres', 'SELECT count( * ), pg_sleep ( 0.3 ) AS slow', 'select count(*), pg_sleep(?) as slow'],
  ])('%s: %s', (flavor, sql, expected) => {
    expect(fingerprint(sql, flavor)).toBe(expected);
  });

  it('groups statements that differ only in literals', () => {
    const a = fingerprint('SELECT * FROM orders WHERE customer_id = 1', 'postgres');
    const b = fingerprint('select *  from orders where customer_id=2', 'postgres');
    expect(a).toBe(b);
  });

  it('matches the database\'s own normalised texts', () => {
    // pg_stat_statements replaces constants with $n; performance_schema digests use ? and backquotes.
    expect(fingerprint('SELECT pg_sleep($1) AS slow_x', 'postgres')).toBe(fingerprint('SELECT pg_sleep(0.3) AS slow_x', 'postgres'));
    expect(fingerprint('SELECT `SLEEP` ( ? ) AS `slow_x`', 'mysql')).toBe(fingerprint('SELECT SLEEP(0.3) AS slow_x', 'mysql'));
    expect(fingerprint('SELECT * FROM `t` WHERE `id` IN (...)', 'mysql')).toBe('select * from t where id in (...)');
  });

  it('never lets a literal through', () => {
    const secret = 's3cr3t-value';
    for (const [flavor, sql] of [
      ['postgres', `ALTER ROLE app PASSWORD '${secret}'`],
      ['postgres', `SELECT $q$${secret}$q$`],
      ['mysql', `SET PASSWORD = PASSWORD("${secret}")`],
      ['mysql', `SELECT /*! '${secret}' */ 1`],
      ['sqlite', `INSERT INTO t VALUES ('${secret}')`],
      ['postgres', `SELECT '${secret}`], // unterminated: the rest is one string
    ] as Array<[SqlFlavor, string]>) {
      expect(fingerprint(sql, flavor)).not.toContain(secret);
    }
  });

  it('bounds its length', () => {
    const long = `SELECT ${Array.from({ length: 2000 }, (_, i) => `c${i}`).join(', ')} FROM t`;
    const f = fingerprint(long, 'sqlite');
    expect(f.length).toBe(MAX_FINGERPRINT_CHARS);
    expect(f.endsWith('…')).toBe(true);
  });
});
