// create_backup / restore_backup on a 1,000,000-row table of mixed types (~150 MB of
// data) per backend, beside the native tools in the same run: pg_dump -Fc / pg_restore,
// mariadb-dump --single-transaction | gzip / its reload; for SQLite's native format the
// sqlite3 CLI's .backup and a file copy (with and without sync), paired run by run
// (BENCH_FAST_RUNS, default 7), and SQLite's .dump | gzip beside its portable format.
// Medians of BENCH_RUNS (default 3). Peak RSS of the server process (VmHWM, a fresh
// server per measured call, its connection opened before the clock starts) at
// BENCH_ROWS (1M) and, for one backup and one restore, at BENCH_BIG_ROWS (5M; 0 skips
// it). Every timed operation, ours or the native tool's, starts after a `sync`, so none
// pays for the dirty pages the one before left. BENCH_VERBOSE=1 prints every run. The
// load average is printed: the numbers are only comparable on a quiet machine. Every
// database and file is removed after.
import { execFileSync, execSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import { fmt, median, MYSQL_URL, PG_URL, startServer, tempDir } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const BIG_ROWS = Number(process.env.BENCH_BIG_ROWS ?? 5_000_000);
const FAST_RUNS = Number(process.env.BENCH_FAST_RUNS ?? 7);

const COLUMNS = [
  ['id', 'bigint primary key'], ['a', 'integer'], ['b', 'bigint'], ['price', 'decimal(12,2)'], ['score', 'double'],
  ['flag', 'boolean'], ['name', 'varchar(100)'], ['note', 'text'], ['created', 'timestamp'], ['seen', 'timestamptz'],
  ['ref', 'uuid'], ['doc', 'json'],
];

const TYPES = {
  postgres: { double: 'double precision', json: 'jsonb', timestamp: 'timestamp', timestamptz: 'timestamptz', uuid: 'uuid' },
  mysql: { double: 'DOUBLE', json: 'JSON', timestamp: 'DATETIME(6)', timestamptz: 'TIMESTAMP(6) NULL', uuid: 'UUID', boolean: 'TINYINT(1)', text: 'LONGTEXT' },
  sqlite: { double: 'DOUBLE', json: 'TEXT', timestamp: 'TIMESTAMP', timestamptz: 'TIMESTAMPTZ', uuid: 'UUID', 'bigint primary key': 'INTEGER PRIMARY KEY' },
};

const ddl = (backend) => `CREATE TABLE bench (${COLUMNS.map(([n, t]) => `${n} ${TYPES[backend][t] ?? t}`).join(', ')})`;

/** One INSERT ... SELECT per backend, generated server-side: ~150 bytes a row. */
function fillSql(backend, rows) {
  const note = "'a note of some length, the kind of free text rows carry around'";
  if (backend === 'postgres') {
    return `INSERT INTO bench SELECT g, g % 100000, g::bigint * 1000003, (g % 100000) / 100.0, g / 7.0, g % 2 = 0, 'name ' || g, ${note},
      timestamp '2024-01-01' + g * interval '1 second', timestamptz '2024-01-01 00:00:00+00' + g * interval '1 ms', md5(g::text)::uuid,
      jsonb_build_object('k', g, 'tag', 't' || (g % 10)) FROM generate_series(1, ${rows}) g`;
  }
  if (backend === 'mysql') {
    return `INSERT INTO bench SELECT seq, seq % 100000, seq * 1000003, (seq % 100000) / 100.0, seq / 7.0, seq % 2 = 0, CONCAT('name ', seq), ${note},
      TIMESTAMP('2024-01-01') + INTERVAL seq SECOND, TIMESTAMP('2024-01-01') + INTERVAL seq * 1000 MICROSECOND, UUID(),
      JSON_OBJECT('k', seq, 'tag', CONCAT('t', seq % 10)) FROM seq_1_to_${rows}`;
  }
  return `INSERT INTO bench WITH RECURSIVE c(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM c WHERE g < ${rows})
    SELECT g, g % 100000, g * 1000003, (g % 100000) / 100.0, g / 7.0, g % 2 = 0, 'name ' || g, ${note},
      datetime('2024-01-01', '+' || g || ' seconds'), strftime('%Y-%m-%dT%H:%M:%fZ', '2024-01-01', '+' || (g / 1000.0) || ' seconds'),
      lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
      json_object('k', g, 'tag', 't' || (g % 10)) FROM c`;
}

export async function freshDb(backend) {
  const name = `cmx_bkbench_${process.pid}_${Math.random().toString(36).slice(2, 6)}`;
  if (backend === 'sqlite') {
    const file = join(tempDir(), 'b.db');
    return { name, file, url: `sqlite://${file}`, drop: async () => rmSync(file, { force: true }) };
  }
  if (backend === 'postgres') {
    const a = postgres(PG_URL, { max: 1, onnotice: () => {} });
    await a.unsafe(`CREATE DATABASE ${name}`);
    await a.end();
    return { name, url: PG_URL.replace(/\/[^/]*$/, `/${name}`), drop: async () => { const b = postgres(PG_URL, { max: 1, onnotice: () => {} }); await b.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); await b.end(); } };
  }
  const a = await mysql.createConnection(MYSQL_URL);
  await a.query(`CREATE DATABASE ${name}`);
  await a.end();
  return { name, url: MYSQL_URL.replace(/\/[^/]*$/, `/${name}`), drop: async () => { const b = await mysql.createConnection(MYSQL_URL); await b.query(`DROP DATABASE IF EXISTS ${name}`); await b.end(); } };
}

