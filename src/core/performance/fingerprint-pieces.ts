/**
 * What the backends' one-pass fingerprinters share (backends/<name>/fingerprint.ts,
 * module.sql.fingerprint.fast): the pieces built so far, the rules that turn literals
 * into `?`, collapse lists and space the result, and the character classes and scans
 * that read alike on every backend. Each backend's pass reads its own comments, quotes,
 * numbers, placeholders and operators, with the same rules as its lexer, and the result
 * must equal the lexer path (fingerprint.ts) wherever it answers. No token objects and
 * no regular expressions: this runs on every statement the query log records.
 */

/** Longer fingerprints are cut: memory per fingerprint stays bounded. */
export const MAX_FINGERPRINT_CHARS = 2048;

/** Keywords after which `-1` is a negative literal rather than a subtraction. */
export const UNARY_AFTER = new Set([
  'select', 'where', 'and', 'or', 'not', 'when', 'then', 'else', 'in', 'by', 'limit', 'offset', 'values',
  'set', 'return', 'returning', 'between', 'like', 'is', 'on', 'having', 'case', 'as', 'interval', 'all', 'any',
]);

/** Keywords written with a space before `(`; any other word before `(` is a function call. */
export const SPACED_BEFORE_PAREN = new Set([
  'in', 'values', 'as', 'and', 'or', 'not', 'on', 'from', 'join', 'where', 'exists', 'select', 'using', 'over', 'into', 'with',
]);

/** Piece kinds, kept in the low 3 bits of a kind. */
const VALUE = 0;
const WORD = 1;
const IDENT = 2;
const OP = 3;
const PUNCT = 4;

/** Character classes of the ASCII range (every other code has none). */
export const SP = 1; // whitespace as the PostgreSQL and MySQL lexers read it
export const DIGIT = 2;
export const WORD_START = 4; // A-Z a-z _
export const WORD_REST = 8; // A-Z a-z 0-9 _ $
export const HEX = 16;

