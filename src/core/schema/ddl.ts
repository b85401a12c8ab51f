/**
 * DDL from the portable schema. Every name passes through the flavour's quote()
 * and every literal through its string(); agent-supplied expressions (defaults,
 * checks) pass checkExpression first. Nothing else reaches the SQL text.
 */
import { DbError } from '../../errors.js';
import { checkExpression, defaultSql, MYSQL_UNINDEXABLE, type SchemaFlavor } from './flavors.js';
import { columnSpec, constraintName, type Column, type ForeignKey, type Index, type Table } from './model.js';

export const qualified = (t: { table: string; schema?: string }, f: SchemaFlavor): string =>
  (t.schema && f.backend === 'postgres' ? `${f.quote(t.schema)}.` : '') + f.quote(t.table);

const list = (names: string[], f: SchemaFlavor): string => names.map((n) => f.quote(n)).join(', ');

const action = (a: string): string => a.toUpperCase();

/** Refusals that depend on the backend, before any SQL is sent. */
export function checkForBackend(t: Table, f: SchemaFlavor): void {
  if (t.schema !== undefined && f.backend !== 'postgres' && !(f.backend === 'sqlite' && t.schema === 'main')) {
    throw new DbError('INVALID_INPUT', `"schema" names a PostgreSQL schema; ${f.backend} has none (connect to the other database instead)`, { field: 'schema.schema' });
  }
  if (f.backend !== 'mysql') return;
  // MySQL identifiers are limited to the Basic Multilingual Plane.
  const names = [t.table, ...t.columns.map((c) => c.name), ...t.indexes.map((i) => i.name)];
  const astral = names.find((n) => /[\u{10000}-\u{10FFFF}]/u.test(n));
  if (astral) throw new DbError('INVALID_INPUT', `MySQL identifiers cannot hold characters outside the Basic Multilingual Plane (emoji): "${astral}"`, { field: 'schema' });
  const keyed = new Set([...t.indexes.flatMap((i) => i.columns), ...t.columns.filter((c) => c.primary_key || c.unique).map((c) => c.name)].map((n) => n.toLowerCase()));
  const bad = t.columns.find((c) => keyed.has(c.name.toLowerCase()) && MYSQL_UNINDEXABLE.has(columnSpec(c).kind));
  if (bad) {
    throw new DbError('INVALID_INPUT', `MySQL cannot index ${bad.type} column "${bad.name}" (a key, unique or index needs a length): use varchar(n) or char(n)`, { field: 'schema.columns', column: bad.name });
  }
}

export function columnDef(c: Column, f: SchemaFlavor, field: string): string {
  const spec = columnSpec(c);
  const parts = [f.quote(c.name), f.type(spec, c.auto_increment)];
  if (c.auto_increment && f.backend === 'postgres') parts.push(f.autoIncrement);
  parts.push(c.nullable ? 'NULL' : 'NOT NULL');
  const d = defaultSql(c.default, spec, f, `${field}.default`);
  if (d !== null) parts.push(`DEFAULT ${d}`);
  if (c.auto_increment && f.backend !== 'postgres') parts.push(f.autoIncrement);
  if (spec.kind === 'json' && f.backend === 'sqlite') parts.push(`CHECK (json_valid(${f.quote(c.name)}))`);
  if (c.comment !== undefined && f.backend === 'mysql') parts.push(`COMMENT ${f.string(c.comment)}`);
  return parts.join(' ');
}

export function foreignKeyDef(table: string, fk: ForeignKey, f: SchemaFlavor): string {
  const name = fk.name ?? constraintName(table, fk.columns, 'fkey');
  return `CONSTRAINT ${f.quote(name)} FOREIGN KEY (${list(fk.columns, f)}) REFERENCES ${qualified({ table: fk.references.table, schema: fk.references.schema }, f)} (${list(fk.references.columns, f)}) ON DELETE ${action(fk.on_delete)} ON UPDATE ${action(fk.on_update)}`;
}

/** Single-column references as foreign keys, so both kinds are written the same way. */
export function allForeignKeys(t: Table): ForeignKey[] {
  const single = t.columns.filter((c) => c.references).map((c) => {
    const r = c.references!;
    return { name: null, columns: [c.name], references: { table: r.table, columns: [r.column], ...(r.schema ? { schema: r.schema } : {}) }, on_delete: r.on_delete, on_update: r.on_update };
  });
  return [...single, ...t.foreign_keys];
}

export function indexDef(t: Table, ix: Index, f: SchemaFlavor): string {
  if (f.backend === 'mysql') return `${ix.unique ? 'UNIQUE ' : ''}KEY ${f.quote(ix.name)} (${list(ix.columns, f)})`;
  // The index lives in its table's schema: CREATE INDEX takes a bare name.
  return `CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${f.quote(ix.name)} ON ${qualified(t, f)} (${list(ix.columns, f)})`;
}

function tableConstraints(t: Table, f: SchemaFlavor): string[] {
  const out: string[] = [];
  const pk = t.columns.filter((c) => c.primary_key);
  const inlinePk = f.backend === 'sqlite' && pk.length === 1 && pk[0].auto_increment;
  if (pk.length && !inlinePk) out.push(`CONSTRAINT ${f.quote(constraintName(t.table, [], 'pkey'))} PRIMARY KEY (${list(pk.map((c) => c.name), f)})`);
  for (const c of t.columns.filter((x) => x.unique)) {
    const name = f.quote(constraintName(t.table, [c.name], 'key'));
    out.push(f.backend === 'mysql' ? `UNIQUE KEY ${name} (${f.quote(c.name)})` : `CONSTRAINT ${name} UNIQUE (${f.quote(c.name)})`);
  }
  for (const fk of allForeignKeys(t)) out.push(foreignKeyDef(t.table, fk, f));
  t.checks.forEach((ck, i) => {
    const expr = checkExpression(ck.expression, f.backend, `schema.checks.${i}.expression`);
    out.push(`${ck.name ? `CONSTRAINT ${f.quote(ck.name)} ` : ''}CHECK (${expr})`);
  });
  if (f.backend === 'mysql') out.push(...t.indexes.map((ix) => indexDef(t, ix, f)));
  return out;
}

export function commentSql(t: Table, c: Column, f: SchemaFlavor): string | null {
  if (f.backend !== 'postgres') return null;
  return `COMMENT ON COLUMN ${qualified(t, f)}.${f.quote(c.name)} IS ${c.comment === undefined ? 'NULL' : f.string(c.comment)}`;
}

/** CREATE TABLE with its keys, checks and foreign keys, then its indexes (and comments on PostgreSQL). */
export function createTableSql(t: Table, f: SchemaFlavor, tableName = qualified(t, f)): string[] {
  checkForBackend(t, f);
  const body = [...t.columns.map((c, i) => columnDef(c, f, `schema.columns.${i}`)), ...tableConstraints(t, f)];
  const suffix = f.backend === 'mysql' ? ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4' : '';
  const out = [`CREATE TABLE ${tableName} (\n  ${body.join(',\n  ')}\n)${suffix}`];
  if (f.backend !== 'mysql') out.push(...t.indexes.map((ix) => indexDef(t, ix, f)));
  for (const c of t.columns) {
    const sql = c.comment !== undefined ? commentSql(t, c, f) : null;
    if (sql) out.push(sql);
  }
  return out;
}

export const dropTableSql = (t: { table: string; schema?: string }, f: SchemaFlavor): string => `DROP TABLE ${qualified(t, f)}`;
