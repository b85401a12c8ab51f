/**
 * Issue 14, class 6 (MySQL side): the classifier's lexer against MariaDB itself.
 * Generated `SELECT` lists mix marker numbers (10xx) with strings, quoted aliases,
 * comments of every kind and executable comments (with and without versions, /*M!,
 * /*m!), whose bodies are full of quotes, backslashes, `*\/`, `--` and `#`. The
 * lexer predicts which markers are code; the server's result row says which ones it
 * ran. They must agree whenever the server accepts the statement, under the default
 * sql_mode and under ANSI_QUOTES,NO_BACKSLASH_ESCAPES (a raw session of this test only).
 */
import fc from 'fast-check';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lexMysql } from '../../src/core/backends/mysql/lexer.js';
import { MYSQL_URL } from '../support/backends.js';

const BODY = ['a', '*/', '/*', '/*!', '*', '/', "'", "''", "\\'", '\\\\', '\\', '"', '""', '`', '``', '#', '-- ', '--', '\n', ' ', ',', 'x*/y'];

const body = fc.array(fc.constantFrom(...BODY), { maxLength: 6 }).map((a) => a.join(''));
const marker = fc.integer({ min: 1000, max: 1999 }).map(String);

/** One SELECT-list item (a leading comma comes from the joiner). */
const item = fc.oneof(
  { weight: 4, arbitrary: marker },
  { weight: 2, arbitrary: body.map((b) => `'${b}'`) },
  { weight: 1, arbitrary: body.map((b) => `0 AS "${b}"`) },
  { weight: 1, arbitrary: body.map((b) => `0 AS \`${b}\``) },
);

const VERSIONS = ['', '50000', '50700', '99999', '100000', '100500', '999999'];
const OPENERS = [...VERSIONS.map((v) => `/*!${v}`), ...VERSIONS.map((v) => `/*M!${v}`), '/*m!'];

/** Noise between items: plain comments, line comments, or an executable comment holding more items. */
const gap = fc.oneof(
  { weight: 3, arbitrary: fc.constant(' ') },
  { weight: 2, arbitrary: body.map((b) => `/*${b.replaceAll('*/', '')}*/`) },
  { weight: 1, arbitrary: body.map((b) => ` -- ${b.replaceAll('\n', '')}\n`) },
  { weight: 1, arbitrary: body.map((b) => ` #${b.replaceAll('\n', '')}\n`) },
  { weight: 1, arbitrary: body.map((b) => ` ${b} `) },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.constantFrom(...OPENERS), fc.array(item, { minLength: 1, maxLength: 3 }), body).map(([open, items, tail]) => `${open} , ${items.join(' , ')} ${tail.replaceAll('*/', '')} */`),
  },
);

const statement = fc.tuple(marker, fc.array(fc.tuple(gap, item), { maxLength: 5 })).map(([first, rest]) => `SELECT ${first}${rest.map(([g, i]) => `${g}, ${i}`).join('')}`);

const MARIADB_ID = 101199; // any 10.11.x: only the comparisons below 101100 / above 101199 matter here

/** Whether MariaDB 10.11 skips a versioned executable comment (sql_lex.cc). */
function skipped(opener: string): boolean {
  const m = /^\/\*(M?)!(\d{5,6})/.exec(opener);
  if (!m) return false;
  const v = Number(m[2]);
  return !(v <= MARIADB_ID && (v < 50700 || v > 99999 || m[1] === 'M'));
}

/** The markers the lexer reads as code, in order; null when it reports the reading ambiguous. */
function predicted(sql: string, ansi: boolean): number[] | null {
  const { tokens, ambiguity } = lexMysql(sql, { backslashEscapes: !ansi, ansiQuotes: ansi });
  if (ambiguity) return null;
  const out: number[] = [];
  let skipping = false;
  for (const t of tokens) {
    if (t.kind === 'conditional_comment') skipping = t.text.startsWith('/*') ? skipped(t.text) : false;
    else if (t.kind === 'number' && /^1\d{3}$/.test(t.text) && !skipping) out.push(Number(t.text));
  }
  return out;
}

describe('MySQL lexer vs MariaDB on generated statements', () => {
  let conn: Connection;
  beforeAll(async () => {
    const { default: mysql } = await import('mysql2/promise');
    conn = await mysql.createConnection({ uri: MYSQL_URL, multipleStatements: false });
  });
  afterAll(async () => { await conn?.end(); });

  async function served(sql: string): Promise<number[] | null> {
    try {
      const [rows] = await conn.query({ sql, rowsAsArray: true });
      return ((rows as unknown[][])[0] ?? []).filter((v): v is number => typeof v === 'number' && v >= 1000 && v < 2000);
    } catch {
      return null;
    }
  }

  for (const mode of ['default', 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES'] as const) {
    it(`agrees with the server under sql_mode ${mode}`, async () => {
      const ansi = mode !== 'default';
      await conn.query(ansi ? "SET SESSION sql_mode = 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES'" : "SET SESSION sql_mode = 'STRICT_TRANS_TABLES'");
      const stats = { inputs: 0, compared: 0, ambiguous: 0, rejected: 0 };
      const mismatches: string[] = [];
      await fc.assert(
        fc.asyncProperty(statement, async (sql) => {
          stats.inputs++;
          const want = predicted(sql, ansi);
          const got = await served(sql);
          if (want === null) stats.ambiguous++;
          else if (got === null) stats.rejected++;
          else {
            stats.compared++;
            if (JSON.stringify(want) !== JSON.stringify(got)) mismatches.push(`${JSON.stringify(sql)}: lexer ${JSON.stringify(want)}, server ${JSON.stringify(got)}`);
          }
        }),
        { numRuns: 300, seed: 14 },
      );
      console.error(`[security] mysql lexer diff (${mode}): ${JSON.stringify(stats)}, ${mismatches.length} mismatches`);
      expect(mismatches.slice(0, 5)).toEqual([]);
      // Enough accepted statements for the comparison to mean something.
      expect(stats.compared).toBeGreaterThan(stats.inputs / 4);
    }, 120_000);
  }
});
