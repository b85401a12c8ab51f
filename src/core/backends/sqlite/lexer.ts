/**
 * SQLite's own tokenizer (sqlite3GetToken in tokenize.c, SQLite 3.53 as built by
 * better-sqlite3 12), transcribed so that a classifier sees exactly the tokens the
 * engine sees. SQLite reads UTF-8 bytes; better-sqlite3 hands it the UTF-8 of the JS
 * string (lone surrogates become U+FFFD). Every UTF-16 code unit >= 0x80 therefore
 * stands for bytes >= 0x80, which SQLite counts as identifier characters, with one
 * exception: U+FEFF (bytes EF BB BF) at the START of a token is whitespace (CC_BOM),
 * while inside a name it is part of the name. That difference is how
 * "\uFEFFATTACH DATABASE …" once hid its ATTACH from the checks.
 *
 * Build options that change the token set (checked by test/unit/lexer-sqlite-diff):
 * SQLITE_OMIT_TCL_VARIABLE (no `$a::b` or `$a(x)` suffixes on variables), `_` digit
 * separators (3.46+), SQLITE_DQS=0 (a "…" is always a name, never a string).
 *
 * Never throws. Where SQLite would stop with "unrecognized token" (an unterminated
 * quote, `1abc`, a lone `:`), the token has SQLite's extent and the kind of what it
 * started as; SQLite refuses the statement there, so nothing after it runs.
 */
import type { SqlLexer, Token } from '../../sql-lexer.js';

type Kind = Token['kind'];

const BOM = 0xfeff;

/** CC_SPACE: where a whitespace token may start (sqlite's aiClass); \v only continues one. */
const isSpaceStart = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
/** sqlite3Isspace: 0x09-0x0d and space. */
const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isXDigit = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
/** IdChar: letters, digits, `_`, `$` and every byte >= 0x80. */
const isIdChar = (c: number): boolean => isAlpha(c) || isDigit(c) || c === 0x5f || c === 0x24 || c >= 0x80;
/** Characters a name may start with (CC_KYWD0, CC_KYWD, CC_X, CC_ID, CC_BOM that is not a BOM). */
const isIdStart = (c: number): boolean => isAlpha(c) || c === 0x5f || c >= 0x80;

const DIGIT_SEPARATOR = 0x5f; // `_`

/** The SQLite module's lexer (module.sql.lexer). */
export const sqliteLexer: SqlLexer = { tokenize: (sql) => lexSqlite(sql) };

/** Tokens of `s` as SQLite reads them; the tokens cover the whole input, in order. */
export function lexSqlite(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const [kind, end] = sqliteToken(s, i);
    out.push({ kind, text: s.slice(i, end), start: i, end });
    i = end;
  }
  return out;
}

function sqliteToken(s: string, i: number): [Kind, number] {
  const c = s.charCodeAt(i);
  if (isSpaceStart(c) || c === BOM) return ['whitespace', spaceEnd(s, i + 1)];
  if (isDigit(c) || (c === 0x2e && isDigit(s.charCodeAt(i + 1)))) return ['number', numberEnd(s, i)];
  if ((c === 0x78 || c === 0x58) && s.charCodeAt(i + 1) === 0x27) return ['string', sqliteBlobEnd(s, i)];
  if (isIdStart(c)) return ['word', idEnd(s, i + 1)];
  return quoted(s, i, c) ?? variable(s, i, c) ?? operator(s, i, c);
}

/** A run of spaces; a BOM ends it (it is a token of its own in SQLite, also whitespace). */
function spaceEnd(s: string, j: number): number {
  if (s.charCodeAt(j - 1) === BOM) return j;
  while (j < s.length && isSpace(s.charCodeAt(j))) j++;
  return j;
}

function idEnd(s: string, j: number): number {
  while (j < s.length && isIdChar(s.charCodeAt(j))) j++;
  return j;
}

function digitsEnd(s: string, j: number, digit: (c: number) => boolean): number {
  while (j < s.length && (digit(s.charCodeAt(j)) || s.charCodeAt(j) === DIGIT_SEPARATOR)) j++;
  return j;
}

