/**
 * Fault: malformed JSON-RPC on stdio. A real server process is fed, over raw pipes,
 * garbage, invalid UTF-8, truncated JSON, JSON that is not a message, batches, wrong
 * types, unknown methods, 5 MB lines, lines past the 10 MiB limit, empty lines and
 * requests run together. After each, a valid request (ping, or execute_query SELECT 1 on
 * a SQLite file) must be answered; every stdout line must be a JSON-RPC message; the
 * process must stay alive and its memory bounded. Well-formed requests among the
 * variants (unknown method, wrong argument types) must get an answer of their own.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/backends.js';
import { configFile, memoryOf, RawServer } from './process.js';
import { record, REPEAT, tally } from './tally.js';

type Json = Record<string, any>;
const t = tally('malformed JSON-RPC on stdio');
/** Peak RSS the server may reach while parsing 5 MB lines and skipping 11 MB ones. */
const PEAK_MB = 400;
/** RSS after a repetition, once the big lines are garbage: must not creep upwards. */
const SETTLED_MB = 250;

const line = (o: unknown): string => `${JSON.stringify(o)}\n`;
const req = (id: unknown, method: unknown, params?: unknown): Json => ({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
const sql = (args: unknown): Json => ({ name: 'execute_query', arguments: args });

interface Variant {
  name: string;
  /** What to write; `id` is free for a request whose answer is expected. */
  bytes(id: number): string | Buffer;
  /** The variant is itself a well-formed request that must be answered (result or error). */
  answered?: boolean;
}

const MB5 = 5 * 1024 * 1024;
const MB11 = 11 * 1024 * 1024;

const VARIANTS: Variant[] = [
  { name: 'random bytes', bytes: () => Buffer.concat([randomBytes(4096), Buffer.from('\n')]) },
  { name: 'invalid UTF-8', bytes: () => Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xed, 0xa0, 0x80, 0xf8, 0x88, 0x80, 0x80, 0x80, 0x0a]) },
  { name: 'invalid UTF-8 inside a request', answered: true, bytes: (id) => Buffer.concat([Buffer.from(`{"jsonrpc":"2.0","id":${id},"method":"ping","params":{"x":"`), Buffer.from([0xff, 0xc0, 0x80]), Buffer.from('"}}\n')]) },
  { name: 'NUL bytes', bytes: () => Buffer.concat([Buffer.alloc(1000), Buffer.from('\n')]) },
  { name: 'truncated JSON', bytes: (id) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"execute_query","argu\n` },
  { name: 'JSON that is not an object', bytes: () => '42\n"str"\nnull\ntrue\n[]\n{}\n1e999\n' },
  { name: 'batch (array of requests)', bytes: (id) => line([req(id, 'ping'), req(id + 1, 'tools/list')]) },
  { name: 'id of wrong types', bytes: () => [{ a: 1 }, [1], true, null, 1.5e400].map((id) => line(req(id, 'ping'))).join('') },
  { name: 'method of wrong types', bytes: (id) => [42, null, { m: 1 }, ['ping']].map((m) => line(req(id, m))).join('') },
  { name: 'params of wrong types', bytes: (id) => line(req(id, 'tools/call', 'execute_query')) + line(req(id, 'tools/call', [1, 2])) + line(req(id, 'ping', 7)) },
  { name: 'jsonrpc 1.0', bytes: (id) => line({ jsonrpc: '1.0', id, method: 'ping' }) + line({ id, method: 'ping' }) },
  { name: 'unknown method', answered: true, bytes: (id) => line(req(id, 'tables/drop_everything', {})) },
  { name: 'tools/call with a numeric name', answered: true, bytes: (id) => line(req(id, 'tools/call', { name: 42, arguments: {} })) },
  { name: 'tools/call of an unknown tool', answered: true, bytes: (id) => line(req(id, 'tools/call', { name: 'rm_rf', arguments: {} })) },
  { name: 'arguments as a string', answered: true, bytes: (id) => line(req(id, 'tools/call', sql('SELECT 1'))) },
  { name: 'arguments of wrong types', answered: true, bytes: (id) => line(req(id, 'tools/call', sql({ connection: ['db'], query: { q: 1 }, params: 'x', max_rows: '9', timeout_ms: -1 }))) },
  { name: '__proto__ and constructor keys', answered: true, bytes: (id) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"execute_query","arguments":{"__proto__":{"read_only":false},"constructor":{"prototype":{"x":1}},"connection":"db","query":"SELECT 1"}}}\n` },
  { name: 'responses and notifications nobody asked for', bytes: () => [
    { jsonrpc: '2.0', id: 987654, result: {} }, { jsonrpc: '2.0', id: 'nope', error: { code: 1, message: 'x' } },
    { jsonrpc: '2.0', method: 'notifications/unknown' }, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'never' } },
    { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: { a: 1 } } }, { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 5, progress: 'x' } },
    { jsonrpc: '2.0', method: 'notifications/initialized', params: 'x' },
  ].map(line).join('') },
  { name: 'initialize again', answered: true, bytes: (id) => line(req(id, 'initialize', { protocolVersion: '1999-01-01', capabilities: 'x', clientInfo: {} })) },
  { name: 'BOM and CRLF', answered: true, bytes: (id) => `\ufeff${JSON.stringify(req(1, 'ping'))}\r\n${JSON.stringify(req(id, 'ping'))}\r\n` },
  { name: 'many empty lines', bytes: () => '\n'.repeat(20_000) + '\r\n'.repeat(1000) + ' \t \n'.repeat(1000) },
  { name: 'a request with no newline before the next', bytes: (id) => `${JSON.stringify(req(id, 'ping'))}${line(req(id + 1, 'ping'))}` },
  { name: 'deep nesting', bytes: (id) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"execute_query","arguments":{"connection":"db","query":"SELECT 1","params":${'['.repeat(200_000)}${']'.repeat(200_000)}}}}\n` },
  { name: '1000 requests in one write', bytes: (id) => Array.from({ length: 1000 }, (_, i) => line(req(id + 1 + i, 'ping'))).join('') },
  { name: '5 MB line of valid JSON', answered: true, bytes: (id) => line(req(id, 'ping', { pad: 'x'.repeat(MB5) })) },
  { name: '5 MB query', answered: true, bytes: (id) => line(req(id, 'tools/call', sql({ connection: 'db', query: `SELECT 1 -- ${'y'.repeat(MB5)}` }))) },
  { name: '5 MB garbage line', bytes: () => Buffer.concat([Buffer.alloc(MB5, 'g'), Buffer.from('\n')]) },
  { name: '11 MB garbage line (past the limit)', bytes: () => Buffer.concat([Buffer.alloc(MB11, 'h'), Buffer.from('\n')]) },
  { name: '11 MB valid request (past the limit)', bytes: (id) => line(req(id, 'ping', { pad: 'z'.repeat(MB11) })) },
  { name: '11 MB without any newline, then one', bytes: () => Buffer.concat([randomBytes(MB11).map((b) => (b === 10 ? 32 : b)), Buffer.from('\n')]) },
];

