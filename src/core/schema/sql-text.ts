/**
 * The pieces of DDL text every backend's flavour is built from (quoting, sized types),
 * and the two ways agent input reaches DDL: defaults, and expressions that must be
 * self-contained. Neutral: backend modules import this file, never flavors.ts.
 */
import { DbError } from '../../errors.js';
import type { SchemaFlavor } from '../backends/contract/schema.js';
import type { SqlLexer } from '../sql-lexer.js';
import type { DefaultValue, TypeSpec } from './model.js';

/** Quoting by doubling the quote character inside: "a""b", `a``b`. */
export const doubled = (q: string) => (name: string): string => q + name.split(q).join(q + q) + q;

/** The sized kinds (decimal, varchar, char) and native types, spelled in `upper` or lower case; null for the others. */
export function sized(spec: TypeSpec, upper: boolean): string | null {
  const name = (s: string): string => (upper ? s.toUpperCase() : s);
  if (spec.kind === 'decimal') return `${name(upper ? 'decimal' : 'numeric')}(${spec.precision},${spec.scale})`;
  if (spec.kind === 'varchar' || spec.kind === 'char') return `${name(spec.kind)}(${spec.length})`;
  if (spec.kind === 'native') return spec.native;
  return null;
}

/** Expressions this server recognises on every backend and writes back in one spelling. */
const PORTABLE_EXPRESSIONS: Array<[RegExp, string]> = [
  [/^(current_timestamp|now|localtimestamp)\s*(\(\s*\d*\s*\))?$/i, 'CURRENT_TIMESTAMP'],
  [/^(current_date|curdate)\s*(\(\s*\))?$/i, 'CURRENT_DATE'],
];

/** CURRENT_TIMESTAMP in any spelling a backend reports; null for any other expression. */
export function portableExpression(expr: string): string | null {
  const t = expr.trim().replace(/^\((.*)\)$/s, '$1').trim();
  for (const [re, name] of PORTABLE_EXPRESSIONS) if (re.test(t)) return name;
  return null;
}

/**
 * An agent-supplied SQL fragment (a default expression, a check) goes into DDL only
 * when it is self-contained: no statement separator, no comment that could swallow
 * the rest of the line, parentheses balanced so it cannot close ours.
 */
export function checkExpression(expr: string, lexer: SqlLexer, field: string): string {
  const refuse = (what: string): DbError => new DbError('INVALID_INPUT', `the SQL expression in ${field} may not hold ${what}`, { field });
  // Lexed inside the parentheses it will sit in: an unterminated string, quoted name or
  // comment would swallow the closing one, so the last token must be exactly that `)`.
  const text = `(${expr})`;
  const tokens = lexer.tokenize(text).filter((t) => t.kind !== 'whitespace');
  let depth = 0;
  for (const [i, t] of tokens.entries()) {
    if (t.kind === 'comment' || t.kind === 'conditional_comment') throw refuse('a comment');
    if (t.kind === 'placeholder') throw refuse('a placeholder');
    if (t.kind === 'punct' && t.text === ';') throw refuse('a ;');
    if (t.kind === 'punct' && t.text === '(') depth++;
    if (t.kind === 'punct' && t.text === ')') depth--;
    const last = i === tokens.length - 1;
    if ((depth === 0 && !last) || depth < 0 || (last && (depth !== 0 || t.end !== text.length || t.text !== ')'))) {
      throw refuse('unbalanced parentheses or an unterminated string, name or comment');
    }
  }
  return expr.trim();
}

/** The DEFAULT clause (without the keyword) for a column, or null for none. */
export function defaultSql(d: DefaultValue, spec: TypeSpec, f: SchemaFlavor, field: string): string | null {
  if (d === null) return null;
  if (typeof d === 'object') {
    const known = portableExpression(d.sql);
    if (known === 'CURRENT_TIMESTAMP') return f.now(spec);
    if (known === 'CURRENT_DATE') return f.today;
    return `(${checkExpression(d.sql, f.lexer, field)})`;
  }
  if (typeof d === 'boolean') return f.boolean(d);
  if (typeof d === 'number') return String(d);
  if (spec.kind === 'decimal' || spec.kind === 'bigint') return /^-?\d+(\.\d+)?$/.test(d) ? d : f.string(d);
  return f.string(d);
}