/** Integers, hex, reals and exponents; trailing name characters make one bad token (`1abc`). */
function numberEnd(s: string, i: number): number {
  let j: number;
  if (s.charCodeAt(i) === 0x30 && (s[i + 1] === 'x' || s[i + 1] === 'X') && isXDigit(s.charCodeAt(i + 2))) {
    j = digitsEnd(s, i + 3, isXDigit);
  } else {
    j = digitsEnd(s, i, isDigit);
    if (s.charCodeAt(j) === 0x2e) j = digitsEnd(s, j + 1, isDigit);
    const e = s.charCodeAt(j);
    const sign = s.charCodeAt(j + 1);
    if ((e === 0x65 || e === 0x45) && (isDigit(sign) || ((sign === 0x2b || sign === 0x2d) && isDigit(s.charCodeAt(j + 2))))) {
      j = digitsEnd(s, j + 2, isDigit);
    }
  }
  return idEnd(s, j);
}

/** x'…': hex digits then a quote; anything else runs to the next quote (a bad token). */
export function sqliteBlobEnd(s: string, i: number): number {
  let j = i + 2;
  while (j < s.length && isXDigit(s.charCodeAt(j))) j++;
  if (s.charCodeAt(j) !== 0x27 || (j - i) % 2) while (j < s.length && s.charCodeAt(j) !== 0x27) j++;
  return j < s.length ? j + 1 : j;
}

/** 'string', "name", `name` (a doubled quote escapes it) and [name] (no escape). */
function quoted(s: string, i: number, c: number): [Kind, number] | null {
  if (c === 0x5b) {
    const close = s.indexOf(']', i + 1);
    return ['quoted_ident', close === -1 ? s.length : close + 1];
  }
  if (c !== 0x27 && c !== 0x22 && c !== 0x60) return null;
  const q = s[i];
  let j = i + 1;
  while (j < s.length) {
    if (s[j] !== q) j++;
    else if (s[j + 1] === q) j += 2;
    else return [c === 0x27 ? 'string' : 'quoted_ident', j + 1];
  }
  return [c === 0x27 ? 'string' : 'quoted_ident', s.length];
}

/** ?NNN, and $name @name :name #name (name characters only: the build omits Tcl variables). */
function variable(s: string, i: number, c: number): [Kind, number] | null {
  if (c === 0x3f) {
    let j = i + 1;
    while (isDigit(s.charCodeAt(j))) j++;
    return ['placeholder', j];
  }
  if (c !== 0x24 && c !== 0x40 && c !== 0x3a && c !== 0x23) return null;
  const end = idEnd(s, i + 1);
  return end > i + 1 ? ['placeholder', end] : ['punct', i + 1];
}

const TWO_CHAR_OPS = new Set(['->', '<=', '<>', '<<', '>=', '>>', '==', '!=', '||']);

function operator(s: string, i: number, c: number): [Kind, number] {
  if (c === 0x2d && s.charCodeAt(i + 1) === 0x2d) {
    const nl = s.indexOf('\n', i + 2);
    return ['comment', nl === -1 ? s.length : nl];
  }
  // `/*` needs a character after it; an unterminated comment runs to the end (no error).
  if (c === 0x2f && s.charCodeAt(i + 1) === 0x2a && i + 2 < s.length) {
    const close = s.indexOf('*/', i + 2);
    return ['comment', close === -1 ? s.length : close + 2];
  }
  if (s.startsWith('->>', i)) return ['operator', i + 3];
  if (TWO_CHAR_OPS.has(s.slice(i, i + 2))) return ['operator', i + 2];
  // A lone `!` or `^` is an error in SQLite; as operators they read like the other flavours'.
  if ('+-*/%<>=|&~!^'.includes(s[i])) return ['operator', i + 1];
  // ( ) ; , . and characters SQLite does not know (`{`, `\`, controls …: an error there).
  return ['punct', i + 1];
}
