/**
 * A flavour-aware SQL lexer: just enough of each server's grammar to know where
 * strings, identifiers, comments and placeholders begin and end. It never
 * throws: unterminated input becomes one token running to the end, which the
 * server would reject anyway and which hides nothing from a classifier, since
 * everything after it is inside that token.
 */

import { lexSqlite } from './backends/sqlite/lexer.js';

export type SqlFlavor = 'postgres' | 'mysql' | 'sqlite';

export interface Token {
  /**
   * `conditional_comment` is MySQL's `/*! ... *\/` and `/*M! ... *\/`: the server
   * executes its content, so it is significant, unlike `comment`. PostgreSQL's
   * `?` (a jsonb operator there) is an `operator`; on MySQL and SQLite it is a
   * `placeholder`.
   */
  kind:
    | 'word'
    | 'quoted_ident'
    | 'string'
    | 'number'
    | 'placeholder'
    | 'operator'
    | 'punct'
    | 'comment'
    | 'conditional_comment'
    | 'whitespace';
  text: string;
  /** Offset of the first character in the input (UTF-16 code units). */
  start: number;
  /** Offset just past the last character. */
  end: number;
}

/**
 * How a MySQL server reads quotes. It depends on its sql_mode, which a
 * classifier cannot see, so read-only checks lex the text every possible way.
 */
export interface MysqlQuoting {
  /** Backslash escapes in strings; false under NO_BACKSLASH_ESCAPES. */
  backslashEscapes: boolean;
  /** `"..."` is an identifier (ANSI_QUOTES), not a string. */
  ansiQuotes: boolean;
}

type Kind = Token['kind'];
type Scan = [Kind, number] | null;

interface Lexer {
  s: string;
  flavor: SqlFlavor;
  quoting: MysqlQuoting;
}

/** The server defaults: backslash escapes on, `"` quotes strings. */
export const MYSQL_DEFAULT_QUOTING: MysqlQuoting = { backslashEscapes: true, ansiQuotes: false };

export function tokenize(sql: string, flavor: SqlFlavor): Token[] {
  return lex({ s: sql, flavor, quoting: MYSQL_DEFAULT_QUOTING });
}

/** MySQL tokens as a server with the given sql_mode quoting would see them. */
export function tokenizeMysql(sql: string, quoting: MysqlQuoting): Token[] {
  return lex({ s: sql, flavor: 'mysql', quoting });
}

/** Everything but whitespace and plain comments; conditional comments run, so they stay. */
export function significantTokens(tokens: Token[]): Token[] {
  return tokens.filter((t) => t.kind !== 'whitespace' && t.kind !== 'comment');
}

function lex(lx: Lexer): Token[] {
  // SQLite gets a transcription of its own tokenizer (byte classes, BOM, variables).
  if (lx.flavor === 'sqlite') return lexSqlite(lx.s);
  const out: Token[] = [];
  let i = 0;
  while (i < lx.s.length) {
    const [kind, end] = scanToken(lx, i);
    out.push({ kind, text: lx.s.slice(i, end), start: i, end });
    i = end;
  }
  return out;
}

function scanToken(lx: Lexer, i: number): [Kind, number] {
  return (
    scanSpace(lx.s, i) ??
    scanComment(lx, i) ??
    scanQuoted(lx, i) ??
    scanNumber(lx, i) ??
    scanWord(lx, i) ??
    scanPlaceholder(lx, i) ??
    scanOperator(lx, i)
  );
}

const SPACE = new Set([' ', '\t', '\n', '\r', '\f', '\v']);

function scanSpace(s: string, i: number): Scan {
  let j = i;
  while (j < s.length && SPACE.has(s[j])) j++;
  return j > i ? ['whitespace', j] : null;
}

function lineEnd(s: string, from: number): number {
  const nl = s.indexOf('\n', from);
  return nl === -1 ? s.length : nl;
}

/** PostgreSQL's `--` comment stops at a carriage return too (scan.l: non_newline is [^\n\r]). */
function pgLineEnd(s: string, from: number): number {
  let j = from;
  while (j < s.length && s[j] !== '\n' && s[j] !== '\r') j++;
  return j;
}

