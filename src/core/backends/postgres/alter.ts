/**
 * postgres: alter_table as plain ALTER statements, planned up front; the manager runs
 * them in one transaction (DDL is transactional here).
 */
import type { SchemaFlavor } from '../contract/schema.js';
import { addedIndexes, type Applied, type Changes } from '../../schema/changes.js';
import { allForeignKeys, columnDef, commentSql, foreignKeyDef, indexDef, list, qualified, uniqueDef } from '../../schema/ddl.js';
import { columnSpec, constraintName, type Column, type Table } from '../../schema/model.js';
import { defaultSql } from '../../schema/sql-text.js';

/** Keys and references of added columns, as clauses of one ALTER TABLE. */
function addedConstraints(t: Table, added: Column[], f: SchemaFlavor): string[] {
  const out: string[] = [];
  const pk = added.filter((c) => c.primary_key).map((c) => c.name);
  if (pk.length) out.push(`ADD CONSTRAINT ${f.quote(constraintName(t.table, [], 'pkey'))} PRIMARY KEY (${list(pk, f)})`);
  for (const c of added.filter((x) => x.unique)) out.push(`ADD ${uniqueDef(t.table, c.name, f)}`);
  for (const fk of allForeignKeys({ ...t, columns: added, foreign_keys: [] })) out.push(`ADD ${foreignKeyDef(t.table, fk, f)}`);
  return out;
}

export function postgresAlter(cur: Table, ap: Applied, ch: Changes, f: SchemaFlavor): string[] {
  const q = qualified(cur, f);
  const ns = cur.schema ? `${f.quote(cur.schema)}.` : '';
  const out = ap.droppedIndexes.map((ix) => `DROP INDEX ${ns}${f.quote(ix.name)}`);
  for (const r of ch.rename_columns ?? []) if (r.from !== r.to) out.push(`ALTER TABLE ${q} RENAME COLUMN ${f.quote(r.from)} TO ${f.quote(r.to)}`);
  for (const d of ap.droppedColumns) out.push(`ALTER TABLE ${q} DROP COLUMN ${f.quote(d.now)}`);
  for (const name of ap.altered) {
    const was = cur.columns.find((c) => c.name === ap.origin.get(name))!;
    const now = ap.next.columns.find((c) => c.name === name)!;
    const col = `ALTER TABLE ${q} ALTER COLUMN ${f.quote(name)}`;
    const typeChanged = f.type(columnSpec(was), false) !== f.type(columnSpec(now), false);
    if (typeChanged && was.default !== null) out.push(`${col} DROP DEFAULT`);
    if (typeChanged) out.push(`${col} TYPE ${f.type(columnSpec(now), false)} USING ${f.quote(name)}::${f.type(columnSpec(now), false)}`);
    if (was.nullable !== now.nullable) out.push(`${col} ${now.nullable ? 'DROP' : 'SET'} NOT NULL`);
    if (typeChanged || JSON.stringify(was.default) !== JSON.stringify(now.default)) {
      const d = defaultSql(now.default, columnSpec(now), f, 'changes.alter_columns.default');
      if (d !== null) out.push(`${col} SET DEFAULT ${d}`);
      else if (!typeChanged && was.default !== null) out.push(`${col} DROP DEFAULT`);
    }
  }
  const added = ap.next.columns.filter((c) => !ap.origin.has(c.name));
  for (const c of added) out.push(`ALTER TABLE ${q} ADD COLUMN ${columnDef(c, f, 'changes.add_columns')}`);
  const cons = addedConstraints(cur, added, f);
  if (cons.length) out.push(`ALTER TABLE ${q} ${cons.join(', ')}`);
  for (const c of added) if (c.comment !== undefined) out.push(commentSql(cur, c, f)!);
  for (const ix of addedIndexes(cur, ap)) out.push(indexDef(cur, ix, f));
  if (ch.rename_to) out.push(`ALTER TABLE ${q} RENAME TO ${f.quote(ch.rename_to)}`);
  return out;
}
