/**
 * MySQL/MariaDB tokens as the server's own lexer (MariaDB sql_lex.cc,
 * Lex_input_stream::lex_one_token) reads them, for the classifier. Unlike the
 * plain reading ({@link mysqlLexer}), it reads the inside of executable comments
 * `/*! … *\/`, `/*!NNNNN … *\/`, `/*M! … *\/` as code, the way the server does:
 * strings, quoted names and line comments inside them are lexed normally, so a
 * `'*\/'` inside such a comment does not end it, and only a `*\/` met as code does.
 *
 * Rules followed (MariaDB 10.11):
 * - `/*!` and `/*M!` (upper-case M only) open an executable comment; 5 or 6 digits
 *   right after are a version. A versioned comment runs when the server is recent
 *   enough (MariaDB also skips 50700..99999 for `/*!`), and is otherwise skipped as
 *   a comment that ends at the first `*\/` after at most one nested `/* … *\/`.
 *   MySQL reads `/*M!` as a plain comment. `/*!` below 50700 runs everywhere. Since the server version is not known
 *   here, such a comment must end at the same place under every reading, or the
 *   lexer reports an ambiguity (the classifier refuses the statement).
 * - Plain `/* … *\/` ends at the first `*\/` (no nesting), also inside executable ones.
 * - `--` starts a comment only before a space, a control character or the end;
 *   `#` always; both run to a newline or a NUL.
 * - `'…'` and `"…"` (unless ANSI_QUOTES) strings: doubled quote, and `\` escapes
 *   the next character unless NO_BACKSLASH_ESCAPES. `` `…` `` (and `"…"` under
 *   ANSI_QUOTES): doubled quote only. N'…', X'…', B'…', _charset'…' are a word then a string.
 * - Whitespace is space, \t, \n, \v, \f, \r; every other non-ASCII character
 *   (NBSP, U+FEFF …) is part of an identifier, as in the utf8mb4 state map.
 * - Identifiers may begin with digits (`1abc`, `0x1g`).
 */
import { lineEnd as newlineEnd, quoteEnd, scanAll, scanSpace, SPACE, type Scan, type SqlLexer, type Token } from '../../sql-lexer.js';

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

/** The server defaults: backslash escapes on, `"` quotes strings. */
export const MYSQL_DEFAULT_QUOTING: MysqlQuoting = { backslashEscapes: true, ansiQuotes: false };

/** sql_mode's flags (MariaDB and MySQL 8); the combinations that imply ANSI_QUOTES are marked. */
const SQL_MODE_FLAGS = new Set([
  'REAL_AS_FLOAT', 'PIPES_AS_CONCAT', 'ANSI_QUOTES', 'IGNORE_SPACE', 'IGNORE_BAD_TABLE_OPTIONS', 'ONLY_FULL_GROUP_BY',
  'NO_UNSIGNED_SUBTRACTION', 'NO_DIR_IN_CREATE', 'POSTGRESQL', 'ORACLE', 'MSSQL', 'DB2', 'MAXDB', 'NO_KEY_OPTIONS',
  'NO_TABLE_OPTIONS', 'NO_FIELD_OPTIONS', 'MYSQL323', 'MYSQL40', 'ANSI', 'NO_AUTO_VALUE_ON_ZERO', 'NO_BACKSLASH_ESCAPES',
  'STRICT_TRANS_TABLES', 'STRICT_ALL_TABLES', 'NO_ZERO_IN_DATE', 'NO_ZERO_DATE', 'ALLOW_INVALID_DATES',
  'ERROR_FOR_DIVISION_BY_ZERO', 'TRADITIONAL', 'NO_AUTO_CREATE_USER', 'HIGH_NOT_PRECEDENCE', 'NO_ENGINE_SUBSTITUTION',
  'PAD_CHAR_TO_FULL_LENGTH', 'EMPTY_STRING_IS_NULL', 'SIMULTANEOUS_ASSIGNMENT', 'TIME_ROUND_FRACTIONAL', 'TIME_TRUNCATE_FRACTIONAL',
]);
const ANSI_QUOTING_MODES = new Set(['ANSI_QUOTES', 'ANSI', 'POSTGRESQL', 'ORACLE', 'MSSQL', 'DB2', 'MAXDB']);

