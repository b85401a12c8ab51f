/**
 * Differential test: our SQLite lexer (src/core/backends/sqlite/lexer.ts) against SQLite itself
 * (better-sqlite3, in-process), on generated mixes of strings, blobs, names in every
 * quoting, comments, BOMs, odd whitespace, high characters and keywords.
 *
 * SQLite is asked through what it does, not through another lexer:
 * - probes: `probe(k)` is a registered function; the calls SQLite makes are exactly the
 *   probes it read as code, and must equal the probes our tokens show outside strings,
 *   names and comments;
 * - errors: `unrecognized token: "X"`, `near "X"` and `no such function: X` name a token
 *   as SQLite cut it: our tokens must contain one with that exact text;
 * - statements: whatever SQLite prepares is one statement for us, led by the keyword
 *   SQLite ran (SELECT), and a prepared statement that would write (`!stmt.readonly`)
 *   or an ATTACH / VACUUM INTO / file pragma it accepts is refused by the classifier.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { significantTokens } from '../../src/core/sql.js';
import { countStatements, leadingKeywords, tokenize } from '../support/sql.js';
import { classifySqlite } from '../../src/core/backends/sqlite/classify.js';

const RUNS = Number(process.env.LEXER_RUNS ?? 1500);
const db = new Database(':memory:');
db.exec('CREATE TABLE t(a INTEGER, b TEXT)');
let seen = new Set<number>();
db.function('probe', { deterministic: false }, (k: unknown) => {
  seen.add(Number(k));
  return 0;
});
const tally = { disagreements: 0, inputs: 0, prepared: 0, errors: 0, errorTokens: 0, probesCompared: 0 };
afterAll(() => console.error(`[lexer] sqlite: ${tally.inputs} generated inputs, ${tally.prepared} prepared, ${tally.errors} refused by SQLite (${tally.errorTokens} naming a token we compared), ${tally.probesCompared} probe sets compared, ${tally.disagreements} disagreements`));

// ------------------------------------------------------------------ generators

const SPACES = [' ', '\t', '\n', '\r', '\f', '\v', '\uFEFF', '\u00A0', '\u2000', '\u200B', '\u3000', '\u180E', '\u2028', '\u0085'];
const space = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom(' ', '\n', '\t', '\uFEFF', '\r', '\f') },
  { weight: 1, arbitrary: fc.constantFrom(...SPACES) },
  { weight: 2, arbitrary: fc.constantFrom('/* c */', '/* probe(90) */', '/**/', '-- probe(91)\n', '--\n', '/* \uFEFF */') },
);
const gap = fc.array(space, { maxLength: 3 }).map((a) => a.join(''));

/** Characters that test where quoted things end. */
const inner = fc.array(
  fc.constantFrom("''", '"', '""', '`', '``', ']', '[', '\\', ';', '--', '/*', '*/', 'probe(92)', '\uFEFF', 'é', '😀', ' ', 'x', '\n', "'"),
  { maxLength: 6 },
).map((a) => a.join(''));

const stringLit = inner.map((s) => `'${s}'`);
const blob = fc.constantFrom("x'ABCD'", "X''", "x'abc'", "x'4g'", "x'41");
const num = fc.constantFrom('12', '0x1F', '1_000', '.5e3', '1e+2', '3.', '1abc', '0x', '1e', '00');
const nameInner = inner.filter((s) => !s.includes('\n'));
const alias = fc.oneof(
  nameInner.map((s) => `"${s}"`),
  nameInner.map((s) => `[${s}]`),
  nameInner.map((s) => `\`${s}\``),
  fc.constantFrom('x', 'é\u00A0x', 'a\uFEFFb', 'ſelect', '_1$', 'a\u200Bb', 'K', 'x\u3000y', 'probe'),
);

/** One SELECT-list item: a probe, a literal or a name, maybe with an alias. */
const item = (k: number): fc.Arbitrary<string> =>
  fc.tuple(
    fc.oneof(
      { weight: 8, arbitrary: fc.constant(`probe(${k})`) },
      { weight: 2, arbitrary: fc.constantFrom(`probe\uFEFF(${k})`, `\uFEFFprobe(${k})`, `PROBE(${k})`, `probe (${k})`, `probe(\uFEFF${k})`) },
      { weight: 4, arbitrary: stringLit },
      { weight: 1, arbitrary: blob },
      { weight: 1, arbitrary: num },
      { weight: 1, arbitrary: fc.constantFrom('?', '?3', ':p', '@p', '$p', '#p', ':', '$', '@\uFEFF') },
    ),
    fc.option(fc.tuple(gap, fc.constantFrom('AS', 'as', ''), gap, alias), { nil: undefined }),
  ).map(([expr, as]) => (as ? `${expr} ${as[1]}${as[0] || ' '}${as[3]}${as[2]}` : expr));

