/**
 * SQLite fingerprints in one pass (module.sql.fingerprint.fast): the rules of
 * lexer.ts on char codes, with the pieces and shared scans of
 * performance/fingerprint-pieces.ts. Left to the lexer path (null) where SQLite's
 * tokenizer differs in rare spots: non-ASCII outside strings, comments and quoted
 * names (or right after a number), `\v` or `#` starting a token, `/*` at the very end.
 */
import {
  C_AT, C_BANG, C_BACKTICK, C_COLON, C_DOLLAR, C_DOT, C_DQUOTE, C_EQ, C_GT, C_HASH, C_LBRACKET, C_LT, C_MINUS, C_PIPE, C_QUESTION,
  C_QUOTE, C_SLASH, C_STAR, C_0,
  blockCommentEnd, CLASS, cls, DIGIT, lineEnd, mark, numberEnd, Pieces, quoteEndCode, SP, spaceEnd, WORD_REST, WORD_START, wordRestEnd,
} from '../../performance/fingerprint-pieces.js';
import { sqliteBlobEnd } from './lexer.js';

const C_VT = 11;

/** One-character operators. */
const OP_CHARS = new Uint8Array(128);
mark(OP_CHARS, '+-*/%<>=!~&|^', 1);

export function fingerprintSqlite(s: string): string | null {
  const n = s.length;
  const p = new Pieces(s);
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 128) return null;
    if (c === C_VT || c === C_HASH) return null; // \v cannot start a space there; #name is a parameter
    const f = CLASS[c];
    if (f & SP) {
      i = spaceEnd(s, i + 1);
      continue;
    }
    const c1 = i + 1 < n ? s.charCodeAt(i + 1) : -1;
    if (c === C_SLASH && c1 === C_STAR && i + 2 >= n) return null; // `/*` at the very end is `/` `*` there
    if (c === C_MINUS && c1 === C_MINUS) {
      i = lineEnd(s, i);
      continue;
    }
    if (c === C_SLASH && c1 === C_STAR) {
      i = blockCommentEnd(s, i + 2);
      continue;
    }
    const start = i;
    let end: number;
    let word = false;
    if ((c === 88 || c === 120) && c1 === C_QUOTE) {
      end = sqliteBlobEnd(s, i);
      p.string(start);
    } else if (c === C_QUOTE) {
      end = quoteEndCode(s, i + 1, C_QUOTE, false);
      p.string(start);
    } else if (c === C_DQUOTE || c === C_BACKTICK) {
      end = quoteEndCode(s, i + 1, c, false);
      p.quotedName(s.slice(start, end), false);
    } else if (c === C_LBRACKET) {
      const close = s.indexOf(']', i + 1);
      end = close === -1 ? n : close + 1;
      p.quotedName(s.slice(start, end), false);
    } else if ((f & DIGIT) || (c === C_DOT && cls(c1) & DIGIT)) {
      // No 0b/0o, and name characters glued to a number make one (bad) token: `1abc`, `0b1`.
      const radix = c === C_0 && ((c1 | 0x20) === 98 || (c1 | 0x20) === 111);
      end = wordRestEnd(s, radix ? i + 1 : numberEnd(s, i, c, c1));
      if (end < n && s.charCodeAt(end) >= 128) return null;
      p.number(start);
    } else if (f & WORD_START) {
      end = wordRestEnd(s, i + 1);
      word = true;
      p.word(start, end);
    } else if (c === C_QUESTION || ((c === C_COLON || c === C_AT || c === C_DOLLAR) && cls(c1) & WORD_REST)) {
      // Placeholders: ?, ?1, :name, @name, $name.
      end = i + 1;
      const rest = c === C_QUESTION ? DIGIT : WORD_REST;
      while (end < n && cls(s.charCodeAt(end)) & rest) end++;
      p.value();
    } else {
      end = p.operator(i, operatorEnd(s, i, c, c1), c);
    }
    p.next(start, end, word);
    i = end;
  }
  return p.finish();
}

/** The tokenizer's operators (->>, two-character ones, then one character); i for punctuation. */
function operatorEnd(s: string, i: number, c: number, c1: number): number {
  const c2 = i + 2 < s.length ? s.charCodeAt(i + 2) : -1;
  switch (c) {
    case C_LT:
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
    case C_EQ:
      if (c1 === C_EQ) return i + 2;
      break;
  }
  return c < 128 && OP_CHARS[c] ? i + 1 : i;
}
