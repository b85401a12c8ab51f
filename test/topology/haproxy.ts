/**
 * A private haproxy (Debian's /usr/sbin/haproxy, 2.6) in front of server instances, for
 * the topology tests (issue 17): one frontend per pool, each on a free loopback port, in
 * its own temp directory (config and nothing else), run in the foreground (-db) and
 * stopped by the test's afterAll.
 *
 * A pool is round-robin. A sticky pool keeps an MCP session on the instance that opened
 * it: haproxy learns the `Mcp-Session-Id` the instance returns to the initialize (stick
 * store-response) and sends every request carrying that id to it (stick match), which is
 * what an operator in front of instances with sessions must configure. Every response
 * carries `X-Served-By: <server name>`, so a test can show which instance answered.
 *
 * Every pool checks its instances on /healthz and redispatches a request whose instance
 * refuses the connection (BACKEND_HEALTH, SERVER_CHECK: README "Several server instances
 * behind a balancer" shows the same lines, test/integration/readme.test.ts holds it to
 * them). So when an instance stops, stateless requests and new sessions go to the other
 * one, and a request of a session that lived on the stopped instance reaches the other
 * one too, which answers 404 (unknown session) so that the client starts a new session.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../faults/private-db.js';

export const HAPROXY_BIN = '/usr/sbin/haproxy';

export interface Pool {
  name: string;
  /** The frontend's port (take it from freePort() first when instances must know it, e.g. for allowed_hosts). */
  port: number;
  /** The instances behind it: name and `http://host:port` (any path is dropped). */
  servers: Array<{ name: string; url: string }>;
  sticky: boolean;
}

export interface Haproxy {
  /** `http://127.0.0.1:<port>/mcp` of a pool's frontend. */
  url(pool: string): string;
  log(): string;
  stop(): Promise<void>;
}

/**
 * A backend's lines that let it lose an instance: a health check on /healthz (503 while
 * an instance shuts down, no answer once it is gone), and a request whose connection is
 * refused tried again and, on the last retry, sent to another instance (also when a stick
 * table names the stopped one).
 */
export const BACKEND_HEALTH = ['option httpchk GET /healthz', 'option redispatch', 'retries 2'];
/** On each server line: checked every 2 s, out after 2 failed checks, back after 2 good ones. */
export const SERVER_CHECK = 'check inter 2s fall 2 rise 2';

function poolConfig(p: Pool): string[] {
  const servers = p.servers.map((s) => {
    const { hostname, port } = new URL(s.url);
    return `  server ${s.name} ${hostname}:${port} ${SERVER_CHECK}`;
  });
  const stick = p.sticky
    ? [
      // An id is 36 characters (a UUID); an hour covers any session_idle_ms a test sets.
      '  stick-table type string len 64 size 10k expire 1h',
      '  stick store-response res.hdr(mcp-session-id)',
      '  stick match req.hdr(mcp-session-id)',
    ]
    : [];
  return [
    `frontend fe_${p.name}`,
    `  bind 127.0.0.1:${p.port}`,
    `  default_backend be_${p.name}`,
    `backend be_${p.name}`,
    '  balance roundrobin',
    ...BACKEND_HEALTH.map((l) => `  ${l}`),
    '  http-response set-header X-Served-By %[srv_name]',
    ...stick,
    ...servers,
  ];
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export async function startHaproxy(pools: Pool[]): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'cmx-topo-haproxy-'));
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, [
    'global',
    '  maxconn 256',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    // Long enough for a call's SSE response; a cancelled call ends sooner.
    '  timeout client 120s',
    '  timeout server 120s',
    ...pools.flatMap(poolConfig),
    '',
  ].join('\n'));
  let log = '';
  const child: ChildProcess = spawn(HAPROXY_BIN, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d) => { log += d; });
  child.stderr?.on('data', (d) => { log += d; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${log}`);
    const up = await Promise.all(pools.map((p) => listening(p.port)));
    if (up.every(Boolean)) break;
    if (i >= 100) {
      await stop();
      throw new Error(`haproxy did not listen within 10 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const ports = new Map(pools.map((p) => [p.name, p.port]));
  return {
    url: (pool) => `http://127.0.0.1:${ports.get(pool)}/mcp`,
    log: () => log,
    stop,
  };
}

/** Free ports for the frontends, taken before the instances start (their allowed_hosts names them). */
export async function frontendPorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  return ports;
}
