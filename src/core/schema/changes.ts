/**
 * alter_table's change set applied to a portable table, without a database: the
 * table it will become, what data the change would lose, and its inverse (the
 * down of a recorded migration). Steps run in a fixed order, each seeing the
 * names left by the ones before: drop_indexes, rename_columns, drop_columns,
 * alter_columns, add_columns, add_indexes, rename_to.
 */
import { z } from 'zod';
import { DbError } from '../../errors.js';
import {
  columnInput, columnSpec, defaultFor, defaultValue, formatType, identifier, indexInput, INTEGER_KINDS, knownColumns, normalizeColumn, normalizeIndexes, parseType,
  type Column, type ColumnInput, type DefaultValue, type Index, type Table, type TypeSpec,
} from './model.js';

const alterColumn = z.object({
  name: identifier,
  type: z.string().min(1).max(100).optional(),
  native: z.string().min(1).max(100).optional(),
  nullable: z.boolean().optional(),
  default: defaultValue.optional().describe('null removes it.'),
}).strict();

export const changesInput = z.object({
  drop_indexes: z.array(identifier).max(100).optional(),
  rename_columns: z.array(z.object({ from: identifier, to: identifier }).strict()).max(100).optional(),
  drop_columns: z.array(identifier).max(100).optional().describe('Needs allow_data_loss.'),
  alter_columns: z.array(alterColumn).max(100).optional(),
  add_columns: z.array(columnInput).max(100).optional(),
  add_indexes: z.array(indexInput).max(100).optional(),
  rename_to: identifier.optional(),
}).strict().refine((c) => Object.values(c).some((v) => v !== undefined && (!Array.isArray(v) || v.length > 0)), 'give at least one change')
  .describe('Applied in the order listed.');

export type Changes = z.infer<typeof changesInput>;

export interface Applied {
  next: Table;
  /** New column name -> the name it had before (columns that existed already). */
  origin: Map<string, string>;
  /** Columns whose type, nullability or default changed (new names). */
  altered: Set<string>;
  /** Indexes dropped, explicitly or because a dropped column was in them. */
  droppedIndexes: Index[];
  /** Dropped columns: `now` as drop_columns named it (after renames), `was` as the table had it. */
  droppedColumns: Array<{ now: string; was: string }>;
  /** Each change that would lose data; empty when none. */
  losses: string[];
}

const fold = (s: string): string => s.toLowerCase();
const bad = (field: string, message: string) => new DbError('INVALID_INPUT', message, { field });

/** An exact match first (PostgreSQL names are case-sensitive); else the one match ignoring case. */
export function findByName<T extends { name: string }>(items: T[], name: string): T | undefined {
  const exact = items.find((x) => x.name === name);
  if (exact) return exact;
  const folded = items.filter((x) => fold(x.name) === fold(name));
  return folded.length === 1 ? folded[0] : undefined;
}

function find(cols: Column[], name: string, field: string): Column {
  const c = findByName(cols, name);
  if (!c) throw bad(field, `no column "${name}" in the table (or several that differ only in case)`);
  return c;
}

const RANK: Record<string, number> = { smallint: 1, integer: 2, bigint: 3 };
const DIGITS: Record<string, number> = { smallint: 5, integer: 10, bigint: 19 };

/** Whether every value of `from` survives in `to` unchanged; anything unsure counts as narrowing. */
export function isWidening(from: TypeSpec, to: TypeSpec): boolean {
  if (formatType(from) === formatType(to) && (from.kind !== 'native' || (to.kind === 'native' && from.native === to.native))) return true;
  if (from.kind === 'native' || to.kind === 'native' || from.kind === 'binary') return false;
  if (to.kind === 'text') return true;
  if (INTEGER_KINDS.has(from.kind)) {
    if (INTEGER_KINDS.has(to.kind)) return RANK[to.kind] >= RANK[from.kind];
    if (to.kind === 'decimal') return to.precision - to.scale >= DIGITS[from.kind];
    return to.kind === 'double' ? from.kind !== 'bigint' : to.kind === 'real' && from.kind === 'smallint';
  }
  if (from.kind === 'decimal' && to.kind === 'decimal') return to.scale >= from.scale && to.precision - to.scale >= from.precision - from.scale;
  if (from.kind === 'real') return to.kind === 'double';
  if (from.kind === 'varchar' || from.kind === 'char') return to.kind === 'varchar' && to.length >= from.length;
  if (from.kind === 'uuid') return (to.kind === 'varchar' || to.kind === 'char') && to.length >= 36;
  if (from.kind === 'date') return to.kind === 'timestamp' || to.kind === 'timestamptz';
  return from.kind === 'timestamp' && to.kind === 'timestamptz';
}

