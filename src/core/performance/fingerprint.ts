/**
 * Statement fingerprints: the text with every literal replaced by `?`, so that
 * `id = 1` and `id = 2` group together and no value ever reaches the query log.
 * Built on our own lexer, so strings, comments, dollar quotes and placeholders end
 * where the server thinks they end. Also used on the database's own normalised
 * texts (pg_stat_statements `$1`, performance_schema digests `?`), so the same
 * statement gets the same fingerprint from every source.
 *
 * Two paths give the same answer: each backend's one-pass fingerprinter
 * (module.sql.fingerprint.fast, built on fingerprint-pieces.ts) for the common case, and
 * the definition below, on the backend's lexer tokens, for what that pass leaves.
 */
import type { SqlSupport } from '../backends/contract/sql.js';
import type { Token } from '../sql-lexer.js';
import { MAX_FINGERPRINT_CHARS, SPACED_BEFORE_PAREN, UNARY_AFTER } from './fingerprint-pieces.js';

export { MAX_FINGERPRINT_CHARS } from './fingerprint-pieces.js';
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

/** `X'ff'`, `B'01'`, `N'text'`, `_utf8mb4'text'`: a prefix glued to a string is part of the literal. */
const STRING_PREFIX = /^(x|b|n|_[a-z0-9]+)$/i;

const SIMPLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/**
 * The fingerprint of a statement. Runs on every statement the query log records,
 * so it takes a single pass over the text that builds no tokens ({@link fingerprintFast});
 * the rare inputs that pass does not cover go through the lexer ({@link fingerprintReference}).
 * Both give the same fingerprint for every text (test/unit/fingerprint-fast.test.ts).
 */
export function fingerprint(sql: string, flavor: SqlSupport): string {
  const text = sql.length > MAX_FINGERPRINT_INPUT_CHARS ? sql.slice(0, MAX_FINGERPRINT_INPUT_CHARS) : sql;
  return flavor.fingerprint.fast(text) ?? fingerprintReference(text, flavor);
}

/** The backend's one-pass fingerprint, or null where it leaves the text to the lexer (for the differential test). */
export function fingerprintFast(sql: string, flavor: SqlSupport): string | null {
  return flavor.fingerprint.fast(sql);
}

/** The fingerprint through the lexer's tokens: the definition the fast path must match. */
export function fingerprintReference(sql: string, flavor: SqlSupport): string {
  const pieces = piecesOf(flavor.lexer.tokenize(sql), flavor);
  while (pieces.at(-1)?.text === ';') pieces.pop();
  const text = render(pieces);
  return text.length > MAX_FINGERPRINT_CHARS ? `${text.slice(0, MAX_FINGERPRINT_CHARS - 1)}…` : text;
}

function piecesOf(tokens: Token[], flavor: SqlSupport, depth = 0): Piece[] {
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

function addToken(out: Piece[], t: Token, prev: Token | undefined, flavor: SqlSupport, depth: number): void {
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
      return void out.push(quotedName(t.text, flavor.fingerprint.caseSensitiveNames));
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
 * match. Where names are case-sensitive (PostgreSQL folds unquoted names to lower
 * case), only a lower-case quoted name is the same as the bare one; elsewhere (MySQL,
 * SQLite) names compare without case.
 */
function quotedName(text: string, caseSensitive: boolean): Piece {
  const inner = text.slice(1, -1);
  if (!SIMPLE_NAME.test(inner)) return { text, kind: 'ident' };
  if (caseSensitive && inner !== inner.toLowerCase()) return { text, kind: 'ident' };
  return { text: inner.toLowerCase(), kind: 'word' };
}

/** MySQL runs the inside of `/*! ... *\/`: it is fingerprinted like the rest, its version number dropped. */
function conditional(text: string, flavor: SqlSupport, depth: number): string {
  if (depth >= MAX_CONDITIONAL_DEPTH) return '/*! … */';
  const inner = text.replace(/^\/\*M?!\d*/i, '').replace(/\*\/$/, '');
  return `/*! ${render(piecesOf(flavor.lexer.tokenize(inner), flavor, depth + 1))} */`;
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
