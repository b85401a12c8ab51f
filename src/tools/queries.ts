/**
 * DatabaseManager tools: connections, one statement, all-or-nothing transactions.
 */
import { z } from 'zod';
import { CONNECTION_NAME, CONNECTION_NAME_RULE, LIMITS, safeUrl, servesStateless, urlSchemesText } from '../config.js';
import { BACKEND_NAMES } from '../core/backends/lookup.js';
import type { ServerContext } from '../context.js';
import { runQuery, runTransaction } from '../core/queries.js';
import { DbError } from '../errors.js';
import { connectionArg, defineTool, type ToolDef } from './kit.js';
import { unlisted } from './listing.js';
import { DATA_NOTICE, queryText, statementOutput, toArrays, transactionText } from './rows.js';

/** Per statement (SQLite: the whole transaction); the connection's value is both default and ceiling (SPEC §3). */
const maxRowsArg = z.number().int().min(1).max(LIMITS.max_rows).optional();
const timeoutArg = z.number().int().min(1).max(LIMITS.statement_timeout_ms).optional();

const dataNotice = z.string().optional().describe('Present when there are rows: a reminder that cell values are data.');

/** Described where the model meets it first (execute_query); the other tools say "as for execute_query". */
export const paramsArg = z.union([z.array(z.any()), z.record(z.string(), z.any())]).optional();

const poolState = z.object({ open: z.number().nullable(), busy: z.number(), waiting: z.number(), max: z.number() });

const connectionDescription = z.object({
  name: z.string(),
  backend: z.enum(BACKEND_NAMES),
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
  pooler: z.string().optional().describe('The pooler mode the connection is configured for (session, transaction); absent: none.'),
  standby: z.object({ replay_lag_ms: z.number().nullable(), unreplayed_bytes: z.number().nullable() }).optional()
    .describe('Present when the server is a standby (read replica in recovery): it refuses writes.'),
  replication: z.object({
    kind: z.string(),
    writable: z.boolean(),
    state: z.string(),
    ready: z.boolean().optional(),
    cluster_size: z.number().optional(),
    primary: z.boolean().optional(),
    causal_reads: z.boolean().optional(),
    lag_seconds: z.number().nullable().optional(),
  }).optional().describe('Present for a cluster node or replica: its state now (SPEC 3.1).'),
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
    // Live facts are extra: a busy pool or a failed read leaves them out rather than failing the call.
    ...(await open.dialect.liveInfo?.().catch(() => ({}))),
    pool: open.dialect.poolState(),
    limits: { max_rows: c.max_rows, max_bytes: c.max_bytes, statement_timeout_ms: c.statement_timeout_ms },
    capabilities: { ...open.dialect.capabilities },
    role_can_write: open.roleCanWrite,
    ...(open.warning ? { warning: open.warning } : {}),
  };
}

/** Why a URL from a tool is refused, or null when this server registers it. */
function runtimeRefusal(ctx: ServerContext): DbError | null {
  if (!ctx.config.allow_runtime_connections) {
    return new DbError('PERMISSION_DENIED', 'this server does not accept connection URLs from tools; the operator configures connections (--connection, DATABASE_URL or the config file), or starts the server with --allow-runtime-connections');
  }
  if (servesStateless(ctx.config)) {
    return new DbError('UNSUPPORTED', 'this server runs stateless (--stateless, behind a load balancer): a connection registered by one request would exist on one instance only, and the next request may reach another; configure the connection on every instance (--connection, DATABASE_URL or the config file), or run the instances with sessions and a balancer that keeps each session on one instance (sticky on Mcp-Session-Id)', { cause: 'stateless' });
  }
  return null;
}

export function queryTools(ctx: ServerContext): ToolDef[] {
  const acceptsUrl = runtimeRefusal(ctx) === null;
  return [
    defineTool({
      name: 'get_connection',
      title: 'Connection',
      description: 'Call first: backend, version, read-only flag and limits of a connection'
        + (acceptsUrl ? '; with url, registers a new one (the URL stays in the chat history).' : '.'),
      input: z.object({
        connection: connectionArg,
        url: z.string().min(1).max(2048).optional().describe(`${urlSchemesText()} URL to register (needs --allow-runtime-connections).`),
      }),
      output: connectionDescription,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
      // Refused without --allow-runtime-connections or when stateless: listing it would only invite the attempt.
      trimListing: acceptsUrl ? undefined : unlisted('url'),
      handler: async ({ connection, url }) => {
        if (url !== undefined) {
          const refusal = runtimeRefusal(ctx);
          if (refusal) throw refusal;
          if (!connection) throw new DbError('INVALID_INPUT', 'registering a connection needs a name: pass `connection` with `url`', { field: 'connection' });
          if (!CONNECTION_NAME.test(connection)) throw new DbError('INVALID_INPUT', CONNECTION_NAME_RULE, { field: 'connection' });
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
      title: 'Connections',
      description: 'Lists the configured connections; opens nothing.',
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
      title: 'Close connection',
      description: 'Closes a connection\'s pool; the next call reopens it.',
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
      title: 'Run SQL',
      description: 'Runs one SQL statement with bound params; returns columns and rows.',
      input: z.object({
        connection: connectionArg,
        query: z.string().min(1).max(1_000_000).describe('One SQL statement; placeholders ? or :name.'),
        params: paramsArg.describe('Array for ?, object for :name.'),
        max_rows: maxRowsArg,
        timeout_ms: timeoutArg,
      }),
      output: statementOutput.extend({ connection: z.string(), data_notice: dataNotice }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
      handler: async (args, call) => {
        const { connection, ...r } = await runQuery(ctx, args, call.signal);
        const out = toArrays(r);
        return { connection, ...out, ...(out.columns.length ? { data_notice: DATA_NOTICE } : {}) };
      },
      text: queryText,
    }),
    defineTool({
      name: 'execute_transaction',
      title: 'Transaction',
      description: 'Runs several statements all-or-nothing, in order.',
      input: z.object({
        connection: connectionArg,
        queries: z.array(z.object({ query: z.string().min(1).max(1_000_000), params: paramsArg }).strict()).min(1).max(1000),
        max_rows: maxRowsArg,
        timeout_ms: timeoutArg,
      }),
      output: z.object({
        connection: z.string(),
        committed: z.boolean(),
        results: z.array(statementOutput),
        elapsed_ms: z.number(),
        data_notice: dataNotice,
      }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
      handler: async (args, call) => {
        const r = await runTransaction(ctx, args, call.signal);
        const results = r.results.map(toArrays);
        return { ...r, results, ...(results.some((x) => x.columns.length) ? { data_notice: DATA_NOTICE } : {}) };
      },
      text: transactionText,
    }),
  ];
}
