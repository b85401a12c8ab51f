/**
 * The migration manager: plans from files and history, applies and rolls back
 * under the database-wide lock, one migration at a time. Where DDL is
 * transactional a migration and its history row commit together; elsewhere a
 * `running` row is written first and advanced statement by statement, so a crash
 * leaves a visible `failed` state, never a silent half-applied one.
 */
import { join } from 'node:path';
import type { ConnectionConfig } from '../../config.js';
import type { ServerContext } from '../../context.js';
import { DbError } from '../../errors.js';
import type { SqlSupport } from '../backends/contract/sql.js';
import type { BackendModule } from '../backends/types.js';
import type { Dialect, Session } from '../dialect.js';
import { LEASE_MS } from '../lease.js';
import { createMigrationFile, readMigrations, statementsOf, type MigrationFile } from './files.js';
import { ACTOR, clip, createHistory, LOCK_NAME, nowIso, type History } from './history.js';
import { checkSection, failure, refuseEscapes, refuseProblems } from './checks.js';
import { combine, countByStatus, problems, type MigrationEntry } from './status.js';

export interface Progress {
  signal: AbortSignal;
  progress(done: number, total: number, message: string): Promise<void>;
}

interface Open {
  config: ConnectionConfig;
  module: BackendModule;
  dialect: Dialect;
  files: MigrationFile[];
}

/** How long run/rollback wait for another migrator before answering BUSY. */
const LOCK_WAIT_MS = 10_000;

async function open(ctx: ServerContext, connection: string | undefined): Promise<Open> {
  const { config, module, dialect } = await ctx.registry.get(connection);
  return { config, module, dialect, files: await readMigrations(config.migrations_dir) };
}

/** Refuses a tool that changes the database on a read-only connection (schema and backup tools too). */
export function refuseReadOnly(config: ConnectionConfig, tool: string): void {
  if (config.read_only) throw new DbError('READ_ONLY_VIOLATION', `connection "${config.name}" is read-only: ${tool} changes the database`, { connection: config.name });
}

/**
 * Runs fn in a session (long timeout: migrations may build indexes), optionally under the
 * lock. Unlocked sessions only read the history (list, status), so SQLite keeps its host
 * after them: without `readsOnly` every status read ended the host and the next call paid
 * for a new one (100-250 ms idle, up to a second under load: issue 16's latency spikes).
 */
async function inSession<T>(o: Open, signal: AbortSignal, locked: boolean, fn: (s: Session, h: History, lost: AbortSignal) => Promise<T>): Promise<T> {
  return o.dialect.withSession(async (s) => {
    const place = await o.module.migrations.place(s);
    const h = createHistory(s, o.dialect, o.module.migrations, place, o.module.sql);
    // Aborted when a renewal finds the lock row gone or another holder's: the statement under
    // way is cancelled at once (and rolled back where the migration is transactional).
    const lost = new AbortController();
    if (!locked) return fn(s, h, lost.signal);
    if (!(await s.lock(LOCK_NAME, LOCK_WAIT_MS, h.lockAt, () => lost.abort()))) {
      const holder = await s.lockHolder(LOCK_NAME, h.lockAt).catch(() => null);
      throw new DbError('BUSY', `another migrator holds the migration lock${holder ? ` (${holder})` : ''}; try again when it is done`, { holder });
    }
    try {
      await h.ensure();
      return await fn(s, h, lost.signal);
    } catch (err) {
      if (!lost.signal.aborted) throw err;
      const e = err instanceof DbError ? err : new DbError('INTERNAL', String(err));
      throw new DbError('BUSY', `the migration lock was lost while this call ran (its row was deleted or taken by another holder), so the statement under way was cancelled: ${e.message}`, { ...e.details, lock_lost: true, was: e.code });
    } finally {
      await s.unlock(LOCK_NAME).catch(() => undefined);
    }
  }, { signal, timeoutMs: Math.max(o.config.statement_timeout_ms, 600_000), readsOnly: !locked });
}

/**
 * Before each migration: the lease is ours still (and extended). A server that could not
 * renew it for a whole lease (LEASE_MS: the database unreachable, the process stopped)
 * may have lost it to another, and must not race it.
 */
async function mustStillHold(s: Session, done: string, details: Record<string, unknown>): Promise<void> {
  if (await s.stillHolds(LOCK_NAME)) return;
  throw new DbError('BUSY', `the migration lock's lease ran out before this call was done (it could not be renewed for ${LEASE_MS} ms), so it stopped: ${done}`, details);
}