/** The valid request after each variant: ping, or SELECT 1 through the tool. */
async function answersNext(s: RawServer, i: number): Promise<string | null> {
  if (i % 2 === 0) {
    const r = await s.request('ping');
    return r && r.result && !r.error ? null : `ping not answered (${JSON.stringify(r)?.slice(0, 200)})`;
  }
  const r = await s.request('tools/call', sql({ connection: 'db', query: 'SELECT 1 AS one' }));
  return r?.result?.structuredContent?.rows?.[0]?.[0] === 1 ? null : `SELECT 1 not answered (${JSON.stringify(r)?.slice(0, 200)})`;
}

describe('fault: malformed JSON-RPC on stdio', () => {
  const config = configFile({ db: { url: `sqlite://${join(tempDir('cmx-fstdio-'), 'f.db')}` } });
  let server: RawServer | undefined;
  const settled: number[] = [];
  let peak = 0;

  afterAll(async () => {
    record(t);
    await server?.stop();
  });

  it(`answers the next valid request after each of ${VARIANTS.length} malformed inputs, ${REPEAT} times`, async () => {
    let id = 1;
    for (let rep = 0; rep < REPEAT; rep++) {
      if (!server || !server.alive()) {
        server = new RawServer(['--config', config]);
        if (!(await server.initialize())) t.failures.push(`rep ${rep}: initialize not answered`);
      }
      const s = server;
      for (const [i, v] of VARIANTS.entries()) {
        const own = (id += 2000);
        await s.write(v.bytes(own));
        if (v.answered) {
          const a = await s.answer(own);
          if (!a) t.failures.push(`rep ${rep} ${v.name}: the request itself got no answer`);
        }
        const missed = await answersNext(s, i);
        if (missed) t.failures.push(`rep ${rep} after ${v.name}: ${missed}`);
        if (!s.alive()) {
          t.crashes++;
          t.failures.push(`rep ${rep} ${v.name}: the server exited (${JSON.stringify(await s.exited)}) ${s.stderr.slice(-2).join(' ')}`);
          break;
        }
        peak = Math.max(peak, memoryOf(s.pid)?.hwm ?? 0);
      }
      if (s.badLines.length) t.failures.push(`rep ${rep}: stdout lines that are not JSON-RPC: ${s.badLines.splice(0).slice(0, 3).join(' | ')}`);
      const mem = memoryOf(s.pid);
      if (mem) settled.push(mem.rss);
      t.runs++;
    }
    console.error(`[faults] stdio: peak RSS ${peak.toFixed(0)} MB, RSS after each repetition ${settled.map((m) => m.toFixed(0)).join(' ')} MB`);
    expect(t.failures).toEqual([]);
    expect(t.crashes).toBe(0);
    expect(peak).toBeLessThan(PEAK_MB);
    expect(Math.max(...settled)).toBeLessThan(SETTLED_MB);
  }, 240_000);
});
