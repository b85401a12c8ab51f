/**
 * What SQLite keeps only in the CREATE TABLE text: CHECK constraints (json
 * columns are TEXT with CHECK (json_valid(col))), WITHOUT ROWID, STRICT and
 * COLLATE. Read with our lexer, so strings and quoted names never confuse it.
 */
import type { Token } from '../../sql-lexer.js';
import { sqliteLexer } from './lexer.js';
import type { Check } from '../../schema/model.js';

export interface SqliteTableSql {
  /** Lower-cased names of columns with CHECK (json_valid(col)). */
  jsonColumns: Set<string>;
  /** CHECK constraints other than those json_valid ones. */
  checks: Check[];
  withoutRowid: boolean;
  strict: boolean;
  /** Clauses a rebuild from the portable schema would drop (COLLATE, GENERATED ...). */
  unportable: string[];
  /** The same, per column they belong to (lower-cased name). */
  columnFeatures: Map<string, string[]>;
}

export function unquoteIdent(t: Token): string {
  const s = t.text;
  if (t.kind !== 'quoted_ident' && t.kind !== 'string') return s;
  const q = s[0];
  if (q === '[') return s.slice(1, -1);
  return s.slice(1, -1).split(q + q).join(q);
}

const isWord = (t: Token | undefined, w: string): boolean => t?.kind === 'word' && t.text.toUpperCase() === w;
const isPunct = (t: Token | undefined, p: string): boolean => t?.kind === 'punct' && t.text === p;

/** Index of the `)` matching the `(` at `open`, or the last token. */
function closing(tokens: Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (isPunct(tokens[i], '(')) depth++;
    if (isPunct(tokens[i], ')') && --depth === 0) return i;
  }
  return tokens.length - 1;
}

export function sqliteTableSql(sql: string): SqliteTableSql {
  const out: SqliteTableSql = { jsonColumns: new Set(), checks: [], withoutRowid: false, strict: false, unportable: [], columnFeatures: new Map() };
  const tokens = sqliteLexer.tokenize(sql).filter((t) => t.kind !== 'whitespace' && t.kind !== 'comment');
  const bodyOpen = tokens.findIndex((t) => isPunct(t, '('));
  if (bodyOpen < 0) return out;
  const bodyClose = closing(tokens, bodyOpen);
  // The column whose definition the tokens are in (null: a table constraint), for features that belong to one column.
  let column: string | null = null;
  let depth = 0;
  const feature = (f: string): void => {
    out.unportable.push(f);
    const had = column === null ? [] : out.columnFeatures.get(column) ?? [];
    if (column !== null && !had.includes(f)) out.columnFeatures.set(column, [...had, f]);
  };
  for (let i = bodyOpen + 1; i < bodyClose; i++) {
    const t = tokens[i];
    if (i === bodyOpen + 1 || (depth === 0 && isPunct(tokens[i - 1], ','))) {
      column = ['CONSTRAINT', 'PRIMARY', 'UNIQUE', 'CHECK', 'FOREIGN'].some((w) => isWord(t, w)) ? null : unquoteIdent(t).toLowerCase();
    }
    if (isPunct(t, '(')) depth++;
    if (isPunct(t, ')')) depth--;
    if (isWord(t, 'COLLATE')) feature(`COLLATE ${tokens[i + 1]?.text ?? ''}`);
    if (isWord(t, 'GENERATED') || (isWord(t, 'AS') && isPunct(tokens[i + 1], '('))) feature('a generated column');
    // Only a deferred check differs from the default (NOT DEFERRABLE and INITIALLY IMMEDIATE check at once, as it does).
    if (isWord(t, 'DEFERRABLE') && !isWord(tokens[i - 1], 'NOT') && isWord(tokens[i + 1], 'INITIALLY') && isWord(tokens[i + 2], 'DEFERRED')) out.unportable.push('DEFERRABLE INITIALLY DEFERRED');
    if (isWord(t, 'CONFLICT')) out.unportable.push(`ON CONFLICT ${tokens[i + 1]?.text ?? ''}`);
    if (!isWord(t, 'CHECK') || !isPunct(tokens[i + 1], '(')) continue;
    const end = closing(tokens, i + 1);
    const inner = tokens.slice(i + 2, end);
    const named = isWord(tokens[i - 2], 'CONSTRAINT') ? unquoteIdent(tokens[i - 1]) : null;
    if (inner.length === 4 && isWord(inner[0], 'JSON_VALID') && isPunct(inner[1], '(') && isPunct(inner[3], ')')) {
      out.jsonColumns.add(unquoteIdent(inner[2]).toLowerCase());
    } else if (inner.length) {
      out.checks.push({ name: named, expression: sql.slice(inner[0].start, inner[inner.length - 1].end) });
    }
    i = end;
  }
  const tail = tokens.slice(bodyClose + 1);
  out.withoutRowid = tail.some((t, i) => isWord(t, 'WITHOUT') && isWord(tail[i + 1], 'ROWID'));
  out.strict = tail.some((t) => isWord(t, 'STRICT'));
  if (out.withoutRowid) out.unportable.push('WITHOUT ROWID');
  if (out.strict) out.unportable.push('STRICT');
  out.unportable = [...new Set(out.unportable)];
  return out;
}
