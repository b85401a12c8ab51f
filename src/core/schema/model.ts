/**
 * The portable schema: one JSON shape for a table on every backend. Tools take
 * and return it; DDL is generated from it and introspection maps back to it.
 * This module holds the shape, the portable type grammar and normalisation
 * (defaults filled in, names checked), and nothing backend-specific.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DbError } from '../../errors.js';

export const PORTABLE_KINDS = [
  'integer', 'bigint', 'smallint', 'decimal', 'real', 'double', 'boolean', 'text', 'varchar', 'char',
  'date', 'time', 'timestamp', 'timestamptz', 'uuid', 'json', 'binary',
] as const;
export type PortableKind = (typeof PORTABLE_KINDS)[number];

/** A parsed type: a portable kind with its size, or a native type the portable set cannot name. */
export type TypeSpec =
  | { kind: Exclude<PortableKind, 'decimal' | 'varchar' | 'char'> }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'varchar' | 'char'; length: number }
  | { kind: 'native'; native: string };

export const FK_ACTIONS = ['no action', 'restrict', 'cascade', 'set null', 'set default'] as const;
export type FkAction = (typeof FK_ACTIONS)[number];

/** A default: a literal (string, number, boolean) or an SQL expression such as CURRENT_TIMESTAMP. */
export type DefaultValue = null | string | number | boolean | { sql: string };

export interface Reference {
  table: string;
  column: string;
  /** The constraint's name, on output only when it is not `<table>_<column>_fkey`. */
  name?: string;
  /** PostgreSQL schema of the referenced table, when it is not the table's own. */
  schema?: string;
  on_delete: FkAction;
  on_update: FkAction;
}

export interface Column {
  name: string;
  /** A portable type (`varchar(255)`, `decimal(10,2)` ...) or `native`. */
  type: string;
  /** The backend's own type, when `type` is `native`. */
  native?: string;
  nullable: boolean;
  primary_key: boolean;
  auto_increment: boolean;
  unique: boolean;
  default: DefaultValue;
  references?: Reference;
  comment?: string;
}

/**
 * What a column has that the portable schema cannot carry (MySQL ON UPDATE, a generated
 * expression, another character set): a symbol key, so it follows copies of the column
 * but never reaches JSON. MySQL's and SQLite's alter_table refuse to change such a column
 * rather than lose it; PostgreSQL's ALTERs keep it (a serial column stays one).
 */
export const UNPORTABLE = Symbol('unportable');

export function unportableOf(c: Column): string[] {
  return (c as Column & { [UNPORTABLE]?: string[] })[UNPORTABLE] ?? [];
}

/** What a table has beyond its portable shape (partitioning, the key's own column order, DEFERRABLE keys, options …), under the same symbol. */
export function tableUnportableOf(t: Table): string[] {
  return (t as Table & { [UNPORTABLE]?: string[] })[UNPORTABLE] ?? [];
}

/** Marks what a column or table has that the portable schema cannot carry (nothing when `features` is empty). */
export function markUnportable(x: Column | Table, features: string[]): void {
  if (features.length) (x as (Column | Table) & { [UNPORTABLE]?: string[] })[UNPORTABLE] = features;
}

/**
 * A table as get_schema reports it: the portable table, and what it has beyond it
 * (`unportable`, on the columns and the table that have some), so the catalog is not
 * misread from it.
 */
export function reportedTable(t: Table): Table & { unportable?: string[] } {
  const columns = t.columns.map((c) => (unportableOf(c).length ? { ...c, unportable: unportableOf(c) } : c));
  return { ...t, columns, ...(tableUnportableOf(t).length ? { unportable: tableUnportableOf(t) } : {}) };
}

/**
 * On a table: features of columns the portable table leaves out altogether (SQLite's
 * generated columns), by column name; a symbol of its own, as the table's own features
 * are under UNPORTABLE.
 */
const HIDDEN_UNPORTABLE = Symbol('hidden unportable');

