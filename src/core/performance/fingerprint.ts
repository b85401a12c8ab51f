/**
 * Statement fingerprints: the text with every literal replaced by `?`, so that
 * `id = 1` and `id = 2` group together and no value ever reaches the query log.
 * Built on our own lexer, so strings, comments, dollar quotes and placeholders end
 * where the server thinks they end. Also used on the database's own normalised
 * texts (pg_stat_statements `$1`, performance_schema digests `?`), so the same
 * statement gets the same fingerprint from every source.
 */
import { tokenize, type SqlFlavor, type Token } from '../sql-lexer.js';
import { sqliteBlobEnd } from '../backends/sqlite/lexer.js';

/** Longer fingerprints are cut: memory per fingerprint stays bounded. */
export const MAX_FINGERPRINT_CHARS = 2048;
/**
 * Only the start of a longer statement is fingerprinted: the lexer costs about 1-2 µs a
 * token on the main thread, so 1 MB of tokens (a query may have 1,000,000 characters)
 * took up to 2 s, and 64 KB of `,1` still 30-90 ms. 8 KB (the longest text lexed on the
 * main thread anywhere, core/offload) stays under ~10 ms. A literal cut in two still becomes `?`.
 */
export const MAX_FINGERPRINT_INPUT_CHARS = 8192;
/**
 * `/∗!` comments inside `/∗!` comments are fingerprinted this deep; deeper ones become
 * `/∗! … ∗/`. Each level lexes its inside again: 2,000 nested openers were quadratic
 * and overflowed the stack.
 */
const MAX_CONDITIONAL_DEPTH = 4;

interface Piece {
  text: string;
  /** `?` pieces are literals or placeholders; `word` pieces are lower-cased keywords and names. */
  kind: 'value' | 'word' | 'ident' | 'op' | 'punct';
}

/** Keywords after which `-1` is a negative literal rather than a subtraction. */
const UNARY_AFTER = new Set([
  'select', 'where', 'and', 'or', 'not', 'when', 'then', 'else', 'in', 'by', 'limit', 'offset', 'values',
  'set', 'return', 'returning', 'between', 'like', 'is', 'on', 'having', 'case', 'as', 'interval', 'all', 'any',
]);

/** Keywords written with a space before `(`; any other word before `(` is a function call. */
const SPACED_BEFORE_PAREN = new Set([
  'in', 'values', 'as', 'and', 'or', 'not', 'on', 'from', 'join', 'where', 'exists', 'select', 'using', 'over', 'into', 'with',
]);

/** `X'ff'`, `B'01'`, `N'text'`, `_utf8mb4'text'`: a prefix glued to a string is part of the literal. */
const STRING_PREFIX = /^(x|b|n|_[a-z0-9]+)$/i;

const SIMPLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/**
 * The fingerprint of a statement. Runs on every statement the query log records,
 * so it takes a single pass over the text that builds no tokens ({@link fingerprintFast});
 * the rare inputs that pass does not cover go through the lexer ({@link fingerprintReference}).
 * Both give the same fingerprint for every text (test/unit/fingerprint-fast.test.ts).
 */
export function fingerprint(sql: string, flavor: SqlFlavor): string {
  const text = sql.length > MAX_FINGERPRINT_INPUT_CHARS ? sql.slice(0, MAX_FINGERPRINT_INPUT_CHARS) : sql;
  return fingerprintFast(text, flavor) ?? fingerprintReference(text, flavor);
}

/** The fingerprint through the lexer's tokens: the definition the fast path must match. */
export function fingerprintReference(sql: string, flavor: SqlFlavor): string {
  const pieces = piecesOf(tokenize(sql, flavor), flavor);
  while (pieces.at(-1)?.text === ';') pieces.pop();
  const text = render(pieces);
  return text.length > MAX_FINGERPRINT_CHARS ? `${text.slice(0, MAX_FINGERPRINT_CHARS - 1)}…` : text;
}

function piecesOf(tokens: Token[], flavor: SqlFlavor, depth = 0): Piece[] {
  const out: Piece[] = [];
  let prev: Token | undefined;
  for (const t of tokens) {
    if (t.kind === 'whitespace' || t.kind === 'comment') continue;
    addToken(out, t, prev, flavor, depth);
    prev = t;
    if (t.kind === 'punct' && t.text === ')') collapseLists(out);
  }
  return out;
}

