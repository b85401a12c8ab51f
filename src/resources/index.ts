/**
 * Resources: migration status and database statistics per connection (more come
 * with the schema manager). Subscriptions are tracked here; managers' tools call
 * `notifyChanged` after they change what a resource shows.
 */
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode as RpcErrorCode, McpError, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { asDbError } from '../errors.js';
import type { ServerContext } from '../context.js';
import { migrationStatus } from '../core/migrations/manager.js';
import { getDatabaseStats } from '../core/performance/stats.js';

export const migrationStatusUri = (connection: string): string => `migrations://${encodeURIComponent(connection)}/status`;
export const statsUri = (connection: string): string => `stats://${encodeURIComponent(connection)}`;

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
        // Resource reads fail as JSON-RPC errors: keep our code in the text, never a secret.
        const e = asDbError(err);
        throw new McpError(e.code === 'CONNECTION_NOT_FOUND' ? RpcErrorCode.InvalidParams : RpcErrorCode.InternalError, ctx.redact(`${e.code}: ${e.message}`), { code: e.code });
      }
    },
  );
}

export interface ResourceHub {
  /** Tells subscribers of this connection's migration status that it changed. */
  migrationsChanged(connection: string): void;
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

  return {
    migrationsChanged(connection) {
      const uri = migrationStatusUri(connection);
      if (!subscribed.has(uri)) return;
      server.server.sendResourceUpdated({ uri }).catch((err: Error) => ctx.logger.debug({ err: err.message }, 'resource update not sent'));
    },
  };
}