async function entriesOf(o: Open, s: Session, h: History, lockHeldElsewhere: boolean): Promise<MigrationEntry[]> {
  return combine(o.files, await h.rows(), lockHeldElsewhere);
}

export async function listMigrations(ctx: ServerContext, connection: string | undefined, signal: AbortSignal) {
  const o = await open(ctx, connection);
  return inSession(o, signal, false, async (s, h) => {
    const holder = await s.lockHolder(LOCK_NAME, h.lockAt);
    return { connection: o.config.name, migrations_dir: o.config.migrations_dir, migrations: await entriesOf(o, s, h, holder !== null) };
  });
}

export async function migrationStatus(ctx: ServerContext, connection: string | undefined, signal: AbortSignal) {
  const o = await open(ctx, connection);
  return inSession(o, signal, false, async (s, h) => {
    const holder = await s.lockHolder(LOCK_NAME, h.lockAt);
    const entries = await entriesOf(o, s, h, holder !== null);
    const applied = entries.filter((e) => e.status === 'applied' || e.status === 'modified');
    return {
      connection: o.config.name,
      migrations_dir: o.config.migrations_dir,
      current_version: applied.length ? applied[applied.length - 1].version : null,
      counts: countByStatus(entries),
      pending: entries.filter((e) => e.status === 'pending').map((e) => ({ version: e.version, name: e.name })),
      lock: { held: holder !== null, holder },
      problems: problems(entries),
    };
  });
}

export interface RunArgs {
  connection?: string;
  migration_file?: string;
  target?: string;
  dry_run?: boolean;
  allow_out_of_order?: boolean;
}

function plan(entries: MigrationEntry[], files: MigrationFile[], args: RunArgs): MigrationFile[] {
  const pending = new Set(entries.filter((e) => e.status === 'pending').map((e) => e.version));
  if (args.migration_file !== undefined) {
    const wanted = args.migration_file;
    const byVersion = /^\d{1,19}$/.test(wanted) ? BigInt(wanted) : null;
    const f = files.find((m) => m.files.includes(wanted) || `${m.versionText}_${m.name}` === wanted || m.version === byVersion);
    if (!f) throw new DbError('INVALID_INPUT', `no migration file matches "${wanted}"`, { field: 'migration_file' });
    if (!pending.has(f.version.toString())) throw new DbError('INVALID_INPUT', `migration ${f.versionText}_${f.name} is not pending`, { field: 'migration_file' });
    const older = files.filter((m) => pending.has(m.version.toString()) && m.version < f.version);
    if (older.length && !args.allow_out_of_order) {
      throw new DbError('MIGRATION_BLOCKED', `older migrations are still pending (${older.map((m) => `${m.versionText}_${m.name}`).join(', ')}): apply them first, or pass allow_out_of_order: true`, { field: 'migration_file' });
    }
    return [f];
  }
  const target = args.target === undefined ? null : BigInt(args.target);
  return files.filter((f) => pending.has(f.version.toString()) && (target === null || f.version <= target));
}

/**
 * s.run that also stops between statements once `signal` is aborted: a statement that
 * starts after the abort has no cancel to catch (the listener is added too late), so the
 * check is made here before each one. `onApplied` as in Session.run.
 */
async function runStatements(s: Session, statements: string[], signal: AbortSignal, onApplied?: (i: number) => Promise<void>): Promise<void> {
  const stopBefore = (i: number): void => {
    if (signal.aborted) throw new DbError('CANCELLED', `stopped before statement ${i}`, { statement_index: i });
  };
  stopBefore(0);
  await s.run(statements, async (i) => {
    await onApplied?.(i);
    if (i < statements.length - 1) stopBefore(i + 1);
  }, signal);
}

/** Before a COMMIT under the lock: nothing commits once the signal (the client's, or the lock lost) is aborted. */
function stopBeforeCommit(signal: AbortSignal): void {
  if (signal.aborted) throw new DbError('CANCELLED', 'stopped before COMMIT: nothing was committed');
}

/**
 * Transactional path: the statements and the history row commit together, or nothing
 * does. Every backend plans and applies under the migration lock, so nobody else can
 * have applied it since we planned.
 */
async function applyInTransaction(s: Session, h: History, m: MigrationFile, statements: string[], signal: AbortSignal): Promise<void> {
  const start = performance.now();
  await keysOff(s, m.foreignKeysOff, async () => {
    await s.begin();
    try {
      // Cancelling here is safe: the transaction rolls back and the migration stays pending.
      await runStatements(s, statements, signal).catch((err) => { throw failure(m, 'up', err, { nothing_applied: true }); });
      await checkKeys(s, m, 'up');
      await h.insert({
        version: m.version.toString(), name: m.name, checksum: m.checksum, status: 'applied', applied_at: nowIso(),
        execution_ms: Math.round(performance.now() - start), applied_by: ACTOR, statements_applied: statements.length, failed_statement: null, error: null,
      });
      await h.event(m.version.toString(), 'applied');
      stopBeforeCommit(signal);
      await s.commit();
    } catch (err) {
      await s.rollback().catch(() => undefined);
      throw err;
    }
  });
}

