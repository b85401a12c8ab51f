/**
 * Pure SQL text utilities shared by every dialect: statement boundaries,
 * leading keywords, one placeholder syntax for agents on all backends, and
 * JSON-safe result values. What differs per backend comes in as its module's
 * SqlSupport (`module.sql`: its lexer and rules). No driver imports: everything
 * here is testable without a database.
 */
import { DbError } from '../errors.js';
import type { PlaceholderRules, SqlSupport } from './backends/contract/sql.js';
import { significantTokens, tokensFor, type Lexed, type Token } from './sql-lexer.js';

export { significantTokens, type Lexed, type Token } from './sql-lexer.js';

/** The tokens of `sql` as the backend reads it. */
export function tokenize(sql: string, flavor: SqlSupport): Token[] {
  return flavor.lexer.tokenize(sql);
}

// ---------------------------------------------------------------- statements

const ROUTINES = new Set(['FUNCTION', 'PROCEDURE', 'TRIGGER', 'EVENT']);
// `END IF` and friends close blocks we never counted as opened.
const UNCOUNTED_ENDS = new Set(['IF', 'LOOP', 'WHILE', 'REPEAT']);

/**
 * Tracks BEGIN ... END bodies (SQLite triggers, MySQL routines, PostgreSQL
 * BEGIN ATOMIC), whose `;` do not end the statement. Only a CREATE of a
 * routine opens one, so a stray BEGIN elsewhere cannot hide a `;`.
 */
interface Block {
  first: string | null;
  routine: boolean;
  paren: boolean;
  depth: number;
  pendingEnd: boolean;
}

const newBlock = (): Block => ({ first: null, routine: false, paren: false, depth: 0, pendingEnd: false });
const insideBlock = (b: Block): boolean => b.depth - (b.pendingEnd ? 1 : 0) > 0;

function seeBlockToken(b: Block, t: Token): void {
  if (t.kind === 'whitespace' || t.kind === 'comment') return;
  const w = t.kind === 'word' ? t.text.toUpperCase() : null;
  if (b.pendingEnd) {
    b.pendingEnd = false;
    if (w !== null && UNCOUNTED_ENDS.has(w)) return;
    b.depth--;
    if (w === 'CASE') return;
  }
  if (w === null) {
    if (t.text === '(') b.paren = true;
    return;
  }
  if (b.first === null) b.first = w;
  else if (b.first !== 'CREATE') return;
  else if (!b.routine) b.routine = !b.paren && ROUTINES.has(w);
  else if (w === 'BEGIN' || w === 'CASE') b.depth++;
  else if (w === 'END' && b.depth > 0) b.pendingEnd = true;
}

interface DelimiterCommand {
  delimiter: string;
  /** Offset just past the DELIMITER line. */
  next: number;
}

/**
 * Walks tokens, calling `emit` with the offsets of each statement that has
 * something besides whitespace and comments. With `delimiterCommands` (mysql
 * scripts) it stops at a `DELIMITER xx` line that starts a statement.
 */
function walkStatements(
  s: string,
  tokens: readonly Token[],
  delim: string,
  delimiterCommands: boolean,
  emit: (start: number, end: number) => void,
): DelimiterCommand | null {
  let start = 0;
  let blank = true;
  let block = newBlock();
  const cut = (at: number, next: number): void => {
    if (!blank) emit(start, at);
    start = next;
    blank = true;
    block = newBlock();
  };
  for (const t of tokens) {
    if (t.end <= start) continue;
    if (blank && delimiterCommands && isDelimiterCommand(s, t)) return readDelimiter(s, t);
    if (delim === ';') {
      if (t.kind === 'punct' && t.text === ';' && !insideBlock(block)) cut(t.start, t.end);
      else seeBlockToken(block, t);
    } else if (!PROTECTED.has(t.kind)) {
      // A custom delimiter (`//`, `$$`) may span or split tokens: match it on characters.
      for (let p = Math.max(t.start, start); p < t.end; p = Math.max(p + 1, start)) {
        if (s.startsWith(delim, p)) cut(p, p + delim.length);
      }
    }
    if (t.end > start && t.kind !== 'whitespace' && t.kind !== 'comment') blank = false;
  }
  cut(s.length, s.length);
  return null;
}

