/**
 * F3 (not new in c077a59, but the code that drops them is now ours: src/stdio.ts readMessage).
 * A tools/call with a valid id whose _meta the SDK's request schema refuses (progressToken
 * null, 1.5 or true; _meta null; a related-task id that is not a string), or a request that
 * also carries `result`, gets no answer at all on stdio: readMessage lets it through, the
 * Protocol sends it to onerror, the server logs "message dropped". The client waits for its
 * own timeout (60 s in the SDK). Over HTTP the same body is answered at once (400, -32700).
 * JSON-RPC 2.0: a request that is not valid gets an Invalid Request error (-32600),
 * with its id when the id can be read.
 */
import { describe, expect, it } from 'vitest';
import { httpServer, rawServerPerSuite, type Json } from './harness.js';

const args = { connection: 'db', query: 'SELECT 1 AS one' };
const BAD: Array<[string, (id: number) => Json]> = [
  ['progressToken null', (id) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'execute_query', arguments: args, _meta: { progressToken: null } } })],
  ['progressToken 1.5', (id) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'execute_query', arguments: args, _meta: { progressToken: 1.5 } } })],
  ['progressToken true', (id) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'execute_query', arguments: args, _meta: { progressToken: true } } })],
  ['_meta null', (id) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'execute_query', arguments: args, _meta: null } })],
  ['related-task taskId 5', (id) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'execute_query', arguments: args, _meta: { 'io.modelcontextprotocol/related-task': { taskId: 5 } } } })],
  ['request and response at once', (id) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'execute_query', arguments: args }, result: {} })],
];

describe('F3: a tools/call with a readable id is answered, never dropped in silence', () => {
  const server = rawServerPerSuite();

  it.each(BAD.map(([label, make], i) => [label, make, 9000 + i] as const))('stdio: %s gets a JSON-RPC error with its id', async (_label, make, id) => {
    const s = server();
    await s.line(make(id));
    const a = await s.answer(id, 2_000);
    expect(a?.error?.code, JSON.stringify(a)).toBe(-32600);
    expect(s.alive()).toBe(true);
    expect(s.badLines).toEqual([]);
  });

  it('HTTP answers the same bodies at once (the transport parses them), so only stdio stalls', async () => {
    const h = await httpServer(['-c', 'db=sqlite::memory:', '--stateless']);
    try {
      for (const [label, make] of BAD) {
        const res = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(make(1)) });
        expect(res.status, label).toBe(400);
      }
    } finally { await h.stop(); }
  }, 30_000);
});
