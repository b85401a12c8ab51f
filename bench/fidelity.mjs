// `npm run bench -- fidelity` (issue 15): portable backups of tables shaped like the public
// sample databases, with the column types real schemas use, beside the native tools in the
// same run. MariaDB, Sakila-shaped (rental, payment, film: TINYINT/SMALLINT/MEDIUMINT
// UNSIGNED, YEAR, DATETIME, TIMESTAMP, DECIMAL, ENUM, SET, JSON; BENCH_FIDELITY_ROWS rows
// each, default 320,000): create_backup of one table against `mariadb-dump
// --single-transaction <db> <table> | gzip -1`, restore_backup against `gunzip -c | mariadb`,
// per table and summed per run. PostgreSQL, Pagila-shaped (the same three tables with
// smallint, serial, numeric, timestamptz, text[], tsvector): restore_backup of the database
// against pg_restore of `pg_dump -Fc`. Medians of BENCH_RUNS (default 3); every timed
// operation starts after a `sync` (backup.mjs says why). The load average is printed: on a
// shared machine only the ratio, ours and the baseline from the same run, means anything.
import { execFileSync, execSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import { env, freshDb, mysqlArgs, ours, timed } from './backup.mjs';
import { fmt, median, tempDir } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ROWS = Number(process.env.BENCH_FIDELITY_ROWS ?? 320_000);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'mysql,postgres').split(',');

const STAMP = 'ON UPDATE CURRENT_TIMESTAMP';
const SAKILA = [
  ['rental', `CREATE TABLE rental (rental_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, rental_date DATETIME NOT NULL,
      inventory_id MEDIUMINT UNSIGNED NOT NULL, customer_id SMALLINT UNSIGNED NOT NULL, return_date DATETIME DEFAULT NULL,
      staff_id TINYINT UNSIGNED NOT NULL, last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ${STAMP},
      KEY idx_fk_inventory_id (inventory_id), KEY idx_fk_customer_id (customer_id))`,
  `INSERT INTO rental SELECT seq, TIMESTAMP'2005-05-24 22:53:30' + INTERVAL seq * 37 SECOND, seq % 4581 + 1, seq % 599 + 1,
      IF(seq % 53 = 0, NULL, TIMESTAMP'2005-05-26 22:04:30' + INTERVAL seq * 41 SECOND), seq % 2 + 1,
      TIMESTAMP'2006-02-15 21:30:53' + INTERVAL seq % 86400 SECOND FROM seq_1_to_{rows}`],
  ['payment', `CREATE TABLE payment (payment_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, customer_id SMALLINT UNSIGNED NOT NULL,
      staff_id TINYINT UNSIGNED NOT NULL, rental_id INT DEFAULT NULL, amount DECIMAL(5,2) NOT NULL, payment_date DATETIME NOT NULL,
      last_update TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP ${STAMP}, KEY idx_fk_customer_id (customer_id))`,
  `INSERT INTO payment SELECT seq, seq % 599 + 1, seq % 2 + 1, IF(seq % 97 = 0, NULL, seq), (seq % 1100) / 100 + 0.99,
      TIMESTAMP'2005-05-25 11:30:37' + INTERVAL seq * 29 SECOND, TIMESTAMP'2006-02-15 22:12:30' + INTERVAL seq % 3600 SECOND FROM seq_1_to_{rows}`],
  ['film', `CREATE TABLE film (film_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, title VARCHAR(128) NOT NULL, description TEXT,
      release_year YEAR, language_id TINYINT UNSIGNED NOT NULL, rental_duration TINYINT UNSIGNED NOT NULL DEFAULT 3,
      rental_rate DECIMAL(4,2) NOT NULL DEFAULT 4.99, length SMALLINT UNSIGNED, replacement_cost DECIMAL(5,2) NOT NULL DEFAULT 19.99,
      rating ENUM('G','PG','PG-13','R','NC-17') DEFAULT 'G', special_features SET('Trailers','Commentaries','Deleted Scenes','Behind the Scenes'),
      attrs JSON, last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ${STAMP})`,
  `INSERT INTO film SELECT seq, CONCAT('FILM TITLE ', seq), CONCAT('A Epic Drama of a Feminist And a Mad Scientist who must Battle a Teacher ', seq),
      2006 - seq % 20, 1, 3 + seq % 5, ELT(1 + seq % 3, 0.99, 2.99, 4.99), 46 + seq % 140, 9.99 + seq % 21,
      ELT(1 + seq % 5, 'G', 'PG', 'PG-13', 'R', 'NC-17'), seq % 16,
      JSON_OBJECT('imdb', CONCAT('tt', seq), 'votes', seq % 9999, 'score', (seq % 90) / 10 + 1, 'tags', JSON_ARRAY('drama', CONCAT('t', seq % 7)), 'restored', seq % 2 = 0),
      TIMESTAMP'2006-02-15 05:03:42' FROM seq_1_to_{rows}`],
];

