/**
 * The built server over Streamable HTTP, as a child process on a free port:
 * sessions (issued, ended by DELETE, unknown, expired), stateless mode, the
 * guard (Origin 403, Host 403, token 401), /healthz, limits, and the MCP
 * features (prompts, logging, resource updates across sessions) over real SDK clients.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { BACKENDS, tempDir } from '../support/backends.js';
import { httpClient, INITIALIZE, raw, startHttpServer, type HttpServer } from '../support/http.js';
import { callTool, mustCall, SERVER_JS, rowsOf } from '../support/mcp.js';

const TOKEN = 'test-token-0123456789abcdef';

/** Every backend's connection for the stateful server: the same calls work over HTTP on each. */
const connectionFlags = (): string[] => BACKENDS.flatMap((b) => ['--connection', `${b.name}=${b.url()}`]);

function writeConfig(value: unknown): string {
  const file = join(tempDir('cmx-http-cfg-'), 'config.json');
  writeFileSync(file, JSON.stringify(value));
  return file;
}

describe('a stateful HTTP server', () => {
  let s: HttpServer;
  const migrations = tempDir('cmx-http-mig-');

  beforeAll(async () => {
    const config = writeConfig({ connections: { lite: { url: `sqlite://${tempDir()}/http.db`, migrations_dir: migrations } }, http: { allowed_origins: ['https://app.example'], session_idle_ms: 1000 } });
    s = await startHttpServer(['--config', config, ...connectionFlags()]);
  });
  afterAll(async () => {
    expect(await s.stop()).toBe(0);
  });

  it('issues a session, serves tools on every backend, and ends the session on DELETE', async () => {
    const { client, transport } = await httpClient(s.url);
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await client.listTools()).tools.length).toBe(21);
    for (const b of BACKENDS) {
      const r = await mustCall(client, 'execute_query', { connection: b.name, query: 'SELECT 1 AS one' });
      expect(rowsOf(r)).toEqual([{ one: 1 }]);
    }
    const other = await httpClient(s.url);
    expect(other.transport.sessionId).not.toBe(transport.sessionId);
    await other.client.close();
    const id = transport.sessionId as string;
    await transport.terminateSession();
    const after = await raw(s.url, { body: { jsonrpc: '2.0', id: 2, method: 'tools/list' }, headers: { 'mcp-session-id': id } });
    expect(after.status).toBe(404);
    expect(after.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32001, message: expect.stringMatching(/Session not found/) } });
    await client.close();
  });

  it('answers JSON-RPC errors for unknown sessions, missing sessions, bad bodies and paths', async () => {
    const unknown = await raw(s.url, { body: { jsonrpc: '2.0', id: 1, method: 'ping' }, headers: { 'mcp-session-id': 'no-such-session' } });
    expect([unknown.status, unknown.json().error?.code]).toEqual([404, -32001]);
    const missing = await raw(s.url, { body: { jsonrpc: '2.0', id: 1, method: 'ping' } });
    expect([missing.status, missing.json().error?.code]).toEqual([400, -32000]);
    const garbage = await raw(s.url, { body: '{"jsonrpc": "2.0", ' });
    expect([garbage.status, garbage.json().error?.code]).toEqual([400, -32700]);
    const huge = await raw(s.url, { body: `{"x": "${'a'.repeat(11 * 1024 * 1024)}"}` });
    expect(huge.status).toBe(413);
    const elsewhere = await raw(s.url.replace('/mcp', '/other'), { body: INITIALIZE });
    expect(elsewhere.status).toBe(404);
  });

  it('refuses a foreign Origin or Host with 403 before anything else, and accepts loopback and configured origins', async () => {
    const evil = await raw(s.url, { body: INITIALIZE, headers: { origin: 'http://evil.example' } });
    expect(evil.status).toBe(403);
    expect(evil.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32000, message: expect.stringMatching(/Origin/) } });
    const rebinding = await raw(s.url, { body: INITIALIZE, headers: { host: 'evil.example:80' } });
    expect(rebinding.status).toBe(403);
    // The refusal names the Host it saw and the setting that would admit it (a balancer in front sends its own).
    expect(rebinding.json().error?.message).toMatch(/Host "evil\.example:80" is not allowed.*http\.allowed_hosts/);
    const port = new URL(s.url).port;
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, 'https://app.example']) {
      const ok = await raw(s.url, { body: INITIALIZE, headers: { origin } });
      expect(ok.status, origin).toBe(200);
      expect(ok.headers['mcp-session-id']).toBeTruthy();
    }
    const otherPort = await raw(s.url, { body: INITIALIZE, headers: { origin: 'http://127.0.0.1:1' } });
    expect(otherPort.status).toBe(403);
  });

  it('expires a session idle past session_idle_ms', async () => {
    const init = await raw(s.url, { body: INITIALIZE });
    const id = String(init.headers['mcp-session-id']);
    const headers = { 'mcp-session-id': id };
    expect((await raw(s.url, { body: { jsonrpc: '2.0', id: 2, method: 'ping' }, headers })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    expect((await raw(s.url, { body: { jsonrpc: '2.0', id: 3, method: 'ping' }, headers })).status).toBe(404);
    expect(s.stderr()).toMatch(/"msg":"session expired"/);
  });

  it('serves /healthz for orchestrators', async () => {
    const r = await raw(s.url.replace('/mcp', '/healthz'));
    expect([r.status, r.json()]).toEqual([200, { status: 'ok', version: VERSION }]);
  });

  it('serves prompts and progress, honours logging/setLevel and tells one session what another changed', async () => {
    const a = await httpClient(s.url);
    const b = await httpClient(s.url);
    try {
      const prompt = await a.client.getPrompt({ name: 'plan_migration', arguments: { connection: 'lite', change: 'add a table' } });
      expect((prompt.messages[0].content as { text: string }).text).toMatch(/get_migration_status/);
      const logs: unknown[] = [];
      const updates: string[] = [];
      b.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { logs.push(n.params.data); });
      b.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { updates.push(n.params.uri); });
      await b.client.setLoggingLevel('notice');
      await b.client.subscribeResource({ uri: 'migrations://lite/status' });
      await mustCall(a.client, 'create_migration', { connection: 'lite', name: 'over_http', up: 'CREATE TABLE over_http (a integer)', down: 'DROP TABLE over_http' });
      // Progress travels on the request's own stream.
      const progress: number[] = [];
      const run = await a.client.callTool({ name: 'run_migration', arguments: { connection: 'lite' } }, undefined, { onprogress: (p) => { progress.push(p.progress); } });
      expect(run.isError).toBeFalsy();
      expect(progress.length).toBeGreaterThan(0);
      for (let i = 0; i < 50 && logs.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(logs).toEqual([expect.objectContaining({ event: 'migrations_applied', connection: 'lite', count: 1 })]);
      expect(updates).toEqual(['migrations://lite/status', 'migrations://lite/status']);
    } finally {
      await a.client.close();
      await b.client.close();
    }
  });

  it('tells a subscriber of schema://{connection}/{table} in one session about alter_table in another', async () => {
    const a = await httpClient(s.url);
    const b = await httpClient(s.url);
    try {
      await mustCall(a.client, 'create_table', { connection: 'lite', schema: { table: 'watched', columns: [{ name: 'id', type: 'integer', primary_key: true }] } });
      const updates: string[] = [];
      b.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { updates.push(n.params.uri); });
      await b.client.subscribeResource({ uri: 'schema://lite/watched' });
      await b.client.subscribeResource({ uri: 'schema://lite/other' });
      await mustCall(a.client, 'alter_table', { connection: 'lite', table: 'watched', changes: { add_columns: [{ name: 'note', type: 'text' }] } });
      for (let i = 0; i < 50 && updates.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(updates).toEqual(['schema://lite/watched']);
      const read = await b.client.readResource({ uri: 'schema://lite/watched' });
      expect(JSON.parse((read.contents[0] as { text: string }).text).table.columns.map((c: { name: string }) => c.name)).toEqual(['id', 'note']);
    } finally {
      await a.client.close();
      await b.client.close();
    }
  });
});

