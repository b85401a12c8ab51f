/**
 * alter_table: a change set becomes DDL per backend. PostgreSQL runs plain ALTER
 * statements in one transaction; MySQL gets at most two ALTER TABLE statements
 * (each atomic; DDL commits implicitly there). SQLite does what its ALTER TABLE
 * can and rebuilds the table for the rest (backends/sqlite/rebuild.ts), all in one
 * transaction with foreign key enforcement off and a foreign_key_check before commit.
 */
import type { ServerContext } from '../../context.js';
import { DbError } from '../../errors.js';
import type { Session } from '../dialect.js';
import type { Progress } from '../migrations/manager.js';
import { addedIndexes, applyChanges, inverseChanges, type Applied, type Changes } from './changes.js';
import { allForeignKeys, checkForBackend, columnDef, commentSql, foreignKeyDef, indexDef, qualified } from './ddl.js';
import { defaultSql, type SchemaFlavor } from './flavors.js';
import { applyDdl, readTable, recordMigration, slug, refuseReadOnly, target, type Recorded, type Target } from './manager.js';
import { columnSpec, constraintName, unportableOf, type Column, type Table } from './model.js';
import { runSqliteAlter } from '../backends/sqlite/rebuild.js';

export { changesInput } from './changes.js';

export interface AlterArgs {
  table: string;
  schema?: string;
  changes: Changes;
  connection?: string;
  dry_run?: boolean;
  allow_data_loss?: boolean;
  record_migration?: boolean;
}

/** Keys and references of columns added by the change (ADD COLUMN cannot carry all of them everywhere). */
function addedConstraints(t: Table, added: Column[], f: SchemaFlavor): string[] {
  const out: string[] = [];
  const pk = added.filter((c) => c.primary_key).map((c) => f.quote(c.name));
  if (pk.length) out.push(`ADD ${f.backend === 'mysql' ? '' : `CONSTRAINT ${f.quote(constraintName(t.table, [], 'pkey'))} `}PRIMARY KEY (${pk.join(', ')})`);
  for (const c of added.filter((x) => x.unique)) {
    const name = f.quote(constraintName(t.table, [c.name], 'key'));
    out.push(f.backend === 'mysql' ? `ADD UNIQUE KEY ${name} (${f.quote(c.name)})` : `ADD CONSTRAINT ${name} UNIQUE (${f.quote(c.name)})`);
  }
  for (const fk of allForeignKeys({ ...t, columns: added, foreign_keys: [] })) out.push(`ADD ${foreignKeyDef(t.table, fk, f)}`);
  return out;
}

function addedColumns(ap: Applied): Column[] {
  return ap.next.columns.filter((c) => !ap.origin.has(c.name));
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
  const added = addedColumns(ap);
  for (const c of added) out.push(`ALTER TABLE ${q} ADD COLUMN ${columnDef(c, f, 'changes.add_columns')}`);
  const cons = addedConstraints(cur, added, f);
  if (cons.length) out.push(`ALTER TABLE ${q} ${cons.join(', ')}`);
  for (const c of added) if (c.comment !== undefined) out.push(commentSql(cur, c, f)!);
  for (const ix of addedIndexes(cur, ap)) out.push(indexDef(cur, ix, f));
  if (ch.rename_to) out.push(`ALTER TABLE ${q} RENAME TO ${f.quote(ch.rename_to)}`);
  return out;
}

/**
 * One ALTER TABLE (atomic on its own; DDL commits implicitly on MySQL): CHANGE COLUMN
 * carries a rename and the full new definition at once, so every clause names the
 * columns as they were, and added keys the columns as they will be.
 */
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
  const added = addedColumns(ap);
  parts.push(...added.map((c) => `ADD COLUMN ${columnDef(c, f, 'changes.add_columns')}`), ...addedConstraints(cur, added, f));
  parts.push(...addedIndexes(cur, ap).map((ix) => `ADD ${indexDef(cur, ix, f)}`));
  if (ch.rename_to) parts.push(`RENAME TO ${f.quote(ch.rename_to)}`);
  return parts.length ? [`ALTER TABLE ${qualified(cur, f)} ${parts.join(', ')}`] : [];
}

function refuseLoss(ap: Applied, allow: boolean | undefined): void {
  if (ap.losses.length && !allow) {
    throw new DbError('INVALID_INPUT', `this change would lose data: ${ap.losses.join('; ')}. Pass allow_data_loss: true to do it anyway`, { field: 'allow_data_loss', losses: ap.losses });
  }
}

interface Plan { statements: string[]; rebuilt: boolean }

/** Runs (or, keep=false, runs and rolls back) the change in a session; returns the statements sent. */
async function execute(t: Target, s: Session, cur: Table, ch: Changes, signal: AbortSignal, keep: boolean): Promise<Plan> {
  if (t.dialect.backend === 'sqlite') return runSqliteAlter(t, s, cur, ch, signal, keep ? 'commit' : 'rollback');
  const ap = applyChanges(cur, ch);
  checkForBackend(ap.next, t.flavor);
  const statements = t.dialect.backend === 'postgres' ? postgresAlter(cur, ap, ch, t.flavor) : mysqlAlter(cur, ap, ch, t.flavor);
  await applyDdl(t, s, statements, signal, keep);
  return { statements, rebuilt: false };
}