export const CLASS = new Uint8Array(128);
/** Sets `flag` on each character of `chars` in `table`. */
export function mark(table: Uint8Array, chars: string, flag: number): void {
  for (let k = 0; k < chars.length; k++) table[chars.charCodeAt(k)] |= flag;
}
mark(CLASS, ' \t\n\r\f\v', SP);
mark(CLASS, '0123456789', DIGIT | WORD_REST | HEX);
mark(CLASS, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_', WORD_START | WORD_REST);
mark(CLASS, '$', WORD_REST);
mark(CLASS, 'ABCDEFabcdef', HEX);

/** The class of any char code (none above ASCII). */
export const cls = (c: number): number => (c < 128 ? CLASS[c] : 0);

/** Spacing flags kept beside a piece's kind (bits above the kind's 3). */
const NO_SPACE_AFTER_F = 8;
const NO_SPACE_BEFORE_F = 16;
const OPENS_F = 32;
const KIND_MASK = 7;
const PUNCT_FLAGS = new Uint8Array(128);
PUNCT_FLAGS[40] = NO_SPACE_AFTER_F | OPENS_F; // (
PUNCT_FLAGS[91] = NO_SPACE_AFTER_F | OPENS_F; // [
PUNCT_FLAGS[46] = NO_SPACE_AFTER_F | NO_SPACE_BEFORE_F; // .
PUNCT_FLAGS[41] = NO_SPACE_BEFORE_F; // )
PUNCT_FLAGS[93] = NO_SPACE_BEFORE_F; // ]
PUNCT_FLAGS[44] = NO_SPACE_BEFORE_F; // ,
PUNCT_FLAGS[59] = NO_SPACE_BEFORE_F; // ;

/** One-character strings, shared: punctuation and operators allocate nothing. */
const CHARS: string[] = Array.from({ length: 128 }, (_, c) => String.fromCharCode(c));

// Char codes the backends' passes share.
export const C_NL = 10;
export const C_CR = 13;
export const C_SPACE = 32;
export const C_BANG = 33;
export const C_DQUOTE = 34;
export const C_HASH = 35;
export const C_DOLLAR = 36;
export const C_AMP = 38;
export const C_QUOTE = 39;
export const C_RPAREN = 41;
export const C_STAR = 42;
export const C_PLUS = 43;
export const C_MINUS = 45;
export const C_DOT = 46;
export const C_SLASH = 47;
export const C_0 = 48;
export const C_COLON = 58;
export const C_LT = 60;
export const C_EQ = 61;
export const C_GT = 62;
export const C_QUESTION = 63;
export const C_AT = 64;
export const C_LBRACKET = 91;
export const C_BACKSLASH = 92;
export const C_BACKTICK = 96;
export const C_PIPE = 124;

/**
 * The pieces of one fingerprint as two parallel arrays (text, kind), and what the last
 * significant token was. A backend's pass adds one token at a time, then calls next().
 */
export class Pieces {
  readonly texts: string[] = [];
  readonly kinds: number[] = [];
  /** End of the last significant token (comments and whitespace are not). */
  private prevEnd = -1;
  /** Start of the last significant token when it was a word, else -1. */
  private prevWord = -1;

  constructor(private readonly s: string) {}

  /** The token from `start` to `end` was the last one added; `word` when it was a name or keyword. */
  next(start: number, end: number, word: boolean): void {
    this.prevEnd = end;
    this.prevWord = word ? start : -1;
  }

  /** A literal or placeholder that is never signed: `?`. */
  value(): void {
    this.texts.push('?');
    this.kinds.push(VALUE);
  }

  /** A number starting at `start`: `?`, taking a sign glued to it where nothing stands to its left. */
  number(start: number): void {
    if (this.unarySign(this.prevEnd === start)) {
      this.texts.pop();
      this.kinds.pop();
    }
    this.value();
  }

  /** A string literal; a prefix word glued to it (`X'ff'`, `N'x'`, `_utf8mb4'x'`) goes with it. */
  string(start: number): void {
    if (this.prevWord >= 0 && this.prevEnd === start && isStringPrefix(this.s, this.prevWord, this.prevEnd)) {
      this.texts.pop();
      this.kinds.pop();
    }
    this.value();
  }

  /** A keyword or name, lower-cased. */
  word(start: number, end: number): void {
    const s = this.s;
    let upper = false;
    for (let k = start; k < end; k++) {
      const c = s.charCodeAt(k);
      if (c >= 65 && c <= 90) {
        upper = true;
        break;
      }
    }
    const w = s.slice(start, end);
    this.texts.push(upper ? w.toLowerCase() : w);
    this.kinds.push(WORD);
  }

  /**
   * A quoted name (`text` is the whole quoted run): written bare when it needs no quotes,
   * so `"orders"` and `orders` match. With `caseSensitive`, only a lower-case name is the
   * same as the bare one (FingerprintRules.caseSensitiveNames).
   */
  quotedName(text: string, caseSensitive: boolean): void {
    const len = text.length;
    let simple = len >= 3;
    let upper = false;
    for (let k = 1; simple && k < len - 1; k++) {
      const c = text.charCodeAt(k);
      const f = c < 128 ? CLASS[c] : 0;
      if (!(f & (k === 1 ? WORD_START : WORD_REST))) simple = false;
      else if (c >= 65 && c <= 90) upper = true;
    }
    if (!simple || (caseSensitive && upper)) {
      this.texts.push(text);
      // SQLite's `[` left open at the very end is a name whose text is `[`: spaced like the punctuation.
      this.kinds.push(text === '[' ? IDENT | NO_SPACE_AFTER_F | OPENS_F : IDENT);
      return;
    }
    const inner = text.slice(1, -1);
    this.texts.push(upper ? inner.toLowerCase() : inner);
    this.kinds.push(WORD);
  }

  /**
   * An operator from `i` to `end` (the character `c` at i), or, when `end` is i, one
   * character of punctuation. Returns where the token ends.
   */
  operator(i: number, end: number, c: number): number {
    if (end > i) {
      if (end === i + 1) {
        this.texts.push(CHARS[c]);
        this.kinds.push(OP);
      } else {
        const op = this.s.slice(i, end);
        this.texts.push(op);
        this.kinds.push(op === '::' ? OP | NO_SPACE_AFTER_F | NO_SPACE_BEFORE_F : OP);
      }
      return end;
    }
    this.texts.push(CHARS[c]);
    this.kinds.push(PUNCT | PUNCT_FLAGS[c]);
    if (c === C_RPAREN) this.collapse();
    return i + 1;
  }

  /** The last piece is a literal (a string just added, say). */
  lastIsValue(): boolean {
    return this.kinds[this.kinds.length - 1] === VALUE;
  }

  /** The fingerprint: trailing `;` dropped, pieces spaced, cut at MAX_FINGERPRINT_CHARS. */
  finish(): string {
    const { texts, kinds } = this;
    let m = texts.length;
    while (m > 0 && texts[m - 1] === ';') m--;
    let out = m > 0 ? texts[0] : '';
    for (let k = 1; k < m; k++) {
      if (spacedAt(texts, kinds, k)) out += ' ';
      out += texts[k];
    }
    return out.length > MAX_FINGERPRINT_CHARS ? `${out.slice(0, MAX_FINGERPRINT_CHARS - 1)}…` : out;
  }

  /** A `-` or `+` just added is the sign of the number that follows; `glued`: the sign ends where the number starts. */
  private unarySign(glued: boolean): boolean {
    const { texts, kinds } = this;
    const m = texts.length;
    if (m === 0 || (kinds[m - 1] & KIND_MASK) !== OP) return false;
    const sign = texts[m - 1];
    if ((sign !== '-' && sign !== '+') || !glued) return false;
    if (m === 1) return true;
    const bk = kinds[m - 2] & KIND_MASK;
    const bt = texts[m - 2];
    if (bk === OP) return true;
    if (bk === PUNCT) return bt === '(' || bt === ',' || bt === '[';
    return bk === WORD && UNARY_AFTER.has(bt);
  }

  /**
   * Called after each `)`: `in (?, ?, ?)` becomes `in (?)`, and a VALUES list of
   * literal-only rows keeps its first row, so 1 and 500 values group together.
   */
  private collapse(): void {
    const { texts, kinds } = this;
    const m = texts.length;
    let i = m - 2;
    if (i < 0 || kinds[i] !== VALUE) return;
    while (i > 0 && kinds[i] === VALUE && texts[i - 1] === ',') i -= 2;
    if (i < 1 || kinds[i] !== VALUE || texts[i - 1] !== '(') return;
    const open = i - 1;
    if (open > 0 && (kinds[open - 1] & KIND_MASK) === WORD && texts[open - 1] === 'in') {
      // `in (?, ?, ?)` → `in (?)`
      texts.length = open + 1;
      kinds.length = open + 1;
      texts.push('?', ')');
      kinds.push(VALUE, PUNCT | NO_SPACE_BEFORE_F);
      return;
    }
    const width = m - open;
    if (open === 0 || texts[open - 1] !== ',' || open - 1 - width < 0) return;
    const prevOpen = open - 1 - width;
    for (let k = 0; k < width; k++) if (texts[prevOpen + k] !== texts[open + k]) return;
    texts.length = open - 1;
    kinds.length = open - 1;
  }
}

/** The string prefixes x, b, n, or _ and letters or digits (`_utf8mb4`), without a regular expression. */
function isStringPrefix(s: string, start: number, end: number): boolean {
  const c = s.charCodeAt(start) | 0x20;
  if (end - start === 1) return c === 120 || c === 98 || c === 110;
  if (s.charCodeAt(start) !== 95) return false;
  for (let k = start + 1; k < end; k++) {
    const d = s.charCodeAt(k);
    if (!((d >= 48 && d <= 57) || (d >= 65 && d <= 90) || (d >= 97 && d <= 122))) return false;
  }
  return true;
}

/** Whether a space goes between the piece at k and the one before it, from the flags set when they were added. */
function spacedAt(texts: string[], kinds: number[], k: number): boolean {
  const pk = kinds[k - 1];
  const ck = kinds[k];
  if (pk & NO_SPACE_AFTER_F || ck & NO_SPACE_BEFORE_F) return false;
  if (ck & OPENS_F) {
    const kind = pk & KIND_MASK;
    return !(kind === IDENT || (kind === WORD && !SPACED_BEFORE_PAREN.has(texts[k - 1])));
  }
  return true;
}

// ------------------------------------------------------------ shared scans

/** End of a run of whitespace (SP) starting before `from`. */
export function spaceEnd(s: string, from: number): number {
  let j = from;
  while (j < s.length && cls(s.charCodeAt(j)) & SP) j++;
  return j;
}

/** A line comment's end: the next `\n`, or the end. */
export function lineEnd(s: string, from: number): number {
  const nl = s.indexOf('\n', from);
  return nl === -1 ? s.length : nl;
}

/** A block comment's end: just past the first `*\/` after `from`, or the end. */
export function blockCommentEnd(s: string, from: number): number {
  const close = s.indexOf('*/', from);
  return close === -1 ? s.length : close + 2;
}

/** End of a quoted run opened just before `from`: a doubled quote is an escaped quote. */
export function quoteEndCode(s: string, from: number, quote: number, backslash: boolean): number {
  const n = s.length;
  let j = from;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (backslash && c === C_BACKSLASH) j += 2;
    else if (c !== quote) j++;
    else if (j + 1 < n && s.charCodeAt(j + 1) === quote) j += 2;
    else return j + 1;
  }
  return n;
}

