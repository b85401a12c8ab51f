/**
 * BackupManager tools: streaming, verified backups in backup_dir, restores that
 * check them first, across backends. The logic lives in core/backup.
 */
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { BACKEND_NAMES } from '../core/backends/lookup.js';
import { createBackup } from '../core/backup/create.js';
import { listBackups } from '../core/backup/list.js';
import { restoreBackup } from '../core/backup/restore.js';
import type { Progress } from '../core/backup/target.js';
import { DbError } from '../errors.js';
import { connectionArg, defineTool, type CallContext, type ToolDef } from './kit.js';
import { unlisted } from './listing.js';

/** The seed API called the connection `database`: still accepted (SPEC §17), no longer listed. */
const databaseAlias = z.string().min(1).max(63).optional();

/** `connection`, or its alias `database`; both naming different connections is a mistake worth naming. */
function connectionOf(args: { connection?: string; database?: string }): string | undefined {
  if (args.connection !== undefined && args.database !== undefined && args.connection !== args.database) {
    throw new DbError('INVALID_INPUT', `"connection" (${args.connection}) and its old name "database" (${args.database}) disagree: pass only connection`, { field: 'database' });
  }
  return args.connection ?? args.database;
}
const backend = z.enum(BACKEND_NAMES);
const fileName = z.string().min(1).max(4096);
const tableCount = z.object({ name: z.string(), schema: z.string().optional(), rows: z.number().nullable(), sha256: z.string().nullable().optional() });

function progressOf(call: CallContext): Progress {
  return { signal: call.signal, progress: (done, total, message) => call.progress(done, total, message) };
}

/** Called after a restore that may have changed tables (schema resources notify subscribers). */
export type OnRestore = (connection: string) => void;

export function backupTools(ctx: ServerContext, restored: OnRestore): ToolDef[] {
  return [
    defineTool({
      name: 'create_backup',
      title: 'Back up',
      description: 'Writes a verified, consistent backup of a connection\'s tables.',
      input: z.object({
        connection: connectionArg,
        database: databaseAlias,
        output_path: fileName.optional().describe('File name (default: connection and time).'),
        tables: z.array(z.string().min(1).max(200)).min(1).max(10_000).optional(),
        format: z.enum(['portable', 'native']).optional().describe('portable (default): any backend; native: same backend only.'),
      }),
      output: z.object({
        connection: z.string(), backend, backup: z.string(), path: z.string(), format: z.enum(['portable', 'native']),
        size: z.number(), sha256: z.string(), created_at: z.string(), tables: z.array(tableCount), rows: z.number().nullable(), elapsed_ms: z.number(),
      }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      trimListing: unlisted('database'),
      handler: async (args, call) => createBackup(ctx, { ...args, database: connectionOf(args) }, progressOf(call)),
    }),
    defineTool({
      name: 'restore_backup',
      title: 'Restore',
      description: 'Verifies a backup, then restores it into a connection of any backend.',
      input: z.object({
        backup_path: fileName.describe('Name from list_backups.'),
        connection: connectionArg,
        database: databaseAlias,
        mode: z.enum(['create', 'replace', 'append']).optional().describe('create (default) refuses existing tables; replace drops them.'),
        allow_lossy: z.boolean().optional().describe('Accept inexact type mappings.'),
      }),
      output: z.object({
        connection: z.string(), backend, backup: z.string(), format: z.enum(['portable', 'native']), mode: z.enum(['create', 'replace', 'append']),
        source_backend: backend, tables: z.array(z.object({ name: z.string(), schema: z.string().optional(), rows: z.number().nullable(), created: z.boolean() })),
        rows: z.number().nullable(), lossy: z.array(z.object({ table: z.string(), column: z.string().optional(), what: z.string() })), elapsed_ms: z.number(),
      }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
      trimListing: unlisted('database'),
      handler: async (input, call) => {
        const args = { ...input, database: connectionOf(input) };
        try {
          return await restoreBackup(ctx, args, progressOf(call));
        } finally {
          restored(ctx.registry.resolveName(args.database));
        }
      },
    }),
    defineTool({
      name: 'list_backups',
      title: 'Backups',
      description: 'Lists backups, newest first, with their connection, tables and status.',
      input: z.object({
        connection: z.string().min(1).max(63).optional().describe('Only this connection\'s backups.'),
        database: databaseAlias,
        verify: z.boolean().optional().describe('Recompute SHA-256.'),
      }),
      output: z.object({
        backup_dir: z.string(),
        backups: z.array(z.object({
          name: z.string(), status: z.enum(['ok', 'corrupt', 'incomplete']), problem: z.string().optional(), connection: z.string().nullable(),
          backend: z.string().nullable(), format: z.string().nullable(), created_at: z.string().nullable(), size: z.number(),
          tables: z.array(tableCount), rows: z.number().nullable(),
        })),
      }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
      trimListing: unlisted('database'),
      handler: async (args, call) => listBackups(ctx, { ...args, database: connectionOf(args) }, call.signal),
    }),
  ];
}
