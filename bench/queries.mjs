// 500 sequential `SELECT 1` calls per backend through execute_query (in-process and over stdio),
// beside the same statement through the bare driver, in the same run.
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import { join } from 'node:path';
import { fmt, median, MYSQL_URL, PG_URL, startInProcess, startServer, tempDir, timeEach } from './lib.mjs';

const N = 500;
const WARM = 50;

export async function bareTimes(backend, url, file, warm = WARM) {
  if (backend === 'postgres') {
    const sql = postgres(url, { max: 1 });
    await timeEach(warm, () => sql`SELECT 1`);
    const t = await timeEach(N, () => sql`SELECT 1`);
    await sql.end();
    return t;
  }
  if (backend === 'mysql') {
    const c = await mysql.createConnection(url);
    await timeEach(warm, () => c.query('SELECT 1'));
    const t = await timeEach(N, () => c.query('SELECT 1'));
    await c.end();
    return t;
  }
  const db = new Database(file);
  const stmt = db.prepare('SELECT 1');
  await timeEach(warm, async () => stmt.get());
  const t = await timeEach(N, async () => stmt.get());
  db.close();
  return t;
}

/** Over stdio: a child process, pipes and the SDK client's output-schema check included. */
async function stdioTimes(url) {
  const s = await startServer(['--connection', `b=${url}`, '--log-level', 'silent']);
  const call = () => s.client.callTool({ name: 'execute_query', arguments: { connection: 'b', query: 'SELECT 1' } });
  await timeEach(WARM, call);
  const t = await timeEach(N, call);
  await s.close();
  return t;
}

/** In this process over a linked in-memory transport: the server's own cost plus the SDK client's. */
export async function inProcessTimes(url, warm = WARM) {
  const s = await startInProcess({ b: url });
  const call = () => s.client.callTool({ name: 'execute_query', arguments: { connection: 'b', query: 'SELECT 1' } });
  await timeEach(warm, call);
  const t = await timeEach(N, call);
  await s.close();
  return t;
}

export async function benchQueries() {
  const file = join(tempDir(), 'bench.db');
  const rows = [];
  for (const [backend, url] of [['postgres', PG_URL], ['mysql', MYSQL_URL], ['sqlite', `sqlite://${file}`]]) {
    const bare = median(await bareTimes(backend, url, file));
    const inProcess = median(await inProcessTimes(url));
    const stdio = median(await stdioTimes(url));
    rows.push({
      metric: `${backend}: SELECT 1, in-process MCP (ms)`,
      ours: fmt(inProcess), baseline: `${fmt(bare)} (bare driver)`, ratio: fmt(inProcess / bare, 1),
      target: `overhead ${fmt(inProcess - bare)} < 0.3`, ok: inProcess - bare < 0.3 ? 'yes' : 'NO',
    });
    rows.push({
      metric: `${backend}: SELECT 1, stdio MCP (ms)`,
      ours: fmt(stdio), baseline: `${fmt(bare)} (bare driver)`, ratio: fmt(stdio / bare, 1),
      target: `overhead ${fmt(stdio - bare)} (info)`, ok: '',
    });
  }
  return rows;
}
