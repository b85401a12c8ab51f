// 500 small migrations (one CREATE TABLE each) per backend: run_migration beside a
// plain loop of the same SQL through the bare driver with one history insert per
// file, in the same run. Fresh databases for both sides.
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshDb, fmt, median, MYSQL_URL, PG_URL, startInProcess, tempDir } from './lib.mjs';

const N = 500;
const RUNS = 3;
const HISTORY = 'CREATE TABLE bare_history (version BIGINT PRIMARY KEY, name VARCHAR(255), checksum CHAR(64), applied_at VARCHAR(40))';

function writeFiles(dir) {
  mkdirSync(dir, { recursive: true });
  for (let i = 1; i <= N; i++) writeFileSync(join(dir, `${i}_t${i}.sql`), `-- migrate:up\nCREATE TABLE m_${i} (id integer PRIMARY KEY, v varchar(20))\n-- migrate:down\nDROP TABLE m_${i}\n`);
}

/** The bare loop: each file's SQL and one history insert, in a transaction where DDL allows. */
async function bare(backend, url) {
  const now = () => new Date().toISOString();
  const t = performance.now();
  if (backend === 'postgres') {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await sql.unsafe(HISTORY);
    for (let i = 1; i <= N; i++) {
      await sql.begin(async (tx) => {
        await tx.unsafe(`CREATE TABLE m_${i} (id integer PRIMARY KEY, v varchar(20))`);
        await tx.unsafe('INSERT INTO bare_history VALUES ($1, $2, $3, $4)', [i, `t${i}`, 'x'.repeat(64), now()]);
      });
    }
    await sql.end();
  } else if (backend === 'mysql') {
    const c = await mysql.createConnection(url);
    await c.query(HISTORY);
    for (let i = 1; i <= N; i++) {
      await c.query(`CREATE TABLE m_${i} (id integer PRIMARY KEY, v varchar(20))`);
      await c.execute('INSERT INTO bare_history VALUES (?, ?, ?, ?)', [i, `t${i}`, 'x'.repeat(64), now()]);
    }
    await c.end();
  } else {
    const db = new Database(url.replace('sqlite://', ''));
    db.exec(HISTORY);
    const ins = db.prepare('INSERT INTO bare_history VALUES (?, ?, ?, ?)');
    for (let i = 1; i <= N; i++) {
      db.exec('BEGIN IMMEDIATE');
      db.exec(`CREATE TABLE m_${i} (id integer PRIMARY KEY, v varchar(20))`);
      ins.run(i, `t${i}`, 'x'.repeat(64), now());
      db.exec('COMMIT');
    }
    db.close();
  }
  return performance.now() - t;
}

async function ours(url, dir) {
  const s = await startInProcess({ b: url }, { b: dir });
  const t = performance.now();
  const r = await s.client.callTool({ name: 'run_migration', arguments: { connection: 'b' } }, undefined, { timeout: 600_000 });
  const ms = performance.now() - t;
  await s.close();
  if (r.isError || r.structuredContent.applied.length !== N) throw new Error(`run_migration failed: ${r.content[0].text.slice(0, 300)}`);
  return ms;
}

export async function benchMigrations() {
  const dir = join(tempDir(), 'migrations');
  writeFiles(dir);
  const rows = [];
  for (const backend of ['postgres', 'mysql', 'sqlite']) {
    const o = [];
    const b = [];
    for (let r = 0; r < RUNS; r++) {
      const d1 = await freshDb(backend);
      b.push(await bare(backend, d1.url));
      await d1.drop();
      const d2 = await freshDb(backend);
      o.push(await ours(d2.url, dir));
      await d2.drop();
    }
    const om = median(o);
    const bm = median(b);
    rows.push({ metric: `${backend}: apply ${N} migrations, median of ${RUNS} (ms)`, ours: fmt(om, 0), baseline: `${fmt(bm, 0)} (bare loop)`, ratio: fmt(om / bm, 2), target: '<= 1.5x', ok: om / bm <= 1.5 ? 'yes' : 'NO' });
  }
  return rows;
}