function scanComment(lx: Lexer, i: number): Scan {
  const { s, flavor } = lx;
  if (s.startsWith('--', i)) {
    // MySQL reads `1--1` as 1 - (-1): its `--` comment needs a space or control character after it.
    const after = s.charCodeAt(i + 2);
    if (flavor === 'postgres') return ['comment', pgLineEnd(s, i)];
    if (Number.isNaN(after) || after <= 32) return ['comment', lineEnd(s, i)];
    return null;
  }
  if (s[i] === '#' && flavor === 'mysql') return ['comment', lineEnd(s, i)];
  if (!s.startsWith('/*', i)) return null;
  if (flavor === 'postgres') return ['comment', nestedCommentEnd(s, i)];
  const close = s.indexOf('*/', i + 2);
  const end = close === -1 ? s.length : close + 2;
  const conditional = flavor === 'mysql' && (s[i + 2] === '!' || (/[Mm]/.test(s[i + 2] ?? '') && s[i + 3] === '!'));
  return [conditional ? 'conditional_comment' : 'comment', end];
}

function nestedCommentEnd(s: string, i: number): number {
  let depth = 0;
  let j = i;
  while (j < s.length) {
    if (s.startsWith('/*', j)) {
      depth++;
      j += 2;
    } else if (s.startsWith('*/', j)) {
      depth--;
      j += 2;
      if (depth === 0) return j;
    } else j++;
  }
  return s.length;
}

/** End of a quoted run opened just before `from`: a doubled quote is an escaped quote. */
export function quoteEnd(s: string, from: number, quote: string, backslash: boolean): number {
  let j = from;
  while (j < s.length) {
    const ch = s[j];
    if (backslash && ch === '\\') j += 2;
    else if (ch !== quote) j++;
    else if (s[j + 1] === quote) j += 2;
    else return j + 1;
  }
  return s.length;
}

function scanQuoted(lx: Lexer, i: number): Scan {
  if (lx.flavor === 'postgres') return scanPgQuoted(lx.s, i);
  return scanMysqlQuoted(lx, i);
}

const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uFFFF][A-Za-z0-9_\u0080-\uFFFF]*)?\$/y;

/** How the body of a PostgreSQL string is read: `''` doubling, backslash escapes, or neither (bit strings). */
type PgQuoting = 'standard' | 'escape' | 'bits';

function scanPgQuoted(s: string, i: number): Scan {
  const ch = s[i];
  const next = s[i + 1];
  if (ch === "'") return ['string', pgStringEnd(s, i + 1, 'standard')];
  if (ch === '"') return ['quoted_ident', quoteEnd(s, i + 1, '"', false)];
  if (next === "'") {
    // E'…' (backslash escapes), B'…' / X'…' (bit strings: no escapes at all). N'…' is the
    // keyword NCHAR then a plain string, as PostgreSQL's scanner returns it.
    if (ch === 'E' || ch === 'e') return ['string', pgStringEnd(s, i + 2, 'escape')];
    if ('BbXx'.includes(ch)) return ['string', pgStringEnd(s, i + 2, 'bits')];
  }
  if ((ch === 'U' || ch === 'u') && next === '&') {
    if (s[i + 2] === "'") return ['string', pgStringEnd(s, i + 3, 'standard')];
    if (s[i + 2] === '"') return ['quoted_ident', quoteEnd(s, i + 3, '"', false)];
    return null;
  }
  if (ch !== '$') return null;
  DOLLAR_TAG.lastIndex = i;
  const m = DOLLAR_TAG.exec(s);
  if (!m) return null;
  const close = s.indexOf(m[0], i + m[0].length);
  return ['string', close === -1 ? s.length : close + m[0].length];
}

/**
 * End of a PostgreSQL string whose body starts at `from`. A string followed by
 * whitespace holding a newline (and `--` comments) and another quote continues there,
 * read the same way: `E'a'` newline `'\''` is one escape string (scan.l, quotecontinue).
 */
function pgStringEnd(s: string, from: number, quoting: PgQuoting): number {
  for (;;) {
    const end = quoting === 'bits' ? bitStringEnd(s, from) : quoteEnd(s, from, "'", quoting === 'escape');
    if (end >= s.length) return end;
    let j = end;
    let newline = false;
    for (; j < s.length; j++) {
      if (s.startsWith('--', j)) j = pgLineEnd(s, j) - 1;
      else if (!SPACE.has(s[j])) break;
      else if (s[j] === '\n' || s[j] === '\r') newline = true;
    }
    if (!newline || s[j] !== "'") return end;
    from = j + 1;
  }
}

function bitStringEnd(s: string, from: number): number {
  const close = s.indexOf("'", from);
  return close === -1 ? s.length : close + 1;
}

