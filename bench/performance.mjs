// PerformanceMonitor: what the query log costs each statement (record() on the
// statement's path, beside a no-op call with the same arguments; then the
// fingerprinting and aggregation that run after the answer, and the SQLite file),
// and get_database_stats on a 500-table database per backend beside one bare
// catalog round trip through the driver.
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import { join } from 'node:path';
import { freshDb, fmt, median, startInProcess, tempDir } from './lib.mjs';

const BATCH = 1000;
const BATCHES = 200;
const TABLES = 500;
const STATS_RUNS = 7;

/** Statements as agents send them: literals vary, so the fingerprint is recomputed every time. */
const texts = Array.from({ length: BATCH }, (_, i) => [
  `SELECT id, total, status FROM orders WHERE customer_id = ${i} AND status = 'open' ORDER BY created_at DESC LIMIT 20`,
  `INSERT INTO events (id, kind, payload) VALUES (${i}, 'click', '{"x": ${i}}')`,
  `UPDATE accounts SET balance = balance - ${i}.5 WHERE id IN (${i}, ${i + 1}, ${i + 2})`,
][i % 3]);

async function queryLog(path) {
  const { createContext, loadConfig, parseCli } = await import('../dist/embed.js');
  const pino = (await import('pino')).default;
  const config = loadConfig(parseCli([]), { XDG_DATA_HOME: tempDir() }, process.cwd());
  return createContext({ ...config, query_log: { ...config.query_log, path } }, { logger: pino({ level: 'silent' }) }).queryLog;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** Microseconds per call of fn(i) over BATCHES x BATCH calls; between batches the event loop turns (the log drains, untimed). */
async function perCall(fn) {
  let total = 0;
  for (let b = 0; b < BATCHES; b++) {
    const t = performance.now();
    for (let i = 0; i < BATCH; i++) fn(i);
    total += performance.now() - t;
    await nextTurn();
  }
  return (total * 1000) / (BATCHES * BATCH);
}

/** Microseconds per statement of the work done after the answer: fingerprint, ring, aggregates (and the file's batches). */
async function drainPerStatement(log) {
  let total = 0;
  for (let b = 0; b < BATCHES; b++) {
    for (let i = 0; i < BATCH; i++) log.record('db', 'execute_query', 'postgres', texts[i], 1.5, 1, null);
    const t = performance.now();
    log.drain(); // the batch setImmediate would run; called here so it can be timed
    total += performance.now() - t;
  }
  return (total * 1000) / (BATCHES * BATCH);
}

async function benchQueryLog() {
  const memory = await queryLog(null);
  let sink = 0;
  const noop = (c, t, f, text, ms, rows, err) => { sink += rows; };
  await perCall((i) => noop('db', 'execute_query', 'postgres', texts[i], 1.5, 1, null)); // warm-up
  const baseline = await perCall((i) => noop('db', 'execute_query', 'postgres', texts[i], 1.5, 1, null));
  await perCall((i) => memory.record('db', 'execute_query', 'postgres', texts[i], 1.5, 1, null)); // warm-up
  const record = await perCall((i) => memory.record('db', 'execute_query', 'postgres', texts[i], 1.5, 1, null));
  const drain = await drainPerStatement(memory);
  const file = await queryLog(join(tempDir(), 'query-log.db'));
  await file.summarise('db'); // opens the file
  const drainFile = await drainPerStatement(file);
  await Promise.all([memory.close(), file.close()]);
  return [
    { metric: 'query log: record() on the statement\'s path (µs)', ours: fmt(record, 3), baseline: `${fmt(baseline, 3)} (no-op call)`, ratio: fmt(record / baseline, 1), target: '< 5 µs', ok: record < 5 ? 'yes' : 'NO' },
    { metric: 'query log: fingerprint + aggregate, after the answer (µs/statement)', ours: fmt(drain, 3), baseline: '', ratio: '', target: 'info', ok: sink >= 0 ? '' : '' },
    // The whole cost of recording a statement, wherever it is paid.
    { metric: 'query log: recording in all, record() + after (µs/statement)', ours: fmt(record + drain, 3), baseline: '', ratio: '', target: '< 5 µs', ok: record + drain < 5 ? 'yes' : 'NO' },
    { metric: 'query log: the same, persisted to SQLite in batches (µs/statement)', ours: fmt(record + drainFile, 3), baseline: '', ratio: '', target: 'info (optional file)', ok: '' },
  ];
}

/** 500 tables with a primary key, an index and a few rows each. */
async function fill500(backend, url) {
  const ddl = (i) => [`CREATE TABLE t${i} (id integer PRIMARY KEY, v integer, note varchar(40))`, `CREATE INDEX t${i}_v ON t${i} (v)`, `INSERT INTO t${i} VALUES (1, ${i}, 'a'), (2, ${i}, 'b'), (3, ${i}, 'c')`];
  if (backend === 'postgres') {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await sql.begin(async (tx) => { for (let i = 0; i < TABLES; i++) for (const s of ddl(i)) await tx.unsafe(s); });
    await sql.end();
  } else if (backend === 'mysql') {
    const c = await mysql.createConnection(url);
    for (let i = 0; i < TABLES; i++) for (const s of ddl(i)) await c.query(s);
    await c.end();
  } else {
    const db = new Database(url.replace('sqlite://', ''));
    db.exec('PRAGMA journal_mode = WAL');
    db.transaction(() => { for (let i = 0; i < TABLES; i++) for (const s of ddl(i)) db.exec(s); })();
    db.close();
  }
}

/** One catalog round trip through the bare driver: how many tables there are. */
async function bareCatalog(backend, url) {
  const times = [];
  if (backend === 'postgres') {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    for (let i = 0; i <= STATS_RUNS; i++) { const t = performance.now(); await sql.unsafe("select count(*) from pg_class where relkind = 'r'"); times.push(performance.now() - t); }
    await sql.end();
  } else if (backend === 'mysql') {
    const c = await mysql.createConnection(url);
    for (let i = 0; i <= STATS_RUNS; i++) { const t = performance.now(); await c.query('SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()'); times.push(performance.now() - t); }
    await c.end();
  } else {
    const db = new Database(url.replace('sqlite://', ''), { readonly: true });
    for (let i = 0; i <= STATS_RUNS; i++) { const t = performance.now(); db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").get(); times.push(performance.now() - t); }
    db.close();
  }
  return median(times.slice(1));
}

async function statsTimes(url) {
  const s = await startInProcess({ b: url });
  const times = [];
  for (let i = 0; i <= STATS_RUNS; i++) {
    const t = performance.now();
    const r = await s.client.callTool({ name: 'get_database_stats', arguments: { connection: 'b' } });
    times.push(performance.now() - t);
    if (r.isError || r.structuredContent.table_count !== TABLES) throw new Error(`get_database_stats: ${r.content[0].text.slice(0, 200)}`);
  }
  await s.close();
  return median(times.slice(1)); // the first call opens the connection
}

async function benchStats() {
  const rows = [];
  for (const backend of ['postgres', 'mysql', 'sqlite']) {
    const db = await freshDb(backend);
    try {
      await fill500(backend, db.url);
      const ours = await statsTimes(db.url);
      const bare = await bareCatalog(backend, db.url);
      rows.push({
        metric: `${backend}: get_database_stats, ${TABLES} tables (ms)`, ours: fmt(ours, 1), baseline: `${fmt(bare, 2)} (one bare catalog query)`,
        ratio: fmt(ours / bare, 0), target: '< 500 ms', ok: ours < 500 ? 'yes' : 'NO',
      });
    } finally {
      await db.drop();
    }
  }
  return rows;
}

export async function benchPerformance() {
  return [...(await benchQueryLog()), ...(await benchStats())];
}
