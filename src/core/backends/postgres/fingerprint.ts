/**
 * PostgreSQL fingerprints in one pass (module.sql.fingerprint.fast): the rules of
 * lexer.ts on char codes, with the pieces and shared scans of
 * performance/fingerprint-pieces.ts. Left to the lexer path (null): non-ASCII outside
 * strings, comments and quoted names, `$` other than `$1` (dollar quotes), U&'' strings,
 * and strings continued on the next line.
 */
import {
  C_AMP, C_COLON, C_DOLLAR, C_DQUOTE, C_MINUS, C_NL, C_CR, C_PIPE, C_PLUS, C_QUESTION, C_QUOTE, C_SLASH, C_STAR, C_AT, C_DOT,
  CLASS, cls, DIGIT, mark, numberEnd, Pieces, quoteEndCode, SP, spaceEnd, WORD_START, wordRestEnd,
} from '../../performance/fingerprint-pieces.js';

/** A character of an operator, and one that keeps a trailing + or - in it. */
const OP_CHAR = 1;
const OP_SPECIAL = 2;
const OPS = new Uint8Array(128);
mark(OPS, '+-*/<>=~!@#%^&|`', OP_CHAR);
mark(OPS, '~!@#%^&|`', OP_SPECIAL);

export function fingerprintPostgres(s: string): string | null {
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
      i = pgLineEnd(s, i);
      continue;
    }
    if (c === C_SLASH && c1 === C_STAR) {
      i = nestedCommentEnd(s, i);
      continue;
    }
    const start = i;
    let end: number;
    let word = false;
    if ((c === 66 || c === 98 || c === 88 || c === 120) && c1 === C_QUOTE) {
      // B'…' / X'…': a bit string has no escapes, not even ''.
      const close = s.indexOf("'", i + 2);
      end = close === -1 ? n : close + 1;
      p.string(start);
    } else if (c === C_QUOTE) {
      end = quoteEndCode(s, i + 1, C_QUOTE, false);
      p.string(start);
    } else if (c === C_DQUOTE) {
      end = quoteEndCode(s, i + 1, C_DQUOTE, false);
      p.quotedName(s.slice(start, end), true);
    } else if ((c === 69 || c === 101) && c1 === C_QUOTE) {
      // E'...': backslash escapes.
      end = quoteEndCode(s, i + 2, C_QUOTE, true);
      p.string(start);
    } else if ((c === 85 || c === 117) && c1 === C_AMP) {
      return null; // U&'...' / U&"..."
    } else if (c === C_DOLLAR) {
      // `$1` is a placeholder; any other `$` may open a dollar quote.
      if (!(cls(c1) & DIGIT)) return null;
      end = i + 2;
      while (end < n && cls(s.charCodeAt(end)) & DIGIT) end++;
      p.value();
    } else if ((f & DIGIT) || (c === C_DOT && cls(c1) & DIGIT)) {
      end = numberEnd(s, i, c, c1);
      p.number(start);
    } else if (f & WORD_START) {
      end = wordRestEnd(s, i + 1);
      word = true;
      p.word(start, end);
    } else {
      end = p.operator(i, operatorEnd(s, i, c, c1), c);
    }
    // A string continued on the next line (`'a'` newline `'b'`) is one string: the lexer's job.
    if (end < n && s.charCodeAt(end - 1) === C_QUOTE && p.lastIsValue() && stringContinues(s, end)) return null;
    p.next(start, end, word);
    i = end;
  }
  return p.finish();
}

/** Whitespace holding a newline (and `--` comments), then a quote: lexer.ts pgStringEnd. */
function stringContinues(s: string, from: number): boolean {
  let newline = false;
  let j = from;
  for (; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === C_MINUS && s.charCodeAt(j + 1) === C_MINUS) {
      while (j < s.length && s.charCodeAt(j) !== C_NL && s.charCodeAt(j) !== C_CR) j++;
      j--;
    } else if (!(cls(c) & SP)) break;
    else if (c === C_NL || c === C_CR) newline = true;
  }
  return newline && s.charCodeAt(j) === C_QUOTE;
}

/** The `--` comment also stops at a carriage return. */
function pgLineEnd(s: string, from: number): number {
  let j = from;
  while (j < s.length && s.charCodeAt(j) !== C_NL && s.charCodeAt(j) !== C_CR) j++;
  return j;
}

/** Block comments nest. */
function nestedCommentEnd(s: string, i: number): number {
  const n = s.length;
  let depth = 0;
  let j = i;
  while (j < n) {
    const c = s.charCodeAt(j);
    const d = j + 1 < n ? s.charCodeAt(j + 1) : -1;
    if (c === C_SLASH && d === C_STAR) {
      depth++;
      j += 2;
    } else if (c === C_STAR && d === C_SLASH) {
      depth--;
      j += 2;
      if (depth === 0) return j;
    } else j++;
  }
  return n;
}

/** lexer.ts pgOperatorEnd on char codes: returns i where the character is punctuation. */
function operatorEnd(s: string, i: number, c: number, c1: number): number {
  const n = s.length;
  if (c === C_COLON) return c1 === C_COLON ? i + 2 : i;
  if (c === C_QUESTION) {
    if (c1 === C_AMP) return i + 2;
    if (c1 === C_PIPE) return i + 2 < n && s.charCodeAt(i + 2) === C_PIPE ? i + 1 : i + 2;
    return i + 1;
  }
  if (c === C_AT && c1 === C_QUESTION) return i + 2;
  let j = i;
  let special = false;
  while (j < n) {
    const d = s.charCodeAt(j);
    const f = d < 128 ? OPS[d] : 0;
    if (!(f & OP_CHAR)) break;
    const e = j + 1 < n ? s.charCodeAt(j + 1) : -1;
    if ((d === C_MINUS && e === C_MINUS) || (d === C_SLASH && e === C_STAR)) break;
    if (f & OP_SPECIAL) special = true;
    j++;
  }
  if (!special) {
    while (j - i > 1) {
      const d = s.charCodeAt(j - 1);
      if (d !== C_PLUS && d !== C_MINUS) break;
      j--;
    }
  }
  return j;
}