function scanMysqlQuoted(lx: Lexer, i: number): Scan {
  const { s, quoting } = lx;
  const ch = s[i];
  if (ch === '`') return ['quoted_ident', quoteEnd(s, i + 1, '`', false)];
  if (ch === '"' && quoting.ansiQuotes) return ['quoted_ident', quoteEnd(s, i + 1, '"', false)];
  if (ch === "'" || ch === '"') return ['string', quoteEnd(s, i + 1, ch, quoting.backslashEscapes)];
  return null;
}

const NUMBER = /0[xX][0-9A-Fa-f_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?/y;
const MYSQL_NUMBER = /0x[0-9A-Fa-f]+|0b[01]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uFFFF]/;
const IDENT_REST = /[A-Za-z0-9_$\u0080-\uFFFF]*/y;

function scanNumber(lx: Lexer, i: number): Scan {
  const re = lx.flavor === 'mysql' ? MYSQL_NUMBER : NUMBER;
  re.lastIndex = i;
  const m = re.exec(lx.s);
  if (!m) return null;
  const end = i + m[0].length;
  // MySQL identifiers may start with digits (`1abc`, `0x1g`): one word, not a number and a word.
  if (lx.flavor === 'mysql' && !m[0].includes('.') && IDENT_CHAR.test(lx.s[end] ?? '')) {
    IDENT_REST.lastIndex = end;
    return ['word', end + IDENT_REST.exec(lx.s)![0].length];
  }
  return ['number', end];
}

const WORD = /[A-Za-z_\u0080-\uFFFF][A-Za-z0-9_$\u0080-\uFFFF]*/y;
// MySQL: `$` may start an identifier; `@var`, `@@session.var` are variables (dots included).
const MYSQL_WORD = /@@?[A-Za-z0-9_$.\u0080-\uFFFF]+|[A-Za-z_$\u0080-\uFFFF][A-Za-z0-9_$\u0080-\uFFFF]*/y;

function scanWord(lx: Lexer, i: number): Scan {
  const re = lx.flavor === 'mysql' ? MYSQL_WORD : WORD;
  re.lastIndex = i;
  const m = re.exec(lx.s);
  return m ? ['word', i + m[0].length] : null;
}

const PG_PARAM = /\$\d+/y;

function scanPlaceholder(lx: Lexer, i: number): Scan {
  if (lx.flavor === 'mysql') return lx.s[i] === '?' ? ['placeholder', i + 1] : null;
  PG_PARAM.lastIndex = i;
  const m = PG_PARAM.exec(lx.s);
  return m ? ['placeholder', i + m[0].length] : null;
}

const OPERATOR_CHARS = '+-*/%<>=!~&|^';
const MYSQL_OPS = ['<=>', '->>', '<=', '>=', '<>', '!=', '||', '&&', '<<', '>>', ':=', '->'];

function scanOperator(lx: Lexer, i: number): [Kind, number] {
  const s = lx.s;
  if (lx.flavor === 'postgres') {
    const end = pgOperatorEnd(s, i);
    if (end > i) return ['operator', end];
  } else {
    const multi = MYSQL_OPS.find((op) => s.startsWith(op, i));
    if (multi) return ['operator', i + multi.length];
    if (OPERATOR_CHARS.includes(s[i])) return ['operator', i + 1];
  }
  // Anything else is one character of punctuation: ( ) , ; . [ ] : and strays.
  return ['punct', i + 1];
}

const PG_OPERATOR_CHARS = '+-*/<>=~!@#%^&|`';

/** PostgreSQL operators are any run of operator characters, with a few rules of its lexer. */
function pgOperatorEnd(s: string, i: number): number {
  if (s.startsWith('::', i)) return i + 2;
  // `?` stands alone so `x=?` keeps its placeholder; `?|`, `?&` and `@?` are jsonb operators.
  if (s[i] === '?') return i + (s[i + 1] === '&' || (s[i + 1] === '|' && s[i + 2] !== '|') ? 2 : 1);
  if (s.startsWith('@?', i)) return i + 2;
  let j = i;
  while (j < s.length && PG_OPERATOR_CHARS.includes(s[j]) && !s.startsWith('--', j) && !s.startsWith('/*', j)) j++;
  // `=-1` is `=` then `-1`: a multi-character operator may not end in + or - unless it has one of these.
  const op = s.slice(i, j);
  if (!/[~!@#%^&|`]/.test(op)) while (j - i > 1 && (s[j - 1] === '+' || s[j - 1] === '-')) j--;
  return j;
}
