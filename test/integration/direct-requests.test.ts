/**
 * Plain requests skip the SDK's dispatch checks (mcp.ts directRequests) on every transport
 * the server connects to. What the SDK's dispatch did for them must still happen: a handler
 * the transport had before connecting sees each message, requests of other shapes answer
 * the same, and a cancelled call stops.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { CallToolResultSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import pino from 'pino';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type ServerContext } from '../../src/context.js';
import { createServer } from '../../src/mcp.js';
import { tempDir } from '../support/backends.js';
import { testConfig } from '../support/mcp.js';

describe('plain requests straight to the SDK request handling', () => {
  let ctx: ServerContext;
  let client: Client;
  let serverSide: InMemoryTransport;
  const seen: JSONRPCMessage[] = [];

  beforeAll(async () => {
    ctx = createContext(testConfig({ db: { url: `sqlite://${join(tempDir('cmx-direct-'), 'd.db')}` } }), { logger: pino({ level: 'silent' }) });
    const server = createServer(ctx);
    let clientSide: InMemoryTransport;
    [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    serverSide.onmessage = (m) => seen.push(m);
    client = new Client({ name: 'direct-test', version: '0' });
    await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  });

  afterAll(async () => {
    await client.close();
    await ctx.registry.closeAll();
    await ctx.queryLog.close();
  });

  it("gives the transport's own handler every request, as the SDK's dispatch did", async () => {
    const before = seen.length;
    const r = await client.callTool({ name: 'execute_query', arguments: { query: 'SELECT 7 AS n' } });
    expect(r.isError).toBeFalsy();
    expect(seen.slice(before).map((m) => ('method' in m ? m.method : null))).toEqual(['tools/call']);
  });

  it('answers a request whose _meta holds more than a progress token (the SDK dispatch path) as it answers a plain one', async () => {
    const plain = await client.request({ method: 'tools/call', params: { name: 'execute_query', arguments: { query: "SELECT 'x' AS s" } } }, CallToolResultSchema);
    const other = await client.request({ method: 'tools/call', params: { name: 'execute_query', arguments: { query: "SELECT 'x' AS s" }, _meta: { 'example.com/trace': 'abc' } } }, CallToolResultSchema);
    const rows = (r: typeof plain) => (r.structuredContent as { rows: unknown[][] }).rows;
    expect(rows(plain)).toEqual([['x']]);
    expect(rows(other)).toEqual(rows(plain));
    expect(plain.content[0]).toEqual({ ...other.content[0], text: expect.any(String) });
  });

  it('stops a cancelled call', async () => {
    const abort = new AbortController();
    // Runs until cancelled (or its 60 s timeout): a recursive count that never ends.
    const call = client.callTool(
      { name: 'execute_query', arguments: { query: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c', timeout_ms: 60_000 } },
      undefined,
      { signal: abort.signal },
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(ctx.calls.running()).toBe(1);
    abort.abort();
    await expect(call).rejects.toThrow();
    const started = Date.now();
    while (ctx.calls.running() > 0 && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 20));
    expect(ctx.calls.running()).toBe(0);
    // The connection serves the next call.
    const next = await client.callTool({ name: 'execute_query', arguments: { query: 'SELECT 1 AS one' } });
    expect(next.isError).toBeFalsy();
  });
});
