/**
 * Differential test: the PostgreSQL lexer, src/core/backends/postgres/lexer.ts (placeholders,
 * leading keywords, statement splitting, fingerprints) against PostgreSQL's own scanner
 * and grammar (libpg-query, PG 17), on generated mixes of strings ('' , E'' with
 * backslashes, U&''), dollar quotes, nested comments, `--` comments ended by \n or \r,
 * quoted names (incl. U&""), high-Unicode names and `$n` parameters.
 *
 * libpg-query exports no scanner, so PostgreSQL is asked through what it parsed:
 * - probes: the `probe(k)` calls in the parse tree must be exactly those our tokens
 *   show outside strings, names and comments;
 * - parameters: the ParamRef numbers must be our `$n` placeholder tokens;
 * - statements: the number of statements must be our count;
 * - errors: `syntax error at or near "X"` names a token as PostgreSQL cut it: our
 *   tokens must hold one with that text.
 */
import fc from 'fast-check';
import { loadModule, parseSync } from 'libpg-query';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { significantTokens } from '../../src/core/sql.js';
import { countStatements, tokenize } from '../support/sql.js';

const RUNS = Number(process.env.LEXER_RUNS ?? 1500);
const tally = { disagreements: 0, inputs: 0, parsed: 0, errors: 0, errorTokens: 0 };
beforeAll(() => loadModule());
afterAll(() => console.error(`[lexer] postgres: ${tally.inputs} generated inputs, ${tally.parsed} parsed (probes, $n and statements compared), ${tally.errors} refused by the parser (${tally.errorTokens} naming a token we compared), ${tally.disagreements} disagreements`));

// ------------------------------------------------------------------ generators

const space = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom(' ', '\n', '\t', '\r', '\f', '\v', '\r\n') },
  { weight: 1, arbitrary: fc.constantFrom('\u00A0', '\uFEFF', '\u2000', '\u3000') },
  { weight: 3, arbitrary: fc.constantFrom('/* c */', '/* a /* probe(90) */ probe(91) */', '/**/', '/* /* */ */', '-- probe(92)\n', '--x\r', '-- y\r\n', '/*/ probe(93) */') },
);
const gap = fc.array(space, { maxLength: 3 }).map((a) => a.join(''));
const pieces = (list: string[]): fc.Arbitrary<string> => fc.array(fc.constantFrom(...list), { maxLength: 6 }).map((a) => a.join(''));

const COMMON = ['x', 'é', '😀', ' ', '"', '""', '$$', '$a$', '$b', '--', '/*', '*/', ';', 'probe(94)', '\n', '\r', '$1'];
const plain = pieces([...COMMON, "''", '\\']).map((s) => `'${s}'`);
const escaped = pieces([...COMMON, "''", '\\\\', "\\'", '\\n', "\\\\'"]).map((s) => `${s.length % 2 ? 'E' : 'e'}'${s}'`);
const unicode = pieces([...COMMON, "''"]).map((s) => `U&'${s}'`);
const dollar = fc
  .tuple(fc.constantFrom('', 'a', 'A', '_é', 'tag1'), pieces([...COMMON, "'", '$A$', '$a', '$tag$', '$$$']))
  .map(([tag, body]) => `$${tag}$${body.split(`$${tag}$`).join('')}$${tag}$`);
const quotedName = pieces([...COMMON.filter((x) => x !== '"'), "'"]).filter((s) => s.replace(/""/g, '').length > 0 || s.length > 0).map((s) => `"${s || 'x'}"`);
const unicodeName = pieces(['x', 'é', "'", '""', 'probe(95)', ' ']).map((s) => `U&"${s || 'x'}"`);
const alias = fc.oneof(quotedName, unicodeName, fc.constantFrom('é', 'x\u00A0y', 'a$b', '_x', 'ẞ', 'a\uFEFFb', 'K', 'probe', 'x$1'));

const item = (k: number): fc.Arbitrary<string> =>
  fc.tuple(
    fc.oneof(
      { weight: 6, arbitrary: fc.constant(`probe(${k})`) },
      { weight: 1, arbitrary: fc.constantFrom(`PROBE(${k})`, `probe (${k})`, `"probe"(${k})`, `probe\u00A0(${k})`) },
      { weight: 2, arbitrary: plain },
      { weight: 2, arbitrary: escaped },
      { weight: 1, arbitrary: unicode },
      { weight: 2, arbitrary: dollar },
      { weight: 1, arbitrary: fc.tuple(fc.oneof(plain, escaped, unicode, fc.constantFrom("B'01'", "X'1F'")), fc.constantFrom('\n', ' \r', '\n\v', ' ', '/**/\n', ' \f\n '), fc.oneof(plain, escaped)).map(([a, sep, b]) => a + sep + b) },
      { weight: 1, arbitrary: fc.constantFrom('$1', '$2', '$10', '1', '1.5', '.5', '1e3', '0x1F', '1_000', '0b101', '0o17', "B'01'", "X'1F'", "N'x'") },
    ),
    fc.option(fc.tuple(gap, alias), { nil: undefined }),
  ).map(([expr, as]) => (as ? `${expr} AS${as[0] || ' '}${as[1]}` : expr));