function addToken(out: Piece[], t: Token, prev: Token | undefined, flavor: SqlFlavor, depth: number): void {
  switch (t.kind) {
    case 'string':
      if (prev?.kind === 'word' && prev.end === t.start && STRING_PREFIX.test(prev.text)) out.pop();
      return void out.push({ text: '?', kind: 'value' });
    case 'number':
      if (isUnarySign(out, prev, t)) out.pop();
      return void out.push({ text: '?', kind: 'value' });
    case 'placeholder':
      return void out.push({ text: '?', kind: 'value' });
    case 'word':
      return void out.push({ text: t.text.toLowerCase(), kind: 'word' });
    case 'quoted_ident':
      return void out.push(quotedName(t.text, flavor));
    case 'conditional_comment':
      return void out.push({ text: conditional(t.text, flavor, depth), kind: 'punct' });
    case 'operator':
      return void out.push({ text: t.text, kind: 'op' });
    default:
      out.push({ text: t.text, kind: 'punct' });
  }
}

/** A `-` or `+` glued to the number, after something that cannot be the left operand. */
function isUnarySign(out: Piece[], prev: Token | undefined, t: Token): boolean {
  const sign = out.at(-1);
  if (!sign || sign.kind !== 'op' || (sign.text !== '-' && sign.text !== '+') || prev?.end !== t.start) return false;
  const before = out.at(-2);
  if (!before) return true;
  if (before.kind === 'op') return true;
  if (before.kind === 'punct') return before.text === '(' || before.text === ',' || before.text === '[';
  return before.kind === 'word' && UNARY_AFTER.has(before.text);
}

/**
 * A quoted name that needs no quotes is written bare, so `"orders"` and `orders`
 * match. PostgreSQL folds unquoted names to lower case, so only a lower-case quoted
 * name is the same as the bare one there; MySQL and SQLite compare names without case.
 */
function quotedName(text: string, flavor: SqlFlavor): Piece {
  const inner = text.slice(1, -1);
  if (!SIMPLE_NAME.test(inner)) return { text, kind: 'ident' };
  if (flavor === 'postgres' && inner !== inner.toLowerCase()) return { text, kind: 'ident' };
  return { text: inner.toLowerCase(), kind: 'word' };
}

/** MySQL runs the inside of `/*! ... *\/`: it is fingerprinted like the rest, its version number dropped. */
function conditional(text: string, flavor: SqlFlavor, depth: number): string {
  if (depth >= MAX_CONDITIONAL_DEPTH) return '/*! … */';
  const inner = text.replace(/^\/\*M?!\d*/i, '').replace(/\*\/$/, '');
  return `/*! ${render(piecesOf(tokenize(inner, flavor), flavor, depth + 1))} */`;
}

/**
 * Called after each `)`: `in (?, ?, ?)` becomes `in (?)`, and a VALUES list of
 * literal-only rows keeps its first row, so 1 and 500 values group together.
 */
function collapseLists(out: Piece[]): void {
  const open = valueTupleStart(out);
  if (open < 0) return;
  const before = out[open - 1];
  if (before?.kind === 'word' && before.text === 'in') {
    out.splice(open + 1, out.length - open - 2, { text: '?', kind: 'value' });
    return;
  }
  // `..., (?, ?)` right after an identical tuple: drop the repeat.
  const width = out.length - open;
  if (before?.text !== ',' || open - 1 - width < 0) return;
  const prevOpen = open - 1 - width;
  for (let i = 0; i < width; i++) if (out[prevOpen + i].text !== out[open + i].text) return;
  out.splice(open - 1);
}

/** Index of the `(` opening a `( ? , ? ... )` that ends the list, or -1. */
function valueTupleStart(out: Piece[]): number {
  let i = out.length - 2;
  if (out[i]?.kind !== 'value') return -1;
  while (i > 0 && out[i]?.kind === 'value' && out[i - 1]?.text === ',') i -= 2;
  return out[i]?.kind === 'value' && out[i - 1]?.text === '(' ? i - 1 : -1;
}

function render(pieces: Piece[]): string {
  let s = '';
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i];
    if (i > 0 && spaced(pieces[i - 1], p)) s += ' ';
    s += p.text;
  }
  return s;
}

const NO_SPACE_AFTER = new Set(['(', '[', '.', '::']);
const NO_SPACE_BEFORE = new Set([')', ']', ',', '.', ';', '::']);

