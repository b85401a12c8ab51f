/**
 * What held in the review of 9f1567e + 942adb9 (plain requests go straight to the SDK
 * Protocol's _onrequest, mcp.ts directRequests; stdio decodes a whole line without a copy).
 *
 * 1. isPlainRequest (src/stdio.ts) takes nothing the SDK's own dispatch would not take as a
 *    request: checked on JSON lines of every odd shape and on in-process objects (the
 *    in-memory transport hands the client's objects over as they are). Run this after an
 *    SDK upgrade: a stricter request schema there would show up here first.
 * 2. The same raw stdin bytes give the same stdout whether a server's messages go through
 *    directRequests (McpServer.connect, as the server does) or through the SDK's dispatch
 *    alone (the Protocol's own connect, bypassing the wrapper, as 20da093 did). Same server
 *    code, same LineTransport, in-process: only the dispatch differs.
 */
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { isJSONRPCErrorResponse, isJSONRPCRequest, isJSONRPCResultResponse } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.js';
import { createServer } from '../../src/mcp.js';
import { isPlainRequest, LineTransport } from '../../src/stdio.js';
import { testConfig } from '../support/mcp.js';

const INIT = '{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"review","version":"0"}}}';

/** Raw lines (no newline): ids, methods, params, _meta, extra keys, responses, notifications. */
function corpus(): string[] {
  const L: string[] = ['{"jsonrpc":"2.0","id":"pre","method":"tools/list"}', INIT, '{"jsonrpc":"2.0","method":"notifications/initialized"}'];
  let k = 0;
  const ids = ['1', '""', '"a"', '-1', '0', '-0', '1.0', '1.5', '1e3', '1e400', '9007199254740991', '9007199254740992', '-9007199254740991', 'null', 'true', '[]', '{}', '"__proto__"', '"constructor"', '123456789012345678901234567890'];
  for (const id of ids) {
    L.push(`{"jsonrpc":"2.0","id":${id},"method":"ping"}`);
    L.push(`{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"execute_query","arguments":{"query":"SELECT ${k++} AS v"}}}`);
  }
  const methods = ['""', '"unknown/x"', '1', 'null', '"__proto__"', '"constructor"', '"toString"', '"hasOwnProperty"', '"PING"', '"notifications/cancelled"', '"initialize"', '"logging/setLevel"', '"completion/complete"', '"resources/read"', '"tasks/get"', '"tasks/list"', '"tasks/cancel"', '"sampling/createMessage"'];
  for (const m of methods) {
    L.push(`{"jsonrpc":"2.0","id":"m${k++}","method":${m}}`);
    L.push(`{"jsonrpc":"2.0","id":"m${k++}","method":${m},"params":{}}`);
  }
  const params = ['null', '[]', '"s"', '1', '{}', '{"_meta":{}}', '{"_meta":null}', '{"_meta":{"progressToken":null}}', '{"_meta":{"progressToken":1.5}}', '{"_meta":{"progressToken":"t"}}', '{"_meta":{"progressToken":7,"x":1}}', '{"_meta":{"__proto__":{"progressToken":5}}}', '{"__proto__":{"_meta":{"progressToken":5}}}', '{"_meta":{"constructor":1}}', '{"_meta":{"progressToken":{}}}', '{"_meta":[]}', '{"_meta":{"progressToken":9007199254740992}}', '{"_meta":{"io.modelcontextprotocol/related-task":{"taskId":"x"}}}', '{"_meta":{"io.modelcontextprotocol/related-task":{"taskId":5}}}', '{"task":{}}', '{"task":5}', '{"name":"execute_query","arguments":{"query":"SELECT 1"},"task":{"ttl":5}}', '{"name":"execute_query","arguments":{"query":"SELECT 2"},"_meta":{"progressToken":0}}'];
  for (const p of params) {
    for (const method of ['ping', 'tools/list', 'tools/call']) L.push(`{"jsonrpc":"2.0","id":"p${k++}","method":"${method}","params":${p}}`);
  }
  for (const extra of ['"x":1', '"result":{}', '"error":{"code":1,"message":"m"}', '"__proto__":{}', '"constructor":1']) L.push(`{"jsonrpc":"2.0","id":"e${k++}","method":"ping",${extra}}`);
  L.push('{"jsonrpc":"2.0","id":5,"result":{}}', '{"jsonrpc":"2.0","id":"zz","error":{"code":-1,"message":"x"}}', '{"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"x"}}');
  L.push('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"nope"}}', '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}', '{"jsonrpc":"2.0","method":"nonexistent"}');
  for (const v of ['"1.0"', '2', 'null']) L.push(`{"jsonrpc":${v},"id":"v${k++}","method":"ping"}`);
  L.push('\uFEFF{"jsonrpc":"2.0","id":"bom","method":"ping"}', '{"jsonrpc":"2.0","id":"crlf","method":"ping"}\r', '{"jsonrpc":"2.0","id":"nul\\u0000\u2028\u2029","method":"ping"}', '{"jsonrpc":"2.0","id":"lone\\ud800","method":"ping"}');
  L.push('{"jsonrpc":"2.0","id":"dupkey","id":"dup2","method":"ping"}', '[{"jsonrpc":"2.0","id":"batch","method":"ping"}]', '"str"', 'null', '{}', '');
  L.push(`{"jsonrpc":"2.0","id":"deep","method":"tools/call","params":{"name":"execute_query","arguments":{"query":"SELECT 1","x":${'['.repeat(5000)}${']'.repeat(5000)}}}}`);
  return L;
}

