/**
 * How a backed-up table becomes a table on the target: its portable schema through
 * the target flavour's type table, and a writer per column. What cannot map exactly
 * is listed (SPEC §11.6); restore refuses unless allow_lossy, before touching the
 * database. Pure: no database.
 */
import { DbError } from '../../errors.js';
import type { NativeDdl } from '../backends/contract/backup.js';
import { backendModule } from '../backends/lookup.js';
import type { NativeObject } from '../backends/contract/backup.js';
import type { BackendModule } from '../backends/types.js';
import { allForeignKeys, createTableSql, foreignKeyDef, qualified } from '../schema/ddl.js';
import { portableExpression, type SchemaFlavor } from '../schema/flavors.js';
import { constraintName, type Table } from '../schema/model.js';
import { checkBuiltSql, checkNativeSql } from './check-ddl.js';
import { alignForeignKeys, cutComments, cutNames, dropUnkeyable, keepIdentity, uniqueNames, unportableLost, type Lossy } from './plan-cross.js';
import type { Header, TableEntry } from './format.js';
import { specOf } from './values.js';

export type { Lossy } from './plan-cross.js';

export interface TablePlan {
  entry: TableEntry;
  /** The table as it is created on the target. */
  table: Table;
  /** CREATE TABLE first; then what follows the data (keys, indexes, comments, what carryUnportable gives back) ... */
  create: string;
  after: string[];
  /** ... and last, once every table has its keys, the foreign keys (PostgreSQL; elsewhere they come with the table). */
  foreignKeys: string[];
  /** Per column: parsed JSON value -> load value; null where they are the same. */
  writers: Array<((v: unknown) => unknown) | null>;
  /** Positions of columns whose values are not loaded (the server computes them: `generated`, with `ddl`); empty mostly. */
  skip: number[];
  /** Whether the table's batches may be offered as JSON lines (LoadBatch.json). */
  jsonLines: boolean;
}

export interface RestorePlan {
  tables: TablePlan[];
  lossy: Lossy[];
  /** The backup's own DDL, run instead of each table's create/after/foreignKeys and sequence positions (see withNativeDdl). */
  native?: NativeDdl;
  /** Whether the backup comes from another backend. */
  cross?: boolean;
  /** Views, routines, triggers and events to create after the rows: the header's, on the backend they came from (another ignores them; SPEC §17.6). */
  objects: NativeObject[];
  /** The objects of the backup's native DDL this plan does not make, each with its entry in `lossy`. */
  notMade?: Array<{ kind: string; name: string; entry: Lossy }>;
}

const asText = (v: unknown): unknown => {
  if (typeof v !== 'object' || v === null) return String(v);
  const o = v as { base64?: string; int?: string; text?: string };
  return o.base64 ?? o.int ?? o.text ?? JSON.stringify(v);
};

/** A value as the UTF-8 bytes of its text, in the binary form the target's writer takes (base64). */
const asBytes = (w: ((v: unknown) => unknown) | null) => (v: unknown): unknown => {
  const b64 = Buffer.from(String(asText(v)), 'utf8').toString('base64');
  return w ? w(b64) : b64;
};