function renameIn(list: string[], from: string, to: string): string[] {
  return list.map((n) => (fold(n) === fold(from) ? to : n));
}

export function applyChanges(cur: Table, ch: Changes): Applied {
  let cols = cur.columns.map((c) => ({ ...c }));
  let indexes = [...cur.indexes];
  let fks = cur.foreign_keys.map((f) => ({ ...f, columns: [...f.columns] }));
  const origin = new Map(cols.map((c) => [c.name, c.name]));
  const altered = new Set<string>();
  const dropped: Index[] = [];
  const losses: string[] = [];
  const droppedColumns: Array<{ now: string; was: string }> = [];
  for (const [i, name] of (ch.drop_indexes ?? []).entries()) {
    const ix = findByName(indexes, name);
    if (!ix) throw bad(`changes.drop_indexes.${i}`, `no index "${name}" on the table (get_schema lists them)`);
    dropped.push(ix);
    indexes = indexes.filter((x) => x !== ix);
  }
  for (const [i, r] of (ch.rename_columns ?? []).entries()) {
    const c = find(cols, r.from, `changes.rename_columns.${i}.from`);
    if (fold(r.from) !== fold(r.to) && cols.some((x) => fold(x.name) === fold(r.to))) throw bad(`changes.rename_columns.${i}.to`, `a column "${r.to}" exists already`);
    origin.set(r.to, origin.get(c.name)!);
    origin.delete(c.name);
    indexes = indexes.map((x) => ({ ...x, columns: renameIn(x.columns, c.name, r.to) }));
    fks = fks.map((f) => ({ ...f, columns: renameIn(f.columns, c.name, r.to) }));
    c.name = r.to;
  }
  for (const [i, name] of (ch.drop_columns ?? []).entries()) {
    const c = find(cols, name, `changes.drop_columns.${i}`);
    if (fks.some((f) => f.columns.some((n) => fold(n) === fold(c.name)))) throw bad(`changes.drop_columns.${i}`, `column "${c.name}" is part of a multi-column foreign key: drop the key first`);
    cols = cols.filter((x) => x !== c);
    droppedColumns.push({ now: c.name, was: origin.get(c.name)! });
    origin.delete(c.name);
    for (const ix of indexes.filter((x) => x.columns.some((n) => fold(n) === fold(c.name)))) dropped.push(ix);
    indexes = indexes.filter((x) => !x.columns.some((n) => fold(n) === fold(c.name)));
    losses.push(`drop column "${c.name}" and its values`);
  }
  if (!cols.length) throw bad('changes.drop_columns', 'a table needs at least one column');
  for (const [i, a] of (ch.alter_columns ?? []).entries()) alterOne(find(cols, a.name, `changes.alter_columns.${i}.name`), a, i, altered, losses);
  const pkCount = cols.filter((c) => c.primary_key).length;
  const addedPk = (ch.add_columns ?? []).filter((c) => c.primary_key).length;
  for (const [i, add] of (ch.add_columns ?? []).entries()) {
    if (cols.some((x) => fold(x.name) === fold(add.name))) throw bad(`changes.add_columns.${i}.name`, `a column "${add.name}" exists already`);
    if (add.primary_key && pkCount > 0) throw bad(`changes.add_columns.${i}.primary_key`, 'the table has a primary key already');
    cols.push(normalizeColumn(add, i, addedPk, 'changes.add_columns'));
  }
  const added = normalizeIndexes(ch.rename_to ?? cur.table, ch.add_indexes ?? [], knownColumns(cols), 'changes.add_indexes');
  for (const ix of added) if (indexes.some((x) => fold(x.name) === fold(ix.name))) throw bad('changes.add_indexes', `an index "${ix.name}" exists already`);
  const next: Table = { ...cur, table: ch.rename_to ?? cur.table, columns: cols, indexes: [...indexes, ...added].sort((a, b) => (a.name < b.name ? -1 : 1)), foreign_keys: fks };
  return { next, origin, altered, droppedIndexes: dropped, droppedColumns, losses };
}