async function fill(backend, db, rows) {
  if (backend === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const d = new Database(db.file);
    d.pragma('journal_mode = WAL');
    d.exec(ddl(backend));
    d.exec(fillSql(backend, rows));
    d.close();
  } else if (backend === 'postgres') {
    const s = postgres(db.url, { max: 1, onnotice: () => {} });
    await s.unsafe(ddl(backend));
    await s.unsafe(fillSql(backend, rows));
    await s.unsafe('VACUUM ANALYZE bench');
    await s.end();
  } else {
    const c = await mysql.createConnection(db.url);
    await c.query(ddl(backend));
    await c.query(fillSql(backend, rows));
    await c.end();
  }
}

const peakKb = (pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const childPids = (pid) => { try { return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { return []; } };

/**
 * One tool call on a fresh stdio server whose connection is open (get_connection first,
 * as a running server has it: a SQLite host process takes about 0.1 s to start, once
 * per connection); returns ms and the peak RSS (MB) of the server (and of its SQLite host).
 */
export async function ours(url, dir, tool, args) {
  const config = join(tempDir(), 'config.json');
  writeFileSync(config, JSON.stringify({ connections: { db: { url } }, backup_dir: dir }));
  const s = await startServer(['--config', config]);
  const pid = s.transport.pid;
  const opened = await s.client.callTool({ name: 'get_connection', arguments: { connection: 'db' } });
  if (opened.isError) throw new Error(`get_connection failed: ${opened.content[0].text.slice(0, 400)}`);
  settle();
  let hostPeak = 0;
  const poll = setInterval(() => { for (const c of childPids(pid)) { try { hostPeak = Math.max(hostPeak, peakKb(c)); } catch { /* gone */ } } }, 50);
  const t = performance.now();
  const r = await s.client.callTool({ name: tool, arguments: { database: 'db', ...args } }, undefined, { timeout: 3_600_000 });
  const ms = performance.now() - t;
  clearInterval(poll);
  for (const c of childPids(pid)) { try { hostPeak = Math.max(hostPeak, peakKb(c)); } catch { /* gone */ } }
  const serverPeak = peakKb(pid);
  await s.close();
  if (r.isError) throw new Error(`${tool} failed: ${r.content[0].text.slice(0, 400)}`);
  return { ms, rssMb: serverPeak / 1024, hostMb: hostPeak / 1024 };
}

/**
 * Before every timed operation: dirty pages written out. No pause after it: on this VM
 * a pause lets the host take back the memory just freed, and whatever runs next (ours
 * or the baseline) pays up to 10x for new page-cache pages (cp of 228 MB: 0.07 s
 * without a pause, 0.3 s after 0.5 s).
 */
function settle() {
  execFileSync('sync');
}

/** One server with connection `db` and `targets` empty SQLite targets r0.. (files in a temp dir), all opened. */
async function warmServer(url, dir, targets) {
  const files = Array.from({ length: targets }, (_, i) => join(tempDir(), `r${i}.db`));
  const config = join(tempDir(), 'config.json');
  writeFileSync(config, JSON.stringify({ connections: { db: { url }, ...Object.fromEntries(files.map((f, i) => [`r${i}`, { url: `sqlite://${f}` }])) }, backup_dir: dir }));
  const s = await startServer(['--config', config]);
  for (const c of ['db', ...files.map((_, i) => `r${i}`)]) await s.client.callTool({ name: 'get_connection', arguments: { connection: c } });
  return {
    async time(tool, args) {
      settle();
      const t = performance.now();
      const r = await s.client.callTool({ name: tool, arguments: args }, undefined, { timeout: 3_600_000 });
      const ms = performance.now() - t;
      if (r.isError) throw new Error(`${tool} failed: ${r.content[0].text.slice(0, 400)}`);
      return ms;
    },
    /** Closes target i's connection and removes its files. */
    async drop(i) {
      await s.client.callTool({ name: 'close_connection', arguments: { connection: `r${i}` } });
      for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(files[i] + suffix, { force: true });
    },
    close: () => s.close(),
  };
}

export function timed(fn) {
  settle();
  const t = performance.now();
  fn();
  return performance.now() - t;
}

export const env = (db) => ({ ...process.env, PGPASSWORD: '', MYSQL_PWD: '' });
export const mysqlArgs = (db) => { const u = new URL(db.url); return ['-h', u.hostname, '-P', u.port || '3306', '-u', decodeURIComponent(u.username || 'root')]; };

/** The native tool's backup and restore, each timed (PostgreSQL, MariaDB). */
function native(backend, db, target, dir, i) {
  const out = join(dir, `native-${i}`);
  if (backend === 'postgres') {
    const backup = timed(() => execFileSync('pg_dump', ['-Fc', '-t', 'bench', '-f', out, db.url], { env: env(db) }));
    const restore = timed(() => execFileSync('pg_restore', ['-d', target.url, out], { env: env(db) }));
    return { backup, restore, size: statSync(out).size };
  }
  if (backend === 'mysql') {
    const args = mysqlArgs(db).join(' ');
    const backup = timed(() => execSync(`mariadb-dump ${args} --single-transaction ${db.name} bench | gzip > ${out}`, { env: env(db), shell: '/bin/bash' }));
    const restore = timed(() => execSync(`gunzip -c ${out} | mariadb ${args} ${target.name}`, { env: env(db), shell: '/bin/bash' }));
    return { backup, restore, size: statSync(out).size };
  }
  throw new Error(`no native baseline here for ${backend} (SQLite's are in benchBackend)`);
}

const ratioRow = (metric, o, b, target) => ({ metric, ours: fmt(o / 1000, 2), baseline: fmt(b / 1000, 2), ratio: fmt(o / b, 2), target: `<= ${target}x`, ok: o / b <= target ? 'yes' : 'NO' });

async function benchBackend(backend, rows) {
  const db = await freshDb(backend);
  const out = [];
  try {
    await fill(backend, db, rows);
    const dir = tempDir('cmx-bkb-');
    const m = { ob: [], or: [], nb: [], nr: [], nd: [], rss: [], host: [], rrss: [], size: 0, nsize: 0, vb: [], vr: [], pb: [], pr: [], pd: [], db: [], dr: [] };
    for (let i = 0; i < RUNS; i++) {
      const name = `ours-${i}.cmx.gz`;
      const b = await ours(db.url, dir, 'create_backup', { output_path: name, tables: ['bench'] });
      m.ob.push(b.ms); m.rss.push(b.rssMb); m.host.push(b.hostMb);
      m.size = statSync(join(dir, name)).size;
      const t1 = await freshDb(backend);
      const r = await ours(t1.url, dir, 'restore_backup', { backup_path: name });
      m.or.push(r.ms); m.rrss.push(r.rssMb);
      await t1.drop();
      rmSync(join(dir, name), { force: true });
      rmSync(join(dir, `${name}.manifest.json`), { force: true });
      if (backend === 'sqlite') continue;
      const t2 = await freshDb(backend);
      const n = native(backend, db, t2, dir, i);
      await t2.drop();
      m.nb.push(n.backup); m.nr.push(n.restore);
      m.nsize = n.size;
      rmSync(join(dir, `native-${i}`), { force: true });
    }
    // SQLite: the native format, each call between two runs of its baseline (sqlite3
    // .backup; cp and cp + sync), FAST_RUNS times (sub-second operations, so more runs),
    // every file removed at once. This VM's speed of writing new pages into the page
    // cache swings by up to 10x over minutes (the same cp takes 0.07 s or 0.7 s), so a
    // ratio is taken within each run, against the mean of the baselines around it, and
    // the ratio printed is the median of those. One server serves them all, its
    // connections open (one per restore target), as a running server would.
    const fast = backend === 'sqlite' ? await warmServer(db.url, dir, FAST_RUNS) : null;
    for (let i = 0; backend === 'sqlite' && i < FAST_RUNS; i++) {
      const name = `native-ours-${i}.sqlite`;
      const dump = join(dir, `native-${i}`);
      const t2 = join(dir, `cp-${i}.db`);
      const before = { backup: timed(() => execFileSync('sqlite3', [db.file, `.backup '${dump}'`])) };
      rmSync(dump);
      const vb = await fast.time('create_backup', { database: 'db', output_path: name, format: 'native' });
      const after = { backup: timed(() => execFileSync('sqlite3', [db.file, `.backup '${dump}'`])) };
      before.restore = timed(() => execFileSync('cp', [dump, t2]));
      rmSync(t2);
      before.durable = timed(() => execFileSync('sh', ['-c', 'cp "$1" "$2" && sync "$2"', 'sh', dump, t2]));
      rmSync(t2);
      const vr = await fast.time('restore_backup', { database: `r${i}`, backup_path: name });
      await fast.drop(i);
      after.restore = timed(() => execFileSync('cp', [dump, t2]));
      rmSync(t2);
      after.durable = timed(() => execFileSync('sh', ['-c', 'cp "$1" "$2" && sync "$2"', 'sh', dump, t2]));
      rmSync(t2);
      m.nsize = statSync(dump).size;
      for (const f of [dump, join(dir, name), join(dir, `${name}.manifest.json`)]) rmSync(f, { force: true });
      const mean = (k) => (before[k] + after[k]) / 2;
      m.vb.push(vb); m.vr.push(vr); m.nb.push(mean('backup')); m.nr.push(mean('restore')); m.nd.push(mean('durable'));
      m.pb.push(vb / mean('backup')); m.pr.push(vr / mean('restore')); m.pd.push(vr / mean('durable'));
    }
    await fast?.close();
    // SQLite's logical dump, the like of the portable format (informational: the issue's baselines are .backup and cp).
    for (let i = 0; backend === 'sqlite' && i < RUNS; i++) {
      const gz = join(dir, `dump-${i}.sql.gz`);
      m.db.push(timed(() => execSync(`sqlite3 '${db.file}' .dump | gzip -1 > '${gz}'`, { shell: '/bin/bash' })));
      const t4 = join(dir, `dump-${i}.db`);
      m.dr.push(timed(() => execSync(`gunzip -c '${gz}' | sqlite3 '${t4}'`, { shell: '/bin/bash' })));
      rmSync(gz); rmSync(t4);
    }
    if (process.env.BENCH_VERBOSE) process.stderr.write(`${backend} runs (ms): ${JSON.stringify(Object.fromEntries(Object.entries(m).filter(([, v]) => Array.isArray(v)).map(([k, v]) => [k, v.map(Math.round)])))}\n`);
    const label = `${backend} ${rows.toLocaleString('en')} rows`;
    const tool = { postgres: 'pg_dump -Fc', mysql: 'mariadb-dump | gzip', sqlite: 'sqlite3 .backup' }[backend];
    const reload = { postgres: 'pg_restore', mysql: 'gunzip | mariadb', sqlite: 'cp' }[backend];
    if (backend !== 'sqlite') {
      out.push({ ...ratioRow(`${label}: create_backup (s) vs ${tool}`, median(m.ob), median(m.nb), 1.25) });
      out.push({ ...ratioRow(`${label}: restore_backup (s) vs ${reload}`, median(m.or), median(m.nr), 1.5) });
    } else {
      const paired = (metric, o, b, ratios, target) => ({ metric, ours: fmt(median(o) / 1000, 2), baseline: fmt(median(b) / 1000, 2), ratio: fmt(median(ratios), 2), target: `<= ${target}x`, ok: median(ratios) <= target ? 'yes' : 'NO' });
      out.push(paired(`${label}: create_backup native (s) vs sqlite3 .backup (ratio: median of ${FAST_RUNS} paired runs)`, m.vb, m.nb, m.pb, 1.25));
      out.push(paired(`${label}: restore_backup native (s) vs cp`, m.vr, m.nr, m.pr, 1.5));
      out.push(paired(`${label}: restore_backup native (s) vs cp + sync (durable)`, m.vr, m.nd, m.pd, 1.5));
      const info = (metric, o, b) => ({ metric, ours: fmt(o / 1000, 2), baseline: fmt(b / 1000, 2), ratio: fmt(o / b, 2), target: '-', ok: '-' });
      out.push(info(`${label}: create_backup portable (s) vs sqlite3 .dump | gzip -1`, median(m.ob), median(m.db)));
      out.push(info(`${label}: restore_backup portable (s) vs gunzip | sqlite3`, median(m.or), median(m.dr)));
    }
    out.push({ metric: `${label}: file size (MB)${backend === 'sqlite' ? ', portable vs the database file' : ''}`, ours: fmt(m.size / 1e6, 1), baseline: fmt(m.nsize / 1e6, 1), ratio: fmt(m.size / m.nsize, 2), target: '-', ok: '-' });
    out.push({ metric: `${label}: peak RSS of the server during create_backup (MB)`, ours: fmt(median(m.rss), 0) + (backend === 'sqlite' ? ` (+ host ${fmt(median(m.host), 0)})` : ''), baseline: '-', ratio: '-', target: '< 200', ok: median(m.rss) < 200 && (backend !== 'sqlite' || median(m.host) < 200) ? 'yes' : 'NO' });
    out.push({ metric: `${label}: peak RSS of the server during restore_backup (MB)`, ours: fmt(median(m.rrss), 0), baseline: '-', ratio: '-', target: '< 200', ok: median(m.rrss) < 200 ? 'yes' : 'NO' });
    rmSync(dir, { recursive: true, force: true });
  } finally {
    await db.drop();
  }
  return out;
}

/** Peak RSS only (one backup, one restore) at BIG_ROWS: memory must stay flat as the table grows. */
async function benchBig(backend) {
  const db = await freshDb(backend);
  try {
    await fill(backend, db, BIG_ROWS);
    const dir = tempDir('cmx-bkb-');
    const b = await ours(db.url, dir, 'create_backup', { output_path: 'big.cmx.gz', tables: ['bench'] });
    await db.drop();
    const t = await freshDb(backend);
    const r = await ours(t.url, dir, 'restore_backup', { backup_path: 'big.cmx.gz' });
    await t.drop();
    rmSync(dir, { recursive: true, force: true });
    const label = `${backend} ${BIG_ROWS.toLocaleString('en')} rows`;
    return [
      { metric: `${label}: create_backup (s), peak RSS (MB)`, ours: `${fmt(b.ms / 1000, 1)} s, ${fmt(b.rssMb, 0)} MB${backend === 'sqlite' ? ` (+ host ${fmt(b.hostMb, 0)})` : ''}`, baseline: '-', ratio: '-', target: '< 200 MB', ok: b.rssMb < 200 && b.hostMb < 200 ? 'yes' : 'NO' },
      { metric: `${label}: restore_backup (s), peak RSS (MB)`, ours: `${fmt(r.ms / 1000, 1)} s, ${fmt(r.rssMb, 0)} MB${backend === 'sqlite' ? ` (+ host ${fmt(r.hostMb, 0)})` : ''}`, baseline: '-', ratio: '-', target: '< 200 MB', ok: r.rssMb < 200 && r.hostMb < 200 ? 'yes' : 'NO' },
    ];
  } finally {
    await db.drop();
  }
}

export async function benchBackup() {
  const backends = (process.env.BENCH_BACKENDS ?? 'postgres,mysql,sqlite').split(',');
  const rows = [{ metric: `runs per median: ${RUNS}; load average at start (1, 5, 15 min): ${loadavg().map((x) => x.toFixed(2)).join(', ')} on ${(await import('node:os')).cpus().length} CPUs`, ours: '', baseline: '', ratio: '', target: '', ok: '' }];
  for (const b of backends) rows.push(...await benchBackend(b, ROWS));
  if (BIG_ROWS > 0) for (const b of backends) rows.push(...await benchBig(b));
  rows.push({ metric: `load average at the end (1, 5, 15 min): ${loadavg().map((x) => x.toFixed(2)).join(', ')}`, ours: '', baseline: '', ratio: '', target: '', ok: '' });
  return rows;
}


