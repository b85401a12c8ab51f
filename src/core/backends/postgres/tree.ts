/**
 * Helpers over libpg-query's JSON parse tree, shared by the PostgreSQL classifier's
 * read-only allow-list (classify.ts) and its every-connection escape checks
 * (escapes.ts).
 */
import { isRecord } from '../../sql.js';

/** A parse-tree node as libpg-query emits it: `{ SelectStmt: { ... } }`. */
export type PgNode = Record<string, unknown>;

/**
 * Visit every (key, value) pair of every object in the tree, parents before
 * children, and return the first value `visit` gives back. Iterative, so a deeply
 * nested expression cannot overflow the JS stack.
 */
export function walk<T>(root: unknown, visit: (key: string, value: unknown) => T | undefined): T | undefined {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push(node[i]);
      continue;
    }
    if (!isRecord(node)) continue;
    const entries = Object.entries(node);
    for (const [key, value] of entries) {
      const hit = visit(key, value);
      if (hit !== undefined) return hit;
    }
    for (let i = entries.length - 1; i >= 0; i--) stack.push(entries[i]![1]);
  }
  return undefined;
}

/** `{ SelectStmt: {...} }` -> 'SelectStmt'; '' for anything else. */
export function nodeType(node: PgNode): string {
  const keys = Object.keys(node);
  return keys.length === 1 ? keys[0]! : '';
}

/** The body of a one-key node (`{ X: body }` -> body), or {} when it is not one. */
export function bodyOf(node: unknown): Record<string, unknown> {
  if (!isRecord(node)) return {};
  const body = node[nodeType(node)];
  return isRecord(body) ? body : {};
}

/** Name lists come as [{ String: { sval } }, ...]; the parser has already folded case and resolved U&"" escapes. */
function nameAt(names: unknown, index: number, exact = false): string | undefined {
  if (!Array.isArray(names)) return undefined;
  const item: unknown = names.at(index);
  const sval = isRecord(item) && isRecord(item.String) ? item.String.sval : undefined;
  return typeof sval === 'string' ? (exact ? sval : sval.toLowerCase()) : undefined;
}

export function lastName(names: unknown): string | undefined {
  return nameAt(names, -1);
}

export function firstName(names: unknown): string | undefined {
  return Array.isArray(names) && names.length > 1 ? nameAt(names, 0) : undefined;
}

/** The `sval` of a `{ String: { sval } }` node: an identifier (string constants are A_Const, not String). */
export function stringNode(value: unknown): string | undefined {
  return isRecord(value) && typeof value.sval === 'string' ? value.sval : undefined;
}

/** The text of a string constant (`{ A_Const: { sval: { sval } } }`), possibly under casts; undefined when it is not one. */
export function constantText(node: unknown): string | undefined {
  let n = node;
  while (isRecord(n) && isRecord(n.TypeCast)) n = n.TypeCast.arg;
  const c = isRecord(n) && isRecord(n.A_Const) ? n.A_Const : undefined;
  const s = c && isRecord(c.sval) ? c.sval.sval : undefined;
  return typeof s === 'string' ? s : undefined;
}

/**
 * A qualified name in any of the forms object positions take: a RangeVar (wrapped or
 * bare), a List of String, an ObjectWithArgs, a bare String, or an array of Strings.
 * Returns [schema | undefined, name], lower-cased (or, `exact`, as the parser gives them:
 * it has folded unquoted names already, so "T" and t stay two names), or undefined.
 */
export function qualifiedName(node: unknown, exact = false): [string | undefined, string] | undefined {
  const lower = (v: string): string => (exact ? v : v.toLowerCase());
  if (!isRecord(node)) return Array.isArray(node) ? fromNames(node, exact) : undefined;
  if (typeof node.relname === 'string') return [typeof node.schemaname === 'string' ? lower(node.schemaname) : undefined, lower(node.relname)];
  if (isRecord(node.RangeVar)) return qualifiedName(node.RangeVar, exact);
  if (isRecord(node.List)) return fromNames(node.List.items, exact);
  if (isRecord(node.ObjectWithArgs)) return fromNames(node.ObjectWithArgs.objname, exact);
  if (Array.isArray(node.objname)) return fromNames(node.objname, exact);
  if (isRecord(node.String)) return fromNames([node], exact);
  return undefined;
}

function fromNames(names: unknown, exact = false): [string | undefined, string] | undefined {
  const name = nameAt(names, -1, exact);
  if (name === undefined || !Array.isArray(names)) return undefined;
  return [names.length > 1 ? nameAt(names, -2, exact) : undefined, name];
}
