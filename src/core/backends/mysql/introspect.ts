/**
 * mysql: the catalog reader for MySQL and MariaDB. One information_schema query (tables,
 * columns, index parts, foreign key parts and their rules, checks, UNION ALL), grouped per
 * table in code and mapped back to the portable schema (rules a SELECT-only account cannot
 * see there come from SHOW CREATE TABLE); what has no portable form comes back as `native`.
 */
import type { ReadFilter } from '../contract/schema.js';
import type { ServerInfo, Session } from '../../dialect.js';
import { constraintName, markUnportable, parseType, UNPORTABLE, unportableOf, type Check, type Column, type ForeignKey, type Index, type Table, type TypeSpec } from '../../schema/model.js';
import {
  byName, byTableName, fkAction, groupRows, makeColumn, nativeType, readDefaultText, tryPortable, typedLiteral, type DefaultRead, type Grouped, type Json,
} from '../../schema/read-values.js';
import { doubled } from '../../schema/sql-text.js';

const quoted = doubled('`');

/**
 * One catalog query, a part per kind and no joins: MariaDB fills each information_schema
 * table it reads (opening every table's definition), and a join of two of them took 7 ms
 * to 30 ms where the parts alone take under 1 ms each (the first query of every backup and
 * get_schema). The parts are joined here: a table's own row (`t`) with its columns, each
 * foreign key's rules (`r`) with its columns (`f`). MySQL 8's CHECK_CONSTRAINTS has no
 * TABLE_NAME, so there the checks keep their join (its information_schema is views over
 * the data dictionary, where a join is cheap).
 */
function sql(mariadb: boolean): string {
  const where = (alias: string, schema = 'TABLE_SCHEMA') => `${alias}.${schema} = DATABASE() AND (? IS NULL OR ${alias}.TABLE_NAME = ?)`;
  return `
SELECT 't' AS kind, t.TABLE_NAME AS tbl, JSON_OBJECT('collation', t.TABLE_COLLATION, 'versioned', t.TABLE_TYPE = 'SYSTEM VERSIONED',
    'comment', t.TABLE_COMMENT, 'partitioned', t.CREATE_OPTIONS LIKE '%partitioned%') AS j
  FROM information_schema.TABLES t WHERE t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND ${where('t')}
UNION ALL
SELECT 'c', c.TABLE_NAME, JSON_OBJECT('name', c.COLUMN_NAME, 'pos', c.ORDINAL_POSITION, 'data_type', c.DATA_TYPE,
    'column_type', c.COLUMN_TYPE, 'nullable', c.IS_NULLABLE, 'default', c.COLUMN_DEFAULT, 'extra', c.EXTRA, 'comment', c.COLUMN_COMMENT,
    'charset', c.CHARACTER_SET_NAME, 'collation', c.COLLATION_NAME,
    'period', IF(c.GENERATION_EXPRESSION IN ('ROW START', 'ROW END'), c.GENERATION_EXPRESSION, NULL))
  FROM information_schema.COLUMNS c WHERE ${where('c')}
UNION ALL
SELECT 'i', s.TABLE_NAME, JSON_OBJECT('name', s.INDEX_NAME, 'non_unique', s.NON_UNIQUE, 'seq', s.SEQ_IN_INDEX, 'column', s.COLUMN_NAME, 'sub_part', s.SUB_PART,
    'type', s.INDEX_TYPE, 'collation', s.COLLATION)
  FROM information_schema.STATISTICS s WHERE ${where('s')}
UNION ALL
SELECT 'f', k.TABLE_NAME, JSON_OBJECT('name', k.CONSTRAINT_NAME, 'column', k.COLUMN_NAME, 'pos', k.ORDINAL_POSITION,
    'ref_schema', k.REFERENCED_TABLE_SCHEMA, 'ref_table', k.REFERENCED_TABLE_NAME, 'ref_column', k.REFERENCED_COLUMN_NAME,
    'other_db', k.REFERENCED_TABLE_SCHEMA <> DATABASE())
  FROM information_schema.KEY_COLUMN_USAGE k WHERE k.REFERENCED_TABLE_NAME IS NOT NULL AND ${where('k')}
UNION ALL
SELECT 'r', r.TABLE_NAME, JSON_OBJECT('name', r.CONSTRAINT_NAME, 'on_delete', r.DELETE_RULE, 'on_update', r.UPDATE_RULE)
  FROM information_schema.REFERENTIAL_CONSTRAINTS r WHERE ${where('r', 'CONSTRAINT_SCHEMA')}
UNION ALL
${mariadb
    ? `SELECT 'k', cc.TABLE_NAME, JSON_OBJECT('name', cc.CONSTRAINT_NAME, 'clause', cc.CHECK_CLAUSE)
  FROM information_schema.CHECK_CONSTRAINTS cc WHERE ${where('cc', 'CONSTRAINT_SCHEMA')}`
    : `SELECT 'k', tc.TABLE_NAME, JSON_OBJECT('name', cc.CONSTRAINT_NAME, 'clause', cc.CHECK_CLAUSE)
  FROM information_schema.TABLE_CONSTRAINTS tc JOIN information_schema.CHECK_CONSTRAINTS cc
    ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
  WHERE tc.CONSTRAINT_TYPE = 'CHECK' AND ${where('tc')}`}`;
}