/** Records the columns a table's portable shape leaves out, with what they were (nothing when `hidden` is empty). */
export function markHiddenUnportable(t: Table, hidden: Record<string, string[]>): void {
  if (Object.keys(hidden).length) (t as Table & { [HIDDEN_UNPORTABLE]?: Record<string, string[]> })[HIDDEN_UNPORTABLE] = hidden;
}

/** On a table: features of columns the portable table leaves out altogether (SQLite's generated columns), by column name. */
export function hiddenUnportableOf(t: Table): Record<string, string[]> {
  return (t as Table & { [HIDDEN_UNPORTABLE]?: Record<string, string[]> })[HIDDEN_UNPORTABLE] ?? {};
}

export interface Index {
  name: string;
  columns: string[];
  unique: boolean;
  /** Set on read for indexes that are not a plain column list (expressions, partial): the backend's definition. */
  native?: string;
}

/** A foreign key over several columns (single-column keys live on the column as `references`). */
export interface ForeignKey {
  name: string | null;
  columns: string[];
  references: { table: string; columns: string[]; schema?: string };
  on_delete: FkAction;
  on_update: FkAction;
}

export interface Check {
  name: string | null;
  /** An SQL boolean expression, in the backend's dialect. */
  expression: string;
}

export interface Table {
  table: string;
  /** PostgreSQL schema (namespace); absent on MySQL and SQLite. */
  schema?: string;
  columns: Column[];
  indexes: Index[];
  foreign_keys: ForeignKey[];
  checks: Check[];
}

/** Identifier rules every backend accepts: PostgreSQL truncates past 63 bytes, MySQL refuses trailing spaces. */
export const identifier = z.string()
  .min(1)
  .refine((s) => Buffer.byteLength(s) <= 63, 'at most 63 bytes (PostgreSQL\'s limit)')
  .refine((s) => !/[\u0000]/.test(s), 'no NUL character')
  .refine((s) => !/\s$/.test(s), 'no trailing whitespace (MySQL refuses it)');

const fkAction = z.enum(FK_ACTIONS);

export const defaultValue = z.union([
  z.null(), z.string().max(65_535), z.number().finite(), z.boolean(),
  z.object({ sql: z.string().min(1).max(1000) }).strict(),
]);

export const referenceInput = z.object({
  table: identifier,
  column: identifier,
  schema: identifier.optional(),
  on_delete: fkAction.optional(),
  on_update: fkAction.optional(),
}).strict();

export const columnInput = z.object({
  name: identifier,
  type: z.string().min(1).max(100).describe('integer, bigint, smallint, decimal(p,s), real, double, boolean, text, varchar(n), char(n), date, time, timestamp, timestamptz, uuid, json, binary or native'),
  native: z.string().min(1).max(100).optional().describe('Backend type when type is native.'),
  nullable: z.boolean().optional(),
  primary_key: z.boolean().optional(),
  auto_increment: z.boolean().optional(),
  unique: z.boolean().optional(),
  default: defaultValue.optional().describe('A literal or {"sql": "now()"}.'),
  references: referenceInput.optional(),
  comment: z.string().max(1024).optional(),
}).strict();

export const indexInput = z.object({
  name: identifier.optional(),
  columns: z.array(identifier).min(1).max(32),
  unique: z.boolean().optional(),
}).strict();

export const foreignKeyInput = z.object({
  name: identifier.nullable().optional(),
  columns: z.array(identifier).min(1).max(32),
  references: z.object({ table: identifier, columns: z.array(identifier).min(1).max(32), schema: identifier.optional() }).strict(),
  on_delete: fkAction.optional(),
  on_update: fkAction.optional(),
}).strict();

export const checkInput = z.object({
  name: identifier.nullable().optional(),
  expression: z.string().min(1).max(4000),
}).strict();

export const tableInput = z.object({
  table: identifier,
  schema: identifier.optional().describe('PostgreSQL schema.'),
  columns: z.array(columnInput).min(1).max(1000),
  indexes: z.array(indexInput).max(200).optional(),
  foreign_keys: z.array(foreignKeyInput).max(100).optional(),
  checks: z.array(checkInput).max(100).optional(),
}).strict();

