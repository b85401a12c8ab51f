/**
 * Builds the MCP server from a context: capabilities, instructions and every
 * manager's tools. Transport-agnostic: server.ts connects it to stdio.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ServerContext } from './context.js';
import { registerResources } from './resources/index.js';
import { backupTools } from './tools/backup.js';
import { registerTools } from './tools/kit.js';
import { migrationTools } from './tools/migrations.js';
import { queryTools } from './tools/queries.js';
import { schemaTools } from './tools/schema.js';
import { VERSION } from './version.js';

const INSTRUCTIONS = [
  'codomyrmex-db manages PostgreSQL, MySQL/MariaDB and SQLite databases through one set of tools.',
  'Start with list_connections / get_connection to see what is configured and whether it is read-only.',
  'execute_query runs one statement with bound params (? or :name); execute_transaction runs several all-or-nothing.',
  'get_schema reads tables in one portable format; generate_schema turns a model into it; create_table / alter_table change tables (record_migration: true keeps the change in migration history).',
  'create_backup writes a verified backup to the backup directory; list_backups shows them; restore_backup checks one and restores it, into any backend.',
  'Hand-written schema changes belong in migrations: create_migration writes a file, run_migration applies it, get_migration_status shows drift.',
  'Results are capped (truncated: true says so); errors carry a stable code in {error: {code, message, details}}.',
].join(' ');

export function createServer(ctx: ServerContext): McpServer {
  const server = new McpServer(
    { name: 'codomyrmex-db', title: 'codomyrmex-db', version: VERSION },
    {
      capabilities: { tools: { listChanged: false }, resources: { subscribe: true, listChanged: false }, logging: {} },
      instructions: INSTRUCTIONS,
    },
  );
  const hub = registerResources(server, ctx);
  const migrationsChanged = (c: string): void => {
    hub.migrationsChanged(c);
    hub.schemaChanged(c, null);
  };
  const schemaChanged = (c: string, table: string | null, viaMigration: boolean): void => {
    hub.schemaChanged(c, table);
    if (viaMigration) hub.migrationsChanged(c);
  };
  const restored = (c: string): void => hub.schemaChanged(c, null);
  registerTools(server, ctx, [
    ...queryTools(ctx), ...migrationTools(ctx, migrationsChanged), ...schemaTools(ctx, schemaChanged), ...backupTools(ctx, restored),
  ]);
  return server;
}
