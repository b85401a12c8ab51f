/**
 * Issue 14, class 7: get_connection to a port that accepts TCP but is not the database.
 * Each misbehaving listener (silent, closes at once, answers HTTP, answers like Redis,
 * sends garbage) must give CONNECTION_FAILED, and after that no new TCP connection may
 * reach it (postgres.js used to reconnect ~2,000 times a second, for ever). The
 * accepts are counted on the listener itself, for 2 s after the answer. The silent
 * listener costs the 10 s connect timeout (SPEC §7). The server also still answers
 * list_connections while an attempt hangs, and a real connection still works.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

type Mode = 'silent' | 'close' | 'http' | 'redis' | 'garbage';
const MODES: Mode[] = ['silent', 'close', 'http', 'redis', 'garbage'];
const QUIET_MS = 2000;

interface Listener { port: number; accepts: number; close(): void }

async function listen(mode: Mode): Promise<Listener> {
  const sockets = new Set<Socket>();
  const state = { accepts: 0 };
  const server: Server = createServer((s) => {
    state.accepts++;
    sockets.add(s);
    s.on('error', () => undefined);
    if (mode === 'close') s.destroy();
    if (mode === 'http') s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
    if (mode === 'redis') s.on('data', () => s.end('-ERR unknown command\r\n'));
    if (mode === 'garbage') s.write(Buffer.alloc(64, 0xff));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { port, get accepts() { return state.accepts; }, close: () => { for (const s of sockets) s.destroy(); server.close(); } };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('get_connection to a port that is not the database', () => {
  // One listener per connection: the PostgreSQL and MySQL rounds run side by side.
  const listeners = new Map<string, Listener>();
  let h: Harness;
  const realPg = BACKENDS.find((b) => b.name === 'postgres');

  beforeAll(async () => {
    const conns: Record<string, { url: string }> = {};
    for (const m of MODES) {
      for (const [scheme, prefix] of [['pg', 'postgres'], ['my', 'mysql']]) {
        const l = await listen(m);
        listeners.set(`${scheme}_${m}`, l);
        conns[`${scheme}_${m}`] = { url: `${prefix}://u@127.0.0.1:${l.port}/d` };
      }
    }
    if (realPg) conns.real = { url: realPg.url() };
    h = await startInProcess(conns);
  });
  afterAll(async () => {
    await h?.close();
    for (const l of listeners.values()) l.close();
  });

  for (const scheme of ['pg', 'my'] as const) {
    it.concurrent(`${scheme}: CONNECTION_FAILED for every listener, then no new TCP connection for ${QUIET_MS} ms`, async () => {
      const results = await Promise.all(MODES.map(async (m) => {
        const r = await callTool(h.client, 'get_connection', { connection: `${scheme}_${m}` });
        const l = listeners.get(`${scheme}_${m}`)!;
        const after = l.accepts;
        await sleep(QUIET_MS);
        return { mode: m, code: r.ok ? 'ok' : r.error.code, during: after, extra: l.accepts - after };
      }));
      console.log(`[availability] ${scheme}: ${results.map((r) => `${r.mode} ${r.code} accepts ${r.during}+${r.extra}`).join('; ')}`);
      for (const r of results) {
        expect(r.code, r.mode).toBe('CONNECTION_FAILED');
        expect(r.extra, `${r.mode}: TCP connections after the failure`).toBe(0);
        // A reconnect loop shows up as hundreds of accepts; one attempt per pool slot at most.
        expect(r.during, `${r.mode}: TCP connections during the attempt`).toBeLessThanOrEqual(3);
      }
    }, 60_000);
  }

  it('the server answers other calls while an attempt hangs on a silent port', async () => {
    const hanging = callTool(h.client, 'get_connection', { connection: 'pg_silent' });
    let settled = false;
    void hanging.then(() => { settled = true; });
    const listed = await callTool(h.client, 'list_connections');
    expect(listed.ok).toBe(true);
    expect(settled).toBe(false);
    expect((await hanging).ok).toBe(false);
  }, 30_000);

  it.runIf(realPg)('a real PostgreSQL connection in the same server still works', async () => {
    const r = await callTool(h.client, 'execute_query', { connection: 'real', query: 'SELECT 1 AS one' });
    expect(r.ok).toBe(true);
  });
});
