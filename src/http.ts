/**
 * Streamable HTTP on /mcp (node:http, no framework). Every request passes the
 * guard first (Origin, Host, bearer token); then either a session's transport
 * serves it (one McpServer per session, all on the one context and registry),
 * or, stateless, a server and transport built for that request alone.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { ServerContext } from './context.js';
import { createGuard, rpcError, sendJson, type Guard } from './http-guard.js';
import { createServer } from './mcp.js';
import { VERSION } from './version.js';

/** Same bound as one stdio line in the SDK: a request that large is a mistake or an attack. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** Each session holds an McpServer; beyond this, new sessions get 503 until idle ones expire. */
export const MAX_SESSIONS = 1000;

export interface HttpHandle {
  /** The MCP endpoint, with the port actually bound (port 0 picks one). */
  url: string;
  sessions(): number;
  /** New connections are refused and new requests answered 503; open responses continue. */
  stopAccepting(): void;
  /** Closes every session (aborting what still runs) and the listener. */
  close(): Promise<void>;
}

interface Session {
  server: McpServer;
  transport: StreamableHTTPServerTransport;
  /** HTTP requests still open on this session (an SSE stream counts): a session is idle only at 0. */
  open: number;
  lastSeen: number;
}

type Body = { ok: true; value: unknown } | { ok: false; status: number; code: number; message: string };

async function readBody(req: IncomingMessage): Promise<Body> {
  const declared = Number(req.headers['content-length'] ?? 0);
  const tooLarge: Body = { ok: false, status: 413, code: -32000, message: `request body over ${MAX_BODY_BYTES} bytes` };
  if (declared > MAX_BODY_BYTES) return tooLarge;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return tooLarge;
    chunks.push(chunk);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return { ok: false, status: 400, code: -32700, message: 'Parse error: the body is not JSON' };
  }
}

const isInitialize = (body: unknown): boolean => (Array.isArray(body) ? body.some(isInitializeRequest) : isInitializeRequest(body));

class HttpMcp {
  private readonly sessions = new Map<string, Session>();
  /** Stateless servers serving a request right now (closed when it ends, or at shutdown). */
  private readonly oneShot = new Set<McpServer>();
  private stopping = false;
  /** Refuses everything until the listener is bound: the loopback origins and hosts carry the real port. */
  guard: Guard = () => ({ status: 403, message: 'Forbidden: not ready' });

  constructor(private readonly ctx: ServerContext) {}

  count(): number {
    return this.sessions.size;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/healthz') return this.health(req, res);
    if (path !== '/mcp') return sendJson(res, 404, rpcError(-32000, 'Not found: the MCP endpoint is /mcp'));
    const refusal = this.guard(req);
    if (refusal) return sendJson(res, refusal.status, rpcError(-32000, refusal.message), refusal.headers);
    if (this.stopping) return sendJson(res, 503, rpcError(-32000, 'Service unavailable: the server is shutting down'));
    let body: unknown;
    if (req.method === 'POST') {
      const read = await readBody(req);
      if (!read.ok) return sendJson(res, read.status, rpcError(read.code, read.message), read.status === 413 ? { Connection: 'close' } : {});
      body = read.value;
    }
    if (this.ctx.config.http.stateless) return this.stateless(req, res, body);
    return this.stateful(req, res, body);
  }