function spaced(prev: Piece, cur: Piece): boolean {
  if (NO_SPACE_AFTER.has(prev.text) || NO_SPACE_BEFORE.has(cur.text)) return false;
  if (cur.text === '(' || cur.text === '[') return !(prev.kind === 'ident' || (prev.kind === 'word' && !SPACED_BEFORE_PAREN.has(prev.text)));
  return true;
}

// ---------------------------------------------------------------------------
// The fast path: one pass over the char codes, the same rules as the lexer and
// piecesOf above, but no token objects and no regular expressions. Pieces are two
// parallel arrays (text, kind). Whatever it does not cover returns null, and the
// caller takes the lexer path: non-ASCII outside strings, comments and quoted names
// (the lexer's names take any non-ASCII character), PostgreSQL `$` other than `$1`
// (dollar quotes), U&'' strings, MySQL conditional comments.

const VALUE = 0;
const WORD = 1;
const IDENT = 2;
const OP = 3;
const PUNCT = 4;

/** Character classes of the ASCII range (every other code has none). */
const SP = 1; // whitespace as the lexer reads it
const DIGIT = 2;
const WORD_START = 4; // A-Z a-z _
const WORD_REST = 8; // A-Z a-z 0-9 _ $
const HEX = 16;
const PG_OP = 32; // a character of a PostgreSQL operator
const PG_OP_SPECIAL = 64; // one of these keeps a trailing + or - in a PostgreSQL operator
const OP_CHAR = 128; // a one-character MySQL / SQLite operator

const CLASS = new Uint8Array(128);
const mark = (chars: string, flag: number): void => {
  for (let k = 0; k < chars.length; k++) CLASS[chars.charCodeAt(k)] |= flag;
};
mark(' \t\n\r\f\v', SP);
mark('0123456789', DIGIT | WORD_REST | HEX);
mark('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_', WORD_START | WORD_REST);
mark('$', WORD_REST);
mark('ABCDEFabcdef', HEX);
mark('+-*/<>=~!@#%^&|`', PG_OP);
mark('~!@#%^&|`', PG_OP_SPECIAL);
mark('+-*/%<>=!~&|^', OP_CHAR);

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

const cls = (c: number): number => (c < 128 ? CLASS[c] : 0);

// Char codes used below.
const C_TAB = 9;
const C_NL = 10;
const C_SPACE = 32;
const C_BANG = 33;
const C_DQUOTE = 34;
const C_HASH = 35;
const C_DOLLAR = 36;
const C_AMP = 38;
const C_QUOTE = 39;
const C_LPAREN = 40;
const C_RPAREN = 41;
const C_STAR = 42;
const C_PLUS = 43;
const C_MINUS = 45;
const C_DOT = 46;
const C_SLASH = 47;
const C_0 = 48;
const C_COLON = 58;
const C_LT = 60;
const C_EQ = 61;
const C_GT = 62;
const C_QUESTION = 63;
const C_AT = 64;
const C_LBRACKET = 91;
const C_BACKSLASH = 92;
const C_RBRACKET = 93;
const C_BACKTICK = 96;
const C_PIPE = 124;

/**
 * The fingerprint in one pass, or null where the input needs the lexer path.
 * Exported for the differential test; callers use {@link fingerprint}.
 */
