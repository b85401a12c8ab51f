/**
 * BackupManager tools: streaming, verified backups in backup_dir, restores that
 * check them first, across backends. The logic lives in core/backup.
 */
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { createBackup, type Progress } from '../core/backup/create.js';
import { listBackups } from '../core/backup/list.js';
import { restoreBackup } from '../core/backup/restore.js';
import { defineTool, type CallContext, type ToolDef } from './kit.js';

const database = z.string().min(1).max(63).describe('Connection name (as in list_connections). Defaults to "default", or to the only configured connection.');
const backend = z.enum(['postgres', 'mysql', 'sqlite']);
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
      title: 'Back up a database',
      description: 'Writes a backup of a connection\'s tables to the backup directory: one consistent snapshot while writers go on, streamed and compressed, with a manifest (SHA-256, per-table row counts and content checksums) written last. format "portable" (default) restores into any backend; "native" uses the backend\'s own tool (pg_dump, mariadb-dump, SQLite\'s online backup API) and restores only into the same backend. Never overwrites a file.',
      input: z.object({
        database: database.optional(),
        output_path: fileName.optional().describe('File name in the backup directory (default <connection>-<UTC time>.<ext>). Directories, "..", hidden names and existing files are refused.'),
        tables: z.array(z.string().min(1).max(200)).min(1).max(10_000).optional().describe('Only these tables (PostgreSQL: name or schema.name); default every table.'),
        format: z.enum(['portable', 'native']).optional().describe('portable (default): our format, restorable into any backend; native: the backend\'s own dump.'),
      }),
      output: z.object({
        connection: z.string(), backend, backup: z.string(), path: z.string(), format: z.enum(['portable', 'native']),
        size: z.number(), sha256: z.string(), created_at: z.string(), tables: z.array(tableCount), rows: z.number().nullable(), elapsed_ms: z.number(),
      }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      handler: async (args, call) => createBackup(ctx, args, progressOf(call)),
    }),
    defineTool({
      name: 'restore_backup',
      title: 'Restore a backup',
      description: 'Restores a backup from the backup directory into a connection, after verifying its manifest and SHA-256 (a damaged or unfinished backup is refused and nothing is touched). mode "create" (default) fails if a table exists, "replace" drops and recreates the backed-up tables, "append" adds the rows. One transaction on PostgreSQL and SQLite. A portable backup restores into any backend; what cannot map exactly is refused up front and listed, unless allow_lossy.',
      input: z.object({
        backup_path: fileName.describe('The backup\'s file name in the backup directory (see list_backups).'),
        database: database.optional(),
        mode: z.enum(['create', 'replace', 'append']).optional().describe('create (default): refuse if a table exists; replace: drop and recreate them; append: insert into them.'),
        allow_lossy: z.boolean().optional().describe('Restore even where a type or constraint cannot map exactly onto the target backend (the result lists what was lost).'),
      }),
      output: z.object({
        connection: z.string(), backend, backup: z.string(), format: z.enum(['portable', 'native']), mode: z.enum(['create', 'replace', 'append']),
        source_backend: backend, tables: z.array(z.object({ name: z.string(), schema: z.string().optional(), rows: z.number().nullable(), created: z.boolean() })),
        rows: z.number().nullable(), lossy: z.array(z.object({ table: z.string(), column: z.string().optional(), what: z.string() })), elapsed_ms: z.number(),
      }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
      handler: async (args, call) => {
        try {
          return await restoreBackup(ctx, args, progressOf(call));
        } finally {
          restored(ctx.registry.resolveName(args.database));
        }
      },
    }),
    defineTool({
      name: 'list_backups',
      title: 'List backups',
      description: 'The backups in the backup directory, newest first, with their connection, time, size, tables, row counts and status: ok (manifest valid, size matches; verify: true also checks SHA-256), corrupt, or incomplete (no manifest: it never finished).',
      input: z.object({
        database: z.string().min(1).max(63).optional().describe('Only backups of this connection.'),
        verify: z.boolean().optional().describe('Also recompute each file\'s SHA-256 (reads every byte).'),
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
      handler: async (args, call) => listBackups(ctx, args, call.signal),
    }),
  ];
}