describe('a stateless HTTP server', () => {
  let s: HttpServer;
  beforeAll(async () => { s = await startHttpServer(['--stateless', '--allow-runtime-connections', '--connection', 'lite=sqlite::memory:']); });
  afterAll(async () => { expect(await s.stop()).toBe(0); });

  it('serves every POST with a fresh server and issues no session', async () => {
    const { client, transport } = await httpClient(s.url);
    expect(transport.sessionId).toBeUndefined();
    expect((await client.listTools()).tools.length).toBe(21);
    expect(rowsOf(await mustCall(client, 'execute_query', { query: 'SELECT 2 AS two' }))).toEqual([{ two: 2 }]);
    await client.close();
    const init = await raw(s.url, { body: INITIALIZE });
    expect(init.status).toBe(200);
    expect(init.headers['mcp-session-id']).toBeUndefined();
    // No initialize needed first: any instance behind a load balancer can answer any request.
    const direct = await raw(s.url, { body: { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'execute_query', arguments: { query: 'SELECT 3 AS three' } } } });
    expect(direct.json().result?.structuredContent).toMatchObject({ columns: [{ name: 'three' }], rows: [[3]] });
    for (const method of ['GET', 'DELETE']) {
      const r = await raw(s.url, { method });
      expect([method, r.status, r.headers.allow]).toEqual([method, 405, 'POST']);
    }
  });

  it('refuses runtime connections, which one instance alone would know, even with --allow-runtime-connections', async () => {
    const { client } = await httpClient(s.url);
    const listed = (await client.listTools()).tools.find((t) => t.name === 'get_connection');
    expect(Object.keys(listed?.inputSchema.properties ?? {})).not.toContain('url');
    const r = await callTool(client, 'get_connection', { connection: 'extra', url: 'sqlite::memory:' });
    if (r.ok) throw new Error('get_connection {url} was accepted');
    expect(r.error).toMatchObject({ code: 'UNSUPPORTED', details: { cause: 'stateless' } });
    expect(r.error?.message).toMatch(/stateless.*configure the connection on every instance.*sticky on Mcp-Session-Id/);
    expect((await mustCall(client, 'list_connections')).connections).toEqual([expect.objectContaining({ name: 'lite' })]);
    await client.close();
    expect(s.stderr()).toMatch(/"level":"warn".*--allow-runtime-connections has no effect with --stateless/);
  });
});

