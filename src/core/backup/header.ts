/**
 * A portable backup's header, checked whole before a restore plans anything from it. The
 * header is input: anyone who can write backup_dir can edit it and recompute the
 * checksums. Its table definitions become DDL on the target (an `on_update` of
 * `restrict; drop table victim; --` ran as a second statement), its sequence positions
 * become statements, its column lists decide how rows load. So each field is held to the
 * shape the writer gives it (create.ts), and the entry to itself (its columns, keys and
 * lists name the definition's columns); anything else is BACKUP_CORRUPT naming the field.
 * What the DDL built from it may then hold (a check's expression, a default's SQL) is
 * held to one statement when the plan is made (check-ddl.ts checkBuiltSql).
 */
import { z } from 'zod';
import { BACKEND_NAMES, backendModule } from '../backends/lookup.js';
import { FK_ACTIONS, PORTABLE_KINDS, type Column } from '../schema/model.js';
import { corrupt, type Header } from './format.js';
import { specOf } from './values.js';

/** Names as sources give them: SQLite allows any length, the empty name too (a restore elsewhere lists or refuses what its target cannot take); never NUL. */
const name = z.string().max(1 << 16).refine((s) => !s.includes('\u0000'), 'holds a NUL character');
const names = z.array(name).max(4096);
const sql = z.string().min(1).max(1 << 20);
const action = z.enum(FK_ACTIONS);

const column = z.object({
  name,
  type: z.string().min(1).max(100),
  native: z.string().max(1 << 20).optional(),
  nullable: z.boolean(),
  primary_key: z.boolean(),
  auto_increment: z.boolean(),
  unique: z.boolean(),
  default: z.union([z.null(), z.string().max(1 << 20), z.number(), z.boolean(), z.object({ sql }).strict()]),
  references: z.object({ table: name, column: name, name: name.optional(), schema: name.optional(), on_delete: action, on_update: action }).strict().optional(),
  comment: z.string().max(1 << 24).optional(),
}).strict();

const definition = z.object({
  table: name,
  schema: name.optional(),
  columns: z.array(column).min(1).max(4096),
  // An expression index lists no columns (its definition is `native`).
  indexes: z.array(z.object({ name, columns: names, unique: z.boolean(), native: sql.optional() }).strict()).max(4096),
  foreign_keys: z.array(z.object({
    name: name.nullable(),
    columns: names.min(1),
    references: z.object({ table: name, columns: names.min(1), schema: name.optional() }).strict(),
    on_delete: action,
    on_update: action,
  }).strict()).max(4096),
  checks: z.array(z.object({ name: name.nullable(), expression: sql }).strict()).max(4096),
}).strict();

const entry = z.object({
  name,
  schema: name.optional(),
  definition,
  columns: z.array(z.object({ name, encoding: z.enum([...PORTABLE_KINDS, 'native']) }).strict()),
  order_by: names,
  sequence: z.object({ column: name, next: z.string().regex(/^-?\d{1,40}$/, 'is not a whole number') }).strict().nullable(),
  unportable: z.record(name, z.array(z.string().max(1 << 20))).optional(),
  table_unportable: z.array(z.string().max(1 << 20)).optional(),
  mixed: names.optional(),
  nul: names.optional(),
  ddl: z.array(sql).optional(),
  generated: names.optional(),
}).strict();

const header = z.object({
  source: z.object({ backend: z.enum(BACKEND_NAMES), flavor: z.string().max(64).nullable() }).passthrough(),
  tables: z.array(entry).max(100_000),
}).passthrough();

/** Where a zod issue is: `tables[2].definition.columns[1].references.on_update`. */
function where(path: PropertyKey[]): string {
  return path.reduce<string>((out, k) => (typeof k === 'number' ? `${out}[${k}]` : `${out}${out ? '.' : ''}${String(k)}`), '');
}

/** The entry's lists name its definition's columns, in the definition's order where they list them all. */
function inconsistency(e: z.infer<typeof entry>): string | null {
  const cols = e.definition.columns.map((c) => c.name);
  const known = new Set(cols);
  if (e.definition.table !== e.name) return `definition.table is "${e.definition.table}", the entry's name "${e.name}"`;
  if ((e.definition.schema ?? null) !== (e.schema ?? null)) return 'definition.schema differs from the entry\'s schema';
  if (e.columns.length !== cols.length || e.columns.some((c, k) => c.name !== cols[k])) return 'columns do not list the definition\'s columns in order';
  for (const [k, c] of e.definition.columns.entries()) {
    let kind: string;
    try {
      kind = specOf(c as Column).kind;
    } catch (err) {
      return `definition.columns[${k}] (${c.name}): ${(err as Error).message}`;
    }
    if (e.columns[k].encoding !== kind) return `columns[${k}].encoding "${e.columns[k].encoding}" is not its column's type`;
  }
  const lists: Array<[string, string[]]> = [
    ['order_by', e.order_by], ['mixed', e.mixed ?? []], ['nul', e.nul ?? []], ['generated', e.generated ?? []],
    ['sequence.column', e.sequence ? [e.sequence.column] : []],
  ];
  for (const [field, list] of lists) {
    const stray = list.find((c) => !known.has(c));
    if (stray !== undefined) return `${field} names "${stray}", which is not a column of the table`;
  }
  return null;
}

/** Refuses (BACKUP_CORRUPT) a header whose tables are not as a backup writes them. */
export function checkHeader(h: Header, file: string): void {
  const parsed = header.safeParse(h);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw corrupt(file, `its header's ${where(issue.path) || 'top level'} ${issue.message.replace(/^Invalid input: /, 'is invalid: ')}`);
  }
  // Only backends whose backups carry a table's own DDL (MySQL's SHOW CREATE TABLE, SQLite's schema SQL) may have it in the header.
  const carriesDdl = backendModule(parsed.data.source.backend).backup.portable.readDdl !== undefined;
  for (const [i, e] of parsed.data.tables.entries()) {
    if (e.ddl && !carriesDdl) throw corrupt(file, `its header's tables[${i}] (${e.name}) has ddl, which a ${parsed.data.source.backend} backup never writes`);
    const why = inconsistency(e);
    if (why) throw corrupt(file, `its header's tables[${i}] (${e.name}): ${why}`);
  }
}
