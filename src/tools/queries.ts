/**
 * DatabaseManager tools: connections, one statement, all-or-nothing transactions.
 */
import { z } from 'zod';
import { LIMITS, safeUrl } from '../config.js';
import type { ServerContext } from '../context.js';
import { runQuery, runTransaction } from '../core/queries.js';
import { DbError } from '../errors.js';
import { connectionArg, defineTool, type ToolDef } from './kit.js';

export const paramsArg = z.union([z.array(z.any()), z.record(z.string(), z.any())]).optional()
  .describe('Values bound to placeholders, never spliced into SQL: an array binds ? in order, an object binds :name. Objects bind as JSON text; arrays too, except on PostgreSQL (arrays, for = ANY(?)).');

const statementResult = z.object({
  columns: z.array(z.object({ name: z.string(), type: z.string() })).describe('Result columns with the backend\'s type names.'),
  rows: z.array(z.record(z.string(), z.unknown())).describe('Rows as objects. bigint/numeric that a JSON number cannot hold exactly are strings; bytes are base64; dates ISO 8601.'),
  row_count: z.number().describe('Rows returned, or rows affected when the statement returns none.'),
  affected_rows: z.number().nullable().describe('Rows changed by INSERT/UPDATE/DELETE; null for statements that return rows.'),
  truncated: z.boolean().describe('True when max_rows or max_bytes cut the result short.'),
  elapsed_ms: z.number(),
  notice: z.string().optional().describe('Present when truncated: how to get the rest.'),
});

const poolState = z.object({ open: z.number().nullable(), busy: z.number(), waiting: z.number(), max: z.number() });

const connectionDescription = z.object({
  name: z.string(),
  backend: z.enum(['postgres', 'mysql', 'sqlite']),
  url: z.string().describe('The URL with any password replaced by ***.'),
  read_only: z.boolean(),
  server_version: z.string(),
  database: z.string(),
  flavor: z.string().nullable(),
  user: z.string().nullable(),
  pool: poolState,
  limits: z.object({ max_rows: z.number(), max_bytes: z.number(), statement_timeout_ms: z.number() }),
  capabilities: z.record(z.string(), z.boolean()),
  role_can_write: z.boolean().nullable().describe('Read-only connections: whether the database account (SQLite: the file) could write anyway; null when unknown or for read-write connections.'),
  warning: z.string().optional().describe('Present when a read-only connection\'s account can write: the read-only checks are then the only barrier.'),
  read_only_guard: z.object({ engine: z.string(), classifier: z.boolean(), warning: z.string().optional() })
    .optional().describe('PostgreSQL read-only: what the database itself enforces, and why not more (warning).'),
});

async function describeConnection(ctx: ServerContext, name?: string): Promise<z.infer<typeof connectionDescription>> {
  const open = await ctx.registry.get(name);
  const c = open.config;
  return {
    name: c.name,
    backend: c.backend,
    url: safeUrl(c.url),
    read_only: c.read_only,
    ...open.info,
    pool: open.dialect.poolState(),
    limits: { max_rows: c.max_rows, max_bytes: c.max_bytes, statement_timeout_ms: c.statement_timeout_ms },
    capabilities: { ...open.dialect.capabilities },
    role_can_write: open.roleCanWrite,
    ...(open.warning ? { warning: open.warning } : {}),
  };
}

