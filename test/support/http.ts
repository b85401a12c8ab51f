/**
 * The built server as a child process over Streamable HTTP on a free port
 * (--port 0; the `listening` log line gives the endpoint), SDK clients for it,
 * and raw requests for what an SDK client never sends (bad Origin, Host, token).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { request } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { tempDir } from './backends.js';
import { SERVER_JS } from './mcp.js';

export interface HttpServer {
  /** http://127.0.0.1:<port>/mcp */
  url: string;
  child: ChildProcessWithoutNullStreams;
  stderr(): string;
  /** Sends the signal and resolves with the exit code (null if killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startHttpServer(args: string[], env: Record<string, string> = {}): Promise<HttpServer> {
  const child = spawn(process.execPath, [SERVER_JS, '--transport', 'http', '--port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', XDG_DATA_HOME: tempDir('cmx-data-'), ...env },
  });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no endpoint logged:\n${log}`)), 15_000);
    const look = (): void => {
      const m = /"endpoint":"([^"]+)"/.exec(log);
      if (m) { clearTimeout(timer); child.stderr.off('data', look); resolve(m[1]); }
    };
    child.stderr.on('data', look);
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}:\n${log}`)); });
  });
  return {
    url,
    child,
    stderr: () => log,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function httpClient(url: string, headers: Record<string, string> = {}): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  const client = new Client({ name: 'codomyrmex-test', version: '0.0.0' });
  await client.connect(transport);
  return { client, transport };
}

export const INITIALIZE = {
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The JSON body, or the first `data:` message of an SSE body. */
  json(): { jsonrpc?: string; id?: unknown; result?: Record<string, unknown>; error?: { code: number; message: string } } & Record<string, unknown>;
}

/** One request through node:http, which (unlike fetch) lets a test set any Host header. */
export function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<RawResponse> {
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const headers = {
    ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    accept: 'application/json, text/event-stream',
    ...options.headers,
  };
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        text,
        json() {
          const data = /^data: (.*)$/m.exec(text);
          return JSON.parse(data ? data[1] : text);
        },
      }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}
