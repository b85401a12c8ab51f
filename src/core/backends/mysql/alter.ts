/**
 * mysql: alter_table as one ALTER TABLE (atomic on its own; DDL commits implicitly
 * here). CHANGE COLUMN carries a rename and the full new definition at once, so every
 * clause names the columns as they were, and added keys the columns as they will be.
 */
import { DbError } from '../../../errors.js';
import type { SchemaFlavor } from '../contract/schema.js';
import { addedIndexes, type Applied, type Changes } from '../../schema/changes.js';
import { allForeignKeys, columnDef, foreignKeyDef, indexDef, list, qualified, uniqueDef } from '../../schema/ddl.js';
import { constraintName, unportableOf, type Column, type Table } from '../../schema/model.js';

/** Keys and references of added columns, as clauses of the ALTER TABLE (MySQL's primary key takes no name). */
function addedConstraints(t: Table, added: Column[], f: SchemaFlavor): string[] {
  const out: string[] = [];
  const pk = added.filter((c) => c.primary_key).map((c) => c.name);
  if (pk.length) out.push(`ADD PRIMARY KEY (${list(pk, f)})`);
  for (const c of added.filter((x) => x.unique)) out.push(`ADD ${uniqueDef(t.table, c.name, f)}`);
  for (const fk of allForeignKeys({ ...t, columns: added, foreign_keys: [] })) out.push(`ADD ${foreignKeyDef(t.table, fk, f)}`);
  return out;
}

export function mysqlAlter(cur: Table, ap: Applied, ch: Changes, f: SchemaFlavor): string[] {
  const parts: string[] = [];
  for (const d of ap.droppedColumns) {
    const r = cur.columns.find((c) => c.name === d.was)?.references;
    if (r) parts.push(`DROP FOREIGN KEY ${f.quote(r.name ?? constraintName(cur.table, [d.was], 'fkey'))}`);
  }
  parts.push(...ap.droppedIndexes.map((ix) => `DROP INDEX ${f.quote(ix.name)}`));
  for (const c of ap.next.columns.filter((x) => ap.origin.has(x.name) && (ap.origin.get(x.name) !== x.name || ap.altered.has(x.name)))) {
    const was = cur.columns.find((x) => x.name === ap.origin.get(c.name))!;
    if (unportableOf(was).length) {
      throw new DbError('UNSUPPORTED', `column "${was.name}" has ${unportableOf(was).join(', ')}, which CHANGE COLUMN from the portable schema would drop; change it with a hand-written migration`, { column: was.name, features: unportableOf(was) });
    }
    parts.push(`CHANGE COLUMN ${f.quote(was.name)} ${columnDef(c, f, 'changes.alter_columns')}`);
  }
  parts.push(...ap.droppedColumns.map((d) => `DROP COLUMN ${f.quote(d.was)}`));
  const added = ap.next.columns.filter((c) => !ap.origin.has(c.name));
  parts.push(...added.map((c) => `ADD COLUMN ${columnDef(c, f, 'changes.add_columns')}`), ...addedConstraints(cur, added, f));
  parts.push(...addedIndexes(cur, ap).map((ix) => `ADD ${indexDef(cur, ix, f)}`));
  if (ch.rename_to) parts.push(`RENAME TO ${f.quote(ch.rename_to)}`);
  return parts.length ? [`ALTER TABLE ${qualified(cur, f)} ${parts.join(', ')}`] : [];
}