/** `-- migrate:foreign-keys-off`: enforcement off around the transaction (SQLite's table rebuild needs it). */
async function keysOff<T>(s: Session, off: boolean, fn: () => Promise<T>): Promise<T> {
  if (!off) return fn();
  const was = await s.setForeignKeys(false);
  try {
    return await fn();
  } finally {
    if (was) await s.setForeignKeys(true).catch(() => undefined);
  }
}

/** With enforcement off, the keys are checked once before commit instead. */
async function checkKeys(s: Session, m: MigrationFile, direction: 'up' | 'down'): Promise<void> {
  if (!m.foreignKeysOff) return;
  const bad = await s.foreignKeyViolations();
  if (bad) throw failure(m, direction, new DbError('CONSTRAINT_VIOLATION', `${bad} row(s) would violate a foreign key`), { nothing_applied: true });
}

/** Non-transactional path: a `running` row first, advanced per statement; `failed` with the index on error. */
async function applyStepwise(s: Session, h: History, m: MigrationFile, statements: string[], lost: AbortSignal): Promise<void> {
  const version = m.version.toString();
  const start = performance.now();
  await h.insert({
    version, name: m.name, checksum: m.checksum, status: 'running', applied_at: nowIso(), execution_ms: 0,
    applied_by: ACTOR, statements_applied: 0, failed_statement: null, error: null,
  });
  try {
    // Progress is recorded after every statement but the last (the final update counts that one).
    // Not cancelled by the client (it would stop half-way), only when the lock is lost.
    await runStatements(s, statements, lost, async (i) => { if (i < statements.length - 1) await h.update(version, { statements_applied: i + 1 }); });
    if (await s.leftOpen()) {
      // Its own BEGIN without COMMIT: the work would vanish with the session, so undo it now and say so.
      await s.rollback();
      throw new DbError('TRANSACTION_FAILED', 'the migration left its own transaction open (BEGIN or autocommit=0 without COMMIT); its uncommitted work was rolled back', { statement_index: statements.length - 1 });
    }
  } catch (err) {
    const e = failure(m, 'up', err, { nothing_applied: false });
    await h.update(version, { status: 'failed', failed_statement: e.details.statement_index as number | null, error: clip(e.message) });
    await h.event(version, 'failed', e.message);
    throw e;
  }
  await h.update(version, { status: 'applied', applied_at: nowIso(), execution_ms: Math.round(performance.now() - start), statements_applied: statements.length });
  await h.event(version, 'applied');
}

export async function runMigrations(ctx: ServerContext, args: RunArgs, p: Progress) {
  const o = await open(ctx, args.connection);
  refuseReadOnly(o.config, 'run_migration');
  const transactional = o.dialect.capabilities.transactionalDdl;
  return inSession(o, p.signal, true, async (s, h, lost) => {
    const signal = AbortSignal.any([p.signal, lost]);
    const entries = await entriesOf(o, s, h, false);
    refuseProblems(entries, args.allow_out_of_order ?? false);
    const todo = plan(entries, o.files, args);
    for (const m of todo) checkSection(o, m, 'up', statementsOf(m.up, o.module.sql), transactional && !m.noTransaction);
    for (const m of todo) if (m.agentWritten) await refuseEscapes(o, [['up', m.up]], m.files[0]);
    if (args.dry_run) return dryRun(o, s, todo, transactional);
    const results: Array<{ version: string; name: string }> = [];
    for (const [i, m] of todo.entries()) {
      if (p.signal.aborted) throw new DbError('CANCELLED', `cancelled after ${i} of ${todo.length} migrations; the rest are still pending`, { applied: results });
      await mustStillHold(s, `${i} of ${todo.length} migrations were applied; the rest are still pending`, { applied: results });
      await p.progress(i, todo.length, `applying ${m.versionText}_${m.name}`);
      const statements = statementsOf(m.up, o.module.sql);
      if (transactional && !m.noTransaction) await applyInTransaction(s, h, m, statements, signal);
      else await applyStepwise(s, h, m, statements, lost);
      results.push({ version: m.version.toString(), name: m.name });
      ctx.logger.info({ connection: o.config.name, version: m.version.toString(), name: m.name }, 'migration applied');
    }
    await p.progress(todo.length, todo.length, 'done');
    return { connection: o.config.name, dry_run: false, applied: results };
  });
}

