// 16 concurrent clients over Streamable HTTP (one server process, a session each), each making
// 200 sequential execute_query calls (a primary-key lookup in a 1,000-row PostgreSQL table),
// beside the same 16 x 200 calls over stdio: one server process, one client, 16 requests in
// flight at once (the same server-side concurrency). Same pool size (16) for both.
// Then one client alone, sequentially: the per-call cost of the transport itself.
// Rounds alternate transports; the table shows medians over the rounds.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { fmt, median, percentile, PG_URL, SERVER_JS, startServer, tempDir } from './lib.mjs';

const CLIENTS = 16;
const CALLS = 200;
const WARM = 20;
const ROUNDS = 3;
const ROWS = 1000;

function configFile(table) {
  const file = join(tempDir(), 'config.json');
  writeFileSync(file, JSON.stringify({ connections: { b: { url: PG_URL, pool_size: CLIENTS } }, log_level: 'info' }));
  return { file, query: `SELECT id, name, amount FROM ${table} WHERE id = ?` };
}

/** Runs `calls` sequential calls through `call`; returns each call's milliseconds. */
async function worker(call, calls) {
  const out = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    const r = await call(1 + ((i * 37) % ROWS));
    if (r.isError) throw new Error(r.content[0].text);
    out.push(performance.now() - t);
  }
  return out;
}

/** Throughput and latencies of CLIENTS workers running at once, then of one client alone. */
async function measure(calls) {
  await Promise.all(calls.map((c) => worker(c, WARM)));
  const t0 = performance.now();
  const lat = (await Promise.all(calls.map((c) => worker(c, CALLS)))).flat();
  const wall = performance.now() - t0;
  const alone = await worker(calls[0], CALLS);
  return { perSecond: lat.length / (wall / 1000), p50: percentile(lat, 50), p95: percentile(lat, 95), alone: median(alone) };
}

async function startHttp(config) {
  const child = spawn(process.execPath, [SERVER_JS, '--config', config, '--transport', 'http', '--port', '0'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, XDG_DATA_HOME: tempDir() }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const url = await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      log += d;
      const m = /"endpoint":"([^"]+)"/.exec(log);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${log}`)));
  });
  // Keep draining stderr so the server never blocks on a full pipe.
  child.stderr.resume();
  return { url, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

async function httpRound(cfg) {
  const server = await startHttp(cfg.file);
  const clients = await Promise.all(Array.from({ length: CLIENTS }, async () => {
    const client = new Client({ name: 'bench', version: '0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    return client;
  }));
  try {
    return await measure(clients.map((c) => (id) => c.callTool({ name: 'execute_query', arguments: { connection: 'b', query: cfg.query, params: [id] } })));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
  }
}

async function stdioRound(cfg) {
  const s = await startServer(['--config', cfg.file, '--log-level', 'silent']);
  try {
    const call = (id) => s.client.callTool({ name: 'execute_query', arguments: { connection: 'b', query: cfg.query, params: [id] } });
    return await measure(Array.from({ length: CLIENTS }, () => call));
  } finally {
    await s.close();
  }
}

export async function benchHttp() {
  const sql = postgres(PG_URL, { max: 1, onnotice: () => undefined });
  const table = `cmx_bench_http_${process.pid}`;
  await sql.unsafe(`CREATE TABLE ${table} (id integer PRIMARY KEY, name text NOT NULL, amount numeric(12,2) NOT NULL)`);
  await sql.unsafe(`INSERT INTO ${table} SELECT g, 'customer ' || g, g * 1.25 FROM generate_series(1, ${ROWS}) AS g`);
  const cfg = configFile(table);
  const http = [];
  const stdio = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      http.push(await httpRound(cfg));
      stdio.push(await stdioRound(cfg));
    }
  } finally {
    await sql.unsafe(`DROP TABLE ${table}`);
    await sql.end();
  }
  const m = (xs, k) => median(xs.map((x) => x[k]));
  const row = (metric, k, digits, better) => ({
    metric, ours: fmt(m(http, k), digits), baseline: `${fmt(m(stdio, k), digits)} (stdio)`, ratio: fmt(m(http, k) / m(stdio, k), 2), target: better, ok: '',
  });
  return [
    row(`${CLIENTS} clients x ${CALLS} execute_query, HTTP: calls/s`, 'perSecond', 0, 'info (higher is better)'),
    row('  latency p50 (ms)', 'p50', 2, 'info'),
    row('  latency p95 (ms)', 'p95', 2, 'info'),
    row(`1 client alone, ${CALLS} sequential calls: median latency (ms)`, 'alone', 2, 'info'),
  ];
}
