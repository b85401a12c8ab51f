/**
 * Library entry for embedding the server in another Node process (and for the
 * benchmarks): build a context from a config, then an McpServer, then connect
 * it to any transport; or serve Streamable HTTP with startHttp(ctx).
 */
export { buildConnection, loadConfig, parseCli, type Config } from './config.js';
export { createContext, type ServerContext } from './context.js';
export { startHttp, type HttpHandle } from './http.js';
export { createServer } from './mcp.js';
