/**
 * Resources: migration status, database statistics and schemas per connection (tables too).
 * Subscriptions are tracked here; managers' tools call
 * `notifyChanged` after they change what a resource shows.
 */
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode as RpcErrorCode, McpError, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { asDbError } from '../errors.js';
import type { ServerContext } from '../context.js';
import { migrationStatus } from '../core/migrations/manager.js';
import { getDatabaseStats } from '../core/performance/stats.js';
import { getSchema, tableNames } from '../core/schema/manager.js';

export const migrationStatusUri = (connection: string): string => `migrations://${encodeURIComponent(connection)}/status`;
export const schemaUri = (connection: string, table?: string): string =>
  `schema://${encodeURIComponent(connection)}${table === undefined ? '' : `/${encodeURIComponent(table)}`}`;
export const statsUri = (connection: string): string => `stats://${encodeURIComponent(connection)}`;

/** Tables listed per connection in resources/list and completions: a bounded answer for large databases. */
const LIST_LIMIT = 200;

interface JsonResource {
  name: string;
  template: string;
  title: string;
  description: string;
  /** The resource of one connection, by name. */
  uri(connection: string): string;
  listName(connection: string): string;
  read(connection: string, signal: AbortSignal): Promise<unknown>;
}

/** A per-connection JSON resource: template, list, completion of connection names, read. */
function registerJsonResource(server: McpServer, ctx: ServerContext, r: JsonResource): void {
  server.registerResource(
    r.name,
    new ResourceTemplate(r.template, {
      list: async () => ({
        resources: ctx.registry.names().map((name) => ({ uri: r.uri(name), name: r.listName(name), mimeType: 'application/json' })),
      }),
      complete: { connection: (value) => ctx.registry.names().filter((n) => n.startsWith(value)) },
    }),
    { title: r.title, description: r.description, mimeType: 'application/json' },
    async (uri, variables, extra) => {
      const name = decodeURIComponent(String(variables.connection));
      try {
        return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(await r.read(name, extra.signal)) }] };
      } catch (err) {
        throw asRpcError(err, ctx);
      }
    },
  );
}

export interface ResourceHub {
  /** Tells subscribers of this connection's migration status that it changed. */
  migrationsChanged(connection: string): void;
  /** Tells subscribers of the connection's schema, and of the table's (every table's when null), that it changed. */
  schemaChanged(connection: string, table: string | null): void;
}

function asRpcError(err: unknown, ctx: ServerContext): McpError {
  // Resource reads fail as JSON-RPC errors: keep our code in the text, never a secret.
  const e = asDbError(err);
  const invalid = e.code === 'CONNECTION_NOT_FOUND' || e.code === 'UNDEFINED_OBJECT';
  return new McpError(invalid ? RpcErrorCode.InvalidParams : RpcErrorCode.InternalError, ctx.redact(`${e.code}: ${e.message}`), { code: e.code });
}

const json = (uri: URL, value: unknown) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value) }] });

/** `table`, or on PostgreSQL `schema.table`, as the table variable of a URI. */
async function splitTable(ctx: ServerContext, connection: string, name: string): Promise<{ table: string; schema?: string }> {
  const dot = name.indexOf('.');
  if (dot <= 0 || (await ctx.registry.get(connection)).dialect.backend !== 'postgres') return { table: name };
  return { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

/** Table names of connections already open (listing must not open every configured database). */
async function openTables(ctx: ServerContext, connection: string | undefined): Promise<Array<[string, string]>> {
  const names = connection !== undefined ? [connection] : ctx.registry.names().filter((n) => ctx.registry.state(n).state === 'open');
  const out: Array<[string, string]> = [];
  for (const n of names) {
    const tables = await tableNames(ctx, n, AbortSignal.timeout(5000)).catch(() => [] as string[]);
    out.push(...tables.slice(0, LIST_LIMIT).map((t): [string, string] => [n, t]));
  }
  return out;
}

export function registerResources(server: McpServer, ctx: ServerContext): ResourceHub {
  const subscribed = new Set<string>();
  server.server.setRequestHandler(SubscribeRequestSchema, async (req) => {
    subscribed.add(req.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
    subscribed.delete(req.params.uri);
    return {};
  });

  registerJsonResource(server, ctx, {
    name: 'migration-status',
    template: 'migrations://{connection}/status',
    title: 'Migration status',
    description: 'The same data as get_migration_status, for one connection.',
    uri: migrationStatusUri,
    listName: (name) => `${name} migration status`,
    read: (name, signal) => migrationStatus(ctx, name, signal),
  });
  registerJsonResource(server, ctx, {
    name: 'database-stats',
    template: 'stats://{connection}',
    title: 'Database statistics',
    description: 'The same data as get_database_stats, for one connection.',
    uri: statsUri,
    listName: (name) => `${name} database statistics`,
    read: (name, signal) => getDatabaseStats(ctx, name, signal),
  });
  registerJsonResource(server, ctx, {
    name: 'schema',
    template: 'schema://{connection}',
    title: 'Database schema',
    description: 'Every table\'s portable schema on one connection (the first 200 tables; get_schema pages further).',
    uri: (name) => schemaUri(name),
    listName: (name) => `${name} schema`,
    read: (name, signal) => getSchema(ctx, { connection: name }, signal),
  });

  server.registerResource(
    'table-schema',
    new ResourceTemplate('schema://{connection}/{table}', {
      list: async () => ({
        resources: (await openTables(ctx, undefined)).map(([c, t]) => ({ uri: schemaUri(c, t), name: `${c}: ${t}`, mimeType: 'application/json' })),
      }),
      complete: {
        connection: (value) => ctx.registry.names().filter((n) => n.startsWith(value)),
        table: async (value, context) => {
          const connection = context?.arguments?.connection;
          if (connection === undefined || !ctx.registry.names().includes(connection)) return [];
          return (await openTables(ctx, connection)).map(([, t]) => t).filter((t) => t.startsWith(value)).slice(0, 100);
        },
      },
    }),
    { title: 'Table schema', description: 'One table\'s portable schema (the same as get_schema with `table`); schema.table for a PostgreSQL schema other than public.', mimeType: 'application/json' },
    async (uri, variables, extra) => {
      const name = decodeURIComponent(String(variables.connection));
      const read = async () => getSchema(ctx, { connection: name, ...(await splitTable(ctx, name, decodeURIComponent(String(variables.table)))) }, extra.signal);
      return json(uri, await read().catch((err) => { throw asRpcError(err, ctx); }));
    },
  );

  const notify = (uri: string): void => {
    server.server.sendResourceUpdated({ uri }).catch((err: Error) => ctx.logger.debug({ err: err.message }, 'resource update not sent'));
  };
  return {
    migrationsChanged(connection) {
      const uri = migrationStatusUri(connection);
      if (subscribed.has(uri)) notify(uri);
    },
    schemaChanged(connection, table) {
      const whole = schemaUri(connection);
      for (const uri of subscribed) {
        if (uri === whole || (table === null ? uri.startsWith(`${whole}/`) : uri === schemaUri(connection, table))) notify(uri);
      }
    },
  };
}
