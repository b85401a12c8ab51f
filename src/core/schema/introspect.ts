/**
 * Introspection: one catalog query per backend (never one per table or column),
 * grouped in code, mapped back to the portable schema. A table created from a
 * portable schema reads back as that schema; what has no portable form comes
 * back as `native` rather than being dropped.
 */
import { BOOKKEEPING_SCHEMA, isBookkeeping } from '../bookkeeping.js';
import type { Backend, Row, Session } from '../dialect.js';
import { constraintName, UNPORTABLE, type Check, type Column, type ForeignKey, type Index, type Table } from './model.js';
import { fkAction, makeColumn, mysqlType, pgType, readDefault, sqliteType } from './read-values.js';
import { sqliteTableSql } from './sqlite-sql.js';

export interface ReadFilter {
  /** One table by name (exact, case-sensitive). */
  table?: string;
  /** PostgreSQL: one schema; default every user schema (with table: the current schema). */
  schema?: string;
  /**
   * Also the server's own tables (core/bookkeeping.ts). A listing leaves them out unless
   * this is set, a table is named, or (PostgreSQL) their schema is asked for.
   */
  internal?: boolean;
}

type Json = Record<string, any>;

const parse = (v: unknown): Json[] => (typeof v === 'string' ? JSON.parse(v) : (v as Json[]) ?? []);
const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

// ------------------------------------------------------------------ PostgreSQL

const PG_SQL = `
SELECT n.nspname AS schema_name, c.relname AS table_name,
  coalesce((SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
      'notnull', a.attnotnull, 'default', pg_get_expr(d.adbin, d.adrelid), 'identity', a.attidentity,
      'generated', a.attgenerated, 'comment', col_description(c.oid, a.attnum)) ORDER BY a.attnum)
    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]')::text AS columns,
  coalesce((SELECT json_agg(json_build_object('name', con.conname, 'type', con.contype, 'index', con.conindid,
      'columns', (SELECT json_agg(att.attname ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
                  JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = k.num),
      'ref_schema', fn.nspname, 'ref_table', fc.relname,
      'ref_columns', (SELECT json_agg(att.attname ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
                      JOIN pg_attribute att ON att.attrelid = con.confrelid AND att.attnum = k.num),
      'on_delete', con.confdeltype, 'on_update', con.confupdtype, 'definition', pg_get_constraintdef(con.oid)) ORDER BY con.conname)
    FROM pg_constraint con LEFT JOIN pg_class fc ON fc.oid = con.confrelid LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
    WHERE con.conrelid = c.oid), '[]')::text AS constraints,
  coalesce((SELECT json_agg(json_build_object('name', ic.relname, 'oid', x.indexrelid, 'unique', x.indisunique,
      'plain', x.indexprs IS NULL AND x.indpred IS NULL, 'definition', pg_get_indexdef(x.indexrelid),
      'columns', (SELECT json_agg(att.attname ORDER BY k.ord) FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(num, ord)
                  JOIN pg_attribute att ON att.attrelid = x.indrelid AND att.attnum = k.num WHERE k.ord <= x.indnkeyatts)))
    FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid WHERE x.indrelid = c.oid), '[]')::text AS indexes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
  AND (($1::text IS NULL AND $2::text IS NULL) OR n.nspname = coalesce($1::text, current_schema()))
  AND ($2::text IS NULL OR c.relname = $2)
ORDER BY n.nspname, c.relname`;