/** End of a run of name characters (WORD_REST) from `from`. */
export function wordRestEnd(s: string, from: number): number {
  const n = s.length;
  let j = from;
  while (j < n && cls(s.charCodeAt(j)) & WORD_REST) j++;
  return j;
}

/** End of a run of digits from `from`. */
export function digitsEnd(s: string, from: number): number {
  let j = from;
  while (j < s.length && isDigit(s.charCodeAt(j))) j++;
  return j;
}

export const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const digitOrUnderscore = (c: number): boolean => (c >= 48 && c <= 57) || c === 95;

/**
 * A number from i, whose first character `c` is a digit or a `.` before a digit, as the
 * PostgreSQL and SQLite lexers read one: 0x / 0b / 0o with `_` separators, decimals
 * with `_`, an exponent.
 */
export function numberEnd(s: string, i: number, c: number, c1: number): number {
  const n = s.length;
  if (c === C_0 && i + 2 < n) {
    const x = c1 | 0x20;
    const allowed = x === 120 ? HEX : x === 98 ? -1 : x === 111 ? -2 : 0; // x, b, o
    if (allowed !== 0) {
      let j = i + 2;
      while (j < n && radixChar(s.charCodeAt(j), allowed)) j++;
      if (j > i + 2) return j;
    }
  }
  let j: number;
  if (c === C_DOT) {
    j = i + 2;
    while (j < n && digitOrUnderscore(s.charCodeAt(j))) j++;
  } else {
    j = i + 1;
    while (j < n && digitOrUnderscore(s.charCodeAt(j))) j++;
    if (j < n && s.charCodeAt(j) === C_DOT) {
      j++;
      while (j < n && digitOrUnderscore(s.charCodeAt(j))) j++;
    }
  }
  return exponentEnd(s, j);
}

/** 0x.. hex (HEX), 0b.. binary (-1), 0o.. octal (-2); `_` in each. */
function radixChar(c: number, allowed: number): boolean {
  if (c === 95) return true;
  if (allowed === HEX) return c < 128 && (CLASS[c] & HEX) !== 0;
  if (allowed === -1) return c === 48 || c === 49;
  return c >= 48 && c <= 55;
}

/** An optional `e[+-]digits` after j: all of it or nothing. */
export function exponentEnd(s: string, j: number): number {
  const n = s.length;
  if (j >= n || (s.charCodeAt(j) | 0x20) !== 101) return j;
  let k = j + 1;
  if (k < n && (s.charCodeAt(k) === C_PLUS || s.charCodeAt(k) === C_MINUS)) k++;
  if (k >= n || !isDigit(s.charCodeAt(k))) return j;
  while (k < n && isDigit(s.charCodeAt(k))) k++;
  return k;
}