export type TableInput = z.infer<typeof tableInput>;
export type ColumnInput = z.infer<typeof columnInput>;
export type IndexInput = z.infer<typeof indexInput>;

// ------------------------------------------------------------------ types

const ALIASES: Record<string, string> = {
  int: 'integer', int4: 'integer', int8: 'bigint', int2: 'smallint', bool: 'boolean', numeric: 'decimal',
  float4: 'real', float: 'double', float8: 'double', 'double precision': 'double', datetime: 'timestamp',
  'timestamp with time zone': 'timestamptz', 'timestamp without time zone': 'timestamp', string: 'text',
  bytea: 'binary', blob: 'binary', jsonb: 'json', 'character varying': 'varchar', character: 'char',
};

function bad(field: string, message: string): DbError {
  return new DbError('INVALID_INPUT', message, { field });
}

/** A native type is written into DDL: only names, spaces, one size list and array brackets may pass. */
const NATIVE = /^[A-Za-z_][A-Za-z0-9_ ]*(\(\s*\d+(\s*,\s*\d+)*\s*\))?( ?[A-Za-z_][A-Za-z0-9_ ]*)?(\[\])*$/;
/** Words that would turn a type into a constraint or a default (`integer REFERENCES p ON DELETE CASCADE`). */
const NOT_A_TYPE = /\b(references|primary|key|unique|check|default|null|not|collate|auto_increment|autoincrement|generated|as|on|constraint|conflict|comment|identity|always|stored|virtual|invisible)\b/i;