/** Transactional backends run everything and roll back; others (MySQL) only validate and plan. */
async function dryRun(o: Open, s: Session, todo: MigrationFile[], transactional: boolean) {
  const planned = todo.map((m) => ({ version: m.version.toString(), name: m.name, statements: statementsOf(m.up, o.module.sql).length, no_transaction: m.noTransaction }));
  if (!transactional) {
    return { connection: o.config.name, dry_run: true, executed: false, note: 'DDL commits implicitly on this backend: the plan was validated, nothing was run', planned };
  }
  const runnable = todo.filter((m) => !m.noTransaction);
  await keysOff(s, runnable.some((m) => m.foreignKeysOff), async () => {
    await s.begin();
    try {
      for (const m of runnable) {
        await s.run(statementsOf(m.up, o.module.sql)).catch((err) => { throw failure(m, 'up', err, { dry_run: true }); });
        await checkKeys(s, m, 'up');
      }
    } finally {
      await s.rollback().catch(() => undefined);
    }
  });
  const skipped = todo.filter((m) => m.noTransaction).map((m) => m.version.toString());
  return { connection: o.config.name, dry_run: true, executed: true, note: skipped.length ? `no-transaction migrations were not executed: ${skipped.join(', ')}` : 'everything ran inside a transaction that was rolled back', planned };
}

export interface RollbackArgs {
  connection?: string;
  migration_id?: string;
  steps?: number;
  dry_run?: boolean;
}

function rollbackPlan(entries: MigrationEntry[], files: MigrationFile[], args: RollbackArgs): MigrationFile[] {
  const applied = entries.filter((e) => e.status === 'applied' || e.status === 'modified' || e.status === 'missing').reverse();
  let chosen: MigrationEntry[];
  if (args.migration_id !== undefined) {
    const id = BigInt(args.migration_id);
    if (!applied.some((e) => BigInt(e.version) === id)) throw new DbError('INVALID_INPUT', `migration ${args.migration_id} is not applied`, { field: 'migration_id' });
    chosen = applied.filter((e) => BigInt(e.version) >= id);
  } else {
    chosen = applied.slice(0, args.steps ?? 1);
  }
  return chosen.map((e) => {
    if (e.status !== 'applied') throw new DbError('MIGRATION_BLOCKED', `migration ${e.version}_${e.name} is ${e.status}: resolve it before rolling back`, { version: e.version, status: e.status });
    const f = files.find((m) => m.version.toString() === e.version) as MigrationFile;
    if (f.down === null) throw new DbError('UNSUPPORTED', `migration ${f.versionText}_${f.name} has no down section, so it cannot be rolled back`, { version: e.version });
    return f;
  });
}

export async function rollbackMigrations(ctx: ServerContext, args: RollbackArgs, p: Progress) {
  const o = await open(ctx, args.connection);
  refuseReadOnly(o.config, 'rollback_migration');
  const transactional = o.dialect.capabilities.transactionalDdl;
  return inSession(o, p.signal, true, async (s, h, lost) => {
    const signal = AbortSignal.any([p.signal, lost]);
    const entries = await entriesOf(o, s, h, false);
    const stuck = entries.filter((e) => e.status === 'failed' || e.status === 'running');
    if (stuck.length) {
      throw new DbError('MIGRATION_BLOCKED', `resolve ${stuck.map((e) => `${e.version}_${e.name} (${e.status})`).join(', ')} with repair_migration before rolling back`, { problems: problems(entries) });
    }
    const todo = rollbackPlan(entries, o.files, args);
    for (const m of todo) checkSection(o, m, 'down', statementsOf(m.down as string, o.module.sql), transactional && !m.noTransaction);
    for (const m of todo) if (m.agentWritten) await refuseEscapes(o, [['down', m.down]], m.files[0]);
    if (args.dry_run) return { connection: o.config.name, dry_run: true, rolled_back: [], planned: todo.map((m) => ({ version: m.version.toString(), name: m.name })) };
    const done: Array<{ version: string; name: string }> = [];
    for (const [i, m] of todo.entries()) {
      if (p.signal.aborted) throw new DbError('CANCELLED', `cancelled after ${i} of ${todo.length} rollbacks`, { rolled_back: done });
      await mustStillHold(s, `${i} of ${todo.length} migrations were rolled back`, { rolled_back: done });
      await p.progress(i, todo.length, `rolling back ${m.versionText}_${m.name}`);
      await rollbackOne(s, h, m, transactional && !m.noTransaction, o.module.sql, signal, lost);
      done.push({ version: m.version.toString(), name: m.name });
      ctx.logger.info({ connection: o.config.name, version: m.version.toString() }, 'migration rolled back');
    }
    return { connection: o.config.name, dry_run: false, rolled_back: done, planned: [] };
  });
}