const PROTECTED = new Set<Token['kind']>(['string', 'quoted_ident', 'comment', 'conditional_comment']);

function isDelimiterCommand(s: string, t: Token): boolean {
  if (t.kind !== 'word' || t.text.toUpperCase() !== 'DELIMITER') return false;
  const lineStart = s.lastIndexOf('\n', t.start - 1) + 1;
  return /^[ \t]*$/.test(s.slice(lineStart, t.start));
}

function readDelimiter(s: string, t: Token): DelimiterCommand {
  const nl = s.indexOf('\n', t.end);
  const next = nl === -1 ? s.length : nl + 1;
  const delimiter = s.slice(t.end, next).trim().split(/\s+/)[0];
  if (!delimiter) throw new DbError('INVALID_INPUT', 'DELIMITER needs a value (e.g. DELIMITER //)', { offset: t.start });
  return { delimiter, next };
}

/** Statements in already-lexed SQL (for callers that lex it their own way first). */
export function countStatementsIn(tokens: readonly Token[]): number {
  let n = 0;
  walkStatements('', tokens, ';', false, () => n++);
  return n;
}

/**
 * Non-empty statements separated by top-level `;`. Agent SQL must be exactly
 * one: this is how `SELECT 1; DROP TABLE t` is caught before a driver sees it.
 */
export function countStatements(sql: string, flavor: SqlSupport): number {
  return countStatementsIn(flavor.lexer.tokenize(sql));
}

/**
 * The first `n` words upper-cased, skipping whitespace, comments and `(`; it
 * stops early at anything else (a `*`, a string, a `;`), so every keyword
 * returned leads the statement.
 */
export function leadingKeywords(sql: string, flavor: SqlSupport, n: number, lexed?: Lexed): string[] {
  const out: string[] = [];
  for (const t of significantTokens(tokensFor(sql, flavor.lexer, lexed))) {
    if (out.length >= n) break;
    if (t.kind === 'word') out.push(t.text.toUpperCase());
    else if (t.kind !== 'punct' || t.text !== '(') break;
  }
  return out;
}

/**
 * Splits a TRUSTED multi-statement script (a migration file). Respects
 * strings, comments, dollar quotes, BEGIN ... END routine bodies and mysql
 * `DELIMITER` lines (which are client commands, never sent). Statements come
 * back trimmed, without their delimiter; comment-only ones are dropped.
 */
export function splitStatements(sql: string, flavor: SqlSupport): string[] {
  const s = sql.replace(/^\uFEFF/, '');
  const out: string[] = [];
  let delim = ';';
  let from = 0;
  for (;;) {
    const seg = s.slice(from);
    const emit = (a: number, b: number): void => void out.push(seg.slice(a, b).trim());
    const command = walkStatements(seg, flavor.lexer.tokenize(seg), delim, flavor.delimiterCommands, emit);
    if (!command) return out;
    delim = command.delimiter;
    from += command.next;
  }
}

// -------------------------------------------------------------- placeholders

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The driver's own numbered placeholder, `$1`. */
const NUMBERED = /^\$\d+$/;

interface Site {
  kind: 'positional' | 'named' | 'numbered' | 'native';
  start: number;
  end: number;
  /** Name for named sites, the number for numbered ones, the text for native ones. */
  key: string;
}

/** Placeholder sites outside strings, identifiers and comments. */
function findSites(tokens: readonly Token[], rules: PlaceholderRules, questionMarks: boolean): Site[] {
  const sites: Site[] = [];
  const brackets: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === 'punct' && '([)]'.includes(t.text)) {
      if ('(['.includes(t.text)) brackets.push(t.text);
      else brackets.pop();
    }
    const site = siteAt(tokens, i, rules, questionMarks, brackets.at(-1) === '[');
    if (site) sites.push(site);
  }
  return sites;
}

