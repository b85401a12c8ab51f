// 500 sequential `SELECT 1` calls per backend through execute_query over stdio,
// beside the same statement through the bare driver, in the same run.
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import { join } from 'node:path';
import { fmt, median, MYSQL_URL, PG_URL, startServer, tempDir, timeEach } from './lib.mjs';

const N = 500;
const WARM = 50;

async function bareTimes(backend, url, file) {
  if (backend === 'postgres') {
    const sql = postgres(url, { max: 1 });
    await timeEach(WARM, () => sql`SELECT 1`);
    const t = await timeEach(N, () => sql`SELECT 1`);
    await sql.end();
    return t;
  }
  if (backend === 'mysql') {
    const c = await mysql.createConnection(url);
    await timeEach(WARM, () => c.query('SELECT 1'));
    const t = await timeEach(N, () => c.query('SELECT 1'));
    await c.end();
    return t;
  }
  const db = new Database(file);
  const stmt = db.prepare('SELECT 1');
  await timeEach(WARM, async () => stmt.get());
  const t = await timeEach(N, async () => stmt.get());
  db.close();
  return t;
}

async function oursTimes(url) {
  const s = await startServer(['--connection', `b=${url}`, '--log-level', 'silent']);
  const call = () => s.client.callTool({ name: 'execute_query', arguments: { connection: 'b', query: 'SELECT 1' } });
  await timeEach(WARM, call);
  const t = await timeEach(N, call);
  await s.close();
  return t;
}

export async function benchQueries() {
  const file = join(tempDir(), 'bench.db');
  const rows = [];
  for (const [backend, url] of [['postgres', PG_URL], ['mysql', MYSQL_URL], ['sqlite', `sqlite://${file}`]]) {
    const bare = median(await bareTimes(backend, url, file));
    const ours = median(await oursTimes(url));
    const overhead = ours - bare;
    rows.push({
      metric: `${backend}: SELECT 1 median latency, ${N} calls (ms)`,
      ours: fmt(ours), baseline: `${fmt(bare)} (bare driver)`, ratio: fmt(ours / bare, 1),
      target: `overhead ${fmt(overhead)} < 0.3`, ok: overhead < 0.3 ? 'yes' : 'NO',
    });
  }
  return rows;
}
