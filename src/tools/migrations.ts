/**
 * MigrationManager tools: file-based migrations that agents can write, run,
 * check, roll back and repair. The logic lives in core/migrations.
 */
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { asDbError } from '../errors.js';
import {
  createMigration, listMigrations, migrationStatus, repairMigration, rollbackMigrations, runMigrations, type Progress,
} from '../core/migrations/manager.js';
import { connectionArg, defineTool, type CallContext, type ToolDef } from './kit.js';

const dryRun = z.boolean().optional();
const version = z.string().regex(/^\d{1,19}$/, 'a migration version is digits only');

const entry = z.object({
  version: z.string(), name: z.string(),
  status: z.enum(['applied', 'pending', 'failed', 'modified', 'missing', 'running']),
  applied_at: z.string().nullable(), execution_ms: z.number().nullable(), applied_by: z.string().nullable(),
  files: z.array(z.string()), has_down: z.boolean(), no_transaction: z.boolean(),
  failed_statement: z.number().nullable(), error: z.string().nullable(),
});

const problem = z.object({ version: z.string(), status: z.string(), message: z.string() });
const step = z.object({ version: z.string(), name: z.string() });

type Step = z.infer<typeof step>;

/** At most this many versions are named in one log notification (the count is always exact). */
const NOTICE_VERSIONS = 20;

function announce(ctx: ServerContext, connection: string, out: { dry_run: boolean; applied?: Step[]; rolled_back?: Step[] }): void {
  if (out.dry_run) return;
  for (const [event, steps] of [['migrations_applied', out.applied], ['migrations_rolled_back', out.rolled_back]] as const) {
    if (!steps?.length) continue;
    ctx.notify('notice', event, { connection, count: steps.length, versions: steps.slice(0, NOTICE_VERSIONS).map((s) => `${s.version}_${s.name}`) });
  }
}

function progressOf(call: CallContext): Progress {
  return { signal: call.signal, progress: (done, total, message) => call.progress(done, total, message) };
}

/** Called after anything that changes migration state (resources notify their subscribers). */
export type OnMigrationChange = (connection: string) => void;

export function migrationTools(ctx: ServerContext, changed: OnMigrationChange): ToolDef[] {
  /**
   * Subscribers hear of every attempt, failed ones too: a failure changes the status as well.
   * Clients' logs hear of what was applied or rolled back, and of a failed migration.
   */
  const notifying = async <T extends { dry_run: boolean; applied?: Step[]; rolled_back?: Step[] }>(
    connection: string | undefined, work: () => Promise<T>,
  ): Promise<T> => {
    const name = ctx.registry.resolveName(connection);
    try {
      const out = await work();
      announce(ctx, name, out);
      return out;
    } catch (err) {
      const e = asDbError(err);
      if (e.code === 'MIGRATION_FAILED') ctx.notify('error', 'migration_failed', { connection: name, version: e.details.version, direction: e.details.direction, message: e.message });
      throw err;
    } finally {
      changed(name);
    }
  };
  return [
    defineTool({
      name: 'list_migrations',
      title: 'Migrations',
      description: 'Every migration (files and history) with its status.',
      input: z.object({ connection: connectionArg }),
      output: z.object({ connection: z.string(), migrations_dir: z.string(), migrations: z.array(entry) }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
      handler: async ({ connection }, call) => listMigrations(ctx, connection, call.signal),
    }),
    defineTool({
      name: 'get_migration_status',
      title: 'Migration status',
      description: 'Current version, pending migrations and what blocks run_migration.',
      input: z.object({ connection: connectionArg }),
      output: z.object({
        connection: z.string(), migrations_dir: z.string(), current_version: z.string().nullable(),
        counts: z.record(z.string(), z.number()), pending: z.array(step),
        lock: z.object({ held: z.boolean(), holder: z.string().nullable() }), problems: z.array(problem),
      }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
      handler: async ({ connection }, call) => migrationStatus(ctx, connection, call.signal),
    }),
    defineTool({
      name: 'run_migration',
      title: 'Migrate',
      description: 'Applies pending migrations in order: all, up to target, or one migration_file.',
      input: z.object({
        connection: connectionArg,
        migration_file: z.string().min(1).max(300).optional().describe('Only this one: file name or version.'),
        target: version.optional().describe('Last version to apply.'),
        dry_run: dryRun,
        allow_out_of_order: z.boolean().optional().describe('Apply ones older than the newest applied.'),
      }),
      output: z.object({
        connection: z.string(), dry_run: z.boolean(),
        applied: z.array(step).optional().describe('Migrations this call applied, in order.'),
        executed: z.boolean().optional(), note: z.string().optional(),
        planned: z.array(step.extend({ statements: z.number(), no_transaction: z.boolean() })).optional(),
      }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
      handler: async (args, call) => notifying(args.connection, () => runMigrations(ctx, args, progressOf(call))),
    }),
    defineTool({
      name: 'rollback_migration',
      title: 'Roll back',
      description: 'Undoes the newest applied migrations (their down SQL).',
      input: z.object({
        connection: connectionArg,
        migration_id: version.optional().describe('This version and every one after it.'),
        steps: z.number().int().min(1).max(10_000).optional().describe('Default 1.'),
        dry_run: dryRun,
      }),
      output: z.object({ connection: z.string(), dry_run: z.boolean(), rolled_back: z.array(step), planned: z.array(step) }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
      handler: async (args, call) => notifying(args.connection, () => rollbackMigrations(ctx, args, progressOf(call))),
    }),
    defineTool({
      name: 'create_migration',
      title: 'New migration',
      description: 'Writes a migration file for a schema change; run_migration applies it.',
      input: z.object({
        connection: connectionArg,
        name: z.string().regex(/^[a-z][a-z0-9_]{0,99}$/, 'lower-case letters, digits and _, starting with a letter').describe('snake_case, e.g. add_orders'),
        up: z.string().min(1).max(1_000_000).describe('SQL that applies the change.'),
        down: z.string().min(1).max(1_000_000).optional().describe('SQL that undoes it.'),
      }),
      output: z.object({ connection: z.string(), file: z.string(), version: z.string(), path: z.string() }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      handler: async (args) => {
        const out = await createMigration(ctx, args);
        changed(out.connection);
        return out;
      },
    }),
    defineTool({
      name: 'repair_migration',
      title: 'Repair a migration',
      description: 'Unblocks a failed, modified or missing migration.',
      input: z.object({
        connection: connectionArg,
        migration_id: version.describe('Its version.'),
        action: z.enum(['mark_applied', 'mark_pending', 'accept_checksum']),
      }),
      output: z.object({ connection: z.string(), version: z.string(), action: z.string(), previous_status: z.string() }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
      handler: async (args, call) => {
        const out = await repairMigration(ctx, args, call.signal);
        changed(out.connection);
        return out;
      },
    }),
  ];
}