export function fingerprintFast(s: string, flavor: SqlFlavor): string | null {
  const pg = flavor === 'postgres';
  const my = flavor === 'mysql';
  // SQLite's tokenizer (backends/sqlite/lexer.ts) differs in rare spots: those go to the lexer path.
  const lite = flavor === 'sqlite';
  const n = s.length;
  const texts: string[] = [];
  const kinds: number[] = [];
  /** End of the last significant token (comments and whitespace are not). */
  let prevEnd = -1;
  /** Start of the last significant token when it was a word, else -1. */
  let prevWord = -1;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 128) return null;
    const f = CLASS[c];
    if (lite && (c === 11 || c === C_HASH)) return null; // \v cannot start a space there; #name is a parameter
    if (f & SP) {
      i++;
      while (i < n && cls(s.charCodeAt(i)) & SP) i++;
      continue;
    }
    const c1 = i + 1 < n ? s.charCodeAt(i + 1) : -1;
    if (lite && c === C_SLASH && c1 === C_STAR && i + 2 >= n) return null; // `/*` at the very end is `/` `*` there

    // Comments.
    if (c === C_MINUS && c1 === C_MINUS) {
      const after = i + 2 < n ? s.charCodeAt(i + 2) : -1;
      if (!my || after <= C_SPACE) {
        i = pg ? pgLineEnd(s, i) : lineEnd(s, i);
        continue;
      }
    } else if (c === C_HASH && my) {
      i = lineEnd(s, i);
      continue;
    } else if (c === C_SLASH && c1 === C_STAR) {
      if (pg) i = nestedCommentEnd(s, i);
      else {
        if (my) {
          const c2 = i + 2 < n ? s.charCodeAt(i + 2) : -1;
          if (c2 === C_BANG || ((c2 === 77 || c2 === 109) && i + 3 < n && s.charCodeAt(i + 3) === C_BANG)) return null; // /*! or /*M!
        }
        const close = s.indexOf('*/', i + 2);
        i = close === -1 ? n : close + 2;
      }
      continue;
    }

    const start = i;
    let end: number;
    let isWord = false;

    // Strings and quoted names.
    if (lite && (c === 88 || c === 120) && c1 === C_QUOTE) {
      end = sqliteBlobEnd(s, i);
      pushString(texts, kinds, s, start, prevEnd, prevWord);
    } else if (pg && (c === 66 || c === 98 || c === 88 || c === 120) && c1 === C_QUOTE) {
      // B'…' / X'…': a bit string has no escapes, not even ''.
      const close = s.indexOf("'", i + 2);
      end = close === -1 ? n : close + 1;
      pushString(texts, kinds, s, start, prevEnd, prevWord);
    } else if (c === C_QUOTE) {
      end = quoteEndCode(s, i + 1, C_QUOTE, my);
      pushString(texts, kinds, s, start, prevEnd, prevWord);
    } else if (c === C_DQUOTE) {
      end = quoteEndCode(s, i + 1, C_DQUOTE, my);
      if (my) pushString(texts, kinds, s, start, prevEnd, prevWord);
      else pushQuotedName(texts, kinds, s.slice(start, end), pg);
    } else if (c === C_BACKTICK && !pg) {
      end = quoteEndCode(s, i + 1, C_BACKTICK, false);
      pushQuotedName(texts, kinds, s.slice(start, end), pg);
    } else if (c === C_LBRACKET && !pg && !my) {
      const close = s.indexOf(']', i + 1);
      end = close === -1 ? n : close + 1;
      pushQuotedName(texts, kinds, s.slice(start, end), pg);
    } else if (pg && (c === 69 || c === 101) && c1 === C_QUOTE) {
      // E'...': backslash escapes.
      end = quoteEndCode(s, i + 2, C_QUOTE, true);
      pushString(texts, kinds, s, start, prevEnd, prevWord);
    } else if (pg && (c === 85 || c === 117) && c1 === C_AMP) {
      return null; // U&'...' / U&"..."
    } else if (pg && c === C_DOLLAR) {
      // `$1` is a placeholder; any other `$` may open a dollar quote.
      if (!(cls(c1) & DIGIT)) return null;
      end = i + 2;
      while (end < n && cls(s.charCodeAt(end)) & DIGIT) end++;
      texts.push('?');
      kinds.push(VALUE);
    } else if ((f & DIGIT) || (c === C_DOT && cls(c1) & DIGIT)) {
      // Numbers.
      if (my) {
        end = mysqlNumberEnd(s, i, c, c1);
        let dot = false;
        for (let k = i; k < end; k++) if (s.charCodeAt(k) === C_DOT) dot = true;
        if (!dot && end < n && cls(s.charCodeAt(end)) & WORD_REST) {
          // `1abc`, `0x1g`: one MySQL name.
          end = wordRestEnd(s, end + 1);
          isWord = true;
          pushWord(texts, kinds, s, start, end);
        }
      } else if (lite) {
        // SQLite has no 0b/0o, and name characters glued to a number make one (bad) token: `1abc`, `0b1`.
        const radix = c === C_0 && ((c1 | 0x20) === 98 || (c1 | 0x20) === 111);
        end = wordRestEnd(s, radix ? i + 1 : numberEnd(s, i, c, c1));
        if (end < n && s.charCodeAt(end) >= 128) return null;
      } else end = numberEnd(s, i, c, c1);
      if (!isWord) {
        if (unarySign(texts, kinds, prevEnd === start)) {
          texts.pop();
          kinds.pop();
        }
        texts.push('?');
        kinds.push(VALUE);
      }
    } else if ((f & WORD_START) || (my && c === C_DOLLAR)) {
      end = wordRestEnd(s, i + 1);
      isWord = true;
      pushWord(texts, kinds, s, start, end);
    } else if (my && c === C_AT && (cls(c1) & WORD_REST || c1 === C_DOT || (c1 === C_AT && i + 2 < n && mysqlVarChar(s.charCodeAt(i + 2))))) {
      // `@var`, `@@session.var`.
      end = c1 === C_AT && i + 2 < n && mysqlVarChar(s.charCodeAt(i + 2)) ? i + 2 : i + 1;
      while (end < n && mysqlVarChar(s.charCodeAt(end))) end++;
      isWord = true;
      pushWord(texts, kinds, s, start, end);
    } else if (!pg && !my && (c === C_QUESTION || ((c === C_COLON || c === C_AT || c === C_DOLLAR) && cls(c1) & WORD_REST))) {
      // SQLite placeholders: ?, ?1, :name, @name, $name.
      end = i + 1;
      const rest = c === C_QUESTION ? DIGIT : WORD_REST;
      while (end < n && cls(s.charCodeAt(end)) & rest) end++;
      texts.push('?');
      kinds.push(VALUE);
    } else if (my && c === C_QUESTION) {
      end = i + 1;
      texts.push('?');
      kinds.push(VALUE);
    } else {
      // Operators and punctuation.
      end = pg ? pgOperatorEndCode(s, i, c, c1) : opEnd(s, i, c, c1, my);
      if (end > i) {
        if (end === i + 1) {
          texts.push(CHARS[c]);
          kinds.push(OP);
        } else {
          const op = s.slice(i, end);
          texts.push(op);
          kinds.push(op === '::' ? OP | NO_SPACE_AFTER_F | NO_SPACE_BEFORE_F : OP);
        }
      } else {
        end = i + 1;
        texts.push(CHARS[c]);
        kinds.push(PUNCT | PUNCT_FLAGS[c]);
        if (c === C_RPAREN) collapse(texts, kinds);
      }
    }
    // A PostgreSQL string continued on the next line (`'a'` newline `'b'`) is one string: the lexer's job.
    if (pg && end < n && s.charCodeAt(end - 1) === C_QUOTE && kinds[kinds.length - 1] === VALUE && pgStringContinues(s, end)) return null;
    prevEnd = end;
    prevWord = isWord ? start : -1;
    i = end;
  }
  let m = texts.length;
  while (m > 0 && texts[m - 1] === ';') m--;
  let out = m > 0 ? texts[0] : '';
  for (let k = 1; k < m; k++) {
    if (spacedAt(texts, kinds, k)) out += ' ';
    out += texts[k];
  }
  return out.length > MAX_FINGERPRINT_CHARS ? `${out.slice(0, MAX_FINGERPRINT_CHARS - 1)}…` : out;
}