/**
 * How the server reads quotes under an sql_mode value as a session would be SET to it (a
 * comma list of flag names, any case, empty items skipped); null for anything else (a
 * number, an unknown name, a space around a name, which the server refuses) and for MSSQL,
 * under which the server also reads `[…]` as a name (not modelled here: a `'` inside brackets
 * would start a string for this lexer only).
 */
export function sqlModeQuoting(mode: string): MysqlQuoting | null {
  const items = mode.split(',').filter((f) => f !== '');
  // ASCII only before upper-casing: 'ſ' and 'ı' upper-case to S and I, which the server does not do.
  if (!items.every((f) => /^[A-Za-z0-9_]+$/.test(f))) return null;
  const flags = items.map((f) => f.toUpperCase());
  if (!flags.every((f) => SQL_MODE_FLAGS.has(f)) || flags.includes('MSSQL')) return null;
  return { backslashEscapes: !flags.includes('NO_BACKSLASH_ESCAPES'), ansiQuotes: flags.some((f) => ANSI_QUOTING_MODES.has(f)) };
}

/**
 * The plain reading (module.sql.lexer: placeholders, statement splitting, keywords,
 * fingerprints), under the default quoting: an executable comment is one
 * `conditional_comment` token whose inside is not read, `--` is a comment before a space
 * or a control character, `#` always. The classifier reads closer to the server ({@link lexMysql}).
 */
export const mysqlLexer: SqlLexer = { tokenize: (sql) => scanAll(sql, scanPlain) };

function scanPlain(s: string, i: number): [Kind, number] {
  return scanSpace(s, i) ?? plainComment(s, i) ?? scanCode(s, i, MYSQL_DEFAULT_QUOTING);
}

function plainComment(s: string, i: number): Scan {
  if (s.startsWith('--', i)) {
    // MySQL reads `1--1` as 1 - (-1): its `--` comment needs a space or control character after it.
    const after = s.charCodeAt(i + 2);
    return Number.isNaN(after) || after <= 32 ? ['comment', newlineEnd(s, i)] : null;
  }
  if (s[i] === '#') return ['comment', newlineEnd(s, i)];
  if (!s.startsWith('/*', i)) return null;
  const close = s.indexOf('*/', i + 2);
  const end = close === -1 ? s.length : close + 2;
  const conditional = s[i + 2] === '!' || (/[Mm]/.test(s[i + 2] ?? '') && s[i + 3] === '!');
  return [conditional ? 'conditional_comment' : 'comment', end];
}

export interface MysqlLexResult {
  /** Executable comments give a `conditional_comment` token for their opener and one for their closer. */
  tokens: Token[];
  /** Why the statement reads differently depending on the server's version, or null. */
  ambiguity: string | null;
}

type Kind = Token['kind'];
const MYSQL_NUMBER = /0x[0-9A-Fa-f]+|0b[01]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uFFFF]/;
const IDENT_REST = /[A-Za-z0-9_$\u0080-\uFFFF]*/y;
const MYSQL_WORD = /@@?[A-Za-z0-9_$.\u0080-\uFFFF]+|[A-Za-z_$\u0080-\uFFFF][A-Za-z0-9_$\u0080-\uFFFF]*/y;
const MYSQL_OPS = ['<=>', '->>', '<=', '>=', '<>', '!=', '||', '&&', '<<', '>>', ':=', '->'];
const OPERATOR_CHARS = '+-*/%<>=!~&|^';

interface State {
  s: string;
  quoting: MysqlQuoting;
  out: Token[];
  /** Inside an executable comment whose content is being read as code. */
  inExec: boolean;
  /** Where the open executable comment(s) would end if a server skipped them instead. */
  altEnds: number[];
  ambiguity: string | null;
  /** Comment markers of the whole text, built the first time a comment is met. */
  marks?: Marks;
}