function pgTable(row: Row): Table {
  const constraints = parse(row.constraints);
  const pk = new Set<string>(constraints.find((k) => k.type === 'p')?.columns ?? []);
  const uniqueCols = new Set(constraints.filter((k) => k.type === 'u' && k.columns?.length === 1).map((k) => k.columns[0] as string));
  const backing = new Set(constraints.filter((k) => k.type === 'p' || (k.type === 'u' && k.columns?.length === 1)).map((k) => k.index));
  const fks = constraints.filter((k) => k.type === 'f');
  const singleFk = new Map(fks.filter((k) => k.columns.length === 1).map((k) => [k.columns[0] as string, k]));
  const schema = String(row.schema_name);
  const columns = parse(row.columns).map((a): Column => {
    const spec = pgType(a.type);
    const d = readDefault(a.default, spec, 'postgres');
    const auto = (a.identity === 'a' || a.identity === 'd' || d.sequence) && pk.has(a.name) && pk.size === 1;
    const col = makeColumn(a.name, spec, {
      nullable: !a.notnull, primary_key: pk.has(a.name), auto_increment: auto, unique: uniqueCols.has(a.name) && !pk.has(a.name),
      default: auto || a.generated ? null : d.value,
    });
    const fk = singleFk.get(a.name);
    if (fk) {
      col.references = { table: fk.ref_table, column: fk.ref_columns[0], on_delete: fkAction(fk.on_delete), on_update: fkAction(fk.on_update) };
      if (fk.ref_schema !== schema) col.references.schema = fk.ref_schema;
      if (fk.name !== constraintName(String(row.table_name), [a.name], 'fkey')) col.references.name = fk.name;
    }
    if (a.comment !== null) col.comment = a.comment;
    return col;
  });
  const indexes = parse(row.indexes).filter((x) => !backing.has(x.oid)).map((x): Index => {
    const ix: Index = { name: x.name, columns: x.columns ?? [], unique: x.unique };
    if (!x.plain) ix.native = x.definition;
    return ix;
  }).sort(byName);
  const foreign_keys = fks.filter((k) => k.columns.length > 1).map((k): ForeignKey => ({
    name: k.name, columns: k.columns, references: { table: k.ref_table, columns: k.ref_columns, ...(k.ref_schema !== schema ? { schema: k.ref_schema } : {}) },
    on_delete: fkAction(k.on_delete), on_update: fkAction(k.on_update),
  }));
  const checks = constraints.filter((k) => k.type === 'c').map((k): Check => ({ name: k.name, expression: String(k.definition).replace(/^CHECK \((.*)\)( NOT VALID)?$/s, '$1') }));
  return { table: String(row.table_name), schema, columns, indexes, foreign_keys, checks };
}

/** Without a schema: every user schema, or with a table, the current schema. */
async function readPostgres(s: Session, f: ReadFilter): Promise<Table[]> {
  return (await s.query(PG_SQL, [f.schema ?? null, f.table ?? null])).map(pgTable);
}

// ------------------------------------------------------------------ MySQL / MariaDB

function mysqlSql(mariadb: boolean): string {
  const where = (alias: string) => `${alias}.TABLE_SCHEMA = DATABASE() AND (? IS NULL OR ${alias}.TABLE_NAME = ?)`;
  return `
SELECT 'c' AS kind, c.TABLE_NAME AS tbl, JSON_OBJECT('name', c.COLUMN_NAME, 'pos', c.ORDINAL_POSITION, 'data_type', c.DATA_TYPE,
    'column_type', c.COLUMN_TYPE, 'nullable', c.IS_NULLABLE, 'default', c.COLUMN_DEFAULT, 'extra', c.EXTRA, 'comment', c.COLUMN_COMMENT,
    'charset', c.CHARACTER_SET_NAME) AS j
  FROM information_schema.COLUMNS c JOIN information_schema.TABLES t
    ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE = 'BASE TABLE'
  WHERE ${where('c')}
UNION ALL
SELECT 'i', s.TABLE_NAME, JSON_OBJECT('name', s.INDEX_NAME, 'non_unique', s.NON_UNIQUE, 'seq', s.SEQ_IN_INDEX, 'column', s.COLUMN_NAME, 'sub_part', s.SUB_PART)
  FROM information_schema.STATISTICS s WHERE ${where('s')}
UNION ALL
SELECT 'f', k.TABLE_NAME, JSON_OBJECT('name', k.CONSTRAINT_NAME, 'column', k.COLUMN_NAME, 'pos', k.ORDINAL_POSITION,
    'ref_schema', k.REFERENCED_TABLE_SCHEMA, 'ref_table', k.REFERENCED_TABLE_NAME, 'ref_column', k.REFERENCED_COLUMN_NAME,
    'on_delete', r.DELETE_RULE, 'on_update', r.UPDATE_RULE)
  FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r
    ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
  WHERE k.REFERENCED_TABLE_NAME IS NOT NULL AND ${where('k')}
UNION ALL
SELECT 'k', tc.TABLE_NAME, JSON_OBJECT('name', cc.CONSTRAINT_NAME, 'clause', cc.CHECK_CLAUSE)
  FROM information_schema.TABLE_CONSTRAINTS tc JOIN information_schema.CHECK_CONSTRAINTS cc
    ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME${mariadb ? ' AND cc.TABLE_NAME = tc.TABLE_NAME' : ''}
  WHERE tc.CONSTRAINT_TYPE = 'CHECK' AND ${where('tc')}`;
}

interface Grouped { c: Json[]; i: Json[]; f: Json[]; k: Json[]; t: Json[] }

function group(rows: Row[]): Map<string, Grouped> {
  const out = new Map<string, Grouped>();
  for (const r of rows) {
    const name = String(r.tbl);
    let g = out.get(name);
    if (!g) out.set(name, (g = { c: [], i: [], f: [], k: [], t: [] }));
    g[r.kind as keyof Grouped].push(typeof r.j === 'string' ? JSON.parse(r.j) : (r.j as Json));
  }
  return out;
}

