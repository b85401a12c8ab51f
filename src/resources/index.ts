/**
 * Resources: migration status, database statistics and schemas per connection,
 * and one table's schema. Subscriptions belong to one MCP server (one session);
 * changes arrive as context events (`resource-updated`) that mcp.ts relays to
 * subscribers.
 */
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ErrorCode as RpcErrorCode, ListResourcesRequestSchema, McpError, SubscribeRequestSchema, UnsubscribeRequestSchema, type Resource,
} from '@modelcontextprotocol/sdk/types.js';
import { asDbError } from '../errors.js';
import type { ServerContext } from '../context.js';
import { migrationStatus } from '../core/migrations/manager.js';
import { getDatabaseStats } from '../core/performance/stats.js';
import { getSchema, tableNames } from '../core/schema/manager.js';

export const migrationStatusUri = (connection: string): string => `migrations://${encodeURIComponent(connection)}/status`;
export const statsUri = (connection: string): string => `stats://${encodeURIComponent(connection)}`;
export const schemaUri = (connection: string, table?: string): string =>
  `schema://${encodeURIComponent(connection)}${table === undefined ? '' : `/${encodeURIComponent(table)}`}`;

/** resources/list pages: a database with thousands of tables must not flood the client's context. */
export const RESOURCE_PAGE_SIZE = 100;

/** Tables of one connection in resources/list and completions: a bounded answer for large databases. */
const TABLES_LISTED = 200;

/** Lists the concrete resources of one template, in a stable order. */
type Lister = (signal: AbortSignal) => Promise<Resource[]>;

export interface Subscriptions {
  has(uri: string): boolean;
  /** Subscribed URIs that start with `prefix` (every table of a connection). */
  matching(prefix: string): string[];
}

function readError(ctx: ServerContext, err: unknown): McpError {
  // Resource reads fail as JSON-RPC errors: keep our code in the text, never a secret.
  const e = asDbError(err);
  const invalid = e.code === 'CONNECTION_NOT_FOUND' || e.code === 'UNDEFINED_OBJECT';
  return new McpError(invalid ? RpcErrorCode.InvalidParams : RpcErrorCode.InternalError, ctx.redact(`${e.code}: ${e.message}`), { code: e.code });
}

const json = (uri: URL, value: unknown) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value) }] });

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

/** A per-connection JSON resource: template, completion of connection names, read; returns its lister. */
function registerJsonResource(server: McpServer, ctx: ServerContext, r: JsonResource): Lister {
  const meta = { title: r.title, description: r.description, mimeType: 'application/json' };
  server.registerResource(
    r.name,
    new ResourceTemplate(r.template, { list: undefined, complete: { connection: (value) => ctx.registry.names().filter((n) => n.startsWith(value)) } }),
    meta,
    async (uri, variables, extra) => {
      const name = decodeURIComponent(String(variables.connection));
      return json(uri, await r.read(name, extra.signal).catch((err) => { throw readError(ctx, err); }));
    },
  );
  return async () => ctx.registry.names().map((name) => ({ ...meta, uri: r.uri(name), name: r.listName(name) }));
}