const PAGILA = `
CREATE TABLE rental (rental_id serial PRIMARY KEY, rental_date timestamptz NOT NULL, inventory_id integer NOT NULL, customer_id smallint NOT NULL,
  return_date timestamptz, staff_id smallint NOT NULL, last_update timestamptz NOT NULL DEFAULT now());
CREATE INDEX idx_fk_inventory_id ON rental (inventory_id);
CREATE TABLE payment (payment_id serial PRIMARY KEY, customer_id smallint NOT NULL, staff_id smallint NOT NULL, rental_id integer NOT NULL,
  amount numeric(5,2) NOT NULL, payment_date timestamptz NOT NULL);
CREATE INDEX idx_fk_customer_id ON payment (customer_id);
CREATE TABLE film (film_id serial PRIMARY KEY, title text NOT NULL, description text, release_year integer, language_id smallint NOT NULL,
  rental_duration smallint NOT NULL DEFAULT 3, rental_rate numeric(4,2) NOT NULL DEFAULT 4.99, length smallint,
  replacement_cost numeric(5,2) NOT NULL DEFAULT 19.99, special_features text[], last_update timestamptz NOT NULL DEFAULT now(), fulltext tsvector NOT NULL);
INSERT INTO rental SELECT g, timestamptz '2022-05-24 22:53:30+00' + g * interval '37 s', g % 4581 + 1, g % 599 + 1,
  CASE WHEN g % 53 = 0 THEN NULL ELSE timestamptz '2022-05-26 22:04:30+00' + g * interval '41 s' END, g % 2 + 1,
  timestamptz '2022-02-15 09:45:25+00' + (g % 86400) * interval '1 s' FROM generate_series(1, {rows}) g;
INSERT INTO payment SELECT g, g % 599 + 1, g % 2 + 1, g, (g % 1100) / 100.0 + 0.99, timestamptz '2022-01-25 11:30:37+00' + g * interval '29 s'
  FROM generate_series(1, {rows}) g;
INSERT INTO film SELECT g, 'FILM TITLE ' || g, 'A Epic Drama of a Feminist And a Mad Scientist who must Battle a Teacher ' || g, 2006 - g % 20, 1,
  3 + g % 5, (ARRAY[0.99, 2.99, 4.99])[1 + g % 3], 46 + g % 140, 9.99 + g % 21, (ARRAY['{Trailers}', '{Commentaries,"Deleted Scenes"}', '{"Behind the Scenes"}'])[1 + g % 3]::text[],
  timestamptz '2022-09-10 16:46:03+00', to_tsvector('english', 'A Epic Drama of a Feminist ' || g) FROM generate_series(1, {rows}) g;
SELECT setval(pg_get_serial_sequence(t, c), {rows}) FROM (VALUES ('rental', 'rental_id'), ('payment', 'payment_id'), ('film', 'film_id')) v(t, c);`;

const row = (metric, o, b, target) => ({ metric, ours: fmt(o / 1000, 2), baseline: fmt(b / 1000, 2), ratio: fmt(o / b, 2), target: target ? `<= ${target}x` : '-', ok: target ? (o / b <= target ? 'yes' : 'NO') : '-' });
const verbose = (label, m) => { if (process.env.BENCH_VERBOSE) process.stderr.write(`${label} runs (ms): ${JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.map(Math.round)])))}\n`); };

/** Per run i, the sum over tables of each measure. */
const sums = (per, key) => per[0][key].map((_, i) => per.reduce((a, m) => a + m[key][i], 0));

