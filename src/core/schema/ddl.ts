/**
 * DDL from the portable schema. Every name passes through the flavour's quote()
 * and every literal through its string(); agent-supplied expressions (defaults,
 * checks) pass checkExpression first. Nothing else reaches the SQL text. Where
 * backends lay DDL out differently, the flavour says how (contract/schema.ts).
 */
import { DbError } from '../../errors.js';
import type { SchemaFlavor } from '../backends/contract/schema.js';
import { columnSpec, constraintName, type Column, type ForeignKey, type Index, type Table } from './model.js';
import { checkExpression, defaultSql } from './sql-text.js';

export const qualified = (t: { table: string; schema?: string }, f: SchemaFlavor): string =>
  (t.schema && f.namespaces ? `${f.quote(t.schema)}.` : '') + f.quote(t.table);

export const list = (names: string[], f: SchemaFlavor): string => names.map((n) => f.quote(n)).join(', ');

export const action = (a: string): string => a.toUpperCase();

/** Refusals that depend on the backend, before any SQL is sent. */
export function checkForBackend(t: Table, f: SchemaFlavor): void {
  if (t.schema !== undefined && !f.acceptsSchema(t.schema)) {
    throw new DbError('INVALID_INPUT', `"schema" names a PostgreSQL schema; ${f.backend} has none (connect to the other database instead)`, { field: 'schema.schema' });
  }
  f.checkTable(t);
}

export function columnDef(c: Column, f: SchemaFlavor, field: string): string {
  const spec = columnSpec(c);
  const parts = [f.quote(c.name), f.type(spec, c.auto_increment)];
  if (c.auto_increment && f.autoIncrementAfterType) parts.push(f.autoIncrement);
  parts.push(c.nullable ? 'NULL' : 'NOT NULL');
  const d = defaultSql(c.default, spec, f, `${field}.default`);
  if (d !== null) parts.push(`DEFAULT ${d}`);
  if (c.auto_increment && !f.autoIncrementAfterType) parts.push(f.autoIncrement);
  if (spec.kind === 'json' && f.jsonCheck) parts.push(`CHECK (json_valid(${f.quote(c.name)}))`);
  if (c.comment !== undefined && f.comments === 'inline') parts.push(`COMMENT ${f.string(c.comment)}`);
  return parts.join(' ');
}

export function foreignKeyDef(table: string, fk: ForeignKey, f: SchemaFlavor): string {
  const name = fk.name ?? constraintName(table, fk.columns, 'fkey');
  return `CONSTRAINT ${f.quote(name)} FOREIGN KEY (${list(fk.columns, f)}) REFERENCES ${qualified({ table: fk.references.table, schema: fk.references.schema }, f)} (${list(fk.references.columns, f)}) ON DELETE ${action(fk.on_delete)} ON UPDATE ${action(fk.on_update)}`;
}

/**
 * Single-column references as foreign keys, so both kinds are written the same way.
 * A reference without a schema is to the table's own schema (SPEC §11.3): it is written
 * qualified, so it never resolves through the session's search_path to another table.
 */
export function allForeignKeys(t: Table): ForeignKey[] {
  const schemaOf = (given?: string): { schema?: string } => (given ?? t.schema ? { schema: given ?? t.schema } : {});
  const single = t.columns.filter((c) => c.references).map((c) => {
    const r = c.references!;
    return { name: r.name ?? null, columns: [c.name], references: { table: r.table, columns: [r.column], ...schemaOf(r.schema) }, on_delete: r.on_delete, on_update: r.on_update };
  });
  return [...single, ...t.foreign_keys.map((fk) => ({ ...fk, references: { ...fk.references, ...schemaOf(fk.references.schema) } }))];
}