/**
 * The site a token starts, if any. `questionMarks`: a `?` operator token stands for a
 * value too (PlaceholderRules.questionMarkOperator with an array of params).
 */
function siteAt(tokens: readonly Token[], i: number, rules: PlaceholderRules, questionMarks: boolean, inBrackets: boolean): Site | null {
  const t = tokens[i];
  const site = (kind: Site['kind'], key: string, end = t.end): Site => ({ kind, start: t.start, end, key });
  if (t.text === '?' && (t.kind === 'placeholder' || (questionMarks && t.kind === 'operator'))) return site('positional', '?');
  if (t.kind === 'placeholder') {
    if (rules.numbered && NUMBERED.test(t.text)) return site('numbered', t.text.slice(1));
    const name = t.text.slice(1);
    return t.text[0] === ':' && NAME.test(name) ? site('named', name) : site('native', t.text);
  }
  // PostgreSQL and MySQL have no `:name` of their own: it is `:` glued to a word. Where
  // `arr[lo:hi]` is a slice (PostgreSQL), a `:` directly inside brackets is left alone.
  const next = tokens[i + 1];
  if (t.kind !== 'punct' || t.text !== ':' || !next || next.kind !== 'word' || next.start !== t.end) return null;
  if (!NAME.test(next.text) || (rules.bracketSlices && inBrackets)) return null;
  return site('named', next.text, next.end);
}