const selectText = fc
  .tuple(gap, fc.constantFrom('SELECT', 'select', '\uFEFFSELECT', 'SeLeCt'), fc.array(fc.tuple(gap, fc.constantFrom('', ' ', '\uFEFF', '/**/')), { minLength: 1, maxLength: 5 }))
  .chain(([lead, kw, parts]) =>
    fc.tuple(fc.tuple(...parts.map((_, i) => item(i + 1))), gap, fc.constantFrom('', '', '', ';', '; ', ';\n-- x', '; SELECT 1', ';\uFEFF', ' /* open')).map(([items, tail, end]) => {
      const list = items.map((it, i) => `${parts[i][0]}${it}${i < items.length - 1 ? parts[i][1] + ',' : ''}`).join('');
      return `${lead}${kw} ${list}${tail}${end}`;
    }),
  );

// ------------------------------------------------------------------ oracles

const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** Probes our tokens show as code: `probe ( k )` outside strings, names and comments. */
function probesByLexer(sql: string): Set<number> {
  const sig = significantTokens(tokenize(sql, 'sqlite'));
  const out = new Set<number>();
  for (let i = 0; i + 3 < sig.length; i++) {
    const [w, open, n, close] = sig.slice(i, i + 4);
    if (w.kind === 'word' && asciiLower(w.text) === 'probe' && open.text === '(' && n.kind === 'number' && close.text === ')') out.add(Number(n.text));
  }
  return out;
}

/** The token SQLite names in an error, or null when its message names none. */
function tokenInError(message: string): string | null {
  const m = /^unrecognized token: "(.*)"$/s.exec(message) ?? /^near "(.*)": syntax error$/s.exec(message) ?? /^no such function: (.*)$/s.exec(message);
  return m ? m[1] : null;
}

function compare(sql: string): void {
  tally.inputs++;
  let stmt: Database.Statement;
  try {
    stmt = db.prepare(sql);
  } catch (err) {
    tally.errors++;
    const named = tokenInError((err as Error).message);
    if (named !== null) tally.errorTokens++;
    if (named !== null) expect(tokenize(sql, 'sqlite').map((t) => t.text), `${JSON.stringify(sql)}: ${(err as Error).message}`).toContain(named);
    return;
  }
  tally.prepared++;
  expect(countStatements(sql, 'sqlite'), JSON.stringify(sql)).toBe(1);
  expect(leadingKeywords(sql, 'sqlite', 1), JSON.stringify(sql)).toEqual(['SELECT']);
  seen = new Set();
  try {
    stmt.all(...params(sql));
  } catch (err) {
    // better-sqlite3's own binding rules (`?3`, `#p`, mixed styles): no run, nothing to compare.
    if (err instanceof RangeError || err instanceof TypeError) return;
    throw err;
  }
  tally.probesCompared++;
  expect([...probesByLexer(sql)].sort(), JSON.stringify(sql)).toEqual([...seen].sort());
}

/** Values for the parameters our tokens show (a wrong guess fails binding, and the input is skipped). */
function params(sql: string): unknown[] {
  const marks = significantTokens(tokenize(sql, 'sqlite')).filter((t) => t.kind === 'placeholder');
  const named = Object.fromEntries(marks.filter((t) => t.text[0] !== '?').map((t) => [t.text.slice(1), 1]));
  const positional = marks.filter((t) => t.text === '?').map(() => 1);
  return Object.keys(named).length ? [...positional, named] : positional;
}

/** compare(), counting failures for the summary line (fast-check reruns failing inputs while shrinking). */
function counted(sql: string): void {
  try {
    compare(sql);
  } catch (err) {
    tally.disagreements++;
    throw err;
  }
}

describe('the SQLite lexer agrees with SQLite', () => {
  it('on generated SELECTs (probes, errors, statement count, leading keyword)', () => {
    fc.assert(fc.property(selectText, (sql) => counted(sql)), { numRuns: RUNS, seed: Number(process.env.LEXER_SEED ?? 1414) });
  });

  it('on the inputs that once disagreed', () => {
    for (const sql of ['\uFEFFSELECT probe(1)', 'SELECT\uFEFFprobe(1)', 'SELECT probe(1)\uFEFF', 'SELECT \uFEFFprobe(1), probe\uFEFF(2)', "SELECT 'a\uFEFF', probe(2)", 'SELECT #p', "SELECT x'41', probe(3)", 'SELECT 1 /*']) {
      try {
        compare(sql);
      } catch (err) {
        if (!(err instanceof Error) || !/more than one statement|Too few|Missing named/.test(err.message)) throw err;
      }
    }
  });
});

// ------------------------------------------------- statements the classifier refuses

