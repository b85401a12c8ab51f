/**
 * Entry point: CLI + config -> logger -> registry -> createServer(ctx) -> stdio,
 * or Streamable HTTP (src/http.ts). On stdio, stdout carries MCP messages only;
 * everything else goes to stderr.
 */
import { CODE_CACHE_STATE } from './code-cache-state.js';
import { backendLabels, loadConfig, parseCli, safeUrl, servesStateless, urlForms, type Config } from './config.js';
import { createContext, type ServerContext } from './context.js';
import { DbError } from './errors.js';
import { createServer, selectTools } from './mcp.js';
import { logDestination } from './log-pretty.js';
import { InvalidRequest, LineTransport } from './stdio.js';
import { VERSION } from './version.js';

/** After aborting running calls, how long shutdown waits for their cleanup (rollback, removing a partial file). */
const SHUTDOWN_GRACE_MS = 10_000;
/** If closing pools hangs beyond this, exit anyway (with 1: the stop was not clean). */
const SHUTDOWN_DEADLINE_MS = SHUTDOWN_GRACE_MS + 10_000;

const HELP_WIDTH = 80;

/** Words of a text in lines of at most `width` characters (a longer word stands alone). */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines.join('\n');
}

const HELP = `codomyrmex-db ${VERSION}: an MCP server for ${backendLabels()}

Usage: codomyrmex-db [options]            (speaks MCP on stdin/stdout, or HTTP)

  -c, --connection NAME=URL        add a connection (repeatable); DATABASE_URL sets "default"
      --config FILE                JSON config file (or CODOMYRMEX_DB_CONFIG)
      --read-only                  every connection read-only unless the config file says otherwise
      --allow-runtime-connections  let get_connection register new URLs
      --log-level LEVEL            fatal, error, warn, info, debug, trace, silent (logs go to stderr)
      --query-log FILE             keep the query log in this SQLite file too (or CODOMYRMEX_DB_QUERY_LOG)
      --tools LIST                 expose only these managers or tools, e.g. queries or queries,run_migration
      --transport stdio|http       stdio (default), or Streamable HTTP on /mcp
      --host HOST                  HTTP interface (default 127.0.0.1; any other needs a token)
      --port PORT                  HTTP port (default 3000; 0 picks a free one)
      --http-token TOKEN           bearer token HTTP clients must send (prefer CODOMYRMEX_DB_HTTP_TOKEN)
      --stateless                  HTTP without sessions, for several instances behind a load balancer
  -h, --help                       this text
  -v, --version                    the version

With no connection configured, "default" is an embedded SQLite file in
$XDG_DATA_HOME/codomyrmex-db (or ~/.local/share/codomyrmex-db).
${wrap(`URLs: ${urlForms().join(', ')}`, HELP_WIDTH)}
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
  process.on('unhandledRejection', (reason) => {
    if (driverTypeLookup(reason)) ctx.logger.warn({ err: (reason as Error).message }, 'a new PostgreSQL session closed while the driver read its array types; no call was affected');
    else ctx.logger.error({ err: reason instanceof Error ? reason.message : String(reason), stack: reason instanceof Error ? reason.stack : undefined }, 'unhandled rejection (the server keeps running)');
  });
}

/**
 * postgres.js reads the server's array types on each new session, in a query nobody awaits: a
 * session closed while that runs (killed, dropped) leaves its rejection unhandled. No call waits
 * on it; the next session reads the types again.
 */
function driverTypeLookup(reason: unknown): boolean {
  const query = reason instanceof Error ? (reason as Error & { query?: unknown }).query : undefined;
  return typeof query === 'string' && query.includes('pg_catalog.pg_type') && query.includes('typarray');
}

/** How a transport stops: first no new requests, then (after running calls ended) everything else. */
interface Stoppable {
  stopAccepting(): void;
  close(): Promise<unknown>;
}

/**
 * One way out for every transport: stop taking requests, abort running calls while
 * their clients can still hear the CANCELLED result, wait for their cleanup, close
 * the transport and every pool, flush, exit 0.
 */
function onShutdown(ctx: ServerContext, transport: Stoppable): (why: string) => void {
  let stopping = false;
  return (why) => {
    if (stopping) return;
    stopping = true;
    ctx.logger.info({ why, running_calls: ctx.calls.running() }, 'shutting down');
    setTimeout(() => {
      ctx.logger.error('shutdown did not finish in time; exiting');
      ctx.logger.flush?.();
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    void (async () => {
      transport.stopAccepting();
      ctx.calls.abortAll();
      if (!(await ctx.calls.settled(SHUTDOWN_GRACE_MS))) ctx.logger.warn({ running_calls: ctx.calls.running() }, 'calls still running after the grace period');
      // The SDK sends each CANCELLED result a few ticks after its handler settles: let it go out first.
      await new Promise((resolve) => setImmediate(resolve));
      await transport.close().catch((err: Error) => ctx.logger.warn({ err: err.message }, 'closing the transport failed'));
      await ctx.registry.closeAll();
      await ctx.queryLog.close().catch((err: Error) => ctx.logger.warn({ err: err.message }, 'query log not closed cleanly'));
      ctx.logger.info('stopped');
      ctx.logger.flush?.();
      process.exit(0);
    })();
  };
}

async function serveStdio(ctx: ServerContext, config: Config): Promise<void> {
  const server = createServer(ctx);
  // stdin keeps being read until close: calls that arrive meanwhile start aborted (CANCELLED).
  const stop = onShutdown(ctx, { stopAccepting: () => undefined, close: () => server.close() });
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.stdin.on('end', () => stop('stdin closed'));
  // A line that is not a message (garbage, over 10 MiB) is dropped and logged, an invalid
  // request answered (stdio.ts); reading goes on. Redacted before it is cut: a cut through a
  // password would leave a prefix no redactor knows.
  server.server.onerror = (err) => ctx.logger.warn({ err: ctx.redact(err.message).slice(0, 500) }, err instanceof InvalidRequest ? 'stdio: invalid request answered' : 'stdio: message dropped');
  await server.connect(new LineTransport());
  ctx.logger.info({ connections: config.connections.size, config: config.source, ...codeCache() }, 'ready');
  if (process.stdin.isTTY) process.stderr.write(`${banner(config)}\n`);
}

async function serveHttp(ctx: ServerContext, config: Config): Promise<void> {
  // Refuse a bad --tools before listening: sessions build their servers later.
  selectTools(ctx);
  // Loaded only here: stdio start-up (a measured target) skips node:http, hono and the SDK's HTTP transport.
  const { startHttp } = await import('./http.js');
  const http = await startHttp(ctx);
  // stdin is not watched: a daemon's stdin is often closed from the start.
  const stop = onShutdown(ctx, http);
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Logged once signals are handled: from here a stop is always clean (tests wait for this line).
  ctx.logger.info({ endpoint: http.url, stateless: config.http.stateless, token: config.http.token ? 'required' : 'none' }, 'listening');
  ctx.logger.info({ connections: config.connections.size, config: config.source, ...codeCache() }, 'ready');
  if (servesStateless(config) && config.allow_runtime_connections) {
    ctx.logger.warn('--allow-runtime-connections has no effect with --stateless: get_connection refuses URLs (UNSUPPORTED), since another instance may serve the next request');
  }
  if (process.stderr.isTTY) process.stderr.write(`codomyrmex-db ${VERSION} is serving MCP at ${http.url}. Press Ctrl+C to stop.\n`);
}

/** Whether dist/server.js ran this bundle from V8's code cache (src/start.ts); nothing when run otherwise. */
function codeCache(): { code_cache?: unknown } {
  const state = (globalThis as Record<symbol, unknown>)[CODE_CACHE_STATE];
  return state === undefined ? {} : { code_cache: state };
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  // Asked-for output goes to stdout (`v=$(codomyrmex-db --version)`); errors stay on stderr.
  if (cli.help) return void process.stdout.write(HELP);
  if (cli.version) return void process.stdout.write(`${VERSION}\n`);
  const config = loadConfig(cli, process.env, process.cwd());
  const ctx = createContext(config, { logDestination: logDestination(process.env, Boolean(process.stderr.isTTY)) });
  guardProcess(ctx);
  await (config.transport === 'http' ? serveHttp(ctx, config) : serveStdio(ctx, config));
}

main().catch((err) => {
  // A system error (EADDRINUSE, EACCES) says all in its message; anything else keeps its stack.
  const message = err instanceof DbError ? `${err.code}: ${err.message}` : (err as NodeJS.ErrnoException).syscall ? (err as Error).message : (err as Error).stack ?? String(err);
  process.stderr.write(`codomyrmex-db: ${message}\n`);
  process.exit(err instanceof DbError && err.code === 'INVALID_INPUT' ? 2 : 1);
});