/** Parameters of sql(): each part's table filter takes the table name twice. */
const PARTS = 6;

const SIMPLE: Record<string, string> = {
  int: 'integer', bigint: 'bigint', smallint: 'smallint', double: 'double', date: 'date', time: 'time', datetime: 'timestamp',
  timestamp: 'timestamptz', uuid: 'uuid', json: 'json', tinytext: 'text', text: 'text', mediumtext: 'text', longtext: 'text',
  tinyblob: 'binary', blob: 'binary', mediumblob: 'binary', longblob: 'binary',
};

/**
 * From information_schema DATA_TYPE and COLUMN_TYPE ('int(11)', 'tinyint(1)', 'decimal(10,2)', 'int(10) unsigned').
 * A native type keeps COLUMN_TYPE as the server wrote it: ENUM and SET labels are case-sensitive
 * data (`enum('G','PG')`), and a lower-cased copy would rewrite every row when used in DDL.
 */
export function mysqlType(dataType: string, columnType: string, jsonChecked: boolean): TypeSpec {
  const dt = dataType.toLowerCase();
  const ct = columnType.toLowerCase();
  const asIs = nativeType(columnType.trim());
  if (/unsigned|zerofill/.test(ct)) return asIs;
  if (dt === 'longtext' && jsonChecked) return { kind: 'json' };
  if (dt === 'tinyint') return ct === 'tinyint(1)' ? { kind: 'boolean' } : asIs;
  if (dt === 'float') return ct === 'float' ? { kind: 'real' } : asIs;
  // TIME / DATETIME / TIMESTAMP carry their fractional precision; every precision reads as the same kind.
  if (['time', 'datetime', 'timestamp'].includes(dt) && /^\w+(\(\d\))?$/.test(ct)) return parseType(SIMPLE[dt], undefined);
  if (['decimal', 'varchar', 'char'].includes(dt)) return tryPortable(ct) ?? asIs;
  if (Object.hasOwn(SIMPLE, dt) && (ct === dt || /^(int|bigint|smallint)\(\d+\)$/.test(ct))) return parseType(SIMPLE[dt], undefined);
  return asIs;
}

/**
 * A column default from COLUMN_DEFAULT. `expression`: MySQL 8 reports string literals
 * bare and marks expressions DEFAULT_GENERATED (false: a bare literal); MariaDB quotes
 * literals (undefined).
 */
export function mysqlDefault(raw: string | null, spec: TypeSpec, expression?: boolean): DefaultRead {
  if (raw === null || raw === undefined) return { value: null, sequence: false };
  const text = raw.trim();
  if (expression === false) return { value: typedLiteral(text, spec), sequence: false };
  if (text === 'NULL') return { value: null, sequence: false };
  return readDefaultText(text, spec, true);
}

function groupByName(items: Json[], order: string): Map<string, Json[]> {
  const m = new Map<string, Json[]>();
  for (const x of [...items].sort((a, b) => a[order] - b[order])) m.set(x.name, [...(m.get(x.name) ?? []), x]);
  return m;
}

/** Index types that are no ordered list of columns (a plain index on the same columns is another thing). */
const SPECIAL_INDEX = new Set(['FULLTEXT', 'SPATIAL']);

/** Indexes other than the primary key, a column's own unique key and InnoDB's index for a foreign key. */
function userIndexes(name: string, indexes: Map<string, Json[]>, fks: Map<string, Json[]>, uniqueCols: Set<string>): Index[] {
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
    // A column list does not say it all: a prefix, an expression, a descending part, or a FULLTEXT or SPATIAL index.
    const kind = SPECIAL_INDEX.has(String(parts[0].type)) ? `${String(parts[0].type)} ` : '';
    if (kind || parts.some((p) => p.sub_part !== null || p.column === null || p.collation === 'D')) {
      const list = parts.map((p) => `${p.column ?? '(expression)'}${p.sub_part ? `(${p.sub_part})` : ''}${p.collation === 'D' ? ' DESC' : ''}`).join(', ');
      ix.native = kind ? `${kind}(${list})` : list;
    }
    out.push(ix);
  }
  return out.sort(byName);
}