function invalid(message: string, details: Record<string, unknown> = {}): DbError {
  return new DbError('INVALID_INPUT', message, details);
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A JSON object: not null, not an array. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * One placeholder syntax for agents on every backend: `?` bound in order from
 * an array, or `:name` bound from an object. A backend whose driver numbers its
 * placeholders (PostgreSQL) gets `$1..$n` (a repeated name reuses its number);
 * the others (MySQL, SQLite) get `?` (a repeated name repeats its value). Where
 * `?` is also an operator (PostgreSQL's jsonb `?`) it is only a placeholder when
 * params is a non-empty array; otherwise it is left alone (with named params,
 * `data ? :key` works). Text already using `$1` with an array passes through.
 * `lexed`: the tokens of `sql`, when the caller has them. Throws INVALID_INPUT
 * naming the exact mismatch.
 */
export function translatePlaceholders(
  sql: string,
  params: unknown[] | Record<string, unknown> | undefined,
  flavor: SqlSupport,
  lexed?: Lexed,
): { text: string; values: unknown[] } {
  if (params != null && !Array.isArray(params) && !isRecord(params)) throw invalid('params must be an array (for ?) or an object (for :name)');
  const rules = flavor.placeholders;
  const questionMarks = !rules.questionMarkOperator || (Array.isArray(params) && params.length > 0);
  const sites = findSites(tokensFor(sql, flavor.lexer, lexed), rules, questionMarks);
  const of = (kind: Site['kind']): Site[] => sites.filter((s) => s.kind === kind);
  const [positional, named, numbered, native] = [of('positional'), of('named'), of('numbered'), of('native')];
  if (native.length > 0) {
    const placeholder = native[0].key;
    throw invalid(`placeholder ${placeholder} is not supported: use ? with an array of params, or :name with an object`, { placeholder });
  }
  if ([positional, named, numbered].filter((l) => l.length > 0).length > 1) {
    throw invalid('query mixes placeholder styles: use either ? (params as an array) or :name (params as an object)');
  }
  if (numbered.length > 0) return passNumbered(sql, params, numbered);
  if (named.length > 0 || (isRecord(params) && Object.keys(params).length > 0)) return bindNamed(sql, params, named, rules.numbered);
  return bindPositional(sql, params, positional, rules.numbered);
}

function passNumbered(sql: string, params: unknown, sites: Site[]): { text: string; values: unknown[] } {
  if (isRecord(params) && Object.keys(params).length > 0) throw invalid('query uses $1-style placeholders: pass params as an array');
  const values = Array.isArray(params) ? params : [];
  const highest = Math.max(...sites.map((s) => Number(s.key)));
  if (highest !== values.length) {
    throw invalid(`query uses placeholders up to $${highest} but ${plural(values.length, 'param')} ${values.length === 1 ? 'was' : 'were'} given`, {
      placeholders: highest,
      params: values.length,
    });
  }
  return { text: sql, values };
}

function bindPositional(sql: string, params: unknown, sites: Site[], numbered: boolean): { text: string; values: unknown[] } {
  const values = Array.isArray(params) ? params : [];
  if (sites.length !== values.length) {
    const given = `${plural(values.length, 'param')} ${values.length === 1 ? 'was' : 'were'} given`;
    throw invalid(`query has ${plural(sites.length, '? placeholder')} but ${given}`, { placeholders: sites.length, params: values.length });
  }
  if (sites.length === 0 || !numbered) return { text: sql, values };
  return { text: rewrite(sql, sites.map((s, i) => ({ ...s, text: `$${i + 1}` }))), values };
}

function bindNamed(sql: string, params: unknown, sites: Site[], numbered: boolean): { text: string; values: unknown[] } {
  if (Array.isArray(params) && params.length > 0) throw invalid('query uses :name placeholders but params is an array: pass an object');
  const given = isRecord(params) ? params : {};
  const used = [...new Set(sites.map((s) => s.key))];
  const missing = used.filter((name) => !Object.hasOwn(given, name));
  if (missing.length > 0) throw invalid(`no value given for ${missing.map((n) => ':' + n).join(', ')}`, { missing });
  const unused = Object.keys(given).filter((k) => !used.includes(k));
  if (unused.length > 0) {
    const list = unused.map((k) => `"${k}"`).join(', ');
    throw invalid(`param ${list} ${unused.length === 1 ? 'is' : 'are'} not used by the query (a typo?)`, { unused });
  }
  if (!numbered) {
    return { text: rewrite(sql, sites.map((s) => ({ ...s, text: '?' }))), values: sites.map((s) => given[s.key]) };
  }
  const texts = sites.map((s) => `$${used.indexOf(s.key) + 1}`);
  return { text: rewrite(sql, sites.map((s, i) => ({ ...s, text: texts[i] }))), values: used.map((n) => given[n]) };
}

const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uFFFF]/;

/** Replaces sites, padding with a space where `$1` would otherwise glue onto a word. */
function rewrite(sql: string, edits: Array<{ start: number; end: number; text: string }>): string {
  let out = '';
  let at = 0;
  for (const e of edits) {
    const before = IDENT_CHAR.test(sql[e.start - 1] ?? '') ? ' ' : '';
    const after = IDENT_CHAR.test(sql[e.end] ?? '') ? ' ' : '';
    out += sql.slice(at, e.start) + before + e.text + after;
    at = e.end;
  }
  return out + sql.slice(at);
}

// ------------------------------------------------------------------- values

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A JSON-safe copy of a driver value, run on every result cell: bigint as a
 * number when exact, else a decimal string; bytes as base64; dates as ISO
 * 8601; NaN and infinities as strings; undefined as null (so a row never
 * loses a column). An invalid Date becomes `String(date)` ("Invalid Date"):
 * the original text (e.g. PostgreSQL 'infinity') is already gone by then, and
 * null would claim the database held NULL. Read such columns as text instead.
 */
export function toJsonValue(v: unknown): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'bigint':
      return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v.toString();
    case 'undefined':
      return null;
    case 'object':
      return v === null ? null : objectToJson(v);
    default:
      return v;
  }
}

function objectToJson(v: object): unknown {
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (v instanceof ArrayBuffer) return Buffer.from(v).toString('base64');
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = toJsonValue(x);
  return out;
}

/** UTF-8 bytes of the value's JSON text, for result caps; raw driver values are converted first if needed. */
export function jsonByteLength(v: unknown): number {
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch {
    text = JSON.stringify(toJsonValue(v));
  }
  return text === undefined ? 0 : Buffer.byteLength(text, 'utf8');
}

/** A number only when it prints back to the same text (int8, numeric, DECIMAL); otherwise the exact text. */
export function exactNumber(text: string): number | string {
  const n = Number(text);
  return String(n) === text ? n : text;
}
