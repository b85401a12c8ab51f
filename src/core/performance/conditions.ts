/**
 * What a plan's condition (or a query's WHERE) filters on, read with our lexer:
 * which columns, equality ones first (the order an index wants them), and which
 * table each alias of a FROM clause stands for. Deliberately modest: names and
 * comparisons, not a parser. Anything unclear is left out rather than guessed.
 */
import { INLINE_MAX_CHARS } from '../offload/index.js';
import { significantTokens, type SqlLexer, type Token } from '../sql-lexer.js';

/**
 * The agent's query is read for hints only up to this length: lexing a longer one here
 * would hold the event loop (offload/index.ts); its plan just goes without these hints.
 */
const MAX_HINT_TEXT = INLINE_MAX_CHARS;

/** Words that can stand where a column would and are not one. */
const NOT_COLUMNS = new Set([
  'and', 'or', 'not', 'null', 'is', 'true', 'false', 'like', 'ilike', 'in', 'between', 'any', 'all', 'some', 'case', 'when',
  'then', 'else', 'end', 'exists', 'collate', 'escape', 'distinct', 'from', 'array', 'row', 'similar', 'to', 'subplan',
  'hashed', 'interval', 'date', 'time', 'timestamp', 'current_date', 'current_time', 'current_timestamp', 'unknown', 'glob',
  'regexp', 'rlike', 'match', 'binary', 'div', 'mod', 'xor', 'localtime', 'localtimestamp', 'select', 'where', 'as',
]);

const EQUALITY = new Set(['=', '==', '<=>']);

/**
 * Operators a plain (B-tree) index serves; the words (LIKE, BETWEEN, IN, IS) too, and
 * PostgreSQL's `~~` (LIKE as plans print it). A column compared with any other operator
 * (`&&`, `@>`, `?`, `~`, `@@`, `->>` …) needs another kind of index (GIN, GiST) or an
 * expression index: it is no column of a plain index's suggestion.
 */
const PLAIN_INDEX = new Set([...EQUALITY, '<', '>', '<=', '>=', '<>', '!=', '~~']);

/**
 * Words that continue a type name after its first word: `timestamp with time zone`,
 * `character varying`, `double precision`, `interval day to second`, `bit varying`.
 */
const TYPE_CONTINUATION = new Set([
  'with', 'without', 'time', 'zone', 'varying', 'precision', 'to', 'year', 'month', 'day', 'hour', 'minute', 'second',
  'local', 'unsigned', 'signed', 'zerofill', 'character', 'char', 'set',
]);

/**
 * The index just past a type name that starts at tokens[from] (after `::` or a CAST's
 * AS): a possibly qualified name, the words that continue it, modifiers in
 * parentheses and array brackets. Plans print casts with multi-word types
 * (`'2005-05-25'::timestamp with time zone`): none of those words is a column.
 */
function skipType(tokens: Token[], from: number): number {
  let j = from;
  if (!tokens[j] || nameOf(tokens[j]) === null) return j;
  j++;
  while (tokens[j]?.text === '.' && tokens[j + 1] && nameOf(tokens[j + 1]) !== null) j += 2;
  for (;;) {
    const t = tokens[j];
    if (!t) return j;
    const w = t.kind === 'word' ? t.text.toLowerCase() : '';
    // `character set utf8mb4`: the character set's name belongs to the type too.
    if (w === 'set') j += 2;
    else if (TYPE_CONTINUATION.has(w)) j++;
    else if (t.text === '(' && isModifierList(tokens, j)) j = closingParen(tokens, j) + 1;
    else if (t.text === '[') j = tokens[j + 1]?.text === ']' ? j + 2 : tokens[j + 2]?.text === ']' ? j + 3 : j + 1;
    else return j;
  }
}

/** `(10)`, `(10, 2)`, `(6)`: a type's modifiers, numbers and commas only. */
function isModifierList(tokens: Token[], open: number): boolean {
  const close = closingParen(tokens, open);
  return close > open && tokens.slice(open + 1, close).every((t) => t.text === ',' || /^\d+$/.test(t.text));
}

function closingParen(tokens: Token[], open: number): number {
  let depth = 0;
  for (let j = open; j < tokens.length; j++) {
    if (tokens[j].text === '(') depth++;
    else if (tokens[j].text === ')' && --depth === 0) return j;
  }
  return -1;
}