export function queryTools(ctx: ServerContext): ToolDef[] {
  return [
    defineTool({
      name: 'get_connection',
      title: 'Open and describe a connection',
      description: 'Opens a configured database connection if needed and describes it: backend, server version, database, read-only, pool state, limits. Call it first to learn what you are talking to. '
        + (ctx.config.allow_runtime_connections
          ? 'With `url`, registers a new named connection for this server run; credentials typed into a chat stay in its history, so prefer configured connections.'
          : 'New connections can only be configured by the operator (this server does not accept `url`).'),
      input: z.object({
        connection: connectionArg,
        url: z.string().min(1).max(2048).optional().describe('Register `connection` with this URL (postgres://, mysql://, mariadb://, sqlite:). Only when the server runs with --allow-runtime-connections. Anything typed here stays in the chat history.'),
      }),
      output: connectionDescription,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
      handler: async ({ connection, url }) => {
        if (url !== undefined) {
          if (!ctx.config.allow_runtime_connections) {
            throw new DbError('PERMISSION_DENIED', 'this server does not accept connection URLs from tools; the operator configures connections (--connection, DATABASE_URL or the config file), or starts the server with --allow-runtime-connections');
          }
          if (!connection) throw new DbError('INVALID_INPUT', 'registering a connection needs a name: pass `connection` with `url`', { field: 'connection' });
          if (!/^[A-Za-z][A-Za-z0-9_-]{0,62}$/.test(connection)) throw new DbError('INVALID_INPUT', 'connection names are letters, digits, _ and -, starting with a letter', { field: 'connection' });
          const known = ctx.registry.names().includes(connection);
          ctx.registry.add(connection, url);
          // A new connection is a new migrations://<name>/status resource.
          if (!known) ctx.events.emit({ type: 'resource-list-changed' });
        }
        return describeConnection(ctx, connection);
      },
    }),
    defineTool({
      name: 'list_connections',
      title: 'List connections',
      description: 'Lists every configured connection with its backend, URL (password hidden), read-only flag and state (open, closed, failed). Opens nothing.',
      input: z.object({}),
      output: z.object({
        connections: z.array(z.object({
          name: z.string(), backend: z.string(), url: z.string(), read_only: z.boolean(),
          state: z.enum(['open', 'closed', 'failed']), last_error: z.string().optional(),
        })),
      }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
      handler: async () => ({
        connections: ctx.registry.names().map((name) => {
          const c = ctx.registry.config(name);
          return { name, backend: c.backend, url: safeUrl(c.url), read_only: c.read_only, ...ctx.registry.state(name) };
        }),
      }),
    }),
    defineTool({
      name: 'close_connection',
      title: 'Close a connection',
      description: 'Closes the connection\'s pool; statements still running after a short grace period are stopped. The connection stays configured and the next call reopens it. Closing an in-memory SQLite connection (sqlite::memory:) discards its database.',
      input: z.object({ connection: connectionArg }),
      output: z.object({ name: z.string(), was_open: z.boolean() }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
      handler: async ({ connection }) => {
        const name = ctx.registry.resolveName(connection);
        return { name, was_open: await ctx.registry.close(name) };
      },
    }),
    defineTool({
      name: 'execute_query',
      title: 'Run one SQL statement',
      description: 'Runs exactly one SQL statement and returns columns and rows (capped by max_rows and the connection\'s byte limit; `truncated` says when). Bind values with `params` (? or :name), never by building SQL strings. On a read-only connection only reads are accepted. For several statements that must succeed together use execute_transaction.',
      input: z.object({
        connection: connectionArg,
        query: z.string().min(1).max(1_000_000).describe('One SQL statement. Placeholders: ? (with params as an array) or :name (with params as an object).'),
        params: paramsArg,
        max_rows: z.number().int().min(1).max(LIMITS.max_rows).optional().describe('Return at most this many rows (default and ceiling: the connection\'s max_rows, 1000 unless configured).'),
        timeout_ms: z.number().int().min(1).max(LIMITS.statement_timeout_ms).optional().describe('Stop the statement after this long (default and ceiling: the connection\'s statement_timeout_ms).'),
      }),
      output: statementResult.extend({ connection: z.string() }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
      handler: async (args, call) => runQuery(ctx, args, call.signal),
    }),
    defineTool({
      name: 'execute_transaction',
      title: 'Run statements all-or-nothing',
      description: 'Runs several statements in one transaction: either all commit or none does. When one fails, everything is rolled back and the error names the failing statement (details.statement_index, from 0). Returns each statement\'s result. On MySQL/MariaDB, DDL commits implicitly and is refused here.',
      input: z.object({
        connection: connectionArg,
        queries: z.array(z.object({
          query: z.string().min(1).max(1_000_000).describe('One SQL statement.'),
          params: paramsArg,
        })).min(1).max(1000).describe('Statements, run in order.'),
        max_rows: z.number().int().min(1).max(LIMITS.max_rows).optional().describe('Row cap for each statement\'s result (ceiling: the connection\'s max_rows).'),
        timeout_ms: z.number().int().min(1).max(LIMITS.statement_timeout_ms).optional().describe('Timeout for each statement; on SQLite for the whole transaction (ceiling: the connection\'s statement_timeout_ms).'),
      }),
      output: z.object({
        connection: z.string(),
        committed: z.boolean().describe('False on a read-only connection, where the transaction is always rolled back.'),
        results: z.array(statementResult),
        elapsed_ms: z.number(),
      }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
      handler: async (args, call) => runTransaction(ctx, args, call.signal),
    }),
  ];
}
