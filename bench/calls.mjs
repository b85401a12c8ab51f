// The cost of one call against DBHub 1.4.0 (issue 17), same run: per-call latency of
// `SELECT 1` over stdio (the SDK client spawning each server) on SQLite (one file for both)
// and PostgreSQL (the shared server); cold start (spawn -> initialize -> tools/list answered)
// on the same SQLite file; and our in-process overhead over the bare driver on every backend.
// Rounds alternate ours and DBHub so both see the same machine load; each figure is the
// median of the rounds' medians.
import Database from 'better-sqlite3';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { dbhubArgs, dbhubDsn, DBHUB_VERSION, installDbhub } from './dbhub.mjs';
import { fmt, median, MYSQL_URL, PG_URL, SERVER_JS, startServer, startStdio, tempDir, timeEach } from './lib.mjs';
import { bareTimes, inProcessTimes } from './queries.mjs';
import { coldStart } from './startup.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CALLS = Number(process.env.BENCH_CALLS ?? 300);
const WARM = 50;
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 11);
/**
 * Calls before the steady-state figures: a fresh server's JavaScript runs unoptimised for
 * its first few thousand calls (V8 tiers functions up as they get hot), so the rows above,
 * measured after 50, are mostly that warm-up; these say what a call costs once it is done.
 */
const STEADY_WARM = Number(process.env.BENCH_STEADY_WARM ?? 3000);
const STEADY_ROUNDS = 3;

const info = (metric) => ({ metric, ours: '', baseline: '', ratio: '', target: '', ok: '' });

/** Median milliseconds of CALLS sequential calls of one server process, after `warm` calls. */
async function perCall(start, call, warm = WARM) {
  const s = await start();
  try {
    const once = async () => {
      const r = await call(s.client);
      if (r.isError) throw new Error(`the call failed: ${r.content?.[0]?.text}`);
    };
    await timeEach(warm, once);
    return median(await timeEach(CALLS, once));
  } finally {
    await s.close();
  }
}

const oursCall = (c) => c.callTool({ name: 'execute_query', arguments: { connection: 'b', query: 'SELECT 1' } });
const hubCall = (c) => c.callTool({ name: 'execute_sql', arguments: { sql: 'SELECT 1' } });

/**
 * `steady`: after STEADY_WARM calls, in STEADY_ROUNDS rounds, as information (no target).
 * `node`: ours on this node instead of the bench's own (DBHub's runtime), as information.
 */
async function perCallRows(hub, label, url, steady = false, node = undefined) {
  const [warm, rounds] = steady ? [STEADY_WARM, STEADY_ROUNDS] : [WARM, ROUNDS];
  const ours = [];
  const theirs = [];
  const args = ['--connection', `b=${url}`, '--log-level', 'silent'];
  for (let i = 0; i < rounds; i++) {
    ours.push(await perCall(() => (node ? startStdio(node, [SERVER_JS, ...args]) : startServer(args)), oursCall, warm));
    if (hub.error) continue;
    theirs.push(await perCall(() => startStdio(hub.node, dbhubArgs(hub, dbhubDsn(url))), hubCall, warm));
  }
  const o = median(ours);
  const t = hub.error ? undefined : median(theirs);
  const extra = steady ? `, after ${warm} calls (steady state, information)` : node ? `, ours on DBHub's node too (information)` : '';
  const target = !steady && !node;
  return {
    metric: `${label}: execute_query SELECT 1 over stdio (ms), median of ${rounds} x ${CALLS}${extra}`,
    ours: fmt(o), baseline: t === undefined ? 'n/a' : `${fmt(t)} (DBHub)`, ratio: t === undefined ? '' : fmt(o / t, 2),
    target: target ? '≤ 1.0x DBHub' : '', ok: t === undefined || !target ? '' : o <= t ? 'yes' : 'NO',
  };
}

async function coldStartRow(hub, url) {
  const ours = [];
  const theirs = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    ours.push(await coldStart([SERVER_JS, '--connection', `b=${url}`]));
    if (!hub.error) theirs.push(await coldStart(dbhubArgs(hub, dbhubDsn(url)), {}, hub.node));
  }
  const o = median(ours);
  const t = hub.error ? undefined : median(theirs);
  return {
    metric: `cold start to tools/list, SQLite (ms), median of ${COLD_RUNS}`,
    ours: fmt(o, 1), baseline: t === undefined ? 'n/a' : `${fmt(t, 1)} (DBHub)`, ratio: t === undefined ? '' : fmt(o / t, 2),
    target: '≤ 0.3x DBHub', ok: t === undefined ? '' : o <= 0.3 * t ? 'yes' : 'NO',
  };
}

/** `steady`: after STEADY_WARM calls, as information (no target). */
async function overheadRow(backend, url, file, steady = false) {
  const warm = steady ? STEADY_WARM : undefined;
  const bare = [];
  const inProcess = [];
  for (let i = 0; i < 3; i++) {
    bare.push(median(await bareTimes(backend, url, file, warm)));
    inProcess.push(median(await inProcessTimes(url, warm)));
  }
  const b = median(bare);
  const o = median(inProcess);
  return {
    metric: `${backend}: in-process overhead over the bare driver (ms), median of 3 x 500${steady ? `, after ${warm} calls (steady state, information)` : ''}`,
    ours: fmt(o - b), baseline: `${fmt(b)} bare, ${fmt(o)} ours`, ratio: '',
    target: steady ? '' : '< 0.3 ms', ok: steady ? '' : o - b < 0.3 ? 'yes' : 'NO',
  };
}

export async function benchCalls() {
  const hub = installDbhub();
  const file = join(tempDir(), 'calls.db');
  new Database(file).close();
  const sqliteUrl = `sqlite://${file}`;
  const rows = [info(`load average at start (1, 5, 15 min): ${loadavg().map((x) => x.toFixed(2)).join(', ')} on ${cpus().length} CPUs; ours on node ${process.version}, `
    + (hub.error ? `DBHub not installed: ${hub.error}` : `DBHub ${DBHUB_VERSION} on node ${hub.nodeVersion}`))];
  try {
    rows.push(await perCallRows(hub, 'SQLite', sqliteUrl));
    rows.push(await perCallRows(hub, 'PostgreSQL', PG_URL));
    // Same runtime for both: how much of the difference is Node's (PostgreSQL only: our
    // better-sqlite3 is built for the node that installed it).
    if (!hub.error && hub.node !== process.execPath) rows.push(await perCallRows(hub, 'PostgreSQL', PG_URL, false, hub.node));
    rows.push(await coldStartRow(hub, sqliteUrl));
    rows.push(await perCallRows(hub, 'SQLite', sqliteUrl, true));
    rows.push(await perCallRows(hub, 'PostgreSQL', PG_URL, true));
  } finally {
    hub.remove?.();
  }
  const backends = [['postgres', PG_URL], ['mysql', MYSQL_URL], ['sqlite', sqliteUrl]];
  for (const steady of [false, true]) for (const [backend, url] of backends) rows.push(await overheadRow(backend, url, file, steady));
  rows.push(info(`load average at the end (1, 5, 15 min): ${loadavg().map((x) => x.toFixed(2)).join(', ')}`));
  return rows;
}
