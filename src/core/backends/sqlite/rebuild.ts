/**
 * alter_table on SQLite. ALTER TABLE there renames columns and tables, drops
 * indexes and adds plain columns; everything else follows SQLite's documented
 * table-rebuild procedure: with foreign key enforcement off, in one transaction,
 * create the new table, copy every row, drop the old one, rename the new one,
 * recreate indexes and triggers, then foreign_key_check before commit.
 */
import { DbError } from '../../../errors.js';
import type { AlterMode, AlterPlan, AlterSession, SchemaFlavor } from '../contract/schema.js';
import type { Session } from '../../dialect.js';
import { addedIndexes, applyChanges, type Applied, type Changes } from '../../schema/changes.js';
import { action, columnDef, createTableSql, indexDef, qualified } from '../../schema/ddl.js';
import type { Column, Table } from '../../schema/model.js';
import { sqliteTableSql } from './table-sql.js';

/** What SQLite's ADD COLUMN accepts (no key, no expression default, NOT NULL only with a default). */
function nativeAddable(c: Column): boolean {
  const literal = c.default !== null && typeof c.default !== 'object';
  return !c.primary_key && !c.unique && !(c.default !== null && typeof c.default === 'object')
    && (c.nullable || literal) && !(c.references && c.default !== null);
}

/** SQLite's ADD COLUMN: the column with its reference inline (its only way to add a foreign key). */
function addColumnDef(c: Column, f: SchemaFlavor, field: string): string {
  const r = c.references;
  const ref = r ? ` REFERENCES ${f.quote(r.table)} (${f.quote(r.column)}) ON DELETE ${action(r.on_delete)} ON UPDATE ${action(r.on_update)}` : '';
  return columnDef(c, f, field) + ref;
}

const TEMP_PREFIX = 'codomyrmex_rebuild_';