export function lexMysql(sql: string, quoting: MysqlQuoting): MysqlLexResult {
  const st: State = { s: sql, quoting, out: [], inExec: false, altEnds: [], ambiguity: null };
  let i = 0;
  while (i < sql.length) {
    const [kind, end] = execMarker(st, i) ?? scan(st, i);
    st.out.push({ kind, text: sql.slice(i, end), start: i, end });
    i = end;
  }
  // Unterminated: the server refuses it (ABORT), unless a skipped reading would close it.
  if (st.inExec && st.altEnds.some((e) => e >= 0)) st.ambiguity ??= ambiguityReason();
  return { tokens: st.out, ambiguity: st.ambiguity };
}

const ambiguityReason = (): string =>
  'a versioned or /*M! comment ends at a different place depending on the server version (a quote or comment inside it hides its end)';

/** The opener `/*!NNNNN` / `/*M!` or the closer `*\/` of an executable comment. */
function execMarker(st: State, i: number): [Kind, number] | null {
  const s = st.s;
  if (st.inExec && s[i] === '*' && s[i + 1] === '/') {
    if (st.altEnds.some((e) => e !== i + 2)) st.ambiguity ??= ambiguityReason();
    st.inExec = false;
    st.altEnds = [];
    return ['conditional_comment', i + 2];
  }
  if (s[i] !== '/' || s[i + 1] !== '*') return null;
  const maria = s[i + 2] === 'M' && s[i + 3] === '!';
  if (s[i + 2] !== '!' && !maria) return null;
  let j = i + (maria ? 4 : 3);
  const digits = /^\d{5}\d?/.exec(s.slice(j, j + 6))?.[0].length ?? 0;
  // MySQL reads /*M! as a plain comment; a versioned comment may be skipped (one nested comment allowed).
  if (maria) st.altEnds.push(consumeComment(st, i + 2, 0));
  // Below 50700 a versioned /*! runs on every server this project supports (MySQL 5.7+, MariaDB 10+).
  if (digits && (maria || Number(s.slice(j, j + digits)) >= 50700)) st.altEnds.push(consumeComment(st, j, 1));
  j += digits;
  st.inExec = true;
  return ['conditional_comment', j];
}

/**
 * sql_lex.cc consume_comment(from, nested): the position just past the `*\/` that ends a
 * comment whose body starts at `from`, or -1 when there is none. With `nested` 1, each
 * `/*` met first opens an inner comment (ending at the next `*\/`) that is skipped.
 * Answers come from sorted marker positions and a memo, so a text with thousands of
 * versioned openers is still lexed in linear time.
 */
function consumeComment(st: State, from: number, nested: 0 | 1): number {
  const m = (st.marks ??= marksOf(st.s));
  if (nested === 0) return closeAt(m, from);
  const heads: number[] = [];
  let j = from;
  let end: number | undefined;
  while (end === undefined) {
    const known = m.memo.get(j);
    if (known !== undefined) end = known;
    else {
      heads.push(j);
      const k = m.either[lowerBound(m.either, j)];
      if (k === undefined) end = -1;
      else if (st.s[k] === '*') end = k + 2;
      else {
        j = closeAt(m, k + 2);
        if (j < 0) end = -1;
      }
    }
  }
  for (const h of heads) m.memo.set(h, end);
  return end;
}

interface Marks {
  /** Positions of every `*\/`. */
  closes: number[];
  /** Positions of every `/*` or `*\/`, as consume_comment meets them reading left to right. */
  either: number[];
  /** consume_comment(…, 1) answers by loop-head position. */
  memo: Map<number, number>;
}

function marksOf(s: string): Marks {
  const closes: number[] = [];
  const either: number[] = [];
  for (let k = 0; k + 1 < s.length; k++) {
    if (s[k] === '*' && s[k + 1] === '/') {
      closes.push(k);
      either.push(k);
    } else if (s[k] === '/' && s[k + 1] === '*') either.push(k);
  }
  return { closes, either, memo: new Map() };
}