function groupByName(items: Json[], order: string): Map<string, Json[]> {
  const m = new Map<string, Json[]>();
  for (const x of [...items].sort((a, b) => a[order] - b[order])) m.set(x.name, [...(m.get(x.name) ?? []), x]);
  return m;
}

function mysqlTable(name: string, g: Grouped, mariadb: boolean): Table {
  // MariaDB's JSON is LONGTEXT plus a CHECK (json_valid(`col`)) named after the column.
  const jsonCols = new Set(g.k.filter((k) => new RegExp(`^json_valid\\(\`${k.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\`\\)$`).test(k.clause)).map((k) => k.name as string));
  const fks = groupByName(g.f, 'pos');
  const indexes = groupByName(g.i, 'seq');
  const pk = new Set((indexes.get('PRIMARY') ?? []).map((x) => x.column as string));
  const uniqueCols = new Set<string>();
  const out: Index[] = [];
  for (const [ixName, parts] of indexes) {
    if (ixName === 'PRIMARY') continue;
    const cols = parts.map((p) => p.column as string);
    const unique = Number(parts[0].non_unique) === 0;
    // A column's own unique constraint is the one named as create_table names it; any other is an index.
    if (unique && cols.length === 1 && ixName === constraintName(name, cols, 'key')) { uniqueCols.add(cols[0]); continue; }
    // InnoDB adds an index named after a foreign key that has none: it is the key's, not the user's.
    const fk = fks.get(ixName);
    if (fk && fk.map((p) => p.column).join('\u0000') === cols.join('\u0000')) continue;
    const ix: Index = { name: ixName, columns: cols, unique };
    if (parts.some((p) => p.sub_part !== null || p.column === null)) ix.native = `${parts.map((p) => `${p.column ?? '(expression)'}${p.sub_part ? `(${p.sub_part})` : ''}`).join(', ')}`;
    out.push(ix);
  }
  const single = new Map([...fks].filter(([, parts]) => parts.length === 1).map(([, parts]) => [parts[0].column as string, parts[0]]));
  const columns = [...g.c].sort((a, b) => a.pos - b.pos).map((c): Column => {
    const spec = mysqlType(c.data_type, c.column_type, jsonCols.has(c.name));
    const auto = /auto_increment/i.test(c.extra);
    const d = readDefault(c.default, spec, 'mysql', mariadb ? undefined : /DEFAULT_GENERATED/i.test(c.extra));
    const col = makeColumn(c.name, spec, {
      nullable: c.nullable === 'YES', primary_key: pk.has(c.name), auto_increment: auto, unique: uniqueCols.has(c.name), default: auto ? null : d.value,
    });
    const fk = single.get(c.name);
    if (fk) {
      col.references = { table: fk.ref_table, column: fk.ref_column, on_delete: fkAction(fk.on_delete), on_update: fkAction(fk.on_update) };
      if (fk.name !== constraintName(name, [c.name], 'fkey')) col.references.name = fk.name;
    }
    if (c.comment) col.comment = c.comment;
    const odd = [
      ...(/on update|invisible|generated|persistent/i.test(c.extra) ? [String(c.extra).toLowerCase()] : []),
      ...(c.charset && c.charset !== 'utf8mb4' ? [`character set ${c.charset}`] : []),
    ];
    if (odd.length) (col as Column & { [UNPORTABLE]?: string[] })[UNPORTABLE] = odd;
    return col;
  });
  const foreign_keys = [...fks].filter(([, parts]) => parts.length > 1).map(([fkName, parts]): ForeignKey => ({
    name: fkName, columns: parts.map((p) => p.column), references: { table: parts[0].ref_table, columns: parts.map((p) => p.ref_column) },
    on_delete: fkAction(parts[0].on_delete), on_update: fkAction(parts[0].on_update),
  }));
  const checks = g.k.filter((k) => !jsonCols.has(k.name)).map((k): Check => ({ name: k.name, expression: k.clause }));
  return { table: name, columns, indexes: out.sort(byName), foreign_keys, checks };
}

async function readMysql(s: Session, f: ReadFilter, mariadb: boolean): Promise<Table[]> {
  const t = f.table ?? null;
  const rows = await s.query(mysqlSql(mariadb), [t, t, t, t, t, t, t, t]);
  return [...group(rows)].filter(([, g]) => g.c.length > 0).map(([name, g]) => mysqlTable(name, g, mariadb)).sort((a, b) => byName({ name: a.table }, { name: b.table }));
}

// ------------------------------------------------------------------ SQLite