async function rebuildStatements(io: AlterSession, mid: Table, ap: Applied): Promise<string[]> {
  const { session: s, flavor: f } = io;
  const [row] = await s.query(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`, [mid.table]);
  const parsed = sqliteTableSql(String(row?.sql ?? ''));
  if (parsed.unportable.length) {
    throw new DbError('UNSUPPORTED', `table "${mid.table}" uses ${parsed.unportable.join(', ')}, which a rebuild from the portable schema would drop; change it with a hand-written migration`, { table: mid.table, features: parsed.unportable });
  }
  const saved = await s.query(`SELECT sql FROM sqlite_schema WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type = 'trigger', name`, [mid.table]);
  const q = qualified(mid, f);
  const tmp = f.quote(TEMP_PREFIX + mid.table);
  const kept = ap.next.columns.filter((c) => ap.origin.has(c.name)).map((c) => f.quote(c.name)).join(', ');
  // Multi-column UNIQUE constraints exist only as SQLite's autoindexes: carry them as constraints.
  const uniques = mid.indexes.filter((ix) => ix.name.startsWith('sqlite_autoindex_') && ix.columns.every((c) => ap.next.columns.some((x) => x.name === c)))
    .map((ix) => `UNIQUE (${ix.columns.map((c) => f.quote(c)).join(', ')})`);
  // The key keeps its own column order (PRIMARY KEY (tag, artist_id) on columns artist_id, tag), less any key column dropped.
  const key = (await s.query('SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk', [mid.table])).map((r) => String(r.name));
  const keyOrder = key.filter((n) => ap.next.columns.some((c) => c.primary_key && c.name === n));
  let create = createTableSql({ ...ap.next, indexes: [] }, f, tmp, { constraints: uniques, keyOrder })[0];
  // A plain INTEGER PRIMARY KEY stays plain: AUTOINCREMENT only where the table had it.
  if (!/\bAUTOINCREMENT\b/i.test(String(row?.sql))) create = create.replace(' PRIMARY KEY AUTOINCREMENT', ' PRIMARY KEY');
  const out = [create, `INSERT INTO ${tmp} (${kept}) SELECT ${kept} FROM ${q}`];
  if (mid.columns.some((c) => c.auto_increment) && /\bAUTOINCREMENT\b/i.test(String(row?.sql))) {
    // Keep AUTOINCREMENT's high-water mark: ids of deleted rows are never reused.
    out.push(`DELETE FROM sqlite_sequence WHERE name = ${f.string(TEMP_PREFIX + mid.table)}`);
    out.push(`INSERT INTO sqlite_sequence (name, seq) SELECT ${f.string(TEMP_PREFIX + mid.table)}, seq FROM sqlite_sequence WHERE name = ${f.string(mid.table)}`);
  }
  // legacy_alter_table: the rename must leave other tables' REFERENCES, views and triggers as they are.
  out.push(`DROP TABLE ${q}`, 'PRAGMA legacy_alter_table = ON', `ALTER TABLE ${tmp} RENAME TO ${q}`, 'PRAGMA legacy_alter_table = OFF');
  out.push(...saved.map((r) => String(r.sql)));
  // A rename with legacy_alter_table off re-checks every view and trigger that names the
  // table: one that uses a dropped column fails here, as SQLite's own DROP COLUMN would.
  const probe = f.quote(`${TEMP_PREFIX}check_${mid.table}`);
  out.push(`ALTER TABLE ${q} RENAME TO ${probe}`, `ALTER TABLE ${probe} RENAME TO ${q}`);
  return out;
}

async function violations(s: Session, table: string): Promise<number> {
  const rows = await s.query(`SELECT count(*) AS n FROM pragma_foreign_key_check(?)`, [table]);
  const children = await s.query(`SELECT DISTINCT m.name AS name FROM sqlite_schema m JOIN pragma_foreign_key_list(m.name) k WHERE m.type = 'table' AND k."table" = ? COLLATE NOCASE`, [table]);
  let n = Number(rows[0]?.n ?? 0);
  for (const c of children) n += Number((await s.query(`SELECT count(*) AS n FROM pragma_foreign_key_check(?)`, [c.name]))[0]?.n ?? 0);
  return n;
}

/**
 * mode: 'commit' or 'rollback' runs in its own transaction (with enforcement off);
 * 'inside' runs in the caller's transaction (planning a migration's down).
 */
export async function runSqliteAlter(io: AlterSession, cur: Table, ch: Changes, signal: AbortSignal, mode: AlterMode): Promise<AlterPlan> {
  const { session: s, flavor: f } = io;
  const sent: string[] = [];
  const run = async (stmts: string[]): Promise<void> => {
    if (!stmts.length) return;
    await io.refuseEscapes(stmts);
    await s.run(stmts, undefined, signal);
    sent.push(...stmts);
  };
  const ap = applyChanges(cur, ch);
  const keysWere = mode === 'inside' ? false : await s.setForeignKeys(false);
  if (mode !== 'inside') await s.begin();
  try {
    const q = qualified(cur, f);
    await run(ap.droppedIndexes.map((ix) => `DROP INDEX ${f.quote(ix.name)}`));
    await run((ch.rename_columns ?? []).filter((r) => r.from !== r.to).map((r) => `ALTER TABLE ${q} RENAME COLUMN ${f.quote(r.from)} TO ${f.quote(r.to)}`));
    // Read again: ALTER TABLE has renamed the columns in checks, indexes, triggers and views.
    const mid = (await io.readTable(cur.table))!;
    const rest: Changes = { drop_columns: ch.drop_columns, alter_columns: ch.alter_columns, add_columns: ch.add_columns };
    const hasRest = Boolean(ch.drop_columns?.length || ch.alter_columns?.length || ch.add_columns?.length);
    const ap2 = hasRest ? applyChanges(mid, rest) : null;
    const added = ap2 ? ap2.next.columns.filter((c) => !ap2.origin.has(c.name)) : [];
    const rebuilt = Boolean(ch.drop_columns?.length || (ap2 && ap2.altered.size > 0) || added.some((c) => !nativeAddable(c)));
    if (rebuilt) await run(await rebuildStatements(io, mid, ap2!));
    else await run(added.map((c) => `ALTER TABLE ${q} ADD COLUMN ${addColumnDef(c, f, 'changes.add_columns')}`));
    await run(addedIndexes(cur, ap).map((ix) => indexDef(cur, ix, f)));
    if (ch.rename_to) await run([`ALTER TABLE ${q} RENAME TO ${f.quote(ch.rename_to)}`]);
    if (rebuilt && mode !== 'inside') {
      const bad = await violations(s, ch.rename_to ?? cur.table);
      if (bad) throw new DbError('CONSTRAINT_VIOLATION', `the rebuilt table would leave ${bad} row(s) violating a foreign key; nothing was changed`, { violations: bad });
    }
    if (mode === 'commit') await s.commit();
    if (mode === 'rollback') await s.rollback();
    return { statements: sent, rebuilt };
  } catch (err) {
    if (mode !== 'inside') await s.rollback().catch(() => undefined);
    throw err;
  } finally {
    if (keysWere) await s.setForeignKeys(true).catch(() => undefined);
  }
}
