/**
 * The stdio transport's reading (src/stdio.ts): lines cut anywhere by the pipe, several in
 * one chunk, over the limit; and which messages go straight to the SDK's request handling
 * (onrequest) and which through its dispatch (onmessage).
 */
import { PassThrough } from 'node:stream';
import { Protocol } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { LineTransport } from '../../src/stdio.js';

interface Seen {
  requests: unknown[];
  messages: unknown[];
  errors: string[];
}

async function open(maxLine?: number, direct = true): Promise<{ input: PassThrough; seen: Seen }> {
  const input = new PassThrough();
  const t = new LineTransport(input, new PassThrough(), maxLine);
  const seen: Seen = { requests: [], messages: [], errors: [] };
  t.onmessage = (m: JSONRPCMessage) => seen.messages.push(m);
  if (direct) t.onrequest = (r) => seen.requests.push(r);
  t.onerror = (e) => seen.errors.push(e.message);
  await t.start();
  return { input, seen };
}

/** Writes each chunk as its own 'data' event. */
const feed = (input: PassThrough, chunks: Buffer[]): void => {
  for (const c of chunks) input.emit('data', c);
};

const request = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'execute_query', arguments: { query: "SELECT 'é, ☃ and 🐜'" }, _meta: { progressToken: 'p' } } };

describe('LineTransport', () => {
  it('reads a request cut at every byte, multi-byte characters included', async () => {
    const bytes = Buffer.from(`${JSON.stringify(request)}\n`);
    for (let cut = 1; cut < bytes.length; cut++) {
      const { input, seen } = await open();
      feed(input, [bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(seen.errors).toEqual([]);
      expect(seen.requests).toEqual([request]);
    }
  });

  it('reads a request sent a byte at a time, and keeps its bytes when the stream reuses a chunk', async () => {
    const { input, seen } = await open();
    const bytes = Buffer.from(`${JSON.stringify(request)}\r\n`);
    const scratch = Buffer.alloc(1);
    for (const b of bytes) {
      scratch[0] = b;
      feed(input, [scratch]);
      scratch[0] = 0x41; // the stream's buffer, written over after the event
    }
    expect(seen.errors).toEqual([]);
    expect(seen.requests).toEqual([request]);
  });

  it('reads several messages in one chunk, skipping empty lines, in order', async () => {
    const { input, seen } = await open();
    const lines = [
      { jsonrpc: '2.0', id: 1, method: 'ping' },
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } },
      { jsonrpc: '2.0', id: 'x', method: 'tools/list', params: {} },
    ];
    feed(input, [Buffer.from(`\n${lines.map((l) => JSON.stringify(l)).join('\r\n\n')}\n`)]);
    expect(seen.errors).toEqual([]);
    expect(seen.requests).toEqual([lines[0], lines[2]]);
    expect(seen.messages).toEqual([lines[1]]);
  });

  it('gives the SDK dispatch every message that is not a request in the common shape', async () => {
    const { input, seen } = await open();
    const others = [
      { jsonrpc: '2.0', id: 1, result: {} },
      { jsonrpc: '2.0', id: 2, error: { code: -32601, message: 'no' } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      // Requests of a shape the fast check does not know: the SDK's schemas decide.
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'x', _meta: { progressToken: 1, other: true } } },
      { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'x', task: { ttl: 1000 } }, extra: 1 },
    ];
    feed(input, others.map((o) => Buffer.from(`${JSON.stringify(o)}\n`)));
    expect(seen.requests).toEqual([]);
    // The last is no JSON-RPC message (an unknown top-level key on a request): refused, not delivered.
    expect(seen.messages).toEqual(others.slice(0, 4));
    expect(seen.errors).toHaveLength(1);
  });

  it('without onrequest, requests go through onmessage as before', async () => {
    const { input, seen } = await open(undefined, false);
    feed(input, [Buffer.from(`${JSON.stringify(request)}\n`)]);
    expect(seen.messages).toEqual([request]);
  });

  it('drops a line over the limit, whether it ends in its first chunk or later, and reads the next', async () => {
    const small = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const long = `${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping', params: { pad: 'x'.repeat(200) } })}\n`;
    for (const chunks of [[long], [long.slice(0, 50), long.slice(50, 120), long.slice(120)], [long.slice(0, 150), long.slice(150)]]) {
      const { input, seen } = await open(128);
      feed(input, [...chunks, `${JSON.stringify(small)}\n`].map((c) => Buffer.from(c)));
      expect(seen.errors).toEqual(['a stdin line is longer than 128 bytes: dropped (up to its newline)']);
      expect(seen.requests).toEqual([small]);
    }
  });

  it("finds the SDK's request handling the server hands direct requests to (mcp.ts requestDispatch)", () => {
    // Without it every request still works, through the SDK's dispatch, but each costs more.
    expect(typeof (Protocol.prototype as unknown as { _onrequest?: unknown })._onrequest).toBe('function');
  });
});