  private health(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { status: 'error', message: 'GET /healthz' }, { Allow: 'GET, HEAD' });
    sendJson(res, this.stopping ? 503 : 200, { status: this.stopping ? 'stopping' : 'ok', version: VERSION });
  }

  private async stateful(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const id = req.headers['mcp-session-id'];
    if (typeof id === 'string') {
      const session = this.sessions.get(id);
      if (!session) return sendJson(res, 404, rpcError(-32001, 'Session not found: it ended or expired; initialize a new one'));
      return this.serve(session, req, res, body);
    }
    if (req.method !== 'POST' || !isInitialize(body)) {
      return sendJson(res, 400, rpcError(-32000, 'Bad Request: Mcp-Session-Id header is required (a session starts with initialize)'));
    }
    if (this.sessions.size >= MAX_SESSIONS) return sendJson(res, 503, rpcError(-32000, `Service unavailable: ${MAX_SESSIONS} sessions are open`));
    const session = await this.open();
    await this.serve(session, req, res, body);
    // An initialize the transport refused (bad version, batch) leaves a server without a session.
    if (session.transport.sessionId === undefined) await session.server.close().catch(() => undefined);
  }

  private async open(): Promise<Session> {
    const server = createServer(this.ctx);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        this.sessions.set(id, session);
        this.ctx.logger.debug({ session: id, sessions: this.sessions.size }, 'session opened');
      },
    });
    const session: Session = { server, transport, open: 0, lastSeen: Date.now() };
    // Set before connect: the protocol chains its own handler after this one.
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id !== undefined && this.sessions.get(id) === session) this.sessions.delete(id);
      this.ctx.logger.debug({ session: id }, 'session closed');
    };
    transport.onerror = (err) => this.ctx.logger.debug({ err: err.message }, 'http transport');
    await server.connect(transport);
    return session;
  }

  private async serve(session: Session, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    session.open++;
    session.lastSeen = Date.now();
    res.on('close', () => {
      session.open--;
      session.lastSeen = Date.now();
    });
    await session.transport.handleRequest(req, res, body);
  }

  private async stateless(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    // No session means no stream to push notifications on, and nothing to delete.
    if (req.method !== 'POST') return sendJson(res, 405, rpcError(-32000, 'Method not allowed: this server is stateless (POST only)'), { Allow: 'POST' });
    const server = createServer(this.ctx);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    transport.onerror = (err) => this.ctx.logger.debug({ err: err.message }, 'http transport');
    this.oneShot.add(server);
    res.on('close', () => {
      this.oneShot.delete(server);
      void server.close().catch(() => undefined);
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  /** Closes sessions without an open request for longer than the idle limit. */
  expire(now: number): void {
    const idle = this.ctx.config.http.session_idle_ms;
    for (const [id, s] of this.sessions) {
      if (s.open > 0 || now - s.lastSeen < idle) continue;
      this.ctx.logger.info({ session: id, idle_ms: now - s.lastSeen }, 'session expired');
      this.sessions.delete(id);
      void s.server.close().catch(() => undefined);
    }
  }

  stopAccepting(): void {
    this.stopping = true;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const servers = [...[...this.sessions.values()].map((s) => s.server), ...this.oneShot];
    this.sessions.clear();
    this.oneShot.clear();
    // Closing a server aborts its running calls' signals: their statements are cancelled.
    await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
  }
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startHttp(ctx: ServerContext): Promise<HttpHandle> {
  const { host, port } = ctx.config.http;
  const mcp = new HttpMcp(ctx);
  const server = createHttpServer((req, res) => {
    mcp.handle(req, res).catch((err: Error) => {
      ctx.logger.error({ err: err.message, stack: err.stack }, 'http request failed');
      if (!res.headersSent) sendJson(res, 500, rpcError(-32603, 'Internal error'));
      else res.end();
    });
  });
  const address = await listen(server, host, port);
  mcp.guard = createGuard(ctx.config.http, address.port);
  const sweep = setInterval(() => mcp.expire(Date.now()), Math.min(60_000, Math.max(250, ctx.config.http.session_idle_ms / 4)));
  sweep.unref();
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shown}:${address.port}/mcp`;
  let closed: Promise<void> | undefined;
  const stopAccepting = (): void => {
    mcp.stopAccepting();
    clearInterval(sweep);
    closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
  };
  return {
    url,
    sessions: () => mcp.count(),
    stopAccepting,
    async close() {
      stopAccepting();
      await mcp.stop();
      // Sessions' streams have ended: their sockets are idle now. Responses still being
      // written drain; a client that keeps a socket busy is cut after a second.
      server.closeIdleConnections();
      const cut = setTimeout(() => server.closeAllConnections(), 1000);
      await closed;
      clearTimeout(cut);
    },
  };
}