async function current(t: Target, s: Session, args: AlterArgs): Promise<Table> {
  const cur = await readTable(t, s, args.table, args.schema);
  if (!cur) throw new DbError('UNDEFINED_OBJECT', `no table "${args.table}" on connection "${t.config.name}"`, { table: args.table });
  return cur;
}

export async function alterTable(ctx: ServerContext, args: AlterArgs, p: Progress) {
  const t = await target(ctx, args.connection);
  refuseReadOnly(t.config, 'alter_table');
  const session = { signal: p.signal, timeoutMs: Math.max(t.config.statement_timeout_ms, 600_000) };
  const base = { connection: t.config.name, backend: t.dialect.backend };
  const validates = t.dialect.capabilities.transactionalDdl;
  if (args.dry_run || args.record_migration) {
    // Plan (and on transactional backends, run and roll back) the change and its inverse.
    const planned = await t.dialect.withSession(async (s) => {
      const cur = await current(t, s, args);
      const ap = applyChanges(cur, args.changes);
      refuseLoss(ap, args.allow_data_loss);
      const up = await execute(t, s, cur, args.changes, p.signal, false);
      const down = args.record_migration ? await planDown(t, s, cur, ap, args, up) : null;
      return { up, down };
    }, session);
    if (args.dry_run) {
      return { ...base, dry_run: true, altered: false, statements: planned.up.statements, rebuilt: planned.up.rebuilt, validated: validates,
        note: validates ? 'the DDL ran in a transaction that was rolled back' : 'DDL commits implicitly on this backend: the DDL was generated, not run' };
    }
    const directive = planned.up.rebuilt || planned.down?.rebuilt ? ['-- migrate:foreign-keys-off'] : [];
    const recorded: Recorded = await recordMigration(ctx, t, `alter_${slug(args.table)}`,
      planned.up.statements, planned.down!.statements, p, directive);
    return { ...base, dry_run: false, altered: true, statements: planned.up.statements, rebuilt: planned.up.rebuilt, migration: recorded, table: await readAfter(t, args, p) };
  }
  const plan = await t.dialect.withSession(async (s) => {
    const cur = await current(t, s, args);
    refuseLoss(applyChanges(cur, args.changes), args.allow_data_loss);
    return execute(t, s, cur, args.changes, p.signal, true);
  }, session);
  ctx.logger.info({ connection: t.config.name, table: args.table, statements: plan.statements.length, rebuilt: plan.rebuilt }, 'table altered');
  return { ...base, dry_run: false, altered: true, statements: plan.statements, rebuilt: plan.rebuilt, table: await readAfter(t, args, p) };
}

/** The down DDL: the inverse steps, planned against the changed table (on transactional backends inside the same rolled-back transaction). */
async function planDown(t: Target, s: Session, cur: Table, ap: Applied, args: AlterArgs, up: Plan): Promise<Plan> {
  const steps = inverseChanges(cur, ap, args.changes);
  if (!steps.length) throw new DbError('INVALID_INPUT', 'this change has no inverse to record', {});
  const down: Plan = { statements: [], rebuilt: false };
  if (!t.dialect.capabilities.transactionalDdl) {
    let table = ap.next;
    for (const step of steps) {
      const next = applyChanges(table, step);
      down.statements.push(...(t.dialect.backend === 'mysql' ? mysqlAlter(table, next, step, t.flavor) : postgresAlter(table, next, step, t.flavor)));
      table = next.next;
    }
    return down;
  }
  // Replay up inside a transaction, then plan (and run) each inverse step on what it left; everything rolls back.
  const keysWere = await s.setForeignKeys(false);
  await s.begin();
  try {
    await s.run(up.statements);
    let name = ap.next.table;
    for (const step of steps) {
      const table = (await readTable(t, s, name, args.schema))!;
      if (t.dialect.backend === 'sqlite') {
        const plan = await runSqliteAlter(t, s, table, step, new AbortController().signal, 'inside');
        down.statements.push(...plan.statements);
        down.rebuilt ||= plan.rebuilt;
      } else {
        const statements = postgresAlter(table, applyChanges(table, step), step, t.flavor);
        await s.run(statements);
        down.statements.push(...statements);
      }
      name = step.rename_to ?? name;
    }
    return down;
  } finally {
    await s.rollback().catch(() => undefined);
    if (keysWere) await s.setForeignKeys(true).catch(() => undefined);
  }
}

async function readAfter(t: Target, args: AlterArgs, p: Progress): Promise<Table | null> {
  return t.dialect.withSession((s) => readTable(t, s, args.changes.rename_to ?? args.table, args.schema), { signal: p.signal, timeoutMs: t.config.statement_timeout_ms, readsOnly: true });
}
