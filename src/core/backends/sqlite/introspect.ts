/**
 * sqlite: the catalog reader. One query over sqlite_schema and the table-valued pragmas
 * (table_xinfo, index_list, index_info, foreign_key_list), grouped per table in code; what
 * SQLite keeps only in the CREATE TABLE text (checks, json columns) is read from it.
 */
import type { ReadFilter } from '../contract/schema.js';
import type { Session } from '../../dialect.js';
import { markHiddenUnportable, markUnportable, parseType, UNPORTABLE, type ForeignKey, type Index, type Table, type TypeSpec, type Column } from '../../schema/model.js';
import {
  byName, byTableName, fkAction, groupRows, isNullDefault, makeColumn, nativeType, readDefaultText, tryPortable, type DefaultRead, type Grouped, type Json,
} from '../../schema/read-values.js';
import { sqliteTableSql } from './table-sql.js';

const SQL = `
WITH m AS (SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND (? IS NULL OR name = ? COLLATE NOCASE)
  AND name NOT IN (SELECT l.name FROM pragma_table_list l WHERE l.schema = 'main' AND l.type = 'shadow'))
SELECT 't' AS kind, m.name AS tbl, json_object('sql', m.sql) AS j FROM m
UNION ALL
SELECT 'c', m.name, json_object('name', p.name, 'cid', p.cid, 'type', p.type, 'notnull', p."notnull", 'default', p.dflt_value, 'pk', p.pk, 'hidden', p.hidden)
  FROM m JOIN pragma_table_xinfo(m.name) p
UNION ALL
SELECT 'i', m.name, json_object('name', il.name, 'unique', il."unique", 'origin', il.origin, 'partial', il.partial,
    'parts', (SELECT json_group_array(json_object('name', x.name, 'desc', x."desc", 'coll', x.coll)) FROM pragma_index_xinfo(il.name) x WHERE x.key = 1),
    'sql', (SELECT s.sql FROM sqlite_schema s WHERE s.type = 'index' AND s.name = il.name))
  FROM m JOIN pragma_index_list(m.name) il
UNION ALL
SELECT 'f', m.name, json_object('id', f.id, 'seq', f.seq, 'table', f."table", 'from', f."from",
    'to', coalesce(f."to", (SELECT p.name FROM pragma_table_info(f."table") p WHERE p.pk = f.seq + 1)), 'on_update', f.on_update, 'on_delete', f.on_delete)
  FROM m JOIN pragma_foreign_key_list(m.name) f`;

/**
 * Declared types read as portable ones. Every float SQLite stores is 8 bytes, whatever its
 * declared type: REAL, FLOAT, FLOAT4 and DOUBLE are `double` (as `real`, 4 bytes on
 * PostgreSQL and MySQL, a copy would round 3.141592653589793 to 3.14159 and say nothing).
 */
const SIMPLE: Record<string, string> = {
  INT: 'integer', INTEGER: 'integer', BIGINT: 'bigint', SMALLINT: 'smallint', REAL: 'double', FLOAT: 'double', FLOAT4: 'double', DOUBLE: 'double', 'DOUBLE PRECISION': 'double',
  BOOLEAN: 'boolean', TEXT: 'text', DATE: 'date', TIME: 'time', TIMESTAMP: 'timestamp', DATETIME: 'timestamp', TIMESTAMPTZ: 'timestamptz',
  UUID: 'uuid', JSON: 'json', BLOB: 'binary',
};

/** From the declared type (any text SQLite kept); `rowidAlias` marks the INTEGER PRIMARY KEY. */
export function sqliteType(declared: string, jsonChecked: boolean, rowidAlias: boolean): TypeSpec {
  const d = declared.trim().toUpperCase().replace(/\s+/g, ' ');
  if (rowidAlias) return { kind: 'bigint' };
  if (jsonChecked && d === 'TEXT') return { kind: 'json' };
  if (Object.hasOwn(SIMPLE, d)) return parseType(SIMPLE[d], undefined);
  if (/^(DECIMAL|NUMERIC|VARCHAR|CHAR)\s*\(\s*\d+\s*(,\s*\d+\s*)?\)$/.test(d)) return tryPortable(d) ?? nativeType(declared);
  return nativeType(declared);
}

/** A column default from pragma table_xinfo: the text as it was declared. */
export function sqliteDefault(raw: string | null, spec: TypeSpec): DefaultRead {
  if (raw === null || raw === undefined) return { value: null, sequence: false };
  const text = raw.trim();
  if (isNullDefault(text)) return { value: null, sequence: false };
  return readDefaultText(text, spec, false);
}

/** A UNIQUE table constraint's index (SQLite keeps no SQL for it) as the constraint would be written. */
function uniqueConstraint(columns: Array<string | null>, ordered: Array<{ name: string | null; desc: number; coll: string | null }>): string {
  const part = (c: string | null): string => {
    const o = ordered.find((x) => x.name === c);
    return `"${String(c).replaceAll('"', '""')}"${o?.coll ? ` COLLATE ${o.coll}` : ''}${o?.desc ? ' DESC' : ''}`;
  };
  return `UNIQUE (${columns.map(part).join(', ')})`;
}