describe('an HTTP server with a token', () => {
  let s: HttpServer;
  beforeAll(async () => {
    s = await startHttpServer(['--connection', 'lite=sqlite::memory:', '--log-level', 'debug', '--tools', 'queries'], { CODOMYRMEX_DB_HTTP_TOKEN: TOKEN });
  });
  afterAll(async () => { expect(await s.stop()).toBe(0); });

  it('answers 401 to a missing or wrong token and serves the right one', async () => {
    const missing = await raw(s.url, { body: INITIALIZE });
    expect([missing.status, missing.headers['www-authenticate'], missing.json().error?.code]).toEqual([401, 'Bearer realm="codomyrmex-db"', -32000]);
    for (const auth of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`, TOKEN]) {
      expect((await raw(s.url, { body: INITIALIZE, headers: { authorization: auth } })).status, auth).toBe(401);
    }
    const { client } = await httpClient(s.url, { Authorization: `Bearer ${TOKEN}` });
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['get_connection', 'list_connections', 'close_connection', 'execute_query', 'execute_transaction']);
    const r = await callTool(client, 'execute_query', { query: `SELECT '${TOKEN}' AS echoed` });
    expect(r.ok).toBe(true);
    await client.close();
    // The token is a secret: debug logging never prints it (the echoed row is the client's own data).
    expect(s.stderr()).not.toContain(TOKEN);
  });

  it('keeps /healthz open without the token', async () => {
    expect((await raw(s.url.replace('/mcp', '/healthz'))).status).toBe(200);
  });
});

describe('HTTP configuration errors', () => {
  it('refuses to listen beyond loopback without a token, with exit code 2', () => {
    const r = spawnSync(process.execPath, [SERVER_JS, '--transport', 'http', '--host', '0.0.0.0', '--port', '0'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: '/tmp' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/refusing to serve HTTP on 0\.0\.0\.0 without a token/);
  });

  it('refuses an unknown --tools name before listening, with exit code 2', () => {
    const r = spawnSync(process.execPath, [SERVER_JS, '--transport', 'http', '--port', '0', '--tools', 'queries,backups'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: '/tmp' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/"backups" is neither a manager/);
  });
});