const escapeStatement = fc.constantFrom(
  "ATTACH 'x.db' AS y", "ATTACH DATABASE 'x.db' AS y", "attach 'file:x.db?mode=rwc' as y", "ATTACH ':memory:' AS y",
  "VACUUM INTO 'x.db'", "VACUUM main INTO 'x.db'", "vacuum 'main' into 'x.db'",
  "PRAGMA temp_store_directory = '.'", "PRAGMA temp_store_directory('.')", "PRAGMA 'temp_store_directory' = '.'", 'PRAGMA [temp_store_directory]',
  'PRAGMA writable_schema = ON', 'PRAGMA main.writable_schema=1', "SELECT load_extension('x')", "SELECT \"load_extension\"('x')", "SELECT fts3_tokenizer('simple')",
);
const writeStatement = fc.constantFrom(
  'INSERT INTO t VALUES (1, 2)', 'UPDATE t SET a = 1', 'DELETE FROM t', 'REPLACE INTO t VALUES (1, 2)', 'CREATE TABLE u(a)', 'DROP TABLE t',
  'ALTER TABLE t ADD c', 'CREATE INDEX i ON t(a)', 'WITH x AS (SELECT 1) INSERT INTO t SELECT 1, 2 FROM x', 'ANALYZE', 'REINDEX', 'VACUUM',
  'PRAGMA user_version = 3', 'CREATE TEMP TABLE u(a)', 'INSERT INTO t SELECT 1, 2 RETURNING a',
);

/** Disguises a statement with whitespace, BOMs, comments and case between its tokens, as SQLite reads them. */
const disguised = (stmt: fc.Arbitrary<string>): fc.Arbitrary<[string, string]> =>
  fc.tuple(stmt, fc.array(fc.constantFrom(' ', '\uFEFF', '/**/', '\t', '\n', '-- c\n', '\r\n', '\f', ' \uFEFF', '/* \'" */'), { minLength: 12, maxLength: 12 }), gap, fc.boolean())
    .map(([s, seps, lead, swap]) => {
      const words = s.split(' ');
      const cased = swap ? words.map((w) => (/^[A-Za-z_]+$/.test(w) ? w.replace(/./g, (c, i) => (i % 2 ? c.toLowerCase() : c.toUpperCase())) : w)) : words;
      return [s, lead + cased.map((w, i) => (i === 0 ? w : (seps[i % seps.length] || ' ') + w)).join('')];
    });

/**
 * SQLite ignores an unknown pragma, so for pragmas acceptance proves nothing: the oracle is
 * the effect, on a connection with defensive mode off (so writable_schema can take).
 */
const pragmaDb = new Database(':memory:');
pragmaDb.unsafeMode(true);
function pragmaTookEffect(sql: string): boolean {
  try {
    pragmaDb.prepare(sql).run();
  } catch {
    return false;
  }
  const dir = pragmaDb.pragma('temp_store_directory', { simple: true });
  const writable = pragmaDb.pragma('writable_schema', { simple: true });
  pragmaDb.pragma("temp_store_directory = ''");
  pragmaDb.pragma('writable_schema = OFF');
  return Boolean(dir) || Boolean(writable);
}

describe('the SQLite classifier refuses what SQLite would run', () => {
  it('escapes in disguise: whatever SQLite prepares is an escape', () => {
    let prepared = 0;
    fc.assert(
      fc.property(disguised(escapeStatement), ([plain, sql]) => {
        if (plain.startsWith('PRAGMA')) {
          if (!pragmaTookEffect(sql)) return;
        } else {
          try {
            db.prepare(sql);
          } catch {
            return;
          }
        }
        prepared++;
        expect(classifySqlite(sql).escape, JSON.stringify(sql)).toBeDefined();
      }),
      { numRuns: Math.ceil(RUNS / 3), seed: 14 },
    );
    console.error(`[lexer] sqlite escapes: ${prepared} disguised escapes SQLite accepts (pragmas: took effect), all refused`);
    expect(prepared).toBeGreaterThan(50);
  });

  it('writes in disguise: whatever SQLite prepares as a writer is a read-only violation', () => {
    let writers = 0;
    fc.assert(
      fc.property(disguised(writeStatement), ([, sql]) => {
        let stmt: Database.Statement;
        try {
          stmt = db.prepare(sql);
        } catch {
          return;
        }
        if (stmt.readonly) return;
        writers++;
        expect(classifySqlite(sql).readOnlyViolation, JSON.stringify(sql)).not.toBeNull();
      }),
      { numRuns: Math.ceil(RUNS / 3), seed: 15 },
    );
    console.error(`[lexer] sqlite writes: ${writers} disguised writers prepared by SQLite, all refused on read-only`);
    expect(writers).toBeGreaterThan(50);
  });
});