/** A collation's name as SQLite compares them: unquoted, any case. */
const collationName = (name: string): string => name.replace(/^["'`[]|["'`\]]$/g, '').toUpperCase();

/**
 * `collation(column)`: the collation a column was declared with (BINARY when none). `parts`
 * whose order is descending, or whose collation is not their column's, are what a column
 * list does not say (an index on a NOCASE column is NOCASE without saying so).
 */
function sqliteIndexes(g: Grouped, uniqueCols: Set<string>, collation: (column: string) => string): Index[] {
  const indexes: Index[] = [];
  for (const ix of g.i) {
    // The key's parts in order (an expression's name is null), with their order and collation.
    const parts = (Array.isArray(ix.parts) ? ix.parts : JSON.parse(ix.parts ?? '[]')) as Array<{ name: string | null; desc: number; coll: string | null }>;
    const columns = parts.map((p) => p.name);
    const ordered = parts.filter((p) => p.name !== null && (p.desc === 1 || collationName(p.coll ?? 'BINARY') !== collation(p.name)));
    if (ix.origin === 'pk') continue;
    if (ix.origin === 'u' && columns.length === 1 && columns[0] !== null && !ordered.length) { uniqueCols.add(columns[0]); continue; }
    const out: Index = { name: ix.name, columns: columns.filter((c): c is string => c !== null), unique: ix.unique === 1 };
    // What a column list does not say: a predicate, an expression, a descending part or a collation of its own.
    if (ix.partial === 1 || columns.includes(null) || ordered.length) out.native = ix.sql ?? uniqueConstraint(columns, ordered);
    indexes.push(out);
  }
  return indexes.sort(byName);
}

function sqliteTable(name: string, g: Grouped): Table {
  const parsed = sqliteTableSql(String(g.t[0]?.sql ?? ''));
  const cols = g.c.filter((c) => c.hidden === 0).sort((a, b) => a.cid - b.cid);
  const pkCols = cols.filter((c) => c.pk > 0);
  const uniqueCols = new Set<string>();
  const declared = (column: string): string => {
    const f = parsed.columnFeatures.get(column.toLowerCase())?.find((x) => x.startsWith('COLLATE '));
    return f ? collationName(f.slice('COLLATE '.length)) : 'BINARY';
  };
  const indexes = sqliteIndexes(g, uniqueCols, declared);
  const fks = new Map<number, Json[]>();
  for (const f of [...g.f].sort((a, b) => a.seq - b.seq)) fks.set(f.id, [...(fks.get(f.id) ?? []), f]);
  const single = new Map([...fks.values()].filter((p) => p.length === 1).map((p) => [p[0].from as string, p[0]]));
  const columns = cols.map((c): Column => {
    const rowid = pkCols.length === 1 && c.pk === 1 && String(c.type).toUpperCase() === 'INTEGER' && !parsed.withoutRowid;
    const spec = sqliteType(String(c.type), parsed.jsonColumns.has(c.name.toLowerCase()), rowid);
    const col = makeColumn(c.name, spec, {
      nullable: c.notnull === 0 && c.pk === 0, primary_key: c.pk > 0, auto_increment: rowid, unique: uniqueCols.has(c.name),
      default: sqliteDefault(c.default, spec).value,
    });
    const fk = single.get(c.name);
    if (fk) col.references = { table: fk.table, column: fk.to, on_delete: fkAction(fk.on_delete), on_update: fkAction(fk.on_update) };
    const odd = parsed.columnFeatures.get(c.name.toLowerCase());
    if (odd?.length) (col as Column & { [UNPORTABLE]?: string[] })[UNPORTABLE] = odd;
    return col;
  });
  const foreign_keys = [...fks.values()].filter((p) => p.length > 1).map((p): ForeignKey => ({
    name: null, columns: p.map((x) => x.from), references: { table: p[0].table, columns: p.map((x) => x.to) },
    on_delete: fkAction(p[0].on_delete), on_update: fkAction(p[0].on_update),
  }));
  const table: Table = { table: name, columns, indexes, foreign_keys, checks: parsed.checks };
  // The portable table lists a key's columns in the table's order: a key of its own order (`PRIMARY KEY (tag, artist_id)`) is not carried.
  const key = [...pkCols].sort((a, b) => a.pk - b.pk).map((c) => c.name as string);
  const keyOrder = key.join('\u0000') !== pkCols.map((c) => c.name).join('\u0000') ? [`primary key (${key.join(', ')}) in that order`] : [];
  // Behaviour the table's SQL gives that no column carries: deferred foreign-key checks, a conflict clause, the table's options.
  // A virtual table (full text, r-tree) is an ordinary table anywhere else.
  const virtual = /^\s*CREATE\s+VIRTUAL\s+TABLE\b[\s\S]*?\bUSING\s+(\w+)/i.exec(String(g.t[0]?.sql ?? ''));
  markUnportable(table, [...(virtual ? [`virtual table using ${virtual[1]}`] : []), ...keyOrder, ...parsed.unportable.filter((f) => /^(DEFERRABLE|ON CONFLICT|WITHOUT ROWID$|STRICT$)/.test(f))]);
  // Generated columns are hidden from the portable table: what they were is kept for a restore elsewhere to list.
  const hidden = g.c.filter((c) => c.hidden !== 0).map((c) => [c.name as string, parsed.columnFeatures.get(String(c.name).toLowerCase()) ?? ['a generated column']] as const);
  markHiddenUnportable(table, Object.fromEntries(hidden));
  return table;
}

/** Tables of the main database; a named table matches case-insensitively, as SQLite resolves names. */
export async function readSqliteTables(s: Session, f: ReadFilter): Promise<Table[]> {
  const t = f.table ?? null;
  return [...groupRows(await s.query(SQL, [t, t]))].map(([name, g]) => sqliteTable(name, g)).sort(byTableName);
}
