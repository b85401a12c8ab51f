/**
 * Resources: migration status per connection (more come with the schema and
 * stats managers). Subscriptions are tracked here; managers' tools call
 * `notifyChanged` after they change what a resource shows.
 */
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode as RpcErrorCode, McpError, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { asDbError } from '../errors.js';
import type { ServerContext } from '../context.js';
import { migrationStatus } from '../core/migrations/manager.js';

export const migrationStatusUri = (connection: string): string => `migrations://${encodeURIComponent(connection)}/status`;

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

  server.registerResource(
    'migration-status',
    new ResourceTemplate('migrations://{connection}/status', {
      list: async () => ({
        resources: ctx.registry.names().map((name) => ({ uri: migrationStatusUri(name), name: `${name} migration status`, mimeType: 'application/json' })),
      }),
      complete: { connection: (value) => ctx.registry.names().filter((n) => n.startsWith(value)) },
    }),
    { title: 'Migration status', description: 'The same data as get_migration_status, for one connection.', mimeType: 'application/json' },
    async (uri, variables, extra) => {
      const name = decodeURIComponent(String(variables.connection));
      try {
        const status = await migrationStatus(ctx, name, extra.signal);
        return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(status) }] };
      } catch (err) {
        // Resource reads fail as JSON-RPC errors: keep our code in the text, never a secret.
        const e = asDbError(err);
        throw new McpError(e.code === 'CONNECTION_NOT_FOUND' ? RpcErrorCode.InvalidParams : RpcErrorCode.InternalError, ctx.redact(`${e.code}: ${e.message}`), { code: e.code });
      }
    },
  );

  return {
    migrationsChanged(connection) {
      const uri = migrationStatusUri(connection);
      if (!subscribed.has(uri)) return;
      server.server.sendResourceUpdated({ uri }).catch((err: Error) => ctx.logger.debug({ err: err.message }, 'resource update not sent'));
    },
  };
}
