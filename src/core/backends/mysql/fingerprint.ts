/**
 * MySQL / MariaDB fingerprints in one pass (module.sql.fingerprint.fast): the rules of
 * the plain lexer (lexer.ts mysqlLexer) on char codes, with the pieces and shared scans
 * of performance/fingerprint-pieces.ts. Left to the lexer path (null): non-ASCII outside
 * strings, comments and quoted names, and executable comments (`/*!`, `/*M!`), whose
 * inside the lexer path fingerprints as code.
 */
import {
  C_AMP, C_AT, C_BANG, C_BACKTICK, C_COLON, C_DOLLAR, C_DOT, C_DQUOTE, C_EQ, C_GT, C_HASH, C_LT, C_MINUS, C_PIPE, C_QUESTION, C_QUOTE,
  C_SLASH, C_SPACE, C_STAR, C_0,
  blockCommentEnd, CLASS, cls, DIGIT, exponentEnd, HEX, isDigit, lineEnd, mark, Pieces, quoteEndCode, SP, spaceEnd, WORD_REST, WORD_START, wordRestEnd,
} from '../../performance/fingerprint-pieces.js';

/** One-character operators. */
const OP_CHARS = new Uint8Array(128);
mark(OP_CHARS, '+-*/%<>=!~&|^', 1);

export function fingerprintMysql(s: string): string | null {
  const n = s.length;
  const p = new Pieces(s);
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 128) return null;
    const f = CLASS[c];
    if (f & SP) {
      i = spaceEnd(s, i + 1);
      continue;
    }
    const c1 = i + 1 < n ? s.charCodeAt(i + 1) : -1;
    if (c === C_MINUS && c1 === C_MINUS) {
      // `--` is a comment only before a space or a control character: `1--1` is 1 - (-1).
      const after = i + 2 < n ? s.charCodeAt(i + 2) : -1;
      if (after <= C_SPACE) {
        i = lineEnd(s, i);
        continue;
      }
    } else if (c === C_HASH) {
      i = lineEnd(s, i);
      continue;
    } else if (c === C_SLASH && c1 === C_STAR) {
      const c2 = i + 2 < n ? s.charCodeAt(i + 2) : -1;
      if (c2 === C_BANG || ((c2 === 77 || c2 === 109) && i + 3 < n && s.charCodeAt(i + 3) === C_BANG)) return null; // /*! or /*M!
      i = blockCommentEnd(s, i + 2);
      continue;
    }
    const start = i;
    let end: number;
    let word = false;
    if (c === C_QUOTE || c === C_DQUOTE) {
      end = quoteEndCode(s, i + 1, c, true);
      p.string(start);
    } else if (c === C_BACKTICK) {
      end = quoteEndCode(s, i + 1, C_BACKTICK, false);
      p.quotedName(s.slice(start, end), false);
    } else if (c === C_DOT && cls(c1) & DIGIT && i > 0 && nameEnds(s.charCodeAt(i - 1))) {
      // `t.1x`: a qualified name whose part starts with digits (the lexer's separator rule); rare, left to it.
      return null;
    } else if ((f & DIGIT) || (c === C_DOT && cls(c1) & DIGIT)) {
      end = numberEnd(s, i, c, c1);
      let dot = false;
      for (let k = i; k < end; k++) if (s.charCodeAt(k) === C_DOT) dot = true;
      if (!dot && end < n && cls(s.charCodeAt(end)) & WORD_REST) {
        // `1abc`, `0x1g`: one name.
        end = wordRestEnd(s, end + 1);
        word = true;
        p.word(start, end);
      } else p.number(start);
    } else if ((f & WORD_START) || c === C_DOLLAR) {
      end = wordRestEnd(s, i + 1);
      word = true;
      p.word(start, end);
    } else if (c === C_AT && (cls(c1) & WORD_REST || c1 === C_DOT || (c1 === C_AT && i + 2 < n && varChar(s.charCodeAt(i + 2))))) {
      // `@var`, `@@session.var`.
      end = c1 === C_AT && i + 2 < n && varChar(s.charCodeAt(i + 2)) ? i + 2 : i + 1;
      while (end < n && varChar(s.charCodeAt(end))) end++;
      word = true;
      p.word(start, end);
    } else if (c === C_QUESTION) {
      end = i + 1;
      p.value();
    } else {
      end = p.operator(i, operatorEnd(s, i, c, c1), c);
    }
    p.next(start, end, word);
    i = end;
  }
  return p.finish();
}

/** A name's last character: a word's or a quoted name's closing backtick. */
const nameEnds = (c: number): boolean => c < 128 && ((cls(c) & WORD_REST) !== 0 || c === C_BACKTICK);

/** `@var` characters: a name's, and `.`. */
const varChar = (c: number): boolean => (cls(c) & WORD_REST) !== 0 || c === C_DOT;

/** The lexer's number: 0x / 0b (lower case only, no `_`), decimals, exponents. */
function numberEnd(s: string, i: number, c: number, c1: number): number {
  const n = s.length;
  if (c === C_0 && (c1 === 120 || c1 === 98)) {
    let j = i + 2;
    if (c1 === 120) while (j < n && cls(s.charCodeAt(j)) & HEX) j++;
    else while (j < n && (s.charCodeAt(j) === 48 || s.charCodeAt(j) === 49)) j++;
    if (j > i + 2) return j;
  }
  let j: number;
  if (c === C_DOT) {
    j = i + 2;
    while (j < n && isDigit(s.charCodeAt(j))) j++;
  } else {
    j = i + 1;
    while (j < n && isDigit(s.charCodeAt(j))) j++;
    if (j < n && s.charCodeAt(j) === C_DOT) {
      j++;
      while (j < n && isDigit(s.charCodeAt(j))) j++;
    }
  }
  return exponentEnd(s, j);
}

/** The lexer's operators (MYSQL_OPS, then one character); i for punctuation. */
function operatorEnd(s: string, i: number, c: number, c1: number): number {
  const c2 = i + 2 < s.length ? s.charCodeAt(i + 2) : -1;
  switch (c) {
    case C_LT:
      if (c1 === C_EQ && c2 === C_GT) return i + 3; // <=>
      if (c1 === C_EQ || c1 === C_GT || c1 === C_LT) return i + 2;
      break;
    case C_MINUS:
      if (c1 === C_GT) return c2 === C_GT ? i + 3 : i + 2; // ->>, ->
      break;
    case C_GT:
      if (c1 === C_EQ || c1 === C_GT) return i + 2;
      break;
    case C_BANG:
      if (c1 === C_EQ) return i + 2;
      break;
    case C_PIPE:
      if (c1 === C_PIPE) return i + 2;
      break;
    case C_AMP:
      if (c1 === C_AMP) return i + 2;
      break;
    case C_COLON:
      if (c1 === C_EQ) return i + 2;
      break;
  }
  return c < 128 && OP_CHARS[c] ? i + 1 : i;
}