const SQLITE_SQL = `
WITH m AS (SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND (? IS NULL OR name = ? COLLATE NOCASE))
SELECT 't' AS kind, m.name AS tbl, json_object('sql', m.sql) AS j FROM m
UNION ALL
SELECT 'c', m.name, json_object('name', p.name, 'cid', p.cid, 'type', p.type, 'notnull', p."notnull", 'default', p.dflt_value, 'pk', p.pk, 'hidden', p.hidden)
  FROM m JOIN pragma_table_xinfo(m.name) p
UNION ALL
SELECT 'i', m.name, json_object('name', il.name, 'unique', il."unique", 'origin', il.origin, 'partial', il.partial,
    'columns', (SELECT json_group_array(ii.name) FROM pragma_index_info(il.name) ii),
    'sql', (SELECT s.sql FROM sqlite_schema s WHERE s.type = 'index' AND s.name = il.name))
  FROM m JOIN pragma_index_list(m.name) il
UNION ALL
SELECT 'f', m.name, json_object('id', f.id, 'seq', f.seq, 'table', f."table", 'from', f."from",
    'to', coalesce(f."to", (SELECT p.name FROM pragma_table_info(f."table") p WHERE p.pk = f.seq + 1)), 'on_update', f.on_update, 'on_delete', f.on_delete)
  FROM m JOIN pragma_foreign_key_list(m.name) f`;

function sqliteTable(name: string, g: Grouped): Table {
  const parsed = sqliteTableSql(String(g.t[0]?.sql ?? ''));
  const cols = g.c.filter((c) => c.hidden === 0).sort((a, b) => a.cid - b.cid);
  const pkCols = cols.filter((c) => c.pk > 0);
  const uniqueCols = new Set<string>();
  const indexes: Index[] = [];
  for (const ix of g.i) {
    const columns = (Array.isArray(ix.columns) ? ix.columns : JSON.parse(ix.columns)) as Array<string | null>;
    if (ix.origin === 'pk') continue;
    if (ix.origin === 'u' && columns.length === 1 && columns[0] !== null) { uniqueCols.add(columns[0]); continue; }
    const out: Index = { name: ix.name, columns: columns.filter((c): c is string => c !== null), unique: ix.unique === 1 };
    if (ix.partial === 1 || columns.includes(null)) out.native = ix.sql ?? '';
    indexes.push(out);
  }
  const fks = new Map<number, Json[]>();
  for (const f of [...g.f].sort((a, b) => a.seq - b.seq)) fks.set(f.id, [...(fks.get(f.id) ?? []), f]);
  const single = new Map([...fks.values()].filter((p) => p.length === 1).map((p) => [p[0].from as string, p[0]]));
  const columns = cols.map((c): Column => {
    const rowid = pkCols.length === 1 && c.pk === 1 && String(c.type).toUpperCase() === 'INTEGER' && !parsed.withoutRowid;
    const spec = sqliteType(String(c.type), parsed.jsonColumns.has(c.name.toLowerCase()), rowid);
    const col = makeColumn(c.name, spec, {
      nullable: c.notnull === 0 && c.pk === 0, primary_key: c.pk > 0, auto_increment: rowid, unique: uniqueCols.has(c.name),
      default: readDefault(c.default, spec, 'sqlite').value,
    });
    const fk = single.get(c.name);
    if (fk) col.references = { table: fk.table, column: fk.to, on_delete: fkAction(fk.on_delete), on_update: fkAction(fk.on_update) };
    return col;
  });
  const foreign_keys = [...fks.values()].filter((p) => p.length > 1).map((p): ForeignKey => ({
    name: null, columns: p.map((x) => x.from), references: { table: p[0].table, columns: p.map((x) => x.to) },
    on_delete: fkAction(p[0].on_delete), on_update: fkAction(p[0].on_update),
  }));
  return { table: name, columns, indexes: indexes.sort(byName), foreign_keys, checks: parsed.checks };
}

async function readSqlite(s: Session, f: ReadFilter): Promise<Table[]> {
  const t = f.table ?? null;
  const grouped = group(await s.query(SQLITE_SQL, [t, t]));
  return [...grouped].map(([name, g]) => sqliteTable(name, g)).sort((a, b) => byName({ name: a.table }, { name: b.table }));
}

export interface ReadContext {
  backend: Backend;
  /** ServerInfo.flavor === 'mariadb'. */
  mariadb: boolean;
}

/** The portable schema of every table the filter selects, sorted by schema and name. */
export async function readTables(s: Session, rc: ReadContext, f: ReadFilter): Promise<Table[]> {
  const all = rc.backend === 'postgres' ? await readPostgres(s, f) : rc.backend === 'mysql' ? await readMysql(s, f, rc.mariadb) : await readSqlite(s, f);
  if (f.internal || f.table !== undefined || f.schema === BOOKKEEPING_SCHEMA) return all;
  return all.filter((t) => !isBookkeeping(t));
}