/**
 * A column's collation when its rules are not its table's: comparisons, sorting and
 * unique keys follow it (`utf8mb3_bin`, `latin1_german2_ci`, `utf8mb4_unicode_520_ci` in
 * a `utf8mb4_general_ci` table). The same rules over another character set
 * (`utf8mb3_general_ci`: Chinook's NVARCHAR) and a JSON column's `utf8mb4_bin` are not its own.
 */
function ownCollation(c: Json, tableCollation: unknown, json: boolean): boolean {
  const rules = (x: unknown): string => String(x).replace(/^[a-z0-9]+?_/i, '');
  return !json && Boolean(c.collation) && Boolean(tableCollation) && rules(c.collation) !== rules(tableCollation);
}

function mysqlTable(name: string, g: Grouped, mariadb: boolean): Table {
  // MariaDB's JSON is LONGTEXT plus a CHECK (json_valid(`col`)) named after the column (its backticks doubled in the clause).
  const jsonCols = new Set(g.k.filter((k) => new RegExp(`^json_valid\\(${quoted(k.name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`).test(k.clause)).map((k) => k.name as string));
  const own = g.t[0] ?? {};
  const rules = new Map(g.r.map((r) => [r.name as string, r]));
  const fks = groupByName(g.f.map((f) => ({ ...f, on_delete: rules.get(f.name)?.on_delete, on_update: rules.get(f.name)?.on_update })), 'pos');
  const indexes = groupByName(g.i, 'seq');
  const key = (indexes.get('PRIMARY') ?? []).map((x) => x.column as string);
  const pk = new Set(key);
  const uniqueCols = new Set<string>();
  const out = userIndexes(name, indexes, fks, uniqueCols);
  // A key to a table of another database is not one the portable table can name (its
  // `references` are this database's tables): said in the table's unportable, and left out.
  const elsewhere = [...fks].filter(([, parts]) => Number(parts[0].other_db) === 1);
  for (const [fkName] of elsewhere) fks.delete(fkName);
  const single = new Map([...fks].filter(([, parts]) => parts.length === 1).map(([, parts]) => [parts[0].column as string, parts[0]]));
  const columns = [...g.c].sort((a, b) => a.pos - b.pos).map((c): Column => {
    const spec = mysqlType(c.data_type, c.column_type, jsonCols.has(c.name));
    const auto = /auto_increment/i.test(c.extra);
    const d = mysqlDefault(c.default, spec, mariadb ? undefined : /DEFAULT_GENERATED/i.test(c.extra));
    const col = makeColumn(c.name, spec, {
      nullable: c.nullable === 'YES', primary_key: pk.has(c.name), auto_increment: auto, unique: uniqueCols.has(c.name), default: auto ? null : d.value,
    });
    const fk = single.get(c.name);
    if (fk) {
      col.references = { table: fk.ref_table, column: fk.ref_column, on_delete: fkAction(fk.on_delete), on_update: fkAction(fk.on_update) };
      if (fk.name !== constraintName(name, [c.name], 'fkey')) col.references.name = fk.name;
    }
    if (c.comment) col.comment = c.comment;
    const odd = c.period ? [periodFeature(c.period)] : [
      ...(/on update|invisible|generated|persistent/i.test(c.extra) ? [String(c.extra).toLowerCase()] : []),
      ...(c.charset && c.charset !== 'utf8mb4' ? [`character set ${c.charset}`] : []),
      ...(ownCollation(c, own.collation, jsonCols.has(c.name)) ? [`collation ${c.collation}`] : []),
    ];
    if (odd.length) (col as Column & { [UNPORTABLE]?: string[] })[UNPORTABLE] = odd;
    return col;
  });
  if (own.versioned) versionedColumns(columns, g.c.some((c) => c.period));
  const foreign_keys = [...fks].filter(([, parts]) => parts.length > 1).map(([fkName, parts]): ForeignKey => ({
    name: fkName, columns: parts.map((p) => p.column), references: { table: parts[0].ref_table, columns: parts.map((p) => p.ref_column) },
    on_delete: fkAction(parts[0].on_delete), on_update: fkAction(parts[0].on_update),
  }));
  const checks = g.k.filter((k) => !jsonCols.has(k.name)).map((k): Check => ({ name: k.name, expression: k.clause }));
  const table: Table = { table: name, columns, indexes: out, foreign_keys, checks };
  // What the portable table does not say, as PostgreSQL's reader lists it: another backend's restore lists it in lossy.
  // The portable table lists a key's columns in the table's order: a key of its own order (`dept_emp` keyed (dept_no, emp_no)) is not carried.
  const keyInColumnOrder = [...g.c].sort((a, b) => a.pos - b.pos).map((c) => c.name as string).filter((c) => pk.has(c));
  markUnportable(table, [
    ...(key.join('\u0000') !== keyInColumnOrder.join('\u0000') ? [`primary key (${key.join(', ')}) in that order`] : []),
    ...(own.partitioned ? ['partitioned'] : []), ...(own.comment ? ['a comment on the table'] : []),
    ...elsewhere.map(([fkName, parts]) => `foreign key ${fkName} (${parts.map((p) => p.column).join(', ')}) to ${parts[0].ref_schema}.${parts[0].ref_table}, another database`),
  ]);
  return table;
}