function closeAt(m: Marks, from: number): number {
  const k = m.closes[lowerBound(m.closes, from)];
  return k === undefined ? -1 : k + 2;
}

/** First index whose value is >= x in a sorted array (its length when none). */
function lowerBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function scan(st: State, i: number): [Kind, number] {
  const s = st.s;
  const c = s[i];
  if (SPACE.has(c)) {
    let j = i + 1;
    while (j < s.length && SPACE.has(s[j])) j++;
    return ['whitespace', j];
  }
  if (c === '#' || (c === '-' && s[i + 1] === '-' && dashCommentAfter(s.charCodeAt(i + 2)))) return ['comment', lineEnd(s, i)];
  if (c === '/' && s[i + 1] === '*') {
    const end = consumeComment(st, i + 2, 0);
    return ['comment', end < 0 ? s.length : end];
  }
  return scanCode(s, i, st.quoting);
}

/** Quoted runs, numbers, names, `?` and operators: read alike by both lexers. */
function scanCode(s: string, i: number, quoting: MysqlQuoting): [Kind, number] {
  const c = s[i];
  if (c === '`') return ['quoted_ident', quoteEnd(s, i + 1, c, false)];
  if (c === '"' && quoting.ansiQuotes) return ['quoted_ident', quoteEnd(s, i + 1, c, false)];
  if (c === "'" || c === '"') return ['string', quoteEnd(s, i + 1, c, quoting.backslashEscapes)];
  // Right after a name, `.` separates a qualified name's parts and what follows is a name even
  // if it starts with digits (the server's MY_LEX_IDENT_SEP): `db.1t` is db . 1t, not db and .1 and t.
  if (c === '.' && afterName(s, i, quoting)) return ['punct', i + 1];
  if (i > 0 && s[i - 1] === '.' && afterName(s, i - 1, quoting) && IDENT_CHAR.test(c)) {
    IDENT_REST.lastIndex = i;
    return ['word', i + IDENT_REST.exec(s)![0].length];
  }
  return scanNumber(s, i) ?? scanWord(s, i) ?? (c === '?' ? ['placeholder', i + 1] : scanOperator(s, i));
}

/** The character before `i` ends a name: a word's last character, or a quoted name's closing quote. */
function afterName(s: string, i: number, quoting: MysqlQuoting): boolean {
  const p = s[i - 1];
  return i > 0 && (IDENT_CHAR.test(p) || p === '`' || (quoting.ansiQuotes && p === '"'));
}

/** `--` is a comment before whitespace or a control character (my_isspace || my_iscntrl), or at the end. */
function dashCommentAfter(code: number): boolean {
  return Number.isNaN(code) || code <= 32 || code === 127;
}

/** A line comment ends at a newline, or at a NUL (the server's lexer stops there too). */
function lineEnd(s: string, from: number): number {
  let j = from;
  while (j < s.length && s[j] !== '\n' && s[j] !== '\0') j++;
  return j;
}

function scanNumber(s: string, i: number): [Kind, number] | null {
  MYSQL_NUMBER.lastIndex = i;
  const m = MYSQL_NUMBER.exec(s);
  if (!m) return null;
  const end = i + m[0].length;
  // Identifiers may start with digits (`1abc`, `0x1g`): one word, not a number and a word.
  if (!m[0].includes('.') && IDENT_CHAR.test(s[end] ?? '')) {
    IDENT_REST.lastIndex = end;
    return ['word', end + IDENT_REST.exec(s)![0].length];
  }
  return ['number', end];
}

function scanWord(s: string, i: number): [Kind, number] | null {
  MYSQL_WORD.lastIndex = i;
  const m = MYSQL_WORD.exec(s);
  return m ? ['word', i + m[0].length] : null;
}

function scanOperator(s: string, i: number): [Kind, number] {
  const multi = MYSQL_OPS.find((op) => s.startsWith(op, i));
  if (multi) return ['operator', i + multi.length];
  if (OPERATOR_CHARS.includes(s[i])) return ['operator', i + 1];
  return ['punct', i + 1];
}