/** Parses `decimal(10, 2)`, `VARCHAR(20)`, an alias, or `native` (+ native). Throws INVALID_INPUT. */
export function parseType(type: string, native: string | undefined, field = 'type'): TypeSpec {
  const t = type.trim().toLowerCase().replace(/\s+/g, ' ');
  if (t === 'native') {
    if (!native || !NATIVE.test(native.trim()) || NOT_A_TYPE.test(native)) throw bad(field, `type "native" needs \`native\`: a type name such as tsvector or int unsigned (letters, digits, _, spaces, one size list)`);
    return { kind: 'native', native: native.trim() };
  }
  const m = /^([a-z][a-z0-9 ]*?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$/.exec(t);
  const base = m ? (Object.hasOwn(ALIASES, m[1]) ? ALIASES[m[1]] : m[1]) : '';
  if (!m || !(PORTABLE_KINDS as readonly string[]).includes(base)) {
    throw bad(field, `unknown type "${type}": use one of ${PORTABLE_KINDS.join(', ')} (decimal(p,s), varchar(n), char(n) take sizes), or "native" with \`native\``);
  }
  const [a, b] = [m[2], m[3]].map((x) => (x === undefined ? undefined : Number(x)));
  if (base === 'decimal') {
    if (a === undefined) throw bad(field, 'decimal needs a precision: decimal(p,s), e.g. decimal(12,2)');
    const scale = b ?? 0;
    if (a < 1 || a > 65 || scale > a || scale > 30) throw bad(field, `decimal(${a},${scale}): precision 1-65, scale 0-30 and at most the precision`);
    return { kind: 'decimal', precision: a, scale };
  }
  if (base === 'varchar' || base === 'char') {
    if (a === undefined || b !== undefined) throw bad(field, `${base} needs one length: ${base}(n)`);
    const max = base === 'char' ? 255 : 16_383;
    if (a < 1 || a > max) throw bad(field, `${base}(${a}): length 1-${max} (use text for longer strings)`);
    return { kind: base, length: a };
  }
  if (a !== undefined) throw bad(field, `${base} takes no size`);
  return { kind: base as Exclude<PortableKind, 'decimal' | 'varchar' | 'char'> };
}

export function formatType(spec: TypeSpec): string {
  switch (spec.kind) {
    case 'decimal': return `decimal(${spec.precision},${spec.scale})`;
    case 'varchar': case 'char': return `${spec.kind}(${spec.length})`;
    case 'native': return 'native';
    default: return spec.kind;
  }
}

/**
 * The parsed type of a column already checked on input, or read from the database:
 * a native type read back (an enum name with quotes, SQLite's empty type) is kept as is.
 */
export const columnSpec = (c: Pick<Column, 'type' | 'native'>): TypeSpec =>
  (c.type === 'native' ? { kind: 'native', native: c.native ?? '' } : parseType(c.type, c.native));

export const INTEGER_KINDS = new Set(['smallint', 'integer', 'bigint']);

// ------------------------------------------------------------------ normalisation

const fold = (s: string): string => s.toLowerCase();

/** PostgreSQL-style constraint names, shortened with a hash when they would pass 63 bytes. */
export function constraintName(table: string, columns: string[], suffix: 'pkey' | 'key' | 'idx' | 'fkey'): string {
  const full = suffix === 'pkey' ? `${table}_pkey` : `${table}_${columns.join('_')}_${suffix}`;
  if (Buffer.byteLength(full) <= 63) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  let head = full;
  const tail = `_${hash}_${suffix === 'pkey' ? 'pk' : suffix.slice(0, 2)}`;
  while (Buffer.byteLength(head) > 63 - tail.length) head = head.slice(0, -1);
  return head + tail;
}

/** Decimal defaults as strings with exactly `scale` decimals ("12.50"), as MySQL reports them; other spellings pass unchanged. */
export function canonicalDecimal(text: string, scale: number): string {
  const m = /^(-?)0*(\d+?)(?:\.(\d*?)0*)?$/.exec(text);
  if (!m || (m[3] ?? '').length > scale) return text;
  const frac = (m[3] ?? '').padEnd(scale, '0');
  return `${m[1] === '-' && /[1-9]/.test(m[2] + frac) ? '-' : ''}${m[2]}${scale ? `.${frac}` : ''}`;
}

function checkDefault(col: ColumnInput, spec: TypeSpec, field: string): DefaultValue {
  const d = col.default ?? null;
  if (d === null || typeof d === 'object') return d;
  const kind = spec.kind;
  if (kind === 'boolean') {
    if (typeof d !== 'boolean') throw bad(field, `the default of boolean column "${col.name}" must be true or false`);
    return d;
  }
  if (INTEGER_KINDS.has(kind) || kind === 'decimal' || kind === 'real' || kind === 'double') {
    const text = String(d);
    if (typeof d === 'boolean' || !/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) throw bad(field, `the default of numeric column "${col.name}" must be a number`);
    if (INTEGER_KINDS.has(kind) && !/^-?\d+$/.test(text)) throw bad(field, `the default of integer column "${col.name}" must be an integer`);
    if (spec.kind === 'decimal') return canonicalDecimal(text, spec.scale);
    return typeof d === 'number' || !Number.isSafeInteger(Number(d)) ? d : Number(d);
  }
  if (kind === 'binary') throw bad(field, `binary column "${col.name}" cannot have a literal default`);
  if (typeof d !== 'string') throw bad(field, `the default of ${formatType(spec)} column "${col.name}" must be a string`);
  if (d.includes('\u0000')) throw bad(field, 'a default may not hold a NUL character');
  if (kind === 'json') {
    try { JSON.parse(d); } catch { throw bad(field, `the default of json column "${col.name}" must be JSON text, e.g. "{}"`); }
  }
  return d;
}

/**
 * Checks a new default against a column's type as read from the database. A native
 * type read from the catalog (`enum('G','PG')`, `set('a','b')`) is kept as it is, not
 * parsed again as if an agent had typed it: the database checks the value itself.
 */
export function defaultFor(col: Pick<Column, 'name' | 'type' | 'native'>, d: DefaultValue, field: string): DefaultValue {
  return checkDefault({ name: col.name, type: col.type, native: col.native, default: d }, columnSpec(col), field);
}

export function normalizeColumn(col: ColumnInput, i: number, pkCount: number, prefix = 'schema.columns'): Column {
  const field = `${prefix}.${i}`;
  const spec = parseType(col.type, col.native, `${field}.type`);
  const primary = col.primary_key ?? false;
  if (primary && col.nullable === true) throw bad(`${field}.nullable`, `primary key column "${col.name}" cannot be nullable`);
  const auto = col.auto_increment ?? false;
  if (auto && (!INTEGER_KINDS.has(spec.kind) || !primary || pkCount !== 1)) {
    throw bad(`${field}.auto_increment`, `auto_increment needs an integer column that is the table's only primary key column ("${col.name}")`);
  }
  if (auto && col.default != null) throw bad(`${field}.default`, `auto_increment column "${col.name}" cannot have a default`);
  const out: Column = {
    name: col.name, type: formatType(spec), nullable: primary ? false : (col.nullable ?? true), primary_key: primary,
    auto_increment: auto, unique: primary ? false : (col.unique ?? false), default: checkDefault(col, spec, `${field}.default`),
  };
  if (spec.kind === 'native') out.native = spec.native;
  if (col.references) out.references = { ...col.references, on_delete: col.references.on_delete ?? 'no action', on_update: col.references.on_update ?? 'no action' };
  if (col.comment !== undefined && col.comment !== '') out.comment = col.comment;
  return out;
}

/** The columns' own spelling by lower-cased name. */
export type KnownColumns = Map<string, string>;

export const knownColumns = (cols: Array<{ name: string }>): KnownColumns => new Map(cols.map((c) => [fold(c.name), c.name]));

function requireColumns(names: string[], known: KnownColumns, field: string): void {
  for (const n of names) if (!known.has(fold(n))) throw bad(field, `no column "${n}" in the table`);
  if (new Set(names.map(fold)).size !== names.length) throw bad(field, 'a column is listed twice');
}

export function normalizeIndexes(table: string, indexes: IndexInput[], known: KnownColumns, prefix = 'schema.indexes'): Index[] {
  const out = indexes.map((ix, i) => {
    requireColumns(ix.columns, known, `${prefix}.${i}.columns`);
    const columns = ix.columns.map((n) => known.get(fold(n))!);
    return { name: ix.name ?? constraintName(table, columns, 'idx'), columns, unique: ix.unique ?? false };
  });
  const names = out.map((ix) => fold(ix.name));
  if (new Set(names).size !== names.length) throw bad(prefix, 'two indexes have the same name');
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Fills every default and checks what can be checked without a database. Throws INVALID_INPUT. */
export function normalizeTable(input: TableInput): Table {
  const pkCount = input.columns.filter((c) => c.primary_key).length;
  const columns = input.columns.map((c, i) => normalizeColumn(c, i, pkCount));
  const known = knownColumns(columns);
  if (known.size !== columns.length) throw bad('schema.columns', 'two columns have the same name (names are compared case-insensitively: MySQL and SQLite do)');
  const foreignKeys: ForeignKey[] = [];
  for (const [i, fk] of (input.foreign_keys ?? []).entries()) {
    requireColumns(fk.columns, known, `schema.foreign_keys.${i}.columns`);
    if (fk.columns.length !== fk.references.columns.length) throw bad(`schema.foreign_keys.${i}`, 'a foreign key needs as many referenced columns as columns');
    const on = { on_delete: fk.on_delete ?? 'no action', on_update: fk.on_update ?? 'no action' } as const;
    const single = fk.columns.length === 1 ? columns.find((c) => fold(c.name) === fold(fk.columns[0])) : undefined;
    if (single && !single.references) {
      single.references = { table: fk.references.table, column: fk.references.columns[0], ...(fk.references.schema ? { schema: fk.references.schema } : {}), ...on };
    } else {
      foreignKeys.push({ name: fk.name ?? null, columns: fk.columns, references: fk.references, ...on });
    }
  }
  const table: Table = {
    table: input.table, columns, indexes: normalizeIndexes(input.table, input.indexes ?? [], known),
    foreign_keys: foreignKeys, checks: (input.checks ?? []).map((c) => ({ name: c.name ?? null, expression: c.expression })),
  };
  if (input.schema !== undefined) table.schema = input.schema;
  return table;
}