/** `table`, or where tables live in schemas (PostgreSQL) `schema.table`, as the table variable of a URI. */
async function splitTable(ctx: ServerContext, connection: string, name: string): Promise<{ table: string; schema?: string }> {
  const dot = name.indexOf('.');
  if (dot <= 0 || !(await ctx.registry.get(connection)).module.schema.namespaces) return { table: name };
  return { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

/** Table names of one connection, or of the connections already open (listing must not open every database). */
async function openTables(ctx: ServerContext, connection: string | undefined, signal: AbortSignal): Promise<Array<[string, string]>> {
  const names = connection !== undefined ? [connection] : ctx.registry.names().filter((n) => ctx.registry.state(n).state === 'open');
  const out: Array<[string, string]> = [];
  for (const n of names) {
    const tables = await tableNames(ctx, n, AbortSignal.any([signal, AbortSignal.timeout(5000)])).catch(() => [] as string[]);
    out.push(...tables.slice(0, TABLES_LISTED).map((t): [string, string] => [n, t]));
  }
  return out;
}

function registerTableSchema(server: McpServer, ctx: ServerContext): Lister {
  const meta = { title: 'Table schema', description: 'One table\'s portable schema (the same as get_schema with `table`); on PostgreSQL schema.table names another schema\'s table.', mimeType: 'application/json' };
  server.registerResource(
    'table-schema',
    new ResourceTemplate('schema://{connection}/{table}', {
      list: undefined,
      complete: {
        connection: (value) => ctx.registry.names().filter((n) => n.startsWith(value)),
        table: async (value, context) => {
          const connection = context?.arguments?.connection;
          if (connection === undefined || !ctx.registry.names().includes(connection)) return [];
          return (await openTables(ctx, connection, AbortSignal.timeout(5000))).map(([, t]) => t).filter((t) => t.startsWith(value)).slice(0, 100);
        },
      },
    }),
    meta,
    async (uri, variables, extra) => {
      const name = decodeURIComponent(String(variables.connection));
      const read = async () => getSchema(ctx, { connection: name, ...(await splitTable(ctx, name, decodeURIComponent(String(variables.table)))) }, extra.signal);
      return json(uri, await read().catch((err) => { throw readError(ctx, err); }));
    },
  );
  return async (signal) => (await openTables(ctx, undefined, signal)).map(([c, t]) => ({ ...meta, uri: schemaUri(c, t), name: `${c}: ${t}` }));
}

function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const offset = Number(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!Number.isSafeInteger(offset) || offset < 0) throw new McpError(RpcErrorCode.InvalidParams, 'invalid cursor: pass back the nextCursor of a previous resources/list');
  return offset;
}

/** Replaces the SDK's resources/list (which returns everything at once) with pages of RESOURCE_PAGE_SIZE. */
function paginate(server: McpServer, listers: Lister[]): void {
  server.server.setRequestHandler(ListResourcesRequestSchema, async (request, extra) => {
    const offset = decodeCursor(request.params?.cursor);
    const all: Resource[] = [];
    for (const list of listers) all.push(...(await list(extra.signal)));
    const end = offset + RESOURCE_PAGE_SIZE;
    const nextCursor = end < all.length ? Buffer.from(String(end)).toString('base64url') : undefined;
    return { resources: all.slice(offset, end), ...(nextCursor ? { nextCursor } : {}) };
  });
}

export function registerResources(server: McpServer, ctx: ServerContext): Subscriptions {
  const subscribed = new Set<string>();
  server.server.setRequestHandler(SubscribeRequestSchema, async (req) => {
    subscribed.add(req.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
    subscribed.delete(req.params.uri);
    return {};
  });
  paginate(server, [
    registerJsonResource(server, ctx, {
      name: 'migration-status', template: 'migrations://{connection}/status', title: 'Migration status',
      description: 'The same data as get_migration_status, for one connection.',
      uri: migrationStatusUri, listName: (name) => `${name} migration status`, read: (name, signal) => migrationStatus(ctx, name, signal),
    }),
    registerJsonResource(server, ctx, {
      name: 'database-stats', template: 'stats://{connection}', title: 'Database statistics',
      description: 'The same data as get_database_stats, for one connection.',
      uri: statsUri, listName: (name) => `${name} database statistics`, read: (name, signal) => getDatabaseStats(ctx, name, signal),
    }),
    registerJsonResource(server, ctx, {
      name: 'schema', template: 'schema://{connection}', title: 'Database schema',
      description: 'Every table\'s portable schema on one connection (the first 200 tables; get_schema pages further).',
      uri: (name) => schemaUri(name), listName: (name) => `${name} schema`, read: (name, signal) => getSchema(ctx, { connection: name }, signal),
    }),
    registerTableSchema(server, ctx),
  ]);
  return { has: (uri) => subscribed.has(uri), matching: (prefix) => [...subscribed].filter((u) => u.startsWith(prefix)) };
}
