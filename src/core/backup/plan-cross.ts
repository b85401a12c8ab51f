/**
 * The parts of a restore plan (plan.ts) that make a table of one backend fit another:
 * an identity column stays an integer, a foreign key's column takes the type of the key
 * it references, and index names become unique where the target wants them unique per
 * schema. What changes is listed in `lossy`, before anything is touched. Pure.
 */
import { createHash } from 'node:crypto';
import type { BackendModule } from '../backends/types.js';
import type { SchemaFlavor } from '../schema/flavors.js';
import { allForeignKeys } from '../schema/ddl.js';
import { constraintName, type Column, type Table } from '../schema/model.js';
import type { TableEntry } from './format.js';
import { specOf } from './values.js';

export interface Lossy {
  table: string;
  column?: string;
  what: string;
}

/**
 * What the source's columns and tables had beyond the portable schema (MySQL ON UPDATE,
 * generated expressions, a collation of their own, system versioning, PostgreSQL
 * partitioning …), recorded in the header, is not carried to another backend, nor by a
 * same-backend restore made from the portable schema alone: listed. Across backends a
 * column's character set is not listed: its text is read as Unicode, which every target
 * stores, so every value comes across as it was (the target only accepts characters the
 * source refused). `kept`: a column's features the target has anyway (the source's
 * sameBackendOnly across backends, the target's carryUnportable on the same one).
 */
export function unportableLost(e: TableEntry, lossy: Lossy[], cross = true, kept: (column: string, feature: string) => boolean = () => false): void {
  const where = cross ? 'across backends' : 'by the portable schema (this backup carries no DDL of its own for it)';
  for (const [column, features] of Object.entries(e.unportable ?? {})) {
    const lost = (cross ? features.filter((f) => !/^character set /i.test(f)) : features).filter((f) => !kept(column, f));
    if (lost.length) lossy.push({ table: e.name, column, what: `${lost.join(', ')} ${lost.length > 1 ? 'are' : 'is'} not carried ${where}` });
  }
  for (const f of e.table_unportable ?? []) lossy.push({ table: e.name, what: `${f}: not carried ${where}` });
}

/** Integer-valued types from narrow to wide (0: not one). */
const RANK: Record<string, number> = { smallint: 1, integer: 2, bigint: 3 };
const rank = (c: Column): number => {
  const s = specOf(c);
  if (s.kind === 'decimal') return s.scale === 0 ? 3 + s.precision / 100 : 0;
  return RANK[s.kind] ?? 0;
};

/** An auto-increment column must be an integer on the target: one that no longer is loses the identity, listed. */
export function keepIdentity(table: string, c: Column, lossy: Lossy[]): void {
  const kind = specOf(c).kind;
  if (!c.auto_increment || kind in RANK) return;
  c.auto_increment = false;
  lossy.push({ table, column: c.name, what: `auto-increment dropped: a ${c.type} column cannot generate keys on the target; insert with explicit keys` });
}

/**
 * A foreign key's integer columns take the type of the key columns they reference
 * (SQLite's INTEGER PRIMARY KEY is a bigint, its referencing INTEGER columns integers;
 * MariaDB refuses a key whose columns differ in type with errno 150). Nothing is lost:
 * every value of a foreign key column is a value of the key it references.
 */
export function alignForeignKeys(tables: Table[]): void {
  const byName = new Map(tables.map((t) => [t.table.toLowerCase(), t]));
  const keyOf = (table: string, column: string): Column | undefined => byName.get(table.toLowerCase())?.columns.find((c) => c.name === column);
  const pairs: Array<[Column, Column]> = [];
  for (const t of tables) {
    const own = (name: string): Column | undefined => t.columns.find((c) => c.name === name);
    for (const c of t.columns) if (c.references) pairs.push([c, keyOf(c.references.table, c.references.column)!]);
    for (const fk of t.foreign_keys) fk.columns.forEach((name, i) => pairs.push([own(name)!, keyOf(fk.references.table, fk.references.columns[i])!]));
  }
  const live = pairs.filter(([c, key]) => c && key && rank(c) > 0 && rank(key) > 0);
  // A key may itself reference another: repeat until nothing changes (at most one pass per link of a chain).
  for (let changed = true, n = 0; changed && n <= live.length; n++) {
    changed = false;
    for (const [c, key] of live) {
      if (c.type !== key.type) { c.type = key.type; changed = true; }
    }
  }
}

/** `<table>_<name>`, cut to 63 bytes with a short hash when longer (PostgreSQL's limit). */
function prefixed(table: string, name: string): string {
  const full = `${table}_${name}`;
  if (Buffer.byteLength(full) <= 63) return full;
  const tail = `_${createHash('sha256').update(full).digest('hex').slice(0, 8)}`;
  let head = full;
  while (Buffer.byteLength(head) > 63 - tail.length) head = head.slice(0, -1);
  return head + tail;
}

/** Counts the uses of names in one namespace (lower case: MySQL's foreign key names and SQLite's are case-insensitive). */
class Names {
  private readonly uses = new Map<string, number>();
  constructor(private readonly key: (t: Table, name: string) => string) {}
  use(t: Table, name: string): void { const k = this.key(t, name); this.uses.set(k, (this.uses.get(k) ?? 0) + 1); }
  shared(t: Table, name: string): boolean { return (this.uses.get(this.key(t, name)) ?? 0) > 1; }
  /** `<table>_<name>`, or `<table>_<name>_2` … when that is taken too; the new name is counted. */
  fresh(t: Table, name: string): string {
    let out = prefixed(t.table, name);
    for (let i = 2; this.uses.has(this.key(t, out)); i++) out = prefixed(t.table, `${name}_${i}`);
    this.use(t, out);
    return out;
  }
}

