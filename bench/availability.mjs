// Availability (issue 14, class 7): while one client sends something costly, how long does an
// unrelated `list_connections` wait, and how much memory does the server take?
// A list_connections call every 50 ms over stdio against the built server, during each scenario;
// p50 / p99 / max of those calls and the server's peak RSS (VmRSS sampled every 20 ms).
// Runnable alone: `npm run build && node bench/availability.mjs [rounds]`.
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, MYSQL_URL, percentile, PG_URL, startServer, tempDir } from './lib.mjs';

const PROBE_EVERY_MS = 50;
const MIN_SCENARIO_MS = 2000;

/** A TCP port that accepts and then misbehaves: 'silent' never answers, 'garbage' answers with HTTP. */
async function badPort(mode) {
  const sockets = new Set();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    if (mode === 'garbage') s.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, close: () => { for (const s of sockets) s.destroy(); server.close(); } };
}

function rssKb(pid, field = 'VmRSS') {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Runs `work` while probing list_connections every 50 ms and sampling RSS; returns the numbers. */
async function measure(s, pid, work) {
  const latencies = [];
  let peak = rssKb(pid);
  let running = true;
  const sampler = setInterval(() => { peak = Math.max(peak, rssKb(pid)); }, 20);
  const prober = (async () => {
    while (running) {
      const t = performance.now();
      await s.client.callTool({ name: 'list_connections', arguments: {} });
      const took = performance.now() - t;
      latencies.push(took);
      await new Promise((r) => setTimeout(r, Math.max(0, PROBE_EVERY_MS - took)));
    }
  })();
  const started = performance.now();
  const outcome = await work().catch((err) => `threw: ${err.message}`);
  const left = MIN_SCENARIO_MS - (performance.now() - started);
  if (left > 0) await new Promise((r) => setTimeout(r, left));
  running = false;
  await prober;
  clearInterval(sampler);
  return { p50: median(latencies), p99: percentile(latencies, 99), max: Math.max(...latencies), rssMb: peak / 1024, calls: latencies.length, outcome };
}

const codeOf = (r) => (r.isError ? JSON.parse(r.content[0].text).error.code : 'ok');

/**
 * 1 MB agent texts of the shapes that cost the lexers most, per backend: each is lexed,
 * translated and classified in a worker (src/core/offload), never on the main thread.
 */
function longTexts(query) {
  const MB = 999_000;
  const shapes = {
    'adjacent comments': `SELECT 1 ${'/**/'.repeat(MB / 4)}`,
    '/*! openers': `SELECT 1 ${'/*!1'.repeat(MB / 4)}`,
    'commas 1,1,1': `SELECT 1${',1'.repeat(MB / 2)}`,
    "quotes ''": `SELECT 1${",''".repeat(MB / 3)}`,
  };
  const out = [];
  for (const [label, conn] of [['PG', 'pg'], ['MySQL', 'my'], ['SQLite', 'lite']]) {
    for (const [shape, text] of Object.entries(shapes)) {
      if (conn === 'pg' && shape === 'adjacent comments') continue; // already above
      out.push([`${label}: 1 MB of ${shape}`, (s) => query(s, conn, text)]);
    }
  }
  return out;
}

function scenarios(ports) {
  const call = (s, name, args) => s.client.callTool({ name, arguments: args }, undefined, { timeout: 300_000 });
  const query = (s, conn, q) => call(s, 'execute_query', { connection: conn, query: q }).then(codeOf);
  const four = (s, conn, q) => Promise.all([0, 1, 2, 3].map(() => query(s, conn, q))).then((c) => c.join(','));
  // Just under the 1,000,000 characters a query may have.
  const nested = '/*'.repeat(249_990) + '*/'.repeat(249_990);
  return [
    ['idle', async () => 'ok'],
    ['PG: 1 MB of nested comments', (s) => query(s, 'pg', `SELECT 1 ${nested}`)],
    ['PG: 1 MB of adjacent comments', (s) => query(s, 'pg', `SELECT 1 ${'/**/'.repeat(249_990)}`)],
    ...longTexts(query),
    ['PG: get_connection, silent port', (s) => call(s, 'get_connection', { connection: 'pg_silent' }).then(codeOf)],
    ['PG: get_connection, HTTP port', (s) => call(s, 'get_connection', { connection: 'pg_http' }).then(codeOf)],
    ['MySQL: get_connection, silent port', (s) => call(s, 'get_connection', { connection: 'my_silent' }).then(codeOf)],
    ['MySQL: get_connection, HTTP port', (s) => call(s, 'get_connection', { connection: 'my_http' }).then(codeOf)],
    ['PG: 4 x 300 MB values', (s) => four(s, 'pg', "SELECT repeat('x', 300000000) AS v")],
    ['MySQL: 4 x 300 MB values', (s) => four(s, 'my', "SELECT repeat('x', 300000000) AS v")],
    ['SQLite: 4 x 300 MB values', (s) => four(s, 'lite', "SELECT printf('%.*c', 300000000, 'x') AS v")],
  ].map(([name, work]) => ({ name, work, ports }))
    // AVAIL_ONLY=regex runs only the matching scenarios (e.g. while a fix is in progress).
    .filter((sc) => !process.env.AVAIL_ONLY || new RegExp(process.env.AVAIL_ONLY, 'i').test(sc.name));
}

async function oneRound() {
  const silent = await badPort('silent');
  const http = await badPort('garbage');
  const file = join(tempDir(), 'avail.db');
  const conns = {
    pg: PG_URL, my: MYSQL_URL, lite: `sqlite://${file}`,
    pg_silent: `postgres://postgres@127.0.0.1:${silent.port}/x`, pg_http: `postgres://postgres@127.0.0.1:${http.port}/x`,
    my_silent: `mysql://root@127.0.0.1:${silent.port}/x`, my_http: `mysql://root@127.0.0.1:${http.port}/x`,
  };
  const args = Object.entries(conns).flatMap(([n, u]) => ['--connection', `${n}=${u}`]);
  const s = await startServer([...args, '--log-level', 'silent']);
  const pid = s.transport.pid;
  try {
    for (const c of ['pg', 'my', 'lite']) await s.client.callTool({ name: 'get_connection', arguments: { connection: c } });
    const out = [];
    for (const sc of scenarios()) out.push({ name: sc.name, ...(await measure(s, pid, () => sc.work(s))) });
    return { rows: out, hwmMb: rssKb(pid, 'VmHWM') / 1024 };
  } finally {
    await s.close();
    silent.close();
    http.close();
  }
}

export async function benchAvailability(rounds = 3) {
  const runs = [];
  for (let i = 0; i < rounds; i++) runs.push(await oneRound());
  const rows = runs[0].rows.map((r, i) => {
    const med = (k) => median(runs.map((run) => run.rows[i][k]));
    const p99 = med('p99');
    const rss = med('rssMb');
    return {
      metric: r.name,
      ours: `p50 ${med('p50').toFixed(1)} / p99 ${p99.toFixed(1)} / max ${med('max').toFixed(1)} ms; RSS ${rss.toFixed(0)} MB; ${runs.map((run) => run.rows[i].outcome).join(' | ')}`,
      target: 'p99 < 200 ms, RSS < 300 MB',
      ok: p99 < 200 && rss < 300 ? 'yes' : 'NO',
    };
  });
  rows.push({ metric: 'server VmHWM over the whole run', ours: `${median(runs.map((r) => r.hwmMb)).toFixed(0)} MB`, target: '< 300 MB', ok: median(runs.map((r) => r.hwmMb)) < 300 ? 'yes' : 'NO' });
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import('./lib.mjs');
  printTable(`Availability: list_connections every ${PROBE_EVERY_MS} ms during each scenario, medians of rounds`, await benchAvailability(Number(process.argv[2] ?? 3)));
}