/** A KEY clause where the flavour keeps indexes inside the table, else a CREATE INDEX statement. */
export function indexDef(t: Table, ix: Index, f: SchemaFlavor): string {
  if (f.inlineIndexes) return `${ix.unique ? 'UNIQUE ' : ''}KEY ${f.quote(ix.name)} (${list(ix.columns, f)})`;
  // The index lives in its table's schema: CREATE INDEX takes a bare name.
  return `CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${f.quote(ix.name)} ON ${qualified(t, f)} (${list(ix.columns, f)})`;
}

/** The unique constraint of one column, named as create_table names it. */
export const uniqueDef = (table: string, column: string, f: SchemaFlavor): string =>
  f.uniqueKey(f.quote(constraintName(table, [column], 'key')), f.quote(column));

/** The key's columns: in `keyOrder` where it names exactly them, else in the table's order. */
function keyColumns(t: Table, keyOrder: string[] | undefined): string[] {
  const pk = t.columns.filter((c) => c.primary_key).map((c) => c.name);
  const same = keyOrder !== undefined && keyOrder.length === pk.length && keyOrder.every((n) => pk.includes(n));
  return same ? keyOrder : pk;
}

function tableConstraints(t: Table, f: SchemaFlavor, keyOrder?: string[]): string[] {
  const out: string[] = [];
  const pk = t.columns.filter((c) => c.primary_key);
  const inlinePk = f.autoIncrementIsKey && pk.length === 1 && pk[0].auto_increment;
  if (pk.length && !inlinePk) out.push(`CONSTRAINT ${f.quote(constraintName(t.table, [], 'pkey'))} PRIMARY KEY (${list(keyColumns(t, keyOrder), f)})`);
  for (const c of t.columns.filter((x) => x.unique)) out.push(uniqueDef(t.table, c.name, f));
  for (const fk of allForeignKeys(t)) out.push(foreignKeyDef(t.table, fk, f));
  t.checks.forEach((ck, i) => {
    const expr = checkExpression(ck.expression, f.lexer, `schema.checks.${i}.expression`);
    out.push(`${ck.name ? `CONSTRAINT ${f.quote(ck.name)} ` : ''}CHECK (${expr})`);
  });
  if (f.inlineIndexes) out.push(...t.indexes.map((ix) => indexDef(t, ix, f)));
  return out;
}

/** COMMENT ON COLUMN where the flavour writes comments as statements; null elsewhere. */
export function commentSql(t: Table, c: Column, f: SchemaFlavor): string | null {
  if (f.comments !== 'statement') return null;
  return `COMMENT ON COLUMN ${qualified(t, f)}.${f.quote(c.name)} IS ${c.comment === undefined ? 'NULL' : f.string(c.comment)}`;
}

/** What a rebuild keeps that the portable schema has no field for (SQLite's table rebuild). */
export interface KeptFromTable {
  /** Table constraints written after the table's own (SQLite's multi-column UNIQUE). */
  constraints?: string[];
  /** The primary key's columns in the key's own order, where it is not the columns' (used only when it names exactly the key's columns). */
  keyOrder?: string[];
}

/** CREATE TABLE with its keys, checks and foreign keys, then its indexes and comments where they are statements. */
export function createTableSql(t: Table, f: SchemaFlavor, tableName = qualified(t, f), kept: KeptFromTable = {}): string[] {
  checkForBackend(t, f);
  const body = [...t.columns.map((c, i) => columnDef(c, f, `schema.columns.${i}`)), ...tableConstraints(t, f, kept.keyOrder), ...(kept.constraints ?? [])];
  const out = [`CREATE TABLE ${tableName} (\n  ${body.join(',\n  ')}\n)${f.tableSuffix}`];
  if (!f.inlineIndexes) out.push(...t.indexes.map((ix) => indexDef(t, ix, f)));
  for (const c of t.columns) {
    const sql = c.comment !== undefined ? commentSql(t, c, f) : null;
    if (sql) out.push(sql);
  }
  return out;
}

export const dropTableSql = (t: { table: string; schema?: string }, f: SchemaFlavor): string => `DROP TABLE ${qualified(t, f)}`;