/** A cast's type starts here: after `::`, or after AS inside CAST( … ). */
function startsType(prev: Token | undefined): boolean {
  return !!prev && ((prev.kind === 'operator' && prev.text === '::') || (prev.kind === 'word' && prev.text.toLowerCase() === 'as'));
}

/** A name token's text without quotes, lower-cased unless it was quoted (quoted names keep their case). */
function nameOf(t: Token): string | null {
  if (t.kind === 'word') return /^[A-Za-z_]/.test(t.text) ? t.text.toLowerCase() : null;
  if (t.kind !== 'quoted_ident') return null;
  const q = t.text[0];
  const inner = t.text.slice(1, q === '[' ? -1 : t.text.endsWith(q) ? -1 : undefined);
  return q === '[' ? inner : inner.replaceAll(q + q, q);
}

interface ColumnRef {
  qualifier: string | null;
  column: string;
  equality: boolean;
  /** Compared the way a plain index serves (PLAIN_INDEX): no other operator right before or after it. */
  plain: boolean;
}

/** An operator token that a plain index does not serve (null and words: nothing said). */
const otherOperator = (t: Token | undefined): boolean => t?.kind === 'operator' && t.text !== '::' && t.text !== '.' && !PLAIN_INDEX.has(t.text);

/**
 * Column references in an expression: `col`, `alias.col`, `"col"`, not followed by `(`
 * (a function), not after `::` or COLLATE (a type, a collation), not glued to a string
 * (`_utf8mb4'x'`). A reference only tested with IS NOT NULL (optimisers add those for
 * joins) does not count.
 */
function columnRefs(tokens: Token[]): ColumnRef[] {
  const refs: ColumnRef[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const prev = tokens[i - 1];
    if (startsType(prev)) {
      i = skipType(tokens, i) - 1;
      continue;
    }
    const first = nameOf(tokens[i]);
    if (first === null || (tokens[i].kind === 'word' && NOT_COLUMNS.has(first))) continue;
    if (prev && (prev.text.toLowerCase() === 'collate' || prev.text === '.')) continue;
    let end = i;
    while (tokens[end + 1]?.text === '.' && tokens[end + 2] && nameOf(tokens[end + 2]) !== null) end += 2;
    const next = tokens[end + 1];
    if (next && ((next.kind === 'punct' && next.text === '(') || next.kind === 'string')) { i = end; continue; }
    const parts = tokens.slice(i, end + 1).filter((_, k) => k % 2 === 0).map((t) => nameOf(t) as string);
    const after = comparisonAfter(tokens, end + 1);
    if (after !== 'is not null') {
      const plain = !otherOperator(prev) && !(after !== null && /^[-+*/<>=~!@#%^&|?]+$/.test(after) && !PLAIN_INDEX.has(after));
      refs.push({ qualifier: parts.length > 1 ? parts[parts.length - 2] : null, column: parts[parts.length - 1], equality: EQUALITY.has(after ?? '') || EQUALITY.has(prev?.text ?? ''), plain });
    }
    i = end;
  }
  return refs;
}

/** The comparison that follows a column, skipping `)` and casts: `(cust)::text = 'x'` and `CAST(cust AS text) = 'x'` compare cust with `=`. */
function comparisonAfter(tokens: Token[], from: number): string | null {
  let j = from;
  for (;;) {
    const t = tokens[j];
    if (!t) return null;
    if (t.text === ')') j++;
    else if ((t.kind === 'operator' && t.text === '::') || (t.kind === 'word' && t.text.toLowerCase() === 'as')) j = skipType(tokens, j + 1);
    else break;
  }
  if (!tokens[j]) return null;
  const words = tokens.slice(j, j + 3).map((t) => t.text.toLowerCase());
  if (words.join(' ') === 'is not null') return 'is not null';
  return tokens[j].kind === 'operator' ? tokens[j].text : words[0];
}

/**
 * Columns an expression filters on, for one table: references qualified by one of
 * `qualifiers` (its name and alias, lower-cased) or unqualified. Equality columns
 * first, then the others, each once, in order of appearance. `plainOnly`: only the
 * columns every comparison of which a plain index serves (PLAIN_INDEX).
 */
export function conditionColumns(expr: string, lexer: SqlLexer, qualifiers: ReadonlySet<string>, plainOnly = false): string[] {
  const refs = columnRefs(significantTokens(lexer.tokenize(expr)))
    .filter((r) => r.qualifier === null || qualifiers.has(r.qualifier.toLowerCase()));
  const other = new Set(refs.filter((r) => !r.plain).map((r) => r.column));
  const ordered = [...refs.filter((r) => r.equality), ...refs.filter((r) => !r.equality)].filter((r) => !plainOnly || !other.has(r.column));
  return [...new Set(ordered.map((r) => r.column))];
}

const CLAUSE_END = new Set(['group', 'order', 'limit', 'having', 'window', 'union', 'intersect', 'except', 'returning', 'offset', 'fetch', 'for']);

/** The text of the statement's top-level WHERE condition, or null. */
export function whereClause(sql: string, lexer: SqlLexer): string | null {
  if (sql.length > MAX_HINT_TEXT) return null;
  const tokens = significantTokens(lexer.tokenize(sql));
  let depth = 0;
  let start = -1;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.text === '(') depth++;
    else if (t.text === ')') depth--;
    if (depth !== 0) continue;
    const w = t.kind === 'word' ? t.text.toLowerCase() : null;
    if (start < 0 && w === 'where') start = i + 1;
    else if (start >= 0 && (t.text === ';' || (w !== null && CLAUSE_END.has(w)))) return sql.slice(tokens[start]?.start ?? t.start, t.start);
  }
  return start >= 0 && tokens[start] ? sql.slice(tokens[start].start) : null;
}

