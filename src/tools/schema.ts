/**
 * SchemaManager tools: one portable table format on every backend, generated
 * from models, created, altered and read back. The logic lives in core/schema.
 */
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import type { Progress } from '../core/migrations/manager.js';
import { alterTable, changesInput } from '../core/schema/alter.js';
import { createTable, generateSchema, getSchema } from '../core/schema/manager.js';
import { identifier, tableInput } from '../core/schema/model.js';
import { connectionArg, defineTool, type CallContext, type ToolDef } from './kit.js';

/**
 * A portable table in results (SPEC §11.1). Listed loosely: its full shape would cost
 * every agent ~3 KB of context per turn, and the input schema of create_table shows it.
 */
const loose = z.array(z.any());
export const tableOutput = z.object({
  table: z.string(), schema: z.string().optional(), columns: loose, indexes: loose, foreign_keys: loose, checks: loose,
}).describe('A portable table: the shape create_table takes.');

const backend = z.enum(['postgres', 'mysql', 'sqlite']);
const ddlOut = z.object({ postgres: z.array(z.string()).optional(), mysql: z.array(z.string()).optional(), sqlite: z.array(z.string()).optional() });
const migrationOut = z.object({ file: z.string(), version: z.string() }).optional().describe('The migration written and applied (record_migration).');

const changeResult = z.object({
  connection: z.string(), backend, dry_run: z.boolean(), statements: z.array(z.string()),
  created: z.boolean().optional(), altered: z.boolean().optional(), validated: z.boolean().optional(), note: z.string().optional(),
  table: tableOutput.nullable().optional(), migration: migrationOut,
  rebuilt: z.boolean().optional().describe('SQLite: the table was rebuilt (copied into a new table) to apply the change.'),
});

function progressOf(call: CallContext): Progress {
  return { signal: call.signal, progress: (done, total, message) => call.progress(done, total, message) };
}

/** Called after anything that may change a table (resources notify their subscribers). */
export type OnSchemaChange = (connection: string, table: string | null, migrations: boolean) => void;

export function schemaTools(ctx: ServerContext, changed: OnSchemaChange): ToolDef[] {
  /** Subscribers hear of every attempt (a failed one may have changed something on MySQL); `schema.table` on PostgreSQL. */
  const notifying = async <T>(connection: string | undefined, schema: string | undefined, tables: Array<string | undefined>, migrations: boolean, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } finally {
      for (const t of tables) if (t !== undefined) changed(ctx.registry.resolveName(connection), schema ? `${schema}.${t}` : t, migrations);
    }
  };
  return [
    defineTool({
      name: 'get_schema',
      title: 'Read table schemas',
      description: 'The portable schema (columns with portable types, keys, defaults, indexes, foreign keys, checks) of one table, or of every table (paged by limit/offset). Types with no portable name come back as {type: "native", native}.',
      input: z.object({
        connection: connectionArg,
        table: identifier.optional().describe('One table; omit for all tables.'),
        schema: identifier.optional().describe('PostgreSQL schema (default: all user schemas, or the current one with `table`).'),
        limit: z.number().int().min(1).max(1000).optional().describe('Tables per page when listing all (default 200).'),
        offset: z.number().int().min(0).optional().describe('Tables to skip (use next_offset from the previous page).'),
      }),
      output: z.object({
        connection: z.string(), backend, table: tableOutput.optional(), tables: z.array(tableOutput).optional(),
        total: z.number().optional(), next_offset: z.number().nullable().optional(),
      }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
      handler: async (args, call) => getSchema(ctx, args, call.signal),
    }),
    defineTool({
      name: 'generate_schema',
      title: 'Portable schema from a model',
      description: 'Turns a model (a JSON Schema object, e.g. from zod, or a compact {"field": "type"} map) into the portable table schema and CREATE TABLE DDL for the connection\'s backend (all_backends: all three). Runs nothing; pass the schema to create_table.',
      input: z.object({
        model: z.record(z.string(), z.unknown()).describe('JSON Schema object (properties, required, format, maxLength ...) or {"name": "varchar(100)", "note": "text?"}.'),
        table: identifier.optional().describe('Table name (default: the JSON Schema title).'),
        connection: connectionArg,
        all_backends: z.boolean().optional().describe('Also return DDL for postgres, mysql and sqlite.'),
      }),
      output: z.object({
        connection: z.string().nullable(), schema: tableOutput, ddl: ddlOut,
        ddl_errors: z.record(z.string(), z.string()).optional().describe('Backends (with all_backends) whose DDL was refused, and why.'),
      }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
      handler: async (args) => generateSchema(ctx, args),
    }),
    defineTool({
      name: 'create_table',
      title: 'Create a table',
      description: 'Creates a table from a portable schema with its keys, indexes and foreign keys, in one transaction where the backend allows. dry_run returns the exact DDL (validated in a rolled-back transaction on PostgreSQL and SQLite). record_migration writes it as a migration file (with DROP TABLE as down) and applies it through the migration engine.',
      input: z.object({
        schema: tableInput.describe('The portable table schema (see generate_schema).'),
        connection: connectionArg,
        if_not_exists: z.boolean().optional().describe('An existing table with this name is not an error (it is left as it is).'),
        dry_run: z.boolean().optional().describe('Return the DDL without keeping any change.'),
        record_migration: z.boolean().optional().describe('Write and apply a migration instead of running the DDL directly.'),
      }),
      output: changeResult,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      handler: async (args, call) => notifying(args.connection, args.schema.schema, [args.schema.table], args.record_migration ?? false, () => createTable(ctx, args, progressOf(call))),
    }),
    defineTool({
      name: 'alter_table',
      title: 'Alter a table',
      description: 'Changes a table: add/drop/rename columns, alter a column\'s type, nullability or default, add/drop indexes, rename the table. Dropping a column or narrowing a type is refused unless allow_data_loss. SQLite changes that ALTER TABLE cannot do rebuild the table in one transaction, keeping rows, indexes, triggers and foreign keys. dry_run returns the exact DDL.',
      input: z.object({
        table: identifier.describe('The table to change.'),
        schema: identifier.optional().describe('PostgreSQL schema (default: the current one).'),
        changes: changesInput,
        connection: connectionArg,
        dry_run: z.boolean().optional().describe('Return the DDL without keeping any change.'),
        allow_data_loss: z.boolean().optional().describe('Allow dropping columns and narrowing types.'),
        record_migration: z.boolean().optional().describe('Write and apply a migration (with the generated down DDL) instead of running the DDL directly.'),
      }),
      output: changeResult,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
      handler: async (args, call) => notifying(args.connection, args.schema, [args.table, args.changes.rename_to], args.record_migration ?? false, () => alterTable(ctx, args, progressOf(call))),
    }),
  ];
}
