/**
 * Resources: migration status per connection (schema resources plug in here as
 * another template plus a lister). Subscriptions belong to one MCP server (one
 * session); changes arrive as context events (`resource-updated`) that mcp.ts
 * relays to subscribers.
 */
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ErrorCode as RpcErrorCode, ListResourcesRequestSchema, McpError, SubscribeRequestSchema, UnsubscribeRequestSchema, type Resource,
} from '@modelcontextprotocol/sdk/types.js';
import { asDbError } from '../errors.js';
import type { ServerContext } from '../context.js';
import { migrationStatus } from '../core/migrations/manager.js';

export const migrationStatusUri = (connection: string): string => `migrations://${encodeURIComponent(connection)}/status`;

/** resources/list pages: a database with thousands of tables must not flood the client's context. */
export const RESOURCE_PAGE_SIZE = 100;

/** Lists the concrete resources of one template, in a stable order. */
type Lister = (signal: AbortSignal) => Promise<Resource[]>;

export interface Subscriptions {
  has(uri: string): boolean;
}

function readError(ctx: ServerContext, err: unknown): McpError {
  // Resource reads fail as JSON-RPC errors: keep our code in the text, never a secret.
  const e = asDbError(err);
  return new McpError(e.code === 'CONNECTION_NOT_FOUND' ? RpcErrorCode.InvalidParams : RpcErrorCode.InternalError, ctx.redact(`${e.code}: ${e.message}`), { code: e.code });
}

function registerMigrationStatus(server: McpServer, ctx: ServerContext): Lister {
  const meta = { title: 'Migration status', description: 'The same data as get_migration_status, for one connection.', mimeType: 'application/json' };
  const list: Lister = async () => ctx.registry.names().map((name) => ({ ...meta, uri: migrationStatusUri(name), name: `${name} migration status` }));
  server.registerResource(
    'migration-status',
    new ResourceTemplate('migrations://{connection}/status', {
      list: undefined,
      complete: { connection: (value) => ctx.registry.names().filter((n) => n.startsWith(value)) },
    }),
    meta,
    async (uri, variables, extra) => {
      const name = decodeURIComponent(String(variables.connection));
      try {
        const status = await migrationStatus(ctx, name, extra.signal);
        return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(status) }] };
      } catch (err) {
        throw readError(ctx, err);
      }
    },
  );
  return list;
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
  paginate(server, [registerMigrationStatus(server, ctx)]);
  return { has: (uri) => subscribed.has(uri) };
}
