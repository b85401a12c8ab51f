/**
 * What every /mcp request must pass before the SDK sees it: an Origin we
 * serve (browsers send one; a page on another site gets 403, as MCP requires),
 * a Host we serve when bound to loopback (DNS rebinding), and the bearer token
 * when one is configured (compared in constant time).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLoopbackHost, type HttpConfig } from './config.js';

export interface Refusal {
  status: 401 | 403;
  message: string;
  headers?: Record<string, string>;
}

export type Guard = (req: IncomingMessage) => Refusal | null;

export function rpcError(code: number, message: string): object {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}

export function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Equal-length digests, so neither the comparison time nor an early length check says anything about the token. */
function tokenMatches(header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return m !== null && timingSafeEqual(digest(m[1]), expected);
}

/** The loopback names a local client (or the conformance suite) uses for this port. */
function loopbackNames(port: number): string[] {
  const names = ['127.0.0.1', 'localhost', '[::1]'];
  return port === 80 ? [...names, ...names.map((n) => `${n}:80`)] : names.map((n) => `${n}:${port}`);
}

/**
 * Names the refused Host and the setting that admits it: behind a balancer or a proxy on
 * this machine, the Host is the balancer's address, which only `http.allowed_hosts` admits.
 */
function hostRefusal(host: string, loopback: boolean): Refusal {
  const shown = host === '' ? 'no Host header' : `Host ${JSON.stringify(host.slice(0, 200))}`;
  const why = loopback ? 'this server is bound to loopback and accepts only its own address' : 'it is not in http.allowed_hosts';
  return { status: 403, message: `Forbidden: ${shown} is not allowed (${why}); add the name clients use, with its port, to http.allowed_hosts in the config file (a balancer or proxy in front sends its own address)` };
}

export function createGuard(http: HttpConfig, port: number): Guard {
  const loopback = isLoopbackHost(http.host);
  const local = loopback ? loopbackNames(port) : [];
  const origins = new Set([...local.map((h) => `http://${h}`), ...http.allowed_origins].map((o) => o.toLowerCase()));
  const hosts = new Set([...local, ...http.allowed_hosts].map((h) => h.toLowerCase()));
  // Exposed on a network, any Host may be legitimate (the token guards); configured hosts still narrow it.
  const checkHost = loopback || http.allowed_hosts.length > 0;
  const expected = http.token === undefined ? null : digest(http.token);
  return (req) => {
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.has(origin.toLowerCase())) {
      return { status: 403, message: `Forbidden: Origin ${origin.slice(0, 200)} is not allowed` };
    }
    const host = req.headers.host ?? '';
    if (checkHost && !hosts.has(host.toLowerCase())) return hostRefusal(host, loopback);
    if (expected && !tokenMatches(req.headers.authorization, expected)) {
      return { status: 401, message: 'Unauthorized: a valid bearer token is required', headers: { 'WWW-Authenticate': 'Bearer realm="codomyrmex-db"' } };
    }
    return null;
  };
}