/** The target's table for one entry; what it had to leave out goes to `lossy`. */
function mapTable(e: TableEntry, from: BackendModule, into: BackendModule, f: SchemaFlavor, lossy: Lossy[], exact = false, flavors: { from: string | null; into: string | null } = { from: null, into: null }): { table: Table; textual: boolean[]; bytes: boolean[]; carry: string[] } {
  const source = from.name;
  const cross = source !== into.name;
  // JSON documents kept as written, going where the server keeps them parsed (jsonb, MySQL 8's JSON).
  const keepsText = (m: BackendModule, flavor: string | null): boolean => m.backup.jsonKeepsText?.(flavor) ?? true;
  const jsonReparsed = keepsText(from, flavors.from) && !keepsText(into, flavors.into);
  const digits = into.backup.decimalDigits;
  const def: Table = structuredClone(e.definition);
  if (!into.schema.namespaces || cross) delete def.schema;
  const textual: boolean[] = [];
  const bytes: boolean[] = [];
  for (const c of def.columns) {
    // Text with NUL characters, which the target's text refuses (PostgreSQL): its UTF-8 bytes, as binary.
    const nul = cross && Boolean(into.backup.textRefusesNul) && Boolean(e.nul?.includes(c.name));
    bytes.push(nul);
    // A SQLite column declared without a type has BLOB affinity; so does one declared BLOB.
    if (c.type === 'native' && !c.native && !cross) c.native = 'BLOB';
    // Values the declared type does not hold (SQLite keeps text in a numeric column, 1e308 in a decimal(10,2)): text on the target.
    const mixed = cross && Boolean(e.mixed?.includes(c.name));
    if (mixed) lossy.push({ table: e.name, column: c.name, what: `${c.native ?? c.type} column holds values its type does not (text or bytes, too large or too long, more decimals than its scale, dates not written YYYY-MM-DD…): restored as text (bytes as base64)` });
    const stand = c.type === 'native' && cross && !mixed ? from.backup.crossType(c.native ?? '') : undefined;
    if (stand) {
      if (stand.lossy) lossy.push({ table: e.name, column: c.name, what: `${c.native} ${stand.lossy}` });
      c.type = stand.type;
      delete c.native;
    }
    const native = c.type === 'native';
    // Values of a native column may be of any form (SQLite keeps any storage class): one that becomes text is written as text.
    textual.push((native && cross) || mixed || (stand !== undefined && /^(text|varchar)\b/.test(stand.type)));
    if (nul) {
      lossy.push({ table: e.name, column: c.name, what: `text holding NUL characters, which ${into.label} text cannot hold: restored as binary (its UTF-8 bytes)` });
      c.type = 'binary';
      delete c.native;
      if (c.default !== null && c.default !== undefined) c.default = null;
    } else if (mixed) {
      c.type = 'text';
      delete c.native;
    } else if (native && cross) {
      lossy.push({ table: e.name, column: c.name, what: `native type ${c.native} has no portable form; restored as text` });
      c.type = 'text';
      delete c.native;
      // A literal default holds on text; an expression goes through the check below.
    }
    if (cross) keepIdentity(e.name, c, lossy);
    // SQLite's CHAR(5) holds 'ab' and 'ab   ' apart: a target's CHAR would pad or strip them.
    if (cross && from.backup.charUnpadded && c.type !== 'native' && specOf(c).kind === 'char') c.type = c.type.replace(/^\s*char(acter)?\b/i, 'varchar');
    const spec = specOf(c);
    if (spec.kind === 'json' && jsonReparsed) {
      lossy.push({ table: e.name, column: c.name, what: `json documents are kept as ${into.label} parses them: their text (spacing, key order, and of a key given twice all but the last) is not, their values are` });
    }
    if (spec.kind === 'decimal' && cross && digits !== null && spec.precision > digits) {
      lossy.push({ table: e.name, column: c.name, what: `decimal(${spec.precision},${spec.scale}) keeps ${digits} significant digits on ${into.label}` });
    }
    if (cross && typeof c.default === 'object' && c.default !== null && !portableExpression(c.default.sql)) {
      lossy.push({ table: e.name, column: c.name, what: `default expression ${c.default.sql} is not carried across backends` });
      c.default = null;
    }
  }
  if (cross) unportableLost(e, lossy, true, (_, feature) => from.backup.sameBackendOnly?.(feature) ?? false);
  // The same backend without the source's DDL for the table (PostgreSQL named tables without pg_dump, modes replace and append):
  // what the target gives back after the load (carry, run with the table's `after`) is not lost.
  const carry: string[] = [];
  if (!cross && !e.ddl?.length) {
    const carried = new Map<string, string[]>();
    for (const c of def.columns) {
      const features = e.unportable?.[c.name];
      const back = features?.length && into.backup.portable.carryUnportable?.(def, c, features, f);
      if (!back) continue;
      carried.set(c.name, back.carried);
      carry.push(...back.statements);
    }
    unportableLost(e, lossy, false, (column, feature) => carried.get(column)?.includes(feature) ?? false);
  }
  if (cross && def.checks.length) {
    lossy.push({ table: e.name, what: `${def.checks.length} check constraint(s) in ${source} SQL are not carried across backends` });
    def.checks = [];
  }
  // The source's own DDL creates every index as it was (same backend only).
  if (!exact) {
    const plain = def.indexes.filter((ix) => ix.native === undefined);
    for (const ix of def.indexes.filter((x) => x.native !== undefined)) lossy.push({ table: e.name, what: `index ${ix.name} (an expression, partial, descending or non-btree index) is not restored` });
    def.indexes = plain;
  }
  return { table: def, textual, bytes, carry };
}

/**
 * The plan for restoring h into a connection of `into`, whose tables are written in
 * flavour f. `serverFlavor` (mariadb, mysql; null elsewhere) is the target server's: the
 * source's own DDL (`ddl`, `objects`) is used only on the backend and flavour it came from.
 */