/** Whitespace holding a newline (and `--` comments), then a quote: sql-lexer.ts pgStringEnd. */
function pgStringContinues(s: string, from: number): boolean {
  let newline = false;
  let j = from;
  for (; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === C_MINUS && s.charCodeAt(j + 1) === C_MINUS) {
      while (j < s.length && s.charCodeAt(j) !== C_NL && s.charCodeAt(j) !== 13) j++;
      j--;
    } else if (!(cls(c) & SP)) break;
    else if (c === C_NL || c === 13) newline = true;
  }
  return newline && s.charCodeAt(j) === C_QUOTE;
}

/** PostgreSQL's `--` comment also stops at a carriage return. */
function pgLineEnd(s: string, from: number): number {
  let j = from;
  while (j < s.length && s.charCodeAt(j) !== C_NL && s.charCodeAt(j) !== 13) j++;
  return j;
}

function lineEnd(s: string, from: number): number {
  const nl = s.indexOf('\n', from);
  return nl === -1 ? s.length : nl;
}

/** PostgreSQL comments nest. */
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

/** End of a quoted run opened just before `from`: a doubled quote is an escaped quote. */
function quoteEndCode(s: string, from: number, quote: number, backslash: boolean): number {
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

function wordRestEnd(s: string, from: number): number {
  const n = s.length;
  let j = from;
  while (j < n && cls(s.charCodeAt(j)) & WORD_REST) j++;
  return j;
}

/** MySQL `@var` characters: a name's, and `.`. */
const mysqlVarChar = (c: number): boolean => (cls(c) & WORD_REST) !== 0 || c === C_DOT;

function pushWord(texts: string[], kinds: number[], s: string, start: number, end: number): void {
  let upper = false;
  for (let k = start; k < end; k++) {
    const c = s.charCodeAt(k);
    if (c >= 65 && c <= 90) {
      upper = true;
      break;
    }
  }
  const w = s.slice(start, end);
  texts.push(upper ? w.toLowerCase() : w);
  kinds.push(WORD);
}

/** A string literal; a prefix word glued to it (`X'ff'`, `N'x'`, `_utf8mb4'x'`) goes with it. */
function pushString(texts: string[], kinds: number[], s: string, start: number, prevEnd: number, prevWord: number): void {
  if (prevWord >= 0 && prevEnd === start && isStringPrefix(s, prevWord, prevEnd)) {
    texts.pop();
    kinds.pop();
  }
  texts.push('?');
  kinds.push(VALUE);
}

/** STRING_PREFIX without the regular expression: x, b, n, or _ and letters or digits. */
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

/** quotedName as two arrays' entries; `text` is the whole quoted run. */
function pushQuotedName(texts: string[], kinds: number[], text: string, pg: boolean): void {
  const len = text.length;
  let simple = len >= 3;
  let upper = false;
  for (let k = 1; simple && k < len - 1; k++) {
    const c = text.charCodeAt(k);
    const f = c < 128 ? CLASS[c] : 0;
    if (!(f & (k === 1 ? WORD_START : WORD_REST))) simple = false;
    else if (c >= 65 && c <= 90) upper = true;
  }
  if (!simple || (pg && upper)) {
    texts.push(text);
    // SQLite's `[` left open at the very end is a name whose text is `[`: spaced like the punctuation.
    kinds.push(text === '[' ? IDENT | NO_SPACE_AFTER_F | OPENS_F : IDENT);
    return;
  }
  const inner = text.slice(1, -1);
  texts.push(upper ? inner.toLowerCase() : inner);
  kinds.push(WORD);
}

/** isUnarySign on the arrays: `glued` says the sign's token ends where the number starts. */
function unarySign(texts: string[], kinds: number[], glued: boolean): boolean {
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

/** NUMBER (PostgreSQL, SQLite) from i, whose first character is a digit or a `.` before a digit. */
function numberEnd(s: string, i: number, c: number, c1: number): number {
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

const digitOrUnderscore = (c: number): boolean => (c >= 48 && c <= 57) || c === 95;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** An optional `e[+-]digits` after j: all of it or nothing. */
function exponentEnd(s: string, j: number): number {
  const n = s.length;
  if (j >= n || (s.charCodeAt(j) | 0x20) !== 101) return j;
  let k = j + 1;
  if (k < n && (s.charCodeAt(k) === C_PLUS || s.charCodeAt(k) === C_MINUS)) k++;
  if (k >= n || !isDigit(s.charCodeAt(k))) return j;
  while (k < n && isDigit(s.charCodeAt(k))) k++;
  return k;
}

/** MYSQL_NUMBER from i: 0x / 0b (lower case only, no `_`), decimals, exponents. */
function mysqlNumberEnd(s: string, i: number, c: number, c1: number): number {
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

/** pgOperatorEnd on char codes: returns i where the character is punctuation. */
function pgOperatorEndCode(s: string, i: number, c: number, c1: number): number {
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
    const f = d < 128 ? CLASS[d] : 0;
    if (!(f & PG_OP)) break;
    const e = j + 1 < n ? s.charCodeAt(j + 1) : -1;
    if ((d === C_MINUS && e === C_MINUS) || (d === C_SLASH && e === C_STAR)) break;
    if (f & PG_OP_SPECIAL) special = true;
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

/** MySQL / SQLite operators: the multi-character ones of MYSQL_OPS / SQLITE_OPS, else one character; i for punctuation. */
function opEnd(s: string, i: number, c: number, c1: number, my: boolean): number {
  const c2 = i + 2 < s.length ? s.charCodeAt(i + 2) : -1;
  switch (c) {
    case C_LT:
      if (my && c1 === C_EQ && c2 === C_GT) return i + 3; // <=>
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
      if (my && c1 === C_AMP) return i + 2;
      break;
    case C_COLON:
      if (my && c1 === C_EQ) return i + 2;
      break;
    case C_EQ:
      if (!my && c1 === C_EQ) return i + 2;
      break;
  }
  return c < 128 && CLASS[c] & OP_CHAR ? i + 1 : i;
}

/** collapseLists on the arrays, after a `)`. */
function collapse(texts: string[], kinds: number[]): void {
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

/** spaced() for the piece at k and the one before it, from the flags set when they were pushed. */
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
