/**
 * How a backed-up table becomes a table on the target: its portable schema through
 * the target flavour's type table, and a writer per column. What cannot map exactly
 * is listed (SPEC §11.6); restore refuses unless allow_lossy, before touching the
 * database. Pure: no database.
 */
import { DbError } from '../../errors.js';
import type { BackendModule } from '../backends/types.js';
import { allForeignKeys, createTableSql, foreignKeyDef, qualified } from '../schema/ddl.js';
import { portableExpression, type SchemaFlavor } from '../schema/flavors.js';
import { constraintName, type Table, type TypeSpec } from '../schema/model.js';
import type { Header, TableEntry } from './format.js';
import { specOf } from './values.js';

export interface Lossy {
  table: string;
  column?: string;
  what: string;
}

export interface TablePlan {
  entry: TableEntry;
  /** The table as it is created on the target. */
  table: Table;
  /** CREATE TABLE first; then what follows the data (keys, indexes, comments) ... */
  create: string;
  after: string[];
  /** ... and last, once every table has its keys, the foreign keys (PostgreSQL; elsewhere they come with the table). */
  foreignKeys: string[];
  /** Per column: parsed JSON value -> load value; null where they are the same. */
  writers: Array<((v: unknown) => unknown) | null>;
  /** Whether the table's batches may be offered as JSON lines (LoadBatch.json). */
  jsonLines: boolean;
}

export interface RestorePlan {
  tables: TablePlan[];
  lossy: Lossy[];
}

const asText = (v: unknown): unknown => {
  if (typeof v !== 'object' || v === null) return String(v);
  const o = v as { base64?: string; int?: string; text?: string };
  return o.base64 ?? o.int ?? o.text ?? JSON.stringify(v);
};

/** The target's table for one entry; what it had to leave out goes to `lossy`. */
function mapTable(e: TableEntry, source: string, into: BackendModule, lossy: Lossy[]): { table: Table; specs: TypeSpec[]; textual: boolean[] } {
  const cross = source !== into.name;
  const digits = into.backup.decimalDigits;
  const def: Table = structuredClone(e.definition);
  if (!into.backup.keepsSchemas || cross) delete def.schema;
  const textual: boolean[] = [];
  for (const c of def.columns) {
    // A SQLite column declared without a type has BLOB affinity; so does one declared BLOB.
    if (c.type === 'native' && !c.native && !cross) c.native = 'BLOB';
    const native = c.type === 'native';
    textual.push(native && cross);
    if (native && cross) {
      lossy.push({ table: e.name, column: c.name, what: `native type ${c.native} has no portable form; restored as text` });
      c.type = 'text';
      delete c.native;
      if (c.default !== null) c.default = null;
    }
    const spec = specOf(c);
    if (spec.kind === 'decimal' && cross && digits !== null && spec.precision > digits) {
      lossy.push({ table: e.name, column: c.name, what: `decimal(${spec.precision},${spec.scale}) keeps ${digits} significant digits on ${into.label}` });
    }
    if (cross && typeof c.default === 'object' && c.default !== null && !portableExpression(c.default.sql)) {
      lossy.push({ table: e.name, column: c.name, what: `default expression ${c.default.sql} is not carried across backends` });
      c.default = null;
    }
  }
  if (cross && def.checks.length) {
    lossy.push({ table: e.name, what: `${def.checks.length} check constraint(s) in ${source} SQL are not carried across backends` });
    def.checks = [];
  }
  const plain = def.indexes.filter((ix) => ix.native === undefined);
  for (const ix of def.indexes.filter((x) => x.native !== undefined)) lossy.push({ table: e.name, what: `index ${ix.name} (an expression or partial index) is not restored` });
  def.indexes = plain;
  return { table: def, specs: def.columns.map(specOf), textual };
}

/** The plan for restoring h into a connection of `into`, whose tables are written in flavour f. */
export function planRestore(h: Header, f: SchemaFlavor, into: BackendModule): RestorePlan {
  const lossy: Lossy[] = [];
  const tables = h.tables.map((e): TablePlan => {
    const { table, specs, textual } = mapTable(e, h.source.backend, into, lossy);
    const { bare, keys, foreignKeys } = into.backup.portable.keysAfterLoad ? deferKeys(table, f) : { bare: table, keys: [], foreignKeys: [] };
    let ddl: string[];
    try {
      ddl = createTableSql(bare, f);
    } catch (err) {
      if (err instanceof DbError) throw new DbError(err.code, `table "${e.name}" cannot be created on ${into.name}: ${err.message}`, { ...err.details, table: e.name });
      throw err;
    }
    const writers = specs.map((spec, i) => (textual[i] ? asText : into.backup.writer(spec)));
    const jsonLines = writers.every((w, i) => w === null || (!textual[i] && (into.backup.jsonLines?.(specs[i]) ?? false)));
    return { entry: e, table, create: ddl[0], after: [...keys, ...ddl.slice(1)], foreignKeys, writers, jsonLines };
  });
  const names = tables.map((t) => `${t.table.schema ?? ''}.${t.table.table}`.toLowerCase());
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new DbError('UNSUPPORTED', `two backed-up tables would both become "${twice.slice(twice.indexOf('.') + 1)}" on ${into.name}`, { table: twice });
  return { tables, lossy };
}

/**
 * The table without its keys (created first), and the statements that add them after
 * the data: its own keys, and its foreign keys, which the restore adds only once every
 * table has its keys (a foreign key needs the unique key it references, whatever order
 * the tables come in).
 */
function deferKeys(t: Table, f: SchemaFlavor): { bare: Table; keys: string[]; foreignKeys: string[] } {
  const table = qualified(t, f);
  const pk = t.columns.filter((c) => c.primary_key);
  const keys = [
    ...(pk.length ? [`ALTER TABLE ${table} ADD CONSTRAINT ${f.quote(constraintName(t.table, [], 'pkey'))} PRIMARY KEY (${pk.map((c) => f.quote(c.name)).join(', ')})`] : []),
    ...t.columns.filter((c) => c.unique).map((c) => `ALTER TABLE ${table} ADD CONSTRAINT ${f.quote(constraintName(t.table, [c.name], 'key'))} UNIQUE (${f.quote(c.name)})`),
  ];
  const foreignKeys = allForeignKeys(t).map((fk) => `ALTER TABLE ${table} ADD ${foreignKeyDef(t.table, fk, f)}`);
  // Key columns stay NOT NULL (normalised columns carry it); the identity stays on the column.
  const bare: Table = { ...t, columns: t.columns.map(({ references: _r, ...c }) => ({ ...c, primary_key: false, unique: false })), foreign_keys: [] };
  return { bare, keys, foreignKeys };
}