async function rollbackOne(s: Session, h: History, m: MigrationFile, transactional: boolean, flavor: SqlSupport, signal: AbortSignal, lost: AbortSignal): Promise<void> {
  const version = m.version.toString();
  const statements = statementsOf(m.down as string, flavor);
  if (transactional) {
    await keysOff(s, m.foreignKeysOff, async () => {
      await s.begin();
      try {
        await runStatements(s, statements, signal).catch((err) => { throw failure(m, 'down', err, { nothing_applied: true }); });
        await checkKeys(s, m, 'down');
        await h.remove(version);
        await h.event(version, 'rolled_back');
        stopBeforeCommit(signal);
        await s.commit();
      } catch (err) {
        await s.rollback().catch(() => undefined);
        throw err;
      }
    });
    return;
  }
  await h.update(version, { status: 'running', statements_applied: 0, error: 'rolling back' });
  try {
    await runStatements(s, statements, lost, async (i) => h.update(version, { statements_applied: i + 1 }));
  } catch (err) {
    const e = failure(m, 'down', err, { nothing_applied: false });
    await h.update(version, { status: 'failed', failed_statement: e.details.statement_index as number | null, error: clip(`rollback: ${e.message}`) });
    await h.event(version, 'rollback_failed', e.message);
    throw e;
  }
  await h.remove(version);
  await h.event(version, 'rolled_back');
}

/** Serialised per migrations directory: two calls at once must not pick the same version. */
export async function createMigration(ctx: ServerContext, args: { connection?: string; name: string; up: string; down?: string | null }) {
  const dir = ctx.registry.config(args.connection).migrations_dir;
  return ctx.exclusive(`create-migration:${dir}`, () => createMigrationNow(ctx, args));
}

async function createMigrationNow(ctx: ServerContext, args: { connection?: string; name: string; up: string; down?: string | null }) {
  const o = await open(ctx, args.connection);
  refuseReadOnly(o.config, 'create_migration');
  await refuseEscapes(o, [['up', args.up], ['down', args.down ?? null]]);
  // Versions in the history count too: a deleted file's version must never be reused.
  const applied = await inSession(o, new AbortController().signal, false, async (_s, h) => (await h.rows()).map((r) => BigInt(r.version)));
  const created = await createMigrationFile(o.config.migrations_dir, args.name, args.up, args.down ?? null, [...o.files.map((f) => f.version), ...applied]);
  return { connection: o.config.name, file: created.file, version: created.version, path: join(o.config.migrations_dir, created.file) };
}

export type RepairAction = 'mark_applied' | 'mark_pending' | 'accept_checksum';

const REPAIRABLE: Record<RepairAction, string[]> = {
  mark_applied: ['failed'],
  mark_pending: ['failed', 'missing'],
  accept_checksum: ['modified'],
};

export async function repairMigration(ctx: ServerContext, args: { connection?: string; migration_id: string; action: RepairAction }, signal: AbortSignal) {
  const o = await open(ctx, args.connection);
  refuseReadOnly(o.config, 'repair_migration');
  return inSession(o, signal, true, async (s, h) => {
    const entry = (await entriesOf(o, s, h, false)).find((e) => BigInt(e.version) === BigInt(args.migration_id));
    if (!entry) throw new DbError('INVALID_INPUT', `no migration ${args.migration_id} in files or history`, { field: 'migration_id' });
    if (!REPAIRABLE[args.action].includes(entry.status)) {
      throw new DbError('INVALID_INPUT', `${args.action} applies to ${REPAIRABLE[args.action].join(' or ')} migrations; ${entry.version}_${entry.name} is ${entry.status}`, { field: 'action', status: entry.status });
    }
    const file = o.files.find((f) => f.version.toString() === entry.version);
    if (args.action === 'mark_pending') await h.remove(entry.version);
    else await h.update(entry.version, { status: 'applied', checksum: file?.checksum ?? '', failed_statement: null, error: null });
    await h.event(entry.version, `repair:${args.action}`, `was ${entry.status}`);
    ctx.logger.info({ connection: o.config.name, version: entry.version, action: args.action, was: entry.status }, 'migration repaired');
    return { connection: o.config.name, version: entry.version, action: args.action, previous_status: entry.status };
  });
}
