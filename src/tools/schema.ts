/**
 * SchemaManager tools: one portable table format on every backend, generated
 * from models, created, altered and read back. The logic lives in core/schema.
 */
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { BACKEND_NAMES } from '../core/backends/lookup.js';
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
  unportable: z.array(z.string()).optional().describe('What the table has beyond the portable shape (get_schema).'),
}).describe('A portable table: the shape create_table takes.');

const dryRun = z.boolean().optional();
const recordMigration = z.boolean().optional().describe('Apply as a recorded migration.');
const backend = z.enum(BACKEND_NAMES);
/** generate_schema's DDL per backend: the connection's, or with all_backends every backend's. */
const ddlOut = z.object(Object.fromEntries(BACKEND_NAMES.map((b) => [b, z.array(z.string()).optional()])));
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
      title: 'Read schema',
      description: 'Reads tables in the portable format create_table takes.',
      input: z.object({
        connection: connectionArg,
        table: identifier.optional().describe('Omit for all tables.'),
        schema: identifier.optional().describe('PostgreSQL schema.'),
        limit: z.number().int().min(1).max(1000).optional().describe('Default 200.'),
        offset: z.number().int().min(0).optional().describe('next_offset of the previous page.'),
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
      title: 'Generate schema',
      description: 'Turns a model into a portable table and its DDL; runs nothing.',
      input: z.object({
        model: z.record(z.string(), z.unknown()).describe('JSON Schema, or {"name": "varchar(100)", "note": "text?"}.'),
        table: identifier.optional().describe('Default: the model\'s title.'),
        connection: connectionArg,
        all_backends: z.boolean().optional(),
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
      title: 'Create table',
      description: 'Creates a table from a portable schema (see generate_schema).',
      input: z.object({
        schema: tableInput,
        connection: connectionArg,
        if_not_exists: z.boolean().optional(),
        dry_run: dryRun,
        record_migration: recordMigration,
      }),
      output: changeResult,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      trimListing: (listed) => {
        // A column's own `references` covers single-column keys; the composite form is in SPEC §11.1.
        const table = (listed.properties as Record<string, { properties: Record<string, unknown> }>).schema;
        table.properties.foreign_keys = { type: 'array', items: { type: 'object' }, description: 'Composite keys: {columns, references: {table, columns}}.' };
      },
      handler: async (args, call) => notifying(args.connection, args.schema.schema, [args.schema.table], args.record_migration ?? false, () => createTable(ctx, args, progressOf(call))),
    }),
    defineTool({
      name: 'alter_table',
      title: 'Alter table',
      description: 'Changes columns, indexes or the table\'s name, keeping its rows.',
      input: z.object({
        table: identifier,
        schema: identifier.optional().describe('PostgreSQL schema.'),
        changes: changesInput,
        connection: connectionArg,
        dry_run: dryRun,
        allow_data_loss: z.boolean().optional(),
        record_migration: recordMigration,
      }),
      output: changeResult,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
      trimListing: (listed) => {
        // The column shape is create_table's; listed once there.
        const changes = (listed.properties as Record<string, { properties: Record<string, unknown> }>).changes;
        changes.properties.add_columns = { type: 'array', items: { type: 'object' }, description: 'Columns as in create_table.' };
      },
      handler: async (args, call) => notifying(args.connection, args.schema, [args.table, args.changes.rename_to], args.record_migration ?? false, () => alterTable(ctx, args, progressOf(call))),
    }),
  ];
}
