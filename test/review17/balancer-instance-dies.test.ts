/**
 * Review of issue 17 item 6 (README "Scaling out" → several instances): what a client sees
 * when one of two instances behind haproxy stops, with the balancer configured as the
 * README shows. test/topology/haproxy.ts builds the same config as the README.
 * (Fix of finding 5: at review time that config had no health check and no redispatch,
 * and the first two tests failed with 503s; both now have `option httpchk GET /healthz`,
 * `check` on each server, `option redispatch` and `retries 2`, and the tests stay as
 * regression checks.)
 *
 * README: "Stateless: any instance answers any request, so a plain round-robin balancer
 * will do." and "If an instance stops, its sessions end (404), and clients start new ones
 * elsewhere."
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/backends.js';
import { INITIALIZE, raw, startHttpServer, type HttpServer } from '../support/http.js';
import { frontendPorts, HAPROXY_BIN, startHaproxy, type Haproxy } from '../topology/haproxy.js';

const CALL = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'execute_query', arguments: { connection: 'lite', query: 'SELECT 1 AS one' } } };

describe.skipIf(process.getuid?.() !== 0)('one of two instances behind haproxy stops (README config)', () => {
  const dir = tempDir('cmx-r17-lb-');
  const instances: HttpServer[] = [];
  let lb: Haproxy;

  beforeAll(async () => {
    const ports = await frontendPorts(2);
    const config = join(dir, 'db.json');
    writeFileSync(config, JSON.stringify({
      connections: { lite: { url: `sqlite:${join(dir, 'shared.db')}` } },
      http: { allowed_hosts: ports.map((p) => `127.0.0.1:${p}`) },
    }));
    const start = (extra: string[]): Promise<HttpServer> => startHttpServer(['--config', config, ...extra]);
    instances.push(...await Promise.all([start(['--stateless']), start(['--stateless']), start([]), start([])]));
    const servers = (from: number): Array<{ name: string; url: string }> => [0, 1].map((i) => ({ name: `i${from + i}`, url: instances[from + i]!.url }));
    lb = await startHaproxy([
      { name: 'stateless', port: ports[0]!, servers: servers(0), sticky: false },
      { name: 'sticky', port: ports[1]!, servers: servers(2), sticky: true },
    ]);
  });

  afterAll(async () => {
    await lb?.stop();
    for (const i of instances) await i.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stateless: after one instance stops, every call still gets an answer from the other', async () => {
    await instances[0]!.stop();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const init = await raw(lb.url('stateless'), { body: INITIALIZE });
      statuses.push(init.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
  });

  it('sessions: the stopped instance\'s session answers 404 (so the client starts a new one), and new sessions all open', async () => {
    // Two sessions: round robin puts them on different instances.
    const opened = await Promise.all([0, 1].map(() => raw(lb.url('sticky'), { body: INITIALIZE })));
    const ids = opened.map((r) => String(r.headers['mcp-session-id']));
    const on = opened.map((r) => String(r.headers['x-served-by']));
    expect(new Set(on).size).toBe(2);
    const victim = on.indexOf('i2');
    await instances[2]!.stop();
    const old = await raw(lb.url('sticky'), { body: CALL, headers: { 'mcp-session-id': ids[victim]!, 'mcp-protocol-version': '2025-06-18' } });
    const fresh: number[] = [];
    for (let i = 0; i < 4; i++) fresh.push((await raw(lb.url('sticky'), { body: INITIALIZE })).status);
    expect({ old: old.status, fresh }).toEqual({ old: 404, fresh: [200, 200, 200, 200] });
  });
});

/**
 * The same with what the README's config lacks: health checks on /healthz, a redispatch
 * and retries. Shows the fix for the README works: the old session gets 404 and new ones open.
 */
describe.skipIf(process.getuid?.() !== 0)('the same, with health checks and redispatch in haproxy', () => {
  const dir = tempDir('cmx-r17-lb2-');
  const instances: HttpServer[] = [];
  let stopLb: () => Promise<void> = async () => undefined;
  let front = '';

  beforeAll(async () => {
    const [port] = await frontendPorts(1);
    front = `http://127.0.0.1:${port}/mcp`;
    const config = join(dir, 'db.json');
    writeFileSync(config, JSON.stringify({ connections: { lite: { url: `sqlite:${join(dir, 'shared.db')}` } }, http: { allowed_hosts: [`127.0.0.1:${port}`] } }));
    instances.push(...await Promise.all([0, 1].map(() => startHttpServer(['--config', config]))));
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, [
      'defaults', '  mode http', '  timeout connect 2s', '  timeout client 30s', '  timeout server 30s', '  retries 2', '  option redispatch',
      'frontend fe', `  bind 127.0.0.1:${port}`, '  default_backend be',
      'backend be', '  balance roundrobin', '  option httpchk GET /healthz', '  http-response set-header X-Served-By %[srv_name]',
      '  stick-table type string len 64 size 10k expire 1h', '  stick store-response res.hdr(mcp-session-id)', '  stick match req.hdr(mcp-session-id)',
      ...instances.map((i, n) => `  server s${n} ${new URL(i.url).host} check inter 300 fall 1 rise 1`), '',
    ].join('\n'));
    const child = spawn(HAPROXY_BIN, ['-db', '-f', cfg], { stdio: 'ignore' });
    // 'error' too: a haproxy that never started (not installed) has no exit to wait for.
    const exited = new Promise<void>((r) => { child.once('exit', () => r()); child.once('error', () => r()); });
    stopLb = async () => { child.kill('SIGTERM'); await exited; };
    for (let i = 0; i < 100 && (await raw(front, { body: INITIALIZE }).catch(() => ({ status: 0 }))).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
  });

  afterAll(async () => {
    try {
      await stopLb();
    } finally {
      for (const i of instances) await i.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('old session 404, new sessions open', async () => {
    const opened = await Promise.all([0, 1].map(() => raw(front, { body: INITIALIZE })));
    const victim = opened.findIndex((r) => r.headers['x-served-by'] === 's0');
    expect(victim).toBeGreaterThanOrEqual(0);
    await instances[0]!.stop();
    const old = await raw(front, { body: CALL, headers: { 'mcp-session-id': String(opened[victim]!.headers['mcp-session-id']), 'mcp-protocol-version': '2025-06-18' } });
    const fresh: number[] = [];
    for (let i = 0; i < 4; i++) fresh.push((await raw(front, { body: INITIALIZE })).status);
    expect({ old: old.status, fresh }).toEqual({ old: 404, fresh: [200, 200, 200, 200] });
  });
});
