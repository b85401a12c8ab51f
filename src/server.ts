/**
 * Entry point: CLI + config -> logger -> registry -> createServer(ctx) -> stdio.
 * stdout carries MCP messages only; everything else goes to stderr.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { loadConfig, parseCli, safeUrl, type Config } from './config.js';
import { createContext, type ServerContext } from './context.js';
import { DbError } from './errors.js';
import { createServer } from './mcp.js';
import { VERSION } from './version.js';

const HELP = `codomyrmex-db ${VERSION}: an MCP server for PostgreSQL, MySQL/MariaDB and SQLite

Usage: codomyrmex-db [options]            (speaks MCP on stdin/stdout)

  -c, --connection NAME=URL        add a connection (repeatable); DATABASE_URL sets "default"
      --config FILE                JSON config file (or CODOMYRMEX_DB_CONFIG)
      --read-only                  every connection read-only unless the config file says otherwise
      --allow-runtime-connections  let get_connection register new URLs
      --log-level LEVEL            fatal, error, warn, info, debug, trace, silent (logs go to stderr)
      --query-log FILE             keep the query log in this SQLite file too (or CODOMYRMEX_DB_QUERY_LOG)
  -h, --help                       this text
  -v, --version                    the version

With no connection configured, "default" is an embedded SQLite file in
$XDG_DATA_HOME/codomyrmex-db (or ~/.local/share/codomyrmex-db).
URLs: postgres://user:pass@host:5432/db, mysql://user:pass@host:3306/db,
mariadb://..., sqlite:relative.db, sqlite:///absolute.db, sqlite::memory:
`;

function banner(config: Config): string {
  const lines = [...config.connections.values()].map((c) => `  ${c.name}: ${c.backend} ${safeUrl(c.url)}${c.read_only ? ' (read-only)' : ''}`);
  return [
    `codomyrmex-db ${VERSION} is serving MCP on stdin/stdout. It is meant to be started by an MCP client, for example`,
    `Claude Desktop's config: { "mcpServers": { "db": { "command": "${process.execPath}", "args": ["${process.argv[1]}"] } } }`,
    'Connections:',
    ...lines,
    'Press Ctrl+C to stop.',
  ].join('\n');
}

/** The process must outlive driver bugs (postgres.js can throw from a socket callback when a connection dies). */
function guardProcess(ctx: ServerContext): void {
  process.on('uncaughtException', (err) => ctx.logger.error({ err: err.message, stack: err.stack }, 'uncaught exception (the server keeps running)'));
  process.on('unhandledRejection', (reason) => ctx.logger.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled rejection (the server keeps running)'));
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  if (cli.help) return void process.stderr.write(HELP);
  if (cli.version) return void process.stderr.write(`${VERSION}\n`);
  const config = loadConfig(cli, process.env, process.cwd());
  const ctx = createContext(config);
  guardProcess(ctx);
  const server = createServer(ctx);
  const transport = new StdioServerTransport();
  let stopping = false;
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    ctx.logger.info({ why }, 'shutting down');
    // Closing the server aborts every running call's signal: their statements are cancelled.
    await server.close().catch(() => undefined);
    await ctx.registry.closeAll();
    await ctx.queryLog.close().catch((err: Error) => ctx.logger.warn({ err: err.message }, 'query log not closed cleanly'));
    ctx.logger.flush?.();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.stdin.on('end', () => void stop('stdin closed'));
  await server.connect(transport);
  ctx.logger.info({ connections: config.connections.size, config: config.source }, 'ready');
  if (process.stdin.isTTY) process.stderr.write(`${banner(config)}\n`);
}

main().catch((err) => {
  const message = err instanceof DbError ? `${err.code}: ${err.message}` : (err as Error).stack ?? String(err);
  process.stderr.write(`codomyrmex-db: ${message}\n`);
  process.exit(err instanceof DbError && err.code === 'INVALID_INPUT' ? 2 : 1);
});