describe('held: isPlainRequest only takes what the SDK dispatch takes as a request', () => {
  const sdkRequest = (m: unknown): boolean => !isJSONRPCResultResponse(m) && !isJSONRPCErrorResponse(m) && isJSONRPCRequest(m);

  it('on every corpus line', () => {
    let plain = 0;
    for (const line of corpus()) {
      let m: unknown;
      try { m = JSON.parse(line.replace(/^\uFEFF/, '')); } catch { continue; }
      if (isPlainRequest(m)) {
        plain++;
        expect(sdkRequest(m), line.slice(0, 200)).toBe(true);
      }
    }
    expect(plain).toBeGreaterThan(50);
  });

  it('on in-process objects JSON cannot express (the in-memory transport passes them as they are)', () => {
    class Holder { constructor(public progressToken?: unknown) {} }
    const ids: unknown[] = [1, 0, -0, 1.5, NaN, Infinity, 2 ** 53, 'x', '', null, undefined, true, 1n, [], {}, new Date(), new String('s'), new Number(1)];
    const metas: unknown[] = [undefined, null, {}, { progressToken: 1 }, { progressToken: undefined }, { progressToken: NaN }, { progressToken: 1n }, { progressToken: new String('x') }, new Holder(1), new Holder(undefined), Object.create(null), Object.assign(Object.create(null), { progressToken: 'a' }), Object.create({ progressToken: 1.5 }), Object.create({ extra: 1 }), new Date(), new Map(), [], 'str', { progressToken: 'a', extra: undefined }];
    const paramsFor = (meta: unknown): unknown[] => [undefined, null, {}, { _meta: meta }, Object.assign(Object.create(null), { _meta: meta }), Object.create({ _meta: meta }), new Date(), new Map(), [], 'p', Object.assign(new Date(), { _meta: meta })];
    const diverging: string[] = [];
    for (const id of ids) for (const meta of metas) for (const params of paramsFor(meta)) for (const method of ['ping', 1, undefined, new String('ping')]) {
      const shapes: Array<Record<string, unknown>> = [
        { jsonrpc: '2.0', id, method, params },
        Object.assign(Object.create({ jsonrpc: '2.0' }), { id, method, params }),
        Object.assign(Object.create(null), { jsonrpc: '2.0', id, method, params }),
        Object.defineProperty({ jsonrpc: '2.0', id, method, params }, 'hidden', { value: 1, enumerable: false }),
      ];
      for (const m of shapes) {
        let plain = false;
        try { plain = isPlainRequest(m); } catch { /* a throw is not a yes */ }
        if (plain && !sdkRequest(m)) diverging.push(`id=${String(id)} method=${String(method)} params=${Object.prototype.toString.call(params)}`);
      }
    }
    expect(diverging).toEqual([]);
  });
});

/** A server on its own in-memory SQLite context whose stdin/stdout are streams here. */
async function lineServer(direct: boolean): Promise<{ input: PassThrough; out: () => string; busy: () => number; close(): Promise<void> }> {
  const ctx = createContext(testConfig({ db: { url: 'sqlite::memory:' } }), { logger: pino({ level: 'silent' }) });
  const server = createServer(ctx);
  const input = new PassThrough();
  const output = new PassThrough();
  let out = '';
  output.on('data', (d: Buffer) => { out += d.toString('utf8'); });
  const transport = new LineTransport(input, output);
  // direct: as the server connects (through directRequests); else the Protocol's own connect: the SDK's dispatch only.
  await (direct ? server.connect(transport) : server.server.connect(transport));
  return {
    input,
    out: () => out,
    busy: () => ctx.calls.running(),
    async close() { await server.close(); await ctx.registry.closeAll(); await ctx.queryLog.close(); },
  };
}

/** Output lines, timings blanked, sorted (calls finish in any order). */
const normalised = (s: string): string[] => s.split('\n').filter(Boolean)
  .map((l) => l.replace(/\(\d+(\.\d+)? ms\)/g, '(X ms)').replace(/"elapsed_ms":[0-9.e-]+/g, '"elapsed_ms":0'))
  .sort();

async function settle(out: () => string, busy: () => number): Promise<void> {
  // Until the sentinel is answered, no tool call is still running, and nothing more arrived for
  // 300 ms. The sentinel (a ping) is answered at once, and every request before it has started
  // its handler by then; the tool calls may take longer on a loaded machine (the SQLite host's
  // first start), so the quiet alone is not enough.
  for (let last = -1, quiet = 0; quiet < 3;) {
    await new Promise((r) => setTimeout(r, 100));
    const n = out().length;
    quiet = n === last && busy() === 0 && out().includes('"id":"__end__"') ? quiet + 1 : 0;
    last = n;
  }
}

describe('held: stdout for the same stdin bytes, directRequests against the SDK dispatch', () => {
  for (const [label, chunking] of [['one write per line', 0], ['cut into 1 to 7 byte chunks', 7]] as const) {
    it(label, async () => {
      const bytes = Buffer.from(`${corpus().join('\n')}\n{"jsonrpc":"2.0","id":"__end__","method":"ping"}\n`);
      const outs: string[][] = [];
      for (const direct of [true, false]) {
        const s = await lineServer(direct);
        try {
          if (chunking === 0) {
            for (const line of bytes.toString('utf8').split(/(?<=\n)/)) s.input.write(line);
          } else {
            let seed = 7;
            for (let i = 0; i < bytes.length;) {
              seed = (seed * 1103515245 + 12345) % 2147483648;
              const n = 1 + (seed % chunking);
              s.input.write(Buffer.from(bytes.subarray(i, i + n)));
              i += n;
            }
          }
          await settle(s.out, s.busy);
          outs.push(normalised(s.out()));
        } finally { await s.close(); }
      }
      expect(outs[0].length).toBeGreaterThan(120);
      for (const l of outs[0]) expect(() => JSON.parse(l)).not.toThrow();
      expect(outs[0]).toEqual(outs[1]);
    }, 30_000);
  }
});