/**
 * Index names are per table on MySQL and per schema (PostgreSQL, with its tables and
 * key constraints) or per database (SQLite) elsewhere; foreign key names are per
 * database on MySQL and per table elsewhere. Where the target wants them unique, every
 * index or named foreign key whose name something else of the backup also uses is
 * renamed `<table>_<name>` (whichever comes first, so the result does not depend on
 * order), and the rename is listed.
 */
export function uniqueNames(tables: Table[], into: BackendModule, lossy: Lossy[]): void {
  const where = `unique per ${into.schema.namespaces ? 'schema' : 'database'} on ${into.label}, and another table uses this one`;
  const names = new Names((t, name) => `${t.schema ?? ''}.${name}`.toLowerCase());
  if (into.backup.namesPerSchema.indexes) {
    for (const t of tables) {
      names.use(t, t.table);
      if (t.columns.some((c) => c.primary_key)) names.use(t, constraintName(t.table, [], 'pkey'));
      for (const c of t.columns.filter((x) => x.unique)) names.use(t, constraintName(t.table, [c.name], 'key'));
      for (const ix of t.indexes) names.use(t, ix.name);
    }
    for (const t of tables) {
      for (const ix of t.indexes.filter((x) => names.shared(t, x.name))) {
        const name = names.fresh(t, ix.name);
        lossy.push({ table: t.table, what: `index ${ix.name} restored as ${name}: index names are ${where}` });
        ix.name = name;
      }
    }
  }
  if (into.backup.namesPerSchema.foreignKeys) {
    const fks = new Names((_t, name) => name.toLowerCase());
    // Unnamed keys get `<table>_<columns>_fkey`: counted, never renamed.
    for (const t of tables) for (const fk of allForeignKeys(t)) fks.use(t, fk.name ?? constraintName(t.table, fk.columns, 'fkey'));
    for (const t of tables) {
      const named = [...t.columns.filter((c) => c.references?.name).map((c) => c.references!), ...t.foreign_keys.filter((fk) => fk.name)];
      for (const fk of named.filter((x) => fks.shared(t, x.name!))) {
        const name = fks.fresh(t, fk.name!);
        lossy.push({ table: t.table, what: `foreign key ${fk.name} restored as ${name}: foreign key names are ${where}` });
        fk.name = name;
      }
    }
  }
}

/**
 * Across backends, an index or unique key over a column the target cannot index
 * without a length (a native type that became text on MySQL) is left out, listed: the
 * rest of the table restores. A primary key is never left out (the plan fails instead).
 */
export function dropUnkeyable(tables: Table[], f: SchemaFlavor, lossy: Lossy[]): void {
  const unkeyable = f.unkeyable;
  if (!unkeyable) return;
  for (const t of tables) {
    const bad = new Set(t.columns.filter((c) => !c.primary_key && unkeyable(c)).map((c) => c.name));
    if (!bad.size) continue;
    for (const c of t.columns.filter((x) => x.unique && bad.has(x.name))) {
      c.unique = false;
      lossy.push({ table: t.table, column: c.name, what: `unique key dropped: a ${c.type} column cannot be a key on the target without a length` });
    }
    t.indexes = t.indexes.filter((ix) => {
      const over = ix.columns.find((c) => bad.has(c));
      if (ix.native === undefined && over) lossy.push({ table: t.table, column: over, what: `index ${ix.name} dropped: a ${t.columns.find((c) => c.name === over)?.type} column cannot be indexed on the target without a length` });
      return ix.native !== undefined || !over;
    });
  }
}

/**
 * Column comments the target cannot keep as they are: longer than it takes (a PostgreSQL
 * comment of 5,000 characters into MariaDB, which refuses more than 1,024: the restore failed
 * as INTERNAL), cut to the limit; characters it cannot store (MariaDB writes '?' for 🐜).
 * Each listed.
 */
export function cutComments(tables: Table[], into: BackendModule, lossy: Lossy[]): void {
  const max = into.backup.maxCommentChars;
  for (const t of tables) {
    for (const c of t.columns) {
      if (c.comment === undefined) continue;
      const chars = [...c.comment];
      if (max !== undefined && chars.length > max) {
        c.comment = chars.slice(0, max).join('');
        lossy.push({ table: t.table, column: c.name, what: `comment of ${chars.length} characters cut to the ${max} ${into.label} keeps` });
      }
      if (into.backup.commentsBmpOnly && /[\u{10000}-\u{10FFFF}]/u.test(c.comment)) {
        lossy.push({ table: t.table, column: c.name, what: `comment characters beyond U+FFFF (emoji and the like) become '?' on ${into.label}` });
      }
    }
  }
}

/**
 * Names the target cuts short (PostgreSQL keeps 63 bytes of a MySQL table's 64 characters,
 * with only a notice): listed, each with the name it becomes, so nothing is renamed unsaid.
 */
export function cutNames(tables: Table[], into: BackendModule, lossy: Lossy[]): void {
  const max = into.backup.maxNameBytes;
  if (max === undefined) return;
  const cut = (name: string): string => {
    let out = '';
    for (const ch of name) {
      if (Buffer.byteLength(out + ch) > max) break;
      out += ch;
    }
    return out;
  };
  const check = (t: Table, kind: string, name: string | undefined): void => {
    if (name !== undefined && Buffer.byteLength(name) > max) lossy.push({ table: t.table, what: `${kind} name ${name} is longer than ${max} bytes: ${into.label} keeps ${cut(name)}` });
  };
  for (const t of tables) {
    check(t, 'table', t.table);
    for (const c of t.columns) check(t, 'column', c.name);
    for (const ix of t.indexes) check(t, 'index', ix.name);
    for (const fk of allForeignKeys(t)) check(t, 'foreign key', fk.name ?? undefined);
  }
}