export function planRestore(h: Header, f: SchemaFlavor, into: BackendModule, serverFlavor: string | null = h.source.flavor): RestorePlan {
  const lossy: Lossy[] = [];
  const from = backendModule(h.source.backend);
  const same = from.name === into.name && (h.source.flavor ?? null) === (serverFlavor ?? null);
  const cross = from.name !== into.name;
  const mapped = h.tables.map((e) => ({ e, ...mapTable(e, from, into, f, lossy, same && Boolean(e.ddl?.length), { from: h.source.flavor ?? null, into: serverFlavor ?? null }) }));
  const made = mapped.map((m) => m.table);
  if (cross) {
    alignForeignKeys(made);
    dropUnkeyable(made, f, lossy);
  }
  uniqueNames(made, into, lossy);
  if (cross) {
    cutNames(made, into, lossy);
    cutComments(made, into, lossy);
  }
  const tables = mapped.map(({ e, table, textual, bytes, carry }): TablePlan => {
    const specs = table.columns.map(specOf);
    const writers = specs.map((spec, i) => (bytes[i] ? asBytes(into.backup.writer(spec)) : textual[i] ? asText : into.backup.writer(spec)));
    const jsonLines = writers.every((w, i) => w === null || (!textual[i] && !bytes[i] && (into.backup.jsonLines?.(specs[i]) ?? false)));
    // The same backend, another flavour (MariaDB into MySQL): what only the DDL carried may differ.
    if (!same && from.name === into.name && e.ddl?.length) {
      lossy.push({ table: e.name, what: `created from its portable definition: its ${h.source.flavor ?? h.source.backend} DDL (ON UPDATE, charsets, index methods, table options) is not run on ${serverFlavor ?? into.label}` });
    }
    // Same backend and flavour, with the source's own DDL: the table comes back exactly as it was (keys, foreign keys and all).
    if (same && e.ddl?.length) {
      const skip = table.columns.flatMap((c, i) => (e.generated?.includes(c.name) ? [i] : []));
      return { entry: e, table, create: e.ddl[0], after: e.ddl.slice(1), foreignKeys: [], writers, skip, jsonLines: jsonLines && skip.length === 0 };
    }
    const { bare, keys, foreignKeys } = into.backup.portable.keysAfterLoad ? deferKeys(table, f) : { bare: table, keys: [], foreignKeys: [] };
    let ddl: string[];
    try {
      ddl = createTableSql(bare, f);
    } catch (err) {
      // The advice of create_table (use varchar(n) …) is about a definition the caller writes: a backup's is fixed.
      if (err instanceof DbError) throw new DbError(err.code, `table "${e.name}" cannot be created on ${into.name}: ${err.message}. A restore takes the backup's column types as they are: change the column on the source (or leave the table out of a backup of named tables, create_backup tables) and back it up again; nothing was restored`, { ...err.details, table: e.name });
      throw err;
    }
    checkBuiltSql(e.name, [...ddl, ...keys, ...foreignKeys, ...carry], into.sql);
    return { entry: e, table, create: ddl[0], after: [...keys, ...ddl.slice(1), ...carry], foreignKeys, writers, skip: [], jsonLines };
  });
  const names = tables.map((t) => `${t.table.schema ?? ''}.${t.table.table}`.toLowerCase());
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new DbError('UNSUPPORTED', `two backed-up tables would both become "${twice.slice(twice.indexOf('.') + 1)}" on ${into.name}, which has no schemas to keep them apart (or folds their names' case); nothing was restored. Back them up apart (create_backup tables) and restore each into its own database or file`, { table: twice.startsWith('.') ? twice.slice(1) : twice });
  const objects = same && into.backup.portable.objectSql !== undefined;
  // The source's SQL runs as it is: each statement must create what the header names (check-ddl.ts).
  if (same) checkNativeSql(h.tables.filter((e) => e.ddl?.length), objects ? h.objects ?? [] : [], into.sql);
  if (objects) for (const o of h.objects ?? []) into.backup.portable.objectSql!(o, f);
  // Another backend (or flavour) cannot be trusted to run the source's SQL: each object is listed, never dropped unsaid.
  const origin = h.source.flavor ?? h.source.backend;
  if (!objects) for (const o of h.objects ?? []) lossy.push({ table: o.table ?? o.name, what: `${o.kind} ${o.name} (${origin} SQL) is not restored on ${serverFlavor ?? into.label}` });
  // What the rows of a table never held (a contentless full-text table's text), whatever the target.
  for (const e of h.tables) {
    const why = e.ddl?.length ? from.backup.portable.notInRows?.(e.ddl) : null;
    if (why) lossy.push({ table: e.name, what: why });
  }
  // The objects of the source's native DDL (PostgreSQL's views, routines, types …), which this plan does not run (withNativeDdl may).
  const notMade: NonNullable<RestorePlan['notMade']> = [];
  if (h.native_ddl) {
    const own = new Set(h.tables.map((e) => `${e.schema ?? 'public'}.${e.name}`));
    for (const o of from.backup.nativeDdlObjects?.(h.native_ddl, own) ?? []) {
      const entry = { table: o.name, what: `${o.kind} ${o.name} (${origin} SQL) is not restored ${cross ? `on ${into.label}` : 'without the backup\'s own DDL (which mode create runs)'}` };
      lossy.push(entry);
      notMade.push({ ...o, entry });
    }
  }
  return { tables, lossy, cross: from.name !== into.name, objects: objects ? h.objects ?? [] : [], notMade };
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

/**
 * A restore that creates every table (mode "create") into the backend whose native DDL
 * the backup carries runs that DDL: it keeps what the portable plan lists as lossy on the
 * same backend (expression and partial indexes) and all it cannot see (types, views,
 * routines, triggers, partitions, sequences and their positions).
 */
export function withNativeDdl(plan: RestorePlan, h: Header, into: BackendModule): RestorePlan {
  const ddl = h.native_ddl;
  if (!ddl || ddl.backend !== into.name || h.source.backend !== into.name) return plan;
  return { ...plan, lossy: [], native: ddl };
}