function alterOne(c: Column, a: z.infer<typeof alterColumn>, i: number, altered: Set<string>, losses: string[]): void {
  const field = `changes.alter_columns.${i}`;
  const was = JSON.stringify(c);
  if (a.type !== undefined) {
    const to = parseType(a.type, a.native, `${field}.type`);
    const from = columnSpec(c);
    if (c.auto_increment && !INTEGER_KINDS.has(to.kind)) throw bad(`${field}.type`, `auto_increment column "${c.name}" must stay an integer type`);
    if (!isWidening(from, to)) losses.push(`change "${c.name}" from ${c.type === 'native' ? c.native : c.type} to ${formatType(to) === 'native' ? a.native : formatType(to)}, which may not hold every value`);
    c.type = formatType(to);
    if (to.kind === 'native') c.native = to.native;
    else delete c.native;
    if (a.default === undefined && c.default !== null && typeof c.default !== 'object') {
      // The kept default must suit the new type (and take its spelling: "1.50" -> "1.500").
      try {
        c.default = normalizeColumn({ name: c.name, type: c.type, native: c.native, default: c.default }, i, 0, 'changes.alter_columns').default;
      } catch {
        throw bad(`${field}.default`, `the default of "${c.name}" (${JSON.stringify(c.default)}) does not suit ${a.type}: give a new default, or default: null`);
      }
    }
  }
  if (a.nullable !== undefined) {
    if (a.nullable && c.primary_key) throw bad(`${field}.nullable`, `primary key column "${c.name}" cannot be nullable`);
    c.nullable = a.nullable;
  }
  if (a.default !== undefined) {
    if (c.auto_increment && a.default !== null) throw bad(`${field}.default`, `auto_increment column "${c.name}" cannot have a default`);
    c.default = defaultFor(c, a.default as DefaultValue, `${field}.default`);
  }
  if (JSON.stringify(c) !== was) altered.add(c.name);
}

/** Indexes the change creates: new names, and names dropped and created again. */
export function addedIndexes(cur: Table, ap: Applied): Index[] {
  return ap.next.indexes.filter((x) => !cur.indexes.some((o) => o.name === x.name) || ap.droppedIndexes.some((d) => d.name === x.name));
}

/**
 * The change sets that take the changed table back, to be applied in order: the
 * forward steps undone in reverse (a single fixed-order change set cannot express
 * "drop the added bio, then rename about back to bio").
 */
export function inverseChanges(before: Table, ap: Applied, ch: Changes): Changes[] {
  const after = ap.next;
  const renamed = [...ap.origin].filter(([now, was]) => now !== was);
  const addedIdx = addedIndexes(before, ap);
  const addedCols = after.columns.filter((c) => !ap.origin.has(c.name)).map((c) => c.name);
  const wasNamed = new Map([...ap.origin, ...ap.droppedColumns.map((d): [string, string] => [d.now, d.was])]);
  const back = [...ap.altered].filter((n) => ap.origin.has(n)).map((n) => {
    const was = before.columns.find((c) => c.name === ap.origin.get(n))!;
    return { name: n, type: was.type, ...(was.native ? { native: was.native } : {}), nullable: was.nullable, default: was.default };
  });
  const readd = ap.droppedColumns.map((d) => ({ ...before.columns.find((c) => c.name === d.was)!, name: d.now }) as ColumnInput);
  const unrename = [...renamed.map(([now, was]) => ({ from: now, to: was })), ...ap.droppedColumns.filter((d) => d.now !== d.was).map((d) => ({ from: d.now, to: d.was }))];
  const restore = ap.droppedIndexes.filter((x) => !x.native).map((x) => ({ name: x.name, columns: x.columns.map((n) => wasNamed.get(n) ?? n), unique: x.unique }));
  const steps: Changes[] = [
    ch.rename_to ? { rename_to: before.table } : {},
    addedIdx.length ? { drop_indexes: addedIdx.map((x) => x.name) } : {},
    addedCols.length ? { drop_columns: addedCols } : {},
    back.length ? { alter_columns: back } : {},
    readd.length ? { add_columns: readd } : {},
    unrename.length ? { rename_columns: unrename } : {},
    restore.length ? { add_indexes: restore } : {},
  ];
  return steps.filter((x) => Object.keys(x).length > 0);
}
