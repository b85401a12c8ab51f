/**
 * Prompts for the jobs agents most often do with a database. Each takes a
 * connection, reads its backend from the configuration (nothing is opened) and
 * names only tools this server exposes: a prompt written for get_schema falls
 * back to catalog queries through execute_query until that tool is there.
 */
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode as RpcErrorCode, McpError, type GetPromptResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { backendModule, type Backend } from '../core/backends/lookup.js';
import type { PromptSupport } from '../core/backends/contract/prompts.js';
import { asDbError } from '../errors.js';

interface Target {
  connection: string;
  backend: Backend;
  readOnly: boolean;
  /** What the backend's module tells an agent. */
  guide: PromptSupport;
}

type Has = (tool: string) => boolean;

function target(ctx: ServerContext, connection: string | undefined): Target {
  try {
    const c = ctx.registry.config(connection);
    return { connection: c.name, backend: c.backend, readOnly: c.read_only, guide: backendModule(c.backend).prompts };
  } catch (err) {
    throw new McpError(RpcErrorCode.InvalidParams, ctx.redact(asDbError(err).message));
  }
}

const q = (sql: string): string => `\`${sql}\``;

function schemaStep(t: Target, has: Has): string {
  if (has('get_schema')) return `Call get_schema {"connection": "${t.connection}"} for tables, columns, keys and indexes.`;
  const c = t.guide.catalog;
  return [
    `List tables with execute_query {"connection": "${t.connection}"}: ${q(c.tables)}.`,
    `For each table that matters: columns ${q(c.columns)}, indexes ${q(c.indexes)}, foreign keys ${q(c.foreignKeys)} (bind the ? placeholders through params).`,
  ].join('\n   ');
}

function message(text: string, description: string): GetPromptResult {
  return { description, messages: [{ role: 'user', content: { type: 'text', text } }] };
}

function exploreDatabase(t: Target, has: Has, focus?: string): GetPromptResult {
  return message([
    `Explore the ${t.backend} database behind connection "${t.connection}"${focus ? `, with a focus on: ${focus}` : ''}, and report what it holds.`,
    `1. get_connection {"connection": "${t.connection}"}: server version, read-only (${t.readOnly ? 'it is' : 'it is not'}), limits.`,
    `2. ${schemaStep(t, has)}`,
    `3. Look at a few rows of the central tables with execute_query and "max_rows": 5; count rows only where the table looks small (COUNT(*) scans).`,
    '4. Summarise: the main entities and how they relate (foreign keys), naming conventions, anything odd (tables without a primary key, unindexed foreign keys, nullable columns that look required).',
    'Only read: run no statement that changes data or schema while exploring.',
  ].join('\n'), `Explore ${t.connection}`);
}

function planMigration(t: Target, has: Has, change: string): GetPromptResult {
  return message([
    `Plan and apply this schema change on connection "${t.connection}" (${t.backend}) as a migration: ${change}`,
    `1. get_migration_status {"connection": "${t.connection}"}: resolve every problem first; a failed, modified or missing migration blocks run_migration, and repair_migration needs the user's decision.`,
    `2. Read the current schema of the tables involved. ${schemaStep(t, has)}`,
    '3. create_migration with a snake_case name, an `up` and a `down` that exactly undoes it. '
      + t.guide.migrationNote + ' Adding a NOT NULL column to a filled table needs a default or a backfill first.',
    `4. run_migration {"connection": "${t.connection}", "dry_run": true}, then show the user the plan and the SQL and wait for their go-ahead.`,
    '5. run_migration, then get_migration_status and a query that shows the change took effect.',
    t.readOnly ? `Note: "${t.connection}" is read-only, so steps 3-5 need a writable connection.` : 'Never change the schema with execute_query: migrations keep the change in version control and the history.',
  ].join('\n'), `Plan a migration on ${t.connection}`);
}

function diagnoseSlowQuery(t: Target, has: Has, query?: string): GetPromptResult {
  const c = t.guide.catalog;
  const find = has('analyze_slow_queries')
    ? `Call analyze_slow_queries {"connection": "${t.connection}"} to find the slowest statements.`
    : t.guide.findSlow ?? 'Ask the user for the slow statement: this server cannot list them yet.';
  return message([
    query ? `Find out why this query is slow on connection "${t.connection}" (${t.backend}) and propose a fix:\n${query}` : `Find the slowest queries on connection "${t.connection}" (${t.backend}) and propose fixes. ${find}`,
    `1. Plan: ${t.guide.plan} Use execute_query with the same params as the real call.`,
    has('monitor_query_performance') ? `2. monitor_query_performance {"connection": "${t.connection}"} with the query: timings over several runs.` : '2. Time it: run it a few times with execute_query and compare elapsed_ms.',
    `3. Check the indexes of every table it reads: ${has('get_schema') ? 'get_schema' : q(c.indexes)}. Look for full scans on large tables, sorts without an index, functions on indexed columns, implicit casts.`,
    `4. ${t.guide.staleStatistics ?? 'Compare the estimated rows in the plan with real counts.'}`,
    `5. Propose the smallest fix (an index, a rewrite) with the expected effect. ${has('create_migration') ? 'An index belongs in a migration (create_migration, then run_migration after the user agrees), never in execute_query.' : 'Schema changes go through the migration tools, never execute_query.'}`,
  ].join('\n'), `Diagnose a slow query on ${t.connection}`);
}

/** `exposed`: names of the tools this server lists (after --tools). */
export function registerPrompts(server: McpServer, ctx: ServerContext, exposed: ReadonlySet<string>): void {
  const has: Has = (tool) => exposed.has(tool);
  const connection = completable(
    z.string().optional().describe('Connection name (default: "default" or the only one).'),
    (value) => ctx.registry.names().filter((n) => n.startsWith(value ?? '')),
  );
  server.registerPrompt('explore_database', {
    title: 'Explore a database',
    description: 'Map an unfamiliar database: tables, columns, keys, sample rows, relationships. Read-only.',
    argsSchema: { connection, focus: z.string().optional().describe('Tables or topic to concentrate on.') },
  }, async (args) => exploreDatabase(target(ctx, args.connection), has, args.focus));
  server.registerPrompt('plan_migration', {
    title: 'Plan a schema migration',
    description: 'Turn a schema change into a reviewed, reversible migration: status check, up/down, dry run, apply.',
    argsSchema: { connection, change: z.string().min(1).describe('The schema change wanted, in words or SQL.') },
  }, async (args) => planMigration(target(ctx, args.connection), has, args.change));
  server.registerPrompt('diagnose_slow_query', {
    title: 'Diagnose a slow query',
    description: 'Explain why a query is slow (plan, indexes, statistics) and propose the smallest fix.',
    argsSchema: { connection, query: z.string().optional().describe('The slow SQL statement; without it, find the slowest ones.') },
  }, async (args) => diagnoseSlowQuery(target(ctx, args.connection), has, args.query));
}
