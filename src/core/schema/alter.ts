/**
 * alter_table: a change set becomes DDL by the backend module's strategy
 * (contract/schema.ts AlterStrategy). PostgreSQL plans plain ALTER statements, run
 * here in one transaction (backends/postgres/alter.ts); MySQL plans one ALTER TABLE
 * (atomic on its own; DDL commits implicitly there: backends/mysql/alter.ts). SQLite
 * runs its own steps: what its ALTER TABLE can, a rebuild for the rest, all in one
 * transaction with foreign key enforcement off and a foreign_key_check before commit
 * (backends/sqlite/rebuild.ts). This file keeps the refusals, dry runs and the
 * recorded migration with its down.
 */
import type { ServerContext } from '../../context.js';
import { DbError } from '../../errors.js';
import type { AlterMode, AlterPlan, AlterSession } from '../backends/contract/schema.js';
import type { Session } from '../dialect.js';
import type { Progress } from '../migrations/manager.js';
import { applyChanges, inverseChanges, type Applied, type Changes } from './changes.js';
import { checkForBackend } from './ddl.js';
import { applyDdl, readTable, recordMigration, refuseEscapes, refuseReadOnly, slug, target, type Recorded, type Target } from './manager.js';
import type { Table } from './model.js';

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

function refuseLoss(ap: Applied, allow: boolean | undefined): void {
  if (ap.losses.length && !allow) {
    throw new DbError('INVALID_INPUT', `this change would lose data: ${ap.losses.join('; ')}. Pass allow_data_loss: true to do it anyway`, { field: 'allow_data_loss', losses: ap.losses });
  }
}

/** What a backend that alters step by step needs of this session. */
function alterSession(t: Target, s: Session): AlterSession {
  return { session: s, flavor: t.flavor, refuseEscapes: (statements) => refuseEscapes(t.dialect, statements), readTable: (name) => readTable(t, s, name) };
}

/** Runs the change in `mode` where the backend alters step by step; null where it plans statements up front (run by the caller). */
async function runStepwise(t: Target, s: Session, cur: Table, ch: Changes, signal: AbortSignal, mode: AlterMode): Promise<AlterPlan | null> {
  const strategy = t.module.schema.alter;
  return strategy.kind === 'stepwise' ? strategy.run(alterSession(t, s), cur, ch, signal, mode) : null;
}

/** The backend's statements for a change planned up front (for a stepwise backend, none can be). */
function planned(t: Target, cur: Table, ap: Applied, ch: Changes): string[] {
  const strategy = t.module.schema.alter;
  if (strategy.kind !== 'statements') throw new DbError('INTERNAL', `${t.module.label} alters tables step by step: its statements cannot be planned without running them`);
  return strategy.statements(cur, ap, ch, t.flavor);
}

/** Runs (or, keep=false, runs and rolls back) the change in a session; returns the statements sent. */
async function execute(t: Target, s: Session, cur: Table, ch: Changes, signal: AbortSignal, keep: boolean): Promise<AlterPlan> {
  const stepwise = await runStepwise(t, s, cur, ch, signal, keep ? 'commit' : 'rollback');
  if (stepwise) return stepwise;
  const ap = applyChanges(cur, ch);
  checkForBackend(ap.next, t.flavor);
  const statements = planned(t, cur, ap, ch);
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
  const base = { connection: t.config.name, backend: t.config.backend };
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
async function planDown(t: Target, s: Session, cur: Table, ap: Applied, args: AlterArgs, up: AlterPlan): Promise<AlterPlan> {
  const steps = inverseChanges(cur, ap, args.changes);
  if (!steps.length) throw new DbError('INVALID_INPUT', 'this change has no inverse to record', {});
  const down: AlterPlan = { statements: [], rebuilt: false };
  if (!t.dialect.capabilities.transactionalDdl) {
    let table = ap.next;
    for (const step of steps) {
      const next = applyChanges(table, step);
      down.statements.push(...planned(t, table, next, step));
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
      const plan = await runStepwise(t, s, table, step, new AbortController().signal, 'inside');
      if (plan) {
        down.statements.push(...plan.statements);
        down.rebuilt ||= plan.rebuilt;
      } else {
        const statements = planned(t, table, applyChanges(table, step), step);
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