const NOT_ALIASES = new Set([
  'where', 'join', 'inner', 'left', 'right', 'full', 'cross', 'natural', 'outer', 'on', 'using', 'group', 'order', 'limit',
  'having', 'window', 'union', 'intersect', 'except', 'set', 'values', 'straight_join', 'force', 'use', 'ignore', 'lateral',
  'returning', 'offset', 'fetch', 'for', 'indexed', 'not', 'partition', 'tablesample', 'only', 'select', 'with',
]);

/** Qualified name at tokens[from]: its parts (schema, table) and the index of its last token; null when none starts there. */
function qualifiedName(tokens: Token[], from: number): { parts: string[]; last: number } | null {
  const parts: string[] = [];
  let j = from;
  for (;;) {
    const name = tokens[j] ? nameOf(tokens[j]) : null;
    if (name === null) break;
    parts.push(name);
    if (tokens[j + 1]?.text !== '.') break;
    j += 2;
  }
  return parts.length === 0 || NOT_ALIASES.has(parts[0]) ? null : { parts, last: from + parts.length * 2 - 2 };
}

/**
 * alias -> table for every `FROM t [AS] a`, `JOIN t [AS] a` and `, t a` of a FROM
 * list (a table also maps to itself, by its full and its bare name). Names are
 * lower-cased unless quoted; a schema prefix is kept (`public.orders`).
 */
export function tableAliases(sql: string, lexer: SqlLexer): Map<string, string> {
  const aliases = new Map<string, string>();
  if (sql.length > MAX_HINT_TEXT) return aliases;
  const tokens = significantTokens(lexer.tokenize(sql));
  // A `,` continues a FROM list only at the FROM's own depth (not inside a column list or a call).
  let depth = 0;
  let fromDepth = -1;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.text === '(') depth++;
    else if (t.text === ')') depth--;
    const w = t.kind === 'word' ? t.text.toLowerCase() : null;
    const opens = w === 'from' || w === 'join' || w === 'update' || w === 'into';
    if (opens) fromDepth = depth;
    else if (w === 'where' || w === 'set' || w === 'values' || (w !== null && CLAUSE_END.has(w)) || depth < fromDepth) fromDepth = -1;
    if (!opens && !(t.text === ',' && depth === fromDepth)) continue;
    const name = qualifiedName(tokens, i + 1);
    if (!name) continue;
    const table = name.parts.join('.');
    let k = name.last + 1;
    if (tokens[k]?.kind === 'word' && tokens[k].text.toLowerCase() === 'as') k++;
    const alias = tokens[k] ? nameOf(tokens[k]) : null;
    aliases.set(table, table);
    if (!aliases.has(name.parts[name.parts.length - 1])) aliases.set(name.parts[name.parts.length - 1], table);
    if (alias !== null && !NOT_ALIASES.has(alias) && tokens[k + 1]?.text !== '(') aliases.set(alias, table);
    i = name.last;
  }
  return aliases;
}