async function benchMysql() {
  const db = await freshDb('mysql');
  const out = [];
  try {
    const c = await mysql.createConnection(db.url);
    for (const [, ddl, fill] of SAKILA) { await c.query(ddl); await c.query(fill.replaceAll('{rows}', String(ROWS))); }
    await c.end();
    const dir = tempDir('cmx-fbench-');
    const args = mysqlArgs(db).join(' ');
    const per = [];
    for (const [table] of SAKILA) {
      const m = { ob: [], or: [], nb: [], nr: [] };
      // All backups first, then all restores, each pair in alternating order, the native
      // tool first in the first pair (with an odd number of runs it goes first once more
      // than ours: the quieter place is the baseline's). A restore and the DROP DATABASE
      // after it leave the server busy for a while (purge, page flushing), and whatever is
      // timed next pays for it.
      const files = [];
      for (let i = 0; i < RUNS; i++) {
        const name = `${table}-${i}.cmx.gz`;
        const dump = join(dir, `${table}-${i}.sql.gz`);
        const backup = async () => m.ob.push((await ours(db.url, dir, 'create_backup', { output_path: name, tables: [table] })).ms);
        const native = async () => m.nb.push(timed(() => execSync(`mariadb-dump ${args} --single-transaction ${db.name} ${table} | gzip -1 > ${dump}`, { env: env(db), shell: '/bin/bash' })));
        for (const step of i % 2 ? [backup, native] : [native, backup]) await step();
        files.push({ name, dump });
      }
      for (const [i, { name, dump }] of files.entries()) {
        const restore = async () => { const t1 = await freshDb('mysql'); m.or.push((await ours(t1.url, dir, 'restore_backup', { backup_path: name })).ms); await t1.drop(); };
        const native = async () => { const t2 = await freshDb('mysql'); m.nr.push(timed(() => execSync(`gunzip -c ${dump} | mariadb ${args} ${t2.name}`, { env: env(db), shell: '/bin/bash' }))); await t2.drop(); };
        for (const step of i % 2 ? [restore, native] : [native, restore]) await step();
        for (const f of [name, `${name}.manifest.json`, `${table}-${i}.sql.gz`]) rmSync(join(dir, f), { force: true });
      }
      verbose(`mysql ${table}`, m);
      per.push(m);
      const label = `MariaDB ${table} ${ROWS.toLocaleString('en')} rows`;
      out.push(row(`${label}: create_backup (s) vs mariadb-dump | gzip -1`, median(m.ob), median(m.nb), 1.25));
      out.push(row(`${label}: restore_backup (s) vs gunzip | mariadb`, median(m.or), median(m.nr), 1.5));
    }
    const all = `MariaDB all three (${(ROWS * SAKILA.length).toLocaleString('en')} rows), sums per run`;
    out.push(row(`${all}: create_backup (s)`, median(sums(per, 'ob')), median(sums(per, 'nb')), 1.25));
    out.push(row(`${all}: restore_backup (s)`, median(sums(per, 'or')), median(sums(per, 'nr')), 1.5));
    rmSync(dir, { recursive: true, force: true });
  } finally {
    await db.drop();
  }
  return out;
}

async function benchPostgres() {
  const db = await freshDb('postgres');
  try {
    const s = postgres(db.url, { max: 1, onnotice: () => {} });
    await s.unsafe(PAGILA.replaceAll('{rows}', String(ROWS))).simple();
    await s.unsafe('VACUUM ANALYZE');
    await s.end();
    const dir = tempDir('cmx-fbench-');
    const m = { ob: [], or: [], nb: [], nr: [] };
    // Backups first, then restores, each pair in alternating order (as benchMysql, which says why).
    const files = [];
    for (let i = 0; i < RUNS; i++) {
      const name = `pagila-${i}.cmx.gz`;
      const dump = join(dir, `pagila-${i}.pgdump`);
      const backup = async () => m.ob.push((await ours(db.url, dir, 'create_backup', { output_path: name })).ms);
      const native = async () => m.nb.push(timed(() => execFileSync('pg_dump', ['-Fc', '-f', dump, db.url], { env: env(db) })));
      for (const step of i % 2 ? [backup, native] : [native, backup]) await step();
      files.push({ name, dump });
    }
    for (const [i, { name, dump }] of files.entries()) {
      const restore = async () => { const t1 = await freshDb('postgres'); m.or.push((await ours(t1.url, dir, 'restore_backup', { backup_path: name })).ms); await t1.drop(); };
      const native = async () => { const t2 = await freshDb('postgres'); m.nr.push(timed(() => execFileSync('pg_restore', ['-d', t2.url, dump], { env: env(db) }))); await t2.drop(); };
      for (const step of i % 2 ? [restore, native] : [native, restore]) await step();
      for (const f of [name, `${name}.manifest.json`, `pagila-${i}.pgdump`]) rmSync(join(dir, f), { force: true });
    }
    verbose('postgres', m);
    rmSync(dir, { recursive: true, force: true });
    const label = `PostgreSQL rental, payment, film (${(ROWS * 3).toLocaleString('en')} rows)`;
    return [
      row(`${label}: restore_backup (s) vs pg_restore`, median(m.or), median(m.nr), 1.25),
      row(`${label}: create_backup (s) vs pg_dump -Fc`, median(m.ob), median(m.nb)),
    ];
  } finally {
    await db.drop();
  }
}

export async function benchFidelity() {
  const load = () => loadavg().map((x) => x.toFixed(2)).join(', ');
  const rows = [{ metric: `runs per median: ${RUNS}; load average at start (1, 5, 15 min): ${load()} on ${cpus().length} CPUs`, ours: '', baseline: '', ratio: '', target: '', ok: '' }];
  if (BACKENDS.includes('mysql')) rows.push(...await benchMysql());
  if (BACKENDS.includes('postgres')) rows.push(...await benchPostgres());
  rows.push({ metric: `load average at the end (1, 5, 15 min): ${load()}`, ours: '', baseline: '', ratio: '', target: '', ok: '' });
  return rows;
}
