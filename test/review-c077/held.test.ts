/**
 * What held under c077a59 (these pass): cancellation and progress of long calls over stdio
 * and HTTP through the SDK Client (which also validates each result against
 * CallToolResultSchema and the tool's outputSchema); tool names that are Object.prototype
 * members; prototype keys in params, arguments and _meta; tools/call before initialize.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as SdkClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, uniqueName } from '../support/backends.js';
import { httpServer, Raw, stdioClient } from './harness.js';

const TABLE = uniqueName('rc077');
const args = ['-c', `pg=${PG_URL}`];

async function longCallCancelled(client: Client): Promise<void> {
  const ac = new AbortController();
  const started = Date.now();
  const call = client.callTool({ name: 'execute_query', arguments: { connection: 'pg', query: 'SELECT pg_sleep(5) AS rc077_sleep' } }, undefined, { signal: ac.signal });
  setTimeout(() => ac.abort('review'), 400);
  await expect(call).rejects.toThrow();
  expect(Date.now() - started).toBeLessThan(2_000);
  // The statement is stopped on the server too, not left to run its 5 s.
  let active = 1;
  for (let i = 0; i < 20 && active > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const r = await client.callTool({ name: 'execute_query', arguments: { connection: 'pg', query: "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%AS rc077_sleep' AND state = 'active' AND pid <> pg_backend_pid()" } });
    active = (r.structuredContent as { rows: number[][] }).rows[0][0];
  }
  expect(active).toBe(0);
}

async function backupWithProgress(client: Client): Promise<void> {
  const seen: unknown[] = [];
  const r = await client.callTool({ name: 'create_backup', arguments: { connection: 'pg', tables: [TABLE] } }, undefined, { onprogress: (p) => { seen.push(p); }, timeout: 60_000 });
  expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
  expect(seen.length).toBeGreaterThan(0);
  expect((seen.at(-1) as { message?: string }).message).toMatch(/done, 2000 rows/);
}

describe('held: cancellation and progress, stdio and HTTP', () => {
  beforeAll(async () => {
    const { client, close } = await stdioClient(args);
    await client.callTool({ name: 'execute_query', arguments: { connection: 'pg', query: `CREATE TABLE ${TABLE} AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 2000) g` } });
    await close();
  }, 30_000);
  afterAll(async () => {
    const { client, close } = await stdioClient(args);
    await client.callTool({ name: 'execute_query', arguments: { connection: 'pg', query: `DROP TABLE IF EXISTS ${TABLE}` } });
    await close();
  }, 30_000);

  it('stdio', async () => {
    const { client, close } = await stdioClient(args);
    try {
      await longCallCancelled(client);
      await backupWithProgress(client);
    } finally { await close(); }
  }, 60_000);

  it('HTTP', async () => {
    const h = await httpServer(args);
    const client = new SdkClient({ name: 'rc077', version: '0' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(h.url)));
      await longCallCancelled(client);
      await backupWithProgress(client);
    } finally { await client.close(); await h.stop(); }
  }, 60_000);
});

describe('held: prototype names and keys, calls before initialize', () => {
  let s: Raw;
  beforeAll(() => { s = new Raw(['-c', 'db=sqlite::memory:']); });
  afterAll(async () => { await s.stop(); });

  it('answers tools/call before initialize as after it', async () => {
    const r = await s.request('tools/call', { name: 'execute_query', arguments: { connection: 'db', query: 'SELECT 1 AS one' } }, 20_000);
    expect(r?.result?.structuredContent?.rows).toEqual([[1]]);
    await s.initialize();
  }, 30_000);

  it('an Object.prototype member is an unknown tool (-32602)', async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
      const r = await s.request('tools/call', { name, arguments: {} });
      expect(r?.error?.code, name).toBe(-32602);
      expect(r?.error?.message).toContain(`Tool ${name} not found`);
    }
  });

  it('prototype keys in params, arguments and _meta are own data, never inherited', async () => {
    const id = 'proto';
    await s.line(`{"jsonrpc":"2.0","id":"${id}1","method":"tools/call","params":{"__proto__":{"name":"execute_query","arguments":{"connection":"db","query":"SELECT 1"}}}}`);
    expect((await s.answer(`${id}1`))?.error?.code).toBe(-32602);
    await s.line(`{"jsonrpc":"2.0","id":"${id}2","method":"tools/call","params":{"name":"execute_query","__proto__":{"arguments":{"connection":"db","query":"SELECT 1"}}}}`);
    const a2 = await s.answer(`${id}2`);
    expect(JSON.parse(a2?.result?.content?.[0]?.text).error.code).toBe('INVALID_INPUT');
    await s.line(`{"jsonrpc":"2.0","id":"${id}3","method":"tools/call","params":{"name":"execute_query","arguments":{"connection":"db","query":"SELECT 1","__proto__":{"x":1},"constructor":{"prototype":{"y":1}}}}}`);
    const a3 = await s.answer(`${id}3`);
    expect(JSON.parse(a3?.result?.content?.[0]?.text).error.details.unknown).toEqual(['__proto__', 'constructor']);
    await s.line(`{"jsonrpc":"2.0","id":"${id}4","method":"tools/call","params":{"name":"execute_query","arguments":{"connection":"db","query":"SELECT 4 AS four"},"_meta":{"__proto__":{"progressToken":"t"},"constructor":1}}}`);
    expect((await s.answer(`${id}4`))?.result?.structuredContent?.rows).toEqual([[4]]);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(s.alive()).toBe(true);
    expect(s.badLines).toEqual([]);
  });
});
