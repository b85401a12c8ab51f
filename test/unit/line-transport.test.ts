/**
 * The stdio transport's reading (src/stdio.ts): lines cut anywhere by the pipe, several in
 * one chunk, over the limit; and which messages go straight to the SDK's request handling
 * (isPlainRequest, mcp.ts directRequests) rather than through its dispatch.
 */
import { PassThrough } from 'node:stream';
import { Protocol } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { isPlainRequest, LineTransport } from '../../src/stdio.js';

interface Seen {
  messages: unknown[];
  errors: string[];
}

async function open(maxLine?: number): Promise<{ input: PassThrough; seen: Seen }> {
  const input = new PassThrough();
  const t = new LineTransport(input, new PassThrough(), maxLine);
  const seen: Seen = { messages: [], errors: [] };
  t.onmessage = (m: JSONRPCMessage) => seen.messages.push(m);
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
      expect(seen.messages).toEqual([request]);
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
    expect(seen.messages).toEqual([request]);
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
    expect(seen.messages).toEqual(lines);
  });

  it('drops a line over the limit, whether it ends in its first chunk or later, and reads the next', async () => {
    const small = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const long = `${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping', params: { pad: 'x'.repeat(200) } })}\n`;
    for (const chunks of [[long], [long.slice(0, 50), long.slice(50, 120), long.slice(120)], [long.slice(0, 150), long.slice(150)]]) {
      const { input, seen } = await open(128);
      feed(input, [...chunks, `${JSON.stringify(small)}\n`].map((c) => Buffer.from(c)));
      expect(seen.errors).toEqual(['a stdin line is longer than 128 bytes: dropped (up to its newline)']);
      expect(seen.messages).toEqual([small]);
    }
  });

  it('takes as plain requests only those the SDK would take as requests, and no response or notification', () => {
    const plain = [
      request,
      { jsonrpc: '2.0', id: 0, method: 'ping' },
      { jsonrpc: '2.0', id: '', method: 'tools/list', params: {} },
      { jsonrpc: '2.0', id: Number.MAX_SAFE_INTEGER, method: 'x', params: { _meta: {} } },
    ];
    const others = [
      { jsonrpc: '2.0', id: 1, result: {} },
      { jsonrpc: '2.0', id: 2, error: { code: -32601, message: 'no' } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } },
      // Shapes the quick check does not know: left to the SDK's schemas.
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'x', _meta: { progressToken: 1, other: true } } },
      { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'x', _meta: { progressToken: { a: 1 } } } },
      { jsonrpc: '2.0', id: 5, method: 'tools/call', extra: 1 },
      { jsonrpc: '2.0', id: 6, method: 'tools/call', params: [] },
      { jsonrpc: '2.0', id: 7, method: 'tools/call', params: null },
      { jsonrpc: '2.0', id: 8, method: 'tools/call', result: {} },
      { jsonrpc: '2.0', id: null, method: 'ping' },
      { jsonrpc: '2.0', id: 1.5, method: 'ping' },
      { jsonrpc: '2.0', id: 2 ** 53, method: 'ping' },
      { jsonrpc: '2.0', id: 9, method: 7 },
      { jsonrpc: '1.0', id: 10, method: 'ping' },
      { id: 11, method: 'ping' },
      [{ jsonrpc: '2.0', id: 12, method: 'ping' }],
      'ping',
      null,
    ];
    for (const m of plain) expect(isPlainRequest(m), JSON.stringify(m)).toBe(true);
    for (const m of others) expect(isPlainRequest(m), JSON.stringify(m)).toBe(false);
  });

  it("finds the SDK's request handling the server hands plain requests to (mcp.ts directRequests)", () => {
    // Without it every request still works, through the SDK's dispatch, but each costs more.
    expect(typeof (Protocol.prototype as unknown as { _onrequest?: unknown })._onrequest).toBe('function');
  });
});
