/**
 * What every backend's lexer shares: the token shape, and the pieces of scanning that
 * read the same on every server. Each backend reads SQL its own way (comments, quotes,
 * numbers, placeholders): its lexer lives in its folder (backends/<name>/lexer.ts) and
 * reaches the rest of the server as `module.sql.lexer`.
 *
 * A lexer never throws: unterminated input becomes one token running to the end, which
 * the server would reject anyway and which hides nothing from a classifier, since
 * everything after it is inside that token.
 */

export interface Token {
  /**
   * `conditional_comment` is MySQL's `/*! ... *\/` and `/*M! ... *\/`: the server
   * executes its content, so it is significant, unlike `comment`. PostgreSQL's
   * `?` (a jsonb operator there) is an `operator`; on MySQL and SQLite it is a
   * `placeholder`.
   */
  readonly kind:
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
  readonly text: string;
  /** Offset of the first character in the input (UTF-16 code units). */
  readonly start: number;
  /** Offset just past the last character. */
  readonly end: number;
}

/** A backend's reading of SQL text (module.sql.lexer). */
export interface SqlLexer {
  /** The tokens of `sql` as the server reads them: in order, covering all of it. Never throws. */
  tokenize(sql: string): Token[];
}

/**
 * One text and its tokens, lexed once and handed down (Statement.lexed), so the stages
 * after binding need not lex the same text again. A stage uses the tokens only when both
 * the lexer and the text are the ones it would use itself ({@link tokensFor}); tokens
 * are read-only, so no stage can change what the next one reads.
 */
export interface Lexed {
  readonly lexer: SqlLexer;
  readonly text: string;
  readonly tokens: readonly Token[];
}

/** `text` lexed by `lexer`. */
export function lexed(text: string, lexer: SqlLexer): Lexed {
  return { lexer, text, tokens: lexer.tokenize(text) };
}

/**
 * The tokens of `text` by `lexer`: those already lexed when they are exactly that (the
 * same lexer object, the same text), otherwise lexed now. Lexers are pure functions of
 * the text, so the answer is the same either way; only the cost differs.
 */
export function tokensFor(text: string, lexer: SqlLexer, already?: Lexed): readonly Token[] {
  return already !== undefined && already.lexer === lexer && already.text === text ? already.tokens : lexer.tokenize(text);
}

/** Everything but whitespace and plain comments; conditional comments run, so they stay. */
export function significantTokens(tokens: readonly Token[]): Token[] {
  return tokens.filter((t) => t.kind !== 'whitespace' && t.kind !== 'comment');
}

export type TokenKind = Token['kind'];
/** What a scanner found at an offset: the token's kind and its end, or null when it is not its kind of token. */
export type Scan = [TokenKind, number] | null;

/** Tokens of `s` by a scanner that always consumes at least one character. */
export function scanAll(s: string, scan: (s: string, i: number) => [TokenKind, number]): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const [kind, end] = scan(s, i);
    out.push({ kind, text: s.slice(i, end), start: i, end });
    i = end;
  }
  return out;
}

/** Whitespace as PostgreSQL and MySQL read it. */
export const SPACE = new Set([' ', '\t', '\n', '\r', '\f', '\v']);

export function scanSpace(s: string, i: number): Scan {
  let j = i;
  while (j < s.length && SPACE.has(s[j])) j++;
  return j > i ? ['whitespace', j] : null;
}

/** Where a line comment starting at `from` ends: at the next `\n`, or the end. */
export function lineEnd(s: string, from: number): number {
  const nl = s.indexOf('\n', from);
  return nl === -1 ? s.length : nl;
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