/**
 * A MariaDB system-versioned table: its history rows are rows too, each closed by its
 * row end. The period columns are part of the table as a backup reads it (MariaDB hides
 * implicit ones from information_schema: added here as it names them), and the row end
 * part of its keys, as MariaDB keeps it.
 */
export const PERIOD = 'system versioning';
const periodFeature = (which: string): string => `${PERIOD} ${which.toLowerCase()} (history rows are kept as plain rows)`;

export const isVersioned = (t: Table): boolean => t.columns.some((c) => unportableOf(c).some((f) => f.startsWith(PERIOD)));

function versionedColumns(columns: Column[], explicit: boolean): void {
  if (!explicit) {
    for (const which of ['ROW START', 'ROW END']) {
      const col = makeColumn(which === 'ROW START' ? 'row_start' : 'row_end', nativeType('timestamp(6)'), { nullable: false, primary_key: false, auto_increment: false, unique: false, default: null });
      (col as Column & { [UNPORTABLE]?: string[] })[UNPORTABLE] = [periodFeature(which)];
      columns.push(col);
    }
  }
  const end = columns.find((c) => unportableOf(c)[0] === periodFeature('ROW END'));
  if (end && columns.some((c) => c.primary_key)) end.primary_key = true;
}

/** The connection's current database only; MariaDB's CHECK_CONSTRAINTS carries TABLE_NAME, MySQL's does not. */
export async function readMysqlTables(s: Session, f: ReadFilter, info: ServerInfo): Promise<Table[]> {
  const mariadb = info.flavor === 'mariadb';
  const t = f.table ?? null;
  const rows = await s.query(sql(mariadb), Array<string | null>(PARTS * 2).fill(t));
  // A table's own row (`t`) says it is a base table: COLUMNS lists views' columns too.
  const tables = [...groupRows(rows)].filter(([, g]) => g.c.length > 0 && g.t.length > 0);
  for (const [name, g] of tables) {
    if (g.f.some((f) => !g.r.some((r) => r.name === f.name))) g.r.push(...rulesFromDdl(await showCreate(s, name), mariadb));
  }
  return tables.map(([name, g]) => mysqlTable(name, g, mariadb)).sort(byTableName);
}

async function showCreate(s: Session, table: string): Promise<string> {
  const [row] = await s.query(`SHOW CREATE TABLE ${quoted(table)}`);
  return String(row?.['Create Table'] ?? '');
}

/**
 * Foreign-key rules from SHOW CREATE TABLE, for an account that information_schema does
 * not show REFERENTIAL_CONSTRAINTS (MariaDB 10.11 hides it from one with only SELECT on
 * the tables, which still sees KEY_COLUMN_USAGE): each constraint is a line of its own,
 * `CONSTRAINT `name` FOREIGN KEY (…) REFERENCES `t` (…) ON DELETE … ON UPDATE …`, and a
 * rule left out is the default (RESTRICT on MariaDB; NO ACTION, the same check, on MySQL).
 */
export function rulesFromDdl(ddl: string, mariadb: boolean): Json[] {
  const out: Json[] = [];
  const byDefault = mariadb ? 'RESTRICT' : 'NO ACTION';
  for (const line of ddl.split('\n')) {
    const m = /^\s*CONSTRAINT `((?:[^`]|``)+)` FOREIGN KEY /.exec(line);
    if (!m) continue;
    // The rules follow the referenced columns' closing parenthesis.
    const tail = line.slice(line.lastIndexOf('`)') + 2);
    const rule = (on: string): string => new RegExp(` ON ${on} (RESTRICT|CASCADE|SET NULL|SET DEFAULT|NO ACTION)\\b`).exec(tail)?.[1] ?? byDefault;
    out.push({ name: m[1]!.replaceAll('``', '`'), on_delete: rule('DELETE'), on_update: rule('UPDATE') });
  }
  return out;
}