const statement = fc.array(fc.tuple(gap, fc.constantFrom('', ' ', '/**/', '\r')), { minLength: 1, maxLength: 5 }).chain((parts) =>
  fc.tuple(...parts.map((_, i) => item(i + 1))).map((items) => `SELECT ${items.map((it, i) => `${parts[i][0]}${it}${i < items.length - 1 ? parts[i][1] + ',' : ''}`).join('')}`),
);
const script = fc
  .tuple(gap, fc.array(fc.tuple(statement, fc.constantFrom(';', ';;', '; ', ';\n', ' -- end\n;')), { minLength: 1, maxLength: 2 }), gap)
  .map(([lead, stmts, tail]) => lead + stmts.map(([s, end], i) => s + (i < stmts.length - 1 ? end : '')).join('') + tail);

// ------------------------------------------------------------------ oracles

type Json = Record<string, unknown>;

/** Calls `probe(k)` and ParamRef numbers found anywhere in a parse tree. */
function walk(node: unknown, out: { probes: number[]; params: number[] }): void {
  if (Array.isArray(node)) return node.forEach((n) => walk(n, out));
  if (typeof node !== 'object' || node === null) return;
  const o = node as Json;
  const call = o.FuncCall as Json | undefined;
  if (call) {
    const names = (call.funcname as Json[]).map((n) => (n.String as Json).sval);
    const arg = ((call.args as Json[] | undefined)?.[0]?.A_Const as Json | undefined)?.ival as Json | undefined;
    if (names.at(-1) === 'probe' && arg) out.probes.push(Number(arg.ival ?? 0));
  }
  const param = o.ParamRef as Json | undefined;
  if (param) out.params.push(Number(param.number));
  for (const v of Object.values(o)) walk(v, out);
}

const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

function byLexer(sql: string): { probes: number[]; params: number[] } {
  const sig = significantTokens(tokenize(sql, 'postgres'));
  const probes: number[] = [];
  for (let i = 0; i + 3 < sig.length; i++) {
    const [w, open, n, close] = sig.slice(i, i + 4);
    const named = (w.kind === 'word' && asciiLower(w.text) === 'probe') || (w.kind === 'quoted_ident' && w.text === '"probe"');
    if (named && open.text === '(' && n.kind === 'number' && close.text === ')') probes.push(Number(n.text));
  }
  const params = sig.filter((t) => t.kind === 'placeholder').map((t) => Number(t.text.slice(1)));
  return { probes, params };
}

const sorted = (a: number[]): number[] => [...a].sort((x, y) => x - y);

type Parsed = { ok: true; stmts: unknown[] } | { ok: false; message: string };

function parseHere(sql: string): Parsed {
  try {
    return { ok: true, stmts: (parseSync(sql) as { stmts?: unknown[] }).stmts ?? [] };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

/** Where our lexer and the parse differ, or null. */
function disagreement(sql: string, parsed: Parsed): string | null {
  if (!parsed.ok) {
    const m = /^syntax error at or near "(.*)"$/s.exec(parsed.message);
    if (m && !tokenize(sql, 'postgres').some((t) => t.text === m[1])) return `${parsed.message}: no such token of ours`;
    return null;
  }
  const engine = { probes: [] as number[], params: [] as number[] };
  walk(parsed.stmts, engine);
  const ours = byLexer(sql);
  const same = (a: number[], b: number[]): boolean => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
  if (!same(ours.probes, engine.probes)) return `probes: ours ${sorted(ours.probes)}, PostgreSQL ${sorted(engine.probes)}`;
  if (!same(ours.params, engine.params)) return `$n: ours ${sorted(ours.params)}, PostgreSQL ${sorted(engine.params)}`;
  const count = countStatements(sql, 'postgres');
  if (count !== parsed.stmts.length) return `statements: ours ${count}, PostgreSQL ${parsed.stmts.length}`;
  return null;
}

/** Non-ASCII shown escaped, so a failure names invisible characters (U+2000 looks like a space). */
const visible = (sql: string): string => JSON.stringify(sql).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function compare(sql: string): void {
  tally.inputs++;
  const parsed = parseHere(sql);
  if (parsed.ok) tally.parsed++;
  else {
    tally.errors++;
    if (/^syntax error at or near/.test(parsed.message)) tally.errorTokens++;
  }
  expect(disagreement(sql, parsed), visible(sql)).toBeNull();
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

describe('the PostgreSQL lexer agrees with libpg-query', () => {
  it('continues a string across a newline and `--` comments, as the PostgreSQL 15 server does', () => {
    // psql against the PG 15 server: SELECT 'a' -- c\n'b' gives 'ab'. libpg-query (PG 17) no
    // longer allows the comment there and refuses the text, which fails closed.
    const strings = (sql: string): string[] => tokenize(sql, 'postgres').filter((t) => t.kind === 'string').map((t) => t.text);
    expect(strings("SELECT 'a' -- c\n'b'")).toEqual(["'a' -- c\n'b'"]);
    expect(strings("SELECT E'a'\n'\\'' AS x")).toEqual(["E'a'\n'\\''"]);
    expect(strings("SELECT 'a' '?'")).toEqual(["'a'", "'?'"]);
  });

  it('on generated scripts (probes, $n parameters, statement count, error tokens)', () => {
    fc.assert(fc.property(script, (sql) => counted(sql)), { numRuns: RUNS, seed: Number(process.env.LEXER_SEED ?? 1415) });
  });

  it('on the inputs that once disagreed', () => {
    for (const sql of ["SELECT E'a'\n'\\'', probe(7)", "SELECT X'1F'\n'ab', probe(9)", 'SELECT 1 --x\r, probe(1)', "SELECT E'\\'', probe(2)", "SELECT $a$ ' $a$, probe(3)", 'SELECT /* /* */ probe(4) */ probe(5)', "SELECT 'a\\', probe(6)"]) compare(sql);
  });
});
