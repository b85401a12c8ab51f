/**
 * Reading catalog text back into the portable schema: the pieces every backend's
 * reader (backends/<name>/introspect.ts) shares. Pure functions, so the mapping is
 * testable and matches the DDL side.
 */
import type { Row } from '../dialect.js';
import { canonicalDecimal, formatType, parseType, type Column, type DefaultValue, type FkAction, type TypeSpec } from './model.js';
import { portableExpression } from './sql-text.js';

/** A catalog row's JSON object, as the reader's query built it. */
export type Json = Record<string, any>;

/** A JSON array the catalog query returned as text or as a value. */
export const parseJson = (v: unknown): Json[] => (typeof v === 'string' ? JSON.parse(v) : (v as Json[]) ?? []);

export const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Tables sorted by name, as every reader returns them. */
export const byTableName = (a: { table: string }, b: { table: string }): number => byName({ name: a.table }, { name: b.table });

/** Rows of one catalog query that unions several kinds (`kind`: t table, c column, i index, f foreign key, r a foreign key's rules, k check) per table (`tbl`). */
export interface Grouped { c: Json[]; i: Json[]; f: Json[]; r: Json[]; k: Json[]; t: Json[] }

export function groupRows(rows: Row[]): Map<string, Grouped> {
  const out = new Map<string, Grouped>();
  for (const r of rows) {
    const name = String(r.tbl);
    let g = out.get(name);
    if (!g) out.set(name, (g = { c: [], i: [], f: [], r: [], k: [], t: [] }));
    g[r.kind as keyof Grouped].push(typeof r.j === 'string' ? JSON.parse(r.j) : (r.j as Json));
  }
  return out;
}

/** A portable type when `text` names one exactly, else null. */
export function tryPortable(text: string): TypeSpec | null {
  try {
    return parseType(text, undefined);
  } catch {
    return null;
  }
}

export const nativeType = (name: string): TypeSpec => ({ kind: 'native', native: name });

/** A quoted literal as the catalog reports it: 'it''s' (PostgreSQL adds ::type); `backslashes`: MySQL's escapes. */
function unquote(text: string, backslashes: boolean): string | null {
  const m = /^'((?:[^']|'')*)'(::[\w\s."[\]()]+)?$/s.exec(text.trim());
  if (!m) return null;
  const inner = m[1].replace(/''/g, "'");
  return backslashes ? inner.replace(/\\(.)/gs, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '0': '\u0000' }[c] ?? c)) : inner;
}

/** A literal typed by its column: true/false for booleans, numbers where exact, strings otherwise. */
export function typedLiteral(text: string, spec: TypeSpec): DefaultValue {
  const k = spec.kind;
  if (k === 'boolean') return /^(true|1|b'1')$/i.test(text) ? true : /^(false|0|b'0')$/i.test(text) ? false : text;
  if (spec.kind === 'decimal') return canonicalDecimal(text, spec.scale);
  if (['integer', 'bigint', 'smallint', 'real', 'double'].includes(k) && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) {
    const n = Number(text);
    return String(n) === text || (Number.isSafeInteger(n) && /^-?\d+$/.test(text)) ? n : text;
  }
  return text;
}

export interface DefaultRead {
  value: DefaultValue;
  /** The default is a sequence (serial): the column is auto-assigned. */
  sequence: boolean;
}

/** PostgreSQL prints DEFAULT NULL on a typed column as NULL::character varying. */
export const isNullDefault = (text: string): boolean => /^null(::[\w\s".[\]()]+)?$/i.test(text);

/**
 * A reported default after the backend's own cases: a quoted literal, an expression
 * every backend knows (CURRENT_TIMESTAMP), a bare number or boolean, else the SQL as
 * written. `backslashes`: literals carry backslash escapes (MySQL).
 */
export function readDefaultText(text: string, spec: TypeSpec, backslashes: boolean): DefaultRead {
  const literal = unquote(text, backslashes);
  if (literal !== null) return { value: typedLiteral(literal, spec), sequence: false };
  const expr = portableExpression(text);
  if (expr) return { value: { sql: expr }, sequence: false };
  const bare = text.replace(/^\((-?[\d.]+)\)$/, '$1');
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(bare) || /^(true|false)$/i.test(bare)) return { value: typedLiteral(bare, spec), sequence: false };
  return { value: { sql: text }, sequence: false };
}

const ACTIONS: Record<string, FkAction> = {
  a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default',
  'NO ACTION': 'no action', RESTRICT: 'restrict', CASCADE: 'cascade', 'SET NULL': 'set null', 'SET DEFAULT': 'set default',
};

export const fkAction = (code: string | null | undefined): FkAction => {
  const c = code ?? 'a';
  return Object.hasOwn(ACTIONS, c) ? ACTIONS[c] : Object.hasOwn(ACTIONS, c.toUpperCase()) ? ACTIONS[c.toUpperCase()] : 'no action';
};

/** The portable column from what every backend's reader found. */
export function makeColumn(name: string, spec: TypeSpec, fields: Omit<Column, 'name' | 'type' | 'native'>): Column {
  return spec.kind === 'native' ? { name, type: 'native', native: spec.native, ...fields } : { name, type: formatType(spec), ...fields };
}
