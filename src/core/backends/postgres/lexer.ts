/**
 * PostgreSQL tokens, as its scanner (scan.l) reads them: just enough to know where
 * strings, quoted names, comments and `$n` placeholders begin and end. Nested block
 * comments, `--` comments ending at a carriage return too, E'…' / B'…' / X'…' / U&'…'
 * strings, dollar quotes, strings continued on the next line, and operators as runs of
 * operator characters. `?` is an operator here (jsonb), never a placeholder token.
 */
import { quoteEnd, scanAll, scanSpace, SPACE, type Scan, type SqlLexer, type TokenKind } from '../../sql-lexer.js';

export const postgresLexer: SqlLexer = { tokenize: (sql) => scanAll(sql, scanToken) };

function scanToken(s: string, i: number): [TokenKind, number] {
  return (
    scanSpace(s, i) ??
    scanComment(s, i) ??
    scanQuoted(s, i) ??
    scanNumber(s, i) ??
    scanWord(s, i) ??
    scanPlaceholder(s, i) ??
    scanOperator(s, i)
  );
}

/** PostgreSQL's `--` comment stops at a carriage return too (scan.l: non_newline is [^\n\r]). */
export function pgLineEnd(s: string, from: number): number {
  let j = from;
  while (j < s.length && s[j] !== '\n' && s[j] !== '\r') j++;
  return j;
}

function scanComment(s: string, i: number): Scan {
  if (s.startsWith('--', i)) return ['comment', pgLineEnd(s, i)];
  if (!s.startsWith('/*', i)) return null;
  return ['comment', nestedCommentEnd(s, i)];
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

const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uFFFF][A-Za-z0-9_\u0080-\uFFFF]*)?\$/y;

/** How the body of a PostgreSQL string is read: `''` doubling, backslash escapes, or neither (bit strings). */
type PgQuoting = 'standard' | 'escape' | 'bits';

function scanQuoted(s: string, i: number): Scan {
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

const NUMBER = /0[xX][0-9A-Fa-f_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?/y;

function scanNumber(s: string, i: number): Scan {
  NUMBER.lastIndex = i;
  const m = NUMBER.exec(s);
  return m ? ['number', i + m[0].length] : null;
}

const WORD = /[A-Za-z_\u0080-\uFFFF][A-Za-z0-9_$\u0080-\uFFFF]*/y;

function scanWord(s: string, i: number): Scan {
  WORD.lastIndex = i;
  const m = WORD.exec(s);
  return m ? ['word', i + m[0].length] : null;
}

const PARAM = /\$\d+/y;

function scanPlaceholder(s: string, i: number): Scan {
  PARAM.lastIndex = i;
  const m = PARAM.exec(s);
  return m ? ['placeholder', i + m[0].length] : null;
}

function scanOperator(s: string, i: number): [TokenKind, number] {
  const end = pgOperatorEnd(s, i);
  if (end > i) return ['operator', end];
  // Anything else is one character of punctuation: ( ) , ; . [ ] : and strays.
  return ['punct', i + 1];
}

const OPERATOR_CHARS = '+-*/<>=~!@#%^&|`';

/** PostgreSQL operators are any run of operator characters, with a few rules of its lexer. */
function pgOperatorEnd(s: string, i: number): number {
  if (s.startsWith('::', i)) return i + 2;
  // `?` stands alone so `x=?` keeps its placeholder; `?|`, `?&` and `@?` are jsonb operators.
  if (s[i] === '?') return i + (s[i + 1] === '&' || (s[i + 1] === '|' && s[i + 2] !== '|') ? 2 : 1);
  if (s.startsWith('@?', i)) return i + 2;
  let j = i;
  while (j < s.length && OPERATOR_CHARS.includes(s[j]) && !s.startsWith('--', j) && !s.startsWith('/*', j)) j++;
  // `=-1` is `=` then `-1`: a multi-character operator may not end in + or - unless it has one of these.
  const op = s.slice(i, j);
  if (!/[~!@#%^&|`]/.test(op)) while (j - i > 1 && (s[j - 1] === '+' || s[j - 1] === '-')) j--;
  return j;
}
